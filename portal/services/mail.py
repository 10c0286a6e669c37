"""The one mail function: SMTP when configured, the log otherwise."""

from __future__ import annotations

import logging
import smtplib
from contextlib import contextmanager
from contextvars import ContextVar
from email.message import EmailMessage

from flask import current_app

log = logging.getLogger("portal.mail")
# Tests read what was sent from here.
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


def send_mail(to: str, subject: str, body: str) -> EmailMessage:
    """Send one plain-text email. In development (no MAIL_SERVER) it is written to the log."""
    config = current_app.config
    message = EmailMessage()
    message["From"] = config["MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    if _suppressed.get():
        return message
    if config.get("TESTING"):
        outbox.append(message)
        return message
    if not config.get("MAIL_SERVER"):
        log.warning("mail to %s: %s\n%s", to, subject, body)
        return message
    with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=10) as smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        smtp.send_message(message)
    return message
