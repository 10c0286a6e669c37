"""Row locks: a state change re-reads, under the lock, the state it expects.

Two identical requests (a double click, a re-sent form, ten approvals fired at once) each load
a requisition, see it open and act: without a lock both record a decision, route it, notify.
A use case that changes a requisition's state first calls `lock_requisition(req)`: it waits for
any other transaction holding the row, then reads the row, its approval tasks and their
assignments again, so the checks that follow (policy, transition table) see what was committed
meanwhile and the second request is refused with the usual message.

PostgreSQL takes the row lock with `SELECT … FOR UPDATE`. SQLite ignores FOR UPDATE; there a
no-op `UPDATE` of the row takes the database's write lock (held to the end of the
transaction, others wait for it), like the counter update of `portal.services.numbering`.
"""

from __future__ import annotations

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session, selectinload

from portal.extensions import db
from portal.models import ApprovalTask, Requisition


def lock_row(obj) -> None:
    """Hold `obj`'s row until the transaction ends (pending changes are flushed first)."""
    db.session.flush()
    table = type(obj).__table__
    if db.session.get_bind().dialect.name == "sqlite":
        # Every column with an `onupdate` (updated_at) is set to itself: taking the lock is not
        # a change of the row.
        unchanged = {column.name: column for column in table.c if column.onupdate is not None}
        db.session.execute(update(table).where(table.c.id == obj.id).values(id=table.c.id, **unchanged))
    else:
        db.session.execute(select(table.c.id).where(table.c.id == obj.id).with_for_update())


_HELD = "row_locks_held"


@event.listens_for(Session, "after_transaction_end")
def _forget_locks(session: Session, transaction) -> None:
    # Any end (commit, rollback, a savepoint's too: PostgreSQL's ROLLBACK TO SAVEPOINT releases
    # the locks taken after it) forgets them; the next use case locks and reads again. A flush's
    # own subtransaction ends too: that is no end of the database transaction.
    if transaction.parent is None or transaction.nested:
        session.info.pop(_HELD, None)


def created(req: Requisition) -> None:
    """`req` was inserted by this transaction: nobody else sees the row before the commit, so
    it is as good as locked, and what the session holds is what the database holds."""
    db.session.info.setdefault(_HELD, set()).add(req.id)


def lock_requisition(req: Requisition) -> Requisition:
    """Lock `req` and read it, its tasks and their assignments again as committed.

    Call it before checking the state a change expects; the objects already loaded (the view's
    task, `req.lines`) are the same objects, refreshed in place. Once this transaction holds
    the lock nobody else changes the row: a second call (three lines added in one action) has
    nothing new to read and costs nothing.
    """
    held = db.session.info.setdefault(_HELD, set())
    if req.id in held:
        return req
    lock_row(req)
    held.add(req.id)
    db.session.refresh(req)
    db.session.scalars(
        select(ApprovalTask).where(ApprovalTask.requisition_id == req.id)
        .options(selectinload(ApprovalTask.assignments))
        .execution_options(populate_existing=True)
    ).all()
    return req
