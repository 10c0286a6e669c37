"""Issuing a purchase order: number, terms and currency from the supplier link, lines with VAT
by code, totals, the budget (the source requisitions' reservations become the order's
commitment), the requisitions' move to `ordered`, the stored PDF, the supplier told.

Budget basis: requisitions reserve their **net** total at final approval
(`reserve_for_requisition`), so an order commits its net (lines and freight) the same way.
Per source requisition, the order takes over the reservation of the lines it carries (all
that is left when it orders the requisition's last lines) and commits its own net for them: the
difference is reserved (more) or released (less) to the cent. An increase the budget cannot
cover is refused under the block policy (BudgetExceeded, nothing written) and recorded as an
overrun under warn and escalate (audit `budget.overrun`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select

from portal.domain import orders as rules
from portal.domain.budget import OverrunPolicy, shortfall_message
from portal.domain.messages import N_, Link, Msg
from portal.domain.requisition import Action as ReqAction
from portal.domain.requisition import RequisitionStatus
from portal.errors import BudgetExceeded, InvalidTransition, ValidationProblem
from portal.extensions import db
from portal.models import Budget, Requisition, RequisitionLine
from portal.models.order import (
    OrderSource,
    OrderStatus,
    PurchaseOrder,
    PurchaseOrderLine,
)
from portal.models.org import SupplierLink
from portal.money import Money, round_money
from portal.policies import enforce
from portal.services import audit, clock, requisitions
from portal.services.budgets.posting import adjust_commitment, commitments_of, take_over_reservation
from portal.services.budgets.reading import budget_and_reservation
from portal.services.notifications import notify_organization
from portal.services.numbering import next_sequence
from portal.services.orders import credit

ORDER = "PurchaseOrder"  # the ledger's source type of an order's commitment
ZERO = Decimal("0.00")


@dataclass
class OrderLineInput:
    """One line of an order to issue (prices net, per unit)."""

    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    vat_code: str
    item_id: int | None = None
    requisition_line_id: int | None = None
    rfq_line_id: int | None = None
    supplier_part_number: str = ""
    delivery_date: date | None = None


def _problem(msg: Msg, field: str | None = None) -> ValidationProblem:
    exc = ValidationProblem(msg)
    exc.field = field
    return exc


def check_lines(lines: list[OrderLineInput]) -> None:
    """ValidationProblem unless there are 1..MAX_LINES lines, each with a description, a positive
    quantity and price, and a known VAT code."""
    if not lines:
        raise _problem(Msg(N_("An order needs at least one line.")))
    if len(lines) > rules.MAX_LINES:
        raise _problem(Msg(N_("An order holds at most %(num)d lines."), {"num": rules.MAX_LINES}))
    for line in lines:
        problem = rules.line_problem(line.quantity, line.unit_price, line.description, line.vat_code)
        if problem is not None:
            raise _problem(problem)


def fill_line(line: PurchaseOrderLine, data: OrderLineInput, currency: str) -> PurchaseOrderLine:
    """Set a line's fields and amounts (net rounded half-up, VAT of the line at its code)."""
    amounts = rules.line_amounts(data.quantity, data.unit_price, data.vat_code, currency)
    line.description = data.description.strip()[:300]
    line.quantity, line.unit, line.unit_price = data.quantity, (data.unit or "pcs")[:20], data.unit_price
    line.vat_code, line.vat_rate = str(data.vat_code), amounts.rate
    line.net, line.vat, line.gross = amounts.net, amounts.vat, amounts.gross
    line.item_id, line.requisition_line_id, line.rfq_line_id = (
        data.item_id, data.requisition_line_id, data.rfq_line_id)
    line.supplier_part_number = (data.supplier_part_number or "")[:60]
    line.delivery_date = data.delivery_date
    return line


def set_totals(order: PurchaseOrder) -> None:
    """The order's totals by VAT code (freight at 23 %) from its rounded lines."""
    totals = rules.order_totals(((ln.vat_code, ln.net) for ln in order.lines),
                                freight=order.freight or ZERO, currency=order.currency)
    order.net_total, order.vat_total, order.gross_total = totals.net, totals.vat, totals.gross


def vat_summary(order: PurchaseOrder):
    """The per-code rows and totals of an order (for its page and PDF)."""
    return rules.order_totals(((ln.vat_code, ln.net) for ln in order.lines),
                              freight=order.freight or ZERO, currency=order.currency)


# ---------------------------------------------------------------- budget


@dataclass
class Share:
    """What one source requisition's lines on an order mean for its budget."""

    requisition: Requisition
    budget: Budget | None
    open_reservation: Decimal
    release: Decimal  # the part of the reservation the order takes over
    amount: Decimal  # the order's net for those lines (+ the freight on the first share)
    line_ids: list[int] = field(default_factory=list)

    @property
    def difference(self) -> Decimal:
        return self.amount - self.release


def _requisition_lines(ids) -> dict[int, RequisitionLine]:
    ids = [i for i in ids if i is not None]
    if not ids:
        return {}
    found = {ln.id: ln for ln in db.session.scalars(select(RequisitionLine).where(RequisitionLine.id.in_(ids)))}
    missing = set(ids) - set(found)
    if missing:
        raise _problem(Msg(N_("A requisition line of this order was not found.")))
    return found


def ordered_line_ids(requisition_ids, *, excluding_order: int | None = None) -> set[int]:
    """Requisition line ids already on an order that is not cancelled."""
    query = (select(PurchaseOrderLine.requisition_line_id)
             .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.order_id)
             .join(RequisitionLine, RequisitionLine.id == PurchaseOrderLine.requisition_line_id)
             .where(RequisitionLine.requisition_id.in_(list(requisition_ids)),
                    PurchaseOrder.status != OrderStatus.CANCELLED))
    if excluding_order is not None:
        query = query.where(PurchaseOrder.id != excluding_order)
    return set(db.session.scalars(query))


def _shares(lines: list[OrderLineInput], nets: list[Decimal], freight: Decimal,
            currency: str) -> list[Share]:
    """Per source requisition (in the order of first appearance): budget, reservation, release."""
    req_lines = _requisition_lines([ln.requisition_line_id for ln in lines])
    if not req_lines:
        return []
    if len(req_lines) != len([ln for ln in lines if ln.requisition_line_id is not None]):
        raise _problem(Msg(N_("A requisition line appears twice on this order.")))
    shares: dict[int, Share] = {}
    for data, net in zip(lines, nets, strict=True):
        if data.requisition_line_id is None:
            continue
        req_line = req_lines[data.requisition_line_id]
        req = req_line.requisition
        share = shares.get(req.id)
        if share is None:
            if req.status not in (RequisitionStatus.APPROVED, RequisitionStatus.SOURCING):
                raise InvalidTransition(Msg(N_("Requisition %(number)s is not approved: it cannot be ordered."),
                                            {"number": req.number}))
            budget, held = budget_and_reservation(req)
            share = shares[req.id] = Share(req, budget, held, ZERO, ZERO)
        share.line_ids.append(req_line.id)
        share.amount += net
    already = ordered_line_ids(shares)
    taken = already & set(req_lines)
    if taken:
        raise _problem(Msg(N_("Some requisition lines are already on another order.")))
    for share in shares.values():
        req = share.requisition
        if share.budget is not None and share.budget.currency != currency:
            raise BudgetExceeded(Msg(
                N_("The budget of %(cc)s is in %(budget)s; this order is in %(order)s."),
                {"cc": req.cost_center.code, "budget": share.budget.currency, "order": currency}))
        remaining = {ln.id for ln in req.lines} - already - set(share.line_ids)
        estimate = sum((ln.net for ln in req.lines if ln.id in share.line_ids), ZERO)
        held = max(share.open_reservation, ZERO)
        # The requisition's last lines take over what is left of its reservation, to the cent.
        share.release = held if not remaining else min(held, estimate)
    first = next(iter(shares.values()))
    first.amount += freight
    return list(shares.values())


def _refuse_what_does_not_fit(shares: list[Share]) -> None:
    """BudgetExceeded before anything is written, when a block budget cannot cover an increase
    (several requisitions on one budget add up)."""
    left: dict[int, Decimal] = {}
    for share in shares:
        budget = share.budget
        if budget is None or share.difference <= 0:
            if budget is not None:
                left[budget.id] = left.get(budget.id, budget.amount - budget.consumed) - share.difference
            continue
        available = left.get(budget.id, budget.amount - budget.consumed)
        if budget.overrun_policy == OverrunPolicy.BLOCK and available < share.difference:
            raise BudgetExceeded(shortfall_message(available, share.difference, budget.currency))
        left[budget.id] = available - share.difference


def _post_shares(order: PurchaseOrder, shares: list[Share], actor) -> None:
    for share in shares:
        if share.budget is None:
            continue
        req = share.requisition
        budget = share.budget
        available = budget.amount - budget.consumed
        overrun = take_over_reservation(
            budget, from_source=("Requisition", req.id), release=share.release, source_type=ORDER,
            source_id=order.id, source_label=order.number, amount=share.amount, actor=actor,
            refuse_overrun=budget.overrun_policy == OverrunPolicy.BLOCK, release_label=req.number)
        if overrun is not None:
            audit.record(actor=actor, action="budget.overrun", obj=req,
                         summary={"budget": budget.name, "order": order.number,
                                  "available": Money(available, budget.currency),
                                  "amount": Money(share.difference, budget.currency)})
        order.committed += share.amount
        if order.budget_id is None:
            order.budget_id = budget.id


def adjust_budget(order: PurchaseOrder, actor) -> None:
    """After a revision: commit the difference between what the order's lines now come to and
    what it holds committed, budget by budget (the increase under the overrun policy)."""
    held = commitments_of(ORDER, order.id)
    wanted: dict[int, tuple[Budget, Requisition, Decimal]] = {}
    first = True
    for line in order.lines:
        if line.requisition_line is None:
            continue
        req = line.requisition_line.requisition
        budget, _held = budget_and_reservation(req)
        if budget is None:
            continue
        _b, _r, amount = wanted.get(budget.id, (budget, req, ZERO))
        if first:
            amount += order.freight or ZERO
            first = False
        wanted[budget.id] = (budget, req, amount + line.net)
    deltas = [(budget, req, amount - held.get(budget.id, ZERO)) for budget, req, amount in wanted.values()]
    for budget, _req, delta in deltas:  # refuse before writing anything
        available = budget.amount - budget.consumed
        if delta > 0 and budget.overrun_policy == OverrunPolicy.BLOCK and available < delta:
            raise BudgetExceeded(shortfall_message(available, delta, budget.currency))
    for budget, req, delta in deltas:
        if delta == 0:
            continue
        available = budget.amount - budget.consumed
        overrun = adjust_commitment(budget, delta, source_type=ORDER, source_id=order.id,
                                    source_label=order.number, actor=actor,
                                    refuse_overrun=budget.overrun_policy == OverrunPolicy.BLOCK)
        if overrun is not None:
            audit.record(actor=actor, action="budget.overrun", obj=req,
                         summary={"budget": budget.name, "order": order.number,
                                  "available": Money(available, budget.currency),
                                  "amount": Money(delta, budget.currency)})
        order.committed += delta


# ---------------------------------------------------------------- requisitions


def _move_requisitions(shares: list[Share], actor, order: PurchaseOrder) -> None:
    """Requisitions whose every line is now on an order move to ORDERED (once each)."""
    if not shares:
        return
    db.session.flush()
    ordered = ordered_line_ids([s.requisition.id for s in shares])
    for share in shares:
        req = share.requisition
        if {ln.id for ln in req.lines} <= ordered and req.status != RequisitionStatus.ORDERED:
            requisitions.move(req, ReqAction.ORDER)
            audit.record(actor=actor, action="requisition.ordered", obj=req,
                         summary={"order": order.number})


# ---------------------------------------------------------------- issue


def store_pdf(order: PurchaseOrder, actor, *, changes: str = ""):
    """Render and store the PDF of the order's current revision (E's documents service)."""
    from portal.services.orders.documents import store_document

    return store_document(order, actor, changes=changes)


def issue_order(actor, *, link: SupplierLink, source: OrderSource | str, lines: list[OrderLineInput],
                rfq=None, quote=None, currency: str | None = None, delivery_date: date | None = None,
                delivery_address: str = "", notes: str = "", freight: Decimal = Decimal(0),
                now: datetime | None = None, credit_override_reason: str | None = None) -> PurchaseOrder:
    """Issue a purchase order to the supplier of `link` and return it.

    Number `PO/<year>/<seq>` (gap-free, in this transaction); payment terms and currency from
    the link (`currency` overrides it: an order at agreed prices is in the agreement's
    currency); VAT per line by code; totals by code. Lines linked to requisition lines convert
    those requisitions' reservations into the order's commitment (see the module docstring);
    requisitions whose every line is ordered move to ORDERED. Stores the PDF, tells the
    supplier, records `order.issued`.

    An order that takes the buyer over the link's credit limit (unpaid invoices and open
    orders with the supplier, `portal.services.invoicing.credit`) needs a buyer admin's
    `credit_override_reason`: the order keeps it and audits `order.credit_override`.

    Raises PermissionDenied (role), InvalidTransition (an inactive link, a requisition not
    approved), ValidationProblem (bad lines, lines already ordered), BudgetExceeded (a block
    budget that cannot cover the increase, or another currency), CreditLimitExceeded (over the
    credit limit without an admin's reason): nothing is written then.
    """
    enforce(actor, "orders.issue")
    if str(link.status) != "active":
        raise InvalidTransition(Msg(N_("%(supplier)s is not an active supplier: no order can be sent to it."),
                                    {"supplier": link.supplier.name}))
    lines = list(lines)
    check_lines(lines)
    currency = currency or link.currency
    freight = round_money(Decimal(freight or 0), currency)
    if freight < 0:
        raise _problem(Msg(N_("Freight cannot be negative.")), "freight")
    now = now or clock.now()
    nets = [rules.line_amounts(ln.quantity, ln.unit_price, ln.vat_code, currency).net for ln in lines]
    shares = _shares(lines, nets, freight, currency)
    _refuse_what_does_not_fit(shares)
    gross = rules.order_totals(((ln.vat_code, net) for ln, net in zip(lines, nets, strict=True)),
                               freight=freight, currency=currency).gross
    override = credit.check_credit(link, gross, actor=actor, override_reason=credit_override_reason,
                                   currency=currency)

    seq = next_sequence(actor.organization_id, rules.NUMBER_KIND, now.year)
    order = PurchaseOrder(
        organization_id=actor.organization_id, supplier_id=link.supplier_id, link_id=link.id,
        number=rules.format_number(now.year, seq), source=OrderSource(source),
        rfq_id=getattr(rfq, "id", None), quote_id=getattr(quote, "id", None),
        status=OrderStatus.ISSUED, currency=currency, payment_terms=link.payment_terms,
        delivery_address=(delivery_address or "").strip(), delivery_date=delivery_date,
        notes=(notes or "").strip(), freight=freight, revision=0, committed=ZERO,
        issued_at=now, issued_by_id=actor.id,
    )
    for position, data in enumerate(lines, start=1):
        order.lines.append(fill_line(PurchaseOrderLine(position=position), data, currency))
    set_totals(order)
    db.session.add(order)
    db.session.flush()
    _post_shares(order, shares, actor)
    _move_requisitions(shares, actor, order)
    audit.record(actor=actor, action="order.issued", obj=order,
                 summary={"number": order.number, "supplier": link.supplier.name,
                          "net": Money(order.net_total, currency), "gross": Money(order.gross_total, currency)})
    credit.record_override(order, override, actor)
    db.session.flush()
    store_pdf(order, actor)
    notify_organization(order.supplier_id, N_("%(buyer)s sent you purchase order %(number)s."),
                        link=Link("supplier.order", {"order_id": order.id}),
                        buyer=actor.organization.name, number=order.number)
    db.session.flush()
    return order


def requisitions_of(order: PurchaseOrder) -> list[Requisition]:
    """The requisitions an order's lines come from (by number)."""
    ids = (select(RequisitionLine.requisition_id)
           .join(PurchaseOrderLine, PurchaseOrderLine.requisition_line_id == RequisitionLine.id)
           .where(PurchaseOrderLine.order_id == order.id))
    return list(db.session.scalars(select(Requisition).where(Requisition.id.in_(ids)).order_by(Requisition.number)))


def orders_of_requisition(req: Requisition) -> list[PurchaseOrder]:
    """The orders carrying any line of `req` (newest first)."""
    ids = (select(PurchaseOrderLine.order_id)
           .join(RequisitionLine, RequisitionLine.id == PurchaseOrderLine.requisition_line_id)
           .where(RequisitionLine.requisition_id == req.id))
    return list(db.session.scalars(select(PurchaseOrder).where(PurchaseOrder.id.in_(ids))
                                   .order_by(PurchaseOrder.id.desc())))
