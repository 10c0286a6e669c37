"""Writing to the transactional outbox: a message is a row in the caller's transaction.

Nothing here delivers. portal/jobs hands the committed rows to the job runner (right after the
commit, and again from the periodic sweep), so a rolled-back action sends nothing and a crashed
process loses nothing.
"""

from __future__ import annotations

import uuid

from portal.extensions import db
from portal.models.outbox import OutboxMessage


def enqueue(kind: str, payload: dict, *, key: str | None = None, flush: bool = True) -> OutboxMessage:
    """Add one message to the outbox in the current transaction and flush it.

    `kind` names the deliverer (`notification.email`, `mail`); `payload` is JSON-safe data it
    needs; `key` is the idempotency key (unique; a fresh one by default). The caller commits.
    `flush=False`: the caller flushes, after the last of several messages (one flush, and
    one INSERT for all of them where the database returns their ids in a batch).
    """
    row = OutboxMessage(kind=kind, payload=payload, idempotency_key=key or f"{kind}:{uuid.uuid4().hex}")
    db.session.add(row)
    if flush:
        db.session.flush()
    return row
