"""The supplier-facing pages: customers and joining (views), RFQs and quotes (quotes), and
purchase orders addressed to the supplier (orders)."""
from flask import Blueprint

bp = Blueprint("supplier", __name__, url_prefix="/supplier")

from portal.blueprints.supplier import invoices, orders, proposals, quotes, statements, views  # noqa: E402,F401
