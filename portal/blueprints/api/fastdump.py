"""A list page's rows serialized without marshmallow's per-field machinery, with the same result.

`Schema.dump` pays, for every field of every row, an accessor call, a missing-value check, a
default lookup and a type dispatch; a 50-row page of 25 fields is ~1 300 such calls and was a
third of an API list's time. `dumper(schema)` compiles a schema once into a row function that
reads each attribute directly and calls the field's own `_serialize` (so formats, places and
`allow_none` are the field's), skipping the call when the value already is what the field would
give (an int for Integer, a str for String, a bool for Boolean, None), and writing decimals and
dates as marshmallow's Decimal and temporal fields do without their detours (a Decimal
re-parsed from its own text). Nested schemas and lists of them are compiled the same way. Anything
it cannot reproduce exactly (dump hooks, a custom accessor, dotted attributes, dump defaults,
Method/Function fields, a mapping other than a plain dict, a key a dict row lacks) goes through
marshmallow as before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal

from marshmallow import Schema, fields, missing
from marshmallow.decorators import POST_DUMP, PRE_DUMP

_ABSENT = object()


_CACHE: dict[int, tuple[Schema, Callable]] = {}


def _simple_schema(schema: Schema) -> bool:
    return (not schema._hooks[PRE_DUMP] and not schema._hooks[POST_DUMP]
            and type(schema).get_attribute is Schema.get_attribute and not schema.many)


def _converter(field: fields.Field, attribute: str, *, mapping_rows: bool = False):
    """A function(value, obj) -> what the field dumps for a value found on the row, or None
    when only marshmallow will do. `mapping_rows`: for dict rows only, where a field whose class
    says `plain_for_mappings` (its own `get_value` reads a mapping's key as any field does) is
    written like its base field."""
    own_reader = type(field).get_value is not fields.Field.get_value
    if (not field._CHECK_ATTRIBUTE or "." in attribute or field.dump_default is not missing
            or (own_reader and not (mapping_rows and getattr(field, "plain_for_mappings", False)))
            or isinstance(field, fields.Method | fields.Function | fields.Pluck)):
        return None
    if isinstance(field, fields.Nested):
        inner = field.schema
        if not _simple_schema(inner) or field.many:
            return None
        row = dumper(inner)
        return _inline(lambda value, obj: value if value is None else row(value), unless_none=row)
    if isinstance(field, fields.List) and isinstance(field.inner, fields.Nested):
        inner_field = field.inner
        inner = inner_field.schema
        if not _simple_schema(inner) or inner_field.many or inner_field.attribute:
            return None
        row = dumper(inner)
        return _inline(lambda value, obj: value if value is None else [None if i is None else row(i) for i in value])
    serialize = field._serialize
    kind = type(field)
    if (issubclass(kind, fields.Decimal) and field.as_string and not field.allow_nan
            and kind._serialize is fields.Number._serialize and kind._format_num is fields.Decimal._format_num
            and kind._to_string is fields.Decimal._to_string):
        # Decimal._serialize: Decimal(str(value)), quantized to `places`, written with "f".
        places, rounding = field.places, field.rounding

        def decimal_(value, obj):
            if type(value) is not Decimal or not value.is_finite():
                return serialize(value, attribute, obj)
            return format(value if places is None else value.quantize(places, rounding=rounding), "f")

        return _inline(decimal_)
    if issubclass(kind, fields.DateTime | fields.Date) and kind._serialize is fields.DateTime._serialize:
        written = kind.SERIALIZATION_FUNCS.get(field.format or field.DEFAULT_FORMAT)
        if written is not None:
            return _inline(lambda value, obj: value if value is None else written(value), unless_none=written)
    same = {fields.Integer: int, fields.String: str, fields.Boolean: bool}.get(kind)
    if kind is fields.Integer and field.as_string:
        same = None

    def plain(value, obj):
        if same is not None and type(value) is same:
            return value
        return serialize(value, attribute, obj)

    return _inline(plain, kept=same)


def _inline(convert, *, unless_none=None, kept=None):
    """`convert`, noting what `_compiled` may write in place of calling it: `unless_none(value)`
    for a value that is not None (None stays None), or the value itself when its type is `kept`."""
    convert.unless_none, convert.kept = unless_none, kept
    return convert


def _compiled(plan, fallback: Callable[[object], dict]) -> Callable[[object], dict]:
    """The row function of `plan` as one generated function (as `dataclasses` and
    `namedtuple` generate theirs): for a dict row holding every field's key, one dict display
    whose values are the converters' results, written inline where `_inline` says how (`None if
    v is None else f(v)`, `v if type(v) is int else ...`). A dict lacking some keys (a list whose
    rows leave a field out, as the buyer's RFQs leave out the supplier's `invitation`) gets the
    function generated for the keys it has (marshmallow leaves a missing field out: a field with
    a converter has no dump default), a few shapes per list; an object goes to `fallback`, the
    field-by-field function. A 50-row page of 25 fields then costs a few hundred calls instead
    of a few thousand."""
    shapes: dict[frozenset, Callable[[object], dict]] = {}

    def partial(obj: dict) -> dict:
        keys = frozenset(obj)
        found = shapes.get(keys)
        if found is None:
            if len(shapes) >= 16:  # not a list's few row shapes: field by field
                return fallback(obj)
            found = shapes[keys] = _generate([entry for entry in plan if entry[3] in keys], fallback, fallback)
        return found(obj)

    return _generate(plan, partial, fallback)


Row = Callable[[object], dict]


def _generate(plan, missing_key: Row, fallback: Row) -> Row:
    """The function of `_compiled` for `plan`: a dict row lacking a key goes to `missing_key`,
    anything but a dict to `fallback`."""
    namespace: dict = {"_missing_key": missing_key, "_fallback": fallback, "_dict": dict}
    values = []
    for i, (key, _name, _field, attribute, convert) in enumerate(plan):
        read = f"obj[{attribute!r}]"
        if convert.unless_none is not None:
            namespace[f"f{i}"] = convert.unless_none
            values.append(f"{key!r}: (None if (v := {read}) is None else f{i}(v))")
        elif convert.kept is not None:
            namespace[f"c{i}"], namespace[f"t{i}"] = convert, convert.kept
            values.append(f"{key!r}: (v if type(v := {read}) is t{i} else c{i}(v, obj))")
        else:
            namespace[f"c{i}"] = convert
            values.append(f"{key!r}: c{i}({read}, obj)")
    source = ("def row(obj):\n"
              "    if type(obj) is _dict:\n"
              "        try:\n"
              f"            return {{{', '.join(values)}}}\n"
              "        except KeyError:\n"
              "            return _missing_key(obj)\n"
              "    return _fallback(obj)\n")
    exec(compile(source, "<fastdump>", "exec"), namespace)  # noqa: S102 - keys and names from the schema
    return namespace["row"]


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
        attribute = field.attribute or name
        plan.append((key, name, field, attribute, _converter(field, attribute)))
    accessor = schema.get_attribute

    def row(obj):
        # A dict row's key, else the attribute, as marshmallow's accessor finds them first;
        # a value neither has goes through marshmallow, which decides (left out, or a default).
        if type(obj) is dict:
            get = obj.get
        elif isinstance(obj, Mapping):
            return slow(obj)
        else:
            def get(attribute, default, obj=obj):
                return getattr(obj, attribute, default)
        out = {}
        for key, name, field, attribute, convert in plan:
            if convert is None:
                value = field.serialize(name, obj, accessor=accessor)
            else:
                value = get(attribute, _ABSENT)
                value = field.serialize(name, obj, accessor=accessor) if value is _ABSENT else convert(value, obj)
            if value is not missing:
                out[key] = value
        return out

    dict_plan = [(key, name, field, attribute, convert or _converter(field, attribute, mapping_rows=True))
                 for key, name, field, attribute, convert in plan]
    if all(convert is not None for *_, convert in dict_plan):
        row = _compiled(dict_plan, row)
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
