"""Small helpers shared by the views."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, url_for

from portal.extensions import db


def safe_next(target: str | None, default_endpoint: str = "dashboard.index") -> str:
    """A local path to go to after an action; anything else goes to the default page."""
    if target:
        parts = urlsplit(target)
        local = not parts.scheme and not parts.netloc
        if local and target.startswith("/") and not target.startswith("//") and "\\" not in target:
            return target
    return url_for(default_endpoint)


def commit() -> None:
    """The one commit of a user action."""
    db.session.commit()


def page_size() -> int:
    return current_app.config["PAGE_SIZE"]
