"""The list pages' compiled row dump (portal/blueprints/api/fastdump.py) gives exactly what
marshmallow's Schema.dump gives, for every field kind the API uses and for what it hands back."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace

from marshmallow import Schema, fields, missing, post_dump

from portal.blueprints.api import fastdump
from portal.blueprints.api.schemas import Amount, Party, page_of


class Colour(enum.StrEnum):
    RED = "red"


class Plain(enum.Enum):
    ONE = 1


class LineSchema(Schema):
    id = fields.Integer()
    quantity = Amount(places=3)


class ListedSchema(Schema):
    """What an API list's item schema holds: no Method fields, so every field compiles."""

    id = fields.Integer()
    number = fields.String(allow_none=True)
    status = fields.String()
    plain = fields.String()
    flag = fields.Boolean()
    count = fields.Integer(as_string=True)
    net_total = Amount(places=2)
    when = fields.AwareDateTime(allow_none=True)
    day = fields.Date(allow_none=True)
    buyer = fields.Nested(Party)
    supplier = fields.Nested(Party, allow_none=True)
    lines = fields.List(fields.Nested(LineSchema))
    renamed = fields.String(attribute="other_name", data_key="shown_as")
    terms = fields.Dict()


class RowSchema(ListedSchema):
    """And what only marshmallow writes: a Method field, a field no row holds."""

    rate = Amount()
    computed = fields.Method("_computed")
    absent = fields.String()

    def _computed(self, obj):
        return f"#{obj['id'] if isinstance(obj, dict) else obj.id}"


class HookedSchema(Schema):
    id = fields.Integer()

    @post_dump
    def _mark(self, data, **kwargs):
        return {**data, "hooked": True}


def _row(n: int, **extra):
    party = SimpleNamespace(id=7, name="Nordwind", tax_id=None)
    values = dict(
        id=n, number=f"PO/{n}", status=Colour.RED, plain=Plain.ONE, flag=bool(n % 2), count=n,
        net_total=Decimal("12.5"), rate=Decimal("23"), when=datetime(2026, 12, 5, 10, tzinfo=UTC),
        day=date(2026, 12, 5), buyer=party, supplier=None,
        lines=[SimpleNamespace(id=1, quantity=Decimal("1.5")), SimpleNamespace(id=2, quantity=Decimal("2"))],
        other_name="x", terms={"kind": "net", "days": 30},
    )
    values.update(extra)
    return SimpleNamespace(**values)


def _both(item_schema, rows):
    page = {"data": rows, "next_cursor": "abc"}
    schema = page_of(item_schema)()
    return schema.dump(page), Schema.dump(schema, page)


def test_the_compiled_rows_match_marshmallow_for_every_field_kind():
    rows = [_row(1), _row(2, when=None, day=None, supplier=SimpleNamespace(id=8, name="P", tax_id="PL1"),
                          lines=[], number=None)]
    fast, slow = _both(RowSchema, rows)
    assert fast == slow
    assert fast["data"][0]["status"] == "red" and fast["data"][0]["shown_as"] == "x"
    assert fast["data"][1]["supplier"] == {"id": 8, "name": "P", "tax_id": "PL1"}
    assert "absent" not in fast["data"][0]  # a missing attribute is left out, as marshmallow does


def test_mappings_hooks_and_other_shapes_go_through_marshmallow():
    dict_rows = [{"id": 1, "number": "A", "lines": [], "renamed": "y", "other_name": "z"}]
    fast, slow = _both(RowSchema, dict_rows)
    assert fast == slow
    fast, slow = _both(HookedSchema, [SimpleNamespace(id=3)])
    assert fast == slow and fast["data"] == [{"id": 3, "hooked": True}]
    schema = page_of(LineSchema)()
    assert fastdump.dump_page(schema, [1, 2]) is None  # not a page: the caller dumps it itself
    assert schema.dump({"data": [], "next_cursor": None}) == {"data": [], "next_cursor": None}


def test_listed_columns_loads_what_the_list_shows_and_the_keys(app):
    from sqlalchemy import select

    from portal.blueprints.api.core import listed_columns
    from portal.models.order import PurchaseOrder

    statement = select(PurchaseOrder).options(listed_columns(PurchaseOrder, LineSchema, "number"))
    sql = str(statement.compile())
    for column in ("id", "number", "updated_at", "organization_id", "supplier_id"):
        assert f"purchase_orders.{column}" in sql
    assert "purchase_orders.payment_terms" not in sql and "purchase_orders.notes" not in sql


def test_dict_rows_with_every_field_kind_match_marshmallow():
    """The rows API lists read as columns (core.RowPlan) are plain dicts, parties nested as dicts."""
    def as_dict(row):
        values = dict(vars(row))
        for party in ("buyer", "supplier"):
            if values[party] is not None:
                values[party] = dict(vars(values[party]))
        values["lines"] = [dict(vars(line)) for line in values["lines"]]
        return values

    rows = [as_dict(_row(1)), as_dict(_row(2, when=None, day=None, number=None, lines=[],
                                              net_total=Decimal("-0.005"), rate=Decimal("1E+1"),
                                              supplier=SimpleNamespace(id=8, name="P", tax_id="PL1")))]
    fast, slow = _both(RowSchema, rows)
    assert fast == slow
    assert fast["data"][1]["net_total"] == "-0.00" and fast["data"][1]["rate"] == "10"
    assert fast["data"][0]["when"] == "2026-12-05T10:00:00+00:00" and fast["data"][0]["day"] == "2026-12-05"


def _listed(n: int, **extra) -> dict:
    values = {"id": n, "number": f"PO/{n}", "status": Colour.RED, "plain": Plain.ONE, "flag": True, "count": n,
              "net_total": Decimal("12.345"), "when": datetime(2026, 12, 5, 10, 0, 1, 5, tzinfo=UTC),
              "day": date(2026, 12, 5), "buyer": {"id": 7, "name": "Nordwind", "tax_id": None}, "supplier": None,
              "lines": [{"id": 1, "quantity": Decimal("1.5")}], "other_name": "x",
              "terms": {"kind": "net", "days": 30}}
    return values | extra


def test_dict_rows_holding_every_field_take_one_generated_function_with_the_same_answer():
    row = fastdump.dumper(ListedSchema())
    assert row.__code__.co_filename == "<fastdump>"  # generated: one dict display per row
    rows = [_listed(1), _listed(2, number=None, when=None, day=None, lines=[], net_total=Decimal("-0.005"),
                                supplier={"id": 8, "name": "P", "tax_id": "PL1"}, count="3", flag=0)]
    fast, slow = _both(ListedSchema, rows)
    assert fast == slow
    assert [list(item) for item in fast["data"]] == [list(item) for item in slow["data"]]  # field order
    assert fast["data"][1]["count"] == "3" and fast["data"][1]["net_total"] == "-0.00"
    assert fast["data"][0]["when"] == "2026-12-05T10:00:01.000005+00:00"


def test_dict_rows_lacking_keys_and_objects_give_what_marshmallow_gives():
    lacking = [_listed(1), _listed(2)]
    for row in lacking:
        del row["terms"]  # a key the dict lacks: marshmallow leaves the field out
    del lacking[1]["supplier"]
    objects = [SimpleNamespace(**_listed(2) | {"buyer": SimpleNamespace(id=7, name="N", tax_id=None),
                                               "lines": []})]
    for rows in (lacking, objects, [_listed(3), *lacking]):
        fast, slow = _both(ListedSchema, rows)
        assert fast == slow
        assert [list(item) for item in fast["data"]] == [list(item) for item in slow["data"]]
    first, second = _both(ListedSchema, lacking)[0]["data"]
    assert "terms" not in first and "supplier" in first and "supplier" not in second


class _Late(fields.Boolean):
    """A derived field like the invoices' `overdue`: objects through its own reader, mappings by key."""

    plain_for_mappings = True

    def get_value(self, obj, attr, accessor=None, default=missing):
        if isinstance(obj, dict):
            return obj.get(attr, default)
        return obj.days > 3


class LateSchema(Schema):
    id = fields.Integer()
    late = _Late()


def test_a_field_reading_mappings_plainly_compiles_for_dict_rows_and_keeps_its_reader_for_objects():
    assert fastdump.dumper(LateSchema()).__code__.co_filename == "<fastdump>"
    for rows in ([{"id": 1, "late": True}, {"id": 2, "late": False}, {"id": 3}],
                 [SimpleNamespace(id=4, days=5), SimpleNamespace(id=5, days=1)]):
        fast, slow = _both(LateSchema, rows)
        assert fast == slow
    assert _both(LateSchema, [SimpleNamespace(id=4, days=5)])[0]["data"] == [{"id": 4, "late": True}]
