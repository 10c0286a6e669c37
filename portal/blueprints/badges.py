"""The answer of a polled badge (approvals, notifications): one indexed lookup between changes.

The badge's ETag names its version (`services.badges.etag`); the count it showed for that
version is kept in a small per-process cache, so a tab polling every minute costs one row read
until something it counts changes. A client that sends the ETag back gets `304 Not Modified`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from flask import make_response, request
from flask_babel import get_locale

from portal.htmx import render
from portal.services import badges

_SEEN: OrderedDict[str, int] = OrderedDict()
_SEEN_MAX = 20_000


def _remembered(tag: str, count: Callable[[], int]) -> int:
    if tag in _SEEN:
        _SEEN.move_to_end(tag)
        return _SEEN[tag]
    value = count()
    _SEEN[tag] = value
    while len(_SEEN) > _SEEN_MAX:
        _SEEN.popitem(last=False)
    return value


def badge_response(user, scope: str, template: str, count: Callable[[], int]):
    """`template` rendered with the capped `count()`, or 304 when the client has this version."""
    tag = badges.etag(user, scope, str(get_locale() or ""))
    if request.if_none_match.contains(tag):
        response = make_response("", 304)
    else:
        response = make_response(render(template, count=_remembered(tag, count)))
    response.set_etag(tag)
    return response
