"""Background work at the edge: the outbox delivery, periodic jobs and the runner.

`init_app(app)` hooks delivery onto commits: the ids of outbox rows a session inserted are
handed to the runner (portal/jobs/runner.py) after that session commits, and forgotten when it
rolls back. The sweep (`outbox-sweep`, every minute) delivers whatever a dead process left.
"""

from __future__ import annotations

from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session, object_session

from portal.jobs.runner import JOBS, run_job, runner_for, set_runner
from portal.models.outbox import OutboxMessage

__all__ = ["JOBS", "init_app", "run_job", "runner_for", "set_runner"]

_PENDING = "outbox_pending_ids"


@event.listens_for(OutboxMessage, "after_insert")
def _remember(mapper, connection, target) -> None:
    session = object_session(target)
    if session is not None:
        session.info.setdefault(_PENDING, []).append(target.id)


@event.listens_for(Session, "after_commit")
def _deliver_committed(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint was released: the rows are committed with the outer transaction
    ids = session.info.pop(_PENDING, None)
    if ids and has_app_context() and current_app.extensions.get("portal_jobs_enabled"):
        runner = runner_for()
        for outbox_id in ids:
            runner.enqueue("deliver-outbox", outbox_id)


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction) -> None:
    # Runs after after_commit: whatever is left belongs to a transaction that rolled back (or
    # was closed). A rolled-back savepoint keeps the outer transaction's ids: delivering an id
    # whose row vanished does nothing.
    if transaction.parent is None and not transaction.nested:
        session.info.pop(_PENDING, None)


def init_app(app: Flask) -> None:
    app.extensions["portal_jobs_enabled"] = True
