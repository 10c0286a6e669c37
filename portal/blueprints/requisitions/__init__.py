"""Requisitions: lists, drafting with the line editor, detail, attachments and comments."""

from flask import Blueprint

bp = Blueprint("requisitions", __name__, url_prefix="/requisitions")

from portal.blueprints.requisitions import files, filters, lines, lists, views  # noqa: E402,F401
