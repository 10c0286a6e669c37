"""The monthly run: for every active link set to monthly invoicing, one consolidated draft per
supplier, buyer and month from what was received by the month's end and not yet invoiced or
drafted; the supplier reviews and issues it.

- Idempotent: a (supplier, buyer, month) that has its draft or invoice already is skipped (the
  unique constraint on supplier_id, organization_id, period, kind settles two runs racing); a
  draft the supplier deleted is drafted again by the next run for that month.
- The lines: each order line of the buyer's orders to the supplier (not cancelled) with goods
  accepted (received minus rejected) on receipts dated up to the month's last day, for the
  quantity so accepted minus what is invoiced or drafted already — what arrived in the month,
  and what arrived earlier and was never invoiced; receipts after the month wait for the next.
  Lines of orders in another currency than the link's are left to invoices per order.
- The run over every supplier is the job's (portal/jobs/monthly_invoices.py): each supplier in
  its own bound scope and its own transaction; this module writes and never commits.
  The draft's author is the supplier's first admin (the run itself is the audit's actor: none).
- A month that has not ended yet (the current one, a future one) and anything that is not a
  month (`YYYY-MM`) are refused with MonthlyRunError, before anything is read or written.
"""

from __future__ import annotations

import calendar
import logging
import re
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select, type_coerce
from sqlalchemy.orm import contains_eager, joinedload

from portal.domain.messages import N_, Link, Msg
from portal.errors import ValidationProblem
from portal.extensions import db
from portal.models import Organization, User, UserRole
from portal.models.invoice import Invoice, InvoiceKind
from portal.models.order import GoodsReceipt, GoodsReceiptLine, OrderStatus, PurchaseOrder, PurchaseOrderLine
from portal.models.org import InvoicingMode, SupplierLink
from portal.models.types import Quantity
from portal.money import Money
from portal.services import clock
from portal.services.clock import today_for
from portal.services.invoicing.drafting import MAX_LINES, draft_event, new_draft
from portal.services.invoicing.invoiceable import OpenLine, quantities
from portal.services.notifications import notify_organization

log = logging.getLogger("portal.invoicing.monthly")

ZERO = Decimal(0)
_PERIOD = re.compile(r"(\d{4})-(\d{2})")
_CHUNK = 500  # order line ids per IN (...) list


class MonthlyRunError(ValidationProblem):
    """The month asked for cannot be run (malformed, not over yet); `msg` says why."""


def parse_period(period: str, *, today: date) -> tuple[date, date]:
    """The first and last day of `period` ("2026-11"); MonthlyRunError for anything that is not
    a month, or a month that has not ended by `today`."""
    text = (period or "").strip()
    match = _PERIOD.fullmatch(text)
    month = int(match.group(2)) if match else 0
    if not match or not 1 <= month <= 12 or int(match.group(1)) < 2000:
        raise MonthlyRunError(Msg(N_("“%(period)s” is not a month: write it as YYYY-MM, e.g. 2026-11."),
                                  {"period": text}))
    year = int(match.group(1))
    start = date(year, month, 1)
    end = date(year, month, calendar.monthrange(year, month)[1])
    if start > today:
        raise MonthlyRunError(Msg(N_("%(period)s is in the future: only a month that is over can be invoiced."),
                                  {"period": text}))
    if end >= today:
        raise MonthlyRunError(Msg(N_("%(period)s is not over yet: a month is invoiced from the day after its "
                                     "last day."), {"period": text}))
    return start, end


def last_month(today: date) -> str:
    """The month before `today`'s ("2026-11" on any day of December 2026)."""
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def _author(org: Organization) -> User | None:
    """Who a monthly draft is created by: the supplier's first active admin, else its first
    active user."""
    users = db.session.scalars(
        select(User).where(User.organization_id == org.id, User.is_active_flag.is_(True)).order_by(User.id)).all()
    admins = set(db.session.scalars(select(UserRole.user_id).where(
        UserRole.user_id.in_([u.id for u in users]), UserRole.role == "supplier_admin")))
    return next((u for u in users if u.id in admins), users[0] if users else None)


def _accepted_by(end: date, supplier_id: int, buyer_ids: list[int]) -> list[tuple[PurchaseOrderLine, Decimal]]:
    """(order line, quantity accepted on receipts dated up to `end`) for the buyers' orders to
    the supplier that are not cancelled, where something was accepted."""
    accepted = type_coerce(func.sum(GoodsReceiptLine.quantity - GoodsReceiptLine.rejected_quantity), Quantity())
    rows = db.session.execute(
        select(PurchaseOrderLine, PurchaseOrder, accepted)
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.order_id)
        .join(GoodsReceiptLine, GoodsReceiptLine.order_line_id == PurchaseOrderLine.id)
        .join(GoodsReceipt, GoodsReceipt.id == GoodsReceiptLine.receipt_id)
        .where(PurchaseOrder.supplier_id == supplier_id, PurchaseOrder.organization_id.in_(buyer_ids),
               PurchaseOrder.status != OrderStatus.CANCELLED, GoodsReceipt.received_on <= end)
        .options(contains_eager(PurchaseOrderLine.order))
        .group_by(PurchaseOrderLine.id, PurchaseOrder.id)
        .order_by(PurchaseOrderLine.order_id, PurchaseOrderLine.position, PurchaseOrderLine.id)
    ).all()
    return [(line, Decimal(quantity)) for line, _order, quantity in rows if quantity and quantity > 0]


def _open_by_buyer(end: date, supplier_id: int, buyer_ids: list[int]) -> dict[int, list[OpenLine]]:
    found = _accepted_by(end, supplier_id, buyer_ids)
    sums: dict[int, tuple[Decimal, Decimal]] = {}
    ids = [line.id for line, _ in found]
    for i in range(0, len(ids), _CHUNK):
        sums.update(quantities(ids[i:i + _CHUNK]))
    by_buyer: dict[int, list[OpenLine]] = {}
    for line, accepted in found:
        invoiced, drafted = sums.get(line.id, (ZERO, ZERO))
        open_quantity = accepted - invoiced - drafted
        if open_quantity > 0:
            by_buyer.setdefault(line.order.organization_id, []).append(
                OpenLine(line, accepted, invoiced, drafted, open_quantity))
    return by_buyer


def draft_supplier(org: Organization, links: list[SupplierLink], period: str, end: date) -> int:
    """The missing monthly drafts of one supplier (its scope bound); returns how many."""
    done = set(db.session.scalars(select(Invoice.organization_id).where(
        Invoice.supplier_id == org.id, Invoice.period == period, Invoice.kind == InvoiceKind.INVOICE)))
    todo = [link for link in links if link.organization_id not in done]
    if not todo:
        return 0
    author = _author(org)
    if author is None:
        log.warning("supplier %s has no active user: no monthly drafts for %s", org.id, period)
        return 0
    open_lines = _open_by_buyer(end, org.id, [link.organization_id for link in todo])
    made = []
    for link in todo:
        lines = [ol for ol in open_lines.get(link.organization_id, []) if ol.order_line.order.currency == link.currency]
        if not lines:
            continue
        if len(lines) > MAX_LINES:
            log.warning("monthly draft %s of supplier %s to buyer %s: %s lines, the first %s drafted",
                        period, org.id, link.organization_id, len(lines), MAX_LINES)
            lines = lines[:MAX_LINES]
        made.append(new_draft(link, created_by_id=author.id, currency=link.currency,
                              payment_terms=link.payment_terms, lines=lines, period=period, flush=False))
    db.session.flush()  # all of the supplier's drafts at once (IntegrityError: another run was faster)
    for invoice in made:
        draft_event(actor=None, action="invoice.drafted", invoice=invoice, summary={
            "period": period, "lines": len(invoice.lines), "gross": Money(invoice.gross_total, invoice.currency)})
    drafted = len(made)
    if drafted:
        notify_organization(org.id, N_("Monthly invoices for %(period)s drafted: %(count)s. Review and issue them."),
                            link=Link("supplier.invoices", {"tab": "drafts"}), kind="invoice.monthly",
                            count=drafted, period=period)
    return drafted


def draft_monthly_supplier(org: Organization, period: str, *, today: date | None = None) -> int:
    """The monthly drafts of one supplier `org` for `period`, in the caller's transaction and
    scope (bound to `org`; nothing committed: the demo seed and tests). Returns how many were
    made; MonthlyRunError as `draft_monthly`."""
    today = today or today_for(None, clock.now())
    _start, end = parse_period(period, today=today)
    links = monthly_links(org.id)
    return draft_supplier(org, links, period.strip(), end) if links else 0


def monthly_links(org_id: int) -> list[SupplierLink]:
    return list(db.session.scalars(
        select(SupplierLink).where(SupplierLink.supplier_id == org_id, SupplierLink.status == "active",
                                   SupplierLink.invoicing == InvoicingMode.MONTHLY)
        .options(joinedload(SupplierLink.buyer))
        .order_by(SupplierLink.organization_id)))
