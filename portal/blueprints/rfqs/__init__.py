"""The buyer's RFQs: drafting, inviting, publishing, amendments, clarifications, the sealed
opening (views), and the comparison matrix and award (compare)."""
from flask import Blueprint

bp = Blueprint("rfqs", __name__, url_prefix="/rfqs")

from portal.blueprints.rfqs import compare, views  # noqa: E402, F401
