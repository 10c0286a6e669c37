"""In-app notifications and their e-mails, stored as a message id and typed parameters.

A notification row keeps `Msg.to_json()` and `Link.to_json()`: it is rendered when shown, in the
viewer's language (portal/blueprints/notifications). Its e-mail is an outbox row in the same
transaction, rendered and sent after the commit by portal/jobs in the recipient's language.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import lazyload
from sqlalchemy.orm.util import identity_key

from portal.domain.messages import Link, Msg
from portal.extensions import db
from portal.models import Notification, User
from portal.models.base import utcnow
from portal.services import badges, mail
from portal.services.outbox import enqueue
from portal.services.paging import LIST_PER_PAGE, Key, KeysetPage, Order, Segment, keyset

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
    flush: bool = True,
    **params,
) -> Notification:
    """Tell `user` something: a notification in the portal and (by default) an e-mail.

    `text_or_msg` is a `Msg`, or an untranslated message id (marked with N_) whose typed
    `params` (Money, Decimal, dates, nested Msg; never floats) fill it in. Both are stored, not
    rendered: each reader sees it in their own language. The e-mail is written to the outbox in
    the caller's transaction and sent only once it commits (not at all if it rolls back).
    `email_extra_link` adds a one-click decision link to the e-mail only (never stored in the
    notification). Raises TypeError for a parameter that cannot be stored (a float).
    The rows are flushed here, in the caller's organisation scope; `flush=False` leaves them
    to the caller, who tells several people in a row and flushes once after the last.
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
        }, flush=flush)
    return note


def recipients(user_ids) -> dict[int, User]:
    """The users about to be told something, by id, in one query: those the session holds
    already are not read again, and roles are not loaded (a notification needs none). Keep the
    answer while notifying: `assignment.user`, `req.requester` then find them in the session."""
    found: dict[int, User] = {}
    missing = set()
    for user_id in {i for i in user_ids if i is not None}:
        user = db.session.identity_map.get(identity_key(User, user_id))
        if user is not None:
            found[user_id] = user
        else:
            missing.add(user_id)
    if missing:
        # No autoflush: a user known by id is flushed already, and the caller's pending changes
        # go in its next flush rather than one more.
        with db.session.no_autoflush:
            found.update((u.id, u) for u in db.session.scalars(
                select(User).where(User.id.in_(sorted(missing))).options(lazyload(User.role_rows))))
    return found


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


N = Notification
_NEWEST = (Key(N.created_at, descending=True), Key(N.id, descending=True))
# Unread first, newest first within each: two segments, each read from its own index range
# (the partial indexes ix_notifications_org_user_unread and ix_notifications_org_user_seen).
UNREAD_FIRST = Order("notifications", segments=(
    Segment(_NEWEST, N.read_at.is_(None)),
    Segment(_NEWEST, N.read_at.is_not(None)),
))


def notifications_page(user: User, *, cursor: str | None = None,
                       per_page: int = LIST_PER_PAGE) -> KeysetPage:
    """A page of the user's own notifications, unread first, newest first, read by cursor (the
    tenant filter applies too; this adds the user, since colleagues share an organisation).
    Raises BadCursor for a cursor it did not give out."""
    return keyset(select(Notification).where(Notification.user_id == user.id), UNREAD_FIRST,
                  cursor=cursor, per_page=per_page)


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


def notify_organization(org_id: int, text_or_msg: str | Msg, *, roles=None, link: Link | str | None = None,
                        kind: str = "", email: bool = True, exclude_user_id: int | None = None,
                        **params) -> list[Notification]:
    """Tell the active users of another organisation (a supplier told of an RFQ or an order, a
    buyer told of a quote) something, in the caller's transaction.

    The one deliberate write across parties: pending changes are flushed under the caller's
    scope first, then the recipients are read and their notifications (and e-mails, through the
    outbox, sent only after the commit) written under the recipient organisation's own scope,
    where the flush guard checks them like any of its rows; the caller's scope is restored after.
    `roles` (names) limits the recipients to users holding one of them; None tells every active
    user. Returns the notifications written.
    """
    from portal.models import Organization, UserRole
    from portal.tenancy import bound_to

    db.session.flush()
    org = db.session.scalars(
        select(Organization).where(Organization.id == org_id)).one()
    written: list[Notification] = []
    with bound_to(db.session, org):
        query = select(User).where(User.organization_id == org_id, User.is_active_flag.is_(True))
        if roles:
            query = query.where(User.id.in_(
                select(UserRole.user_id).where(UserRole.role.in_([str(r) for r in roles]))))
        if exclude_user_id is not None:
            query = query.where(User.id != exclude_user_id)
        for user in db.session.scalars(query.order_by(User.id)).all():
            written.append(notify(user, text_or_msg, link=link, kind=kind, email=email, flush=False,
                                  **params))
        db.session.flush()
    return written
