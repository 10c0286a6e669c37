"""Payments the buyer records on an approved invoice: partial and final, the early-payment
discount (within its window, only when the payment settles the rest), the settle status, and
what is refused. portal/services/invoicing/buyer.py record_payment."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.errors import InvalidTransition, PermissionDenied, ValidationProblem
from portal.extensions import db
from portal.models import AuditEvent, Notification
from portal.models.invoice import InvoiceStatus, Payment
from portal.services.invoicing import buyer
from portal.tenancy import system
from tests.kit import acting_for, services
from tests.services.buyer_invoice_fixtures import issued_invoice, received
from tests.services.receiving_fixtures import make_order

D = Decimal
TODAY = date(2026, 12, 5)


@pytest.fixture
def admin(world):
    return world.user("admin@acme")


@pytest.fixture
def invoice(app, world, admin):
    """An approved invoice of 1 230.00 gross (1 000 net), issued 10 days ago, due in 20 days,
    with a 2 % early-payment discount (24.60) until TODAY + 2."""
    made = make_order(world, lines=(("Monitor", "10", "100.00"),))
    with services(app), acting_for(world.acme):
        from portal.models.order import PurchaseOrder

        order = db.session.get(PurchaseOrder, made.order_id)
        received(order)
        made_invoice = issued_invoice(order, issue_date=TODAY - timedelta(days=10), due_days=30,
                                      discount="24.60", discount_days=12)
        buyer.approve_invoice(made_invoice, admin)
        yield made_invoice


def pay(invoice, admin, amount, *, on=TODAY, take_discount=False, reference="TR-1"):
    return buyer.record_payment(invoice, admin, paid_on=on, amount=D(amount), reference=reference,
                                take_discount=take_discount, today=TODAY)


def events(invoice, action):
    return db.session.scalars(select(AuditEvent).where(
        AuditEvent.object_type == "Invoice", AuditEvent.object_id == invoice.id,
        AuditEvent.action == action)).all()


def test_a_partial_then_a_final_payment(invoice, admin, world):
    assert invoice.gross_total == D("1230.00")
    payment = pay(invoice, admin, "500.00")
    assert isinstance(payment, Payment) and payment.discount == D("0.00")
    assert invoice.status == InvoiceStatus.PARTIALLY_PAID
    assert invoice.paid_total == D("500.00") and invoice.amount_due == D("730.00")
    assert invoice.paid_on is None
    pay(invoice, admin, "730.00", reference="TR-2")
    assert invoice.status == InvoiceStatus.PAID and invoice.amount_due == D("0.00")
    assert invoice.paid_on == TODAY
    assert [p.amount for p in invoice.payments] == [D("500.00"), D("730.00")]
    assert len(events(invoice, "invoice.payment_recorded")) == 2
    assert len(events(invoice, "invoice.paid")) == 1
    with system(db.session):
        told = [str(n.message) for n in db.session.scalars(
            select(Notification).where(Notification.organization_id == world.polbud.id))]
    assert any("paid invoice" in t and "in full" in t for t in told)


def test_the_discount_settles_the_rest_within_its_window(invoice, admin):
    pay(invoice, admin, "1205.40", take_discount=True)
    assert invoice.status == InvoiceStatus.PAID
    assert invoice.discount_taken == D("24.60") and invoice.paid_total == D("1205.40")
    assert invoice.payments[0].discount == D("24.60")


def test_the_discount_after_a_partial_payment(invoice, admin):
    pay(invoice, admin, "200.00")
    pay(invoice, admin, "1005.40", take_discount=True)
    assert invoice.status == InvoiceStatus.PAID and invoice.amount_due == D("0.00")


def test_the_discount_only_when_the_payment_settles_the_rest(invoice, admin):
    with pytest.raises(ValidationProblem, match="exactly") as caught:
        pay(invoice, admin, "1000.00", take_discount=True)
    assert caught.value.field == "amount"
    assert invoice.status == InvoiceStatus.APPROVED and not invoice.payments


def test_no_discount_after_its_window(invoice, admin):
    late = TODAY + timedelta(days=3)
    with pytest.raises(ValidationProblem, match="until") as caught:
        buyer.record_payment(invoice, admin, paid_on=late, amount=D("1205.40"), take_discount=True,
                             today=late)
    assert caught.value.field == "take_discount"


def test_no_discount_where_there_is_none(app, world, admin):
    made = make_order(world, lines=(("Monitor", "1", "100.00"),))
    with services(app), acting_for(world.acme):
        from portal.models.order import PurchaseOrder

        order = db.session.get(PurchaseOrder, made.order_id)
        received(order)
        invoice = issued_invoice(order, issue_date=TODAY - timedelta(days=1))
        buyer.approve_invoice(invoice, admin)
        with pytest.raises(ValidationProblem, match="no early-payment discount"):
            pay(invoice, admin, "123.00", take_discount=True)


@pytest.mark.parametrize(("amount", "field", "words"), [
    ("0", "amount", "greater than zero"),
    ("-5", "amount", "greater than zero"),
    ("1230.01", "amount", "left to pay"),
    ("10.001", "amount", "to the cent"),
])
def test_amounts_refused(invoice, admin, amount, field, words):
    with pytest.raises(ValidationProblem, match=words) as caught:
        pay(invoice, admin, amount)
    assert caught.value.field == field


def test_dates_refused(invoice, admin):
    with pytest.raises(ValidationProblem, match="future"):
        pay(invoice, admin, "10.00", on=TODAY + timedelta(days=1))
    with pytest.raises(ValidationProblem, match="earlier"):
        pay(invoice, admin, "10.00", on=TODAY - timedelta(days=11))
    with pytest.raises(ValidationProblem) as caught:
        buyer.record_payment(invoice, admin, paid_on=None, amount=D("10"), today=TODAY)
    assert caught.value.field == "paid_on"


def test_only_admins_pay(invoice, world):
    with pytest.raises(PermissionDenied):
        pay(invoice, world.user("approver@acme"), "10.00")


def test_a_paid_invoice_takes_no_more_payments(invoice, admin):
    pay(invoice, admin, "1230.00")
    with pytest.raises(InvalidTransition, match="Only an approved invoice"):
        pay(invoice, admin, "1.00")


def test_an_issued_invoice_is_approved_before_it_is_paid(app, world, admin):
    made = make_order(world, lines=(("Monitor", "1", "100.00"),))
    with services(app), acting_for(world.acme):
        from portal.models.order import PurchaseOrder

        invoice = issued_invoice(db.session.get(PurchaseOrder, made.order_id), issue_date=TODAY)
        with pytest.raises(InvalidTransition):
            pay(invoice, admin, "10.00")


def test_a_credit_note_lowers_what_is_left(invoice, admin):
    from portal.models.order import PurchaseOrder

    order = db.session.get(PurchaseOrder, invoice.lines[0].order_id)
    issued_invoice(order, [(order.lines[0], "2", "100.00")], corrects=invoice, issue_date=TODAY)
    assert invoice.amount_due == D("984.00")
    with pytest.raises(ValidationProblem, match="left to pay"):
        pay(invoice, admin, "1230.00")
    pay(invoice, admin, "984.00")
    assert invoice.status == InvoiceStatus.PAID
