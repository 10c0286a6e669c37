"""Lists, one page at a time: the keyset (cursor) pattern every list uses, and the older
page-number `paginate` for the few lists not moved yet.

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
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from math import ceil

from sqlalchemy import and_, func, or_, select

from portal.extensions import db

DEFAULT_PER_PAGE = 20
LIST_PER_PAGE = 50
COUNT_CAP = 1000
MAX_CURSOR = 600


# ---------------------------------------------------------------- keyset paging


class BadCursor(ValueError):
    """A `?cursor=` that is not one this list gave out (edited, truncated, another order)."""


@dataclass(frozen=True)
class Key:
    """One sort key: a mapped column (an attribute of the listed entity) and its direction."""

    column: object
    descending: bool = False

    @property
    def name(self) -> str:
        return self.column.key

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
            Segment(tuple(Key(k.column, not k.descending) for k in s.keys), s.where)
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


def _walk(query, order: Order, start: int, values: list | None, backward: bool, limit: int):
    """Up to `limit` rows as (segment, row) from segment `start` on (back to the first one when
    `backward`), after/before `values` in the first segment read."""
    found: list = []
    indexes = range(start, -1, -1) if backward else range(start, len(order.segments))
    for i in indexes:
        segment = order.segments[i]
        part = query if segment.where is None else query.where(segment.where)
        if values is not None and i == start:
            part = part.where(_beyond(segment.keys, values, backward))
        rows = db.session.execute(
            _sorted(part, segment.keys, backward).limit(limit - len(found))
        ).unique().scalars()
        found.extend((i, row) for row in rows)
        if len(found) >= limit:
            break
    return found


def _cursor_of(order: Order, segment: int, row, backward: bool) -> str:
    keys = order.segments[segment].keys
    return encode_cursor(order, segment, [getattr(row, k.name) for k in keys], backward)


def count_upto(query, cap: int = COUNT_CAP, *, column=None) -> int:
    """How many rows `query` has, counting no further than cap + 1. With `column` (the id) the
    walk reads only that column, so an index without the table's rows can answer."""
    query = query.order_by(None)
    if column is not None:
        query = query.with_only_columns(column, maintain_column_froms=True)
    walk = query.limit(cap + 1).subquery()
    return db.session.scalar(select(func.count()).select_from(walk)) or 0


def keyset(query, order: Order, *, cursor: str | None = None, per_page: int = LIST_PER_PAGE,
           count: bool = True, count_cap: int = COUNT_CAP) -> KeysetPage:
    """One page of `query` (a select of one entity, with its filters and loader options) in
    `order`: the first page, or the one after/before the row `cursor` names.

    One query per segment the page reaches, plus one bounded count (`count=False` skips it; the
    first page of a list shorter than a page needs none). Raises BadCursor for a cursor this
    order did not give out.
    """
    if cursor:
        start, values, backward = decode_cursor(order, cursor)
    else:
        start, values, backward = 0, None, False
    found = _walk(query, order, start, values, backward, per_page + 1)
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
        total = count_upto(query, count_cap, column=order.segments[0].keys[-1].column)
        more = total > count_cap
    return KeysetPage(items=items, next=nxt, prev=prev, total=min(total, count_cap) if more else total,
                      more=more, per_page=per_page)


# ---------------------------------------------------------------- page numbers (older lists)


@dataclass(frozen=True)
class Page:
    """Rows of one page and where it sits in the whole list."""

    items: list = field(default_factory=list)
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    total: int = 0

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / self.per_page)) if self.total else 0

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int | None:
        return self.page - 1 if self.has_prev else None

    @property
    def next_num(self) -> int | None:
        return self.page + 1 if self.has_next else None

    def __iter__(self):
        return iter(self.items)


def paginate(query, *, page: int | None, per_page: int | None, max_per_page: int | None = None) -> Page:
    """Run `query` (a `select` of entities) for one page; a page number past the end gives an
    empty page, a page below 1 the first (like a hand-edited `?page=` expects).

    A full COUNT and an OFFSET: cheap only for short lists; new lists use `keyset`."""
    page = max(int(page or 1), 1)
    per_page = max(int(per_page or DEFAULT_PER_PAGE), 1)
    if max_per_page is not None:
        per_page = min(per_page, max_per_page)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    items = list(db.session.execute(query.limit(per_page).offset((page - 1) * per_page)).unique().scalars())
    return Page(items=items, page=page, per_page=per_page, total=total or 0)
