"""The buyer's purchase orders: lists, detail, acknowledgement answers, revisions, cancel, the
PDF (views), and goods receipts (receiving)."""
from flask import Blueprint

bp = Blueprint("orders", __name__, url_prefix="/orders")

from portal.blueprints.orders import receiving, views  # noqa: E402, F401
