"""The supplier's credit limit: what the buyer owes or has ordered, and the check at issue (orders).

A supplier link may carry a credit limit (in the link's currency): how much the buyer may owe
that supplier at once. The **exposure** is what is already committed with the supplier: the
amount still due on its issued invoices (gross less credit notes, payments and discounts taken)
plus the gross of open orders not invoiced yet. An order that would take the exposure over the
limit is refused (`CreditLimitExceeded`, naming the limit, the exposure and the order) unless a
buyer admin overrides it with a written reason; the order then keeps the reason and who gave
it, and the audit trail `order.credit_override`.

Only amounts in the link's currency count (there are no exchange rates here): an order in
another currency is neither counted nor checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import case, func, select

from portal.domain.invoicing import OPEN
from portal.domain.messages import N_, Msg
from portal.domain.orders import OPEN as OPEN_ORDERS
from portal.errors import DomainError
from portal.extensions import db
from portal.models.invoice import Invoice, InvoiceKind, InvoiceLine, InvoiceStatus
from portal.models.order import OrderStatus, PurchaseOrder
from portal.models.org import SupplierLink
from portal.money import Money
from portal.policies import can
from portal.services import audit

ZERO = Decimal("0.00")
# Orders the buyer still owes for once invoiced: open, and received (delivered, not closed).
UNINVOICED_ORDERS = tuple(OrderStatus(s) for s in (*OPEN_ORDERS, OrderStatus.RECEIVED))
MAX_REASON = 2000


class CreditLimitExceeded(DomainError):
    """The order would take the buyer over the supplier's credit limit; `msg` says by how much.

    `limit`, `exposure` (before the order) and `adding` (the order's gross) are Decimals in the
    link's currency; `can_override` tells whether the actor may override with a reason."""

    status_code = 409

    def __init__(self, msg: Msg, *, limit: Decimal, exposure: Decimal, adding: Decimal, currency: str,
                 supplier: str, can_override: bool = False):
        super().__init__(msg)
        self.limit, self.exposure, self.adding = limit, exposure, adding
        self.currency, self.supplier, self.can_override = currency, supplier, can_override


@dataclass(frozen=True)
class CreditOverride:
    """An admin's decision to issue over the limit: recorded on the order once it exists."""

    reason: str
    limit: Decimal
    exposure: Decimal
    adding: Decimal
    currency: str


def unpaid_invoices(link: SupplierLink) -> Decimal:
    """What the buyer still owes on the supplier's issued invoices in the link's currency."""
    due = Invoice.gross_total - Invoice.credited_total - Invoice.paid_total - Invoice.discount_taken
    total = db.session.scalar(
        select(func.coalesce(func.sum(due), 0)).where(
            Invoice.organization_id == link.organization_id,
            Invoice.supplier_id == link.supplier_id,
            Invoice.kind == InvoiceKind.INVOICE,
            Invoice.status.in_([InvoiceStatus(s) for s in OPEN]),
            Invoice.currency == link.currency,
        ))
    return Decimal(total or 0)


def uninvoiced_orders(link: SupplierLink) -> Decimal:
    """The gross of the buyer's open orders to the supplier (in the link's currency) that no
    issued invoice covers yet, order by order (never below zero)."""
    invoiced = (
        select(func.coalesce(func.sum(InvoiceLine.gross), 0))
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(InvoiceLine.order_id == PurchaseOrder.id,
               Invoice.kind == InvoiceKind.INVOICE,
               Invoice.status != InvoiceStatus.DRAFT)
        .correlate(PurchaseOrder)
        .scalar_subquery()
    )
    left = PurchaseOrder.gross_total - invoiced
    total = db.session.scalar(
        select(func.coalesce(func.sum(case((left > 0, left), else_=0)), 0)).where(
            PurchaseOrder.organization_id == link.organization_id,
            PurchaseOrder.supplier_id == link.supplier_id,
            PurchaseOrder.status.in_(UNINVOICED_ORDERS),
            PurchaseOrder.currency == link.currency,
        ))
    return Decimal(total or 0)


def exposure(link: SupplierLink) -> Decimal:
    """Unpaid invoices plus open orders not yet invoiced, in the link's currency."""
    return (unpaid_invoices(link) + uninvoiced_orders(link)).quantize(Decimal("0.01"))


def _message(link: SupplierLink, limit: Decimal, current: Decimal, adding: Decimal) -> Msg:
    currency = link.currency
    return Msg(N_("This order of %(adding)s would take what you owe or have ordered from %(supplier)s to "
                  "%(total)s, over the credit limit of %(limit)s (now %(exposure)s)."),
               {"adding": Money(adding, currency), "supplier": link.supplier.name,
                "total": Money(current + adding, currency), "limit": Money(limit, currency),
                "exposure": Money(current, currency)})


def check_credit(link: SupplierLink, adding: Decimal, *, actor, override_reason: str | None = None,
                 currency: str | None = None) -> CreditOverride | None:
    """None when the link has no limit, the order is in another currency, or the exposure plus
    `adding` (the order's gross) stays within the limit; a CreditOverride when over it and a
    buyer admin (`orders.credit_override`) gave a reason. Otherwise CreditLimitExceeded."""
    limit = link.credit_limit
    if limit is None or (currency is not None and currency != link.currency):
        return None
    current = exposure(link)
    if current + adding <= limit:
        return None
    allowed = can(actor, "orders.credit_override", link)
    reason = (override_reason or "").strip()
    if allowed and reason:
        return CreditOverride(reason[:MAX_REASON], limit, current, adding, link.currency)
    raise CreditLimitExceeded(_message(link, limit, current, adding), limit=limit, exposure=current,
                              adding=adding, currency=link.currency, supplier=link.supplier.name,
                              can_override=allowed)


def record_override(order: PurchaseOrder, override: CreditOverride | None, actor) -> None:
    """Keep an admin's override on the order that exists now, and in its audit trail."""
    if override is None:
        return
    order.credit_override_reason = override.reason
    order.credit_override_by_id = actor.id
    audit.record(actor=actor, action="order.credit_override", obj=order, comment=override.reason,
                 summary={"number": order.number, "limit": Money(override.limit, override.currency),
                          "exposure": Money(override.exposure, override.currency),
                          "amount": Money(override.adding, override.currency)})
