"""What happens to an issued order: the supplier acknowledges it or proposes another delivery
date; the buyer accepts or refuses the proposal, revises the order (a numbered revision the
supplier acknowledges again) or cancels it before any delivery (releasing its commitment).

Every action checks its rule (`portal.policies.orders`, the domain's transition table), writes
the order, records its audit event and tells the other party. Services never commit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select

from portal.domain import orders as rules
from portal.domain.messages import N_, Link, Msg
from portal.domain.orders import Action, OrderRefused
from portal.domain.requisition import Action as ReqAction
from portal.domain.requisition import RequisitionStatus
from portal.errors import InvalidTransition, ValidationProblem
from portal.extensions import db
from portal.models import RequisitionLine
from portal.models.order import OrderStatus, PurchaseOrder, PurchaseOrderLine
from portal.money import Money
from portal.policies import enforce
from portal.services import audit, clock, requisitions
from portal.services.budgets.posting import release_commitment
from portal.services.notifications import notify_organization
from portal.services.orders import credit
from portal.services.orders.issue import ORDER, adjust_budget, fill_line, requisitions_of, set_totals, store_pdf
from portal.services.orders.issue import OrderLineInput as _Input

MAX_REASON = 2000
# Who on the buyer's side hears the supplier's answers.
BUYER_ROLES = ("buyer", "admin")


def _problem(msg: Msg, field: str | None = None) -> ValidationProblem:
    exc = ValidationProblem(msg)
    exc.field = field
    return exc


def _move(order: PurchaseOrder, action: Action) -> None:
    try:
        order.status = OrderStatus(rules.next_status(order.status, action))
    except OrderRefused as exc:
        raise InvalidTransition(Msg(exc.msg.text, {"status": rules.status_word(order.status)})) from exc


def _text(value: str | None, field: str, *, required: bool, message: str) -> str:
    value = (value or "").strip()
    if required and not value:
        raise _problem(Msg(message), field)
    if len(value) > MAX_REASON:
        raise _problem(Msg(N_("Keep it under %(num)d characters."), {"num": MAX_REASON}), field)
    return value


def _tell_buyer(order: PurchaseOrder, text: str, **params) -> None:
    notify_organization(order.organization_id, text, roles=BUYER_ROLES,
                        link=Link("orders.detail", {"order_id": order.id}),
                        supplier=order.supplier.name, number=order.number, **params)


def _tell_supplier(order: PurchaseOrder, text: str, **params) -> None:
    notify_organization(order.supplier_id, text, link=Link("supplier.order", {"order_id": order.id}),
                        buyer=order.buyer.name, number=order.number, **params)


# ---------------------------------------------------------------- the supplier


def acknowledge(order: PurchaseOrder, actor, *, now: datetime | None = None) -> PurchaseOrder:
    """The supplier confirms the order's current revision (a pending date proposal of its own
    is withdrawn). Raises PermissionDenied (not this supplier's, or its link blocked) or
    InvalidTransition (not waiting for acknowledgement)."""
    enforce(actor, "orders.acknowledge", order)
    _move(order, Action.ACKNOWLEDGE)
    order.acknowledged_at = now or clock.now()
    order.acknowledged_by_id = actor.id
    order.acknowledged_revision = order.revision
    order.proposed_delivery_date, order.proposal_note, order.proposed_at = None, "", None
    audit.record(actor=actor, action="order.acknowledged", obj=order,
                 summary={"number": order.number, "revision": order.revision})
    _tell_buyer(order, N_("%(supplier)s acknowledged purchase order %(number)s."))
    return order


def propose_date(order: PurchaseOrder, actor, *, delivery_date: date | None, note: str = "",
                 now: datetime | None = None) -> PurchaseOrder:
    """The supplier proposes another delivery date (with a note) for the buyer to accept or
    refuse; the order stays as it is meanwhile. Raises ValidationProblem for a missing or past
    date, or the date already on the order."""
    enforce(actor, "orders.propose_date", order)
    now = now or clock.now()
    if delivery_date is None:
        raise _problem(Msg(N_("Enter the date you can deliver on.")), "delivery_date")
    if delivery_date < now.date():
        raise _problem(Msg(N_("The proposed date cannot be in the past.")), "delivery_date")
    if delivery_date == order.delivery_date:
        raise _problem(Msg(N_("That is the delivery date already on the order.")), "delivery_date")
    note = _text(note, "note", required=False, message="")
    _move(order, Action.PROPOSE_DATE)
    order.proposed_delivery_date, order.proposal_note, order.proposed_at = delivery_date, note, now
    audit.record(actor=actor, action="order.date_proposed", obj=order,
                 summary={"number": order.number, "date": delivery_date, "note": note})
    _tell_buyer(order, N_("%(supplier)s proposed another delivery date for %(number)s: %(date)s."),
                date=delivery_date)
    return order


# ---------------------------------------------------------------- the buyer


def accept_proposal(order: PurchaseOrder, actor, *, now: datetime | None = None) -> PurchaseOrder:
    """The buyer accepts the supplier's date: a new revision with that delivery date (its PDF
    stored), agreed by the supplier who proposed it (the order reads acknowledged)."""
    enforce(actor, "orders.answer_proposal", order)
    before, after = order.delivery_date, order.proposed_delivery_date
    _move(order, Action.ACCEPT_PROPOSAL)
    order.delivery_date = after
    order.proposed_delivery_date, order.proposal_note, order.proposed_at = None, "", None
    order.revision += 1
    order.acknowledged_revision = order.revision
    changes = [_change("delivery_date", None, before, after)]
    db.session.flush()
    store_pdf(order, actor, changes=encode_changes(changes))
    audit.record(actor=actor, action="order.date_accepted", obj=order,
                 summary={"number": order.number, "revision": order.revision},
                 changes={"delivery_date": (before, after)})
    _tell_supplier(order, N_("%(buyer)s accepted your delivery date for %(number)s: %(date)s."), date=after)
    return order


def refuse_proposal(order: PurchaseOrder, actor, *, reason: str) -> PurchaseOrder:
    """The buyer refuses the supplier's date (with a reason): the order stays as it was."""
    enforce(actor, "orders.answer_proposal", order)
    reason = _text(reason, "reason", required=True, message=N_("Say why the date does not work."))
    proposed = order.proposed_delivery_date
    _move(order, Action.REFUSE_PROPOSAL)
    order.proposed_delivery_date, order.proposal_note, order.proposed_at = None, "", None
    audit.record(actor=actor, action="order.date_refused", obj=order,
                 summary={"number": order.number, "date": proposed}, comment=reason)
    _tell_supplier(order, N_("%(buyer)s cannot accept %(date)s for %(number)s: %(reason)s"),
                   date=proposed, reason=reason)
    return order


def cancel(order: PurchaseOrder, actor, *, reason: str, now: datetime | None = None) -> PurchaseOrder:
    """Cancel an order nothing was delivered for (with a reason): its commitment is released to
    the cent; a requisition all of whose orders are cancelled is approved again (to be ordered
    anew). Raises InvalidTransition after any delivery."""
    enforce(actor, "orders.cancel", order)
    reason = _text(reason, "reason", required=True, message=N_("Say why the order is cancelled."))
    if any(line.received_quantity or line.rejected_quantity for line in order.lines) or order.receipts:
        raise InvalidTransition(Msg(N_("Goods were received for this order: it can no longer be cancelled.")))
    _move(order, Action.CANCEL)
    order.cancelled_at, order.cancel_reason = now or clock.now(), reason
    order.proposed_delivery_date, order.proposal_note, order.proposed_at = None, "", None
    released = release_commitment(ORDER, order.id, actor, source_label=order.number, note=reason[:200])
    order.committed = Decimal("0.00")
    audit.record(actor=actor, action="order.cancelled", obj=order, comment=reason,
                 summary={"number": order.number, "released": Money(released, order.currency)})
    db.session.flush()
    _reopen_requisitions(order, actor)
    _tell_supplier(order, N_("%(buyer)s cancelled purchase order %(number)s: %(reason)s"), reason=reason)
    return order


def _reopen_requisitions(order: PurchaseOrder, actor) -> None:
    for req in requisitions_of(order):
        if req.status != RequisitionStatus.ORDERED:
            continue
        live = db.session.scalar(
            select(PurchaseOrder.id).join(PurchaseOrderLine, PurchaseOrderLine.order_id == PurchaseOrder.id)
            .join(RequisitionLine, RequisitionLine.id == PurchaseOrderLine.requisition_line_id)
            .where(RequisitionLine.requisition_id == req.id, PurchaseOrder.status != OrderStatus.CANCELLED)
            .limit(1))
        if live is None:
            requisitions.move(req, ReqAction.UNSOURCE)
            audit.record(actor=actor, action="requisition.unordered", obj=req,
                         summary={"number": req.number, "order": order.number})


# ---------------------------------------------------------------- revisions


@dataclass(frozen=True)
class LineChange:
    """New quantity and unit price of an order line (None: unchanged)."""

    quantity: Decimal | None = None
    unit_price: Decimal | None = None


def _change(field: str, position: int | None, before, after) -> dict:
    return {"field": field, "line": position, "before": _plain(before), "after": _plain(after)}


def _plain(value) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def encode_changes(changes: list[dict]) -> str:
    """A revision's changes as stored with its PDF (rendered in the reader's language)."""
    return json.dumps(changes, ensure_ascii=False, separators=(",", ":"))


def decode_changes(text: str | None) -> list[dict]:
    """The stored changes of a revision ([] for the first, or text that is not ours)."""
    if not text:
        return []
    try:
        found = json.loads(text)
    except ValueError:
        return []
    return [c for c in found if isinstance(c, dict)] if isinstance(found, list) else []


def _credit_for(order: PurchaseOrder, line_updates, actor, reason: str | None):
    """The credit-limit check of a revision that raises the order's gross (before any change
    is made: the exposure counts the order as it stands)."""
    if not line_updates:
        return None
    updated = {line.id: (quantity, price) for line, quantity, price in line_updates}
    nets = []
    for line in order.lines:
        quantity, price = updated.get(line.id, (line.quantity, line.unit_price))
        net = rules.line_amounts(quantity, price, line.vat_code, order.currency).net
        nets.append((line.vat_code, net))
    gross = rules.order_totals(nets, freight=order.freight or Decimal(0), currency=order.currency).gross
    if gross <= order.gross_total:
        return None
    return credit.check_credit(order.link, gross - order.gross_total, actor=actor, override_reason=reason,
                               currency=order.currency)


def revise(order: PurchaseOrder, actor, *, delivery_date: date | None = None, delivery_address: str | None = None,
           notes: str | None = None, lines: dict[int, LineChange] | None = None,
           now: datetime | None = None, credit_override_reason: str | None = None) -> PurchaseOrder:
    """Change an order before delivery: delivery date, address, notes, line quantities and unit
    prices (None: unchanged). The order becomes a new revision (revision + 1) waiting for the
    supplier's acknowledgement again, its PDF stored with a short summary of the changes; the
    commitment follows the new net by the difference under the budget's overrun policy.

    Raises InvalidTransition after any delivery, ValidationProblem when nothing changes or a
    value is wrong, BudgetExceeded when a block budget cannot cover an increase,
    CreditLimitExceeded when a higher gross takes the buyer over the supplier's credit limit
    and no buyer admin gave `credit_override_reason`.
    """
    enforce(actor, "orders.revise", order)
    now = now or clock.now()
    changes: list[dict] = []
    if delivery_date is not None and delivery_date != order.delivery_date:
        if delivery_date < now.date():
            raise _problem(Msg(N_("The delivery date cannot be in the past.")), "delivery_date")
        changes.append(_change("delivery_date", None, order.delivery_date, delivery_date))
    if delivery_address is not None and delivery_address.strip() != (order.delivery_address or ""):
        changes.append(_change("delivery_address", None, order.delivery_address, delivery_address.strip()))
    if notes is not None and notes.strip() != (order.notes or ""):
        changes.append(_change("notes", None, order.notes, notes.strip()))
    by_id = {line.id: line for line in order.lines}
    line_updates = []
    for line_id, change in (lines or {}).items():
        line = by_id.get(line_id)
        if line is None:
            raise _problem(Msg(N_("A line of this order was not found.")))
        quantity = line.quantity if change.quantity is None else change.quantity
        price = line.unit_price if change.unit_price is None else change.unit_price
        if quantity <= 0:
            raise _problem(Msg(N_("A quantity must be more than zero.")), f"qty_{line_id}")
        if price <= 0:
            raise _problem(Msg(N_("A unit price must be more than zero.")), f"price_{line_id}")
        if quantity != line.quantity:
            changes.append(_change("quantity", line.position, line.quantity, quantity))
        if price != line.unit_price:
            changes.append(_change("unit_price", line.position, line.unit_price, price))
        if quantity != line.quantity or price != line.unit_price:
            line_updates.append((line, quantity, price))
    if not changes:
        raise _problem(Msg(N_("Nothing was changed: the order stays as it is.")))
    override = _credit_for(order, line_updates, actor, credit_override_reason)

    with db.session.no_autoflush:
        before_net = order.net_total
        for line, quantity, price in line_updates:
            fill_line(line, _Input(line.description, quantity, line.unit, price, line.vat_code,
                                   line.item_id, line.requisition_line_id, line.rfq_line_id,
                                   line.supplier_part_number, line.delivery_date), order.currency)
        for change in changes:
            if change["field"] == "delivery_date":
                order.delivery_date = delivery_date
            elif change["field"] == "delivery_address":
                order.delivery_address = delivery_address.strip()
            elif change["field"] == "notes":
                order.notes = notes.strip()
        set_totals(order)
    if line_updates:
        adjust_budget(order, actor)
    _move(order, Action.REVISE)
    order.revision += 1
    order.proposed_delivery_date, order.proposal_note, order.proposed_at = None, "", None
    credit.record_override(order, override, actor)
    db.session.flush()
    store_pdf(order, actor, changes=encode_changes(changes))
    audit.record(actor=actor, action="order.revised", obj=order,
                 summary={"number": order.number, "revision": order.revision,
                          "net_before": Money(before_net, order.currency),
                          "net": Money(order.net_total, order.currency)})
    _tell_supplier(order, N_("%(buyer)s revised purchase order %(number)s (revision %(revision)s): "
                             "please acknowledge it again."), revision=order.revision)
    return order
