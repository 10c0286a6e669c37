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

import functools

from sqlalchemy import bindparam, event, select, update
from sqlalchemy.orm import Session, joinedload

from portal.extensions import db
from portal.models import ApprovalTask, Requisition, User


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
    it is as good as locked, and what the session holds is what the database holds (no tasks)."""
    db.session.info.setdefault(_HELD, {})[req.id] = [req, []]


@functools.cache
def _lock_statements(sqlite: bool, contents: bool) -> tuple:
    """(the lock, the read) of `_lock_and_read`, built once: the lock is None where the read
    takes it (PostgreSQL's FOR UPDATE), the read None where the lock returns the row."""
    by_id = Requisition.id == bindparam("requisition_id")
    table = Requisition.__table__
    # Every column with an `onupdate` (updated_at) is set to itself: not a change of the row.
    unchanged = {column.key: column for column in table.c if column.onupdate is not None}
    lock = (update(Requisition).where(by_id).values(id=table.c.id, **unchanged)
            .execution_options(synchronize_session=False)) if sqlite else None
    if not contents:
        if sqlite:
            return None, lock.returning(Requisition).execution_options(populate_existing=True)
        # The requester with it (without roles): whoever decides tells them, and the join is
        # free beside the lock's round trip (SQLite's UPDATE … RETURNING cannot join).
        return None, (select(Requisition).where(by_id)
                      .options(joinedload(Requisition.requester).lazyload(User.role_rows))
                      .with_for_update(of=Requisition).execution_options(populate_existing=True))
    read = (select(Requisition).where(by_id)
            .options(joinedload(Requisition.lines), joinedload(Requisition.cost_center))
            .execution_options(populate_existing=True))
    return lock, (read if sqlite else read.with_for_update(of=Requisition))


def _lock_and_read(requisition_id: int, *, contents: bool = False) -> Requisition | None:
    """Take the row lock and read the row in one statement, replacing what the session held:
    PostgreSQL's `SELECT … FOR UPDATE`; on SQLite `lock_row`'s no-op UPDATE with `RETURNING`.
    `contents`: the lines and the cost centre too, joined to the row's read (on SQLite a
    no-op UPDATE and then one SELECT: two statements instead of three)."""
    lock, read = _lock_statements(db.session.get_bind().dialect.name == "sqlite", contents)
    params = {"requisition_id": requisition_id}
    if lock is not None:
        db.session.execute(lock, params)
    found = db.session.scalars(read, params)
    return (found.unique() if contents else found).first()


def lock_requisition_id(requisition_id: int, *, tasks: bool = True,
                        contents: bool = False) -> Requisition | None:
    """Lock the requisition and read it (and with `tasks` its approval tasks of every round
    with their assignments) again as committed; None when the scope cannot see it.

    Call it before checking the state a change expects; the objects already loaded (the view's
    task) are the same objects, refreshed in place. Once this transaction holds the lock
    nobody else changes the row: a second call (three lines added in one action) has nothing
    new to read and costs nothing. The tasks read stay in memory until the transaction ends
    (`locked_tasks`), so the steps that follow read them without a query. `contents`: read
    the lines and the cost centre with the row (a submit routes by them).
    """
    held = db.session.info.setdefault(_HELD, {})
    entry = held.get(requisition_id)
    if entry is None:
        req = _lock_and_read(requisition_id, contents=contents)
        if req is None:
            return None
        entry = held[requisition_id] = [req, None]
    if tasks and entry[1] is None:
        entry[1] = list(db.session.scalars(
            select(ApprovalTask).where(ApprovalTask.requisition_id == requisition_id)
            .options(joinedload(ApprovalTask.assignments))
            .execution_options(populate_existing=True)
        ).unique())
    return entry[0]


def lock_requisition(req: Requisition, *, tasks: bool = True, contents: bool = False) -> Requisition:
    """`lock_requisition_id` of a loaded requisition (refreshed in place). `tasks=False`: a
    change that does not look at the approval tasks (a draft's edits, a submit)."""
    if lock_requisition_id(req.id, tasks=tasks, contents=contents) is None:
        db.session.refresh(req)  # gone (or another organisation's): raises as a refresh does
    return req


def locked_tasks(req: Requisition) -> list[ApprovalTask] | None:
    """The requisition's approval tasks (every round, by round and position) as read under
    this transaction's lock, with those it added since (`note_task`); None when this
    transaction has not read them under the lock."""
    entry = db.session.info.get(_HELD, {}).get(req.id)
    if entry is None or entry[1] is None:
        return None
    return sorted(entry[1], key=lambda task: (task.round, task.position))


def note_task(task: ApprovalTask) -> None:
    """A task this transaction adds to a requisition it holds: `locked_tasks` includes it."""
    entry = db.session.info.get(_HELD, {}).get(task.requisition_id)
    if entry is not None and entry[1] is not None:
        entry[1].append(task)
