"""Aging of open invoices and statements of account, for both sides of a supplier link.

Both read the stored running figures (portal/models/invoice_totals.py), which the session keeps
in step with every invoice, credit note and payment: their cost does not grow with the number
of invoices.

Aging: what each counterparty still owes (or is owed) per currency, the open invoices' amount
due (gross − credited − paid − discount taken) in buckets by days past the due date (not yet
due; 1–30; 31–60; 61–90; over 90, as `portal.domain.invoicing.aging_bucket`). A page
(`aging_page`) shows `AGING_PAGE` counterparties by name with the totals of them all, and reads
only that: the page's counterparties along the company's name index of `OpenParty` (by cursor),
their `OpenAmount` rows (one per counterparty, currency and due date of open invoices), the
company's `OpenDay` rows for the totals (one per currency and due date, all counterparties
together) and its `OpenCount` (portal/models/invoice_aging.py). Its cost follows neither the
number of invoices nor that of counterparties.

Statement of account of one link for a period: the opening balance (everything issued, credited
and paid before the period), the period's entries in date order — an invoice is a debit at its
issue date, a credit note a credit at its issue date, a payment a credit (with the discount it
took) at its date — each with the running balance, and the closing balance; with the open
invoices (the first `MAX_OPEN` by due date, and how many there are) and the link's aging. The
buyer and the supplier read the same statement (the tenant scope decides only whether they may).
The balances are sums of the link's `AccountDay` rows (one per day with a movement); the
period's documents come from a covering index (`ix_invoices_*_issued`), its payments from their
own (`ix_payments_pair_paid`: each payment carries its invoice's parties and currency). A
statement costs a fixed handful of statements. On screen the entries come a page at a time
(`ENTRIES_PAGE`, by cursor, the running balance carried from the stored days); the PDF's
entries of a very long period stop at `MAX_ENTRIES` (`truncated`), the closing balance counts
them all the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import and_, case, func, or_, select, tuple_, type_coerce
from sqlalchemy.orm import defer, load_only

from portal.extensions import db
from portal.models.invoice import Invoice, InvoiceKind, InvoiceStatus, Payment
from portal.models.invoice_aging import OpenCount, OpenDay, OpenParty
from portal.models.invoice_totals import AccountDay, OpenAmount
from portal.models.org import Organization, SupplierLink
from portal.models.types import Amount
from portal.services.clock import today_for
from portal.services.paging import BadCursor, Key, KeysetPage, Order, keyset

S = InvoiceStatus
OPEN = (S.ISSUED, S.DISPUTED, S.APPROVED, S.PARTIALLY_PAID)
ZERO = Decimal("0.00")
MAX_ENTRIES = 500
MAX_OPEN = 200  # open invoices listed (the PDF)
OPEN_ON_PAGE = 50  # open invoices listed on a paged statement (the screen)
ENTRIES_PAGE = 100  # entries per page of a statement on screen (the PDF lists MAX_ENTRIES)
MAX_AGING_ROWS = 500
AGING_PAGE = 50  # counterparties per page of the aging report
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
    open_count: int = 0  # all the open invoices (`open_invoices`: the first MAX_OPEN / OPEN_ON_PAGE)
    # Paged (`page_size`): where this page starts (None: the period's start) and the next page's
    # cursor (None: this is the last page).
    cursor: str | None = None
    next_cursor: str | None = None
    brought_forward: Decimal = ZERO  # the balance before this page's first entry

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


def _buckets(today: date, model=OpenAmount) -> dict:
    """The stored open amounts (`OpenAmount`, or a company's `OpenDay`) summed per bucket by the
    due date's distance from `today` (an invoice without a due date is stored at NO_DUE_DATE:
    current)."""
    due = model.amount

    def between(newest: date | None, oldest: date | None):
        conditions = []
        if newest is not None:
            conditions.append(model.due_date <= newest)
        if oldest is not None:
            conditions.append(model.due_date >= oldest)
        return _sum(case((and_(*conditions), due), else_=0))

    day = timedelta(days=1)
    return {
        "current": _sum(case((model.due_date >= today, due), else_=0)),
        "d1_30": between(today - day, today - 30 * day),
        "d31_60": between(today - 31 * day, today - 60 * day),
        "d61_90": between(today - 61 * day, today - 90 * day),
        "d90_plus": between(today - 91 * day, None),
    }


def _sides(side: str):
    """(the scope's company's column, the counterparty's column) of `OpenAmount` for `side`."""
    if side == "buyer":
        return OpenAmount.organization_id, OpenAmount.supplier_id
    return OpenAmount.supplier_id, OpenAmount.organization_id


# The counterparties with something open, by name (`OpenParty`: one row per company, side and
# counterparty that owes or is owed), along the company's range of its index: a page reads its
# rows and stops.
BY_NAME = Order("aging", Key(OpenParty.party_key), Key(OpenParty.party_id))


def _walk(side: str, org_id: int, *, cursor: str | None = None, per_page: int) -> tuple[list[int], KeysetPage]:
    """A page of the counterparties with something open, by name (ids), read by cursor."""
    # The index's own columns only (covering on SQLite: the planner never prefers another).
    query = (select(OpenParty).where(OpenParty.organization_id == org_id, OpenParty.side == side)
             .options(load_only(OpenParty.party_key, OpenParty.party_id)))
    page = keyset(query, BY_NAME, cursor=cursor, per_page=per_page, count=False)
    return [row.party_id for row in page.items], page


def _aging_rows(side: str, org_id: int, today: date, parties: list[int]) -> list[AgingRow]:
    """The aging rows of `parties`, in their order, then by currency."""
    if not parties:
        return []
    mine, party = _sides(side)
    # One link per pair of companies (and one name per company): grouping by them adds no row.
    # The names are joined by the page's keys too: the planner reads those companies by key,
    # never every company.
    rows = db.session.execute(
        select(party.label("party"), OpenAmount.link_id.label("link"), OpenAmount.currency.label("currency"),
               Organization.name, *[value.label(name) for name, value in _buckets(today).items()])
        .outerjoin(Organization, and_(Organization.id == party, Organization.id.in_(parties)))
        .where(mine == org_id, party.in_(parties))
        .group_by(party, OpenAmount.link_id, OpenAmount.currency, Organization.name)).all()
    place = {ident: i for i, ident in enumerate(parties)}
    rows.sort(key=lambda r: (place.get(r.party, len(place)), r.currency))
    found = []
    for row in rows:
        values = {name: getattr(row, name) for name in BUCKETS}
        total = sum(values.values(), ZERO)
        if total == ZERO and not any(values.values()):
            continue
        found.append(AgingRow(row.party, row.name or "", row.currency, **values, total=total,
                              link_id=row.link))
    return found


def aging(*, side: str, today: date | None = None, counterparty_id: int | None = None) -> list[AgingRow]:
    """The open invoices' amount due per counterparty and currency in aging buckets, by
    counterparty name: `side` "buyer" (the scope's company owes its suppliers) or "supplier"
    (the scope's company is owed by its customers). `today`: the reader's (its company's time
    zone) by default. At most MAX_AGING_ROWS counterparties (the pages: `aging_page`)."""
    org_id = _scope_org_id()
    if today is None:
        today = today_for(db.session.get(Organization, org_id))
    if counterparty_id is not None:
        return _aging_rows(side, org_id, today, [counterparty_id])
    parties, _page = _walk(side, org_id, per_page=MAX_AGING_ROWS)
    return _aging_rows(side, org_id, today, parties)


@dataclass
class AgingPage:
    rows: list[AgingRow]
    totals: list[AgingRow]  # per currency, every counterparty's (not only this page's)
    counterparties: int     # how many have something open
    first: int              # the position of this page's first counterparty (0-based)
    shown: int = 0          # how many counterparties this page shows
    prev: str | None = None  # the cursors of the neighbouring pages (keyset_pagination)
    next: str | None = None


def _position(cursor: str | None) -> tuple[int, str | None]:
    """(the position of a page's first counterparty, the list's cursor) of an aging cursor
    ("<position>.<keyset cursor>": the position is only shown, never used to read)."""
    if not cursor:
        return 0, None
    position, _dot, rest = cursor.partition(".")
    if not position.isdigit() or not rest:
        raise BadCursor(cursor)
    return int(position), rest


def aging_page(*, side: str, today: date | None = None, cursor: str | None = None) -> AgingPage:
    """One page of the aging (AGING_PAGE counterparties by name, from `cursor`) with the totals
    per currency of all of them. Reads the page's counterparties along their name index
    (`OpenParty`), their open amounts, the company's open amounts per due date (`OpenDay`, for
    the totals) and its count of counterparties (`OpenCount`): none of it grows with the number
    of counterparties or invoices. Raises BadCursor for a cursor the page did not give out."""
    org_id = _scope_org_id()
    if today is None:
        today = today_for(db.session.get(Organization, org_id))
    first, walk_cursor = _position(cursor)
    chosen, page = _walk(side, org_id, cursor=walk_cursor, per_page=AGING_PAGE)
    if not chosen and walk_cursor:  # past the end (amounts paid meanwhile): the first page
        first, (chosen, page) = 0, _walk(side, org_id, per_page=AGING_PAGE)
    if page.prev is None:
        first = 0
    rows = _aging_rows(side, org_id, today, chosen)
    sums = db.session.execute(
        select(OpenDay.currency, *[value.label(name) for name, value in _buckets(today, OpenDay).items()])
        .where(OpenDay.organization_id == org_id, OpenDay.side == side)
        .group_by(OpenDay.currency).order_by(OpenDay.currency)).all()
    totals = []
    for row in sums:
        values = {name: getattr(row, name) for name in BUCKETS}
        if any(values.values()):
            totals.append(AgingRow(0, "", row.currency, **values, total=sum(values.values(), ZERO)))
    counted = db.session.scalar(select(OpenCount.parties).where(OpenCount.organization_id == org_id,
                                                                OpenCount.side == side)) or 0
    return AgingPage(rows=rows, totals=totals, counterparties=max(counted, first + len(chosen)), first=first,
                     shown=len(chosen),
                     prev=f"{max(first - AGING_PAGE, 0)}.{page.prev}" if page.prev else None,
                     next=f"{first + len(chosen)}.{page.next}" if page.next else None)


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


def _cursor(text: str | None, start: date, end: date) -> tuple[date, int, int] | None:
    """(day, rank, id) from "2026-11-03.2.123" (an entry's key: rank 0 invoice, 1 credit note,
    2 payment), inside the period; None for none or a wrong one."""
    try:
        day, rank, ident = (text or "").split(".")
        key = (date.fromisoformat(day), int(rank), int(ident))
    except ValueError:
        return None
    return key if start <= key[0] <= end and 0 <= key[1] <= 2 else None


def _rank():
    return case((Invoice.kind == InvoiceKind.INVOICE, 0), else_=1)


def statement(*, link: SupplierLink, start: date, end: date, currency: str | None = None,
              today: date | None = None, page_size: int | None = None, cursor: str | None = None) -> Statement:
    """The statement of account of `link` (a link the scope reads) for [start, end] in
    `currency` (the link's by default): opening balance, entries with the running balance,
    closing balance, the open invoices (soonest due first, at most MAX_OPEN) and the aging row
    of this counterparty (as of `today`, the buyer's day by default).

    With `page_size`, the entries are one page of at most that many from `cursor` (an entry's
    key, `Statement.next_cursor` of the page before), each with its running balance: the
    balance before the page is summed from the stored days before its first day and the
    entries of that day before it."""
    if end < start:
        start, end = end, start
    currency = currency or link.currency
    buyer = db.session.get(Organization, link.organization_id)
    supplier = db.session.get(Organization, link.supplier_id)
    today = today or today_for(buyer)
    pair = _pair(link, currency)
    is_invoice = Invoice.kind == InvoiceKind.INVOICE

    # Opening: issued before the period (invoices +, credit notes −) less payments and discounts
    # before it; closing: the same up to its end. The link's stored days, one index range.
    movement = AccountDay.invoiced - AccountDay.credited - AccountDay.paid - AccountDay.discount
    opening, closing = db.session.execute(
        select(_sum(case((AccountDay.day < start, movement), else_=0)), _sum(movement))
        .where(AccountDay.organization_id == link.organization_id, AccountDay.supplier_id == link.supplier_id,
               AccountDay.currency == currency, AccountDay.day <= end)).one()

    # The period's entries: invoices and credit notes by issue date, payments by their date
    # (two bounded reads, merged), from the page's cursor.
    limit = page_size or MAX_ENTRIES
    key = _cursor(cursor, start, end) if page_size else None
    paid_pair = (Payment.buyer_id == link.organization_id, Payment.seller_id == link.supplier_id,
                 Payment.currency == currency, Invoice.status != S.DRAFT)
    first = key[0] if key else start
    # Only the columns an entry shows (rows, not objects: a page reads a few hundred).
    documents = (select(Invoice.id, Invoice.kind, Invoice.number, Invoice.issue_date, Invoice.due_date,
                        Invoice.gross_total, Invoice.correction_reason, Invoice.corrects_id)
                 .where(*pair, Invoice.issue_date >= first, Invoice.issue_date <= end))
    payments = (select(Payment.id, Payment.invoice_id, Payment.paid_on, Payment.amount, Payment.discount,
                       Payment.reference, Invoice.number).join(Invoice, Invoice.id == Payment.invoice_id)
                .where(*paid_pair, Payment.paid_on >= first, Payment.paid_on <= end))
    balance = opening
    if key is not None:
        day, rank, ident = key
        rank_id = (_rank(), Invoice.id)
        documents = documents.where(or_(Invoice.issue_date > day, tuple_(*rank_id) >= (rank, ident)))
        if rank == 2:  # after a payment: the later payments of its day (documents come first)
            payments = payments.where(or_(Payment.paid_on > day, Payment.id >= ident))
        # The balance before the cursor: the stored days before its day, and that day's entries
        # before it (one day of one link: a few rows).
        before = db.session.execute(
            select(_sum(movement)).where(
                AccountDay.organization_id == link.organization_id, AccountDay.supplier_id == link.supplier_id,
                AccountDay.currency == currency, AccountDay.day < day)).scalar_one()
        signed = case((Invoice.kind == InvoiceKind.INVOICE, Invoice.gross_total), else_=-Invoice.gross_total)
        before += db.session.execute(
            select(_sum(signed)).where(*pair, Invoice.issue_date == day, tuple_(*rank_id) < (rank, ident))
        ).scalar_one()
        if rank == 2:
            before -= db.session.execute(
                select(_sum(Payment.amount + Payment.discount)).join(Invoice, Invoice.id == Payment.invoice_id)
                .where(*paid_pair, Payment.paid_on == day, Payment.id < ident)).scalar_one()
        balance = before
    found = db.session.execute(documents.order_by(Invoice.issue_date, Invoice.id).limit(limit + 1)).all()
    if len(found) > limit:
        # Entries sort by (day, rank, id): the last day read may miss a credit note of a lower
        # rank but a higher id; read that whole day (one day of one link).
        last = found[-1].issue_date
        found = [doc for doc in found if doc.issue_date < last] + db.session.execute(
            documents.where(Invoice.issue_date == last).order_by(Invoice.id)).all()
    documents = found
    payments = db.session.execute(payments.order_by(Payment.paid_on, Payment.id).limit(limit + 1)).all()
    merged = sorted(
        [(doc.issue_date, 0 if doc.kind == InvoiceKind.INVOICE else 1, doc.id, doc) for doc in documents]
        + [(pay.paid_on, 2, pay.id, pay) for pay in payments],
        key=lambda item: item[:3])
    truncated = len(merged) > limit
    next_cursor = None
    if page_size and truncated:
        day, rank, ident, _thing = merged[limit]
        next_cursor = f"{day.isoformat()}.{rank}.{ident}"
        truncated = False
    entries, brought_forward = [], balance
    for day, rank, _id, thing in merged[:limit]:
        if rank == 2:
            pay = thing
            entry = StatementEntry(day=day, kind="payment", number=pay.number or "", description=pay.reference,
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

    open_limit = OPEN_ON_PAGE if page_size else MAX_OPEN
    open_invoices = list(db.session.scalars(
        select(Invoice).where(Invoice.organization_id == link.organization_id,
                              Invoice.supplier_id == link.supplier_id, Invoice.currency == currency,
                              Invoice.status.in_(OPEN), is_invoice)
        .options(*_UNREAD).order_by(Invoice.due_date, Invoice.id).limit(open_limit)))
    open_count = len(open_invoices)
    if open_count == open_limit:
        open_count = db.session.scalar(
            select(func.coalesce(func.sum(OpenAmount.invoices), 0))
            .where(OpenAmount.organization_id == link.organization_id, OpenAmount.supplier_id == link.supplier_id,
                   OpenAmount.currency == currency))
    side = "buyer" if _scope_org_id() == link.organization_id else "supplier"
    counterparty = link.supplier_id if side == "buyer" else link.organization_id
    row = next((r for r in aging(side=side, today=today, counterparty_id=counterparty)
                if r.currency == currency), None)
    return Statement(buyer=buyer, supplier=supplier, link_id=link.id, currency=currency, start=start,
                     end=end, opening=opening, entries=entries, closing=closing,
                     open_invoices=open_invoices, aging=row, today=today, truncated=truncated,
                     open_count=open_count, cursor=cursor if key else None, next_cursor=next_cursor,
                     brought_forward=brought_forward)


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
    "AgingPage",
    "AgingRow",
    "Statement",
    "StatementEntry",
    "aging",
    "aging_page",
    "aging_totals",
    "default_period",
    "render_statement_pdf",
    "statement",
    "statement_filename",
]
