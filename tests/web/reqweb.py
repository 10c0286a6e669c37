"""Set-up shared by the requisition page tests: Acme's cost centres, categories, catalog items
and drafts, created through the models and services (whatever the demo world already holds)."""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import event, func, select

from portal.domain.approval import ApproverKind
from portal.extensions import db
from portal.models import Category, CostCenter, Item, Organization, Requisition, User
from portal.services import approval_policy, requisitions
from tests.conftest import as_org, as_system

D = Decimal


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


def _get_or_add(model, org_id, key: str, value: str, **fields):
    row = db.session.scalar(
        select(model).where(model.organization_id == org_id, getattr(model, key) == value)
    )
    if row is None:
        row = model(organization_id=org_id, **{key: value}, **fields)
        db.session.add(row)
    else:
        for name, field_value in fields.items():
            setattr(row, name, field_value)
    return row


def make_shop(world) -> Shop:
    acme, globex = world.acme, world.globex
    approver = world.user("approver@acme")
    with as_system():
        cat_it = _get_or_add(Category, acme.id, "code", "W-IT", name="Sprzęt IT", is_active=True)
        cc_it = _get_or_add(CostCenter, acme.id, "code", "W-IT", name="Dział IT",
                            manager_id=approver.id, is_active=True)
        cc_adm = _get_or_add(CostCenter, acme.id, "code", "W-ADM", name="Administracja",
                             manager_id=approver.id, is_active=True)
        cc_closed = _get_or_add(CostCenter, acme.id, "code", "W-OLD", name="Zamknięty",
                                is_active=False)
        globex_cc = _get_or_add(CostCenter, globex.id, "code", "W-GX", name="Globex ops",
                                is_active=True)
        db.session.flush()
        paper = _get_or_add(Item, acme.id, "sku", "W-PAPER", name="Papier ksero A4", unit="ream",
                            currency="PLN", default_vat_rate=D("23"), list_price=D("18.9000"),
                            preferred_supplier_id=world.polbud.id, is_active=True)
        laptop = _get_or_add(Item, acme.id, "sku", "W-LAPTOP", name="Laptop 14 cali", unit="pcs",
                             currency="PLN", default_vat_rate=D("23"), list_price=D("4999.0000"),
                             category_id=cat_it.id, is_active=True)
        old_item = _get_or_add(Item, acme.id, "sku", "W-FAX", name="Faks", unit="pcs",
                               currency="PLN", default_vat_rate=D("23"), list_price=D("300"),
                               is_active=False)
        db.session.commit()
    return Shop(
        org=acme, buyer=world.user("buyer@acme"), buyer2=world.user("buyer2@acme"),
        approver=approver, cfo=world.user("cfo@acme"), admin=world.user("admin@acme"),
        cc_it=cc_it, cc_adm=cc_adm, cc_closed=cc_closed, cat_it=cat_it, paper=paper,
        laptop=laptop, old_item=old_item, polbud=world.polbud, globex_cc=globex_cc,
    )


@contextmanager
def acting(app, org):
    """Run services as `org` inside a request context (they build links with url_for)."""
    with app.test_request_context(base_url=app.config["BASE_URL"]), as_org(org):
        yield


def make_draft(app, user, cost_center, *, title="Laptopy dla nowych programistów",
               lines=(("Laptop", "2", "4000", "23"),), needed_by: date | None = None,
               justification: str = "") -> int:
    """A committed draft of `user` with free-text lines (description, qty, price, VAT)."""
    with acting(app, user.organization):
        req = requisitions.create_requisition(
            user, title=title, cost_center=cost_center, needed_by=needed_by,
            justification=justification,
        )
        for description, quantity, price, vat in lines:
            requisitions.add_line(req, user, description=description, quantity=D(quantity),
                                  unit_price=D(price), vat_rate=D(vat))
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


def get_req(req_id: int) -> Requisition:
    db.session.expire_all()
    with as_system():
        return db.session.scalars(select(Requisition).where(Requisition.id == req_id)).one()


def count(model, *where) -> int:
    db.session.expire_all()
    with as_system():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


HX = {"HX-Request": "true"}


def assert_fragment(response) -> None:
    assert "<html" not in response.text, "an htmx request got a whole page"


@contextmanager
def counting_queries():
    """Count the SQL statements the block sends (every connection of the engine)."""
    statements: list[str] = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", listener)


def text_of(html: str) -> str:
    """Visible text with tags removed and whitespace collapsed (for money assertions)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("\xa0", " ")
