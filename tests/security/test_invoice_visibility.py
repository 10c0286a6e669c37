"""Who sees which invoice (issue 11, "who sees what"), beyond what the URL-map suites check:

- a supplier's draft is its own: the buyer's pages and downloads answer 404 for it, as for
  another company's invoice, and its lists never show it;
- a supplier sees only the invoices it issued: Polbud, also supplying Acme, never reads
  Nordwind's invoices to Acme, their PDF or their credit notes;
- the KSeF XML of a Polish supplier's invoice is served to its buyer and to that supplier,
  and is 404 for everyone else;
- the sample's marks show where they may (else the leak checks would look for text no page
  shows).
"""

from __future__ import annotations

import pytest
from flask import url_for
from sqlalchemy import select

from portal.extensions import db
from portal.models import Invoice, InvoiceStatus
from portal.tenancy import system
from tests.security.sourcing_sample import mark


def _get(app, sample, email: str, endpoint: str, **values):
    with app.test_request_context():
        url = url_for(endpoint, **values)
    return sample.login(app.test_client(), email).get(url)


@pytest.mark.parametrize("key", ["acme", "globex"])
def test_the_buyer_never_sees_a_suppliers_draft(app, sample, key):
    draft = sample.ids["invoice_draft"][key]
    for email in (f"buyer@{key}.example", f"admin@{key}.example", f"approver@{key}.example"):
        for endpoint in ("invoices.detail", "invoices.pdf", "invoices.xml"):
            response = _get(app, sample, email, endpoint, invoice_id=draft)
            assert response.status_code == 404, f"{email} {endpoint}: {response.status_code}"
        for tab in ("to_approve", "all", "mismatched"):
            page = _get(app, sample, email, "invoices.index", tab=tab)
            assert page.status_code == 200
            assert mark("InvoiceDraft", key, "nordwind") not in page.text
            assert f"/invoices/{draft}\"" not in page.text
    # The supplier reads its own draft.
    page = _get(app, sample, "sales@nordwind.example", "supplier.invoice", invoice_id=draft)
    assert page.status_code == 200
    assert mark("InvoiceDraft", key, "nordwind") in page.text


def test_another_supplier_never_sees_nordwinds_invoices(app, sample):
    for kind in ("invoice", "paid_invoice", "credit_note", "invoice_draft"):
        invoice_id = sample.ids[kind]["acme"]
        for endpoint in ("supplier.invoice", "supplier.invoice_pdf", "supplier.invoice_xml",
                         "invoices.detail", "invoices.pdf"):
            response = _get(app, sample, "sales@polbud.example", endpoint, invoice_id=invoice_id)
            assert response.status_code == 404, f"{kind} {endpoint}: {response.status_code}"
    for endpoint in ("supplier.invoices", "supplier.invoices_export", "supplier.invoice_aging"):
        page = _get(app, sample, "sales@polbud.example", endpoint)
        assert page.status_code == 200
        assert mark("Invoice", "acme", "nordwind") not in page.text
        assert "Nordwind" not in page.text
    # Nordwind's statement with Acme is its and Acme's only.
    nordwind_link = sample.ids["link"]["acme-nordwind"]
    assert _get(app, sample, "sales@polbud.example", "supplier.statement",
                link_id=nordwind_link).status_code == 404
    assert _get(app, sample, "sales@polbud.example", "supplier.statement_pdf",
                link_id=nordwind_link).status_code == 404
    assert _get(app, sample, "sales@nordwind.example", "supplier.statement",
                link_id=nordwind_link).status_code == 200


def test_the_ksef_xml_is_the_buyers_and_the_issuers_only(app, sample):
    """The demo world's Polbud invoices to Acme carry their FA(3) XML."""
    with system(db.session):
        invoice_id = db.session.scalar(
            select(Invoice.id).where(Invoice.supplier_id == sample.orgs["polbud"],
                                     Invoice.organization_id == sample.orgs["acme"],
                                     Invoice.status != InvoiceStatus.DRAFT,
                                     Invoice.number.is_not(None)).order_by(Invoice.id).limit(1))
    assert invoice_id is not None, "the demo world has no invoice of Polbud to Acme"
    buyer = _get(app, sample, "buyer@acme.example", "invoices.xml", invoice_id=invoice_id)
    assert buyer.status_code == 200 and buyer.data.startswith(b"<?xml")
    supplier = _get(app, sample, "sales@polbud.example", "supplier.invoice_xml", invoice_id=invoice_id)
    assert supplier.status_code == 200 and supplier.data == buyer.data
    for email, endpoint in (("sales@nordwind.example", "supplier.invoice_xml"),
                            ("sales@nordwind.example", "invoices.xml"),
                            ("buyer@globex.example", "invoices.xml"),
                            ("sales@solo.example", "supplier.invoice_xml")):
        response = _get(app, sample, email, endpoint, invoice_id=invoice_id)
        assert response.status_code == 404, f"{email} {endpoint}: {response.status_code}"


def test_the_invoice_marks_show_where_they_may(app, sample):
    ids = sample.ids
    pages = []
    for key in ("acme", "globex"):
        shared = mark("Invoice", key, "nordwind")
        pages += [
            ("sales@nordwind.example", "supplier.invoice", ids["invoice"][key], shared),
            (f"buyer@{key}.example", "invoices.detail", ids["invoice"][key], shared),
            (f"admin@{key}.example", "invoices.detail", ids["paid_invoice"][key], shared),
            (f"buyer@{key}.example", "invoices.detail", ids["credit_note"][key], shared),
            ("sales@nordwind.example", "supplier.invoice", ids["invoice_draft"][key],
             mark("InvoiceDraft", key, "nordwind")),
        ]
    missing = []
    for email, endpoint, invoice_id, text in pages:
        response = _get(app, sample, email, endpoint, invoice_id=invoice_id)
        if response.status_code != 200 or text not in response.get_data(as_text=True):
            missing.append(f"{email} {endpoint} {invoice_id} ({response.status_code}): no {text}")
    assert not missing, missing
