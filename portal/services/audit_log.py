"""The company's audit log: its own events, newest first, filtered by object type, actor and
date range, paged by key (no count of the whole log), each object named.

Paging by key: a page ends at an event; the next page is "older than that event", read in
order from the index (organization_id, created_at, id) or the one for the chosen object type
or actor, however long the log grows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import joinedload, lazyload

from portal.domain.messages import N_, Msg
from portal.errors import ValidationProblem
from portal.extensions import db
from portal.models import (
    AuditEvent,
    Category,
    Delegation,
    Invitation,
    Organization,
    SupplierLink,
    User,
)
from portal.services.paging import Key, Order, count_upto, keyset
from portal.tenancy import SharedDocument, TenantOwned


@dataclass(frozen=True)
class AuditFilter:
    """What the admin narrowed the log to (None: any)."""

    object_type: str | None = None
    actor_id: int | None = None
    date_from: date | None = None  # first day, inclusive (UTC)
    date_to: date | None = None  # last day, inclusive (UTC)


@dataclass(frozen=True)
class LogPage:
    """One page of events and the cursors to the neighbouring pages (event ids)."""

    events: list[AuditEvent]
    older: int | None = None  # ?before=<id> reads the next, older page
    newer: int | None = None  # ?after=<id> reads the previous, newer page


def _person(relationship):
    # A name to show: not the roles a user row would otherwise load (a statement each).
    return joinedload(relationship).lazyload(User.role_rows)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _filtered(org: Organization, filters: AuditFilter, *, people: bool = True) -> Select:
    query = select(AuditEvent).where(AuditEvent.organization_id == org.id)
    if filters.object_type:
        query = query.where(AuditEvent.object_type == filters.object_type)
    if filters.actor_id:
        query = query.where(AuditEvent.actor_id == filters.actor_id)
    if filters.date_from:
        query = query.where(AuditEvent.created_at >= _day_start(filters.date_from))
    if filters.date_to:
        query = query.where(AuditEvent.created_at < _day_start(filters.date_to + timedelta(days=1)))
    if not people:
        return query
    return query.options(_person(AuditEvent.actor), _person(AuditEvent.on_behalf_of))


def _cursor(org: Organization, event_id: int | None):
    if event_id is None:
        return None
    return db.session.execute(
        select(AuditEvent.created_at, AuditEvent.id)
        .where(AuditEvent.organization_id == org.id, AuditEvent.id == event_id)
    ).first()


class UnknownCursor(LookupError):
    """The page cursor names no event of this organisation (answer 404)."""


def audit_log(org: Organization, filters: AuditFilter, *, before: int | None = None,
              after: int | None = None, per_page: int = 25) -> LogPage:
    """A page of the organisation's own events (not those a partner shares with it), newest
    first: the newest ones, those older than event `before`, or those newer than `after`.
    Raises UnknownCursor when the cursor is not an event of the organisation."""
    query = _filtered(org, filters)
    cursor = _cursor(org, before if before is not None else after)
    if (before is not None or after is not None) and cursor is None:
        raise UnknownCursor(before or after)
    newest_first = (AuditEvent.created_at.desc(), AuditEvent.id.desc())
    if after is not None:
        at, event_id = cursor
        query = query.where(or_(AuditEvent.created_at > at,
                                and_(AuditEvent.created_at == at, AuditEvent.id > event_id)))
        rows = list(db.session.scalars(
            query.order_by(AuditEvent.created_at, AuditEvent.id).limit(per_page + 1)))
        more_newer = len(rows) > per_page
        events = list(reversed(rows[:per_page]))
        return LogPage(events=events, older=events[-1].id if events else None,
                       newer=events[0].id if events and more_newer else None)
    if before is not None:
        at, event_id = cursor
        query = query.where(or_(AuditEvent.created_at < at,
                                and_(AuditEvent.created_at == at, AuditEvent.id < event_id)))
    rows = list(db.session.scalars(query.order_by(*newest_first).limit(per_page + 1)))
    events = rows[:per_page]
    return LogPage(events=events, older=events[-1].id if len(rows) > per_page else None,
                   newer=events[0].id if events and before is not None else None)


NEWEST_FIRST = Order("audit", Key(AuditEvent.created_at, descending=True), Key(AuditEvent.id, descending=True))


# The most events one CSV export writes: about 15 seconds of writing, well inside a web worker's
# time limit (a download of millions takes minutes and would be cut off half written).
EXPORT_LIMIT = 100_000


def check_export_size(org: Organization, filters: AuditFilter) -> None:
    """Refuse (ValidationProblem) an export of more than EXPORT_LIMIT events, before a byte is
    sent: the reader exports a long log period by period. Counts by the filter's index no
    further than the limit."""
    limit = EXPORT_LIMIT
    if count_upto(_filtered(org, filters, people=False), limit, column=AuditEvent.id) > limit:
        raise ValidationProblem(Msg(N_(
            "More than %(num)s events match: choose a shorter period (From, To) or another filter "
            "and export the log in parts."), {"num": limit}))


def every_event(org: Organization, filters: AuditFilter, *, chunk: int = 500) -> Iterator[list[AuditEvent]]:
    """Every event of the organisation's log that `filters` keep, newest first, `chunk` events
    at a time (the CSV export of a log of millions): each chunk is read by key from the index of
    the filter, starting where the last one ended (`paging.keyset`), so each costs the same.

    The events come without their people (a join per event and person would cost most of the
    read): name them by `actor_id` and `on_behalf_of_id` from `actors(org)`, the organisation's
    own people, as the page shows them (anyone else is not named)."""
    query = _filtered(org, filters, people=False)
    cursor = None
    while True:
        page = keyset(query, NEWEST_FIRST, cursor=cursor, per_page=chunk, count=False)
        if page.items:
            yield page.items
        if page.next is None:
            return
        cursor = page.next


def actors(org: Organization) -> list[User]:
    """The organisation's people, deactivated ones too (their events stay), for the filter."""
    return list(db.session.scalars(
        select(User).where(User.organization_id == org.id).order_by(User.full_name, User.id)
        .options(lazyload(User.role_rows))))


# The column that names an audited object, best first (REQ-2026-00042 before its title).
_NAME_COLUMNS = ("number", "name", "full_name", "title", "email", "code")


def _tenant_model(type_name: str):
    for mapper in db.Model.registry.mappers:
        cls = mapper.class_
        if cls.__name__ == type_name and issubclass(cls, TenantOwned | SharedDocument):
            return cls
    return None


def _names_of(type_name: str, ids: set[int], org: Organization) -> dict[int, str]:
    if type_name == "Organization":
        return {org.id: org.name} if org.id in ids else {}
    if type_name == "Invitation":
        rows = db.session.execute(
            select(Invitation.id, Invitation.email, Invitation.company_name)
            .where(Invitation.id.in_(ids))
        )
        return {inv_id: company or email for inv_id, email, company in rows}
    if type_name == "SupplierLink":
        links = db.session.scalars(
            select(SupplierLink)
            .where(SupplierLink.id.in_(ids))
            .options(joinedload(SupplierLink.buyer), joinedload(SupplierLink.supplier))
        )
        return {
            link.id: (link.supplier if link.organization_id == org.id else link.buyer).name
            for link in links
        }
    if type_name == "Delegation":
        rows = db.session.scalars(
            select(Delegation).where(Delegation.id.in_(ids))
            .options(_person(Delegation.user), _person(Delegation.delegate))
        )
        return {d.id: f"{d.user.full_name} → {d.delegate.full_name}" for d in rows}
    # Only tenant models: their reads go through the tenant filter.
    model = _tenant_model(type_name)
    columns = model.__mapper__.columns if model is not None else {}
    name_column = next((c for c in _NAME_COLUMNS if c in columns), None)
    if name_column is None:
        return {}
    rows = db.session.execute(
        select(model.id, getattr(model, name_column)).where(model.id.in_(ids))
    )
    return {obj_id: str(name) for obj_id, name in rows if name}


def object_names(events, org: Organization) -> dict[tuple[str, int], str]:
    """A readable name for the object of each event, one query per object type on the page.

    Users by name, invitations by email (or company), the organisation and supplier links by
    company name, delegations by who to whom, other documents by their number or name. Objects
    the current organisation cannot see (or that are gone) are left out; the approval policy
    has no name of its own (the page names it).
    """
    ids: dict[str, set[int]] = {}
    for event in events:
        ids.setdefault(event.object_type, set()).add(event.object_id)
    names: dict[tuple[str, int], str] = {}
    for type_name, type_ids in ids.items():
        for obj_id, name in _names_of(type_name, type_ids, org).items():
            names[(type_name, obj_id)] = name
    return names


# Changed fields that hold an id, and the name column of what they point to.
_REFERENCES = {
    "manager_id": (User, User.full_name),
    "category_id": (Category, Category.name),
    "preferred_supplier_id": (Organization, Organization.name),
}


def reference_names(changes) -> dict[tuple[str, str], str]:
    """Names for the ids among changed values (a cost centre's manager, an item's category or
    preferred supplier): `{(field, str(id)): name}`, one query per kind of reference.

    `changes` is an iterable of (field, before, after)."""
    wanted: dict[str, set[int]] = {}
    for field, before, after in changes:
        if field in _REFERENCES:
            for value in (before, after):
                if value is not None and str(value).isdigit():
                    wanted.setdefault(field, set()).add(int(value))
    names = {}
    for field, ids in wanted.items():
        model, column = _REFERENCES[field]
        for obj_id, name in db.session.execute(select(model.id, column).where(model.id.in_(ids))):
            names[(field, str(obj_id))] = name
    return names
