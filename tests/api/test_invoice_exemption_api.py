"""The exemption basis in the invoices API: read-only `vat_exemption_basis_kind` and
`vat_exemption_basis` on an invoice's and a credit note's detail (null without one), in the
OpenAPI document; an issue of exempt lines without a basis is refused (422) naming it, with the
supplier's usual basis (company profile) it is issued."""

from __future__ import annotations

from portal.extensions import db
from portal.models import Organization
from portal.models.invoice import Invoice
from portal.services.invoicing import issuing
from tests.factories import acting_for
from tests.services.supplier_invoice_fixtures import (
    as_supplier,
    draft,
    edit,
    get,
    give_ibans,
    issue,
    received_order,
)

BUYER, SELLER = "buyer@acme.example", "sales@polbud.example"
TRAINING = "art. 43 ust. 1 pkt 29 lit. b ustawy o VAT"


def _exempt_invoice(world, monkeypatch) -> int:
    monkeypatch.setattr(issuing, "_store_documents", lambda invoice: None)
    give_ibans(world)
    made = received_order(world)
    invoice_id = draft(world, made)
    edit(world, invoice_id, [(made.line_ids[0], "10", "20.00", "23"), (made.line_ids[1], "5", "300.00", "zw")],
         exemption_basis_kind="ustawa", exemption_basis=TRAINING)
    issue(world, invoice_id)
    return invoice_id


def test_an_invoice_and_its_credit_note_show_the_basis_read_only(world, api, monkeypatch):
    invoice_id = _exempt_invoice(world, monkeypatch)
    found = api(BUYER).get(f"/invoices/{invoice_id}", status=200)
    assert (found["vat_exemption_basis_kind"], found["vat_exemption_basis"]) == ("ustawa", TRAINING)
    with as_supplier(world) as actor:
        original = get(Invoice, invoice_id)
        note = issuing.issue_credit_note(original, actor, reason="Szkolenie skrócone", lines=[
            issuing.CreditLineInput(invoice_line_id=original.lines[1].id, quantity=original.lines[1].quantity)])
        db.session.commit()
        note_id = note.id
    credited = api(SELLER).get(f"/credit-notes/{note_id}", status=200)
    assert (credited["vat_exemption_basis_kind"], credited["vat_exemption_basis"]) == ("ustawa", TRAINING)


def test_without_exempt_lines_the_basis_is_null(world, api, monkeypatch):
    monkeypatch.setattr(issuing, "_store_documents", lambda invoice: None)
    give_ibans(world)
    invoice_id = draft(world, received_order(world))
    issue(world, invoice_id)
    found = api(BUYER).get(f"/invoices/{invoice_id}", status=200)
    assert found["vat_exemption_basis_kind"] is None and found["vat_exemption_basis"] is None


def test_the_openapi_document_marks_the_basis_read_only(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    for name in ("InvoiceDetail", "CreditNoteDetail"):
        properties = document["components"]["schemas"][name]["properties"]
        assert properties["vat_exemption_basis"]["readOnly"] is True
        assert properties["vat_exemption_basis_kind"]["enum"][:3] == ["ustawa", "dyrektywa", "inna"]


def test_issuing_exempt_lines_needs_a_basis_the_suppliers_usual_one_will_do(world, api, monkeypatch):
    monkeypatch.setattr(issuing, "_store_documents", lambda invoice: None)
    give_ibans(world)
    made = received_order(world, lines=(("Szkolenie BHP", "1", "900.00"),))
    with acting_for(world.acme):
        from portal.models.order import PurchaseOrderLine

        db.session.get(PurchaseOrderLine, made.line_ids[0]).vat_code = "zw"
        db.session.commit()
    seller = api(SELLER)
    refused = seller.post("/invoices", {"order_ids": [made.order_id]}, status=422)
    assert "exempt (zw)" in refused["detail"] or "exempt (zw)" in str(refused)
    with acting_for(world.polbud):
        org = db.session.get(Organization, world.polbud.id)
        org.exemption_basis_kind, org.exemption_basis = "ustawa", "art. 43 ust. 1 pkt 29 lit. c ustawy o VAT"
        db.session.commit()
    issued = seller.post("/invoices", {"order_ids": [made.order_id]}, status=201)
    assert issued["vat_exemption_basis"] == "art. 43 ust. 1 pkt 29 lit. c ustawy o VAT"
