"""Lists, one page at a time: the keyset (cursor) pattern every list uses.

Keyset paging reads a page as "the rows after (or before) this row, in this order", straight from
an index that matches the list's filter and sort, so page 1 and page 10 000 cost the same; the
total is counted only up to a cap ("1 000+"), never over the whole table.

Usage (a service or a blueprint's query module; no Flask here)::

    from portal.services.paging import Key, Order, keyset

    NEWEST = Order("created", Key(Requisition.created_at, descending=True),
                   Key(Requisition.id, descending=True))
    page = keyset(select(Requisition).where(...).options(joinedload(...)), NEWEST,
                  cursor=cursor_arg(), per_page=50)
    page.items        # the rows of this page
    page.next         # opaque cursor of the next (older) page, or None
    page.prev         # cursor of the previous (newer) page, or None
    page.total        # rows counted, at most count_cap + 1
    page.more         # True when there are more than count_cap rows ("1 000+")

- The last key of every order must be unique (the id), so the order is total and stable.
- A column that may be NULL gets its own segments: `Order(name, Segment(keys, where=col.isnot(
  None)), Segment((Key(id),), where=col.is_(None)))` lists the rows with a value, then the others;
  an order by a list of values (a lifecycle) is one segment per value. Each segment is read from
  its own index range, one query per segment the page reaches.
- A list that is the union of several index ranges (an approver's inbox: their own open
  assignments and each delegator's) passes `parts`, one condition per range: each part is read
  in order from its own index up to a page, and the parts are merged. The parts must not share
  rows (the bounded count adds them up).
- The view reads the cursor with `portal.blueprints.params.cursor_arg()` and renders the links
  with the `keyset_pagination(page, endpoint, args)` macro of `macros/ui.html`
  (`?cursor=…`, `rel="next"`/`rel="prev"`). A cursor that cannot be read, or that belongs to
  another order, raises `BadCursor`, which the app answers with 422 (as `BadParameter`).
- Give each filter + order an index `(organization_id, <filter columns>, <sort key>, id)` so the
  walk starts at the cursor; `tests/test_list_plans.py` checks the plans.
"""

from __future__ import annotations

import base64
import binascii
import json
import weakref
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cmp_to_key

from sqlalchemy import and_, func, or_, select, union_all

from portal.extensions import db

LIST_PER_PAGE = 50
COUNT_CAP = 1000
MAX_CURSOR = 600


# ---------------------------------------------------------------- keyset paging


class BadCursor(ValueError):
    """A `?cursor=` that is not one this list gave out (edited, truncated, another order)."""


@dataclass(frozen=True)
class Key:
    """One sort key: a mapped column and its direction. The column is an attribute of the
    listed entity, or of one joined to it (a supplier link listed by its supplier's name):
    `path` then says where a row holds the value (`"supplier.name"`)."""

    column: object
    descending: bool = False
    path: str | None = None

    @property
    def name(self) -> str:
        return self.column.key

    def value_of(self, row):
        """The key's value on a listed row (for the cursor)."""
        for step in (self.path or self.name).split("."):
            row = getattr(row, step)
        return row

    def accepts(self, value) -> bool:
        """Whether a cursor's value has the column's Python type (a cursor read from the
        address is checked before it reaches a bound parameter)."""
        kind = self.column.type
        kind = getattr(kind, "impl", kind).python_type
        if kind is datetime:
            return isinstance(value, datetime) and value.tzinfo is not None
        if kind is date:
            return isinstance(value, date) and not isinstance(value, datetime)
        if kind is int:
            return isinstance(value, int) and not isinstance(value, bool)
        return isinstance(value, kind)


@dataclass(frozen=True)
class Segment:
    """A run of rows (`where`, None for all) in the order of `keys` (last one unique)."""

    keys: tuple[Key, ...]
    where: object = None


class Order:
    """A named total order of a list: one or more segments, read one after the other."""

    def __init__(self, name: str, *keys: Key, segments: tuple[Segment, ...] = ()):
        self.name = name
        self.segments = segments or (Segment(tuple(keys)),)

    def reversed(self) -> Order:
        """The same order backwards (an "ascending" header click)."""
        flipped = tuple(
            Segment(tuple(Key(k.column, not k.descending, k.path) for k in s.keys), s.where)
            for s in reversed(self.segments)
        )
        return Order(self.name + "-r", segments=flipped)


@dataclass(frozen=True)
class KeysetPage:
    """Rows of one page, the cursors to its neighbours and a bounded count."""

    items: list = field(default_factory=list)
    next: str | None = None
    prev: str | None = None
    total: int = 0
    more: bool = False  # more than the cap: show "1 000+"
    per_page: int = LIST_PER_PAGE

    def __iter__(self):
        return iter(self.items)

    @property
    def at_start(self) -> bool:
        return self.prev is None


def _plain(value):
    if isinstance(value, datetime):
        return ["t", value.isoformat()]
    if isinstance(value, date):
        return ["d", value.isoformat()]
    if isinstance(value, Decimal):
        return ["n", str(value)]
    if hasattr(value, "value") and not isinstance(value, int | str):  # an Enum
        value = value.value
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"cannot page by {value!r}")
    return value


def _typed(value):
    if isinstance(value, list) and len(value) == 2 and value[0] in ("t", "d", "n"):
        kind, text = value
        if not isinstance(text, str):
            raise BadCursor(value)
        try:
            if kind == "t":
                return datetime.fromisoformat(text)
            if kind == "d":
                return date.fromisoformat(text)
            number = Decimal(text)
            if not number.is_finite():
                raise BadCursor(text)
            return number
        except (ValueError, InvalidOperation) as exc:
            raise BadCursor(text) from exc
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BadCursor(value)
    return value


def encode_cursor(order: Order, segment: int, values: list, backward: bool) -> str:
    data = {"o": order.name, "s": segment, "k": [_plain(v) for v in values], "b": int(backward)}
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(order: Order, text: str) -> tuple[int, list, bool]:
    """(segment, key values, backward) of a cursor this order gave out; BadCursor otherwise."""
    if len(text) > MAX_CURSOR:
        raise BadCursor("too long")
    try:
        data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise BadCursor(text) from exc
    if not isinstance(data, dict) or data.get("o") != order.name:
        raise BadCursor(text)
    segment, values, backward = data.get("s"), data.get("k"), data.get("b")
    if not isinstance(segment, int) or not 0 <= segment < len(order.segments):
        raise BadCursor(text)
    keys = order.segments[segment].keys
    if not isinstance(values, list) or len(values) != len(keys) or backward not in (0, 1):
        raise BadCursor(text)
    values = [_typed(v) for v in values]
    if not all(key.accepts(value) for key, value in zip(keys, values, strict=True)):
        raise BadCursor(text)
    return segment, values, bool(backward)


def _beyond(keys: tuple[Key, ...], values: list, backward: bool):
    """Rows strictly after (before) `values` in the order of `keys`, as a condition an index
    range serves: `k1 >= v1 AND (k1 > v1 OR (k1 = v1 AND k2 > v2) ...)`."""
    alternatives = []
    for i, key in enumerate(keys):
        later = key.descending == backward  # ascending forward: greater values come later
        column = key.column
        step = column > values[i] if later else column < values[i]
        alternatives.append(and_(*[k.column == v for k, v in zip(keys[:i], values[:i], strict=True)],
                                 step))
    first = keys[0]
    first_later = first.descending == backward
    reach = first.column >= values[0] if first_later else first.column <= values[0]
    return and_(reach, or_(*alternatives))


def _sorted(query, keys: tuple[Key, ...], backward: bool):
    return query.order_by(*[
        k.column.desc() if k.descending != backward else k.column.asc() for k in keys
    ])


# query -> {anchors: (anchors, statement)}: what `keyset` and `count_upto` derive from a query
# built once (with bound parameters, given in `params`) is derived once too, and keeps the cache
# key SQLAlchemy memoizes on a statement. Weak: queries built per call go with their call.
_DERIVED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_DERIVED_PER_QUERY = 64
_SCALARS = (bool, int, str)


def _derived(query, anchors: tuple, build):
    """`build()`, a statement derived from `query` and the `anchors` it uses (objects compared
    by identity, numbers and text by value), remembered while `query` lives."""
    try:
        known = _DERIVED.get(query)
    except TypeError:
        return build()
    key = tuple(a if a is None or isinstance(a, _SCALARS) else id(a) for a in anchors)
    if known is not None:
        found = known.get(key)
        if found is not None and all(x is y or (isinstance(x, _SCALARS) and x == y)
                                     for x, y in zip(found[0], anchors, strict=True)):
            return found[1]
    statement = build()
    if known is None or len(known) >= _DERIVED_PER_QUERY:
        known = _DERIVED[query] = {}
    known[key] = (anchors, statement)
    return statement


def _fetch(statement, params, rows: bool) -> list:
    result = db.session.execute(statement, params)
    return result.all() if rows else list(result.unique().scalars())


def _read(query, keys: tuple[Key, ...], backward: bool, limit: int, parts, params=None,
          rows: bool = False) -> list:
    """Up to `limit` rows of `query` in the order of `keys`: one statement, or with `parts`
    one per part (each its own index range, LIMITed), merged in order. `rows`: `query`
    selects columns, and the page is their rows (else the one entity's objects)."""
    if not parts:
        statement = _derived(query, ("read", keys, backward, limit),
                             lambda: _sorted(query, keys, backward).limit(limit))
        return _fetch(statement, params, rows)
    found: list = []
    for condition in parts:
        statement = _derived(query, ("read", condition, keys, backward, limit),
                             lambda c=condition: _sorted(query.where(c), keys, backward).limit(limit))
        found.extend(_fetch(statement, params, rows))

    def compare(a, b) -> int:
        for key in keys:
            x, y = key.value_of(a), key.value_of(b)
            if x != y:
                return -1 if (x < y) == (key.descending == backward) else 1
        return 0

    return sorted(dict.fromkeys(found), key=cmp_to_key(compare))[:limit]


def _walk(query, order: Order, start: int, values: list | None, backward: bool, limit: int,
          parts=None, params=None, rows: bool = False):
    """Up to `limit` rows as (segment, row) from segment `start` on (back to the first one when
    `backward`), after/before `values` in the first segment read."""
    found: list = []
    indexes = range(start, -1, -1) if backward else range(start, len(order.segments))
    for i in indexes:
        segment = order.segments[i]
        part = query if segment.where is None else _derived(
            query, ("segment", segment), lambda s=segment: query.where(s.where))
        if values is not None and i == start:
            part = part.where(_beyond(segment.keys, values, backward))
        read = _read(part, segment.keys, backward, limit - len(found), parts, params, rows)
        found.extend((i, row) for row in read)
        if len(found) >= limit:
            break
    return found


def _cursor_of(order: Order, segment: int, row, backward: bool) -> str:
    keys = order.segments[segment].keys
    return encode_cursor(order, segment, [k.value_of(row) for k in keys], backward)


def count_upto(query, cap: int = COUNT_CAP, *, column=None, parts=None, keys=None,
               params=None) -> int:
    """How many rows `query` has, counting no further than cap + 1. With `column` (the id) the
    walk reads only that column, so an index without the table's rows can answer. With `parts`
    (conditions that share no rows, see `keyset`) each part is walked up to cap + 1 and the
    walks added up, in one statement; `keys` (the list's order) makes each walk follow its
    index, where a planner would otherwise join whole tables to find cap + 1 rows."""
    statement = _derived(query, ("count", cap, column, keys, *(parts or ())),
                         lambda: _count_statement(query, cap, column, parts, keys))
    return min(db.session.scalar(statement, params) or 0, cap + 1)


def _count_statement(query, cap: int, column, parts, keys):
    query = query.order_by(None)
    if column is not None:
        query = query.with_only_columns(column, maintain_column_froms=True)
    if parts:
        walk = union_all(*[select(_sorted(query.where(c), keys or (), False).limit(cap + 1).subquery())
                           for c in parts]).subquery()
    else:
        walk = query.limit(cap + 1).subquery()
    return select(func.count()).select_from(walk)


def keyset(query, order: Order, *, cursor: str | None = None, per_page: int = LIST_PER_PAGE,
           count: bool = True, count_cap: int = COUNT_CAP, parts=None, params=None,
           rows: bool = False) -> KeysetPage:
    """One page of `query` (a select of one entity, with its filters and loader options) in
    `order`: the first page, or the one after/before the row `cursor` names.

    One query per segment the page reaches, plus one bounded count (`count=False` skips it; the
    first page of a list shorter than a page needs none); with `parts` (conditions, each an
    index range, sharing no rows) one query per part and segment, merged. Raises BadCursor for
    a cursor this order did not give out. `params`: values of the bound parameters of a
    `query` built once (its derived statements are then built once too). `rows=True`: `query`
    selects columns (each key's column labelled with the key's name) and the items are rows.
    """
    if cursor:
        start, values, backward = decode_cursor(order, cursor)
    else:
        start, values, backward = 0, None, False
    found = _walk(query, order, start, values, backward, per_page + 1, parts, params, rows)
    beyond = len(found) > per_page
    found = found[:per_page]
    if backward:
        found.reverse()
    items = [row for _, row in found]
    nxt = prev = None
    if found:
        first, last = found[0], found[-1]
        if (beyond and not backward) or backward:
            nxt = _cursor_of(order, last[0], last[1], False)
        if (beyond and backward) or (cursor and not backward):
            prev = _cursor_of(order, first[0], first[1], True)
    total, more = len(items), False
    if count and (cursor or beyond):
        total = count_upto(query, count_cap, column=order.segments[0].keys[-1].column, parts=parts,
                           keys=order.segments[0].keys, params=params)
        more = total > count_cap
    return KeysetPage(items=items, next=nxt, prev=prev, total=min(total, count_cap) if more else total,
                      more=more, per_page=per_page)



def every_page(page_of, *, chunk: int = 500, **kwargs):
    """Every item of a keyset list, read page by page (for a CSV of the whole view): `page_of`
    is the list's page function, called with `cursor`, `per_page` and `count=False` besides
    `kwargs`, so each read walks the list's own index."""
    cursor = None
    while True:
        page = page_of(cursor=cursor, per_page=chunk, count=False, **kwargs)
        yield from page.items
        if page.next is None:
            return
        cursor = page.next
