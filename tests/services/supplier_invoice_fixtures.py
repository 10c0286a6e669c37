"""Received orders, drafts and issued invoices for the supplier-side invoicing tests (helper B).

Built over the demo world: Acme orders from Polbud (PL, PLN, net 45) and Nordwind (DE, EUR,
2/10 net 30); Globex from Nordwind. Orders come from tests/services/receiving_fixtures.py
(`make_order`) and are received through the receiving service, as Acme's buyer. The suppliers
get valid IBANs. Helpers return ids; reread with `load` or `get_as`.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import Organization, SupplierLink
from portal.models.invoice import Invoice
from portal.models.order import PurchaseOrder
from portal.services.clock import today_for
from portal.services.invoicing import drafting, issuing
from portal.services.orders.receiving import ReceiptLineInput, record_receipt
from portal.tenancy import system
from tests.factories import acting_for
from tests.services.receiving_fixtures import Made, link_to, make_order

D = Decimal
IBANS = {"polbud": ("PL61109010140000071219812874", "mBank S.A."),
         "nordwind": ("DE89370400440532013000", "Commerzbank")}


def give_ibans(world) -> None:
    with system(db.session):
        for key, (iban, bank) in IBANS.items():
            org = db.session.get(Organization, getattr(world, key).id)
            org.iban, org.bank_name = iban, bank
        db.session.commit()


@pytest.fixture
def stub_documents(monkeypatch):
    """Issuing without rendering PDFs (fast); records what would have been stored."""
    stored = []
    monkeypatch.setattr(issuing, "_store_documents", lambda invoice: stored.append(invoice.number))
    return stored


def sales(world, supplier="polbud"):
    return world.user(f"sales@{supplier}")


def link_of(world, buyer="acme", supplier="polbud") -> SupplierLink:
    return link_to(getattr(world, buyer), getattr(world, supplier))


def received_order(world, *, lines=(("Papier A4", "10", "20.00"), ("Toner", "5", "300.00")),
                   receive: dict[int, str] | None = None, supplier="polbud", buyer="acme",
                   received_on: date | None = None, issued_days_ago: int = 3) -> Made:
    """An order (Acme → Polbud by default) received as `receive` says ({line index: quantity});
    by default every line in full."""
    made = make_order(world, lines=lines, supplier=getattr(world, supplier), buyer=getattr(world, buyer),
                      issued_days_ago=issued_days_ago)
    receive = {i: q for i, (_d, q, _p) in enumerate(lines)} if receive is None else receive
    if receive:
        org = getattr(world, buyer)
        with acting_for(org):
            order = db.session.get(PurchaseOrder, made.order_id)
            record_receipt(order, world.user(f"buyer@{buyer}"), received_on=received_on or today_for(org), lines={
                made.line_ids[i]: ReceiptLineInput(D(q)) for i, q in receive.items()})
            db.session.commit()
    return made


@contextmanager
def as_supplier(world, supplier="polbud"):
    with acting_for(getattr(world, supplier)):
        yield sales(world, supplier)


def get(model, obj_id):
    return db.session.get(model, obj_id)


def draft(world, *orders: Made, supplier="polbud", buyer="acme") -> int:
    with as_supplier(world, supplier) as actor:
        link = db.session.scalars(select(SupplierLink).where(
            SupplierLink.organization_id == getattr(world, buyer).id,
            SupplierLink.supplier_id == getattr(world, supplier).id)).one()
        invoice = drafting.draft_from_orders(link, [m.order_id for m in orders], actor)
        db.session.commit()
        return invoice.id


def issue(world, invoice_id: int, supplier="polbud", **kwargs) -> str:
    with as_supplier(world, supplier) as actor:
        invoice = issuing.issue_invoice(get(Invoice, invoice_id), actor, **kwargs)
        db.session.commit()
        return invoice.number


def edit(world, invoice_id: int, lines, supplier="polbud", **fields) -> None:
    """update_draft with `lines` [(order line id, quantity, price, code)] and the draft's other fields."""
    with as_supplier(world, supplier) as actor:
        invoice = get(Invoice, invoice_id)
        values = dict(language=invoice.language, notes=invoice.notes, sale_date=invoice.sale_date,
                      annex15=invoice.annex15, exchange_rate=invoice.exchange_rate,
                      exchange_rate_date=invoice.exchange_rate_date)
        values.update(fields)
        drafting.update_draft(invoice, actor, lines=[
            drafting.DraftLineInput(line_id, D(q), D(p), code) for line_id, q, p, code in lines], **values)
        db.session.commit()


def lines_of(invoice_id: int, supplier_org) -> list:
    with acting_for(supplier_org):
        invoice = get(Invoice, invoice_id)
        return [(ln.order_line_id, ln.quantity, ln.unit_price, ln.vat_code, ln.net, ln.vat, ln.gross)
                for ln in invoice.lines]


def receive(world, made: Made, quantities: dict[int, str], on: date, buyer="acme") -> None:
    """Another receipt on `made` dated `on` ({line index: quantity accepted})."""
    org = getattr(world, buyer)
    with acting_for(org):
        order = db.session.get(PurchaseOrder, made.order_id)
        record_receipt(order, world.user(f"buyer@{buyer}"), received_on=on, lines={
            made.line_ids[i]: ReceiptLineInput(D(q)) for i, q in quantities.items()})
        db.session.commit()


def set_monthly(world, buyer="acme", supplier="polbud", status="active") -> None:
    with system(db.session):
        link = db.session.get(SupplierLink, link_of(world, buyer, supplier).id)
        link.invoicing, link.status = "monthly", status
        db.session.commit()
