"""Credit notes (portal/services/invoicing/issuing.py issue_credit_note): whole and per line,
their own gap-free series, positive amounts that reduce what the original owes (to the grosz,
however many notes), never more than remains, refused for drafts, settled invoices and credit
notes, the quantity invoiceable again when goods are credited at their price."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from portal.errors import InvalidTransition, PermissionDenied, ValidationProblem
from portal.extensions import db
from portal.models import AuditEvent, Notification
from portal.models.invoice import Invoice, InvoiceKind, InvoiceStatus
from portal.services.invoicing import invoiceable, issuing
from portal.services.invoicing.issuing import CreditLineInput
from portal.tenancy import system
from tests.factories import acting_for
from tests.kit import count, load
from tests.services.supplier_invoice_fixtures import (
    as_supplier,
    draft,
    get,
    give_ibans,
    issue,
    received_order,
    stub_documents,  # noqa: F401 - fixture
)

YEAR = date.today().year


@pytest.fixture(autouse=True)
def _world(world, stub_documents):  # noqa: F811
    give_ibans(world)


@pytest.fixture
def issued(world):
    """An issued invoice of Polbud to Acme: 10 × 20.00 and 5 × 300.00 at 23 % (1700.00 net,
    391.00 VAT, 2091.00 gross); returns (invoice id, order)."""
    made = received_order(world)
    invoice_id = draft(world, made)
    issue(world, invoice_id)
    return invoice_id, made


def credit(world, invoice_id, lines=None, reason="Towar uszkodzony"):
    with as_supplier(world) as actor:
        note = issuing.issue_credit_note(get(Invoice, invoice_id), actor, reason=reason, lines=lines)
        db.session.commit()
        return note.id


def _lines(world, invoice_id):
    with as_supplier(world):
        return [line.id for line in get(Invoice, invoice_id).lines]


def test_a_whole_credit_note_cancels_the_invoice(world, issued, stub_documents):  # noqa: F811
    invoice_id, made = issued
    note_id = credit(world, invoice_id)
    with as_supplier(world):
        note, original = get(Invoice, note_id), get(Invoice, invoice_id)
        assert note.kind == InvoiceKind.CREDIT_NOTE and note.number == f"KOR/{YEAR}/000001"
        assert note.status == InvoiceStatus.ISSUED and note.corrects_id == invoice_id
        assert note.correction_reason == "Towar uszkodzony"
        assert [(ln.corrects_line_id, ln.quantity, ln.unit_price, ln.net) for ln in note.lines] == [
            (original.lines[0].id, D("10"), D("20.00"), D("200.00")),
            (original.lines[1].id, D("5"), D("300.00"), D("1500.00"))]
        assert (note.net_total, note.vat_total, note.gross_total) == (D("1700.00"), D("391.00"), D("2091.00"))
        assert original.credited_total == D("2091.00") and original.amount_due == D("0.00")
        assert original.status == InvoiceStatus.CREDITED
        assert note.parties == original.parties
        # goods credited at their price are invoiceable again
        assert invoiceable.invoiced_quantities(made.line_ids) == {made.line_ids[0]: D(0), made.line_ids[1]: D(0)}
    assert stub_documents[-1] == f"KOR/{YEAR}/000001"
    assert count(AuditEvent, AuditEvent.action == "invoice.credited") == 2
    told = db.session.scalars(select(Notification).execution_options(all_tenants=True)
                              .where(Notification.kind == "invoice.credit_note")).all()
    assert len(told) == 3  # Acme's admin and approvers
    assert draft(world, made)


def test_per_line_credit_notes_reduce_what_is_owed(world, issued):
    invoice_id, made = issued
    first, second = _lines(world, invoice_id)
    note_id = credit(world, invoice_id, [CreditLineInput(second, D("2"))])
    with as_supplier(world):
        note, original = get(Invoice, note_id), get(Invoice, invoice_id)
        assert (note.net_total, note.vat_total, note.gross_total) == (D("600.00"), D("138.00"), D("738.00"))
        assert original.amount_due == D("1353.00") and original.status == InvoiceStatus.ISSUED
        remaining = {c.line.id: (c.remaining_quantity, c.remaining_net) for c in issuing.creditable_lines(original)}
        assert remaining == {first: (D("10"), D("200.00")), second: (D("3"), D("900.00"))}
        assert invoiceable.invoiced_quantities([made.line_ids[1]]) == {made.line_ids[1]: D("3")}
    with pytest.raises(ValidationProblem, match="at most 3.000 is left to credit") as refused:
        credit(world, invoice_id, [CreditLineInput(second, D("4"))])
    assert refused.value.field == "lines-0-quantity"
    db.session.rollback()
    second_note = credit(world, invoice_id)  # the rest, whole
    with as_supplier(world):
        assert get(Invoice, second_note).number == f"KOR/{YEAR}/000002"
        assert get(Invoice, second_note).gross_total == D("1353.00")
        assert get(Invoice, invoice_id).amount_due == D("0.00")
    with pytest.raises(InvalidTransition, match="correct only an issued invoice that is not settled"):
        credit(world, invoice_id)


def test_a_price_correction_keeps_the_quantity_invoiced(world, issued):
    invoice_id, made = issued
    first, _second = _lines(world, invoice_id)
    note_id = credit(world, invoice_id, [CreditLineInput(first, D("10"), D("1.50"))], reason="Rabat")
    with as_supplier(world):
        note = get(Invoice, note_id)
        assert (note.lines[0].unit_price, note.net_total, note.gross_total) == (D("1.50"), D("15.00"), D("18.45"))
        assert invoiceable.invoiced_quantities([made.line_ids[0]]) == {made.line_ids[0]: D("10")}
    with pytest.raises(ValidationProblem, match="more than the invoiced unit price"):
        credit(world, invoice_id, [CreditLineInput(first, D("1"), D("25.00"))])
    db.session.rollback()
    credit(world, invoice_id)  # what remains: 185.00 of the first line and the second line
    with as_supplier(world):
        assert get(Invoice, invoice_id).amount_due == D("0.00")


def test_credit_notes_of_half_grosz_lines_add_up_to_the_invoice(world):
    """3 × 0.125 = 0.375 → 0.38 net, 0.09 VAT; one unit at a time credits 0.13 + 0.13 + the rest
    0.12, and VAT 0.03 + 0.03 + what remains (0.03): together exactly the invoice."""
    made = received_order(world, lines=(("Podkładka", "3", "0.125"),))
    invoice_id = draft(world, made)
    issue(world, invoice_id)
    (line_id,) = _lines(world, invoice_id)
    notes = [credit(world, invoice_id, [CreditLineInput(line_id, D("1"))]) for _ in range(2)]
    notes.append(credit(world, invoice_id))
    with as_supplier(world):
        original = get(Invoice, invoice_id)
        assert (original.net_total, original.vat_total, original.gross_total) == (D("0.38"), D("0.09"), D("0.47"))
        got = [(get(Invoice, n).net_total, get(Invoice, n).vat_total) for n in notes]
        assert got == [(D("0.13"), D("0.03")), (D("0.13"), D("0.03")), (D("0.12"), D("0.03"))]
        assert original.amount_due == D("0.00") and original.status == InvoiceStatus.CREDITED
        # the per-code VAT each note was issued with, read back from the stored rows
        assert [invoiceable.credit_vat_by_code(get(Invoice, n)) for n in notes] == [
            {"23": D("0.03")}, {"23": D("0.03")}, {"23": D("0.03")}]


def test_a_credit_note_never_exceeds_what_is_owed(world, issued):
    invoice_id, _made = issued
    with system(db.session):
        invoice = db.session.get(Invoice, invoice_id)
        invoice.status, invoice.paid_total = InvoiceStatus.PARTIALLY_PAID, D("2000.00")
        db.session.commit()
    with pytest.raises(ValidationProblem, match="more than the invoice still owes"):
        credit(world, invoice_id)
    db.session.rollback()
    first, second = _lines(world, invoice_id)
    with pytest.raises(ValidationProblem, match="more than the invoice still owes"):
        credit(world, invoice_id, [CreditLineInput(second, D("1"))])  # 369.00 of the 91.00 owed
    db.session.rollback()
    credit(world, invoice_id, [CreditLineInput(first, D("1"))])  # 24.60 fits
    with as_supplier(world):
        original = get(Invoice, invoice_id)
        assert original.amount_due == D("66.40") and original.status == InvoiceStatus.PARTIALLY_PAID


def test_credit_note_refusals(world, issued):
    invoice_id, made = issued
    first, _second = _lines(world, invoice_id)
    with pytest.raises(ValidationProblem, match="Say why") as refused:
        credit(world, invoice_id, reason="  ")
    assert refused.value.field == "reason"
    db.session.rollback()
    for lines, words in [([], "at least one line"), ([CreditLineInput(first, D("0"))], "more than zero"),
                         ([CreditLineInput(first, D("-1"))], "more than zero"),
                         ([CreditLineInput(first, D("1")), CreditLineInput(first, D("1"))], "twice"),
                         ([CreditLineInput(999999, D("1"))], "Only lines of the corrected invoice")]:
        with pytest.raises(ValidationProblem, match=words):
            credit(world, invoice_id, lines)
        db.session.rollback()
    assert count(Invoice, Invoice.kind == InvoiceKind.CREDIT_NOTE) == 0
    with system(db.session):
        assert db.session.get(Invoice, invoice_id).credited_total == D("0.00")
    note_id = credit(world, invoice_id, [CreditLineInput(first, D("1"))])
    with pytest.raises(InvalidTransition, match="A credit note is issued once"):
        credit(world, note_id)
    db.session.rollback()
    a_draft = draft(world, received_order(world))
    with pytest.raises(InvalidTransition, match="this one is a draft"):
        credit(world, a_draft)
    db.session.rollback()
    with acting_for(world.acme), pytest.raises(PermissionDenied):
        issuing.issue_credit_note(get(Invoice, invoice_id), world.user("admin@acme"), reason="x")
    db.session.rollback()
    with system(db.session):
        db.session.get(Invoice, invoice_id).status = InvoiceStatus.PAID
        db.session.commit()
    with pytest.raises(InvalidTransition, match="this one is paid"):
        credit(world, invoice_id)
    assert load(Invoice, invoice_id).status == InvoiceStatus.PAID
