"""The supplier's invoice pages: the list (tabs, customer filter, search, CSV), a new invoice from
one or several received orders (and "Invoice what was received" on the order's page), the draft
(edit lines, header, remove a line, delete), issuing with a confirmation, the issued invoice's
page (facts, stored PDF and XML, credit notes), aging and statements per customer, the
dashboard widget; who may see what (another supplier's invoice answers 404)."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from portal.extensions import db
from portal.models import SupplierLink, User
from portal.models.invoice import Invoice, InvoiceKind, InvoiceStatus
from portal.models.order import PurchaseOrder
from portal.services.orders.receiving import ReceiptLineInput, record_receipt
from tests.conftest import as_system
from tests.factories import acting_for, company_today
from tests.kit import HX, assert_fragment, count, rows, text_of
from tests.services.receiving_fixtures import make_order

D = Decimal
TODAY = company_today()
PL_IBAN = "PL61109010140000071219812874"
DE_IBAN = "DE89370400440532013000"


# ---------------------------------------------------------------- set-up


@pytest.fixture(autouse=True)
def _english(world):
    """These tests read the pages' English texts; the suppliers have bank accounts to issue."""
    with as_system():
        db.session.execute(update(User).values(locale="en"))
        world.polbud.iban, world.polbud.bank_name = PL_IBAN, "PKO BP"
        world.nordwind.iban, world.nordwind.bank_name = DE_IBAN, "Hamburger Sparkasse"
        db.session.commit()


@pytest.fixture(autouse=True)
def _stored_documents(monkeypatch):
    """Distinct stand-ins per rendering: a download returns the stored bytes, never a new
    rendering (the real PDF and XML are tested in tests/pdf and the KSeF tests)."""
    calls = iter(range(1, 10_000))
    try:
        from portal.services.invoicing import documents
    except ImportError:
        documents = None
    if documents is not None:
        monkeypatch.setattr(documents, "render_invoice_pdf",
                            lambda inv: f"%PDF-1.7 {inv.number} #{next(calls)}".encode())
    try:
        from portal.services.invoicing import ksef
    except ImportError:
        ksef = None
    if ksef is not None:
        monkeypatch.setattr(ksef, "fa3_xml", lambda inv: f"<Faktura>{inv.number}</Faktura>".encode())


@pytest.fixture
def polbud(world, login_as):
    return login_as(world.user("sales@polbud"))


@pytest.fixture
def nordwind(world, login_as):
    return login_as(world.user("sales@nordwind"))


def link_of(world, buyer="acme", supplier="polbud") -> SupplierLink:
    with as_system():
        return db.session.scalars(select(SupplierLink).where(
            SupplierLink.organization_id == getattr(world, buyer).id,
            SupplierLink.supplier_id == getattr(world, supplier).id)).one()


def received(world, *, supplier="polbud", lines=(("Papier A4", "10", "20.00"), ("Toner", "5", "300.00")),
             receive=("10", "5")):
    """An order of Acme to `supplier`, received as `receive` says per line ("" = nothing yet)."""
    made = make_order(world, supplier=getattr(world, supplier), lines=lines)
    entries = {line_id: ReceiptLineInput(D(q)) for line_id, q in zip(made.line_ids, receive, strict=True) if q}
    if entries:
        with acting_for(world.acme):
            order = db.session.get(PurchaseOrder, made.order_id)
            record_receipt(order, world.user("buyer@acme"), received_on=TODAY, lines=entries)
            db.session.commit()
    return made


def drafted(world, *orders, supplier="polbud") -> int:
    """A draft invoice of `supplier` from `orders` (made by its salesperson), by id."""
    from portal.services.invoicing.drafting import draft_from_orders

    org = getattr(world, supplier)
    link = link_of(world, supplier=supplier)
    with acting_for(org):
        invoice = draft_from_orders(db.session.get(SupplierLink, link.id), [m.order_id for m in orders],
                                    world.user(f"sales@{supplier}"))
        db.session.commit()
        return invoice.id


def issued(world, *orders, supplier="polbud") -> int:
    from portal.services.invoicing.issuing import issue_invoice

    invoice_id = drafted(world, *orders, supplier=supplier)
    with acting_for(getattr(world, supplier)):
        issue_invoice(db.session.get(Invoice, invoice_id), world.user(f"sales@{supplier}"))
        db.session.commit()
    return invoice_id


def fresh(invoice_id: int) -> Invoice:
    """The invoice read again past the tenant filter, with its lines loaded."""
    db.session.expire_all()
    with as_system():
        invoice = db.session.scalars(select(Invoice).where(Invoice.id == invoice_id)
                                     .options(selectinload(Invoice.lines))).one()
        invoice.lines  # noqa: B018 - loaded while the filter is off
        return invoice


def only_invoice(kind=None) -> int:
    """The id of the one invoice (of `kind`) there is."""
    with as_system():
        query = select(Invoice.id)
        if kind is not None:
            query = query.where(Invoice.kind == kind)
        return db.session.scalars(query).one()


def _token(html: str) -> str:
    return re.search(r'name="submission_token"[^>]*value="([^"]+)"', html).group(1)


def _draft_form(invoice, **changes) -> dict:
    """The draft page's form as it stands, with `changes` (field name → value)."""
    data = {"language": invoice.language, "notes": invoice.notes or "",
            "sale_date": invoice.sale_date.isoformat() if invoice.sale_date else ""}
    for line in invoice.lines:
        data.update({f"line-{line.id}-quantity": str(line.quantity),
                     f"line-{line.id}-unit_price": str(line.unit_price),
                     f"line-{line.id}-vat_code": line.vat_code,
                     f"line-{line.id}-description": line.description})
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


# ---------------------------------------------------------------- the list


def test_list_is_empty_with_a_way_to_start(world, polbud):
    response = polbud.get("/supplier/invoices")
    assert response.status_code == 200
    html = response.text
    for key in ("drafts", "issued", "disputed", "approved", "overdue", "paid", "credit_notes", "all"):
        assert f'data-testid="tab-{key}"' in html
    assert 'data-testid="new-invoice"' in html and "No drafts" in html
    assert 'data-testid="nav-supplier-invoices"' in html


def test_list_tabs_show_drafts_and_issued_invoices(world, polbud):
    draft_id = drafted(world, received(world))
    invoice_id = issued(world, received(world))
    number = fresh(invoice_id).number
    html = polbud.get("/supplier/invoices").text
    assert rows(html, "invoice-row") == 1 and f"/supplier/invoices/{draft_id}" in html
    html = polbud.get("/supplier/invoices?tab=issued").text
    assert rows(html, "invoice-row") == 1 and number in html and "Acme" in html
    html = polbud.get("/supplier/invoices?tab=all").text
    assert rows(html, "invoice-row") == 2


def test_list_filters_by_customer_and_number_and_answers_htmx_with_a_fragment(world, polbud):
    invoice_id = issued(world, received(world))
    number = fresh(invoice_id).number
    response = polbud.get(f"/supplier/invoices?tab=all&q={number[-6:]}", headers=HX)
    assert response.status_code == 200
    assert_fragment(response)
    assert rows(response.text, "invoice-row") == 1
    html = polbud.get("/supplier/invoices?tab=all&q=KOR/1999").text
    assert rows(html, "invoice-row") == 0 and "No invoices match" in html
    html = polbud.get(f"/supplier/invoices?tab=all&buyer={world.globex.id}").text
    assert rows(html, "invoice-row") == 0


def test_list_exports_the_tab_as_csv(world, polbud):
    invoice_id = issued(world, received(world))
    response = polbud.get("/supplier/invoices/export?tab=all")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    body = response.data.decode("utf-8-sig")
    assert "Number" in body.splitlines()[0] and fresh(invoice_id).number in body


def test_list_is_refused_to_a_buyer(world, login_as):
    assert login_as(world.user("buyer@acme")).get("/supplier/invoices").status_code == 403


# ---------------------------------------------------------------- a new invoice


def test_new_invoice_lists_customers_then_their_invoiceable_orders(world, polbud):
    made = received(world)
    waiting = make_order(world)  # nothing received: nothing to invoice
    html = polbud.get("/supplier/invoices/new").text
    link = link_of(world)
    assert f"customer={link.id}" in html and "Acme" in html
    html = polbud.get(f"/supplier/invoices/new?customer={link.id}").text
    assert f'value="{made.order_id}"' in html and made.number in html
    assert waiting.number not in html
    assert _token(html)


def test_new_invoice_lists_the_newest_orders_and_finds_an_older_one_by_number(world, polbud, monkeypatch):
    """A customer with many received orders: the newest are listed, with a note, and an older
    one is found by (part of) its number; a number that matches nothing says so."""
    from portal.blueprints.supplier import invoices as views

    made = [received(world) for _ in range(3)]
    link = link_of(world)
    monkeypatch.setattr(views, "ORDERS_SHOWN", 2)
    html = polbud.get(f"/supplier/invoices/new?customer={link.id}").text
    assert made[2].number in html and made[1].number in html and made[0].number not in html
    assert 'data-testid="more-orders"' in html and 'data-testid="order-search"' in html
    oldest = made[0].number
    found = polbud.get(f"/supplier/invoices/new?customer={link.id}&q={oldest[-3:].lower()}").text
    assert f'value="{made[0].order_id}"' in found and made[2].number not in found
    assert 'data-testid="more-orders"' not in found
    none = polbud.get(f"/supplier/invoices/new?customer={link.id}&q=%25_nothing")
    assert none.status_code == 200 and "No order matches" in none.text
    long = polbud.get(f"/supplier/invoices/new?customer={link.id}&q=" + "x" * 500)  # cut, as every search
    assert long.status_code == 200 and 'value="' + "x" * 40 + '"' in long.text


def test_new_invoice_for_another_suppliers_customer_is_404(world, nordwind):
    assert nordwind.get(f"/supplier/invoices/new?customer={link_of(world).id}").status_code == 404


def test_new_invoice_from_one_order_is_a_draft_of_what_was_received(world, polbud):
    made = received(world, receive=("4", ""))
    link = link_of(world)
    page = polbud.get(f"/supplier/invoices/new?customer={link.id}").text
    response = polbud.post("/supplier/invoices/new", data={
        "customer": link.id, "orders": [made.order_id], "submission_token": _token(page)})
    assert response.status_code in (302, 303)
    invoice = fresh(only_invoice())
    assert response.headers["Location"].endswith(f"/supplier/invoices/{invoice.id}")
    assert invoice.status == InvoiceStatus.DRAFT and [line.quantity for line in invoice.lines] == [D(4)]


def test_new_invoice_from_several_orders_is_one_consolidated_draft_and_sent_twice_creates_once(world, polbud):
    first, second = received(world), received(world, receive=("2", "1"))
    link = link_of(world)
    token = _token(polbud.get(f"/supplier/invoices/new?customer={link.id}").text)
    data = {"customer": link.id, "orders": [first.order_id, second.order_id], "submission_token": token}
    assert polbud.post("/supplier/invoices/new", data=data).status_code in (302, 303)
    assert polbud.post("/supplier/invoices/new", data=data).status_code in (302, 303)
    assert count(Invoice) == 1
    invoice = fresh(only_invoice())
    assert len(invoice.lines) == 4 and {line.order_id for line in invoice.lines} == {first.order_id, second.order_id}


def test_new_invoice_without_an_order_chosen_is_refused_with_nothing_saved(world, polbud):
    received(world)
    link = link_of(world)
    response = polbud.post("/supplier/invoices/new", data={"customer": link.id})
    assert response.status_code == 422 and "Choose at least one order" in response.text
    assert count(Invoice) == 0


def test_order_page_offers_to_invoice_what_was_received(world, polbud):
    made = received(world, receive=("3", ""))
    waiting = make_order(world)
    html = polbud.get(f"/supplier/orders/{made.order_id}").text
    assert 'data-testid="invoice-received"' in html
    assert 'data-testid="invoice-received"' not in polbud.get(f"/supplier/orders/{waiting.order_id}").text
    token = _token(html)
    response = polbud.post("/supplier/invoices/new", data={
        "customer": link_of(world).id, "orders": [made.order_id], "submission_token": token})
    assert response.status_code in (302, 303)
    assert count(Invoice) == 1
    html = polbud.get(f"/supplier/orders/{made.order_id}").text
    assert rows(html, "order-invoice") == 1 and 'data-testid="invoice-received"' not in html


# ---------------------------------------------------------------- the draft


def test_draft_page_shows_the_lines_to_edit_and_the_issue_confirmation(world, polbud):
    invoice_id = drafted(world, received(world))
    invoice = fresh(invoice_id)
    html = polbud.get(f"/supplier/invoices/{invoice_id}").text
    for line in invoice.lines:
        assert f'name="line-{line.id}-quantity"' in html and f'name="line-{line.id}-vat_code"' in html
    assert 'data-testid="issue"' in html and "cannot be changed" in html
    assert 'name="exchange_rate"' not in html  # a PLN invoice needs no rate
    assert "Papier A4" in html and "Draft" in html


def test_draft_save_changes_quantity_price_notes(world, polbud):
    invoice_id = drafted(world, received(world))
    invoice = fresh(invoice_id)
    first = invoice.lines[0]
    response = polbud.post(f"/supplier/invoices/{invoice_id}/edit", data=_draft_form(invoice, **{
        f"line-{first.id}-quantity": "6", f"line-{first.id}-unit_price": "19.50", "notes": "Dostawa w dwóch partiach"}))
    assert response.status_code in (302, 303)
    invoice = fresh(invoice_id)
    line = next(line for line in invoice.lines if line.order_line_id == first.order_line_id)
    assert (line.quantity, line.unit_price) == (D(6), D("19.50"))
    assert invoice.notes == "Dostawa w dwóch partiach"
    assert invoice.net_total == D("6") * D("19.50") + D(5) * D("300.00")


def test_draft_bad_input_is_refused_beside_the_line_with_nothing_saved(world, polbud):
    invoice_id = drafted(world, received(world))
    invoice = fresh(invoice_id)
    first = invoice.lines[0]
    before = invoice.net_total
    response = polbud.post(f"/supplier/invoices/{invoice_id}/edit",
                           data=_draft_form(invoice, **{f"line-{first.id}-quantity": "-2"}))
    assert response.status_code == 422 and "<form" in response.text
    response = polbud.post(f"/supplier/invoices/{invoice_id}/edit",
                           data=_draft_form(invoice, **{f"line-{first.id}-vat_code": "42"}))
    assert response.status_code == 422
    assert fresh(invoice_id).net_total == before


def test_draft_remove_a_line(world, polbud):
    invoice_id = drafted(world, received(world))
    invoice = fresh(invoice_id)
    second = invoice.lines[1]
    response = polbud.post(f"/supplier/invoices/{invoice_id}/edit",
                           data=_draft_form(invoice, remove=str(second.id)))
    assert response.status_code in (302, 303)
    invoice = fresh(invoice_id)
    assert [line.description for line in invoice.lines] == ["Papier A4"]


def in_euro(world) -> None:
    """Acme buys from Polbud in euro (a Polish seller's foreign-currency invoices)."""
    with as_system():
        db.session.execute(update(SupplierLink).where(SupplierLink.id == link_of(world).id).values(currency="EUR"))
        db.session.commit()


def test_a_polish_sellers_foreign_currency_draft_asks_for_the_exchange_rate(world, polbud, nordwind):
    in_euro(world)
    invoice_id = drafted(world, received(world))
    html = polbud.get(f"/supplier/invoices/{invoice_id}").text
    assert 'name="exchange_rate"' in html and 'name="exchange_rate_date"' in html
    # a German seller's euro invoice states no VAT in PLN
    german = drafted(world, received(world, supplier="nordwind"), supplier="nordwind")
    assert 'name="exchange_rate"' not in nordwind.get(f"/supplier/invoices/{german}").text


def test_the_exchange_rate_is_saved_with_the_draft(world, polbud):
    in_euro(world)
    invoice_id = drafted(world, received(world))
    invoice = fresh(invoice_id)
    response = polbud.post(f"/supplier/invoices/{invoice_id}/edit", data=_draft_form(
        invoice, exchange_rate="4.2512", exchange_rate_date=(TODAY - timedelta(days=1)).isoformat()))
    assert response.status_code in (302, 303)
    assert fresh(invoice_id).exchange_rate == D("4.2512")
    response = polbud.post(f"/supplier/invoices/{invoice_id}/edit",
                           data=_draft_form(invoice, exchange_rate="-1"))
    assert response.status_code == 422 and 'id="exchange_rate-error"' in response.text


def test_draft_delete(world, polbud):
    invoice_id = drafted(world, received(world))
    response = polbud.post(f"/supplier/invoices/{invoice_id}/delete")
    assert response.status_code in (302, 303) and response.headers["Location"].endswith("/supplier/invoices")
    assert count(Invoice) == 0


# ---------------------------------------------------------------- issuing


def test_issue_numbers_the_invoice_and_shows_its_page(world, polbud):
    invoice_id = drafted(world, received(world))
    response = polbud.post(f"/supplier/invoices/{invoice_id}/issue", follow_redirects=True)
    assert response.status_code == 200
    invoice = fresh(invoice_id)
    assert invoice.status == InvoiceStatus.ISSUED and invoice.number.startswith(f"FV/{TODAY.year}/")
    html = response.text
    assert invoice.number in html and 'data-testid="download-pdf"' in html
    assert 'name="line-' not in html  # nothing to edit any more


def test_issued_invoice_refuses_every_edit_path(world, polbud):
    invoice_id = issued(world, received(world))
    invoice = fresh(invoice_id)
    before = (invoice.number, invoice.net_total, len(invoice.lines))
    for path, data in ((f"/supplier/invoices/{invoice_id}/edit", _draft_form(invoice, notes="changed")),
                       (f"/supplier/invoices/{invoice_id}/delete", {}),
                       (f"/supplier/invoices/{invoice_id}/issue", {})):
        response = polbud.post(path, data=data)
        assert response.status_code in (302, 303, 409), path
    invoice = fresh(invoice_id)
    assert (invoice.number, invoice.net_total, len(invoice.lines)) == before and invoice.notes != "changed"


def test_issued_invoice_page_and_stored_documents(world, polbud):
    invoice_id = issued(world, received(world))
    invoice = fresh(invoice_id)
    html = polbud.get(f"/supplier/invoices/{invoice_id}").text
    text = text_of(html)
    assert invoice.number in html and "Acme" in text and 'data-testid="credit-note-form"' in html
    first = polbud.get(f"/supplier/invoices/{invoice_id}/pdf")
    assert first.status_code == 200 and first.mimetype == "application/pdf"
    assert polbud.get(f"/supplier/invoices/{invoice_id}/pdf").data == first.data  # stored, not rendered again
    xml = polbud.get(f"/supplier/invoices/{invoice_id}/xml")
    assert xml.status_code == 200 and xml.mimetype in ("application/xml", "text/xml")


def test_a_german_suppliers_invoice_has_no_xml(world, nordwind):
    invoice_id = issued(world, received(world, supplier="nordwind"), supplier="nordwind")
    assert nordwind.get(f"/supplier/invoices/{invoice_id}/xml").status_code == 404


def test_another_suppliers_invoice_is_404_everywhere(world, nordwind, polbud):
    draft_id = drafted(world, received(world))
    invoice_id = issued(world, received(world))
    for path in (f"/supplier/invoices/{draft_id}", f"/supplier/invoices/{invoice_id}",
                 f"/supplier/invoices/{invoice_id}/pdf", f"/supplier/invoices/{invoice_id}/xml"):
        assert nordwind.get(path).status_code == 404, path
    assert nordwind.post(f"/supplier/invoices/{draft_id}/issue").status_code == 404
    assert fresh(draft_id).status == InvoiceStatus.DRAFT


# ---------------------------------------------------------------- credit notes


def test_whole_credit_note_clears_what_is_owed(world, polbud):
    invoice_id = issued(world, received(world))
    page = polbud.get(f"/supplier/invoices/{invoice_id}").text
    response = polbud.post(f"/supplier/invoices/{invoice_id}/credit-note", data={
        "scope": "whole", "reason": "Zwrot całej dostawy", "submission_token": _token(page)})
    assert response.status_code in (302, 303)
    note = fresh(only_invoice(InvoiceKind.CREDIT_NOTE))
    assert response.headers["Location"].endswith(f"/supplier/invoices/{note.id}")
    original = fresh(invoice_id)
    assert original.amount_due == D("0.00") and fresh(note.id).number.startswith("KOR/")
    html = polbud.get(f"/supplier/invoices/{invoice_id}").text
    assert fresh(note.id).number in html
    html = polbud.get(f"/supplier/invoices/{note.id}").text
    assert original.number in html and "Zwrot całej dostawy" in html


def test_credit_note_per_line_and_without_a_reason(world, polbud):
    invoice_id = issued(world, received(world))
    invoice = fresh(invoice_id)
    first = invoice.lines[0]
    response = polbud.post(f"/supplier/invoices/{invoice_id}/credit-note",
                           data={"scope": "lines", "reason": "", f"credit-{first.id}": "2"})
    assert response.status_code == 422 and count(Invoice, Invoice.kind == InvoiceKind.CREDIT_NOTE) == 0
    response = polbud.post(f"/supplier/invoices/{invoice_id}/credit-note",
                           data={"scope": "lines", "reason": "Dwie ryzy uszkodzone", f"credit-{first.id}": "2"})
    assert response.status_code in (302, 303)
    gross_two = (D(2) * D("20.00") * D("1.23")).quantize(D("0.01"))
    assert fresh(invoice_id).amount_due == invoice.gross_total - gross_two


def test_credit_note_on_lines_with_nothing_entered_is_refused(world, polbud):
    invoice_id = issued(world, received(world))
    response = polbud.post(f"/supplier/invoices/{invoice_id}/credit-note",
                           data={"scope": "lines", "reason": "Nic"})
    assert response.status_code == 422 and count(Invoice, Invoice.kind == InvoiceKind.CREDIT_NOTE) == 0


# ---------------------------------------------------------------- aging, statements, dashboard


def test_aging_per_customer(world, polbud):
    issued(world, received(world))
    html = polbud.get("/supplier/invoices/aging").text
    assert rows(html, "aging-row") >= 1 and "Acme" in html
    assert f"/supplier/statements/{link_of(world).id}" in html


def test_statement_page_and_pdf(world, polbud, monkeypatch):
    from portal.services.invoicing import statements

    invoice_id = issued(world, received(world))
    link = link_of(world)
    start = (TODAY - timedelta(days=30)).isoformat()
    html = polbud.get(f"/supplier/statements/{link.id}?start={start}&end={TODAY.isoformat()}").text
    assert fresh(invoice_id).number in html and 'data-testid="statement-entry"' in html
    monkeypatch.setattr(statements, "render_statement_pdf", lambda st, locale: b"%PDF-1.7 statement")
    response = polbud.get(f"/supplier/statements/{link.id}/pdf?start={start}&end={TODAY.isoformat()}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"


def test_statement_of_another_suppliers_customer_is_404(world, nordwind):
    link = link_of(world)
    assert nordwind.get(f"/supplier/statements/{link.id}").status_code == 404
    assert nordwind.get(f"/supplier/statements/{link.id}/pdf").status_code == 404


def test_statement_bad_period_is_refused(world, polbud):
    link = link_of(world)
    response = polbud.get(f"/supplier/statements/{link.id}?start=2026-05-01&end=2026-04-01")
    assert response.status_code == 422


def test_dashboard_widget_lists_drafts_to_issue(world, polbud):
    invoice_id = drafted(world, received(world))
    html = polbud.get("/").text
    assert 'data-testid="supplier-invoices-widget"' in html
    assert f"/supplier/invoices/{invoice_id}" in html


# ---------------------------------------------------------------- more rules on the pages


def _set(invoice_id: int, **values) -> None:
    with as_system():
        db.session.execute(update(Invoice).where(Invoice.id == invoice_id).values(**values))
        db.session.commit()


def test_a_monthly_draft_shows_its_month(world, polbud):
    invoice_id = drafted(world, received(world))
    _set(invoice_id, period="2026-11")
    html = polbud.get("/supplier/invoices?tab=drafts").text
    assert "month 2026-11" in html
    assert 'data-testid="period"' in polbud.get(f"/supplier/invoices/{invoice_id}").text


def test_issue_without_a_bank_account_is_refused_on_the_draft_with_nothing_numbered(world, polbud):
    with as_system():
        world.polbud.iban = ""
        db.session.commit()
    invoice_id = drafted(world, received(world))
    response = polbud.post(f"/supplier/invoices/{invoice_id}/issue")
    assert response.status_code == 422 and 'data-testid="issue"' in response.text
    assert "IBAN" in response.text or "bank account" in response.text
    invoice = fresh(invoice_id)
    assert invoice.status == InvoiceStatus.DRAFT and invoice.number is None
    # the lines' fields show the saved draft, not the (empty) issue form
    first = invoice.lines[0]
    assert re.search(rf'name="line-{first.id}-quantity"[^>]*value="10"', response.text)


def test_foreign_currency_issue_needs_the_exchange_rate(world, polbud):
    in_euro(world)
    invoice_id = drafted(world, received(world))
    response = polbud.post(f"/supplier/invoices/{invoice_id}/issue")
    assert response.status_code == 422
    assert 'id="exchange_rate-error"' in response.text
    assert fresh(invoice_id).status == InvoiceStatus.DRAFT


def test_a_price_off_the_order_is_flagged_on_the_draft(world, polbud):
    invoice_id = drafted(world, received(world))
    invoice = fresh(invoice_id)
    first = invoice.lines[0]
    polbud.post(f"/supplier/invoices/{invoice_id}/edit",
                data=_draft_form(invoice, **{f"line-{first.id}-unit_price": "29.00"}))
    html = polbud.get(f"/supplier/invoices/{invoice_id}").text
    assert 'data-testid="match-warning"' in html and rows(html, "match-problem") == 1


def test_credit_note_for_more_than_remains_is_refused(world, polbud):
    invoice_id = issued(world, received(world))
    first = fresh(invoice_id).lines[0]
    response = polbud.post(f"/supplier/invoices/{invoice_id}/credit-note",
                           data={"scope": "lines", "reason": "Za dużo", f"credit-{first.id}": "99"})
    assert response.status_code == 422 and count(Invoice, Invoice.kind == InvoiceKind.CREDIT_NOTE) == 0
    assert 'data-testid="credit-note-form"' in response.text


def test_an_overdue_invoice_is_marked_in_the_list_page_and_dashboard(world, polbud):
    invoice_id = issued(world, received(world))
    _set(invoice_id, due_date=TODAY - timedelta(days=5))
    html = polbud.get("/supplier/invoices?tab=overdue").text
    assert rows(html, "invoice-row") == 1 and "Overdue" in html
    assert 'data-testid="overdue-note"' in polbud.get(f"/supplier/invoices/{invoice_id}").text
    assert 'data-testid="overdue-count"' in polbud.get("/").text


def test_a_blocked_customer_cannot_be_invoiced(world, polbud, login_as):
    made = received(world)
    link = link_of(world)
    admin = login_as(world.user("admin@acme"))
    assert admin.post(f"/suppliers/{link.id}/block", data={"comment": "Audyt"}).status_code == 302
    html = polbud.get(f"/supplier/invoices/new?customer={link.id}").text
    assert "blocked" in html
    response = polbud.post("/supplier/invoices/new", data={"customer": link.id, "orders": [made.order_id]})
    assert response.status_code in (302, 303, 403, 409, 422)
    assert count(Invoice) == 0


def test_statement_with_an_unreadable_date_is_422(world, polbud):
    link = link_of(world)
    response = polbud.get(f"/supplier/statements/{link.id}?start=yesterday")
    assert response.status_code == 422 and 'id="start-error"' in response.text


def test_new_invoice_with_an_unreadable_or_foreign_order_is_refused(world, polbud):
    received(world)
    other = received(world, supplier="nordwind")
    link = link_of(world)
    response = polbud.post("/supplier/invoices/new", data={"customer": link.id, "orders": ["x"]})
    assert response.status_code == 422
    response = polbud.post("/supplier/invoices/new", data={"customer": link.id, "orders": [other.order_id]})
    assert response.status_code == 422
    assert polbud.post("/supplier/invoices/new", data={"orders": [other.order_id]}).status_code == 422
    assert count(Invoice) == 0


def test_a_draft_has_no_documents_to_download(world, polbud):
    invoice_id = drafted(world, received(world))
    assert polbud.get(f"/supplier/invoices/{invoice_id}/pdf").status_code == 404
    assert polbud.get(f"/supplier/invoices/{invoice_id}/xml").status_code == 404


def _statements(client, url) -> int:
    from tests.kit import count_queries

    assert client.get(url).status_code == 200  # warm: the session's user is loaded
    with count_queries() as statements:
        assert client.get(url).status_code == 200
    return len(statements)


def test_the_list_and_an_invoice_page_cost_the_same_statements_for_more_rows(world, polbud):
    issued(world, received(world))
    drafted(world, received(world))
    small = issued(world, received(world))
    before = {tab: _statements(polbud, f"/supplier/invoices?tab={tab}") for tab in ("drafts", "all")}
    page_before = _statements(polbud, f"/supplier/invoices/{small}")
    for _ in range(3):
        issued(world, received(world))
        drafted(world, received(world))
    six = (("A", "1", "1.00"), ("B", "1", "1.00"), ("C", "1", "1.00"), ("D", "1", "1.00"),
           ("E", "1", "1.00"), ("F", "1", "1.00"))
    big = issued(world, received(world, lines=six, receive=("1",) * 6))
    assert {tab: _statements(polbud, f"/supplier/invoices?tab={tab}") for tab in ("drafts", "all")} == before
    assert _statements(polbud, f"/supplier/invoices/{big}") == page_before


def test_the_invoice_page_shows_its_history(world, polbud):
    invoice_id = issued(world, received(world))
    html = polbud.get(f"/supplier/invoices/{invoice_id}").text
    assert '<ol class="timeline">' in html and "Piotr Mazur" in html


def test_the_customer_page_links_to_its_statement_and_invoices(world, polbud):
    link = link_of(world)
    html = polbud.get(f"/supplier/customers/{link.id}").text
    assert f"/supplier/statements/{link.id}" in html and f"buyer={world.acme.id}" in html


def test_draft_totals_follow_the_form_as_typed_without_saving(world, polbud):
    invoice_id = drafted(world, received(world))
    invoice = fresh(invoice_id)
    first = invoice.lines[0]
    response = polbud.post(f"/supplier/invoices/{invoice_id}/totals", headers=HX,
                           data=_draft_form(invoice, **{f"line-{first.id}-quantity": "1"}))
    assert response.status_code == 200
    assert_fragment(response)
    assert response.text.lstrip().startswith('<div id="draft-totals"')
    # 1 × 20.00 + 5 × 300.00 = 1 520.00 net, 23 % VAT
    assert "1,520.00" in response.text and "1,869.60" in response.text
    assert fresh(invoice_id).net_total == D("1700.00")  # nothing saved
    # a quantity that cannot be read yet keeps the line's saved amount
    response = polbud.post(f"/supplier/invoices/{invoice_id}/totals", headers=HX,
                           data=_draft_form(invoice, **{f"line-{first.id}-quantity": "x"}))
    assert response.status_code == 200 and "1,700.00" in response.text
    # without htmx, or once issued: to the invoice's page
    assert polbud.post(f"/supplier/invoices/{invoice_id}/totals").status_code in (302, 303)
