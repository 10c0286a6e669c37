"""Render messages from pure code in the viewer's language (the edge's half of domain/messages).

Parameters are formatted here, at display time: `Money` as `1 234,50 zł` for a Polish viewer
and `PLN1,234.50` for an English one, dates and numbers likewise, nested `Msg`s translated.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask_babel import format_date, format_datetime, format_decimal, get_locale, gettext

from portal.domain.messages import Msg
from portal.money import Money, format_money


def format_param(value):
    """One message parameter written the current locale's way."""
    if isinstance(value, Money):
        return format_money(value.amount, value.currency, str(get_locale() or "en"))
    if isinstance(value, Decimal):
        return format_decimal(value, format="#,##0.00##")
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return format_date(value)
    if isinstance(value, Msg):
        return translate(value)
    return value


def translate(msg: Msg | str | dict | None) -> str:
    """Translate a domain message (or its stored JSON form) into the current language."""
    if msg is None:
        return ""
    if isinstance(msg, dict):
        msg = Msg.from_json(msg)
    if isinstance(msg, Msg):
        if not msg.text:
            return ""
        params = {key: format_param(value) for key, value in msg.params.items()}
        return gettext(msg.text, **params)
    return gettext(msg)
