"""Goods receipts: the buyer records what arrived on a purchase order, line by line.

`record_receipt` is the one write: it locks the order, checks the receipt against what is still
open (portal/domain/receiving.py), adds a `GoodsReceipt`, moves the order to partially received
or received, tells the supplier (and why goods were rejected), and closes the requisitions whose
every ordered line is now received. The reads (`receiving_lines`, `receipts_of`, `find_receipt`)
serve the order page's receipts section and a receipt's own page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from portal.domain import receiving as rules
from portal.domain.messages import N_, Link, Msg
from portal.domain.receiving import LineState, Problem, ReceiptLineInput, ReceiptRefused
from portal.domain.requisition import Action, RequisitionStatus
from portal.errors import InvalidTransition, NotFound, ValidationProblem
from portal.extensions import db
from portal.models import Requisition, RequisitionLine
from portal.models.order import (
    GoodsReceipt,
    GoodsReceiptLine,
    OrderStatus,
    PurchaseOrder,
    PurchaseOrderLine,
)
from portal.policies import enforce
from portal.services import audit, clock
from portal.services.locks import lock_row
from portal.services.notifications import notify_organization
from portal.services.requisitions import move

__all__ = ["ReceiptLineInput", "ReceiptProblem", "record_receipt"]

# The supplier's page of an order (portal/blueprints/supplier/orders.py).
SUPPLIER_ORDER = "supplier.order"
# Lines of the rejection reasons told to the supplier (the receipt page has them all).
TOLD_REASONS = 10


class ReceiptProblem(ValidationProblem):
    """A receipt that breaks the rules: `problems` names each line and field (the form shows
    every message beside its input); the message is the first problem's."""

    def __init__(self, problems: list[Problem]):
        super().__init__(problems[0].msg)
        self.problems = problems
        self.field = problems[0].field if problems[0].line_id is None else None


@dataclass(frozen=True)
class ReceivingLine:
    """An order line as the receipt form shows it: ordered, accepted so far, rejected so far,
    still open."""

    line: PurchaseOrderLine
    state: LineState

    @property
    def open(self) -> Decimal:
        return self.state.open


def _state(line: PurchaseOrderLine) -> LineState:
    return LineState(line.id, line.position, line.description, Decimal(line.quantity),
                     Decimal(line.received_quantity or 0), line.unit)


def receiving_lines(order: PurchaseOrder) -> list[ReceivingLine]:
    """The order's lines with what is still open, in position order."""
    return [ReceivingLine(line, _state(line)) for line in order.lines]


def receipts_of(order: PurchaseOrder, *, people: bool = True) -> list[GoodsReceipt]:
    """The order's receipts, newest first, with their lines and (`people`, the buyer's side)
    who recorded them, in a constant number of queries however many. The supplier reads them
    without the buyer's people (`people=False`: they are outside its organisation)."""
    options = [selectinload(GoodsReceipt.lines).joinedload(GoodsReceiptLine.order_line)]
    if people:
        options.append(joinedload(GoodsReceipt.received_by))
    return list(db.session.scalars(
        select(GoodsReceipt).where(GoodsReceipt.order_id == order.id).options(*options)
        .order_by(GoodsReceipt.received_on.desc(), GoodsReceipt.id.desc())
    ).unique())


def find_receipt(order: PurchaseOrder, receipt_id: int) -> GoodsReceipt:
    """One receipt of `order` (through the tenant filter), or NotFound."""
    found = db.session.scalars(
        select(GoodsReceipt).where(GoodsReceipt.id == receipt_id, GoodsReceipt.order_id == order.id)
        .options(selectinload(GoodsReceipt.lines).joinedload(GoodsReceiptLine.order_line),
                 joinedload(GoodsReceipt.received_by))
    ).first()
    if found is None:
        raise NotFound(Msg(N_("There is no such receipt on this order.")))
    return found


def _locked(order: PurchaseOrder) -> list[PurchaseOrderLine]:
    """Lock the order and read it and its lines again: a receipt racing another one sees the
    quantities the other committed, so together they never over-receive."""
    lock_row(order)
    db.session.refresh(order)
    return list(db.session.scalars(
        select(PurchaseOrderLine).where(PurchaseOrderLine.order_id == order.id)
        .order_by(PurchaseOrderLine.position, PurchaseOrderLine.id)
        .execution_options(populate_existing=True)))


def record_receipt(order: PurchaseOrder, actor, *, received_on: date | None, note: str = "",
                   lines: dict[int, ReceiptLineInput], now: datetime | None = None) -> GoodsReceipt:
    """Record a delivery on `order`: per order line id, the quantity received, the part rejected
    and why.

    Only buyers and admins of the ordering company receive ("orders.receive"); an issued,
    acknowledged or partially received order receives, any other is refused
    (InvalidTransition). Raises ReceiptProblem (a ValidationProblem, nothing written) for a date
    in the future or before the order, a negative quantity, a rejection without a reason or
    above what arrived, more accepted than is still open (over-receipt), or an empty receipt.
    Flushes; the caller commits.
    """
    enforce(actor, "orders.receive", order)
    order_lines = _locked(order)
    refused = rules.receivable(order.status)
    if refused is not None:
        raise InvalidTransition(refused)
    now = now or clock.now()
    today = clock.today_for(actor.organization, now)
    issued_on = clock.today_for(actor.organization, order.issued_at) if order.issued_at else None
    problems = []
    date_problem = rules.check_date(received_on, today=today, issued_on=issued_on)
    if date_problem is not None:
        problems.append(Problem(None, "received_on", date_problem))
    states = [_state(line) for line in order_lines]
    note = (note or "").strip()
    try:
        kept = rules.check_receipt(states, lines, note=note)
    except ReceiptRefused as exc:
        problems.extend(exc.problems)
    if problems:
        raise ReceiptProblem(problems)

    receipt = GoodsReceipt(order=order, received_on=received_on, note=note, received_by_id=actor.id,
                           created_at=now)
    by_id = {line.id: line for line in order_lines}
    for line_id, entry in sorted(kept.items(), key=lambda item: by_id[item[0]].position):
        line = by_id[line_id]
        receipt.lines.append(GoodsReceiptLine(
            order_line=line, quantity=entry.quantity, rejected_quantity=entry.rejected_quantity,
            reject_reason=entry.reject_reason.strip() if entry.rejected_quantity else ""))
        line.received_quantity = Decimal(line.received_quantity or 0) + entry.accepted
        line.rejected_quantity = Decimal(line.rejected_quantity or 0) + entry.rejected_quantity
    db.session.add(receipt)
    before = order.status
    order.status = OrderStatus(rules.status_after(order.status, [_state(line) for line in order_lines]))
    db.session.flush()

    received = sum((e.quantity for e in kept.values()), Decimal(0))
    rejected = sum((e.rejected_quantity for e in kept.values()), Decimal(0))
    audit.record(actor=actor, action="order.received", obj=order, comment=note, summary={
        "number": order.number, "receipt": receipt.id, "received_on": received_on,
        "lines": len(kept), "received": received, "rejected": rejected,
        "status": [str(before), str(order.status)],
    })
    _tell_supplier(order, actor, receipt, rejected)
    _close_requisitions(order, actor)
    db.session.flush()
    return receipt


def _tell_supplier(order: PurchaseOrder, actor, receipt: GoodsReceipt, rejected: Decimal) -> None:
    """The supplier hears of every delivery recorded, and of each rejection with its reason."""
    link = Link(SUPPLIER_ORDER, {"order_id": order.id})
    buyer = actor.organization.name
    if order.status == OrderStatus.RECEIVED:
        text = N_("%(buyer)s received order %(number)s in full.")
    else:
        text = N_("%(buyer)s recorded a delivery on order %(number)s.")
    notify_organization(order.supplier_id, text, link=link, kind="order.received", buyer=buyer,
                        number=order.number)
    if rejected > 0:
        reasons = "; ".join(f"{line.order_line.description[:60]}: {line.reject_reason}"
                            for line in receipt.lines if line.rejected_quantity > 0)
        notify_organization(
            order.supplier_id,
            N_("%(buyer)s rejected part of the delivery on order %(number)s: %(reasons)s"),
            link=link, kind="order.rejected", buyer=buyer, number=order.number,
            reasons=reasons[:1000])


def _close_requisitions(order: PurchaseOrder, actor) -> list[Requisition]:
    """Close the ordered requisitions behind `order` whose every line on an order (not cancelled)
    is now received in full."""
    ids = set(db.session.scalars(
        select(RequisitionLine.requisition_id)
        .join(PurchaseOrderLine, PurchaseOrderLine.requisition_line_id == RequisitionLine.id)
        .where(PurchaseOrderLine.order_id == order.id)))
    if not ids:
        return []
    still_open = set(db.session.scalars(
        select(RequisitionLine.requisition_id).distinct()
        .join(PurchaseOrderLine, PurchaseOrderLine.requisition_line_id == RequisitionLine.id)
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.order_id)
        .where(RequisitionLine.requisition_id.in_(ids),
               PurchaseOrder.status != OrderStatus.CANCELLED,
               PurchaseOrderLine.received_quantity < PurchaseOrderLine.quantity)))
    closed = []
    for req in db.session.scalars(select(Requisition).where(
            Requisition.id.in_(ids - still_open),
            Requisition.status == RequisitionStatus.ORDERED).order_by(Requisition.id)):
        lock_row(req)
        db.session.refresh(req)
        if req.status != RequisitionStatus.ORDERED:
            continue
        move(req, Action.CLOSE)
        audit.record(actor=actor, action="requisition.closed", obj=req,
                     summary={"order": order.number})
        closed.append(req)
    return closed
