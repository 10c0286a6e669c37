from flask import Blueprint

bp = Blueprint("invitations", __name__, url_prefix="/invitations")

from portal.blueprints.invitations import views  # noqa: E402,F401
