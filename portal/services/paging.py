"""One page of a list: a plain result object, so services page without Flask-SQLAlchemy.

`Page` has the attributes the pagination macro reads (`page`, `pages`, `has_prev`, ...); it is
built by `paginate(select, page=, per_page=)` with one count query and one page query.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import ceil

from sqlalchemy import func, select

from portal.extensions import db

DEFAULT_PER_PAGE = 20


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
    empty page, a page below 1 the first (like a hand-edited `?page=` expects)."""
    page = max(int(page or 1), 1)
    per_page = max(int(per_page or DEFAULT_PER_PAGE), 1)
    if max_per_page is not None:
        per_page = min(per_page, max_per_page)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    items = list(db.session.execute(query.limit(per_page).offset((page - 1) * per_page)).unique().scalars())
    return Page(items=items, page=page, per_page=per_page, total=total or 0)
