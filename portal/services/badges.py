"""The top bar's badges (approvals waiting, unread notifications): versioned, so a tab polling
every minute costs one indexed row read between changes.

Every transaction that changes what a badge counts bumps its version (`BadgeVersion`) just before
it commits, in the same transaction, whatever service made the change: the session notes the
approval tasks, assignments, delegations, requisition statuses and notifications it flushes
(`after_flush`) and upserts their scopes once in `before_commit` (the last lock the transaction
takes, so it cannot close a deadlock cycle with the budget rows). A rolled-back transaction
bumps nothing. Bulk UPDATEs that bypass the unit of work call `changed()` themselves for the
badges.

The same bump versions an organisation's data as a whole (`DATA`): every row a transaction
writes notes the organisations that read it (`tenancy.organizations_written`: the owner, a
shared row's supplier, a child's parent's, an RFQ's suppliers, an organisation's linked ones),
and a bulk UPDATE or DELETE through the session notes the organisation it runs for (every one
when it runs for none: `EVERY`). The list caches (blueprints/cache.py) key their answers by it:
between two writes a list answers from memory.

The badge views answer `304 Not Modified` while the ETag (`etag()`: scope, user, version, day,
language) matches; otherwise they count, capped at `CAP` + 1 rows ("99+"). A poll that sends
the ETag back is answered from `poller()`: the user's session version, activity, organisation,
roles and language and the badge's version, in one statement, with no `User` loaded.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

from sqlalchemy import and_, bindparam, event, func, inspect, literal_column, select, text
from sqlalchemy.orm import Session

from portal.domain.roles import Role
from portal.extensions import db
from portal.models import (
    ApprovalAssignment,
    ApprovalTask,
    BadgeVersion,
    Delegation,
    Notification,
    Organization,
    Requisition,
    User,
    UserRole,
)
from portal.models.base import utcnow
from portal.models.org import OrgKind
from portal.services.paging import count_upto
from portal.tenancy import (
    ALL_TENANTS,
    MultiPartyDocument,
    SharedDocument,
    TenantChild,
    TenantOwned,
    current_scope,
    organizations_written,
)

APPROVALS = "approvals"
# Everything an organisation reads: any row it reads was written (see organizations_written).
DATA = "data"
# A badge shows "99+" beyond this; counting stops one row past it.
CAP = 99
_CHANGED = "badge_scopes_changed"
# Rows of these models change whose approvals wait on whom (any column; requisitions: status).
_APPROVAL_MODELS = (ApprovalAssignment, ApprovalTask, Delegation)


def notifications_scope(user_id: int) -> str:
    return f"notifications:{user_id}"


def changed(session: Session, organization_id: int, scope: str) -> None:
    """Note that `scope` of the organisation changes in the session's transaction."""
    session.info.setdefault(_CHANGED, set()).add((organization_id, scope))


def version(organization_id: int, scope: str) -> int:
    """The scope's current version (0 before its first change): one lookup of a unique index."""
    found = db.session.scalar(
        select(BadgeVersion.version)
        .where(BadgeVersion.organization_id == organization_id, BadgeVersion.scope == scope)
    )
    return found or 0


def data_version_column(org_id):
    """A labelled scalar subquery of the `DATA` version of organisation `org_id` (a column or a
    value; NULL before its first change), for the statement that loads who is asking (the
    session's user, an API token): the list caches need it on every request, and it costs no
    round trip of its own there. `remember_data_version` keeps what it read."""
    return (select(BadgeVersion.__table__.c.version)
            .where(BadgeVersion.__table__.c.organization_id == org_id,
                   BadgeVersion.__table__.c.scope == literal_column(f"'{DATA}'"))
            .scalar_subquery().label("data_version"))


_DATA_READ = "badge_data_version"


def remember_data_version(session: Session, organization_id: int, found: int | None) -> None:
    session.info[_DATA_READ] = (organization_id, found or 0)


def data_version(organization_id: int) -> int:
    """The organisation's `DATA` version as read with who is asking, at the start of the
    request (read now when it was not)."""
    read = db.session.info.get(_DATA_READ)
    if read is not None and read[0] == organization_id:
        return read[1]
    return version(organization_id, DATA)


def etag(user_id: int, scope: str, version: int, language: str = "") -> str:
    """What a badge of user `user_id` looks like now, as a strong ETag value: the scope's
    `version`, the day (a delegation starts or ends at midnight without a write) and what
    chooses the language (`language`, letters, digits, "_" and "." only)."""
    return f"{scope}-{user_id}-{version}-{utcnow().date()}-{language}"


class PollerOrganization(NamedTuple):
    id: int
    kind: OrgKind
    locale: str | None


@dataclass(frozen=True)
class Poller:
    """The user polling a badge, as far as a poll needs them: the session check (`session_version`,
    `is_active`), the badge's policy rule (organisation kind, roles), the language; and the
    badge's `version` in their organisation. Never an actor of a service."""

    id: int
    session_version: int
    is_active: bool
    locale: str | None
    organization: PollerOrganization
    roles: frozenset[Role]
    version: int
    is_authenticated: ClassVar[bool] = True

    @property
    def organization_id(self) -> int:
        return self.organization.id

    def has_role(self, *roles: Role) -> bool:
        return not self.roles.isdisjoint(roles)


@functools.cache
def _poller_statement():
    users, orgs, roles, versions = (model.__table__ for model in (User, Organization, UserRole, BadgeVersion))
    # The separator as SQL text: a bound separator would be rendered into the SQL on every run.
    role_list = (select(func.aggregate_strings(roles.c.role, literal_column("','")))
                 .where(roles.c.user_id == users.c.id).scalar_subquery())
    return (
        select(users.c.session_version, users.c.is_active, users.c.locale, users.c.organization_id,
               orgs.c.kind, orgs.c.locale, role_list, versions.c.version)
        .select_from(users.join(orgs, orgs.c.id == users.c.organization_id).outerjoin(
            versions, and_(versions.c.organization_id == users.c.organization_id,
                           versions.c.scope == bindparam("scope"))))
        .where(users.c.id == bindparam("user_id"))
        # Deliberate cross-tenant read, as the session's user loader: the organisation is not
        # known until the user is; the version is read in the user's own organisation only.
        .execution_options(**ALL_TENANTS)
    )


def poller(user_id: int, scope: str) -> Poller | None:
    """User `user_id` as a badge poll needs them, with `scope`'s version in their organisation
    (0 before its first change): one statement of primary-key and unique-index lookups.
    None when there is no such user. The caller checks the session version and the policy."""
    # A connection of its own, back in the pool at once: a poll is no unit of work, and the
    # session's transaction bookkeeping would cost a tenth of the poll.
    with db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            # One read needs no transaction: BEGIN and ROLLBACK would be two more round trips
            # (SQLite begins none for a read anyway).
            connection.execution_options(isolation_level="AUTOCOMMIT")
        row = connection.execute(_poller_statement(), {"user_id": user_id, "scope": scope}).first()
    if row is None:
        return None
    session_version, is_active, locale, org_id, kind, org_locale, role_list, found = row
    return Poller(
        id=user_id, session_version=session_version, is_active=bool(is_active), locale=locale,
        organization=PollerOrganization(org_id, OrgKind(kind), org_locale),
        roles=frozenset(Role(value) for value in (role_list or "").split(",") if value),
        version=found or 0,
    )


def capped(query) -> int:
    """How many rows `query` has, reading at most `CAP` + 1 (the template shows "99+")."""
    return count_upto(query, CAP)


def _written(session: Session, obj) -> set[int]:
    try:
        return organizations_written(session, obj)
    except Exception:  # noqa: BLE001 - a flush must not fail over a version: bump the writer's
        scope = current_scope(session)
        return {scope.org_id} if scope is not None else set()


def _scopes_of(session: Session) -> set[tuple[int, str]]:
    scopes = set()
    # Each of session.new/dirty/deleted builds a new set: taken once, not once per object.
    new, dirty, deleted = session.new, session.dirty, session.deleted
    for obj in (*new, *dirty, *deleted):
        if obj in new or obj in deleted or session.is_modified(obj, include_collections=False):
            scopes.update((org, DATA) for org in _written(session, obj))
        if isinstance(obj, _APPROVAL_MODELS):
            scopes.add((obj.organization_id, APPROVALS))
        elif isinstance(obj, Requisition):
            if obj in new or inspect(obj).attrs.status.history.has_changes():
                scopes.add((obj.organization_id, APPROVALS))
        elif isinstance(obj, Notification):
            scopes.add((obj.organization_id, notifications_scope(obj.user_id)))
    return {(org, scope) for org, scope in scopes if org is not None}


@event.listens_for(Session, "after_flush")
def _note(session: Session, _context) -> None:
    # Still the pre-flush state here: new, dirty and deleted name what this flush wrote.
    scopes = _scopes_of(session)
    if scopes:
        session.info.setdefault(_CHANGED, set()).update(scopes)


# A bulk UPDATE or DELETE of tenant rows with no organisation bound (a job, a command): it may
# change any organisation's data, so every organisation's `DATA` version moves.
EVERY = 0


@functools.cache
def _models_by_table() -> dict:
    return {mapper.local_table: mapper.class_ for mapper in db.Model.registry.mappers}


@event.listens_for(Session, "do_orm_execute")
def _note_bulk(state) -> None:
    """A bulk UPDATE or DELETE through the session changes rows no flush names: note the `DATA`
    of the organisation it runs for (rows of other organisations are out of its reach)."""
    if not (state.is_update or state.is_delete):
        return
    model = _models_by_table().get(getattr(state.statement, "table", None))
    if model is None or not issubclass(model, TenantOwned | SharedDocument | MultiPartyDocument | TenantChild):
        return
    scope = current_scope(state.session)
    org = scope.org_id if scope is not None and not state.session.info.get("tenant_system") else EVERY
    state.session.info.setdefault(_CHANGED, set()).add((org, DATA))


@event.listens_for(Session, "before_commit")
def _bump(session: Session) -> None:
    if session.in_nested_transaction():
        return
    session.flush()  # what the commit would flush is noted too
    scopes = session.info.pop(_CHANGED, None)
    if not scopes:
        return
    connection = session.connection()
    if (EVERY, DATA) in scopes:
        connection.execute(_bump_every(), {"scope": DATA})
        scopes = {(org, scope) for org, scope in scopes if scope != DATA}
        if not scopes:
            return
    # In a fixed order: two transactions bumping the same scopes take their locks alike.
    connection.execute(_upsert(), [{"org": org, "scope": scope} for org, scope in sorted(scopes)])


@functools.cache
def _bump_every():
    """Every organisation's `DATA` version bumped (`EVERY`). `WHERE true`: SQLite's parser needs
    it between a SELECT and ON CONFLICT."""
    return text(
        "INSERT INTO badge_versions (organization_id, scope, version) SELECT id, :scope, 1 "
        "FROM organizations WHERE true "
        "ON CONFLICT (organization_id, scope) DO UPDATE SET version = badge_versions.version + 1"
    )


@functools.cache
def _upsert():
    """The version bump of one (organisation, scope) pair, for the pairs the transaction's own
    rows named. The same SQL on SQLite and PostgreSQL, as text: the dialects'
    `on_conflict_do_update` constructs have no cache key, so SQLAlchemy would compile them
    again at every commit."""
    return text(
        "INSERT INTO badge_versions (organization_id, scope, version) VALUES (:org, :scope, 1) "
        "ON CONFLICT (organization_id, scope) DO UPDATE SET version = badge_versions.version + 1"
    )


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction) -> None:
    if transaction.parent is None and not transaction.nested:
        session.info.pop(_CHANGED, None)
