from flask import Blueprint

bp = Blueprint("supplier", __name__, url_prefix="/supplier")

from portal.blueprints.supplier import views  # noqa: E402,F401
