"""The legal basis of a VAT exemption on invoices (art. 106e ust. 1 pkt 19): chosen on the
draft (`drafting.update_draft`), required at issue when a line is `zw` (`issuing.issue_invoice`
refuses naming the field, no number taken), cleared on an invoice without `zw` lines, carried
to a credit note of exempt lines, and a supplier's usual basis (company profile) copied to its
new drafts."""

from __future__ import annotations

from datetime import date

import pytest

from portal.errors import ValidationProblem
from portal.extensions import db
from portal.models import Organization
from portal.models.invoice import Invoice, InvoiceStatus
from portal.services import orgs
from portal.services.invoicing import issuing
from portal.tenancy import system
from tests.factories import acting_for
from tests.services.supplier_invoice_fixtures import (
    as_supplier,
    draft,
    edit,
    get,
    give_ibans,
    issue,
    received_order,
    stub_documents,  # noqa: F401 - fixture
)

YEAR = date.today().year
TRAINING = "art. 43 ust. 1 pkt 29 lit. b ustawy o VAT"


@pytest.fixture(autouse=True)
def _world(world):
    give_ibans(world)


def exempt_draft(world, *, second_code="zw", **fields) -> int:
    """A Polbud draft whose second line is `second_code`, saved with `fields`."""
    made = received_order(world)
    invoice_id = draft(world, made)
    edit(world, invoice_id, [(made.line_ids[0], "10", "20.00", "23"), (made.line_ids[1], "5", "300.00", second_code)],
         **fields)
    return invoice_id


def basis_of(world, invoice_id):
    with as_supplier(world):
        invoice = get(Invoice, invoice_id)
        return invoice.exemption_basis_kind, invoice.exemption_basis


def test_a_draft_keeps_the_basis_chosen_and_the_invoice_is_issued_with_it(world, stub_documents):  # noqa: F811
    invoice_id = exempt_draft(world, exemption_basis_kind="ustawa", exemption_basis=f"  {TRAINING} ")
    assert basis_of(world, invoice_id) == ("ustawa", TRAINING)
    assert issue(world, invoice_id) == f"FV/{YEAR}/000001"
    assert basis_of(world, invoice_id) == ("ustawa", TRAINING)


def test_saving_a_zw_line_without_a_basis_is_refused_naming_the_field(world):
    made = received_order(world)
    invoice_id = draft(world, made)
    lines = [(made.line_ids[0], "10", "20.00", "zw"), (made.line_ids[1], "5", "300.00", "23")]
    with pytest.raises(ValidationProblem) as refused:
        edit(world, invoice_id, lines, exemption_basis_kind="ustawa", exemption_basis="")
    assert refused.value.field == "exemption_basis"
    db.session.rollback()
    with pytest.raises(ValidationProblem) as refused:
        edit(world, invoice_id, lines, exemption_basis_kind="dyrektywa", exemption_basis="art. 43\x07")
    assert refused.value.field == "exemption_basis"
    db.session.rollback()
    with pytest.raises(ValidationProblem) as refused:
        edit(world, invoice_id, lines, exemption_basis_kind="ustawa", exemption_basis="x" * 257)
    assert refused.value.field == "exemption_basis"
    db.session.rollback()
    with as_supplier(world):
        assert [line.vat_code for line in get(Invoice, invoice_id).lines] == ["23", "23"]  # nothing saved


def test_issuing_a_zw_line_without_a_basis_is_refused_and_takes_no_number(world, stub_documents):  # noqa: F811
    invoice_id = exempt_draft(world, exemption_basis_kind="ustawa", exemption_basis=TRAINING)
    with system(db.session):  # a draft saved before the basis was asked for (or by another path)
        found = db.session.get(Invoice, invoice_id)
        found.exemption_basis_kind, found.exemption_basis = None, ""
        db.session.commit()
    with pytest.raises(ValidationProblem) as refused:
        issue(world, invoice_id)
    db.session.rollback()
    assert refused.value.field == "exemption_basis"
    assert "exempt (zw)" in str(refused.value.message)
    with as_supplier(world):
        invoice = get(Invoice, invoice_id)
        assert invoice.status == InvoiceStatus.DRAFT and invoice.number is None
    assert stub_documents == []
    edit(world, invoice_id, [(line[0], line[1], line[2], line[3]) for line in _lines(world, invoice_id)],
         exemption_basis_kind="inna", exemption_basis="umowa międzynarodowa")
    assert issue(world, invoice_id) == f"FV/{YEAR}/000001"  # the number refused above is still free


def _lines(world, invoice_id):
    with as_supplier(world):
        return [(ln.order_line_id, str(ln.quantity), str(ln.unit_price), ln.vat_code)
                for ln in get(Invoice, invoice_id).lines]


def test_without_zw_lines_no_basis_is_required_nor_kept(world, stub_documents):  # noqa: F811
    invoice_id = exempt_draft(world, second_code="23", exemption_basis_kind="ustawa", exemption_basis=TRAINING)
    assert basis_of(world, invoice_id) == ("ustawa", TRAINING)  # kept on the draft for a later zw line
    issue(world, invoice_id)
    assert basis_of(world, invoice_id) == (None, "")
    plain = exempt_draft(world, second_code="23", exemption_basis_kind="ustawa", exemption_basis="")
    assert basis_of(world, plain) == (None, "")


def test_a_credit_note_of_exempt_lines_carries_the_basis_one_of_taxed_lines_does_not(world, stub_documents):  # noqa: F811
    invoice_id = exempt_draft(world, exemption_basis_kind="dyrektywa",
                              exemption_basis="art. 132 ust. 1 lit. i dyrektywy 2006/112/WE")
    issue(world, invoice_id)
    with as_supplier(world) as actor:
        original = get(Invoice, invoice_id)
        exempt_line, taxed_line = original.lines[1], original.lines[0]
        note = issuing.issue_credit_note(original, actor, reason="Szkolenie skrócone", lines=[
            issuing.CreditLineInput(invoice_line_id=exempt_line.id, quantity=exempt_line.quantity)])
        assert (note.exemption_basis_kind, note.exemption_basis) == (
            "dyrektywa", "art. 132 ust. 1 lit. i dyrektywy 2006/112/WE")
        other = issuing.issue_credit_note(original, actor, reason="Zwrot papieru", lines=[
            issuing.CreditLineInput(invoice_line_id=taxed_line.id, quantity=taxed_line.quantity)])
        assert (other.exemption_basis_kind, other.exemption_basis) == (None, "")
        db.session.commit()


def test_the_suppliers_usual_basis_is_copied_to_its_new_drafts(world):
    with acting_for(world.polbud):
        polbud = db.session.get(Organization, world.polbud.id)
        orgs.update_profile(polbud, actor=world.user("sales@polbud"), **_profile(polbud),
                            exemption_basis_kind="ustawa", exemption_basis=" art. 113 ust. 1 ustawy o VAT ")
        db.session.commit()
        assert (polbud.exemption_basis_kind, polbud.exemption_basis) == ("ustawa", "art. 113 ust. 1 ustawy o VAT")
    invoice_id = draft(world, received_order(world))
    assert basis_of(world, invoice_id) == ("ustawa", "art. 113 ust. 1 ustawy o VAT")


def test_the_usual_basis_is_checked_and_may_be_removed(world):
    with acting_for(world.polbud):
        polbud = db.session.get(Organization, world.polbud.id)
        admin = world.user("sales@polbud")
        with pytest.raises(ValidationProblem) as refused:
            orgs.update_profile(polbud, actor=admin, **_profile(polbud), exemption_basis_kind="",
                                exemption_basis="art. 113 ust. 1 ustawy o VAT")
        assert refused.value.field == "exemption_basis_kind"
        db.session.rollback()
        orgs.update_profile(polbud, actor=admin, **_profile(polbud), exemption_basis_kind="inna",
                            exemption_basis="umowa międzynarodowa")
        orgs.update_profile(polbud, actor=admin, **_profile(polbud), exemption_basis_kind="", exemption_basis="")
        assert (polbud.exemption_basis_kind, polbud.exemption_basis) == (None, "")
        db.session.rollback()


def _profile(org) -> dict:
    return {name: getattr(org, name) for name in orgs.PROFILE_FIELDS}
