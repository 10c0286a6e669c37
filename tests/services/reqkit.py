"""Set-up shared by the requisition and approval service tests.

`acme_kit(world)` gives Acme an approval policy like the demo's (step 1 the cost centre manager;
step 2 from 10 000 the CFO; step 3 IT from 50 000, two of the three board members), cost
centres, categories and items, all looked up or created by code so it works whatever the demo
world already holds. `services(app)` is the request context the services need (they build links
with url_for).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import delete, func, select

from portal.domain.approval import ApproverKind, Quorum, TaskStatus
from portal.extensions import db
from portal.models import (
    ApprovalAssignment,
    ApprovalPolicy,
    ApprovalTask,
    Attachment,
    Category,
    Comment,
    CostCenter,
    DecisionToken,
    Delegation,
    Item,
    Notification,
    Requisition,
    RequisitionLine,
    User,
)
from portal.services import approval_policy, approvals, requisitions, users
from portal.tenancy import ALL_TENANTS, bound, scope_for, system

D = Decimal
PASSWORD = "portal-demo-2026"

@contextmanager
def services(app):
    """A request context (the services build links with url_for) in which they run."""
    with app.test_request_context(base_url=app.config["BASE_URL"]):
        yield


@contextmanager
def acting_for(org):
    with bound(db.session, scope_for(db.session, org)):
        yield


@dataclass
class Kit:
    org: object
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
    user = db.session.scalar(
        select(User).where(User.email == email).execution_options(**ALL_TENANTS))
    return user or users.create_user(org, email=email, full_name=name, roles=roles,
                                     password=PASSWORD, approval_limit=limit, locale="pl")


def _by_code(model, org, code, **fields):
    row = db.session.scalar(
        select(model).where(model.organization_id == org.id, model.code == code))
    if row is None:
        row = model(organization_id=org.id, code=code, **fields)
        db.session.add(row)
    else:
        for key, value in fields.items():
            setattr(row, key, value)
    return row


def _item(org, sku, **fields) -> Item:
    row = db.session.scalar(select(Item).where(Item.organization_id == org.id, Item.sku == sku))
    if row is None:
        row = Item(organization_id=org.id, sku=sku, currency="PLN", **fields)
        db.session.add(row)
    else:
        for key, value in fields.items():
            setattr(row, key, value)
    return row


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
    with system(db.session):
        admin = world.user("admin@acme")
        ceo = _user(org, "ceo@acme.example", "Zofia Wójcik", ["approver"])
        coo = _user(org, "coo@acme.example", "Tomasz Kamiński", ["approver"])
        manager = _user(org, "kierownik.it@acme.example", "Igor Kierownik", ["approver"])
        approver, cfo = world.user("approver@acme"), world.user("cfo@acme")
        cat_it = _by_code(Category, org, "IT", name="IT", is_active=True)
        cat_office = _by_code(Category, org, "OFFICE", name="Biuro", is_active=True)
        cc_it = _by_code(CostCenter, org, "IT", name="Dział IT", manager_id=manager.id,
                         is_active=True)
        cc_adm = _by_code(CostCenter, org, "ADM", name="Administracja", manager_id=manager.id,
                          is_active=True)
        cc_prod = _by_code(CostCenter, org, "PROD", name="Produkcja", manager_id=approver.id,
                           is_active=True)
        cc_closed = _by_code(CostCenter, org, "OLD", name="Zamknięty", manager_id=manager.id,
                             is_active=False)
        db.session.flush()
        laptop = _item(org, "T-LAPTOP", name="Laptop 14\"", unit="pcs", category_id=cat_it.id,
                       default_vat_rate=D("23"), list_price=D("5000.00"), is_active=True)
        paper = _item(org, "T-PAPER", name="Papier A4", unit="ream", category_id=cat_office.id,
                      default_vat_rate=D("23"), list_price=D("25.5000"), is_active=True)
        old_item = _item(org, "T-OLD", name="Faks", unit="pcs", category_id=cat_office.id,
                         default_vat_rate=D("23"), list_price=D("300"), is_active=False)
        db.session.flush()
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


def draft(kit: Kit, amount="1000", *, actor=None, cost_center=None, category=None,
          title="Laptopy dla działu IT") -> Requisition:
    """A draft with one free-text line at 0 % VAT, so its gross total is exactly `amount`."""
    actor = actor or kit.buyer
    req = requisitions.create_requisition(actor, title=title, cost_center=cost_center or kit.cc_it,
                                          category=category)
    requisitions.add_line(req, actor, description="Pozycja", quantity=D("1"), unit_price=D(amount),
                          vat_rate=D("0"))
    assert req.gross_total == D(amount)
    return req


def submitted(kit: Kit, amount="1000", **kwargs) -> Requisition:
    req = draft(kit, amount, **kwargs)
    approvals.submit(req, kwargs.get("actor") or kit.buyer)
    return req


def active_task(req: Requisition) -> ApprovalTask | None:
    pending = [t for t in approvals.tasks_of(req, req.approval_round)
               if t.status == TaskStatus.PENDING]
    assert len(pending) <= 1
    return pending[0] if pending else None


def approvers_of(task: ApprovalTask) -> list[User]:
    return [a.user for a in task.assignments if a.decision is None]


def approve_all(req: Requisition) -> Requisition:
    """Approve task after task, each by as many assignees as the quorum needs."""
    while (task := active_task(req)) is not None:
        approvals.decide(task, approvers_of(task)[0], "approve")
    return req


def count(model, *where) -> int:
    with system(db.session):
        return db.session.scalar(select(func.count()).select_from(model).where(*where))
