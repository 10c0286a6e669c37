from flask import Blueprint

bp = Blueprint("dashboard", __name__)

from portal.blueprints.dashboard import views  # noqa: E402,F401
