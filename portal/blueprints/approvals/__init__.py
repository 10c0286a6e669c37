from flask import Blueprint

bp = Blueprint("approvals", __name__, url_prefix="/approvals")

from portal.blueprints.approvals import (  # noqa: E402,F401
    delegation_views,
    policy_views,
    views,
)
