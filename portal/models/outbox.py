"""The transactional outbox: messages to deliver once the action that wrote them commits."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.models.base import Timestamped, utcnow
from portal.models.types import UTCDateTime


class OutboxStatus(StrEnum):
    PENDING = "pending"  # waiting for (another) delivery attempt at next_attempt_at
    SENDING = "sending"  # claimed by one worker until claimed_at + the lease
    SENT = "sent"
    FAILED = "failed"  # gave up after the maximum attempts: an operator looks at last_error


class OutboxMessage(Timestamped, db.Model):
    """One message (an e-mail today, a webhook later) written in the same transaction as the
    action it reports, delivered by portal/jobs after that transaction commits.

    Not tenant-owned: it is the delivery machinery's queue, read only by jobs and the operator
    CLI, never shown to users. The payload names the recipient; the e-mail is rendered at
    delivery, in the recipient's language.
    """

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    # The same key never delivers twice; it is also the e-mail's Message-ID, so a mail server
    # or client can drop a duplicate if a worker died between sending and recording it.
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (Index("ix_outbox_messages_due", "status", "next_attempt_at"),)
