"""Drafting invoices on the supplier's side (portal/services/invoicing/drafting.py and
invoiceable.py): what was received and not yet invoiced or drafted, at the order's price and VAT
code; consolidated drafts; editing with refusals that save nothing; deleting; who may."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from sqlalchemy import select

from portal.errors import InvalidTransition, PermissionDenied, ValidationProblem
from portal.extensions import db
from portal.models import AuditEvent, SupplierLink
from portal.models.invoice import Invoice, InvoiceLine, InvoiceStatus
from portal.models.order import PurchaseOrder
from portal.policies import can
from portal.services.invoicing import drafting, invoiceable
from portal.services.invoicing.drafting import DraftLineInput
from portal.tenancy import system
from tests.factories import acting_for
from tests.kit import count, load
from tests.services.supplier_invoice_fixtures import (
    as_supplier,
    draft,
    edit,
    get,
    give_ibans,
    issue,
    link_of,
    received_order,
    stub_documents,  # noqa: F401 - fixture
)


@pytest.fixture(autouse=True)
def _world(world, stub_documents):  # noqa: F811
    give_ibans(world)


def test_a_draft_takes_what_was_received_at_the_order_price_and_code(world):
    made = received_order(world, receive={0: "4", 1: "5"})
    invoice_id = draft(world, made)
    with as_supplier(world):
        invoice = get(Invoice, invoice_id)
        assert invoice.status == InvoiceStatus.DRAFT and invoice.number is None
        assert (invoice.organization_id, invoice.supplier_id) == (world.acme.id, world.polbud.id)
        assert invoice.currency == "PLN" and invoice.language == "pl" and invoice.period is None
        order = get(PurchaseOrder, made.order_id)
        assert invoice.payment_terms == order.payment_terms
        assert [(ln.order_line_id, ln.quantity, ln.unit_price, ln.vat_code, ln.net) for ln in invoice.lines] == [
            (made.line_ids[0], D("4"), D("20.00"), "23", D("80.00")),
            (made.line_ids[1], D("5"), D("300.00"), "23", D("1500.00"))]
        # totals per code: 1580.00 × 23 % = 363.40
        assert (invoice.net_total, invoice.vat_total, invoice.gross_total) == (D("1580.00"), D("363.40"), D("1943.40"))
    assert count(AuditEvent, AuditEvent.action == "invoice.drafted", AuditEvent.object_id == invoice_id) == 1


def test_the_buyer_never_sees_a_draft(world):
    invoice_id = draft(world, received_order(world))
    with acting_for(world.acme):
        invoice = get(Invoice, invoice_id)
        assert not can(world.user("admin@acme"), "invoices.view", invoice)


def test_only_received_lines_and_nothing_twice(world):
    made = received_order(world, receive={0: "10"})
    invoice_id = draft(world, made)
    with as_supplier(world):
        assert [ln.order_line_id for ln in get(Invoice, invoice_id).lines] == [made.line_ids[0]]
    # drafted already: nothing left for a second draft
    with pytest.raises(ValidationProblem, match="Nothing received on these orders is left to invoice"):
        draft(world, made)
    nothing = received_order(world, receive={})
    with pytest.raises(ValidationProblem, match="Nothing received"):
        draft(world, nothing)


def test_invoiceable_quantities_and_orders(world):
    first = received_order(world, receive={0: "4"})
    received_order(world, receive={})  # nothing received: not listed
    third = received_order(world)
    link = link_of(world)
    with as_supplier(world):
        assert [o.id for o in invoiceable.invoiceable_orders(link)] == [third.order_id, first.order_id]
    invoice_id = draft(world, first)
    with as_supplier(world):
        assert [o.id for o in invoiceable.invoiceable_orders(link)] == [third.order_id]
        lines = invoiceable.open_lines([first.order_id])
        assert [(ol.received, ol.invoiced, ol.drafted, ol.open_quantity) for ol in lines] == [
            (D("4"), D(0), D("4"), D(0)), (D(0), D(0), D(0), D(0))]
        assert invoiceable.invoiced_quantities(first.line_ids) == {first.line_ids[0]: D(0), first.line_ids[1]: D(0)}
        assert invoiceable.invoiced_quantities(first.line_ids, include_drafts=True)[first.line_ids[0]] == D("4")
    issue(world, invoice_id)
    with as_supplier(world):
        assert invoiceable.invoiced_quantities(first.line_ids)[first.line_ids[0]] == D("4")
        assert not invoiceable.has_open_quantity(get(PurchaseOrder, first.order_id))
        assert invoiceable.has_open_quantity(get(PurchaseOrder, third.order_id))


def test_a_consolidated_draft_takes_the_links_terms(world):
    one, two = received_order(world), received_order(world, lines=(("Klej", "3", "12.50"),))
    invoice_id = draft(world, one, two)
    link = link_of(world)
    with as_supplier(world):
        invoice = get(Invoice, invoice_id)
        assert invoice.payment_terms == link.payment_terms
        assert {ln.order_id for ln in invoice.lines} == {one.order_id, two.order_id}
        assert len(invoice.lines) == 3 and [ln.position for ln in invoice.lines] == [1, 2, 3]


def test_orders_in_two_currencies_are_invoiced_separately(world):
    one, two = received_order(world), received_order(world)
    with system(db.session):
        db.session.get(PurchaseOrder, two.order_id).currency = "EUR"
        db.session.commit()
    with pytest.raises(ValidationProblem, match="different currencies"):
        draft(world, one, two)
    assert count(Invoice) == 0


def test_another_buyers_or_suppliers_order_is_refused(world):
    nordwind_order = received_order(world, supplier="nordwind")
    globex_order = received_order(world, supplier="nordwind", buyer="globex")
    with pytest.raises(ValidationProblem, match="Only orders of Acme"):
        draft(world, nordwind_order)  # Polbud cannot even see it
    with pytest.raises(ValidationProblem, match="Only orders of Acme"):
        draft(world, nordwind_order, globex_order, supplier="nordwind")
    with pytest.raises(ValidationProblem, match="at least one order"):
        draft(world)
    assert count(Invoice) == 0


def test_who_may_draft(world):
    made = received_order(world)
    link = link_of(world)
    with acting_for(world.acme), pytest.raises(PermissionDenied):
        drafting.draft_from_orders(db.session.get(SupplierLink, link.id), [made.order_id], world.user("admin@acme"))
    with system(db.session):
        db.session.get(SupplierLink, link.id).status = "blocked"
        db.session.commit()
    with pytest.raises(PermissionDenied, match="has blocked your account"):
        draft(world, made)


# ---------------------------------------------------------------- editing


def test_editing_a_draft_keeps_line_ids_and_records_what_changed(world):
    made = received_order(world)
    invoice_id = draft(world, made)
    with as_supplier(world):
        first_line_id = get(Invoice, invoice_id).lines[0].id
    edit(world, invoice_id, [(made.line_ids[0], "8", "19.50", "8")], language="en", notes="Rabat 2,5 %")
    with as_supplier(world):
        invoice = get(Invoice, invoice_id)
        assert [(ln.id, ln.quantity, ln.unit_price, ln.vat_code, ln.net, ln.vat) for ln in invoice.lines] == [
            (first_line_id, D("8"), D("19.50"), "8", D("156.00"), D("12.48"))]
        assert (invoice.net_total, invoice.vat_total, invoice.gross_total) == (D("156.00"), D("12.48"), D("168.48"))
        assert invoice.language == "en" and invoice.notes == "Rabat 2,5 %"
        assert invoice.status == InvoiceStatus.DRAFT
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "invoice.updated")
                               .execution_options(all_tenants=True)).one()
    assert {"lines", "gross", "language", "notes"} <= set(event.summary["changes"])


@pytest.mark.parametrize(("lines", "fields", "field", "words"), [
    ([(0, "-1", "20.00", "23")], {}, "lines-0-quantity", "quantity must be more than zero"),
    ([(0, "0", "20.00", "23")], {}, "lines-0-quantity", "quantity must be more than zero"),
    ([(0, "1.2345", "20.00", "23")], {}, "lines-0-quantity", "at most 3 decimal places"),
    ([(0, "1", "-5", "23")], {}, "lines-0-unit_price", "unit price must be more than zero"),
    ([(0, "1", "20.00", "17")], {}, "lines-0-vat_code", "Unknown VAT code"),
    ([(0, "1", "20.00", "23"), (0, "2", "20.00", "23")], {}, "lines", "appears twice"),
    ([], {}, "lines", "at least one line"),
    ([(0, "1", "20.00", "23")], {"language": "de"}, "language", "Polish or English"),
], ids=["negative", "zero", "decimals", "price", "vat-code", "twice", "empty", "language"])
def test_bad_edits_are_refused_and_save_nothing(world, lines, fields, field, words):
    made = received_order(world)
    invoice_id = draft(world, made)
    with as_supplier(world):
        before = get(Invoice, invoice_id).gross_total
    with pytest.raises(ValidationProblem, match=words) as refused:
        edit(world, invoice_id, [(made.line_ids[i], q, p, c) for i, q, p, c in lines], **fields)
    assert refused.value.field == field
    db.session.rollback()
    assert load(Invoice, invoice_id).gross_total == before
    assert count(AuditEvent, AuditEvent.action == "invoice.updated") == 0


def test_a_line_of_another_buyers_order_is_refused(world):
    made = received_order(world)
    invoice_id = draft(world, made)
    other = received_order(world, supplier="nordwind")
    with pytest.raises(ValidationProblem, match="Every line must come from an order of Acme"):
        edit(world, invoice_id, [(other.line_ids[0], "1", "20.00", "23")])


def test_deleting_a_draft_frees_its_quantities(world):
    made = received_order(world)
    invoice_id = draft(world, made)
    with as_supplier(world) as actor:
        drafting.delete_draft(get(Invoice, invoice_id), actor)
        db.session.commit()
    assert count(Invoice) == 0
    assert count(AuditEvent, AuditEvent.action == "invoice.deleted", AuditEvent.object_id == invoice_id) == 1
    assert draft(world, made)


def test_an_issued_invoice_refuses_every_edit(world):
    made = received_order(world)
    invoice_id = draft(world, made)
    issue(world, invoice_id)
    with pytest.raises(InvalidTransition, match="can no longer be changed"):
        edit(world, invoice_id, [(made.line_ids[0], "1", "20.00", "23")])
    db.session.rollback()
    with as_supplier(world) as actor, pytest.raises(InvalidTransition, match="can no longer be changed"):
        drafting.delete_draft(get(Invoice, invoice_id), actor)
    db.session.rollback()
    invoice = load(Invoice, invoice_id)
    assert invoice.status == InvoiceStatus.ISSUED
    assert count(InvoiceLine, InvoiceLine.invoice_id == invoice_id) == 2


def test_a_buyer_cannot_edit_a_suppliers_draft(world):
    made = received_order(world)
    invoice_id = draft(world, made)
    with acting_for(world.acme), pytest.raises(PermissionDenied):
        drafting.update_draft(get(Invoice, invoice_id), world.user("admin@acme"), lines=[
            DraftLineInput(made.line_ids[0], D("1"), D("1"), "23")], language="pl", notes="", sale_date=None,
            annex15=False, exchange_rate=None, exchange_rate_date=None)
