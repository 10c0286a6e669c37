"""Aging of open invoices and statements of account, for both sides of a supplier link.

Aging: what each counterparty still owes (or is owed) per currency, the open invoices'
amount due (gross − credited − paid − discount taken) in buckets by days past the due date
(not yet due; 1–30; 31–60; 61–90; over 90, as `portal.domain.invoicing.aging_bucket`). The
sums are one aggregate statement over the company's open-status ranges of a covering index
(`ix_invoices_*_status_aging`: the table is never read): open invoices are a working set,
whatever the history; only the rows shown (`MAX_AGING_ROWS`) are built.

Statement of account of one link for a period: the opening balance (everything issued, credited
and paid before the period), the period's entries in date order — an invoice is a debit at its
issue date, a credit note a credit at its issue date, a payment a credit (with the discount it
took) at its date — each with the running balance, and the closing balance; with the open
invoices and the link's aging. The buyer and the supplier read the same statement (the tenant
scope decides only whether they may). The period's documents and the opening balance come from
covering indexes (`ix_invoices_*_issued`, `ix_payments_invoice_paid`). A statement costs a fixed
handful of statements; the entries of a very long period stop at `MAX_ENTRIES` (`truncated`),
the closing balance is summed in SQL all the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import and_, case, func, select, type_coerce, union_all
from sqlalchemy.orm import defer

from portal.extensions import db
from portal.models.invoice import Invoice, InvoiceKind, InvoiceStatus, Payment
from portal.models.org import Organization, SupplierLink
from portal.models.types import Amount

S = InvoiceStatus
OPEN = (S.ISSUED, S.DISPUTED, S.APPROVED, S.PARTIALLY_PAID)
ZERO = Decimal("0.00")
MAX_ENTRIES = 500
MAX_OPEN = 200
MAX_AGING_ROWS = 500
BUCKETS = ("current", "d1_30", "d31_60", "d61_90", "d90_plus")


@dataclass
class AgingRow:
    counterparty_id: int
    counterparty_name: str
    currency: str
    current: Decimal
    d1_30: Decimal
    d31_60: Decimal
    d61_90: Decimal
    d90_plus: Decimal
    total: Decimal
    link_id: int | None = None  # the supplier link between the two companies (its statement)

    @property
    def overdue(self) -> Decimal:
        return self.d1_30 + self.d31_60 + self.d61_90 + self.d90_plus


@dataclass
class StatementEntry:
    day: date
    kind: str  # "invoice" | "credit_note" | "payment"
    number: str
    description: str
    debit: Decimal
    credit: Decimal
    balance: Decimal
    invoice_id: int
    discount: Decimal = ZERO   # a payment's early-payment discount (part of `credit`)
    due: date | None = None    # an invoice's due date
    corrects_id: int | None = None  # a credit note's corrected invoice


@dataclass
class Statement:
    buyer: Organization
    supplier: Organization
    link_id: int
    currency: str
    start: date
    end: date
    opening: Decimal
    entries: list[StatementEntry] = field(default_factory=list)
    closing: Decimal = ZERO
    open_invoices: list = field(default_factory=list)
    aging: AgingRow | None = None
    today: date | None = None
    truncated: bool = False  # more entries than MAX_ENTRIES: the first ones are listed

    @property
    def debits(self) -> Decimal:
        return sum((e.debit for e in self.entries), ZERO)

    @property
    def credits(self) -> Decimal:
        return sum((e.credit for e in self.entries), ZERO)


# What a statement never shows of an invoice: left unread (JSON decoding costs per row).
_UNREAD = tuple(defer(column) for column in (
    Invoice.payment_terms, Invoice.parties, Invoice.notes, Invoice.dispute_reason, Invoice.match_override_reason))


def _scope_org_id() -> int:
    from portal.tenancy import current_scope

    scope = current_scope(db.session)
    return scope.org_id if scope is not None else -1


def _today_of(org: Organization | None) -> date:
    from portal.services.orders.receiving import today_for

    return today_for(org)


def _due():
    return Invoice.gross_total - Invoice.credited_total - Invoice.paid_total - Invoice.discount_taken


def _buckets(today: date) -> dict:
    """amount due summed per bucket by the due date's distance from `today`."""
    due = _due()

    def between(newest: date | None, oldest: date | None):
        conditions = []
        if newest is not None:
            conditions.append(Invoice.due_date <= newest)
        if oldest is not None:
            conditions.append(Invoice.due_date >= oldest)
        return _sum(case((and_(*conditions), due), else_=0))

    day = timedelta(days=1)
    return {
        "current": _sum(case((Invoice.due_date.is_(None), due), (Invoice.due_date >= today, due), else_=0)),
        "d1_30": between(today - day, today - 30 * day),
        "d31_60": between(today - 31 * day, today - 60 * day),
        "d61_90": between(today - 61 * day, today - 90 * day),
        "d90_plus": between(today - 91 * day, None),
    }


def aging(*, side: str, today: date | None = None, counterparty_id: int | None = None) -> list[AgingRow]:
    """The open invoices' amount due per counterparty and currency in aging buckets, by
    counterparty name: `side` "buyer" (the scope's company owes its suppliers) or "supplier"
    (the scope's company is owed by its customers). `today`: the reader's (its company's time
    zone) by default. One aggregate statement over the open statuses' index ranges, plus the
    names."""
    org_id = _scope_org_id()
    if today is None:
        today = _today_of(db.session.get(Organization, org_id))
    if side == "buyer":
        mine, party = Invoice.organization_id, Invoice.supplier_id
    else:
        mine, party = Invoice.supplier_id, Invoice.organization_id
    buckets = _buckets(today)
    # One index range per open status, summed per (counterparty, currency) after.
    parts = []
    for status in OPEN:
        where = [mine == org_id, Invoice.status == status, Invoice.kind == InvoiceKind.INVOICE]
        if counterparty_id is not None:
            where.append(party == counterparty_id)
        parts.append(select(party.label("party"), Invoice.link_id.label("link"), Invoice.currency.label("currency"),
                            *[value.label(name) for name, value in buckets.items()])
                     .where(*where).group_by(party, Invoice.link_id, Invoice.currency))
    merged = union_all(*parts).subquery()
    # One link per pair of companies (and one name per company): grouping by them adds no row.
    rows = db.session.execute(
        select(merged.c.party, merged.c.link, merged.c.currency, Organization.name,
               *[_sum(merged.c[name]).label(name) for name in BUCKETS])
        .outerjoin(Organization, Organization.id == merged.c.party)
        .group_by(merged.c.party, merged.c.link, merged.c.currency, Organization.name)).all()
    # By counterparty name; only the rows shown become AgingRows (a company may owe thousands).
    rows.sort(key=lambda r: ((r.name or "").casefold(), r.currency, r.party))
    found = []
    for row in rows:
        values = {name: getattr(row, name) for name in BUCKETS}
        total = sum(values.values(), ZERO)
        if total == ZERO and not any(values.values()):
            continue
        found.append(AgingRow(row.party, row.name or "", row.currency, **values, total=total,
                              link_id=row.link))
        if len(found) == MAX_AGING_ROWS:
            break
    return found


def aging_totals(rows: list[AgingRow]) -> list[AgingRow]:
    """The aging rows summed per currency (the table's footer), by currency."""
    sums: dict[str, dict[str, Decimal]] = {}
    for row in rows:
        into = sums.setdefault(row.currency, dict.fromkeys((*BUCKETS, "total"), ZERO))
        for name in (*BUCKETS, "total"):
            into[name] += getattr(row, name)
    return [AgingRow(0, "", currency, **values) for currency, values in sorted(sums.items())]


# ---------------------------------------------------------------- statement of account


def _pair(link: SupplierLink, currency: str):
    return (Invoice.organization_id == link.organization_id, Invoice.supplier_id == link.supplier_id,
            Invoice.currency == currency, Invoice.status != S.DRAFT)


def _sum(value):
    """SUM(value) as an amount (0 when nothing): SQLite keeps amounts as integer cents."""
    return type_coerce(func.coalesce(func.sum(value), 0), Amount())


def _signed(kind_invoice, amount):
    return case((kind_invoice, amount), else_=-amount)


def statement(*, link: SupplierLink, start: date, end: date, currency: str | None = None,
              today: date | None = None) -> Statement:
    """The statement of account of `link` (a link the scope reads) for [start, end] in
    `currency` (the link's by default): opening balance, entries with the running balance,
    closing balance, the open invoices (soonest due first, at most MAX_OPEN) and the aging row
    of this counterparty (as of `today`, the buyer's day by default)."""
    if end < start:
        start, end = end, start
    currency = currency or link.currency
    buyer = db.session.get(Organization, link.organization_id)
    supplier = db.session.get(Organization, link.supplier_id)
    today = today or _today_of(buyer)
    pair = _pair(link, currency)
    is_invoice = Invoice.kind == InvoiceKind.INVOICE

    # Opening: issued before the period (invoices +, credit notes −) less payments before it;
    # the period's movements beside: one pass over the pair's invoices, one over its payments.
    signed = _signed(is_invoice, Invoice.gross_total)
    before, within = Invoice.issue_date < start, Invoice.issue_date >= start
    issued = db.session.execute(
        select(_sum(case((before, signed), else_=0)), _sum(case((within, signed), else_=0)))
        .where(*pair, Invoice.issue_date <= end)).one()
    money = Payment.amount + Payment.discount
    paid = db.session.execute(
        select(_sum(case((Payment.paid_on < start, money), else_=0)),
               _sum(case((Payment.paid_on >= start, money), else_=0)))
        .join(Invoice, Invoice.id == Payment.invoice_id)
        .where(*pair, Payment.paid_on <= end)).one()
    opening = issued[0] - paid[0]
    closing = opening + issued[1] - paid[1]

    # The period's entries: invoices and credit notes by issue date, payments by their date
    # (two bounded reads, merged).
    documents = list(db.session.scalars(
        select(Invoice).where(*pair, Invoice.issue_date >= start, Invoice.issue_date <= end)
        .options(*_UNREAD).order_by(Invoice.issue_date, Invoice.id).limit(MAX_ENTRIES + 1)))
    payments = db.session.execute(
        select(Payment, Invoice.number).join(Invoice, Invoice.id == Payment.invoice_id)
        .where(*pair, Payment.paid_on >= start, Payment.paid_on <= end)
        .order_by(Payment.paid_on, Payment.id).limit(MAX_ENTRIES + 1)).all()
    merged = sorted(
        [(doc.issue_date, 0 if doc.kind == InvoiceKind.INVOICE else 1, doc.id, doc) for doc in documents]
        + [(pay.paid_on, 2, pay.id, (pay, number)) for pay, number in payments],
        key=lambda item: item[:3])
    truncated = len(merged) > MAX_ENTRIES
    entries, balance = [], opening
    for day, rank, _id, thing in merged[:MAX_ENTRIES]:
        if rank == 2:
            pay, number = thing
            entry = StatementEntry(day=day, kind="payment", number=number or "", description=pay.reference,
                                   debit=ZERO, credit=pay.amount + pay.discount, balance=ZERO,
                                   invoice_id=pay.invoice_id, discount=pay.discount)
        elif rank == 1:
            entry = StatementEntry(day=day, kind="credit_note", number=thing.number or "",
                                   description=thing.correction_reason, debit=ZERO,
                                   credit=thing.gross_total, balance=ZERO, invoice_id=thing.id,
                                   due=None, corrects_id=thing.corrects_id)
        else:
            entry = StatementEntry(day=day, kind="invoice", number=thing.number or "", description="",
                                   debit=thing.gross_total, credit=ZERO, balance=ZERO,
                                   invoice_id=thing.id, due=thing.due_date)
        balance += entry.debit - entry.credit
        entry.balance = balance
        entries.append(entry)

    open_invoices = list(db.session.scalars(
        select(Invoice).where(Invoice.organization_id == link.organization_id,
                              Invoice.supplier_id == link.supplier_id, Invoice.currency == currency,
                              Invoice.status.in_(OPEN), is_invoice)
        .options(*_UNREAD).order_by(Invoice.due_date, Invoice.id).limit(MAX_OPEN)))
    side = "buyer" if _scope_org_id() == link.organization_id else "supplier"
    counterparty = link.supplier_id if side == "buyer" else link.organization_id
    row = next((r for r in aging(side=side, today=today, counterparty_id=counterparty)
                if r.currency == currency), None)
    return Statement(buyer=buyer, supplier=supplier, link_id=link.id, currency=currency, start=start,
                     end=end, opening=opening, entries=entries, closing=closing,
                     open_invoices=open_invoices, aging=row, today=today, truncated=truncated)


def default_period(today: date) -> tuple[date, date]:
    """The statement's default period: from the first day of the previous month to today."""
    first = today.replace(day=1)
    previous = (first - timedelta(days=1)).replace(day=1)
    return previous, today


# ---------------------------------------------------------------- the PDF

TEMPLATE = "pdf/statement.html"


def statement_filename(statement: Statement) -> str:
    """`statement-<buyer>-<supplier>-2026-11-01-2026-11-30.pdf` (ASCII)."""
    import re

    def slug(text: str) -> str:
        return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:30] or "x"

    return (f"statement-{slug(statement.buyer.name)}-{slug(statement.supplier.name)}-"
            f"{statement.start.isoformat()}-{statement.end.isoformat()}.pdf")


def render_statement_pdf(statement: Statement, *, locale: str) -> bytes:
    """The statement as a PDF in `locale` ("pl" or "en"), in the buyer's time zone."""
    from portal.pdf import render_pdf

    return render_pdf(TEMPLATE, locale=locale, time_zone=statement.buyer.time_zone or None,
                      statement=statement, s=statement, buyer=statement.buyer, supplier=statement.supplier)


__all__ = [
    "AgingRow",
    "Statement",
    "StatementEntry",
    "aging",
    "aging_totals",
    "default_period",
    "render_statement_pdf",
    "statement",
    "statement_filename",
]
