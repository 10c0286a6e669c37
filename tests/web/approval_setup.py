"""Set-up shared by the approval page tests: Acme's policy and requisitions built through the
services (tests/services/reqkit.py), plus query counting and small readers.

Objects made here are committed and then read again by id: each HTTP request runs in its own
session, and an object of the test's session must not be used after it was expired."""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import event, select

from portal.domain.approval import TaskStatus
from portal.extensions import db
from portal.models import ApprovalTask, AuditEvent, Notification, Requisition, User
from portal.models.base import utcnow
from portal.services import approvals, mail
from tests.conftest import as_system
from tests.services.reqkit import acme_kit, acting_for, services, submitted

HX = {"HX-Request": "true"}


@contextmanager
def as_acme(app, kit):
    """Run services as Acme (bound session, request context for url_for); commit at the end."""
    with services(app), acting_for(kit.org):
        yield
        db.session.commit()


def build_kit(app, world, *, locale: str | None = "en"):
    """Acme's demo-like policy (reqkit.acme_kit). Its people read English by default, so the
    assertions below do not depend on the state of the Polish catalogue."""
    with services(app):
        kit = acme_kit(world)
    if locale:
        with as_system():
            for user in db.session.scalars(select(User).where(User.organization_id == kit.org.id)):
                user.locale = locale
            db.session.commit()
    return kit


def submit(app, kit, amount="1000", *, waited_days: float = 0, **kwargs) -> dict:
    """Submit a requisition as the buyer; return plain ids and numbers."""
    with as_acme(app, kit):
        req = submitted(kit, amount, **kwargs)
        task = active(req)
        if waited_days:
            task.activated_at = utcnow() - timedelta(days=waited_days)
        ids = {"req": req.id, "task": task.id if task else None, "number": req.number}
    return ids


def active(req: Requisition) -> ApprovalTask | None:
    for task in approvals.tasks_of(req, req.approval_round):
        if task.status == TaskStatus.PENDING:
            return task
    return None


def load(model, obj_id):
    """A fresh copy of a row, read past the tenant filter."""
    db.session.expire_all()
    with as_system():
        return db.session.scalars(select(model).where(model.id == obj_id)).one()


def requisition(req_id) -> Requisition:
    return load(Requisition, req_id)


def task(task_id) -> ApprovalTask:
    return load(ApprovalTask, task_id)


def events(req_id, action=None) -> list[AuditEvent]:
    db.session.expire_all()
    with as_system():
        query = select(AuditEvent).where(
            AuditEvent.object_type == "Requisition", AuditEvent.object_id == req_id
        )
        if action:
            query = query.where(AuditEvent.action == action)
        return list(db.session.scalars(query.order_by(AuditEvent.id)))


def notes(user, kind=None) -> list[Notification]:
    db.session.expire_all()
    with as_system():
        query = select(Notification).where(Notification.user_id == user.id)
        if kind:
            query = query.where(Notification.kind == kind)
        return list(db.session.scalars(query.order_by(Notification.id)))


def mails_to(user) -> list:
    return [m for m in mail.outbox if m["To"] == user.email]


def decision_token(user) -> str:
    """The one-click decision token from the latest approval request mailed to `user`."""
    bodies = [m.get_content() for m in mails_to(user) if "/approvals/decide/" in m.get_content()]
    assert bodies, f"no decision link mailed to {user.email}"
    return re.findall(r"/approvals/decide/([\w-]+)", bodies[-1])[-1]


@contextmanager
def count_queries():
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", before)


def rows(html: str, testid: str = "inbox-row") -> int:
    return html.count(f'data-testid="{testid}"')
