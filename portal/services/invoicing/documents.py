"""The documents of an issued invoice or credit note: its PDF and (Polish seller) its KSeF XML,
rendered once at issue, stored, served from storage.

`store_documents(invoice)` runs inside the issuing transaction (helper `issuing.py`): it renders
the PDF in the invoice's language (`invoice.language`) from what the invoice stores — its
number, dates, terms, currency, exchange rate, totals, lines and the `parties` snapshot frozen
at issue — and keeps the bytes with their size and SHA-256 in an `InvoiceDocument` (kind
"pdf"); for a Polish seller also the FA(3) XML (kind "ksef", `ksef.fa3_xml`). A kind is stored
once: calling it again keeps the first bytes. Every download reads those bytes (`document`,
`document_bytes`), so the invoice the buyer approved reads the same forever, whatever changes
later (addresses, bank accounts, translations, this template).

The PDF holds what art. 106e ust. 1 of the Polish VAT act requires (see `MANDATORY` below for
where each field is printed), the amount due in words, the referenced orders, the payment terms
and due date(s), and "page X of Y" with the lines' header repeated on every page. A credit note
("Faktura korygująca", art. 106j) names the invoice it corrects (number and date) and the reason,
and prints its amounts as the reduction they are (negative).

Services never commit: the caller's transaction keeps the documents with the invoice.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from markupsafe import Markup
from sqlalchemy import select

from portal.domain.bank import format_iban
from portal.domain.exemption import KIND_PRINTED
from portal.domain.invoicing import amount_in_words, vat_in_pln
from portal.domain.terms import TermsKind
from portal.domain.vat import VatTotal, totals_by_code
from portal.extensions import db
from portal.models.invoice import Invoice, InvoiceDocument, InvoiceKind
from portal.models.order import PurchaseOrder
from portal.pdf import STATIC, compact, html_to_pdf, page_counter_stylesheet, render_html, stylesheet
from portal.services import clock
from portal.services.orders.documents import vat_labels

TEMPLATE = "pdf/invoice.html"
STYLESHEET = STATIC / "css" / "invoice-pdf.css"
PDF, KSEF = "pdf", "ksef"
CONTENT_TYPES = {PDF: "application/pdf", KSEF: "application/xml"}
EXTENSIONS = {PDF: ".pdf", KSEF: ".xml", "xml": ".xml"}
# The words the VAT act wants on the invoice itself (art. 106e ust. 1 pkt 18 and 18a), in Polish
# whatever the invoice's language: printed as they are, never translated (the translated
# explanation follows them).
REVERSE_CHARGE_WORDS = "odwrotne obciążenie"
SPLIT_PAYMENT_WORDS = "mechanizm podzielonej płatności"
PARTY_FIELDS = ("name", "legal_name", "tax_id", "address_line", "postal_code", "city", "country")

# Art. 106e ust. 1 of the VAT act: each mandatory field and where the PDF prints it (the tests
# find each in the text of a stored PDF).
MANDATORY = {
    "1 data wystawienia": "header: issue date (and place of issue)",
    "2 kolejny numer": "header: FV/2026/000001 (credit note: KOR/…)",
    "3 imiona i nazwiska lub nazwy, adresy": "Seller and Buyer boxes (from the snapshot at issue)",
    "4 NIP sprzedawcy": "Seller box: NIP (VAT ID for a foreign seller)",
    "5 NIP nabywcy": "Buyer box: NIP, or the buyer's EU VAT ID",
    "6 data dokonania dostawy": "facts: date of sale / delivery",
    "7 nazwa towaru lub usługi": "lines: description",
    "8 miara i ilość": "lines: quantity and unit",
    "9 cena jednostkowa netto": "lines: unit net price",
    "11 wartość sprzedaży netto": "lines: net",
    "12 stawka podatku": "lines: VAT rate or code (zw, np, oo)",
    "13 suma wartości netto per stawka": "VAT summary: net per rate",
    "14 kwota podatku per stawka": "VAT summary: VAT per rate (in PLN too for a foreign currency)",
    "15 kwota należności ogółem": "totals: gross, amount due, in words",
    "18 odwrotne obciążenie": "legal notes (reverse charge)",
    "18a mechanizm podzielonej płatności": "legal notes (split payment)",
    "19 podstawa zwolnienia": "legal notes (a line with `zw`)",
}


def nobr(text: str) -> Markup:
    """`text` kept on one line (a document number: never broken after its `/`)."""
    return Markup('<span class="nobr">%s</span>') % text


class DraftHasNoDocuments(ValueError):
    """Only an issued (numbered) invoice has documents."""


# ---------------------------------------------------------------- names


def document_filename(invoice: Invoice, kind: str = PDF) -> str:
    """`FV-2026-000001.pdf` (`.xml` for the KSeF document): the number with `/` as `-`."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", invoice.number or f"draft-{invoice.id}").strip("-") or "invoice"
    return stem + EXTENSIONS.get(kind, ".pdf")


# ---------------------------------------------------------------- what the template is given


def party_snapshot(org, *, bank: bool = False) -> dict:
    """An organisation as an invoice prints it (the `parties` snapshot's shape); the seller's
    also has its bank account (`iban`, `bank`)."""
    found = {name: getattr(org, name, "") or "" for name in PARTY_FIELDS}
    if bank:
        found.update(iban=getattr(org, "iban", "") or "", bank=getattr(org, "bank_name", "") or "")
    return found


def _parties(invoice: Invoice) -> tuple[dict, dict]:
    """Seller and buyer as frozen at issue; an unissued draft (a preview) reads the live ones."""
    stored = invoice.parties or {}
    seller = stored.get("seller") or party_snapshot(invoice.supplier, bank=True)
    buyer = stored.get("buyer") or party_snapshot(invoice.buyer)
    return {name: "" for name in PARTY_FIELDS} | seller, {name: "" for name in PARTY_FIELDS} | buyer


@dataclass(frozen=True)
class VatRow:
    """One row of the VAT summary: the code's totals and, in a foreign currency, its VAT in PLN."""

    total: VatTotal
    vat_pln: Decimal | None


def _order_numbers(invoice: Invoice) -> list[str]:
    ids = {line.order_id for line in invoice.lines if line.order_id}
    if not ids:
        return []
    return list(db.session.scalars(
        select(PurchaseOrder.number).where(PurchaseOrder.id.in_(ids)).order_by(PurchaseOrder.number)))


def _period_start(period: str | None) -> date | None:
    """The first day of a monthly invoice's period ("2026-11"), None without one."""
    try:
        year, month = (int(part) for part in (period or "").split("-"))
        return date(year, month, 1)
    except ValueError:
        return None


def invoice_context(invoice: Invoice) -> dict:
    """What the invoice template is given: the values (the words are translated in the
    template, in the invoice's language)."""
    seller, buyer = _parties(invoice)
    lines = list(invoice.lines)
    currency = invoice.currency
    summary = totals_by_code(((line.vat_code, line.net) for line in lines), currency)
    foreign = currency != "PLN" and invoice.exchange_rate is not None
    vat_rows = [VatRow(row, vat_in_pln(row.vat, invoice.exchange_rate) if foreign else None)
                for row in summary.per_code]
    credit_note = invoice.kind == InvoiceKind.CREDIT_NOTE
    gross = invoice.gross_total
    issued = invoice.issue_date or clock.now().date()  # a draft's preview only
    terms = invoice.payment_terms
    instalments = terms.schedule(issued, gross, currency) if (
        terms is not None and terms.kind == TermsKind.INSTALMENTS and not credit_note) else ()
    early = terms.early_payment(issued, gross, currency) if terms is not None and not credit_note else None
    iban = seller.get("iban") or invoice.bank_account or ""
    codes = {row.code.code for row in summary.per_code}
    return {
        "invoice": invoice,
        "seller": seller,
        "buyer": buyer,
        "lines": lines,
        "summary": summary,
        "vat_rows": vat_rows,
        "foreign": foreign,
        # The VAT in PLN is converted per rate (as FA(3)'s P_14_xW) and summed: the PDF adds up.
        "vat_pln_total": sum((row.vat_pln for row in vat_rows), Decimal("0.00")) if foreign else None,
        "credit_note": credit_note,
        "corrected": invoice.corrects if credit_note else None,
        "minus": "−" if credit_note else "",
        "issued_on": issued,
        "instalments": instalments,
        "early": early,
        "iban": format_iban(iban) if iban else "",
        "bank": seller.get("bank") or "",
        "orders": _order_numbers(invoice),
        "period_start": _period_start(invoice.period),
        "in_words": amount_in_words(gross, currency, invoice.language or "pl"),
        "exempt": "zw" in codes,
        # The legal basis of the exemption as chosen on the draft (kind in the invoice's words).
        "exemption_basis": invoice.exemption_basis or "",
        "exemption_kind": KIND_PRINTED.get(invoice.exemption_basis_kind or "", ""),
        "not_subject": "np" in codes,
        "vat_labels": vat_labels,
        "nobr": nobr,
        "reverse_charge": invoice.reverse_charge or "oo" in codes,
        "polish_party": "PL" in (seller.get("country"), buyer.get("country")),
        "reverse_charge_words": REVERSE_CHARGE_WORDS,
        "split_payment_words": SPLIT_PAYMENT_WORDS,
    }


# ---------------------------------------------------------------- rendering and storing


def render_invoice_pdf(invoice: Invoice) -> bytes:
    """The PDF of the invoice (or credit note) as it stands, in its language."""
    language = invoice.language or "pl"
    html = render_html(TEMPLATE, locale=language, time_zone=None, **invoice_context(invoice))
    return html_to_pdf(compact(html), stylesheets=(stylesheet(STYLESHEET), page_counter_stylesheet(language)))


def _seller_country(invoice: Invoice) -> str:
    seller = (invoice.parties or {}).get("seller") or {}
    return (seller.get("country") or getattr(invoice.supplier, "country", "") or "").upper()


def document(invoice: Invoice, kind: str = PDF) -> InvoiceDocument | None:
    """The stored document of `kind` ("pdf" or "ksef") of the invoice, None when there is none."""
    if invoice.id is None:
        return None
    return db.session.scalar(select(InvoiceDocument).where(
        InvoiceDocument.invoice_id == invoice.id, InvoiceDocument.kind == kind))


def _store(invoice: Invoice, kind: str, render, stored_kinds: set[str]) -> None:
    if kind in stored_kinds:
        return
    data = render(invoice)
    stored = InvoiceDocument(
        invoice=invoice, kind=kind, filename=document_filename(invoice, kind),
        content_type=CONTENT_TYPES[kind], size=len(data), sha256=hashlib.sha256(data).hexdigest(), data=data,
    )
    db.session.add(stored)


def store_documents(invoice: Invoice) -> None:
    """Render and store the invoice's PDF and, for a Polish seller, its KSeF FA(3) XML. Each
    kind is rendered once: a stored one is kept as it is."""
    if not invoice.number:
        raise DraftHasNoDocuments("a draft has no documents: issue it first")
    if invoice.id is None:
        db.session.flush()
    # One query for the kinds already stored (not one per kind): issuing is on the user's click.
    stored_kinds = set(db.session.scalars(
        select(InvoiceDocument.kind).where(InvoiceDocument.invoice_id == invoice.id)))
    _store(invoice, PDF, render_invoice_pdf, stored_kinds)
    if _seller_country(invoice) == "PL":
        from portal.services.invoicing import ksef

        _store(invoice, KSEF, ksef.fa3_xml, stored_kinds)
    db.session.flush()


def document_bytes(doc: InvoiceDocument) -> bytes:
    """The stored bytes of `doc`, exactly as rendered at issue."""
    return doc.data
