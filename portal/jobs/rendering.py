"""Turning stored messages and links into text and URLs, at the edge.

In a page: the viewer's language and `url_for`. In an e-mail (no request): the recipient's
language (`force_locale`) and absolute links built from BASE_URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from flask import current_app, url_for
from flask_babel import force_locale, gettext
from werkzeug.routing import BuildError

from portal.i18n import translate

SUBJECT_MAX = 120


def _local_path(url: str) -> str:
    """Only a path on this site (a stored link never sends anyone elsewhere)."""
    return url if url.startswith("/") and not url.startswith("//") else ""


def page_url(target: dict | None) -> str:
    """The URL of a stored link for a page of this request ("" when there is none)."""
    if not target:
        return ""
    if "endpoint" in target:
        try:
            return url_for(target["endpoint"], **(target.get("params") or {}), _external=False)
        except BuildError:  # an endpoint renamed since the row was written
            return ""
    return _local_path(target.get("url") or "")


def external_url(target: dict | None, base_url: str | None = None) -> str:
    """The absolute URL of a stored link, from BASE_URL: no request needed."""
    if not target:
        return ""
    base = (base_url or current_app.config["BASE_URL"]).rstrip("/")
    if "endpoint" in target:
        parts = urlsplit(base)
        adapter = current_app.url_map.bind(
            parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme or "http"
        )
        try:
            return adapter.build(target["endpoint"], target.get("params") or {}, force_external=True)
        except BuildError:
            return ""
    path = _local_path(target.get("url") or "")
    return base + path if path else ""


def absolute_url(endpoint: str, **params) -> str:
    """The absolute URL of a page for a link mailed from a view (invitations, password reset)."""
    return external_url({"endpoint": endpoint, "params": params})


@dataclass(frozen=True)
class Shown:
    """A notification as one reader sees it."""

    id: int
    kind: str
    text: str
    link: str
    read_at: datetime | None
    created_at: datetime


def shown(note) -> Shown:
    """A notification in the current language, its link as a path."""
    return Shown(note.id, note.kind, translate(note.message), page_url(note.target), note.read_at,
                 note.created_at)


def shown_to_recipient(note, user) -> Shown:
    """A notification as its recipient reads it (their language), outside any request."""
    with force_locale(user.display_locale):
        return shown(note)


def notification_email(payload: dict, user) -> tuple[str, str]:
    """Subject and body of a notification's e-mail, in the recipient's language."""
    with force_locale(user.display_locale):
        text = translate(payload.get("message"))
        subject = text if len(text) <= SUBJECT_MAX else text[: SUBJECT_MAX - 3] + "…"
        body = text
        url = external_url(payload.get("link"))
        if url:
            body += "\n\n" + gettext("Open in the portal:") + "\n" + url
        extra = external_url(payload.get("extra_link"))
        if extra:
            body += "\n\n" + gettext("Decide from this email (the link works once, for 72 hours):") + "\n" + extra
        body += "\n\n— Portal"
    return subject, body
