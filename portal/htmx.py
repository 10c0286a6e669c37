"""Render a whole page, or only one of its blocks when htmx asks for a fragment."""

from __future__ import annotations

from flask import render_template
from jinja2_fragments.flask import render_block

from portal.extensions import htmx


def render(template: str, block: str | None = None, **context) -> str:
    """The page `template`, or just `block` of it for an htmx request.

    A block `lines` wraps an element with id `lines`, so the fragment replaces it in place.
    """
    if block and htmx:
        return render_block(template, block, **context)
    return render_template(template, **context)


def add_vary(response):
    """Caches must keep the page and its fragment apart."""
    response.vary.add("HX-Request")
    return response
