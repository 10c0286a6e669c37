"""A list page's rows serialized without marshmallow's per-field machinery, with the same result.

`Schema.dump` pays, for every field of every row, an accessor call, a missing-value check, a
default lookup and a type dispatch; a 50-row page of 25 fields is ~1 300 such calls and was a
third of an API list's time. `dumper(schema)` compiles a schema once into a row function that
reads each attribute directly and calls the field's own `_serialize` (so formats, places and
`allow_none` are the field's), skipping the call when the value already is what the field
would give (an int for Integer, a str for String, a bool for Boolean, None). Nested schemas
and lists of them are compiled the same way. Anything it cannot reproduce exactly (dump hooks,
a custom accessor, dotted attributes, dump defaults, Method/Function fields, a mapping other than
a plain dict, a key a dict row lacks) goes through marshmallow as before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from marshmallow import Schema, fields, missing
from marshmallow.decorators import POST_DUMP, PRE_DUMP

_ABSENT = object()


def _get(obj, attribute: str):
    """The value marshmallow's accessor would find first: a dict row's key, else the attribute
    (_ABSENT when neither: the field then goes through marshmallow, which decides)."""
    if type(obj) is dict:
        return obj.get(attribute, _ABSENT)
    return getattr(obj, attribute, _ABSENT)


_CACHE: dict[int, tuple[Schema, Callable]] = {}


def _simple_schema(schema: Schema) -> bool:
    return (not schema._hooks[PRE_DUMP] and not schema._hooks[POST_DUMP]
            and type(schema).get_attribute is Schema.get_attribute and not schema.many)


def _field_reader(name: str, field: fields.Field, schema: Schema):
    """A function(obj) -> value | _ABSENT for one field, or None when only marshmallow will do."""
    attribute = field.attribute or name
    if (not field._CHECK_ATTRIBUTE or "." in attribute or field.dump_default is not missing
            or type(field).get_value is not fields.Field.get_value
            or isinstance(field, fields.Method | fields.Function | fields.Pluck)):
        return None
    serialize = field._serialize
    if isinstance(field, fields.Nested):
        inner = field.schema
        if not _simple_schema(inner) or field.many:
            return None
        row = dumper(inner)

        def nested(obj):
            value = _get(obj, attribute)
            if value is _ABSENT or value is None:
                return value
            return row(value)

        return nested
    if isinstance(field, fields.List) and isinstance(field.inner, fields.Nested):
        inner_field = field.inner
        inner = inner_field.schema
        if not _simple_schema(inner) or inner_field.many or inner_field.attribute:
            return None
        row = dumper(inner)

        def listed(obj):
            value = _get(obj, attribute)
            if value is _ABSENT or value is None:
                return value
            return [None if item is None else row(item) for item in value]

        return listed
    kind = type(field)
    same = {fields.Integer: int, fields.String: str, fields.Boolean: bool}.get(kind)
    if kind is fields.Integer and field.as_string:
        same = None

    def plain(obj):
        value = _get(obj, attribute)
        if value is _ABSENT:
            return value
        if same is not None and type(value) is same:
            return value
        return serialize(value, attribute, obj)

    return plain


def dumper(schema: Schema) -> Callable[[object], dict]:
    """The row function of `schema` (an instance), compiled once per instance."""
    known = _CACHE.get(id(schema))
    if known is not None and known[0] is schema:
        return known[1]
    if not _simple_schema(schema):
        _CACHE[id(schema)] = (schema, schema.dump)
        return schema.dump
    slow = schema._serialize  # no hooks: what dump does for one row
    plan = []
    for name, field in schema.dump_fields.items():
        key = field.data_key if field.data_key is not None else name
        plan.append((key, name, field, _field_reader(name, field, schema)))
    accessor = schema.get_attribute

    def row(obj):
        if isinstance(obj, Mapping) and type(obj) is not dict:
            return slow(obj)
        out = {}
        for key, name, field, read in plan:
            if read is None:
                value = field.serialize(name, obj, accessor=accessor)
            else:
                value = read(obj)
                if value is _ABSENT:
                    value = field.serialize(name, obj, accessor=accessor)
            if value is not missing:
                out[key] = value
        return out

    _CACHE[id(schema)] = (schema, row)
    return row


def dump_page(schema: Schema, page) -> dict | None:
    """`{"data": [...], "next_cursor": ...}` of a list page through the compiled rows, or None
    when the page is not that shape (the caller dumps it as marshmallow would)."""
    if not isinstance(page, Mapping) or set(page) != {"data", "next_cursor"}:
        return None
    data = schema.dump_fields["data"]
    row = dumper(data.inner.schema)
    cursor = page["next_cursor"]
    return {"data": [row(item) for item in page["data"]],
            "next_cursor": None if cursor is None else str(cursor)}
