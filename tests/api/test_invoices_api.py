"""The invoices API: invoices, credit notes, payments, stored documents; the supplier issues,
the buyer approves, disputes and pays (portal/blueprints/api/invoices.py)."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest
from sqlalchemy import event, func, select

from portal.extensions import db
from portal.models import SupplierLink
from portal.models.invoice import Invoice, InvoiceDocument, InvoiceKind, InvoiceStatus, Payment
from portal.services.invoicing import issuing
from portal.services.invoicing.drafting import DraftLineInput, update_draft
from portal.tenancy import system
from tests.factories import acting_for
from tests.listdata import plan
from tests.services.invoice_rows import bulk
from tests.services.supplier_invoice_fixtures import (
    as_supplier,
    draft,
    give_ibans,
    issue,
    link_of,
    received_order,
)

D = Decimal
BUYER, ADMIN, APPROVER = "buyer@acme.example", "admin@acme.example", "approver@acme.example"
SELLER = "sales@polbud.example"


@pytest.fixture
def stub_pdf(monkeypatch):
    """Issue without rendering documents (the tests that read a PDF don't use it)."""
    monkeypatch.setattr(issuing, "_store_documents", lambda invoice: None)


def _issued(world, **order) -> tuple[int, object]:
    """An invoice of Polbud to Acme of a received order (its PDF and KSeF XML stored unless stubbed)."""
    made = received_order(world, **order)
    invoice_id = draft(world, made)
    issue(world, invoice_id)
    return invoice_id, made


def _count(model, where=()) -> int:
    with system(db.session):
        found = db.session.scalar(select(func.count()).select_from(model).where(*where))
    db.session.rollback()
    return found


def _approve(api, invoice_id: int) -> dict:
    return api(ADMIN).post(f"/invoices/{invoice_id}/approve", {}, status=200)


# ---------------------------------------------------------------- reading


def test_buyer_lists_and_reads_an_issued_invoice(world, api):
    give_ibans(world)
    invoice_id, made = _issued(world)
    reader = api(BUYER)
    page = reader.get("/invoices", status=200)
    assert [row["id"] for row in page["data"]] == [invoice_id]
    assert page["next_cursor"] is None
    row = page["data"][0]
    assert row["number"].startswith("FV/") and row["status"] == "issued"
    assert row["supplier"]["id"] == world.polbud.id and row["buyer"]["id"] == world.acme.id

    found = reader.get(f"/invoices/{invoice_id}", status=200)
    assert found["order_ids"] == [made.order_id]
    assert [line["order_line_id"] for line in found["lines"]] == made.line_ids
    assert found["lines"][0]["quantity"] == "10.000" and found["lines"][0]["unit_price"] == "20.0000"
    assert found["lines"][0]["vat_code"] == "23" and found["lines"][0]["match_problem"] is None
    assert found["net_total"] == "1700.00" and found["vat_total"] == "391.00"
    assert found["gross_total"] == "2091.00" == found["amount_due"]
    assert found["vat_summary"] == [{"vat_code": "23", "vat_rate": "23", "net": "1700.00",
                                     "vat": "391.00", "gross": "2091.00"}]
    assert found["match_status"] == "matched" and found["reverse_charge"] is False
    assert found["parties"]["seller"]["iban"] and found["parties"]["buyer"]["name"]
    assert found["has_pdf"] and found["has_xml"]  # Polbud is Polish: KSeF XML stored too
    assert found["credit_note_ids"] == [] and found["payment_ids"] == []
    assert reader.get(f"/invoices/{invoice_id}/payments", status=200) == {"data": [], "next_cursor": None}

    seller_view = api(SELLER).get("/invoices", status=200)
    assert [row["id"] for row in seller_view["data"]] == [invoice_id]


def test_the_pdf_and_xml_are_the_stored_bytes(world, api):
    give_ibans(world)
    invoice_id, _made = _issued(world)
    with acting_for(world.acme):
        stored = {doc.kind: (doc.sha256, doc.content_type) for doc in db.session.scalars(
            select(InvoiceDocument).where(InvoiceDocument.invoice_id == invoice_id))}
    db.session.rollback()
    for who in (BUYER, SELLER):
        pdf = api(who).get(f"/invoices/{invoice_id}/pdf", status=200)
        assert pdf.mimetype == "application/pdf"
        assert hashlib.sha256(pdf.get_data()).hexdigest() == stored["pdf"][0]
        assert pdf.headers["ETag"] == f'"{stored["pdf"][0]}"' and pdf.get_data().startswith(b"%PDF")
        xml = api(who).get(f"/invoices/{invoice_id}/xml", status=200)
        assert xml.mimetype == "application/xml"
        assert hashlib.sha256(xml.get_data()).hexdigest() == stored["ksef"][0]


def test_a_supplier_draft_is_invisible_to_the_buyer(world, api, stub_pdf):
    give_ibans(world)
    made = received_order(world)
    draft_id = draft(world, made)
    seller = api(SELLER)
    drafts = seller.get("/invoices?status=draft", status=200)
    assert [row["id"] for row in drafts["data"]] == [draft_id]
    assert drafts["data"][0]["number"] is None
    assert seller.get(f"/invoices/{draft_id}", status=200)["status"] == "draft"
    assert seller.get(f"/invoices/{draft_id}/pdf", status=404)["detail"].endswith("(a draft has none).")

    reader = api(BUYER)
    assert reader.get("/invoices", status=200)["data"] == []
    for path in ("", "/payments", "/pdf", "/xml"):
        reader.get(f"/invoices/{draft_id}{path}", status=404)
    reader.post(f"/invoices/{draft_id}/dispute", {"reason": "What?"}, status=404)


def test_another_organisations_invoice_is_a_404(world, api, stub_pdf):
    give_ibans(world)
    invoice_id, _made = _issued(world)
    for who in ("buyer@globex.example", "admin@globex.example", "sales@nordwind.example"):
        other = api(who)
        assert other.get("/invoices", status=200)["data"] == []
        for path in ("", "/payments", "/pdf", "/xml"):
            other.get(f"/invoices/{invoice_id}{path}", status=404)
        other.get(f"/credit-notes/{invoice_id}", status=404)
    api("admin@globex.example").post(f"/invoices/{invoice_id}/payments",
                                      {"amount": "1.00", "paid_on": "2026-01-01"}, status=404)


def test_list_filters(world, api, stub_pdf):
    give_ibans(world)
    first, _ = _issued(world)
    second, _ = _issued(world)
    _approve(api, second)
    reader = api(BUYER)
    assert [r["id"] for r in reader.get("/invoices?status=approved", status=200)["data"]] == [second]
    assert [r["id"] for r in reader.get(f"/invoices?supplier_id={world.polbud.id}", status=200)["data"]] \
        == [first, second]  # oldest change first: `second` was approved after both were issued
    assert reader.get(f"/invoices?supplier_id={world.nordwind.id}", status=200)["data"] == []
    assert [r["id"] for r in reader.get("/invoices?match_status=matched&limit=1", status=200)["data"]] == [first]
    assert reader.get("/invoices?overdue=true", status=200)["data"] == []
    assert len(reader.get("/invoices?overdue=false", status=200)["data"]) == 2
    problem = reader.get(f"/invoices?buyer_id={world.acme.id}", status=422)
    assert problem["errors"][0]["field"] == "buyer_id"
    assert reader.get("/invoices?status=lost", status=422)["errors"][0]["field"] == "status"
    assert reader.get("/invoices?supplier_id=x", status=422)["errors"][0]["field"] == "supplier_id"

    seller = api(SELLER)
    assert len(seller.get(f"/invoices?buyer_id={world.acme.id}", status=200)["data"]) == 2
    assert seller.get(f"/invoices?supplier_id={world.polbud.id}", status=422)["errors"][0]["field"] == "supplier_id"

    page = reader.get("/invoices?limit=1", status=200)
    assert [r["id"] for r in page["data"]] == [first] and page["next_cursor"]
    rest = reader.get(f"/invoices?limit=1&cursor={page['next_cursor']}", status=200)
    assert [r["id"] for r in rest["data"]] == [second]


def test_a_token_without_the_invoices_scope_is_refused(world, api, stub_pdf):
    give_ibans(world)
    invoice_id, _ = _issued(world)
    narrow = api(ADMIN, scopes=["orders:read", "orders:write"])
    for path in ("/invoices", f"/invoices/{invoice_id}", f"/invoices/{invoice_id}/payments",
                 f"/invoices/{invoice_id}/pdf", "/credit-notes"):
        assert narrow.get(path, status=403)["type"].endswith("insufficient-scope")
    read_only = api(ADMIN, scopes=["invoices:read"])
    read_only.get(f"/invoices/{invoice_id}", status=200)
    read_only.post(f"/invoices/{invoice_id}/approve", {}, status=403)
    read_only.post(f"/invoices/{invoice_id}/payments", {"amount": "1.00", "paid_on": "2026-01-01"}, status=403)
    api(SELLER, scopes=["invoices:read"]).post("/invoices", {"order_ids": [1]}, status=403)
    assert _count(Payment) == 0


# ---------------------------------------------------------------- credit notes


def test_credit_notes_are_listed_apart_with_their_invoice(world, api, stub_pdf):
    give_ibans(world)
    invoice_id, _ = _issued(world)
    with as_supplier(world) as seller:
        original = db.session.get(Invoice, invoice_id)
        note = issuing.issue_credit_note(original, seller, reason="Damaged toner", lines=[
            issuing.CreditLineInput(invoice_line_id=original.lines[1].id, quantity=D(1))])
        db.session.commit()
        note_id = note.id
    for who in (BUYER, SELLER):
        reader = api(who)
        notes = reader.get("/credit-notes", status=200)["data"]
        assert [(n["id"], n["invoice_id"]) for n in notes] == [(note_id, invoice_id)]
        assert notes[0]["number"].startswith("KOR/")
        assert [r["id"] for r in reader.get("/invoices", status=200)["data"]] == [invoice_id]
        found = reader.get(f"/credit-notes/{note_id}", status=200)
        assert found["correction_reason"] == "Damaged toner" and found["gross_total"] == "369.00"
        assert found["lines"][0]["corrects_line_id"] is not None
        assert reader.get(f"/invoices/{invoice_id}", status=200)["credit_note_ids"] == [note_id]
        assert reader.get(f"/credit-notes?invoice_id={invoice_id}", status=200)["data"][0]["id"] == note_id
        reader.get(f"/invoices/{note_id}", status=404)
        reader.get(f"/credit-notes/{invoice_id}", status=404)
    api("buyer@globex.example").get(f"/credit-notes/{note_id}", status=404)


# ---------------------------------------------------------------- the buyer's decisions


def test_supplier_and_plain_buyer_cannot_approve_or_pay(world, api, stub_pdf):
    give_ibans(world)
    invoice_id, _ = _issued(world)
    seller = api(SELLER)
    seller.post(f"/invoices/{invoice_id}/approve", {}, status=403)
    seller.post(f"/invoices/{invoice_id}/dispute", {"reason": "x"}, status=403)
    seller.post(f"/invoices/{invoice_id}/payments", {"amount": "1.00", "paid_on": "2026-01-01"}, status=403)
    api(BUYER).post(f"/invoices/{invoice_id}/approve", {}, status=403)
    api(APPROVER).post(f"/invoices/{invoice_id}/payments", {"amount": "1.00", "paid_on": "2026-01-01"},
                       status=403)
    # not approved yet: the admin may pay, the state may not
    api(ADMIN).post(f"/invoices/{invoice_id}/payments", {"amount": "1.00", "paid_on": "2026-01-01"}, status=409)
    assert api(BUYER).get(f"/invoices/{invoice_id}", status=200)["status"] == "issued"


def test_approve_dispute_and_a_mismatched_invoice_needs_an_admins_reason(world, api, stub_pdf):
    give_ibans(world)
    disputed, _ = _issued(world)
    problem = api(BUYER).post(f"/invoices/{disputed}/dispute", {"reason": "  "}, status=422)
    assert problem["errors"][0]["field"] == "reason"
    api(BUYER).post(f"/invoices/{disputed}/dispute", {}, status=422)
    found = api(BUYER).post(f"/invoices/{disputed}/dispute", {"reason": "Two toners were broken"}, status=200)
    assert found["status"] == "disputed" and found["dispute_reason"] == "Two toners were broken"

    approved = api(APPROVER).post(f"/invoices/{disputed}/approve", {}, status=200)
    assert approved["status"] == "approved"
    api(APPROVER).post(f"/invoices/{disputed}/approve", {}, status=409)

    made = received_order(world, receive={0: "4"})  # 4 of 10 received: the draft takes 4
    invoice_id = draft(world, made)
    with as_supplier(world) as seller:  # the supplier invoices 10: mismatched
        invoice = db.session.get(Invoice, invoice_id)
        line = invoice.lines[0]
        update_draft(invoice, seller, lines=[DraftLineInput(line.order_line_id, D(10), line.unit_price,
                                                            line.vat_code)],
                     language=invoice.language, notes="", sale_date=None, annex15=False, exchange_rate=None,
                     exchange_rate_date=None)
        issuing.issue_invoice(invoice, seller)
        db.session.commit()
    found = api(BUYER).get(f"/invoices/{invoice_id}", status=200)
    assert found["match_status"] == "mismatched" and found["lines"][0]["match_problem"]
    api(APPROVER).post(f"/invoices/{invoice_id}/approve", {}, status=403)
    problem = api(ADMIN).post(f"/invoices/{invoice_id}/approve", {}, status=422)
    assert problem["errors"][0]["field"] == "reason"
    found = api(ADMIN).post(f"/invoices/{invoice_id}/approve", {"reason": "Rest arrives Monday"}, status=200)
    assert found["match_status"] == "overridden" and found["match_override_reason"] == "Rest arrives Monday"


@pytest.mark.parametrize("amount", ["1e3", "12,50", 12.5, "0.001", "", "-5.00", "0", None, "NaN"])
def test_bad_money_strings_are_refused_naming_the_amount(world, api, stub_pdf, amount):
    give_ibans(world)
    invoice_id, _ = _issued(world)
    _approve(api, invoice_id)
    problem = api(ADMIN).post(f"/invoices/{invoice_id}/payments", {"amount": amount, "paid_on": "2026-01-01"},
                              status=422)
    assert problem["errors"][0]["field"] == "amount", problem
    assert _count(Payment) == 0


def test_payments_overpaying_and_retries(world, api, stub_pdf):
    give_ibans(world)
    invoice_id, _ = _issued(world)
    _approve(api, invoice_id)
    admin = api(ADMIN)
    today = admin.get(f"/invoices/{invoice_id}", status=200)["issue_date"]

    problem = admin.post(f"/invoices/{invoice_id}/payments", {"amount": "2091.01", "paid_on": today}, status=422)
    assert problem["errors"][0]["field"] == "amount" and "2" in problem["detail"]
    problem = admin.post(f"/invoices/{invoice_id}/payments", {"amount": "1.00", "paid_on": "2099-01-01"},
                         status=422)
    assert problem["errors"][0]["field"] == "paid_on"
    admin.post(f"/invoices/{invoice_id}/payments", {"amount": "1.00", "paid_on": "2026-13-01"}, status=422)
    admin.post(f"/invoices/{invoice_id}/payments", {"amount": "1.00", "paid_on": today, "extra": 1}, status=422)
    problem = admin.post(f"/invoices/{invoice_id}/payments", {"amount": "1.00", "paid_on": today, "discount": True},
                         status=422)
    assert problem["errors"][0]["field"] == "discount"
    assert _count(Payment) == 0

    body = {"amount": "1000.00", "paid_on": today, "reference": "Transfer 7"}
    paid = admin.post(f"/invoices/{invoice_id}/payments", body, key="pay-1", status=201)
    assert paid["amount"] == "1000.00" and paid["invoice_status"] == "partially_paid"
    assert paid["amount_due"] == "1091.00"
    again = admin.post(f"/invoices/{invoice_id}/payments", body, key="pay-1", status=201)
    assert again == paid and admin.last.headers["Idempotent-Replayed"] == "true"
    problem = admin.post(f"/invoices/{invoice_id}/payments", {**body, "amount": "5.00"}, key="pay-1", status=422)
    assert problem["errors"][0]["field"] == "Idempotency-Key"
    assert _count(Payment) == 1

    rest = admin.post(f"/invoices/{invoice_id}/payments", {"amount": "1091.00", "paid_on": today}, status=201)
    assert rest["invoice_status"] == "paid" and rest["amount_due"] == "0.00"
    listed = api(SELLER).get(f"/invoices/{invoice_id}/payments", status=200)["data"]
    assert [p["amount"] for p in listed] == ["1000.00", "1091.00"] and listed[0]["reference"] == "Transfer 7"
    admin.post(f"/invoices/{invoice_id}/payments", {"amount": "0.01", "paid_on": today}, status=409)
    assert api(BUYER).get("/invoices?status=paid", status=200)["data"][0]["paid_on"] == today


# ---------------------------------------------------------------- the supplier issues


def test_a_supplier_issues_an_invoice_of_received_orders(world, api):
    give_ibans(world)
    made = received_order(world)
    seller = api(SELLER)
    body = {"order_ids": [made.order_id], "notes": "Thank you", "language": "en"}
    issued = seller.post("/invoices", body, key="issue-1", status=201)
    assert issued["number"].startswith("FV/") and issued["status"] == "issued"
    assert issued["notes"] == "Thank you" and issued["language"] == "en" and issued["has_pdf"]
    assert seller.last.headers["Location"].endswith(f"/api/v1/invoices/{issued['id']}")
    again = seller.post("/invoices", body, key="issue-1", status=201)
    assert again["id"] == issued["id"] and again["number"] == issued["number"]
    assert _count(Invoice) == 1
    assert api(BUYER).get(f"/invoices/{issued['id']}", status=200)["number"] == issued["number"]

    problem = seller.post("/invoices", body, key="issue-2", status=422)  # everything is invoiced
    assert problem["errors"][0]["field"] == "order_ids"
    assert _count(Invoice) == 1


def test_issuing_chosen_quantities_and_refusals(world, api, stub_pdf):
    made = received_order(world)
    seller = api(SELLER)
    problem = seller.post("/invoices", {"order_ids": [made.order_id]}, status=422)  # Polbud has no IBAN yet
    assert problem["errors"][0]["field"] is None and "IBAN" in problem["detail"]
    assert _count(Invoice) == 0  # the draft went with the refusal

    give_ibans(world)
    problem = seller.post("/invoices", {"order_ids": [made.order_id], "lines": [
        {"order_line_id": made.line_ids[0], "quantity": "1.0001"}]}, status=422)
    assert problem["errors"][0]["field"] == "lines.0.quantity"
    problem = seller.post("/invoices", {"order_ids": [made.order_id], "lines": [
        {"order_line_id": 999999, "quantity": "1"}]}, status=422)
    assert problem["errors"][0]["field"] == "lines.0.order_line_id"
    seller.post("/invoices", {"order_ids": []}, status=422)
    seller.post("/invoices", {"order_ids": ["1"]}, status=422)
    assert seller.post("/invoices", {"order_ids": [999999]}, status=422)["errors"][0]["field"] == "order_ids.0"
    api(BUYER).post("/invoices", {"order_ids": [made.order_id]}, status=403)
    api("sales@nordwind.example").post("/invoices", {"order_ids": [made.order_id]}, status=422)
    seller.post("/invoices", {"order_ids": [made.order_id]}, key=False, status=428)
    assert _count(Invoice) == 0

    issued = seller.post("/invoices", {"order_ids": [made.order_id], "sale_date": "2026-01-02", "lines": [
        {"order_line_id": made.line_ids[1], "quantity": "2"}]}, status=201)
    assert [(line["order_line_id"], line["quantity"]) for line in issued["lines"]] == [(made.line_ids[1], "2.000")]
    assert issued["sale_date"] == "2026-01-02" and issued["gross_total"] == "738.00"
    rest = seller.post("/invoices", {"order_ids": [made.order_id]}, status=201)
    assert [(line["order_line_id"], line["quantity"]) for line in rest["lines"]] == [
        (made.line_ids[0], "10.000"), (made.line_ids[1], "3.000")]
    with system(db.session):
        kinds = db.session.scalars(select(Invoice.kind)).all()
    assert kinds == [InvoiceKind.INVOICE, InvoiceKind.INVOICE]
    assert api(BUYER).get(f"/invoices/{rest['id']}", status=200)["status"] == InvoiceStatus.ISSUED


# ---------------------------------------------------------------- plans


def _selects(api_client, url: str) -> list[tuple[str, tuple]]:
    sent = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "FROM invoices" in statement:
            sent.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        api_client.get(url, status=200)
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    return sent


def test_the_lists_walk_an_updated_index_of_their_side(world, api, uncached_lists):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the plans checked are SQLite's")
    bulk(world.acme, world.polbud, 160)
    clients = {"buyer": api(ADMIN), "supplier": api(SELLER)}
    urls = [("buyer", "/invoices?limit=20"), ("buyer", "/credit-notes?limit=20"),
            ("buyer", "/invoices?status=approved&limit=20"), ("buyer", f"/invoices?supplier_id={world.polbud.id}"),
            ("buyer", "/invoices?updated_since=2020-01-01T00:00:00Z&limit=20"),
            ("supplier", "/invoices?limit=20"), ("supplier", "/credit-notes?limit=20"),
            ("supplier", f"/invoices?buyer_id={world.acme.id}&limit=20")]
    for who, url in urls:
        client = clients[who]
        first = client.get(url, status=200)
        pages = [url] + ([f"{url}&cursor={first['next_cursor']}"] if first["next_cursor"] else [])
        for page_url in pages:
            statements = _selects(client, page_url)
            assert len(statements) == 1, page_url  # one statement a page: no count, parties joined
            text = " | ".join(plan(*statements[0]))
            # both sides pinned (a counterparty filter): either side's index serves the order
            sides = ("org", "supplier") if "_id=" in page_url else ("org",) if who == "buyer" else ("supplier",)
            assert any(f"ix_invoices_{side}_{name}updated" in text for side in sides for name in ("", "kind_")), \
                f"{page_url}: {text}"
            assert "TEMP B-TREE" not in text, f"{page_url}: {text}"


def test_a_foreign_supplier_reverse_charge_no_xml_and_the_early_payment_discount(world, api):
    give_ibans(world)
    made = received_order(world, supplier="nordwind", lines=(("Bearing", "4", "50.00"),))
    issued = api("sales@nordwind.example").post("/invoices", {"order_ids": [made.order_id]}, status=201)
    assert issued["currency"] == "EUR" and issued["reverse_charge"] is True
    assert [line["vat_code"] for line in issued["lines"]] == ["oo"] and issued["gross_total"] == "200.00"
    assert issued["has_pdf"] and not issued["has_xml"]
    assert issued["payment_terms"]["kind"] == "discount" and issued["discount_amount"] == "4.00"
    invoice_id = issued["id"]
    problem = api(BUYER).get(f"/invoices/{invoice_id}/xml", status=404)
    assert "KSeF" in problem["detail"]

    _approve(api, invoice_id)
    admin = api(ADMIN)
    problem = admin.post(f"/invoices/{invoice_id}/payments",
                         {"amount": "200.00", "paid_on": issued["issue_date"], "discount": True}, status=422)
    assert problem["errors"][0]["field"] == "amount" and "196" in problem["detail"]
    paid = admin.post(f"/invoices/{invoice_id}/payments",
                      {"amount": "196.00", "paid_on": issued["issue_date"], "discount": True}, status=201)
    assert paid["discount"] == "4.00" and paid["invoice_status"] == "paid" and paid["amount_due"] == "0.00"


def test_a_blocked_supplier_reads_its_invoices_but_issues_none(world, api, stub_pdf):
    give_ibans(world)
    invoice_id, _ = _issued(world)
    made = received_order(world)
    with system(db.session):
        db.session.get(SupplierLink, link_of(world).id).status = "blocked"
        db.session.commit()
    seller = api(SELLER)
    assert [r["id"] for r in seller.get("/invoices", status=200)["data"]] == [invoice_id]
    seller.get(f"/invoices/{invoice_id}", status=200)
    problem = seller.post("/invoices", {"order_ids": [made.order_id]}, status=403)
    assert "blocked" in problem["detail"]
    assert _count(Invoice) == 1
