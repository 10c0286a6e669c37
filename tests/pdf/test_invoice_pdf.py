"""The invoice PDF: what the stored file says (text extracted with poppler's `pdftotext`) —
every mandatory field of art. 106e ust. 1 of the Polish VAT act, the VAT per rate rounded the
act's way, the amount in words, the legal notes (reverse charge, split payment, exemption), a
credit note's reference to what it corrects, the VAT in PLN of a foreign-currency invoice —
how a 300-line invoice paginates, and that the stored bytes never change.

Invoices are built straight from the models (tests/pdf/invoice_fixtures.py), not through the
issuing service. Expected words come from the catalogue in the invoice's language (labels are
printed in capitals); the Polish legal phrases are checked as the act writes them.
"""

from __future__ import annotations

import hashlib
import shutil
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest
from flask_babel import force_locale, gettext

from portal import i18n
from portal.domain.invoicing import amount_in_words
from portal.domain.taxid import format_tax_id
from portal.domain.terms import PaymentTerms
from portal.domain.vat import totals_by_code
from portal.extensions import db
from portal.models import Organization
from portal.models.invoice import Invoice, InvoiceDocument, InvoiceKind
from portal.services.invoicing import documents
from portal.tenancy import system
from tests.conftest import _empty_database, _restore, as_org
from tests.pdf.fixtures import make_order
from tests.pdf.invoice_fixtures import BANK, ISSUE_DATE, SALE_DATE, description, make_invoice
from tests.pdf.test_order_pdf import flat, pdf_text, plain

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) not installed")

D = Decimal


def words(language: str, *msgids: str, upper: bool = False) -> list[str]:
    """The catalogue's words for `msgids` in `language` (in capitals where the PDF prints labels)."""
    with force_locale(language):
        found = [plain(gettext(m)) for m in msgids]
    return [w.upper() for w in found] if upper else found


def written(language: str, fn, *args, **kwargs) -> str:
    """A value formatted the document's way (`i18n.money`, `i18n.day`, …) in `language`."""
    with force_locale(language):
        return plain(fn(*args, **kwargs))


def stored_text(invoice: Invoice, *, layout: bool = False) -> str:
    """Store the invoice's documents and read the stored PDF's text back."""
    documents.store_documents(invoice)
    return pdf_text(documents.document_bytes(documents.document(invoice)), layout=layout)


def vars_of(summary) -> dict:
    return {"net": summary.net, "vat": summary.vat, "gross": summary.gross}


def line_row(line, language: str) -> str:
    """A line as the table prints it, from the quantity to the gross."""
    with force_locale(language):
        cells = [i18n.quantity(line.quantity), i18n.unit_label(line.unit),
                 i18n.number(line.unit_price, places=2, max_places=4), i18n.number(line.net, places=2),
                 "zw" if line.vat_code == "zw" else gettext(f"{line.vat_code}%"),
                 i18n.number(line.vat, places=2), i18n.number(line.gross, places=2)]
    return plain(" ".join(cells))


# ---------------------------------------------------------------- art. 106e, field by field


def test_a_stored_polish_invoice_holds_every_mandatory_field_of_art_106e(world):
    acme, polbud = world.acme, world.polbud
    with as_org(acme):
        first = make_order(acme, polbud, lines=1, number="PO/2026/00011")
        second = make_order(acme, polbud, lines=1, number="PO/2026/00012")
        db.session.commit()
    with as_org(polbud):
        invoice = make_invoice(polbud, acme, lines=10, orders=[first, second],
                               notes="Dostawa do magazynu centralnego, brama 3.")
        text = flat(stored_text(invoice))
        lines = list(invoice.lines)
        layout = pdf_text(documents.document_bytes(documents.document(invoice)), layout=True)
        pages = len([page for page in layout.split("\f") if page.strip()])
    title, seller, buyer, issue, supply, pay_by, account = words(
        "pl", "VAT invoice", "Seller", "Purchaser", "Issue date", "Date of supply", "Pay by", "Bank account",
        upper=True)
    # 1, 2: issue date (and place) and the number
    assert f"{title} FV/2026/000001" in text
    assert f"{issue} {written('pl', i18n.day, ISSUE_DATE, 'short')}" in text
    assert f"Warszawa, {written('pl', i18n.day, ISSUE_DATE, 'long')}" in text  # place and date of issue
    # 3, 4, 5: both parties, their addresses and NIPs (from the snapshot)
    for label, org in ((seller, polbud), (buyer, acme)):
        assert (f"{label} {org.legal_name} {org.address_line} {org.postal_code} {org.city}, Polska "
                f"NIP: {format_tax_id(org.tax_id, 'PL')}") in text
    # 6: date of supply
    assert f"{supply} {written('pl', i18n.day, SALE_DATE, 'short')}" in text
    # 7, 8, 9, 11, 12: every line's name, quantity, unit, unit net price, net, rate (and VAT, gross)
    assert all(description(i) in text for i in range(1, 11))
    for line in lines:
        assert line_row(line, "pl") in text, line_row(line, "pl")
    # 13, 14: net and VAT per rate, the total; 15: the gross, the amount due, in words
    summary = totals_by_code(((line.vat_code, line.net) for line in lines), "PLN")
    assert len(summary.per_code) == 5  # 23, 8, 5, 0 %, zw
    with force_locale("pl"):
        labels = documents.vat_labels()
        for row in (*summary.per_code, SimpleNamespace(code=SimpleNamespace(code="total"), **vars_of(summary))):
            label = labels.get(row.code.code) or gettext("Total")
            amounts = " ".join(plain(i18n.number(v, places=2)) for v in (row.net, row.vat, row.gross))
            assert f"{plain(label)} {amounts}" in text, (label, amounts)
        assert f"{gettext('zw: supply exempt from VAT under art. 43 ust. 1 of the Polish VAT act.')}" in text  # 19
        due = plain(i18n.money(invoice.gross_total, "PLN"))
    assert f"{words('pl', 'Amount due')[0]} {due}" in text
    assert amount_in_words(invoice.gross_total, "PLN", "pl") in text
    # payment: terms in words, due date, the seller's bank account grouped
    assert f"{pay_by} {written('pl', i18n.day, date(2027, 1, 19), 'short')}" in text  # net 45 days
    assert f"{account} PL61 1090 1014 0000 0712 1981 2874 {BANK['PL'][1]}" in text
    with force_locale("pl"):
        assert i18n.translate(PaymentTerms.net(45).label()) in text
    # the orders delivered against, the notes, page numbers
    assert "PO/2026/00011, PO/2026/00012" in text
    assert "Dostawa do magazynu centralnego, brama 3." in text
    with force_locale("pl"):
        assert all(plain(gettext("Page %(page)s of %(pages)s", page=i, pages=pages)) in text
                   for i in range(1, pages + 1))
    assert "odwrotne obciążenie" not in text.lower() and "podzielonej" not in text.lower()


def test_an_english_invoice_reads_in_english_with_vat_ids_the_currency_and_the_early_payment_discount(world):
    acme, nordwind = world.acme, world.nordwind
    with as_org(nordwind):  # Acme's terms with Nordwind: 2% within 10 days, net 30 (EUR)
        invoice = make_invoice(nordwind, acme, language="en", items=[(D(10), D("12.50"), "23")], period="2026-11")
        text = flat(pdf_text(documents.render_invoice_pdf(invoice)))
    assert "VAT INVOICE FV/2026/000001" in text
    assert f"VAT ID: {nordwind.tax_id}" in text and "NIP: 779-243-35-04" in text
    assert "Germany" in text and "Poland" in text
    assert "125.00 28.75 153.75" in text  # 23% row: net, VAT, gross
    assert "Amount due 153.75 EUR" in text
    assert "IN WORDS: one hundred and fifty-three euro 75/100" in text
    assert "DE89 3704 0044 0532 0130 00" in text and "Commerzbank AG" in text
    assert "2% discount within 10 days, net 30 days" in text
    assert "Early payment: 2% discount when paid by 15 Dec 2026 – pay 150.67 EUR (discount 3.08 EUR)." in text
    assert "Pay by 4 Jan 2027" in text.replace("PAY BY", "Pay by")
    assert "Deliveries of November 2026" in text  # a monthly invoice's period
    assert "Page 1 of 1" in text


def test_instalments_are_listed_with_their_dates_and_amounts(world):
    acme, polbud = world.acme, world.polbud
    terms = PaymentTerms.in_instalments([(D(50), 30), (D(50), 60)])
    with as_org(polbud):
        invoice = make_invoice(polbud, acme, language="en", terms=terms, items=[(D(1), D("100.01"), "23")])
        text = flat(pdf_text(documents.render_invoice_pdf(invoice)))
    # 123.01 gross: 61.51 (half-up) then the rest, 61.50
    assert "INSTALMENTS: 4 Jan 2027 – 61.51 PLN; 3 Feb 2027 – 61.50 PLN" in text


# ---------------------------------------------------------------- VAT the act's way


def test_vat_is_rounded_half_up_once_per_rate_from_the_summed_nets_and_the_pdf_adds_up(world):
    acme, polbud = world.acme, world.polbud
    items = ([(D(1), D("0.50"), "23")] * 3      # 3 × VAT 0.115 → 0.12 per line, but 1.50 × 23% = 0.345 → 0.35
             + [(D(1), D("0.125"), "8")]        # net 0.125 → 0.13 (half-up, not 0.12); VAT 0.0104 → 0.01
             + [(D(1), D("0.07"), "5")] * 40)   # 40 × VAT 0.0035 → 0.00, but 2.80 × 5% = 0.14
    with as_org(polbud):
        invoice = make_invoice(polbud, acme, items=items)
        text = flat(stored_text(invoice))
    assert (invoice.net_total, invoice.vat_total, invoice.gross_total) == (D("4.43"), D("0.50"), D("4.93"))
    [total] = words("pl", "Total")
    for row in ("23% 1,50 0,35 1,85", "8% 0,13 0,01 0,14", "5% 2,80 0,14 2,94", f"{total} 4,43 0,50 4,93"):
        assert row in text, row
    assert "0,125 0,13 8% 0,01 0,14" in text  # the line: unit price, net rounded half-up, rate, VAT, gross
    assert "4,93 zł" in text and "cztery złote 93/100" in text


# ---------------------------------------------------------------- legal notes


def test_reverse_charge_prints_the_acts_words_no_vat_and_both_vat_ids(world):
    acme, nordwind = world.acme, world.nordwind
    with as_org(nordwind):
        invoice = make_invoice(nordwind, acme, language="pl", reverse_charge=True, lines=3)
        text = flat(stored_text(invoice))
        assert documents.document(invoice, documents.KSEF) is None  # a German seller: no FA(3)
    assert "odwrotne obciążenie" in text.lower()
    assert words("pl", "The purchaser accounts for the VAT.")[0] in text
    assert invoice.vat_total == 0 and all(line.vat_code == "oo" for line in invoice.lines)
    assert f"{words('pl', 'VAT ID')[0]}: {nordwind.tax_id}" in text
    assert "NIP: 779-243-35-04" in text
    with force_locale("pl"):
        label = plain(i18n.translate("reverse charge (oo)"))
        assert f"{label} {plain(i18n.number(invoice.net_total, places=2))} 0,00" in text


def test_an_english_reverse_charge_invoice_between_two_foreign_companies_says_reverse_charge(world):
    globex, nordwind = world.globex, world.nordwind
    with as_org(nordwind):
        invoice = make_invoice(nordwind, globex, language="en", reverse_charge=True, lines=2)
        text = flat(pdf_text(documents.render_invoice_pdf(invoice)))
    assert "REVERSE CHARGE" in text and "The purchaser accounts for the VAT." in text
    assert "odwrotne" not in text.lower()  # no Polish party: no Polish words


def test_split_payment_prints_the_acts_words_only_when_set(world):
    acme, polbud = world.acme, world.polbud
    items = [(D(100), D("180.00"), "23")]
    with as_org(polbud):
        split = make_invoice(polbud, acme, items=items, split_payment=True)
        plain_one = make_invoice(polbud, acme, items=items, number="FV/2026/000002")
        with_split = flat(pdf_text(documents.render_invoice_pdf(split))).lower()
        without = flat(pdf_text(documents.render_invoice_pdf(plain_one))).lower()
    assert "mechanizm podzielonej płatności" in with_split
    assert "podzielonej" not in without


def test_a_foreign_currency_invoice_of_a_polish_seller_shows_its_vat_in_pln_per_rate_at_the_rate(world):
    acme, polbud = world.acme, world.polbud
    items = [(D(100), D("180.00"), "23"), (D(3), D("99.99"), "8"), (D(1), D("10"), "zw")]
    with as_org(polbud):
        invoice = make_invoice(polbud, acme, currency="EUR", items=items, exchange_rate=D("4.2512"),
                               exchange_rate_date=date(2026, 12, 4))
        text = flat(stored_text(invoice))
    # 4 140.00 EUR × 4.2512 = 17 599.968 → 17 599.97; 24.00 × 4.2512 = 102.0288 → 102.03
    assert "23% 18 000,00 4 140,00 22 140,00 17 599,97" in text
    assert "8% 299,97 24,00 323,97 102,03" in text
    assert "17 702,00" in text and "4,2512" in text and "4.12.2026" in text
    assert "22 473,97 €" in text
    assert "dwadzieścia dwa tysiące czterysta siedemdziesiąt trzy euro 97/100" in text


# ---------------------------------------------------------------- credit notes


def test_a_credit_note_names_what_it_corrects_why_and_prints_the_reduction(world):
    acme, polbud = world.acme, world.polbud
    with as_org(polbud):
        original = make_invoice(polbud, acme, lines=4, issue_date=date(2026, 12, 1))
        note = make_invoice(polbud, acme, kind=InvoiceKind.CREDIT_NOTE, number="KOR/2026/000001", corrects=original,
                            reason="Zwrot 2 szt. uszkodzonych w transporcie.",
                            items=[(D(2), D("12.35"), "23"), (D(1), D("3.70"), "8")])
        text = flat(stored_text(note))
        assert documents.document_filename(note) == "KOR-2026-000001.pdf"
    title, corrected, reason = words("pl", "Credit note", "Corrected invoice", "Reason for the correction", upper=True)
    [amount] = words("pl", "Correction amount")
    assert f"{title} KOR/2026/000001" in text
    assert f"{corrected} FV/2026/000001" in text and "1.12.2026" in text
    assert f"{reason} Zwrot 2 szt. uszkodzonych w transporcie." in text
    assert "−2 " in text and "−24,70" in text and "−5,68" in text  # the lines as reductions
    assert f"{amount} −34,38 zł" in text
    with force_locale("pl"):
        assert plain(gettext("This credit note reduces the amount due on invoice %(number)s by %(amount)s.",
                             number="FV/2026/000001", amount=i18n.money(D("34.38"), "PLN"))) in text


# ---------------------------------------------------------------- a long invoice


@pytest.fixture(scope="module")
def long_invoice(app, _world_snapshot):
    """Polbud's 300-line invoice to Acme, stored once; its bytes and what the tests expect."""
    rows, keys = _world_snapshot
    with app.app_context():
        _empty_database()
        _restore(rows)
        with system(db.session):
            acme = db.session.get(Organization, keys["orgs"]["acme"])
            polbud = db.session.get(Organization, keys["orgs"]["polbud"])
        with as_org(polbud):
            invoice = make_invoice(polbud, acme, lines=300, number="FV/2026/000300")
            documents.store_documents(invoice)
            db.session.commit()
            with force_locale("pl"):
                found = SimpleNamespace(
                    data=documents.document_bytes(documents.document(invoice)), lines=300, number=invoice.number,
                    gross=plain(i18n.money(invoice.gross_total, "PLN")),
                    header=[gettext(label).upper() for label in ("Goods or service", "Qty", "VAT amount")])
        db.session.remove()
        _empty_database()
    return found


def test_a_300_line_invoice_runs_over_pages_each_with_the_table_header_and_page_x_of_y(long_invoice):
    pages = [page for page in pdf_text(long_invoice.data, layout=True).split("\f") if page.strip()]
    assert len(pages) >= 8
    with force_locale("pl"):
        numbers = [plain(gettext("Page %(page)s of %(pages)s", page=i, pages=len(pages)))
                   for i in range(1, len(pages) + 1)]
    with_lines = [page for page in pages if " — poz. " in page]
    assert len(with_lines) >= len(pages) - 1
    for page in with_lines:
        assert all(label in page for label in long_invoice.header), page[:400]
    for page, number in zip(pages, numbers, strict=True):
        assert number in page
        assert long_invoice.number in page  # the title (first page) or the running header


def test_a_300_line_invoice_holds_every_line_and_the_total(long_invoice):
    text = flat(pdf_text(long_invoice.data))
    assert [i for i in range(1, long_invoice.lines + 1) if description(i) not in text] == []
    assert long_invoice.gross in text


# ---------------------------------------------------------------- storing


def test_documents_are_stored_once_and_served_byte_for_byte_to_both_parties_forever(world):
    acme, polbud, nordwind = world.acme, world.polbud, world.nordwind
    acme_id, polbud_id, nordwind_id = acme.id, polbud.id, nordwind.id
    with as_org(polbud):
        invoice = make_invoice(polbud, acme, lines=3)
        documents.store_documents(invoice)
        db.session.commit()
        invoice_id = invoice.id
        pdf = documents.document(invoice)
        xml = documents.document(invoice, documents.KSEF)
        assert (pdf.filename, pdf.content_type) == ("FV-2026-000001.pdf", "application/pdf")
        assert (xml.filename, xml.content_type) == ("FV-2026-000001.xml", "application/xml")
        assert documents.document_filename(invoice, "ksef") == "FV-2026-000001.xml"
        shas = {doc.kind: doc.sha256 for doc in (pdf, xml)}
        assert hashlib.sha256(documents.document_bytes(pdf)).hexdigest() == shas["pdf"]
        assert len(documents.document_bytes(pdf)) == pdf.size

    def stored(org_id):
        db.session.remove()
        with system(db.session):
            org = db.session.get(Organization, org_id)
        with as_org(org):
            found = db.session.get(Invoice, invoice_id)
            if found is None:
                return None
            return {doc.kind: hashlib.sha256(documents.document_bytes(doc)).hexdigest()
                    for doc in (documents.document(found), documents.document(found, documents.KSEF))}

    # Later: the seller's address changes and the documents are asked for again: kept as they were.
    with system(db.session):
        db.session.get(Organization, polbud_id).address_line = "ul. Nowa 1"
        db.session.commit()
    with as_org(db.session.get(Organization, polbud_id)):
        again = db.session.get(Invoice, invoice_id)
        again.notes = "changed afterwards"
        documents.store_documents(again)
        assert db.session.query(InvoiceDocument).filter_by(invoice_id=invoice_id).count() == 2
        db.session.rollback()
    assert stored(polbud_id) == shas  # the supplier's download
    assert stored(acme_id) == shas  # the buyer's download: the same file
    assert stored(nordwind_id) is None  # another supplier sees nothing


def test_a_draft_has_no_documents(world):
    acme, polbud = world.acme, world.polbud
    with as_org(polbud):
        invoice = make_invoice(polbud, acme, lines=1, number=None)
        with pytest.raises(documents.DraftHasNoDocuments):
            documents.store_documents(invoice)
        assert documents.document(invoice) is None
        assert documents.render_invoice_pdf(invoice).startswith(b"%PDF-")  # a preview renders
