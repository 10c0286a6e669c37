"""Invoices as model rows, for the read-side tests (lists, aging, statements): no issuing
service involved, every field set as an issued invoice would have it.

`add_invoice(buyer, supplier, ...)` writes one invoice (or credit note) with one line and,
with `paid=`, one payment; `bulk(buyer, supplier, n)` spreads n invoices over the statuses.
Rows are written without a tenant scope (`system`), then committed.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from portal.extensions import db
from portal.models import SupplierLink
from portal.models.invoice import Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, MatchStatus, Payment
from portal.tenancy import system

D = Decimal
S = InvoiceStatus
_serial = itertools.count(1)
BASE = datetime(2026, 1, 5, 9, tzinfo=UTC)
TODAY = date(2026, 6, 15)


def link_of(buyer, supplier) -> SupplierLink:
    with system(db.session):
        return db.session.scalars(select(SupplierLink).where(
            SupplierLink.organization_id == buyer.id, SupplierLink.supplier_id == supplier.id)).one()


def add_invoice(buyer, supplier, *, status: S = S.ISSUED, gross: str | Decimal = "123.00",
                due: date | None = None, issued: date | None = None, created: datetime | None = None,
                kind: InvoiceKind = InvoiceKind.INVOICE, match: MatchStatus | None = MatchStatus.MATCHED,
                paid: str | Decimal | None = None, paid_on: date | None = None,
                credited: str | Decimal = "0", corrects: Invoice | None = None,
                number: str | None = None, currency: str | None = None,
                order_line=None, commit: bool = True) -> Invoice:
    """One invoice of `supplier` to `buyer` (a draft gets no number, no dates)."""
    n = next(_serial)
    link = link_of(buyer, supplier)
    gross = D(gross)
    net = (gross / D("1.23")).quantize(D("0.01"))
    issued = issued or TODAY - timedelta(days=10)
    draft = status == S.DRAFT
    prefix = "KOR" if kind == InvoiceKind.CREDIT_NOTE else "FV"
    with system(db.session):
        invoice = Invoice(
            organization_id=buyer.id, supplier_id=supplier.id, link_id=link.id, kind=kind,
            number=None if draft else (number or f"{prefix}/2026/{n:06d}"), status=status,
            currency=currency or link.currency, language="pl",
            issue_date=None if draft else issued, sale_date=None if draft else issued,
            due_date=None if draft or (kind == InvoiceKind.CREDIT_NOTE and due is None)
            else (due or issued + timedelta(days=30)),
            corrects_id=corrects.id if corrects is not None else None,
            net_total=net, vat_total=gross - net, gross_total=gross,
            credited_total=D(credited), paid_total=D(paid or 0),
            match_status=None if draft or kind == InvoiceKind.CREDIT_NOTE else match,
            created_by_id=_someone(supplier),
            created_at=created or BASE + timedelta(minutes=n),
        )
        invoice.lines.append(InvoiceLine(
            position=1, description=f"Pozycja {n}", quantity=D(1), unit="pcs", unit_price=net,
            vat_code="23", vat_rate=D(23), net=net, vat=gross - net, gross=gross,
            order_id=getattr(order_line, "order_id", None), order_line_id=getattr(order_line, "id", None),
            corrects_line_id=corrects.lines[0].id if corrects is not None and corrects.lines else None))
        if paid:
            invoice.payments.append(Payment(paid_on=paid_on or issued + timedelta(days=5), amount=D(paid),
                                            reference=f"PRZELEW {n}"))
        db.session.add(invoice)
        db.session.flush()
        if commit:
            db.session.commit()
    return invoice


_people: dict[int, int] = {}


def _someone(org) -> int:
    from portal.models import User

    if org.id not in _people or db.session.get(User, _people[org.id]) is None:
        _people[org.id] = db.session.scalars(
            select(User.id).where(User.organization_id == org.id).order_by(User.id)
            .execution_options(all_tenants=True)).first()
    return _people[org.id]


# The statuses `bulk` cycles through.
CYCLE = (S.ISSUED, S.APPROVED, S.PAID, S.DISPUTED, S.PARTIALLY_PAID, S.DRAFT, S.ISSUED, S.CREDITED)


def bulk(buyer, supplier, count: int, *, start: int = 0) -> None:
    """`count` invoices spread over the statuses, creation times and due dates (some overdue
    on TODAY, some not), one commit."""
    for i in range(start, start + count):
        status = CYCLE[i % len(CYCLE)]
        add_invoice(buyer, supplier, status=status, gross=D(100 + i),
                    issued=TODAY - timedelta(days=5 + i % 70),
                    paid=D(10) if status == S.PARTIALLY_PAID else None,
                    match=MatchStatus.MISMATCHED if i % 16 == 6 else MatchStatus.MATCHED,
                    commit=False)
    db.session.commit()
