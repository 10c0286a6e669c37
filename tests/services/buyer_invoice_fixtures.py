"""Issued invoices for the buyer's side tests (helper E): rows built directly, as an issued
invoice looks after the supplier's issue (number, dates, totals, parties), so the buyer's
services and pages are tested without depending on the drafting/issuing services.

`issued_invoice(order, [(order_line, quantity, price)], ...)` returns the Invoice (written under
the system scope and flushed); `received(order, {line: qty})` sets what was received.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from itertools import count

from portal.domain.vat import line_net, vat_at_rate
from portal.extensions import db
from portal.models.base import utcnow
from portal.models.invoice import Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, MatchStatus
from portal.models.order import OrderStatus, PurchaseOrder
from portal.tenancy import system

D = Decimal
_numbers = count(700001)


def received(order: PurchaseOrder, quantities: dict | None = None) -> None:
    """Mark the order's lines received (all of each, or the quantities given by line)."""
    with system(db.session):
        for line in order.lines:
            line.received_quantity = D(quantities.get(line.id, 0)) if quantities else line.quantity
        every = all(line.received_quantity >= line.quantity for line in order.lines)
        order.status = OrderStatus.RECEIVED if every else OrderStatus.PARTIALLY_RECEIVED
        db.session.flush()


def issued_invoice(order: PurchaseOrder, lines=None, *, status=InvoiceStatus.ISSUED, problems=None,
                   issue_date: date | None = None, due_days: int = 30, discount: str | None = None,
                   discount_days: int = 10, currency: str | None = None, creator=None,
                   corrects: Invoice | None = None, number: str | None = None) -> Invoice:
    """An issued invoice (or, with `corrects`, a credit note) of `order`'s supplier to its buyer.

    `lines`: (order line, quantity, unit price) — default every order line at its quantity and
    price. `problems`: {position: text} mismatches (the invoice is then mismatched)."""
    issue_date = issue_date or date.today()
    lines = lines if lines is not None else [(ln, ln.quantity, ln.unit_price) for ln in order.lines]
    problems = problems or {}
    with system(db.session):
        seq = next(_numbers)
        kind = InvoiceKind.CREDIT_NOTE if corrects is not None else InvoiceKind.INVOICE
        invoice = Invoice(
            organization_id=order.organization_id, supplier_id=order.supplier_id, link_id=order.link_id,
            kind=kind, number=number or f"{'KOR' if corrects else 'FV'}/{issue_date.year}/{seq:06d}",
            status=status, language="en", currency=currency or order.currency,
            payment_terms=order.payment_terms, issue_date=issue_date, sale_date=issue_date,
            due_date=issue_date + timedelta(days=due_days),
            discount_until=issue_date + timedelta(days=discount_days) if discount else None,
            discount_amount=D(discount) if discount else None,
            corrects_id=corrects.id if corrects else None,
            correction_reason="Damaged goods" if corrects else "",
            match_status=None if corrects else (MatchStatus.MISMATCHED if problems else MatchStatus.MATCHED),
            parties={"seller": {"name": order.supplier.name, "legal_name": order.supplier.name,
                                "tax_id": "", "address_line": "ul. Dostawcza 1", "postal_code": "00-001",
                                "city": "Warszawa", "country": "PL", "iban": "PL61109010140000071219812874",
                                "bank": "Bank"},
                     "buyer": {"name": order.buyer.name, "legal_name": order.buyer.name, "tax_id": "",
                               "address_line": "ul. Kupiecka 2", "postal_code": "00-002",
                               "city": "Kraków", "country": "PL"}},
            bank_account="PL61109010140000071219812874",
            created_by_id=creator.id if creator else order.issued_by_id,
            issued_at=utcnow(), issued_by_id=creator.id if creator else order.issued_by_id,
        )
        net_total = vat_total = D("0.00")
        for position, (order_line, quantity, price) in enumerate(lines, 1):
            net = line_net(D(quantity), D(price))
            vat = vat_at_rate(net, D("23"))
            invoice.lines.append(InvoiceLine(
                position=position, order_id=order.id, order_line_id=order_line.id,
                corrects_line_id=_corrected_line(corrects, order_line),
                description=order_line.description, quantity=D(quantity), unit=order_line.unit,
                unit_price=D(price), vat_code="23", vat_rate=D("23"), net=net, vat=vat, gross=net + vat,
                match_problem=problems.get(position, "")))
            net_total += net
            vat_total += vat
        invoice.net_total, invoice.vat_total, invoice.gross_total = net_total, vat_total, net_total + vat_total
        db.session.add(invoice)
        if corrects is not None:
            corrects.credited_total += invoice.gross_total
        db.session.flush()
    return invoice


def _corrected_line(corrects: Invoice | None, order_line) -> int | None:
    if corrects is None:
        return None
    for ln in corrects.lines:
        if ln.order_line_id == order_line.id:
            return ln.id
    return None
