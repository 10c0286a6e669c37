"""Links a page writes many times: the layout's fixed links (`page_url`), built once, and a
row's link to its object (`id_url`), filled into a pattern built once.

Building a URL walks the routing map (about as long as writing a table row); the layout and a
list page's header write some 30 links that never change, because they name an endpoint
without arguments (or a static file). `page_url` remembers them per application and script
root (the prefix a proxy mounts the portal under). Links with arguments are `url_for`'s.
"""

from __future__ import annotations

from flask import current_app, has_request_context, request, url_for

_LIMIT = 512  # more would mean a template passes changing values: stop remembering them
_SLOT = 987_654_321  # stands for the id while a row link's pattern is built


def page_url(endpoint: str, **values) -> str:
    """`url_for(endpoint, **values)`, remembered; only for endpoints without URL arguments
    (`values` may name a static file)."""
    built = current_app.extensions["portal.page_urls"]
    root = request.script_root if has_request_context() else None
    key = (root, endpoint, *values.items())
    url = built.get(key)
    if url is None:
        url = url_for(endpoint, **values)
        if len(built) < _LIMIT:
            built[key] = url
    return url


def install(app) -> None:
    app.extensions["portal.page_urls"] = {}
    app.add_template_global(page_url, "page_url")
    app.add_template_global(id_url, "id_url")


def id_url(endpoint: str, name: str, value: int) -> str:
    """`url_for(endpoint, **{name: value})` for an integer id (a table row's link), the rest of
    the URL built once per endpoint."""
    if type(value) is not int or value < 0:
        return url_for(endpoint, **{name: value})
    built = current_app.extensions["portal.page_urls"]
    root = request.script_root if has_request_context() else None
    key = (root, endpoint, name, _SLOT)
    parts = built.get(key)
    if parts is None:
        parts = url_for(endpoint, **{name: _SLOT}).split(str(_SLOT))
        if len(parts) != 2:
            return url_for(endpoint, **{name: value})
        if len(built) < _LIMIT:
            built[key] = parts
    return f"{parts[0]}{value}{parts[1]}"
