"""The answer of a polled badge (approvals, notifications): one indexed lookup between changes.

A badge view is marked `@polled_badge(action, template, scope=...)` and returns the count for
its user. The badge's ETag names its version (`services.badges.etag`); the response may be kept
by the browser only and must be revalidated (`private, no-cache`), so htmx's poll sends the ETag
back and gets `304 Not Modified` until something the badge counts changes.

Such a poll is answered before the request loads its user (`init_app`): the signed session
cookie names the user and their session version, and one statement (`services.badges.poller`)
reads what decides the answer: the session version still current, the user active, the badge's
policy rule, the language and the badge's version. Anything else (no ETag, another version, a
stale session, a refused rule, a remember-me cookie only) goes on to the view, which loads the
user as every page does and answers as before: 286 (stop polling) when signed out or not
allowed, else the count. The count shown for a version is kept in a small per-process cache.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from flask import current_app, make_response, request, session
from flask_login import current_user

from portal.blueprints.edge import actor
from portal.htmx import render
from portal.models import User
from portal.policies import can
from portal.services import badges

_SEEN: OrderedDict[str, int] = OrderedDict()
_SEEN_MAX = 20_000
# Flask-Login keeps "<user id>:<session version>" (User.get_id) under this session key.
_SESSION_USER = "_user_id"


@dataclass(frozen=True)
class PolledBadge:
    action: str  # the policy rule that may see the badge
    template: str  # rendered with `count`
    scope: Callable[[int], str]  # user id -> the badge version's scope


def polled_badge(action: str, template: str, *, scope: Callable[[int], str]):
    """Decorator of a badge view `view(user) -> int` (the count, capped by the service): the
    view answers 286 when the signed-in user may not do `action`, else `template` with the
    count, or 304 while the client holds the current version."""

    def decorator(count: Callable[..., int]):
        badge = PolledBadge(action, template, scope)

        @wraps(count)
        def view():
            if not can(current_user, action):
                return "", 286
            user = actor()
            name = scope(user.id)
            tag = badges.etag(user.id, name, badges.version(user.organization_id, name),
                              _language(user.locale, user.organization.locale))
            return _answer(badge, tag, lambda: count(user))

        view.polled_badge = badge
        return view

    return decorator


def init_app(app) -> None:
    """Answer a badge poll that names the current version before the request loads its user.
    Installed first: such a poll reads no form and no parameter, has no rate limit, and is
    never bound to an organisation (the one statement reads the user's own)."""

    @app.before_request
    def answer_polled_badge():
        badge = getattr(app.view_functions.get(request.endpoint), "polled_badge", None)
        if badge is None or request.method not in ("GET", "HEAD") or not request.if_none_match:
            return None
        return _not_modified(badge)


def _not_modified(badge: PolledBadge):
    """304 when the session's user may see `badge` and the client's ETag names its current
    version; None (the view answers) in every other case. If-None-Match compares weakly
    (RFC 9110): a proxy that compresses the badge hands the browser a weak ETag."""
    signed_in = _session_user()
    if signed_in is None or _session_protection() == "strong":
        return None  # strong protection may end the session: the user loader decides
    user_id, session_version = signed_in
    scope = badge.scope(user_id)
    poller = badges.poller(user_id, scope)
    if poller is None or poller.session_version != session_version or not can(poller, badge.action):
        return None
    tag = badges.etag(user_id, scope, poller.version, _language(poller.locale, poller.organization.locale))
    if not request.if_none_match.contains_weak(tag):
        return None
    return _revalidated(make_response("", 304), tag)


def _answer(badge: PolledBadge, tag: str, count: Callable[[], int]):
    if request.if_none_match.contains_weak(tag):
        return _revalidated(make_response("", 304), tag)
    return _revalidated(make_response(render(badge.template, count=_remembered(tag, count))), tag)


def _revalidated(response, tag: str):
    # The browser keeps the badge (never a shared cache) and asks again with its ETag each time.
    response.set_etag(tag)
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def _remembered(tag: str, count: Callable[[], int]) -> int:
    if tag in _SEEN:
        _SEEN.move_to_end(tag)
        return _SEEN[tag]
    value = count()
    _SEEN[tag] = value
    while len(_SEEN) > _SEEN_MAX:
        _SEEN.popitem(last=False)
    return value


def _session_user() -> tuple[int, int] | None:
    """(user id, session version) from the signed session cookie, or None."""
    return User.parse_id(session.get(_SESSION_USER))


def _session_protection() -> str | None:
    return current_app.config.get("SESSION_PROTECTION", current_app.login_manager.session_protection)


def _language(user_locale: str | None, org_locale: str | None) -> str:
    """What chooses the language a badge is rendered in (portal._select_locale for a signed-in
    user: their own locale, the one chosen in this session, their organisation's), as ETag text."""
    parts = (user_locale, session.get("locale"), org_locale)
    return ".".join("".join(ch for ch in str(part or "") if ch.isascii() and (ch.isalnum() or ch == "_"))
                    for part in parts)
