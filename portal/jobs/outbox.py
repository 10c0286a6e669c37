"""Delivering the outbox: claim a row, render and send it, record the outcome.

Each delivery claims its row with one guarded UPDATE (pending and due, or a claim whose lease
ran out because its worker died) before sending, so two workers never send the same row. A
failure is recorded (attempts, last_error) and retried with exponential backoff; after
OUTBOX_MAX_ATTEMPTS the row is marked failed for an operator (`flask jobs outbox`).

Deliveries use their own database session: they run right after another session's commit (in
that session's after_commit hook) as well as in workers.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.jobs import mail as mailer
from portal.jobs import webhooks
from portal.jobs.rendering import notification_email
from portal.models import User
from portal.models.base import utcnow
from portal.models.outbox import OutboxMessage, OutboxStatus
from portal.services.notifications import EMAIL_KIND
from portal.tenancy import ALL_TENANTS

log = logging.getLogger("portal.jobs.outbox")

S = OutboxStatus
# A claimed row whose worker has not reported back after this long is claimed again. Far
# longer than one SMTP exchange (10 s timeout), so a slow send is never sent twice.
LEASE = timedelta(minutes=10)
SWEEP_BATCH = 500


class Undeliverable(Exception):
    """The message can never be delivered (its recipient is gone): no retry."""


def _own_session(**options) -> Session:
    """A session of the delivery's own, apart from the (possibly mid-commit) request's one.

    Unbound: the outbox is not tenant-owned, and the one tenant row read (the recipient) is
    read deliberately across organisations.
    """
    return Session(db.engine, **options)


def _claimable(now: datetime):
    return or_(
        and_(OutboxMessage.status == S.PENDING, OutboxMessage.next_attempt_at <= now),
        and_(OutboxMessage.status == S.SENDING, OutboxMessage.claimed_at < now - LEASE),
    )


def backoff(attempts: int, base_seconds: int) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt: base, 2×base, 4×base, …"""
    return timedelta(seconds=base_seconds * 2 ** max(attempts - 1, 0))


def _email_of(session: Session, row: OutboxMessage):
    config = current_app.config
    payload = row.payload or {}
    if row.kind == EMAIL_KIND:
        # Deliberate cross-tenant read: the recipient named by a row our own code wrote.
        user = session.scalars(
            select(User).where(User.id == payload.get("user_id")).execution_options(**ALL_TENANTS)
        ).first()
        if user is None or not user.is_active:
            raise Undeliverable("the recipient is gone or deactivated")
        subject, body = notification_email(payload, user)
        return mailer.build_email(config, user.email, subject, body, key=row.idempotency_key)
    if row.kind == "mail":
        return mailer.build_email(config, payload["to"], payload["subject"], payload["body"],
                                  key=row.idempotency_key)
    raise Undeliverable(f"no deliverer for {row.kind!r}")


def deliver(outbox_id: int, *, now: datetime | None = None) -> str:
    """Deliver one outbox row if it is due and nobody else holds it.

    Returns "sent", "retry" (failed, tried again later), "failed" (gave up), "skipped"
    (undeliverable) or "busy" (not due, already sent, or claimed by another worker).
    Idempotent: once sent, further calls do nothing.
    """
    now = now or utcnow()
    config = current_app.config
    with _own_session() as session:
        claimed = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == outbox_id, _claimable(now))
            .values(status=S.SENDING, claimed_at=now, attempts=OutboxMessage.attempts + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        session.commit()
        if claimed != 1:
            return "busy"
        row = session.get(OutboxMessage, outbox_id)
        try:
            if row.kind == webhooks.KIND:  # a signed POST to an endpoint (portal/jobs/webhooks.py)
                webhooks.attempt(row, now=now, final=row.attempts >= config["OUTBOX_MAX_ATTEMPTS"])
            else:
                message = _email_of(session, row)
                mailer.send_email(config, message)
        except (Undeliverable, webhooks.EndpointGone) as exc:
            outcome, values = "skipped", {"status": S.FAILED, "last_error": f"undeliverable: {exc}"}
        except Exception as exc:  # noqa: BLE001 - any failure of a send is recorded and retried
            log.warning("outbox %s: attempt %s failed: %s", outbox_id, row.attempts, exc)
            error = f"{type(exc).__name__}: {exc}"[:2000]
            if row.attempts >= config["OUTBOX_MAX_ATTEMPTS"]:
                outcome, values = "failed", {"status": S.FAILED, "last_error": error}
            else:
                outcome = "retry"
                values = {"status": S.PENDING, "last_error": error,
                          "next_attempt_at": now + backoff(row.attempts, config["OUTBOX_RETRY_SECONDS"])}
        else:
            outcome, values = "sent", {"status": S.SENT, "sent_at": now, "last_error": ""}
        session.rollback()  # the rendering's reads; the outcome is one guarded UPDATE
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == outbox_id, OutboxMessage.status == S.SENDING,
                   OutboxMessage.claimed_at == now)
            .values(**values, claimed_at=None)
            .execution_options(synchronize_session=False)
        )
        session.commit()
        return outcome


def due_ids(now: datetime | None = None, limit: int = SWEEP_BATCH) -> list[int]:
    """Rows waiting for delivery now: never delivered, due for a retry, or abandoned mid-send."""
    now = now or utcnow()
    with _own_session() as session:
        return list(session.scalars(
            select(OutboxMessage.id).where(_claimable(now)).order_by(OutboxMessage.id).limit(limit)
        ))


def sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Deliver every due row (the periodic safety net behind the after-commit delivery).
    Idempotent: a second sweep right after finds nothing due. Returns counts by outcome."""
    now = now or utcnow()
    counts: dict[str, int] = {}
    for outbox_id in due_ids(now):
        outcome = deliver(outbox_id, now=now)
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def listing(status: str | None = None, limit: int = 50) -> list[OutboxMessage]:
    """The newest outbox rows (optionally of one status), for the operator."""
    with _own_session(expire_on_commit=False) as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
        if status:
            query = query.where(OutboxMessage.status == status)
        return list(session.scalars(query))


def retry_failed(outbox_id: int | None = None) -> int:
    """Put failed rows (one, or all) back in the queue, due now; returns how many."""
    with _own_session() as session:
        statement = (update(OutboxMessage).where(OutboxMessage.status == S.FAILED)
                     .values(status=S.PENDING, attempts=0, next_attempt_at=utcnow())
                     .execution_options(synchronize_session=False))
        if outbox_id is not None:
            statement = statement.where(OutboxMessage.id == outbox_id)
        changed = session.execute(statement).rowcount
        session.commit()
        return changed
