"""Translation helpers for messages that come from pure code."""

from __future__ import annotations

from flask_babel import gettext

from portal.domain.messages import Msg


def translate(msg: Msg | str) -> str:
    """Translate a domain message into the request's language."""
    if isinstance(msg, Msg):
        return gettext(msg.text, **msg.params)
    return gettext(msg)
