from flask import Blueprint

bp = Blueprint("suppliers", __name__, url_prefix="/suppliers")

from portal.blueprints.suppliers import views  # noqa: E402,F401
