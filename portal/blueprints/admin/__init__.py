from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from portal.blueprints.admin import audit_export, integration, views  # noqa: E402,F401
