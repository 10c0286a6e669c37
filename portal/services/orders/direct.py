"""Orders straight from price agreements: an approved requisition whose every line has an
agreement valid today (for its catalog item, its quantity's tier, in the requisition's
currency, with an active supplier) becomes one purchase order per supplier at the agreed
prices, without an RFQ."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from portal.domain.messages import N_, Msg
from portal.domain.vat import UnknownVatCode, code_for_rate
from portal.errors import ValidationProblem
from portal.extensions import db
from portal.models import Item, PriceAgreement, Requisition, RequisitionLine
from portal.models.order import OrderSource, PurchaseOrder
from portal.policies import enforce
from portal.services import agreements, clock
from portal.services.orders.issue import OrderLineInput, issue_order


@dataclass(frozen=True)
class CoveredLine:
    """A requisition line and the agreement that prices it today (None: no agreement)."""

    line: RequisitionLine
    agreement: PriceAgreement | None
    unit_price: Decimal | None

    @property
    def covered(self) -> bool:
        return self.agreement is not None


@dataclass(frozen=True)
class Coverage:
    lines: tuple[CoveredLine, ...]

    @property
    def complete(self) -> bool:
        """Every line has an agreement (and there is at least one line)."""
        return bool(self.lines) and all(c.covered for c in self.lines)

    @property
    def missing(self) -> list[RequisitionLine]:
        return [c.line for c in self.lines if not c.covered]

    @property
    def suppliers(self) -> list[str]:
        return sorted({c.agreement.supplier.name for c in self.lines if c.covered})


def agreement_coverage(req: Requisition, *, day: date | None = None) -> Coverage:
    """Per line of `req`: the agreement valid on `day` (today) for its catalog item and quantity
    in the requisition's currency (the cheapest for that quantity when several apply), and its
    unit price for that quantity. A free-text line has none."""
    day = day or clock.now().date()
    ids = {line.item_id for line in req.lines if line.item_id is not None}
    items = {i.id: i for i in db.session.scalars(select(Item).where(Item.id.in_(ids)))} if ids else {}
    found = []
    for line in req.lines:
        agreed = None
        if line.item_id in items:
            agreed = agreements.agreed_price(items[line.item_id], req.currency, quantity=line.quantity, day=day)
        if agreed is None:
            found.append(CoveredLine(line, None, None))
        else:
            price, agreement = agreed
            found.append(CoveredLine(line, agreement, price))
    return Coverage(tuple(found))


def _refusal(line: RequisitionLine) -> ValidationProblem:
    return ValidationProblem(Msg(
        N_("Line %(position)s (%(description)s) has no valid price agreement: "
           "request quotes for this requisition instead."),
        {"position": line.position, "description": line.description}))


def orders_from_agreements(req: Requisition, actor, *, now=None,
                           credit_override_reason: str | None = None) -> list[PurchaseOrder]:
    """Issue one purchase order per supplier for an approved requisition whose every line has a
    valid agreement, at the agreed prices (`source=agreement`), each line's delivery date from
    the agreement's lead time, the order's the requisition's "needed by" (or the latest line's).

    Raises PermissionDenied (role), InvalidTransition (not approved), ValidationProblem naming
    the first line without an agreement, BudgetExceeded and CreditLimitExceeded (an admin's
    `credit_override_reason` lets an order over a supplier's credit limit go) from `issue_order`.
    """
    enforce(actor, "orders.from_agreements", req)
    now = now or clock.now()
    today = now.date()
    coverage = agreement_coverage(req, day=today)
    if not coverage.lines:
        raise ValidationProblem(Msg(N_("This requisition has no lines to order.")))
    if not coverage.complete:
        raise _refusal(coverage.missing[0])
    by_link: dict[int, list[CoveredLine]] = {}
    for covered in coverage.lines:
        by_link.setdefault(covered.agreement.link_id, []).append(covered)
    groups = sorted(by_link.values(), key=lambda group: (group[0].agreement.supplier.name, group[0].agreement.link_id))
    orders = []
    for group in groups:
        lines = []
        for covered in group:
            line, agreement = covered.line, covered.agreement
            try:
                code = code_for_rate(line.vat_rate).code
            except UnknownVatCode:
                code = "23"
            lead = agreement.lead_time_days
            lines.append(OrderLineInput(
                description=line.description, quantity=line.quantity, unit=line.unit,
                unit_price=covered.unit_price, vat_code=code, item_id=line.item_id,
                requisition_line_id=line.id, supplier_part_number=agreement.supplier_part_number or "",
                delivery_date=today + timedelta(days=lead) if lead is not None else None))
        dates = [ln.delivery_date for ln in lines if ln.delivery_date is not None]
        delivery = req.needed_by or (max(dates) if dates else None)
        if delivery is not None and dates and delivery < max(dates):
            delivery = max(dates)
        orders.append(issue_order(
            actor, link=group[0].agreement.link, source=OrderSource.AGREEMENT, lines=lines,
            currency=req.currency, delivery_date=delivery, notes="", now=now,
            credit_override_reason=credit_override_reason))
    return orders
