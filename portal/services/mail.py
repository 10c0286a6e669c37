"""The one mail function: an e-mail is an outbox row, sent by portal/jobs after the commit.

SMTP (or the development log) lives at the edge, in portal/jobs/mail.py.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from email.message import EmailMessage

from portal.models.outbox import OutboxMessage
from portal.services.outbox import enqueue

# What was delivered under TESTING (portal/jobs/mail.py appends, tests read it).
outbox: list[EmailMessage] = []
_suppressed: ContextVar[bool] = ContextVar("mail_suppressed", default=False)


@contextmanager
def suppressed():
    """Send nothing inside the block (the demo world's notifications go to made-up addresses)."""
    token = _suppressed.set(True)
    try:
        yield
    finally:
        _suppressed.reset(token)


def is_suppressed() -> bool:
    """True inside `suppressed()`: mail and notification e-mails are not written at all."""
    return _suppressed.get()


def send_mail(to: str, subject: str, body: str, *, key: str | None = None) -> OutboxMessage | None:
    """Send one plain-text e-mail once the current transaction commits (None: suppressed).

    Subject and body are final text (the caller rendered them in the recipient's language).
    """
    if _suppressed.get():
        return None
    return enqueue("mail", {"to": to, "subject": subject, "body": body}, key=key)
