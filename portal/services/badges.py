"""The top bar's badges (approvals waiting, unread notifications): versioned, so a tab polling
every minute costs one indexed row read between changes.

Every transaction that changes what a badge counts bumps its version (`BadgeVersion`) just before
it commits, in the same transaction, whatever service made the change: the session notes the
approval tasks, assignments, delegations, requisition statuses and notifications it flushes
(`after_flush`) and upserts their scopes once in `before_commit` (the last lock the transaction
takes, so it cannot close a deadlock cycle with the budget rows). A rolled-back transaction
bumps nothing. Bulk UPDATEs that bypass the unit of work call `changed()` themselves.

The badge views answer `304 Not Modified` while the ETag (`etag()`: scope, user, version, day,
language) matches; otherwise they count, capped at `CAP` + 1 rows ("99+").
"""

from __future__ import annotations

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.models import (
    ApprovalAssignment,
    ApprovalTask,
    BadgeVersion,
    Delegation,
    Notification,
    Requisition,
)
from portal.models.base import utcnow
from portal.services.paging import count_upto

APPROVALS = "approvals"
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


def etag(user, scope: str, locale: str = "") -> str:
    """What a badge of `user` looks like now, as a strong ETag value: the scope's version, the
    day (a delegation starts or ends at midnight without a write) and the language."""
    return f"{scope}-{user.id}-{version(user.organization_id, scope)}-{utcnow().date()}-{locale}"


def capped(query) -> int:
    """How many rows `query` has, reading at most `CAP` + 1 (the template shows "99+")."""
    return count_upto(query, CAP)


def _scopes_of(session: Session) -> set[tuple[int, str]]:
    scopes = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, _APPROVAL_MODELS):
            scopes.add((obj.organization_id, APPROVALS))
        elif isinstance(obj, Requisition):
            if obj in session.new or inspect(obj).attrs.status.history.has_changes():
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


@event.listens_for(Session, "before_commit")
def _bump(session: Session) -> None:
    if session.in_nested_transaction():
        return
    session.flush()  # what the commit would flush is noted too
    scopes = session.info.pop(_CHANGED, None)
    if not scopes:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    table = BadgeVersion.__table__
    statement = insert(table).values(
        [{"organization_id": org, "scope": scope, "version": 1} for org, scope in sorted(scopes)])
    connection.execute(statement.on_conflict_do_update(
        index_elements=[table.c.organization_id, table.c.scope],
        set_={"version": table.c.version + 1},
    ))


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction) -> None:
    if transaction.parent is None and not transaction.nested:
        session.info.pop(_CHANGED, None)
