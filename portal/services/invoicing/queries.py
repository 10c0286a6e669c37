"""Reading invoices: the buyer's list and the supplier's (keyset, each tab read from the
`ix_invoices_*` index that matches its filter and sort), capped tab counts, CSV rows, an
order's invoices and what an invoice's page shows.

Every read runs in the bound tenant scope and adds the side explicitly: the buyer's lists read
`organization_id = <the scope's company>` and never a draft (a supplier's draft is its own
until issued); the supplier's lists read `supplier_id = <the scope's company>`, drafts included.

How each tab walks its index (`Invoice.__table_args__`):

- a status tab reads one index range per status, `(org|supplier, status, created_at, id)`,
  newest first, merged (`paging.keyset(parts=...)`);
- "overdue" is derived, never stored: open statuses with `due_date < today` (today in the
  reader's time zone), `(org|supplier, status, due_date, id)`, the longest overdue first;
- "all" reads `(org|supplier, created_at, id)`; filtered by one counterparty it reads
  `(org, supplier|supplier, org, due_date, id)`, latest due date first (then the drafts, which
  have none) — the one sort an index of one counterparty's invoices serves;
- the other tabs filtered by a counterparty keep their status range and check the counterparty
  on the way (a counterparty's share of an open tab is a working set, not history).

The number search (`search`) is a filter on the way, as on the order lists.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import partial

from sqlalchemy import and_, bindparam, func, or_, select
from sqlalchemy.orm import defer, joinedload

from portal.domain.messages import N_
from portal.extensions import db
from portal.models.invoice import Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, MatchStatus, Payment
from portal.models.order import PurchaseOrder, PurchaseOrderLine
from portal.models.org import Organization
from portal.services.clock import today_for
from portal.services.dashboard import COUNT_CAP, Count, capped_statement, counted_rows
from portal.services.paging import LIST_PER_PAGE, Key, KeysetPage, Order, Segment, every_page, keyset
from portal.tenancy import current_scope

S = InvoiceStatus
# Statuses in which an invoice is still to be paid (and so may be overdue).
OPEN = (S.ISSUED, S.DISPUTED, S.APPROVED, S.PARTIALLY_PAID)
SETTLED = (S.PAID, S.CREDITED)
TO_PAY = (S.APPROVED, S.PARTIALLY_PAID)
MAX_SEARCH = 40
ORDER_INVOICES = 20

# (key, label): the tabs of each side's list, in the order shown. Labels are N_ strings:
# templates translate them with _().
BUYER_TABS: tuple[tuple[str, str], ...] = (
    ("to_approve", N_("To approve")),
    ("mismatched", N_("Mismatched")),
    ("disputed", N_("Disputed")),
    ("approved", N_("To pay")),
    ("overdue", N_("Overdue")),
    ("paid", N_("Paid")),
    ("all", N_("All")),
)
SUPPLIER_TABS: tuple[tuple[str, str], ...] = (
    ("drafts", N_("Drafts")),
    ("issued", N_("Awaiting the buyer")),
    ("disputed", N_("Disputed")),
    ("approved", N_("Approved")),
    ("overdue", N_("Overdue")),
    ("paid", N_("Paid")),
    ("credit_notes", N_("Credit notes")),
    ("all", N_("All")),
)
_BUYER_KEYS = tuple(key for key, _label in BUYER_TABS)
_SUPPLIER_KEYS = tuple(key for key, _label in SUPPLIER_TABS)

NEWEST = Order("invoices", Key(Invoice.created_at, descending=True), Key(Invoice.id, descending=True))
# Overdue: the longest overdue first.
OLDEST_DUE = Order("invoices-due", Key(Invoice.due_date), Key(Invoice.id))
# One counterparty's invoices: latest due date first, then those without one (drafts).
LATEST_DUE = Order("invoices-party", segments=(
    Segment((Key(Invoice.due_date, descending=True), Key(Invoice.id, descending=True)),
            where=Invoice.due_date.isnot(None)),
    Segment((Key(Invoice.id, descending=True),), where=Invoice.due_date.is_(None)),
))

# What a list row never shows: left unread (the JSON of the terms and the parties costs more to
# decode than the rest of the row). A page that shows one of them reads it per row: don't.
LIST_DEFERRED = tuple(defer(column) for column in (
    Invoice.payment_terms, Invoice.parties, Invoice.notes, Invoice.correction_reason, Invoice.dispute_reason,
    Invoice.match_override_reason))

_IS_INVOICE = Invoice.kind == InvoiceKind.INVOICE
_IS_CREDIT_NOTE = Invoice.kind == InvoiceKind.CREDIT_NOTE
_NOT_MISMATCHED = or_(Invoice.match_status.is_(None), Invoice.match_status != MatchStatus.MISMATCHED)


@dataclass(frozen=True)
class _Tab:
    statuses: tuple[InvoiceStatus, ...] | None  # one index range each; None: every status
    where: tuple = ()                            # checked on the way
    overdue: bool = False


_TABS = {
    # buyer
    "to_approve": _Tab((S.ISSUED,), (_IS_INVOICE, _NOT_MISMATCHED)),
    "mismatched": _Tab((S.ISSUED,), (_IS_INVOICE, Invoice.match_status == MatchStatus.MISMATCHED)),
    "disputed": _Tab((S.DISPUTED,)),
    "approved": _Tab(TO_PAY),
    "overdue": _Tab(OPEN, (_IS_INVOICE,), overdue=True),
    "paid": _Tab(SETTLED),
    "all": _Tab(None),
    # supplier
    "drafts": _Tab((S.DRAFT,)),
    "issued": _Tab((S.ISSUED,), (_IS_INVOICE,)),
    "credit_notes": _Tab((S.ISSUED,), (_IS_CREDIT_NOTE,)),
}


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _org_id() -> int:
    scope = current_scope(db.session)
    return scope.org_id if scope is not None else -1


def _today(org_id, today):
    """`today` when given (a date, or a bound parameter), else the organisation's today."""
    if today is not None:
        return today
    return today_for(db.session.get(Organization, org_id))


def _list(side: str, tab: str, party_id, search: str, today, *, load: bool = True, org_id=None):
    """(query, order, parts) of one list view. `org_id`, `party_id` and `today` may be bound
    parameters (a statement built once, `_tab_count_statement`); `org_id` defaults to the
    current organisation's."""
    org_id = _org_id() if org_id is None else org_id
    keys = _BUYER_KEYS if side == "buyer" else _SUPPLIER_KEYS
    tab = tab if tab in keys else keys[0]
    spec = _TABS[tab]
    if side == "buyer":
        stmt = select(Invoice).where(Invoice.organization_id == org_id)
        if load:
            stmt = stmt.options(joinedload(Invoice.supplier), *LIST_DEFERRED)
        if party_id is not None:
            stmt = stmt.where(Invoice.supplier_id == party_id)
        if spec.statuses is None:
            stmt = stmt.where(Invoice.status != S.DRAFT)
    else:
        stmt = select(Invoice).where(Invoice.supplier_id == org_id)
        if load:
            stmt = stmt.options(joinedload(Invoice.buyer), *LIST_DEFERRED)
        if party_id is not None:
            stmt = stmt.where(Invoice.organization_id == party_id)
    if spec.where:
        stmt = stmt.where(*spec.where)
    search = (search or "").strip()[:MAX_SEARCH]
    if search:
        stmt = stmt.where(Invoice.number.ilike(f"%{_escape_like(search)}%", escape="\\"))
    if spec.overdue:
        stmt = stmt.where(Invoice.due_date < _today(org_id, today))
        return stmt, OLDEST_DUE, [Invoice.status == s for s in spec.statuses]
    if spec.statuses is None:
        return stmt, (LATEST_DUE if party_id is not None else NEWEST), None
    return stmt, NEWEST, [Invoice.status == s for s in spec.statuses]


def buyer_invoice_page(*, tab: str = "to_approve", supplier_id: int | None = None, search: str = "",
                       cursor: str | None = None, per_page: int = LIST_PER_PAGE, count: bool = True,
                       today: date | None = None) -> KeysetPage:
    """A page of the buying company's (the bound scope's) invoices and credit notes in `tab`
    (a key of BUYER_TABS; anything else reads the first), with the supplier loaded. Drafts
    never. Raises BadCursor for a cursor this view did not give out."""
    stmt, order, parts = _list("buyer", tab, supplier_id, search, today)
    return keyset(stmt, order, cursor=cursor, per_page=per_page, count=count, parts=parts)


def supplier_invoice_page(*, tab: str = "drafts", buyer_id: int | None = None, search: str = "",
                          cursor: str | None = None, per_page: int = LIST_PER_PAGE, count: bool = True,
                          today: date | None = None) -> KeysetPage:
    """A page of the supplier's (the bound scope's) invoices, drafts and credit notes in `tab`
    (a key of SUPPLIER_TABS), with the buyer loaded. Overdue is judged by the supplier's
    today. Raises BadCursor."""
    stmt, order, parts = _list("supplier", tab, buyer_id, search, today)
    return keyset(stmt, order, cursor=cursor, per_page=per_page, count=count, parts=parts)


def _tab_counts(side: str, party_id: int | None, today: date | None, cap: int,
                keys: tuple[str, ...] | None = None) -> dict[str, Count]:
    keys = keys or (_BUYER_KEYS if side == "buyer" else _SUPPLIER_KEYS)
    org_id = _org_id()
    statement, names = _tab_count_statement(side, party_id is not None, keys, cap)
    params = {"org": org_id, "party": party_id, "today": _today(org_id, today)}
    counted = counted_rows(db.session.execute(statement, params), names, cap)
    found = {}
    for key in keys:
        mine = [c for name, c in counted.items() if name.partition(".")[0] == key]
        total = sum(c.value for c in mine)
        found[key] = Count(min(total, cap), total > cap or any(c.more for c in mine))
    return found


@functools.lru_cache(maxsize=32)
def _tab_count_statement(side: str, with_party: bool, keys: tuple[str, ...], cap: int):
    """(statement, names) counting the tabs `keys` of one side, built once: the organisation,
    the counterparty and today are bound parameters (`org`, `party`, `today`). Building and
    keying the union of a dozen index ranges cost as much as running it, at every list page."""
    queries = {}
    for key in keys:
        queries.update(count_queries(side, key, party_id=bindparam("party") if with_party else None,
                                     today=bindparam("today"), org_id=bindparam("org")))
    return capped_statement(queries, cap), tuple(queries)


def count_queries(side: str, key: str, *, party_id=None, today=None, org_id=None) -> dict[str, object]:
    """The id queries of one tab's index ranges, named "<key>.<n>", for a capped count
    (`dashboard.capped_counts`): their counts add up to the tab's."""
    stmt, _order, parts = _list(side, key, party_id, "", today, load=False, org_id=org_id)
    stmt = stmt.with_only_columns(Invoice.id)
    return {f"{key}.{i}": stmt if part is None else stmt.where(part) for i, part in enumerate(parts or [None])}


def buyer_tab_counts(*, supplier_id: int | None = None, today: date | None = None,
                     cap: int = COUNT_CAP) -> dict[str, Count]:
    """How many invoices each buyer tab holds, capped at `cap` ("99+"), in one statement: each
    tab's index ranges read at most cap + 1 entries."""
    return _tab_counts("buyer", supplier_id, today, cap)


def supplier_tab_counts(*, buyer_id: int | None = None, today: date | None = None,
                        cap: int = COUNT_CAP) -> dict[str, Count]:
    """How many invoices each supplier tab holds, capped (one statement)."""
    return _tab_counts("supplier", buyer_id, today, cap)


def tab_counts(side: str, keys: tuple[str, ...], *, today: date | None = None,
               cap: int = COUNT_CAP) -> dict[str, Count]:
    """Capped counts of some tabs of one side ("buyer"|"supplier"), in one statement (the
    dashboards' widgets)."""
    return _tab_counts(side, None, today, cap, keys)


def export_rows(side: str, *, chunk: int = 500, **filters) -> Iterator[Invoice]:
    """Every invoice of a list view, for its CSV: `side` "buyer" (filters: tab, supplier_id,
    search) or "supplier" (tab, buyer_id, search), read page by page on the list's index."""
    page_of = buyer_invoice_page if side == "buyer" else supplier_invoice_page
    filters.pop("cursor", None)
    filters.pop("per_page", None)
    return every_page(partial(page_of), chunk=chunk, **filters)


# ---------------------------------------------------------------- an order's invoices


def order_invoices(order: PurchaseOrder, *, limit: int = ORDER_INVOICES) -> list[Invoice]:
    """The invoices and credit notes with a line of `order`, newest first, at most `limit`.
    The buyer (the order's owner in scope) never reads the supplier's drafts."""
    ids = select(InvoiceLine.invoice_id).where(InvoiceLine.order_id == order.id)
    stmt = select(Invoice).where(Invoice.id.in_(ids))
    if _org_id() != order.supplier_id:
        stmt = stmt.where(Invoice.status != S.DRAFT)
    return list(db.session.scalars(
        stmt.options(joinedload(Invoice.supplier))
        .order_by(Invoice.created_at.desc(), Invoice.id.desc()).limit(limit)).unique())


# ---------------------------------------------------------------- one invoice


@dataclass(frozen=True)
class LineFacts:
    """An invoice line with its order line's received quantity and what other issued invoices
    (less their credit notes) already invoiced of it."""

    line: InvoiceLine
    order_line: PurchaseOrderLine | None
    received: Decimal | None
    invoiced_elsewhere: Decimal


def _invoiced_elsewhere(invoice: Invoice, order_line_ids: list[int]) -> dict[int, Decimal]:
    """Per order line: invoiced on other issued invoices minus their credit notes."""
    if not order_line_ids:
        return {}
    counted = and_(Invoice.status != S.DRAFT, Invoice.id != invoice.id)
    invoiced = dict(db.session.execute(
        select(InvoiceLine.order_line_id, func.sum(InvoiceLine.quantity))
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(InvoiceLine.order_line_id.in_(order_line_ids), counted, _IS_INVOICE)
        .group_by(InvoiceLine.order_line_id)).all())
    corrected = InvoiceLine.__table__.alias("corrected")
    credited = dict(db.session.execute(
        select(corrected.c.order_line_id, func.sum(InvoiceLine.quantity))
        .join(corrected, corrected.c.id == InvoiceLine.corrects_line_id)
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(corrected.c.order_line_id.in_(order_line_ids), Invoice.status != S.DRAFT,
               _IS_CREDIT_NOTE, corrected.c.invoice_id != invoice.id)
        .group_by(corrected.c.order_line_id)).all())
    return {i: Decimal(invoiced.get(i) or 0) - Decimal(credited.get(i) or 0) for i in order_line_ids}


def invoice_detail(invoice: Invoice, *, today: date | None = None) -> dict:
    """What an invoice's page shows besides the invoice's own fields, in a bounded number of
    statements: `lines` (LineFacts, in position order), `payments` (oldest first),
    `credit_notes` (issued ones correcting it; a supplier also sees its drafts), `corrected`
    (the invoice a credit note corrects), `orders` (the referenced orders), `documents`,
    `overdue` and `days_overdue` (in the reader's time zone)."""
    org_id = _org_id()
    lines = list(db.session.scalars(
        select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id)
        .options(joinedload(InvoiceLine.order_line), joinedload(InvoiceLine.corrects_line))
        .order_by(InvoiceLine.position, InvoiceLine.id)).unique())
    order_line_ids = sorted({ln.order_line_id for ln in lines if ln.order_line_id is not None})
    elsewhere = _invoiced_elsewhere(invoice, order_line_ids)
    facts = [LineFacts(ln, ln.order_line,
                       None if ln.order_line is None else Decimal(ln.order_line.received_quantity or 0),
                       elsewhere.get(ln.order_line_id, Decimal("0")))
             for ln in lines]
    notes = select(Invoice).where(Invoice.corrects_id == invoice.id, _IS_CREDIT_NOTE)
    if org_id != invoice.supplier_id:
        notes = notes.where(Invoice.status != S.DRAFT)
    credit_notes = list(db.session.scalars(notes.order_by(Invoice.created_at, Invoice.id).limit(100)))
    payments = list(db.session.scalars(
        select(Payment).where(Payment.invoice_id == invoice.id)
        .options(joinedload(Payment.recorded_by)).order_by(Payment.paid_on, Payment.id)).unique())
    order_ids = sorted({ln.order_id for ln in lines if ln.order_id is not None})
    orders = list(db.session.scalars(
        select(PurchaseOrder).where(PurchaseOrder.id.in_(order_ids)).order_by(PurchaseOrder.number))
    ) if order_ids else []
    from portal.models.invoice import InvoiceDocument

    documents = list(db.session.scalars(
        select(InvoiceDocument).where(InvoiceDocument.invoice_id == invoice.id).order_by(InvoiceDocument.id)))
    overdue = (not invoice.is_credit_note and invoice.status in OPEN and invoice.due_date is not None
               and invoice.due_date < _today(org_id, today))
    days = (_today(org_id, today) - invoice.due_date).days if overdue else 0
    return {
        "lines": facts,
        "payments": payments,
        "credit_notes": credit_notes,
        "corrected": invoice.corrects if invoice.corrects_id else None,
        "orders": orders,
        "documents": documents,
        "overdue": overdue,
        "days_overdue": days,
    }


def is_overdue(invoice: Invoice, today: date) -> bool:
    """Derived: an open invoice whose due date has passed (`today` in the reader's zone)."""
    return overdue(invoice.kind, invoice.status, invoice.due_date, today)


def overdue(kind, status, due_date: date | None, today: date) -> bool:
    """`is_overdue` from the columns it reads (a list read as rows has no objects)."""
    return kind != InvoiceKind.CREDIT_NOTE and status in OPEN and due_date is not None and due_date < today


__all__ = [
    "BUYER_TABS",
    "OPEN",
    "SUPPLIER_TABS",
    "LineFacts",
    "buyer_invoice_page",
    "buyer_tab_counts",
    "export_rows",
    "invoice_detail",
    "is_overdue",
    "overdue",
    "order_invoices",
    "supplier_invoice_page",
    "supplier_tab_counts",
    "tab_counts",
]
