"""Render a whole page, or only one of its blocks when htmx asks for a fragment; tell the page
about a success through an `HX-Trigger` event."""

from __future__ import annotations

import json

from flask import make_response, render_template
from jinja2_fragments.flask import render_block

from portal.extensions import htmx


def render(template: str, block: str | None = None, **context) -> str:
    """The page `template`, or just `block` of it for an htmx request.

    A block `lines` wraps an element with id `lines`, so the fragment replaces it in place.
    """
    if block and htmx:
        return render_block(template, block, **context)
    return render_template(template, **context)


def fragment(block: str) -> str | None:
    """The block to render for an htmx request; a history restore (the back button, with
    htmx's history cache off) needs the whole page."""
    return None if htmx.history_restore_request else block


def with_flash(body, message: str, status: int = 200, *, category: str = "success",
               events: dict | None = None):
    """An htmx fragment plus a message that app.js shows from the `flash` HX-Trigger event;
    `events` adds other client events (e.g. `{"approvals-changed": True}` refreshes a badge)."""
    response = make_response(body, status)
    trigger = {"flash": {"message": str(message), "category": category}, **(events or {})}
    response.headers["HX-Trigger"] = json.dumps(trigger)
    return response


def add_vary(response):
    """Caches must keep the page and its fragment apart."""
    response.vary.add("HX-Request")
    return response
