"""The API's schemas: what it validates and what the OpenAPI document says are the same classes.

Conventions (every resource module follows them):
- Money is a decimal string with its document's `currency` beside it (`"1234.50"`), never a JSON
  number: `MoneyString` reads it (at most two decimals, no exponent, no NaN), `Str` writes it.
- Quantities are decimal strings too (`DecimalString(places=3)`).
- Dates and moments are ISO 8601 (`2026-12-05`, `2026-12-05T10:00:00+00:00`); a moment without an
  offset is refused.
- Unknown fields are refused (marshmallow's RAISE) with the field named in the problem.
- Lists answer `{"data": [...], "next_cursor": "..."}` (`page_of(ItemSchema)`); their query takes
  `ListArgs` (cursor, limit, updated_since) plus the list's own filters.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from portal.blueprints.api.fastdump import dump_page
from portal.services.paging import MAX_CURSOR

MAX_PER_PAGE = 200


class Strict(Schema):
    class Meta:
        unknown = RAISE
        ordered = True


class DecimalString(fields.Field):
    """A decimal number written as a JSON string: `"12.5"`. JSON numbers are refused (a float
    would already have lost the exact value)."""

    default_places = 4

    def __init__(self, *, places: int | None = None, minimum: Decimal | None = None,
                 maximum: Decimal | None = Decimal("999999999999"), **kwargs):
        self.places = self.default_places if places is None else places
        self.minimum, self.maximum = minimum, maximum
        kwargs.setdefault("metadata", {})
        kwargs["metadata"].setdefault("pattern", rf"^-?\d+(\.\d{{1,{self.places}}})?$")
        super().__init__(**kwargs)
        self._shape = re.compile(rf"^-?\d{{1,15}}(\.\d{{1,{self.places}}})?$")

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ValidationError('Write the amount as a string, e.g. "1234.50".')
        if not self._shape.match(value.strip()):
            raise ValidationError(f"Not a decimal number with at most {self.places} decimals.")
        try:
            number = Decimal(value.strip())
        except InvalidOperation as exc:  # pragma: no cover - the pattern admits only numbers
            raise ValidationError("Not a number.") from exc
        if self.minimum is not None and number < self.minimum:
            raise ValidationError(f"Must be at least {self.minimum}.")
        if self.maximum is not None and number > self.maximum:
            raise ValidationError(f"Must be at most {self.maximum}.")
        return number

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return format(Decimal(value), "f")


class MoneyString(DecimalString):
    """An amount of money: a decimal string with at most two decimals."""

    default_places = 2


class DecimalOut(fields.Decimal):
    """A decimal in a response, written as a string (documented as one: plain fields.Decimal is
    a JSON number in the OpenAPI document even with as_string)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("as_string", True)
        super().__init__(**kwargs)


# The OpenAPI type of the custom fields (apispec reads `_jsonschema_type_mapping` or this map).
FIELD_TYPES = {DecimalString: ("string", "decimal"), MoneyString: ("string", "decimal"),
               DecimalOut: ("string", "decimal")}


def Amount(**kwargs):  # noqa: N802 - a field factory, named like the fields it builds
    """An amount in a response: a decimal string (exact, as stored)."""
    return DecimalOut(**kwargs)


class ListArgs(Strict):
    cursor = fields.String(load_default=None, validate=validate.Length(max=MAX_CURSOR),
                           metadata={"description": "next_cursor of the previous page"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_PER_PAGE))
    updated_since = fields.AwareDateTime(
        load_default=None, format="iso",
        metadata={"description": "only rows changed at or after this moment (ISO 8601 with offset)"})


_PAGES: dict[type, type] = {}


def _dump_page(self, obj, *, many=None):
    """A page's rows through portal.blueprints.api.fastdump (same output, a fraction of the
    time); anything else as marshmallow dumps it."""
    found = None if many else dump_page(self, obj)
    return Schema.dump(self, obj, many=many) if found is None else found


def page_of(item_schema: type[Schema]) -> type[Schema]:
    """The list envelope of `item_schema`: `{"data": [...], "next_cursor": ...}` (one class per
    item schema: the OpenAPI document names it `<Item>Page`)."""
    found = _PAGES.get(item_schema)
    if found is None:
        name = item_schema.__name__.removesuffix("Schema") + "Page"
        found = _PAGES[item_schema] = type(name, (Schema,), {
            "dump": _dump_page,
            "data": fields.List(fields.Nested(item_schema), required=True),
            "next_cursor": fields.String(allow_none=True, required=True, metadata={
                "description": "pass as ?cursor= for the next page; null at the end"}),
        })
    return found


class Problem(Schema):
    """RFC 9457 problem details."""

    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    instance = fields.String()
    errors = fields.List(fields.Dict())


class Party(Schema):
    id = fields.Integer()
    name = fields.String()
    tax_id = fields.String(allow_none=True)


class StrictBoolean(fields.Boolean):
    """A JSON `true` or `false` in a body (not "yes", 1 or "on")."""

    truthy = frozenset({True})
    falsy = frozenset({False})
