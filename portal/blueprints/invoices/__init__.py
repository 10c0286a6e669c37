"""The buyer's invoices: received invoices with their match status, approval for payment,
disputes, payments (views), and aging and statements of account per supplier (statements)."""
from flask import Blueprint

bp = Blueprint("invoices", __name__, url_prefix="/invoices")

from portal.blueprints.invoices import statements, views  # noqa: E402, F401
