"""User-facing messages from pure code, translated later by whoever shows them.

`N_` marks a string for extraction into the catalogue without translating it here (the domain
and the services know nothing of a request or its language). `Msg` carries the message id (the
English text) and typed parameters: amounts as `Money` or `Decimal`, dates, nested `Msg`s (a
label inside a sentence). It is rendered at display time, in the viewer's language and with
the viewer's number and date formats, by `portal.i18n.translate`.

Messages that are stored (routing reasons, budget refusals, audit summaries, notifications) are
kept as `Msg.to_json()`: the id plus the parameters encoded with `encode_params`, so the same
row reads in Polish for a Polish viewer and in English for an English one. `Link` is the same
idea for a link: an endpoint and its arguments, turned into a URL at the edge (a page, or an
e-mail built from BASE_URL), never in a service.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from portal.money import Money


def N_(text: str) -> str:  # noqa: N802 - the gettext convention
    return text


@dataclass(frozen=True)
class Msg:
    """A message id and its parameters, rendered later in the viewer's language."""

    text: str
    params: dict = field(default_factory=dict)

    def __str__(self) -> str:
        # For logs and exceptions only: English, without locale formatting.
        return self.text % {k: _plain(v) for k, v in self.params.items()} if self.params else self.text

    def to_json(self) -> dict:
        return {"id": self.text, "params": encode_params(self.params)}

    @classmethod
    def from_json(cls, data: dict | str | None) -> Msg:
        if not data:
            return cls("")
        if isinstance(data, str):
            return cls(data)
        return cls(*typed_amounts(data.get("id", ""), decode_params(data.get("params") or {})))


@dataclass(frozen=True)
class Link:
    """Where a message points: a Flask endpoint and its arguments, built into a URL at the edge."""

    endpoint: str
    params: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"endpoint": self.endpoint, "params": dict(self.params)}

    @classmethod
    def from_json(cls, data: dict | None) -> Link | None:
        if not data:
            return None
        return cls(data["endpoint"], dict(data.get("params") or {}))


def _plain(value) -> str:
    if isinstance(value, Money):
        return f"{value.amount} {value.currency}"
    return str(value)


_TAG = "$t"


def encode_value(value):
    """One parameter as JSON-safe data; the type survives the round trip."""
    if isinstance(value, float):
        raise TypeError("message parameters are never floats (amounts are Decimal or Money)")
    if isinstance(value, Money):
        return {_TAG: "money", "v": str(value.amount), "c": value.currency}
    if isinstance(value, Decimal):
        return {_TAG: "decimal", "v": str(value)}
    if isinstance(value, datetime):
        return {_TAG: "datetime", "v": value.isoformat()}
    if isinstance(value, date):
        return {_TAG: "date", "v": value.isoformat()}
    if isinstance(value, Msg):
        return {_TAG: "msg", "v": value.to_json()}
    if value is None or isinstance(value, str | int | bool):
        return value
    return str(value)


def decode_value(value):
    if not isinstance(value, dict) or _TAG not in value:
        return value
    kind, raw = value[_TAG], value.get("v")
    if kind == "money":
        return Money(Decimal(raw), value["c"])
    if kind == "decimal":
        return Decimal(raw)
    if kind == "datetime":
        return datetime.fromisoformat(raw)
    if kind == "date":
        return date.fromisoformat(raw)
    if kind == "msg":
        return Msg.from_json(raw)
    return raw


# Rows stored before amounts were typed say "%(amount)s %(currency)s", with a Decimal (or an
# English-formatted "1,234.50") and a currency code: a Polish reader got "1 234,50 PLN" beside
# "1 234,50 zł". They are read as one `Money` under today's message id ("%(amount)s").
_AMOUNT_AND_CURRENCY = re.compile(r"%\((\w+)\)s %\(currency\)s")


def typed_amounts(text: str, params: dict) -> tuple[str, dict]:
    """A stored message with its amounts as `Money` (see above); any other message unchanged."""
    currency = params.get("currency")
    keys = _AMOUNT_AND_CURRENCY.findall(text)
    if not keys or not isinstance(currency, str):
        return text, params
    typed, new_text = dict(params), text
    for key in keys:
        value = params.get(key)
        if not isinstance(value, Decimal | str):
            return text, params
        try:
            amount = Decimal(str(value).replace(",", "").replace("\xa0", ""))
        except ArithmeticError:
            return text, params
        if not amount.is_finite():
            return text, params
        typed[key] = Money(amount, currency)
        new_text = new_text.replace(f"%({key})s %(currency)s", f"%({key})s")
    if "%(currency)s" not in new_text:
        typed.pop("currency")
    return new_text, typed


def encode_params(params: dict) -> dict:
    return {key: encode_value(value) for key, value in (params or {}).items()}


def decode_params(data: dict) -> dict:
    return {key: decode_value(value) for key, value in (data or {}).items()}
