from flask import Blueprint

bp = Blueprint("cost_centers", __name__, url_prefix="/cost-centers")

from portal.blueprints.costcenters import views  # noqa: E402,F401
