"""In-app notifications and their e-mails, stored as a message id and typed parameters.

A notification row keeps `Msg.to_json()` and `Link.to_json()`: it is rendered when shown, in the
viewer's language (portal/blueprints/notifications). Its e-mail is an outbox row in the same
transaction, rendered and sent after the commit by portal/jobs in the recipient's language.
"""

from __future__ import annotations

from sqlalchemy import select, update

from portal.domain.messages import Link, Msg
from portal.extensions import db
from portal.models import Notification, User
from portal.models.base import utcnow
from portal.services import badges, mail
from portal.services.outbox import enqueue

EMAIL_KIND = "notification.email"


def link_json(link: Link | str | None) -> dict | None:
    """A link as stored: `Link.to_json()`, or `{"url": path}` for a plain path (callers still
    being converted to Link), or None."""
    if isinstance(link, Link):
        return link.to_json()
    if link:
        return {"url": str(link)}
    return None


def notify(
    user: User,
    text_or_msg: str | Msg,
    *,
    link: Link | str | None = None,
    kind: str = "",
    email: bool = True,
    email_extra_link: Link | str | None = None,
    **params,
) -> Notification:
    """Tell `user` something: a notification in the portal and (by default) an e-mail.

    `text_or_msg` is a `Msg`, or an untranslated message id (marked with N_) whose typed
    `params` (Money, Decimal, dates, nested Msg; never floats) fill it in. Both are stored, not
    rendered: each reader sees it in their own language. The e-mail is written to the outbox in
    the caller's transaction and sent only once it commits (not at all if it rolls back).
    `email_extra_link` adds a one-click decision link to the e-mail only (never stored in the
    notification). Raises TypeError for a parameter that cannot be stored (a float).
    """
    if isinstance(text_or_msg, Msg):
        msg = Msg(text_or_msg.text, {**text_or_msg.params, **params}) if params else text_or_msg
    else:
        msg = Msg(str(text_or_msg), params)
    message = msg.to_json()
    target = link_json(link)
    note = Notification(
        organization_id=user.organization_id, user_id=user.id, message=message, target=target, kind=kind
    )
    db.session.add(note)
    if email and user.is_active and not mail.is_suppressed():
        enqueue(EMAIL_KIND, {
            "user_id": user.id, "message": message, "link": target,
            "extra_link": link_json(email_extra_link),
        })
    return note


def unread_count(user: User) -> int:
    """The user's unread notifications, counted up to `badges.CAP` + 1 (the bell shows "99+")."""
    return badges.capped(
        select(Notification.id).where(Notification.user_id == user.id, Notification.read_at.is_(None))
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
    # A bulk UPDATE bypasses the unit of work: tell the bell's version itself.
    badges.changed(db.session, user.organization_id, badges.notifications_scope(user.id))
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
