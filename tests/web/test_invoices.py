"""The buyer's invoice pages: the list (tabs, filters, search, CSV, bounded queries), an invoice's
page (match per line, totals, payments, documents), approve / override / dispute / pay forms,
downloads, aging and statements. portal/blueprints/invoices."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from portal.extensions import db
from portal.models import SupplierLink, User
from portal.models.invoice import Invoice, InvoiceDocument, InvoiceStatus, Payment
from portal.models.order import PurchaseOrder
from portal.services.invoicing import buyer as service
from tests.conftest import as_org, as_system
from tests.factories import company_today
from tests.kit import count_queries
from tests.services.buyer_invoice_fixtures import issued_invoice, received
from tests.services.receiving_fixtures import make_order

D = Decimal
TODAY = company_today()


@pytest.fixture(autouse=True)
def _english(world):
    """These tests read the pages' English texts: every user reads English here."""
    with as_system():
        db.session.execute(update(User).values(locale="en"))
        db.session.commit()


@pytest.fixture
def buyer(world, login_as):
    return login_as(world.user("buyer@acme"))


@pytest.fixture
def approver(world, login_as):
    return login_as(world.user("approver@acme"))


@pytest.fixture
def admin(world, login_as):
    return login_as(world.user("admin@acme"))


def make_invoice(world, *, lines=(("Monitor", "10", "100.00"),), receive=True, buyer_org=None, supplier=None,
                 **kwargs) -> int:
    """An issued invoice of Polbud (or `supplier`) to Acme (or `buyer_org`) for an order received
    in full; its id (committed)."""
    made = make_order(world, lines=lines, buyer=buyer_org, supplier=supplier)
    with as_system():
        order = db.session.get(PurchaseOrder, made.order_id)
        if receive:
            received(order)
        invoice = issued_invoice(order, **kwargs)
        invoice_id = invoice.id
        db.session.commit()
    return invoice_id


def load(invoice_id) -> Invoice:
    db.session.expire_all()
    with as_system():
        return db.session.get(Invoice, invoice_id)


def store_pdf(invoice_id, data=b"%PDF-1.7 stored invoice", kind="pdf") -> None:
    with as_system():
        db.session.add(InvoiceDocument(
            invoice_id=invoice_id, kind=kind, filename=f"FV-{invoice_id}.{'pdf' if kind == 'pdf' else 'xml'}",
            content_type="application/pdf" if kind == "pdf" else "application/xml", size=len(data),
            sha256=hashlib.sha256(data).hexdigest(), data=data))
        db.session.commit()


def token_of(page: str, action: str) -> str:
    form = page[page.index(f'action="{action}"'):]
    return re.search(r'name="submission_token"[^>]*value="([^"]+)"', form).group(1)


# ---------------------------------------------------------------- the list


def test_the_list_tabs_and_rows(world, buyer):
    matched = make_invoice(world)
    mismatched = make_invoice(world, problems={1: "More than was received"})
    late = make_invoice(world, issue_date=TODAY - timedelta(days=45), due_days=30)
    draft = make_invoice(world, status=InvoiceStatus.DRAFT, number=None)
    page = buyer.get("/invoices/")
    assert page.status_code == 200
    for key in ("to_approve", "mismatched", "disputed", "approved", "overdue", "paid", "all"):
        assert f'data-testid="tab-{key}"' in page.text
    assert load(matched).number in page.text and load(late).number in page.text
    assert load(mismatched).number not in page.text  # waits in its own tab
    assert 'data-testid="nav-invoices"' in page.text
    page = buyer.get("/invoices/?tab=mismatched")
    assert load(mismatched).number in page.text and "Does not match" in page.text
    page = buyer.get("/invoices/?tab=overdue")
    assert load(late).number in page.text and load(matched).number not in page.text
    assert "Overdue" in page.text
    page = buyer.get("/invoices/?tab=all")
    assert page.text.count('data-testid="invoice-row"') == 3
    assert f"/invoices/{draft}" not in page.text


def test_the_list_filters_by_supplier_and_number(world, buyer):
    polbud = make_invoice(world)
    nordwind = make_invoice(world, supplier=world.nordwind)
    page = buyer.get(f"/invoices/?tab=all&supplier={world.nordwind.id}")
    assert load(nordwind).number in page.text and load(polbud).number not in page.text
    number = load(polbud).number
    page = buyer.get(f"/invoices/?tab=all&q={number[-6:]}")
    assert number in page.text and load(nordwind).number not in page.text
    page = buyer.get("/invoices/?tab=all&q=NOTHING")
    assert "No invoices match" in page.text


def test_the_empty_list_says_what_comes_here(world, buyer):
    page = buyer.get("/invoices/")
    assert "Nothing to approve" in page.text
    page = buyer.get("/invoices/?tab=all")
    assert "No invoices yet" in page.text


def test_the_csv_export(world, buyer):
    invoice_id = make_invoice(world)
    response = buyer.get("/invoices/export?tab=all")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    text = response.data.decode("utf-8-sig")
    assert load(invoice_id).number in text and "1230.00" in text


def test_suppliers_have_their_own_list(world, login_as):
    supplier = login_as(world.user("sales@polbud"))
    assert supplier.get("/invoices/").status_code in (403, 404)


@pytest.mark.usefixtures("uncached_lists")
def test_list_queries_do_not_grow_with_rows(world, buyer):
    make_invoice(world)
    buyer.get("/invoices/?tab=all")
    with count_queries() as few:
        buyer.get("/invoices/?tab=all")
    for _ in range(5):
        make_invoice(world, supplier=world.nordwind)
    with count_queries() as many:
        buyer.get("/invoices/?tab=all")
    assert len(many) <= len(few) + 1


# ---------------------------------------------------------------- the invoice's page


def test_the_invoice_page(world, buyer):
    invoice_id = make_invoice(world, lines=(("Monitor", "10", "100.00"), ("Kabel", "4", "5.00")),
                              discount="24.60", discount_days=10)
    store_pdf(invoice_id)
    invoice = load(invoice_id)
    page = buyer.get(f"/invoices/{invoice_id}")
    assert page.status_code == 200
    for text in (invoice.number, "Monitor", "Kabel", "PL61 1090 1014 0000 0712 1981 2874", "Download PDF",
                 "Left to pay", "early-payment discount", "Waiting" if False else "Issued"):
        assert text in page.text, text
    assert page.text.count('data-testid="invoice-line"') == 2
    assert 'data-testid="vat-summary"' in page.text
    # A buyer reads and may dispute; approving is for approvers and admins.
    assert 'data-testid="approve"' not in page.text and 'data-testid="dispute-menu"' in page.text


def test_the_page_shows_each_lines_match_problem(world, admin):
    invoice_id = make_invoice(world, problems={1: "More than was received"})
    page = admin.get(f"/invoices/{invoice_id}")
    assert "More than was received" in page.text and 'data-testid="mismatch-note"' in page.text
    assert 'data-testid="override-menu"' in page.text


def test_another_companys_invoice_and_a_draft_are_not_found(world, buyer, login_as):
    invoice_id = make_invoice(world)
    draft = make_invoice(world, status=InvoiceStatus.DRAFT, number=None)
    globex = login_as(world.user("admin@globex"))
    for url in (f"/invoices/{invoice_id}", f"/invoices/{invoice_id}/pdf"):
        assert globex.get(url).status_code == 404
    for url in (f"/invoices/{draft}", f"/invoices/{draft}/pdf", "/invoices/999999"):
        assert buyer.get(url).status_code == 404


def test_downloads_serve_the_stored_bytes(world, buyer):
    invoice_id = make_invoice(world)
    assert buyer.get(f"/invoices/{invoice_id}/pdf").status_code == 404  # nothing stored
    store_pdf(invoice_id, b"%PDF-1.7 the stored one")
    response = buyer.get(f"/invoices/{invoice_id}/pdf")
    assert response.status_code == 200 and response.data == b"%PDF-1.7 the stored one"
    assert response.mimetype == "application/pdf" and "attachment" in response.headers["Content-Disposition"]
    assert buyer.get(f"/invoices/{invoice_id}/xml").status_code == 404
    store_pdf(invoice_id, b"<Faktura/>", kind="ksef")
    response = buyer.get(f"/invoices/{invoice_id}/xml")
    assert response.data == b"<Faktura/>" and response.mimetype == "application/xml"
    assert "KSeF XML" in buyer.get(f"/invoices/{invoice_id}").text


def test_a_credit_note_page_names_the_invoice_it_corrects(world, buyer):
    made = make_order(world, lines=(("Monitor", "10", "100.00"),))
    with as_system():
        order = db.session.get(PurchaseOrder, made.order_id)
        received(order)
        invoice = issued_invoice(order)
        note = issued_invoice(order, [(order.lines[0], "2", "100.00")], corrects=invoice)
        ids = invoice.id, note.id, invoice.number, note.number
        db.session.commit()
    page = buyer.get(f"/invoices/{ids[1]}")
    assert page.status_code == 200 and ids[2] in page.text and "Damaged goods" in page.text
    page = buyer.get(f"/invoices/{ids[0]}")
    assert ids[3] in page.text and "984.00" in page.text  # 1 230 − 246 credited


def test_the_order_page_lists_its_invoices(world, buyer):
    invoice_id = make_invoice(world)
    with as_system():
        invoice = load(invoice_id)
        order_id, number = invoice.lines[0].order_id, invoice.number
    page = buyer.get(f"/orders/{order_id}")
    assert 'data-testid="order-invoices"' in page.text and number in page.text


# ---------------------------------------------------------------- approve, override, dispute


def test_approving_from_the_page(world, approver):
    invoice_id = make_invoice(world)
    response = approver.post(f"/invoices/{invoice_id}/approve", data={})
    assert response.status_code == 302
    assert load(invoice_id).status == InvoiceStatus.APPROVED
    page = approver.get(response.headers["Location"])
    assert "is approved for payment" in page.text
    again = approver.post(f"/invoices/{invoice_id}/approve", data={}, follow_redirects=True)
    assert again.status_code in (200, 409, 422) and "Only an issued or disputed invoice" in again.text


def test_buyers_cannot_approve(world, buyer):
    invoice_id = make_invoice(world)
    assert buyer.post(f"/invoices/{invoice_id}/approve", data={}).status_code == 403
    assert load(invoice_id).status == InvoiceStatus.ISSUED


def test_an_admin_overrides_a_mismatch_with_a_reason(world, admin, approver):
    invoice_id = make_invoice(world, problems={1: "More than was received"})
    assert approver.post(f"/invoices/{invoice_id}/approve", data={}).status_code == 403
    response = admin.post(f"/invoices/{invoice_id}/approve", data={"override_reason": ""})
    assert response.status_code == 422 and "Say why you approve" in response.text
    assert load(invoice_id).status == InvoiceStatus.ISSUED
    response = admin.post(f"/invoices/{invoice_id}/approve", data={"override_reason": "Checked the delivery note"})
    assert response.status_code == 302
    invoice = load(invoice_id)
    assert invoice.status == InvoiceStatus.APPROVED and invoice.match_status == "overridden"
    page = admin.get(f"/invoices/{invoice_id}")
    assert "Checked the delivery note" in page.text and 'data-testid="override-note"' in page.text


def test_disputing_from_the_page(world, buyer):
    invoice_id = make_invoice(world)
    response = buyer.post(f"/invoices/{invoice_id}/dispute", data={"reason": ""})
    assert response.status_code == 422 and "Say what is wrong" in response.text
    response = buyer.post(f"/invoices/{invoice_id}/dispute", data={"reason": "Two arrived broken"},
                          follow_redirects=True)
    assert "is disputed" in response.text and "Two arrived broken" in response.text
    assert load(invoice_id).status == InvoiceStatus.DISPUTED


# ---------------------------------------------------------------- payments


def approved_invoice(world, **kwargs) -> int:
    invoice_id = make_invoice(world, **kwargs)
    with as_system():
        invoice = db.session.get(Invoice, invoice_id)
    with as_org(world.acme):
        service.approve_invoice(db.session.get(Invoice, invoice_id), world.user("admin@acme"))
        db.session.commit()
    assert invoice is not None
    return invoice_id


def test_recording_a_partial_then_the_final_payment(world, admin):
    invoice_id = approved_invoice(world)
    page = admin.get(f"/invoices/{invoice_id}")
    assert 'data-testid="payment-form"' in page.text
    token = token_of(page.text, f"/invoices/{invoice_id}/payments")
    data = {"paid_on": TODAY.isoformat(), "amount": "500.00", "reference": "TR-1", "submission_token": token}
    response = admin.post(f"/invoices/{invoice_id}/payments", data=data, follow_redirects=True)
    assert "730.00" in response.text and "left to pay" in response.text
    assert load(invoice_id).status == InvoiceStatus.PARTIALLY_PAID
    # The same form sent again records nothing more.
    admin.post(f"/invoices/{invoice_id}/payments", data=data)
    with as_system():
        assert db.session.scalar(select(func.count(Payment.id)).where(Payment.invoice_id == invoice_id)) == 1
    page = admin.get(f"/invoices/{invoice_id}")
    token = token_of(page.text, f"/invoices/{invoice_id}/payments")
    response = admin.post(f"/invoices/{invoice_id}/payments", data={
        "paid_on": TODAY.isoformat(), "amount": "730.00", "submission_token": token}, follow_redirects=True)
    assert "is paid" in response.text
    assert load(invoice_id).status == InvoiceStatus.PAID
    assert response.text.count('data-testid="payment"') == 2


def test_a_wrong_payment_comes_back_with_the_reason(world, admin):
    invoice_id = approved_invoice(world)
    response = admin.post(f"/invoices/{invoice_id}/payments", data={
        "paid_on": TODAY.isoformat(), "amount": "5000.00"})
    assert response.status_code == 422 and "left to pay on this invoice" in response.text
    response = admin.post(f"/invoices/{invoice_id}/payments", data={
        "paid_on": (TODAY + timedelta(days=2)).isoformat(), "amount": "10.00"})
    assert response.status_code == 422 and "future" in response.text
    response = admin.post(f"/invoices/{invoice_id}/payments", data={"paid_on": "", "amount": "abc"})
    assert response.status_code == 422
    assert load(invoice_id).paid_total == D("0.00")


def test_taking_the_discount(world, admin):
    invoice_id = approved_invoice(world, discount="24.60", discount_days=10)
    page = admin.get(f"/invoices/{invoice_id}")
    assert "Take the early-payment discount" in page.text
    response = admin.post(f"/invoices/{invoice_id}/payments", data={
        "paid_on": TODAY.isoformat(), "amount": "1205.40", "take_discount": "y"}, follow_redirects=True)
    assert "is paid" in response.text
    invoice = load(invoice_id)
    assert invoice.discount_taken == D("24.60") and invoice.status == InvoiceStatus.PAID


def test_only_admins_record_payments(world, approver):
    invoice_id = approved_invoice(world)
    assert 'data-testid="payment-form"' not in approver.get(f"/invoices/{invoice_id}").text
    assert approver.post(f"/invoices/{invoice_id}/payments", data={
        "paid_on": TODAY.isoformat(), "amount": "10.00"}).status_code == 403


# ---------------------------------------------------------------- aging and statements


def polbud_link(world) -> int:
    with as_system():
        return db.session.scalar(select(SupplierLink.id).where(
            SupplierLink.organization_id == world.acme.id, SupplierLink.supplier_id == world.polbud.id))


def test_the_aging_page(world, buyer):
    page = buyer.get("/invoices/aging")
    assert page.status_code == 200 and "Nothing is owed" in page.text
    make_invoice(world, issue_date=TODAY - timedelta(days=45), due_days=30)
    make_invoice(world)
    page = buyer.get("/invoices/aging")
    assert page.status_code == 200
    assert world.polbud.name in page.text and "1–30 days" in page.text
    assert 'data-testid="statement-link"' in page.text


def test_the_statement_page_and_pdf(world, buyer, login_as):
    invoice_id = make_invoice(world, issue_date=TODAY - timedelta(days=5))
    link_id = polbud_link(world)
    page = buyer.get(f"/invoices/statements/{link_id}")
    assert page.status_code == 200 and load(invoice_id).number in page.text
    assert "Closing balance" in page.text
    start = (TODAY - timedelta(days=30)).isoformat()
    response = buyer.get(f"/invoices/statements/{link_id}/pdf?start={start}&end={TODAY.isoformat()}")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    bad = buyer.get(f"/invoices/statements/{link_id}?start={TODAY.isoformat()}&end={start}")
    assert bad.status_code == 422 and "cannot be before" in bad.text
    globex = login_as(world.user("admin@globex"))
    assert globex.get(f"/invoices/statements/{link_id}").status_code == 404


# ---------------------------------------------------------------- with the supplier's own services


def test_an_invoice_issued_by_the_supplier_end_to_end(world, admin):
    """Drafted and issued through the supplier's services (a price off the order: mismatched),
    stored PDF and all; the buyer sees the problem in its words, overrides, pays."""
    from tests.services import supplier_invoice_fixtures as supplier

    supplier.give_ibans(world)
    made = supplier.received_order(world, lines=(("Papier A4", "10", "20.00"),))
    draft_id = supplier.draft(world, made)
    supplier.edit(world, draft_id, [(made.line_ids[0], "10", "26.00", "23")])
    number = supplier.issue(world, draft_id)
    page = admin.get(f"/invoices/{draft_id}")
    assert page.status_code == 200 and number in page.text
    assert 'data-testid="match-problem"' in page.text and "%(" not in page.text
    pdf = admin.get(f"/invoices/{draft_id}/pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    response = admin.post(f"/invoices/{draft_id}/approve", data={"override_reason": "Price rise agreed by phone"})
    assert response.status_code == 302
    invoice = load(draft_id)
    assert invoice.status == InvoiceStatus.APPROVED and invoice.gross_total == D("319.80")
    response = admin.post(f"/invoices/{draft_id}/payments", data={
        "paid_on": TODAY.isoformat(), "amount": "319.80", "reference": "TR-9"}, follow_redirects=True)
    assert "is paid" in response.text and load(draft_id).status == InvoiceStatus.PAID


def test_detail_queries_do_not_grow_with_lines_and_payments(world, admin):
    small = approved_invoice(world, lines=(("Monitor", "10", "100.00"),))
    admin.get(f"/invoices/{small}")
    with count_queries() as few:
        admin.get(f"/invoices/{small}")
    big = approved_invoice(world, lines=tuple((f"Item {i}", "2", "10.00") for i in range(12)))
    with as_org(world.acme):
        for _ in range(4):
            service.record_payment(db.session.get(Invoice, big), world.user("admin@acme"), paid_on=TODAY,
                                   amount=D("10.00"))
        db.session.commit()
    with count_queries() as many:
        admin.get(f"/invoices/{big}")
    assert len(many) <= len(few) + 1
