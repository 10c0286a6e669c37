from flask import Blueprint

bp = Blueprint("budgets", __name__, url_prefix="/budgets")

from portal.blueprints.budgets import views  # noqa: E402,F401
