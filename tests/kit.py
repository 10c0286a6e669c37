"""The one set-up kit of the requisition and approval tests (services and pages alike), built on
tests/factories.py over the demo world.

- `acme_kit(world)` gives Acme an approval policy like the demo's (step 1 the cost centre
  manager; step 2 from 10 000 the CFO; step 3 IT from 50 000, two of the three board members),
  cost centres IT/ADM/PROD/OLD, categories and items; `build_kit(app, world)` is the same with
  English-reading people and committed, for the page tests.
- `make_shop(world)` gives Acme the W-* cost centres, category and items of the requisition
  page tests; `make_draft`, `approver_policy` build on it.
- Readers (`load`, `requisition`, `task`, `events`, `notes`, `count`, `mails_to`) read committed
  rows past the tenant filter; `count_queries()` counts SQL statements.

Objects a page test makes are committed and then read again by id: each HTTP request runs in its
own session, and an object of the test's session must not be used after it was expired.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from flask import has_request_context
from sqlalchemy import delete, event, func, select

from portal.domain.approval import ApproverKind, Quorum, TaskStatus
from portal.extensions import db
from portal.jobs.rendering import Shown, shown_to_recipient
from portal.models import (
    ApprovalAssignment,
    ApprovalPolicy,
    ApprovalTask,
    Attachment,
    AuditEvent,
    Category,
    Comment,
    CostCenter,
    DecisionToken,
    Delegation,
    Item,
    Notification,
    Organization,
    Requisition,
    RequisitionLine,
    User,
)
from portal.models.base import utcnow
from portal.services import approval_policy, approvals, mail
from portal.tenancy import system
from tests.factories import (
    PASSWORD,
    acting_for,
    make_category,
    make_cost_center,
    make_item,
    make_requisition,
    make_user,
)

D = Decimal
HX = {"HX-Request": "true"}

__all__ = ["PASSWORD", "acting_for"]  # re-exported: the tests import them from here


@contextmanager
def services(app):
    """Where the services run in these tests: the application context only, no request (the
    services take the actor as a parameter and give links as `Link`s)."""
    assert not has_request_context()
    yield


@contextmanager
def acting(app, org):
    """Run services as `org` (the page tests' name for `acting_for`)."""
    with services(app), acting_for(org):
        yield


# ---------------------------------------------------------------- Acme with the demo-like policy


@dataclass
class Kit:
    org: Organization
    buyer: User
    buyer2: User
    approver: User  # approver@acme, limit 10 000
    cfo: User  # limit 250 000
    ceo: User  # no limit
    coo: User  # no limit
    admin: User
    manager: User  # manages IT and ADM, approver without a limit
    cc_it: CostCenter
    cc_adm: CostCenter
    cc_prod: CostCenter  # managed by approver@acme (limit 10 000)
    cc_closed: CostCenter  # inactive
    cat_it: Category
    cat_office: Category
    laptop: Item
    paper: Item
    old_item: Item  # deactivated
    policy: ApprovalPolicy


def _user(org, email, name, roles, limit=None) -> User:
    """Acme's person with `email` (created, Polish-reading, when the demo has none)."""
    return make_user(org, email=email, full_name=name, roles=roles, limit=limit, locale="pl")


def clear_workflow(org) -> None:
    """Remove the requisitions, tasks, notifications and delegations the demo world seeded for
    `org`, so a test starts from a blank slate (its counts and inboxes are its own)."""
    tables = [DecisionToken, ApprovalAssignment, ApprovalTask, RequisitionLine, Attachment, Comment,
              Requisition, Notification, Delegation]
    with system(db.session):
        for model in tables:
            db.session.execute(delete(model).where(model.organization_id == org.id))
        db.session.commit()


def acme_kit(world, *, board: bool = True) -> Kit:
    """Acme with the demo-like policy (replacing any policy the demo world seeded), and none of
    the demo world's requisitions."""
    org = world.acme
    clear_workflow(org)
    admin = world.user("admin@acme")
    ceo = _user(org, "ceo@acme.example", "Zofia Wójcik", ["approver"])
    coo = _user(org, "coo@acme.example", "Tomasz Kamiński", ["approver"])
    manager = _user(org, "kierownik.it@acme.example", "Igor Kierownik", ["approver"])
    approver, cfo = world.user("approver@acme"), world.user("cfo@acme")
    cat_it = make_category(org, "IT", name="IT")
    cat_office = make_category(org, "OFFICE", name="Biuro")
    cc_it = make_cost_center(org, "IT", name="Dział IT", manager=manager)
    cc_adm = make_cost_center(org, "ADM", name="Administracja", manager=manager)
    cc_prod = make_cost_center(org, "PROD", name="Produkcja", manager=approver)
    cc_closed = make_cost_center(org, "OLD", name="Zamknięty", manager=manager, active=False)
    laptop = make_item(org, "T-LAPTOP", name="Laptop 14\"", unit="pcs", category=cat_it,
                       price="5000.00", currency="PLN")
    paper = make_item(org, "T-PAPER", name="Papier A4", unit="ream", category=cat_office,
                      price="25.5000", currency="PLN")
    old_item = make_item(org, "T-OLD", name="Faks", unit="pcs", category=cat_office, price="300",
                         currency="PLN", active=False)
    db.session.commit()
    with acting_for(org):
        policy = approvals.policy_for(org.id)
        for step in list(policy.steps if policy else []):
            approval_policy.delete_step(admin, step)  # whatever the demo seeded
        approval_policy.update_settings(admin, reminder_hours=24, escalation_hours=72,
                                        escalation_user=admin)
        approval_policy.save_step(admin, None, name="Cost centre manager",
                                  approver_kind=ApproverKind.COST_CENTER_MANAGER)
        approval_policy.save_step(admin, None, name="CFO approval", approver_kind=ApproverKind.USER,
                                  min_amount=D("10000"), approver_user=cfo)
        if board:
            approval_policy.save_step(admin, None, name="Board: IT investments",
                                      approver_kind=ApproverKind.GROUP, min_amount=D("50000"),
                                      category=cat_it, members=[cfo, ceo, coo],
                                      quorum=Quorum.N_OF_M, quorum_n=2)
        policy = approvals.policy_for(org.id)
        db.session.commit()
    return Kit(org=org, buyer=world.user("buyer@acme"), buyer2=world.user("buyer2@acme"),
               approver=approver, cfo=cfo, ceo=ceo, coo=coo, admin=admin, manager=manager,
               cc_it=cc_it, cc_adm=cc_adm, cc_prod=cc_prod, cc_closed=cc_closed, cat_it=cat_it,
               cat_office=cat_office, laptop=laptop, paper=paper, old_item=old_item, policy=policy)


def build_kit(app, world, *, locale: str | None = "en") -> Kit:
    """`acme_kit`, its people reading English by default (so the page assertions do not depend
    on the state of the Polish catalogue)."""
    with services(app):
        kit = acme_kit(world)
    if locale:
        with system(db.session):
            for user in db.session.scalars(select(User).where(User.organization_id == kit.org.id)):
                user.locale = locale
            db.session.commit()
    return kit


def draft(kit: Kit, amount="1000", *, actor=None, cost_center=None, category=None,
          title="Laptopy dla działu IT") -> Requisition:
    """A draft with one free-text line at 0 % VAT, so its gross total is exactly `amount`."""
    req = make_requisition(actor or kit.buyer, cost_center=cost_center or kit.cc_it,
                           category=category, title=title,
                           lines=[("Pozycja", "1", amount, "0")])
    assert req.gross_total == D(amount)
    return req


def submitted(kit: Kit, amount="1000", **kwargs) -> Requisition:
    req = draft(kit, amount, **kwargs)
    approvals.submit(req, kwargs.get("actor") or kit.buyer)
    return req


@contextmanager
def as_acme(app, kit):
    """Run services as Acme; commit at the end."""
    with services(app), acting_for(kit.org):
        yield
        db.session.commit()


def submit(app, kit, amount="1000", *, waited_days: float = 0, **kwargs) -> dict:
    """Submit a requisition as the buyer; return plain ids and numbers."""
    with as_acme(app, kit):
        req = submitted(kit, amount, **kwargs)
        task = active_task(req)
        if waited_days:
            task.activated_at = utcnow() - timedelta(days=waited_days)
        ids = {"req": req.id, "task": task.id if task else None, "number": req.number}
    return ids


def active_task(req: Requisition) -> ApprovalTask | None:
    pending = [t for t in approvals.tasks_of(req, req.approval_round)
               if t.status == TaskStatus.PENDING]
    assert len(pending) <= 1
    return pending[0] if pending else None


active = active_task  # the page tests' name


def approvers_of(task: ApprovalTask) -> list[User]:
    return [a.user for a in task.assignments if a.decision is None]


def approve_all(req: Requisition) -> Requisition:
    """Approve task after task, each by as many assignees as the quorum needs."""
    while (task := active_task(req)) is not None:
        approvals.decide(task, approvers_of(task)[0], "approve")
    return req


# ---------------------------------------------------------------- Acme's shop (requisition pages)


@dataclass
class Shop:
    org: Organization
    buyer: User
    buyer2: User
    approver: User
    cfo: User
    admin: User
    cc_it: CostCenter
    cc_adm: CostCenter
    cc_closed: CostCenter
    cat_it: Category
    paper: Item
    laptop: Item
    old_item: Item
    polbud: Organization  # a supplier actively linked to Acme
    globex_cc: CostCenter


def make_shop(world) -> Shop:
    acme, globex = world.acme, world.globex
    approver = world.user("approver@acme")
    cat_it = make_category(acme, "W-IT", name="Sprzęt IT")
    cc_it = make_cost_center(acme, "W-IT", name="Dział IT", manager=approver)
    cc_adm = make_cost_center(acme, "W-ADM", name="Administracja", manager=approver)
    cc_closed = make_cost_center(acme, "W-OLD", name="Zamknięty", active=False)
    globex_cc = make_cost_center(globex, "W-GX", name="Globex ops")
    paper = make_item(acme, "W-PAPER", name="Papier ksero A4", unit="ream", currency="PLN",
                      price="18.9000", supplier=world.polbud)
    laptop = make_item(acme, "W-LAPTOP", name="Laptop 14 cali", unit="pcs", currency="PLN",
                       price="4999.0000", category=cat_it)
    old_item = make_item(acme, "W-FAX", name="Faks", unit="pcs", currency="PLN", price="300",
                         active=False)
    db.session.commit()
    return Shop(
        org=acme, buyer=world.user("buyer@acme"), buyer2=world.user("buyer2@acme"),
        approver=approver, cfo=world.user("cfo@acme"), admin=world.user("admin@acme"),
        cc_it=cc_it, cc_adm=cc_adm, cc_closed=cc_closed, cat_it=cat_it, paper=paper,
        laptop=laptop, old_item=old_item, polbud=world.polbud, globex_cc=globex_cc,
    )


def make_draft(app, user, cost_center, *, title="Laptopy dla nowych programistów",
               lines=(("Laptop", "2", "4000", "23"),), needed_by: date | None = None,
               justification: str = "") -> int:
    """A committed draft of `user` with free-text lines (description, qty, price, VAT)."""
    with services(app):
        req = make_requisition(user, cost_center=cost_center, title=title, lines=lines,
                               needed_by=needed_by, justification=justification)
        req_id = req.id
        db.session.commit()
    return req_id


def approver_policy(app, shop: Shop) -> None:
    """One step: approver@acme approves everything."""
    with acting(app, shop.org):
        policy = approval_policy.get_or_create_policy(shop.admin)
        for step in list(policy.steps):
            approval_policy.delete_step(shop.admin, step)
        approval_policy.save_step(shop.admin, None, name="Kierownik",
                                  approver_kind=ApproverKind.USER, approver_user=shop.approver)
        db.session.commit()


# ---------------------------------------------------------------- readers


def load(model, obj_id):
    """A fresh copy of a row, read past the tenant filter."""
    db.session.expire_all()
    with system(db.session):
        return db.session.scalars(select(model).where(model.id == obj_id)).one()


def requisition(req_id) -> Requisition:
    return load(Requisition, req_id)


get_req = requisition  # the requisition page tests' name


def task(task_id) -> ApprovalTask:
    return load(ApprovalTask, task_id)


def count(model, *where) -> int:
    with system(db.session):
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def events(req_id, action=None) -> list[AuditEvent]:
    db.session.expire_all()
    with system(db.session):
        query = select(AuditEvent).where(
            AuditEvent.object_type == "Requisition", AuditEvent.object_id == req_id
        )
        if action:
            query = query.where(AuditEvent.action == action)
        return list(db.session.scalars(query.order_by(AuditEvent.id)))


def notes(user, kind=None) -> list[Shown]:
    """The user's notifications as they read them (text in their language, link as a path)."""
    db.session.expire_all()
    with system(db.session):
        query = select(Notification).where(Notification.user_id == user.id)
        if kind:
            query = query.where(Notification.kind == kind)
        return [shown_to_recipient(n, user) for n in db.session.scalars(query.order_by(Notification.id))]


def mails_to(user) -> list:
    return [m for m in mail.outbox if m["To"] == user.email]


def decision_token(user) -> str:
    """The one-click decision token from the latest approval request mailed to `user`."""
    bodies = [m.get_content() for m in mails_to(user) if "/approvals/decide/" in m.get_content()]
    assert bodies, f"no decision link mailed to {user.email}"
    return re.findall(r"/approvals/decide/([\w-]+)", bodies[-1])[-1]


@contextmanager
def count_queries(describe=None):
    """Count the SQL statements the block sends (every connection of the engine); with
    `describe`, list what `describe(connection, statement, context)` says of each instead."""
    statements: list = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement if describe is None else describe(conn, statement, context))

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", before)


counting_queries = count_queries  # the requisition page tests' name


def rows(html: str, testid: str = "inbox-row") -> int:
    return html.count(f'data-testid="{testid}"')


def assert_fragment(response) -> None:
    assert "<html" not in response.text, "an htmx request got a whole page"


def text_of(html: str) -> str:
    """Visible text with tags removed and whitespace collapsed (for money assertions)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("\xa0", " ")
