"""Sending one e-mail: SMTP when MAIL_SERVER is set, the log otherwise, a list under test.

The edge half of portal/services/mail.py: services write e-mails to the outbox; the outbox
delivery (portal/jobs/outbox.py) calls `send_email` once the action has committed.
"""

from __future__ import annotations

import hashlib
import logging
import re
import smtplib
from email.message import EmailMessage
from urllib.parse import urlsplit

from portal.services import mail as mail_service

log = logging.getLogger("portal.mail")


def build_email(config, to: str, subject: str, body: str, *, key: str) -> EmailMessage:
    """A plain-text e-mail whose Message-ID derives from the outbox key: a copy sent twice
    (a worker died between sending and recording it) carries the same id."""
    message = EmailMessage()
    message["From"] = config["MAIL_FROM"]
    message["To"] = to
    # A header never holds a line break (a comment quoted in a subject would split it).
    message["Subject"] = re.sub(r"[\r\n]+", " ", subject)
    host = urlsplit(config["BASE_URL"]).hostname or "portal.localhost"
    message["Message-ID"] = f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{host}>"
    message.set_content(body)
    return message


def send_email(config, message: EmailMessage) -> None:
    """Hand one e-mail over; raises on failure (the outbox records it and retries)."""
    if config.get("TESTING"):
        mail_service.outbox.append(message)
        return
    if not config.get("MAIL_SERVER"):
        log.warning("mail to %s: %s\n%s", message["To"], message["Subject"], message.get_content())
        return
    with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=10) as smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        smtp.send_message(message)
