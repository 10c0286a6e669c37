"""In-app notifications and their emails, each in the recipient's own language."""

from __future__ import annotations

from decimal import Decimal

from flask import current_app
from flask_babel import force_locale, format_decimal, gettext
from sqlalchemy import func, select, update

from portal.extensions import db
from portal.models import Notification, User
from portal.models.base import utcnow
from portal.services.mail import send_mail


def notify(
    user: User,
    text: str,
    *,
    link: str = "",
    kind: str = "",
    email: bool = True,
    email_extra_link: str = "",
    **params,
) -> Notification:
    """Tell `user` something: a notification in the portal and (by default) an email.

    `text` is an untranslated message id (marked with N_ or lazy); it is translated into the
    user's language with `params` here, once, so the stored text reads the same forever.
    `email_extra_link` adds a one-click decision link to the email only (never stored).
    """
    base = current_app.config["BASE_URL"].rstrip("/")
    locale = user.display_locale
    with force_locale(locale):
        # Amounts are passed as Decimal and written the recipient's way (1 234,50 in Polish).
        params = {key: format_decimal(value, format="#,##0.00") if isinstance(value, Decimal)
                  else value for key, value in params.items()}
        rendered = gettext(text, **params)
        subject = rendered if len(rendered) <= 120 else rendered[:117] + "…"
        body = rendered
        if link:
            body += "\n\n" + gettext("Open in the portal:") + "\n" + base + link
        if email_extra_link:
            body += "\n\n" + gettext(
                "Decide from this email (the link works once, for 72 hours):"
            ) + "\n" + base + email_extra_link
        body += "\n\n— Portal"
    note = Notification(
        organization_id=user.organization_id, user_id=user.id, text=rendered[:500], link=link, kind=kind
    )
    db.session.add(note)
    if email and user.is_active:
        send_mail(user.email, subject, body)
    return note


def unread_count(user: User) -> int:
    return db.session.scalar(
        select(func.count(Notification.id)).where(
            Notification.user_id == user.id, Notification.read_at.is_(None)
        )
    )


def mark_read(user: User, notification_id: int | None = None) -> int:
    """Mark one (or every) notification of the user read; returns how many changed."""
    statement = (
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if notification_id is not None:
        statement = statement.where(Notification.id == notification_id)
    return db.session.execute(statement).rowcount


def notifications_query(user: User):
    """The user's own notifications, unread first, newest first (the tenant filter applies
    too; this adds the user, since colleagues share an organisation)."""
    return (
        select(Notification)
        .where(Notification.user_id == user.id)
        .order_by(Notification.read_at.is_not(None), Notification.created_at.desc(),
                  Notification.id.desc())
    )


def open_notification(user: User, notification_id: int) -> Notification | None:
    """Mark one of the user's notifications read and return it (None: not theirs)."""
    note = db.session.scalars(
        select(Notification).where(
            Notification.id == notification_id, Notification.user_id == user.id
        )
    ).first()
    if note is not None and note.read_at is None:
        note.read_at = utcnow()
        db.session.flush()
    return note
