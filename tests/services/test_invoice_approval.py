"""The buyer approves an invoice for payment (budget: the order's commitment becomes an actual,
the rest released once the order is wholly invoiced), overrides a mismatch (an admin, with a
reason), or disputes it. portal/services/invoicing/buyer.py."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.domain.budget import EntryKind, OverrunPolicy, PeriodKind
from portal.errors import InvalidTransition, NotFound, PermissionDenied, ValidationProblem
from portal.extensions import db
from portal.models import AuditEvent, BudgetEntry, Notification, SupplierLink
from portal.models.base import utcnow
from portal.models.invoice import InvoiceStatus, MatchStatus
from portal.models.order import OrderSource
from portal.services import approvals, budgets
from portal.services.invoicing import buyer, queries
from portal.services.orders.issue import OrderLineInput, issue_order
from portal.tenancy import system
from tests.factories import make_requisition
from tests.kit import acme_kit, acting_for, approve_all, services
from tests.services.buyer_invoice_fixtures import issued_invoice, received

D = Decimal
YEAR = utcnow().year


@pytest.fixture(autouse=True)
def _quick_pdf(monkeypatch):
    from portal.services.orders import documents

    monkeypatch.setattr(documents, "render_order_pdf", lambda order: b"%PDF-1.7 " + order.number.encode())


@pytest.fixture
def kit(app, world):
    with services(app):
        kit = acme_kit(world, board=False)
        with acting_for(kit.org):
            yield kit


def make_budget(kit, amount="10000"):
    made = budgets.create_budget(kit.admin, cost_center=kit.cc_it, name="IT", period_kind=PeriodKind.YEAR,
                                 starts_on=date(YEAR, 1, 1), ends_on=date(YEAR, 12, 31), amount=D(amount),
                                 currency="PLN", overrun_policy=OverrunPolicy.BLOCK)
    db.session.flush()
    return made


def ordered(kit, world, lines=(("Monitor", "10", "100.00", "23"),)):
    """An issued order of Acme to Polbud from an approved requisition: its net committed."""
    req = make_requisition(kit.buyer, cost_center=kit.cc_it, lines=list(lines))
    approvals.submit(req, kit.buyer)
    approve_all(req)
    with system(db.session):
        link = db.session.scalars(select(SupplierLink).where(
            SupplierLink.organization_id == world.acme.id, SupplierLink.supplier_id == world.polbud.id)).one()
    return issue_order(kit.buyer, link=link, source=OrderSource.RFQ, lines=[
        OrderLineInput(ln.description, ln.quantity, ln.unit, ln.unit_price, "23", requisition_line_id=ln.id)
        for ln in req.lines])


def ledger(budget_id, source_type=None):
    query = select(BudgetEntry).where(BudgetEntry.budget_id == budget_id).order_by(BudgetEntry.id)
    if source_type:
        query = query.where(BudgetEntry.source_type == source_type)
    return [(e.kind, e.amount) for e in db.session.scalars(query)]


def events(obj, action):
    return db.session.scalars(select(AuditEvent).where(
        AuditEvent.object_type == type(obj).__name__, AuditEvent.object_id == obj.id,
        AuditEvent.action == action)).all()


def supplier_told(world, words):
    with system(db.session):
        found = db.session.scalars(select(Notification).where(
            Notification.organization_id == world.polbud.id)).all()
    return [n for n in found if words in str(n.message)]


# ---------------------------------------------------------------- approve


def test_approving_turns_the_commitment_into_an_actual_per_order(kit, world):
    b = make_budget(kit)
    order = ordered(kit, world)
    received(order)
    assert budgets.balances_of(b).committed == D("1000.00")
    invoice = issued_invoice(order, [(order.lines[0], "6", "100.00")])
    buyer.approve_invoice(invoice, kit.approver)
    assert invoice.status == InvoiceStatus.APPROVED
    assert invoice.approved_by_id == kit.approver.id and invoice.approved_at is not None
    balances = budgets.balances_of(b)
    assert (balances.committed, balances.actual) == (D("400.00"), D("600.00"))
    assert ledger(b.id, buyer.INVOICE) == [(EntryKind.ACTUAL, D("600.00"))]
    assert order.committed == D("400.00")
    assert len(events(invoice, "invoice.approved")) == 1
    assert supplier_told(world, "approved invoice")


def test_the_last_invoice_of_an_order_releases_what_remains_committed(kit, world):
    b = make_budget(kit)
    order = ordered(kit, world)
    received(order)
    first = issued_invoice(order, [(order.lines[0], "6", "100.00")])
    buyer.approve_invoice(first, kit.approver)
    # The rest is invoiced cheaper: 4 × 90 = 360 converts, the 40 left is released.
    last = issued_invoice(order, [(order.lines[0], "4", "90.00")])
    buyer.approve_invoice(last, kit.admin)
    balances = budgets.balances_of(b)
    assert (balances.committed, balances.actual) == (D("0.00"), D("960.00"))
    assert balances.available == D("9040.00")
    assert order.committed == D("0.00")


def test_an_order_received_short_is_wholly_invoiced_by_what_arrived(kit, world):
    b = make_budget(kit)
    order = ordered(kit, world)
    received(order, {order.lines[0].id: "8"})
    with system(db.session):
        order.status = "received"  # the rest was rejected: delivery is over
    invoice = issued_invoice(order, [(order.lines[0], "8", "100.00")])
    buyer.approve_invoice(invoice, kit.approver)
    balances = budgets.balances_of(b)
    assert (balances.committed, balances.actual) == (D("0.00"), D("800.00"))


def test_an_order_still_to_deliver_keeps_its_commitment(kit, world):
    b = make_budget(kit)
    order = ordered(kit, world)
    received(order, {order.lines[0].id: "5"})
    invoice = issued_invoice(order, [(order.lines[0], "5", "100.00")])
    buyer.approve_invoice(invoice, kit.approver)
    assert budgets.balances_of(b).committed == D("500.00")


def test_an_order_without_a_budget_posts_nothing(kit, world):
    order = ordered(kit, world)
    received(order)
    invoice = issued_invoice(order)
    buyer.approve_invoice(invoice, kit.approver)
    assert invoice.status == InvoiceStatus.APPROVED
    assert not db.session.scalars(select(BudgetEntry).where(BudgetEntry.source_type == buyer.INVOICE)).all()


def test_credit_notes_issued_before_approval_reduce_the_actual(kit, world):
    b = make_budget(kit)
    order = ordered(kit, world)
    received(order)
    invoice = issued_invoice(order)
    issued_invoice(order, [(order.lines[0], "2", "100.00")], corrects=invoice)
    buyer.approve_invoice(invoice, kit.approver)
    assert ledger(b.id, buyer.INVOICE) == [(EntryKind.ACTUAL, D("800.00"))]


def test_buyers_read_but_do_not_approve(kit, world):
    order = ordered(kit, world)
    invoice = issued_invoice(order)
    with pytest.raises(PermissionDenied):
        buyer.approve_invoice(invoice, kit.buyer)


def test_an_approved_invoice_is_not_approved_twice(kit, world):
    order = ordered(kit, world)
    received(order)
    invoice = issued_invoice(order)
    buyer.approve_invoice(invoice, kit.approver)
    with pytest.raises(InvalidTransition):
        buyer.approve_invoice(invoice, kit.approver)
    assert len(events(invoice, "invoice.approved")) == 1


def test_a_credit_note_is_never_approved(kit, world):
    order = ordered(kit, world)
    invoice = issued_invoice(order)
    note = issued_invoice(order, [(order.lines[0], "1", "100.00")], corrects=invoice)
    with pytest.raises(InvalidTransition, match="credit note"):
        buyer.approve_invoice(note, kit.admin)


def test_another_companys_invoice_is_not_found(kit, world):
    order = ordered(kit, world)
    invoice = issued_invoice(order)
    globex_admin = world.user("admin@globex")
    with pytest.raises(NotFound):
        buyer.approve_invoice(invoice, globex_admin)


def test_a_draft_is_invisible_to_the_buyer(kit, world):
    order = ordered(kit, world)
    draft = issued_invoice(order, status=InvoiceStatus.DRAFT, number=None)
    assert buyer.get_for_buyer(draft.id) is None
    with pytest.raises(PermissionDenied):
        buyer.approve_invoice(draft, kit.admin)


# ---------------------------------------------------------------- mismatch override


def test_a_mismatched_invoice_needs_an_admin(kit, world):
    order = ordered(kit, world)
    invoice = issued_invoice(order, problems={1: "More than was received"})
    with pytest.raises(PermissionDenied, match="only an admin"):
        buyer.approve_invoice(invoice, kit.approver, override_reason="fine")
    assert invoice.status == InvoiceStatus.ISSUED


def test_the_admin_must_say_why(kit, world):
    order = ordered(kit, world)
    invoice = issued_invoice(order, problems={1: "More than was received"})
    with pytest.raises(ValidationProblem) as caught:
        buyer.approve_invoice(invoice, kit.admin, override_reason="  ")
    assert caught.value.field == "override_reason"
    assert invoice.status == InvoiceStatus.ISSUED and invoice.match_status == MatchStatus.MISMATCHED


def test_the_admin_overrides_a_mismatch_with_a_reason(kit, world):
    b = make_budget(kit)
    order = ordered(kit, world)
    received(order, {order.lines[0].id: "5"})
    invoice = issued_invoice(order, [(order.lines[0], "6", "100.00")], problems={1: "More than was received"})
    buyer.approve_invoice(invoice, kit.admin, override_reason="The sixth arrived late, checked in person")
    assert invoice.status == InvoiceStatus.APPROVED
    assert invoice.match_status == MatchStatus.OVERRIDDEN
    assert invoice.match_override_reason == "The sixth arrived late, checked in person"
    assert invoice.match_override_by_id == kit.admin.id
    overridden = events(invoice, "invoice.match_overridden")
    assert len(overridden) == 1 and "late" in overridden[0].comment
    assert budgets.balances_of(b).actual == D("600.00")


# ---------------------------------------------------------------- dispute


def test_disputing_needs_a_reason_and_tells_the_supplier(kit, world):
    order = ordered(kit, world)
    invoice = issued_invoice(order)
    with pytest.raises(ValidationProblem) as caught:
        buyer.dispute_invoice(invoice, kit.buyer, reason="")
    assert caught.value.field == "reason"
    buyer.dispute_invoice(invoice, kit.buyer, reason="Two monitors arrived broken")
    assert invoice.status == InvoiceStatus.DISPUTED
    assert invoice.dispute_reason == "Two monitors arrived broken" and invoice.disputed_by_id == kit.buyer.id
    assert len(events(invoice, "invoice.disputed")) == 1
    assert supplier_told(world, "Two monitors arrived broken")


def test_a_disputed_invoice_is_not_disputed_again_but_may_be_approved(kit, world):
    order = ordered(kit, world)
    received(order)
    invoice = issued_invoice(order)
    buyer.dispute_invoice(invoice, kit.buyer, reason="Wrong price")
    with pytest.raises(InvalidTransition):
        buyer.dispute_invoice(invoice, kit.buyer, reason="Again")
    buyer.approve_invoice(invoice, kit.approver)
    assert invoice.status == InvoiceStatus.APPROVED


def test_an_approved_invoice_is_not_disputed(kit, world):
    order = ordered(kit, world)
    received(order)
    invoice = issued_invoice(order)
    buyer.approve_invoice(invoice, kit.approver)
    with pytest.raises(InvalidTransition):
        buyer.dispute_invoice(invoice, kit.buyer, reason="Late")


# ---------------------------------------------------------------- facts


def test_invoiced_quantities_count_issued_invoices_less_credit_notes(kit, world):
    order = ordered(kit, world)
    received(order, {order.lines[0].id: "7"})
    first = issued_invoice(order, [(order.lines[0], "3", "100.00")])
    issued_invoice(order, [(order.lines[0], "4", "100.00")])
    issued_invoice(order, [(order.lines[0], "1", "100.00")], corrects=first)
    issued_invoice(order, [(order.lines[0], "2", "100.00")], status=InvoiceStatus.DRAFT, number=None)
    line_id = order.lines[0].id
    assert buyer.invoiced_quantities([line_id]) == {line_id: D("6")}
    buyer.approve_invoice(first, kit.approver)
    assert buyer.invoiced_quantities([line_id], buyer.APPROVED) == {line_id: D("2")}


def test_overdue_is_derived_from_the_due_date(kit, world):
    order = ordered(kit, world)
    invoice = issued_invoice(order, issue_date=date.today() - timedelta(days=40), due_days=30)
    assert queries.is_overdue(invoice, date.today())
    invoice.status = InvoiceStatus.PAID
    assert not queries.is_overdue(invoice, date.today())
