"""The app's JSON (portal.extensions.FastJSONProvider, orjson) writes what Flask's own provider
writes: the same values for dates, decimals, UUIDs, dataclasses and markup, the same key order
rules, and Flask's own output for whatever orjson refuses."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from flask.json.provider import DefaultJSONProvider
from markupsafe import Markup

from portal.extensions import FastJSONProvider


@dataclass
class Point:
    x: int
    label: str


VALUES = [
    {"b": 1, "a": [True, None, 2.5, "zażółć \u2028 <script>"]},
    {"when": datetime(2026, 12, 6, 10, 30, tzinfo=UTC), "day": date(2026, 12, 6)},
    {"amount": Decimal("1234.50"), "id": uuid.UUID("12345678-1234-5678-1234-567812345678")},
    {"point": Point(1, "a"), "html": Markup("<b>x</b>")},
    {3: "int keys", 1: "as strings"},
    {"big": 2**70, "neg": -(2**70)},  # beyond 64 bits: orjson refuses, Flask writes it
]


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize("sort_keys", [True, False])
def test_writes_the_same_document_as_flasks_provider(app, value, sort_keys):
    fast, flask = FastJSONProvider(app), DefaultJSONProvider(app)
    fast.sort_keys = flask.sort_keys = sort_keys
    assert json.loads(fast.dumps(value)) == json.loads(flask.dumps(value))
    if sort_keys:
        assert list(json.loads(fast.dumps(value))) == list(json.loads(flask.dumps(value)))
    with app.test_request_context():
        answer, expected = fast.response(value), flask.response(value)
    assert answer.mimetype == expected.mimetype == "application/json"
    assert json.loads(answer.get_data()) == json.loads(expected.get_data())
    assert answer.get_data().endswith(b"\n")


def test_keeps_the_order_it_is_given_without_sort_keys(app):
    provider = FastJSONProvider(app)
    provider.sort_keys = False
    assert provider.dumps({"z": 1, "a": 2}) == '{"z":1,"a":2}'


def test_custom_arguments_and_unknown_types_are_flasks(app):
    provider = FastJSONProvider(app)
    assert provider.dumps({"a": 1}, indent=2) == DefaultJSONProvider(app).dumps({"a": 1}, indent=2)
    with pytest.raises(TypeError):
        provider.dumps({"x": object()})


def test_is_the_apps_provider(app):
    assert isinstance(app.json, FastJSONProvider)
