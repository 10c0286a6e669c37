"""Issued invoices and credit notes built straight from the models (no drafting or issuing
service), for the invoice PDF tests, the bench and the sample renders: a seller and a buyer of
the demo world, lines with every VAT code, a parties snapshot as issuing freezes it.

The caller binds the session to the seller (`as_org(seller)`: the supplier writes invoices)
and commits when it wants.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import select

from portal.domain.invoicing import vat_in_pln
from portal.domain.orders import line_amounts
from portal.domain.terms import PaymentTerms
from portal.domain.vat import totals_by_code
from portal.extensions import db
from portal.models import Organization, SupplierLink, User
from portal.models.invoice import Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, MatchStatus

D = Decimal
ISSUE_DATE = date(2026, 12, 5)
SALE_DATE = date(2026, 12, 3)
UNITS = ("pcs", "kg", "m", "h", "box")
CODES = ("23", "23", "8", "5", "0", "zw", "23")
WORDS = ("Śruba nierdzewna M8×40 ze łbem sześciokątnym", "Żarówka LED 9 W, ciepła biel",
         "Kabel YDY 3×2,5 mm² (zwój 100 m)", "Rękawice robocze nitrylowe, rozmiar 10",
         "Ołówek stolarski, grafit twardy", "Usługa montażu regałów magazynowych",
         "Papier ksero A4 80 g/m², ryza 500 ark.", "Taśma pakowa brązowa 48 mm × 66 m")
# Valid IBANs (checksums right) and their banks, as a seller's company profile holds them.
BANK = {
    "PL": ("PL61109010140000071219812874", "Santander Bank Polska S.A."),
    "DE": ("DE89370400440532013000", "Commerzbank AG"),
}


def description(i: int) -> str:
    """A distinct description for line `i` (the tests find every line by it)."""
    return f"{WORDS[i % len(WORDS)]} — poz. {i:03d}"


def party(org: Organization, *, bank: bool = False) -> dict:
    """An organisation as the issuing service freezes it into `Invoice.parties`."""
    found = {"name": org.name, "legal_name": org.legal_name, "tax_id": org.tax_id,
             "address_line": org.address_line, "postal_code": org.postal_code, "city": org.city,
             "country": org.country}
    if bank:
        iban, bank_name = BANK.get(org.country, BANK["DE"])
        found.update(iban=iban, bank=bank_name)
    return found


def default_lines(count: int) -> list[tuple[Decimal, Decimal, str]]:
    """(quantity, unit price, VAT code) of `count` varied lines."""
    return [(D(i % 17 + 1) * (D("0.5") if i % 5 == 0 else D(1)),
             D("1.2345") * (i % 23 + 1) * (100 if i % 9 == 0 else 1),
             CODES[i % len(CODES)]) for i in range(1, count + 1)]


def make_invoice(seller: Organization, buyer: Organization, *, lines: int = 7,
                 items: list[tuple[Decimal, Decimal, str]] | None = None, number: str = "FV/2026/000001",
                 kind: InvoiceKind = InvoiceKind.INVOICE, currency: str | None = None, language: str | None = None,
                 terms: PaymentTerms | None = None, reverse_charge: bool = False, split_payment: bool = False,
                 exchange_rate: Decimal | None = None, exchange_rate_date: date | None = None,
                 corrects: Invoice | None = None, reason: str = "", notes: str = "", orders=(),
                 issue_date: date = ISSUE_DATE, sale_date: date | None = SALE_DATE,
                 period: str | None = None, descriptions=None) -> Invoice:
    """An issued invoice (or credit note) of `seller` to `buyer`, flushed, not committed.

    `items` are (quantity, unit price, VAT code); by default `lines` varied lines. `orders`:
    purchase orders the lines were delivered against (round robin)."""
    link = db.session.scalar(select(SupplierLink).where(
        SupplierLink.organization_id == buyer.id, SupplierLink.supplier_id == seller.id))
    assert link is not None, "the demo world links these two"
    author = db.session.scalar(select(User).where(User.organization_id == seller.id).order_by(User.id).limit(1))
    currency = currency or link.currency
    terms = terms or link.payment_terms
    items = items if items is not None else default_lines(lines)
    if reverse_charge:
        items = [(qty, price, "oo") for qty, price, _code in items]
    invoice = Invoice(
        kind=kind, number=number, status=InvoiceStatus.ISSUED, organization_id=buyer.id, supplier_id=seller.id,
        link=link, language=language or buyer.locale or "pl", currency=currency, payment_terms=terms,
        period=period, issue_date=issue_date, sale_date=sale_date,
        due_date=None if kind == InvoiceKind.CREDIT_NOTE else terms.due_date(issue_date),
        corrects_id=corrects.id if corrects is not None else None, correction_reason=reason,
        reverse_charge=reverse_charge, split_payment=split_payment, annex15=split_payment,
        exchange_rate=exchange_rate, exchange_rate_date=exchange_rate_date,
        parties={"seller": party(seller, bank=True), "buyer": party(buyer)},
        bank_account=BANK.get(seller.country, BANK["DE"])[0], notes=notes, created_by_id=author.id,
        issued_by_id=author.id, issued_at=datetime.combine(issue_date, datetime.min.time(), tzinfo=UTC),
        match_status=None if kind == InvoiceKind.CREDIT_NOTE else MatchStatus.MATCHED,
    )
    orders = list(orders)
    for i, (quantity, unit_price, code) in enumerate(items, start=1):
        amounts = line_amounts(quantity, unit_price, code, currency)
        invoice.lines.append(InvoiceLine(
            position=i, description=(descriptions or description)(i), quantity=quantity, unit=UNITS[i % len(UNITS)],
            unit_price=unit_price, vat_code=code, vat_rate=amounts.rate, net=amounts.net, vat=amounts.vat,
            gross=amounts.gross, order_id=orders[i % len(orders)].id if orders else None))
    summary = totals_by_code(((line.vat_code, line.net) for line in invoice.lines), currency)
    invoice.net_total, invoice.vat_total, invoice.gross_total = summary.net, summary.vat, summary.gross
    if exchange_rate is not None:
        invoice.vat_total_pln = sum((vat_in_pln(row.vat, exchange_rate) for row in summary.per_code), D("0.00"))
    if kind == InvoiceKind.INVOICE and terms.discount_percent:
        early = terms.early_payment(issue_date, summary.gross, currency)
        invoice.discount_until, invoice.discount_amount = early.pay_by, early.discount
    db.session.add(invoice)
    db.session.flush()
    return invoice
