"""Read queries of the requisition pages. Each goes through the tenant-filtered session, so
another company's rows are simply not there (the views answer 404)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import Select, String, and_, bindparam, case, func, or_, select
from sqlalchemy.orm import joinedload, lazyload, load_only, selectinload

from portal.blueprints.edge import load_or_404, or_404
from portal.domain.requisition import RequisitionStatus
from portal.domain.roles import Role
from portal.extensions import db
from portal.models import (
    Attachment,
    AuditEvent,
    Category,
    Comment,
    CostCenter,
    Item,
    LinkStatus,
    Organization,
    Requisition,
    RequisitionLine,
    SupplierLink,
    User,
    UserRole,
)
from portal.services.paging import LIST_PER_PAGE, Key, KeysetPage, Order, Segment, keyset

S = RequisitionStatus
# The lifecycle order, so "sort by status" reads draft → pending → approved → … as people expect.
STATUS_ORDER = (S.DRAFT, S.PENDING, S.APPROVED, S.SOURCING, S.ORDERED, S.CLOSED, S.REJECTED,
                S.CANCELLED)


def _person(relationship):
    """A user shown beside a record (requester, author, actor): joined in for the name, without
    the user's own eager loads: their organisation is the viewer's (already in the session) and
    their roles are not shown (read on access if a page ever needs them), instead of a join and
    a roles query for every person on the page."""
    return joinedload(relationship).options(lazyload(User.organization), lazyload(User.role_rows))


def load_requisition(requisition_id: int, *, full: bool = False) -> Requisition:
    """The requisition with this id in the current organisation, or 404."""
    query = select(Requisition).where(Requisition.id == requisition_id)
    if full:
        query = query.options(
            _person(Requisition.requester),
            # The detail shows the cost centre's manager.
            joinedload(Requisition.cost_center).options(_person(CostCenter.manager)),
            joinedload(Requisition.category),
            joinedload(Requisition.policy_version),
            selectinload(Requisition.lines).joinedload(RequisitionLine.item),
            selectinload(Requisition.lines).joinedload(RequisitionLine.suggested_supplier),
        )
    return or_404(db.session.scalars(query).first())


def load_line(req: Requisition, line_id: int) -> RequisitionLine:
    """A line of `req`; a line of another requisition (or company) is a 404."""
    return load_or_404(RequisitionLine, line_id, requisition_id=req.id)


def load_attachment(req: Requisition, attachment_id: int) -> Attachment:
    return load_or_404(Attachment, attachment_id, joinedload(Attachment.uploaded_by),
                       requisition_id=req.id)


def attachments_of(req: Requisition) -> list[Attachment]:
    return list(db.session.scalars(
        select(Attachment).where(Attachment.requisition_id == req.id)
        .options(_person(Attachment.uploaded_by)).order_by(Attachment.id)
    ))


def comments_of(req: Requisition) -> list[Comment]:
    return list(db.session.scalars(
        select(Comment).where(Comment.requisition_id == req.id)
        .options(_person(Comment.author)).order_by(Comment.created_at, Comment.id)
    ))


def timeline_of(req: Requisition) -> list[AuditEvent]:
    """The requisition's audit events, oldest first, with who did them (and for whom)."""
    return list(db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.object_type == "Requisition", AuditEvent.object_id == req.id)
        .options(_person(AuditEvent.actor), _person(AuditEvent.on_behalf_of))
        .order_by(AuditEvent.created_at, AuditEvent.id)
    ).unique())


def last_return(req: Requisition) -> AuditEvent | None:
    """Why the draft came back from approval (the latest return), or None if it never did."""
    if not req.approval_round:
        return None
    return db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.object_type == "Requisition", AuditEvent.object_id == req.id,
               AuditEvent.action == "requisition.returned")
        .options(joinedload(AuditEvent.actor))
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    ).first()


def cost_centers(*, active_only: bool, keep_id: int | None = None) -> list[CostCenter]:
    """Cost centres for a picker; `keep_id` stays listed even when inactive (the current one)."""
    if not active_only:
        return list(db.session.scalars(_all_cost_centers()))
    query = select(CostCenter).order_by(CostCenter.code)
    if active_only:
        condition = CostCenter.is_active.is_(True)
        if keep_id is not None:
            condition = or_(condition, CostCenter.id == keep_id)
        query = query.where(condition)
    return list(db.session.scalars(query))


def categories(*, keep_id: int | None = None) -> list[Category]:
    condition = Category.is_active.is_(True)
    if keep_id is not None:
        condition = or_(condition, Category.id == keep_id)
    return list(db.session.scalars(select(Category).where(condition).order_by(Category.code)))


def find_cost_center(cost_center_id: int | None) -> CostCenter | None:
    if cost_center_id is None:
        return None
    return db.session.scalars(select(CostCenter).where(CostCenter.id == cost_center_id)).first()


def find_category(category_id: int | None) -> Category | None:
    if category_id is None:
        return None
    return db.session.scalars(select(Category).where(Category.id == category_id)).first()


def find_item(item_id: int | None) -> Item | None:
    if item_id is None:
        return None
    return db.session.scalars(select(Item).where(Item.id == item_id)).first()


def active_suppliers(org_id: int) -> list[Organization]:
    """Suppliers with an active link to the company: the ones a line may suggest."""
    return list(db.session.scalars(
        select(Organization)
        .join(SupplierLink, SupplierLink.supplier_id == Organization.id)
        .where(SupplierLink.organization_id == org_id, SupplierLink.status == LinkStatus.ACTIVE)
        .order_by(Organization.name)
    ))


def requesters(*, keep_id: int | None = None) -> list:
    """The company's people who may raise requisitions (the buyer role), for the list's
    requester filter: read from the users, not by scanning the requisitions. `keep_id` (the
    chosen requester) stays listed after losing the role. Rows of (id, full_name): a picker
    needs no User objects."""
    return list(db.session.execute(_requesters(), {"keep_id": keep_id}))


# Statements every list page runs, built once (building and keying one costs about as much as
# running it); the tenant filter is added per scope (portal/tenancy/filter.py).

@functools.cache
def _all_cost_centers():
    return select(CostCenter).order_by(CostCenter.code)


@functools.cache
def _requesters():
    buyers = User.id.in_(select(UserRole.user_id).where(UserRole.role == Role.BUYER))
    return (select(User.id, User.full_name).where(or_(buyers, User.id == bindparam("keep_id")))
            .order_by(User.full_name, User.id))


# ---------------------------------------------------------------- lists


@dataclass(frozen=True)
class ListFilters:
    """What the list shows; every value already validated by the filter form."""

    q: str = ""
    status: str = ""
    cost_center_id: int | None = None
    requester_id: int | None = None
    created_from: date | None = None
    created_to: date | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    sort: str = "created"
    direction: str = "desc"

    def args(self) -> dict:
        """The query-string form of the filters (for links, pagination and the export)."""
        values = {
            "q": self.q, "status": self.status, "cost_center": self.cost_center_id,
            "requester": self.requester_id,
            "created_from": self.created_from.isoformat() if self.created_from else None,
            "created_to": self.created_to.isoformat() if self.created_to else None,
            "amount_min": str(self.amount_min) if self.amount_min is not None else None,
            "amount_max": str(self.amount_max) if self.amount_max is not None else None,
        }
        if (self.sort, self.direction) != ("created", "desc"):
            values.update(sort=self.sort, dir=self.direction)
        return {k: v for k, v in values.items() if v not in (None, "")}

    @property
    def active(self) -> bool:
        """True when anything narrows the list (the empty state then says "no match")."""
        return any(k not in ("sort", "dir") for k in self.args())


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _day_start(day: date, tz: str) -> datetime:
    """Midnight of `day` where the users are, in UTC (created_at is stored in UTC)."""
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(tz)).astimezone(UTC)


R = Requisition
_NEWEST = (Key(R.created_at, descending=True), Key(R.id, descending=True))


def _orders() -> dict[tuple[str, str], Order]:
    """Every (sort, direction) of the list as a keyset order; each reads from an index
    `(organization_id, [filter column,] sort column, id)` (see the model's indexes)."""
    orders = {}
    for name, column in (("created", R.created_at), ("number", R.number),
                         ("amount", R.gross_total)):
        ascending = Order(name, Key(column), Key(R.id))
        orders[(name, "asc")], orders[(name, "desc")] = ascending, ascending.reversed()
    # Empty "needed by" dates come last both ways: a segment with a date, then one without.
    for direction in ("asc", "desc"):
        desc = direction == "desc"
        orders[("needed_by", direction)] = Order(f"needed_by-{direction}", segments=(
            Segment((Key(R.needed_by, desc), Key(R.id, desc)), R.needed_by.isnot(None)),
            Segment((Key(R.id, desc),), R.needed_by.is_(None)),
        ))
        # By status in lifecycle order (draft → pending → …), newest first within a status.
        statuses = reversed(STATUS_ORDER) if desc else STATUS_ORDER
        orders[("status", direction)] = Order(f"status-{direction}", segments=tuple(
            Segment(_NEWEST, R.status == status) for status in statuses))
    return orders


ORDERS = _orders()

# "REQ-2026-00042", "req-2026", "REQ-": a document number (or its start), found by prefix.
_NUMBER = re.compile(r"(?i)req-[0-9-]*")


def _search(by_number: bool):
    """A number (or its start) is a range on the (organization_id, number) index; other text is
    matched in the title, row by row within the page's walk (which stops after a page); on
    PostgreSQL a rare word is found by the title's trigram index instead (models.requisition).
    The values are the bound parameters `number_from`/`number_to` or `pattern` (`_values`)."""
    if by_number:
        return and_(R.number >= bindparam("number_from"), R.number < bindparam("number_to"))
    # lower() on both sides: PostgreSQL's LIKE is case-sensitive, SQLite's only for ASCII.
    return func.lower(R.title).like(bindparam("pattern", type_=String()), escape="\\")


def _shape(filters: ListFilters, requester_id: int | None) -> tuple:
    """Which conditions the list's statement has (their values are parameters, `_values`)."""
    text = filters.q.strip()
    return (
        requester_id is not None or filters.requester_id is not None,
        filters.status if filters.status in _STATUSES else None,
        filters.cost_center_id is not None,
        filters.created_from is not None,
        filters.created_to is not None,
        filters.sort == "amount",
        filters.amount_min is not None,
        filters.amount_max is not None,
        (bool(_NUMBER.fullmatch(text)) if text else None),
    )


_STATUSES = frozenset(s.value for s in RequisitionStatus)


def _values(filters: ListFilters, requester_id: int | None, tz: str) -> dict:
    """The values of the parameters of `_shaped(_shape(filters, requester_id))`."""
    values = {
        "requester": requester_id if requester_id is not None else filters.requester_id,
        "cost_center": filters.cost_center_id,
        "amount_min": filters.amount_min,
        "amount_max": filters.amount_max,
    }
    if filters.created_from is not None:
        values["created_from"] = _day_start(filters.created_from, tz)
    if filters.created_to is not None:
        values["created_to"] = _day_start(filters.created_to + timedelta(days=1), tz)
    text = filters.q.strip()
    if text and _NUMBER.fullmatch(text):
        values["number_from"] = text.upper()
        values["number_to"] = text.upper() + "\uffff"
    elif text:
        values["pattern"] = f"%{_escape_like(text.lower())}%"
    return {k: v for k, v in values.items() if v is not None}


@functools.lru_cache(maxsize=256)
def _shaped(shape: tuple) -> Select:
    """The list's statement without order for one `_shape`, built once, its values bound
    parameters."""
    (requester, status, cost_center, created_from, created_to, by_amount, amount_min,
     amount_max, search) = shape
    query = select(Requisition)
    if requester:
        query = query.where(Requisition.requester_id == bindparam("requester"))
    if status is not None:
        query = query.where(Requisition.status == RequisitionStatus(status))
    if cost_center:
        query = query.where(Requisition.cost_center_id == bindparam("cost_center"))
    if created_from:
        query = query.where(Requisition.created_at >= bindparam("created_from"))
    if created_to:
        query = query.where(Requisition.created_at < bindparam("created_to"))
    # An amount range is read from the amount index only when the list is sorted by amount;
    # otherwise it is checked row by row along the sort's index (`+ 0` keeps the planner off
    # the amount index, which would mean sorting every row in range before the first page).
    gross = Requisition.gross_total if by_amount else Requisition.gross_total + 0
    if amount_min:
        query = query.where(gross >= bindparam("amount_min", type_=Requisition.gross_total.type))
    if amount_max:
        query = query.where(gross <= bindparam("amount_max", type_=Requisition.gross_total.type))
    if search is not None:
        query = query.where(_search(search))
    return query


def filtered(filters: ListFilters, *, requester_id: int | None, tz: str) -> Select:
    """The list's statement without order: `requester_id` limits it to one person's
    requisitions ("my requisitions"); None means the whole company."""
    return _shaped(_shape(filters, requester_id)).params(_values(filters, requester_id, tz))


def order_of(filters: ListFilters) -> Order:
    """The keyset order of the list. A search by number in the default order ("newest first")
    lists by number, which numbers give out in time order: the prefix range is then read in
    order from the number index, not gathered and sorted."""
    if filters.sort == "created" and _NUMBER.fullmatch(filters.q.strip()):
        return ORDERS[("number", filters.direction)]
    return ORDERS[(filters.sort, filters.direction)]


_LISTED = (Requisition.number, Requisition.title, Requisition.status, Requisition.needed_by,
           Requisition.currency, Requisition.gross_total, Requisition.created_at,
           Requisition.requester_id, Requisition.cost_center_id)


def list_page(filters: ListFilters, *, requester_id: int | None, tz: str,
              cursor: str | None) -> KeysetPage:
    """A page of the list with requester and cost centre joined in: one query per page (per
    segment it reaches), one bounded count, whatever the number of rows or the page's depth."""
    shape = _shape(filters, requester_id)
    return keyset(_listed(shape), order_of(filters), cursor=cursor, per_page=LIST_PER_PAGE,
                  params=_values(filters, requester_id, tz))


@functools.lru_cache(maxsize=256)
def _listed(shape: tuple) -> Select:
    """`_shaped(shape)` with what the list loads, built once per shape (with the statements
    `keyset` derives from it)."""
    return _shaped(shape).options(
        # Only the columns a list shows (the justification and the totals it does not show stay
        # in the database).
        load_only(*_LISTED),
        # Not the requester's organisation (a user's default joined load): it is the viewer's,
        # already in the session, and the nested join would make SQLite materialise all users.
        _person(Requisition.requester).load_only(User.full_name),
        joinedload(Requisition.cost_center).load_only(CostCenter.code, CostCenter.name),
    )


def _ordered(query: Select, order: Order) -> Select:
    """`query` in `order` as one statement (the export: segments as a CASE, no keyset)."""
    columns = []
    if len(order.segments) > 1:
        columns.append(case(*[(s.where, i) for i, s in enumerate(order.segments)]))
    keys = max((s.keys for s in order.segments), key=len)
    columns.extend(k.column.desc() if k.descending else k.column.asc() for k in keys)
    return query.order_by(*columns)


def export_rows(filters: ListFilters, *, requester_id: int | None, tz: str):
    """The filtered list, in the list's order, as plain rows for the CSV export (streamed)."""
    query = (
        _ordered(filtered(filters, requester_id=requester_id, tz=tz), order_of(filters))
        .with_only_columns(
            Requisition.number, Requisition.title, User.full_name, CostCenter.code,
            CostCenter.name, Category.code, Requisition.status, Requisition.needed_by,
            Requisition.currency, Requisition.net_total, Requisition.vat_total,
            Requisition.gross_total, Requisition.created_at, Requisition.submitted_at,
            Requisition.decided_at,
            maintain_column_froms=False,
        )
        .join_from(Requisition, User, User.id == Requisition.requester_id)
        .join_from(Requisition, CostCenter, CostCenter.id == Requisition.cost_center_id)
        .outerjoin_from(Requisition, Category, Category.id == Requisition.category_id)
    )
    return db.session.execute(query.execution_options(yield_per=500))
