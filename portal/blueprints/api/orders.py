"""Purchase orders and goods receipts: the buyer's orders and the orders addressed to a supplier,
their receipts; the buyer records deliveries and orders an approved requisition from price
agreements; the supplier acknowledges an order or proposes another delivery date.

Reads load through the same queries as the pages (`queries.get_for_buyer` under `orders.view`,
`queries.get_for_supplier` under `orders.supplier_view`); writes call the services
(`receiving.record_receipt`, `actions.acknowledge` / `actions.propose_date`,
`direct.orders_from_agreements`). Lists walk ix_purchase_orders_org_updated (buyer) or
ix_purchase_orders_supplier_updated (supplier). Every operation is in the token scope "orders".
"""

from __future__ import annotations

from flask import url_for
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from portal.blueprints.api.core import (
    actor,
    blueprint,
    idempotent,
    load_or_404,
    requires,
    row_plan,
    sync_page,
)
from portal.blueprints.api.schemas import (
    Amount,
    DecimalString,
    ListArgs,
    Party,
    Problem,
    Strict,
    page_of,
)
from portal.blueprints.cache import cached_list
from portal.blueprints.problems import NOT_HERE, ApiProblem, refused
from portal.domain import receiving as receiving_rules
from portal.domain.receiving import ReceiptLineInput
from portal.errors import ValidationProblem
from portal.i18n import translate
from portal.models import Requisition
from portal.models.order import OrderStatus, PurchaseOrder
from portal.models.org import OrgKind
from portal.policies import enforce
from portal.services import clock
from portal.services.orders import actions, direct, queries, receiving

bp = blueprint("orders", "Purchase orders and goods receipts: the buyer's orders and receipts, "
                         "the supplier's acknowledgements and date proposals, orders from price "
                         "agreements")

ORDER_STATUSES = tuple(s.value for s in OrderStatus)
MAX_RECEIPT_LINES = 500

NOT_FOUND = {"schema": Problem, "description": "No such order, or another organisation's"}
FORBIDDEN = {"schema": Problem, "description": "The user's role or side may not do this"}
INVALID = {"schema": Problem, "description": "Invalid input: `errors` names each field"}
NO_KEY = {"schema": Problem, "description": "No Idempotency-Key header"}


# ---------------------------------------------------------------- schemas


class OrderListArgs(ListArgs):
    status = fields.String(load_default=None, validate=validate.OneOf(ORDER_STATUSES))
    supplier_id = fields.Integer(load_default=None,
                                 metadata={"description": "buyers: one supplier's orders"})
    buyer_id = fields.Integer(load_default=None,
                              metadata={"description": "suppliers: one customer's orders"})


class OrderSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    status = fields.String(metadata={"description": ", ".join(ORDER_STATUSES)})
    source = fields.String(metadata={"description": "rfq (awarded from a quote) or agreement"})
    buyer = fields.Nested(Party)
    supplier = fields.Nested(Party)
    rfq_id = fields.Integer(allow_none=True)
    quote_id = fields.Integer(allow_none=True)
    currency = fields.String()
    net_total = Amount(places=2)
    vat_total = Amount(places=2)
    gross_total = Amount(places=2)
    freight = Amount(places=2, metadata={"description": "net, included in net_total"})
    delivery_date = fields.Date(allow_none=True)
    revision = fields.Integer(metadata={"description": "0 as first issued; +1 per revision"})
    acknowledged_revision = fields.Integer(allow_none=True)
    issued_at = fields.AwareDateTime(allow_none=True)
    acknowledged_at = fields.AwareDateTime(allow_none=True)
    proposed_delivery_date = fields.Date(allow_none=True, metadata={
        "description": "the supplier's proposed date, until the buyer answers it"})
    cancelled_at = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class OrderLineSchema(Schema):
    id = fields.Integer()
    position = fields.Integer()
    description = fields.String()
    supplier_part_number = fields.String()
    item_id = fields.Integer(allow_none=True)
    requisition_line_id = fields.Integer(allow_none=True)
    rfq_line_id = fields.Integer(allow_none=True)
    quantity = Amount(places=3, metadata={"description": "ordered"})
    unit = fields.String()
    unit_price = Amount(places=4)
    vat_code = fields.String()
    vat_rate = Amount()
    net = Amount(places=2)
    vat = Amount(places=2)
    gross = Amount(places=2)
    delivery_date = fields.Date(allow_none=True)
    received_quantity = Amount(places=3, metadata={"description": "accepted so far (received − rejected)"})
    rejected_quantity = Amount(places=3, metadata={"description": "rejected so far"})
    open_quantity = Amount(places=3, metadata={"description": "still owed by the supplier"})


class OrderDetailSchema(OrderSchema):
    payment_terms = fields.Dict(metadata={
        "description": "the agreed terms: {kind: net|eom|discount|instalments, days, ...}"})
    delivery_address = fields.String()
    notes = fields.String()
    proposal_note = fields.String()
    cancel_reason = fields.String()
    lines = fields.List(fields.Nested(OrderLineSchema))


class ReceiptLineSchema(Schema):
    id = fields.Integer()
    order_line_id = fields.Integer()
    quantity = Amount(places=3, metadata={"description": "received (accepted + rejected)"})
    rejected_quantity = Amount(places=3)
    rejection_reason = fields.String(attribute="reject_reason")


class ReceiptSchema(Schema):
    id = fields.Integer()
    order_id = fields.Integer()
    received_on = fields.Date()
    note = fields.String()
    received_by = fields.String(allow_none=True, metadata={
        "description": "buyer's view only: who recorded it (e-mail)"})
    created_at = fields.AwareDateTime()
    lines = fields.List(fields.Nested(ReceiptLineSchema))


class ReceiptListSchema(Schema):
    data = fields.List(fields.Nested(ReceiptSchema), metadata={"description": "newest first"})


class ReceiptCreatedSchema(ReceiptSchema):
    order_status = fields.String(metadata={"description": "the order's status after the receipt"})


class ReceiptLineIn(Strict):
    order_line_id = fields.Integer(strict=True, required=True)
    quantity = DecimalString(places=3, required=True, minimum=None, metadata={
        "description": "received (including what was rejected), e.g. \"10\" or \"2.5\""})
    rejected_quantity = DecimalString(places=3, load_default=None, allow_none=True, minimum=None)
    rejection_reason = fields.String(load_default="", validate=validate.Length(
        max=receiving_rules.REASON_MAX), metadata={"description": "required when rejecting"})


class ReceiptIn(Strict):
    received_on = fields.Date(load_default=None, metadata={
        "description": "the delivery's day (default: today where the buyer is)"})
    note = fields.String(load_default="", validate=validate.Length(max=receiving_rules.NOTE_MAX))
    lines = fields.List(fields.Nested(ReceiptLineIn), required=True,
                        validate=validate.Length(min=1, max=MAX_RECEIPT_LINES))


class AcknowledgeIn(Strict):
    """`{}` acknowledges the current revision; with `proposed_delivery_date` (and a `note`) the
    supplier proposes another delivery date instead."""

    revision = fields.Integer(strict=True, load_default=None, metadata={
        "description": "the revision being acknowledged: refused (409) if the order changed since"})
    proposed_delivery_date = fields.Date(load_default=None, allow_none=True)
    note = fields.String(load_default="", validate=validate.Length(max=actions.MAX_REASON))


class RequisitionOrdersIn(Strict):
    credit_override_reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(
        max=actions.MAX_REASON), metadata={
        "description": "buyer admins: issue over a supplier's credit limit, with this reason"})


class RequisitionOrdersSchema(Schema):
    data = fields.List(fields.Nested(OrderDetailSchema), metadata={
        "description": "the orders issued, one per supplier"})


# ---------------------------------------------------------------- helpers


def _is_supplier(user) -> bool:
    return user.organization.kind == OrgKind.SUPPLIER


def _detail(order: PurchaseOrder) -> dict:
    """The order's fields with its terms and lines as the schema reads them."""
    lines = [{**{name: getattr(line, name) for name in OrderLineSchema._declared_fields
                 if name != "open_quantity"},
              "open_quantity": max(line.quantity - (line.received_quantity or 0), 0)}
             for line in order.lines]
    base = {name: getattr(order, name) for name in OrderDetailSchema._declared_fields
            if name not in ("payment_terms", "lines")}
    terms = order.payment_terms
    return {**base, "payment_terms": terms.to_json() if terms is not None else None, "lines": lines}


def _order_for(order_id: int) -> PurchaseOrder:
    """The caller's order: its own (buyer, `orders.view`) or addressed to it (supplier,
    `orders.supplier_view`); another's is a 404."""
    user = actor()
    if _is_supplier(user):
        enforce(user, "orders.supplier_view")
        order = queries.get_for_supplier(order_id, user)
        action = "orders.supplier_view"
    else:
        enforce(user, "orders.view")
        order = queries.get_for_buyer(order_id, user)
        action = "orders.view"
    if order is None:
        raise ApiProblem(404, NOT_HERE)
    enforce(user, action, order)
    return order


def _receipt(receipt, *, people: bool) -> dict:
    return {"id": receipt.id, "order_id": receipt.order_id, "received_on": receipt.received_on,
            "note": receipt.note or "", "created_at": receipt.created_at, "lines": receipt.lines,
            "received_by": receipt.received_by.email if people and receipt.received_by else None}


# ---------------------------------------------------------------- reads


@bp.route("/orders", methods=["GET"])
@requires("orders")
@cached_list
@bp.arguments(OrderListArgs, location="query")
@bp.response(200, page_of(OrderSchema))
@bp.alt_response(403, **FORBIDDEN)
@bp.alt_response(422, **INVALID)
def list_orders(args):
    """The buyer's purchase orders, or the orders addressed to the supplier, oldest change first."""
    user = actor()
    if _is_supplier(user):
        enforce(user, "orders.supplier_view")
        if args.get("supplier_id") is not None:
            raise ApiProblem(422, "A supplier filters its orders by buyer_id.",
                             errors=[{"field": "supplier_id", "message": "Buyers' filter."}])
        query = select(PurchaseOrder).where(PurchaseOrder.supplier_id == user.organization_id)
        if args.get("buyer_id") is not None:
            query = query.where(PurchaseOrder.organization_id == args["buyer_id"])
    else:
        enforce(user, "orders.view")
        if args.get("buyer_id") is not None:
            raise ApiProblem(422, "A buyer filters its orders by supplier_id.",
                             errors=[{"field": "buyer_id", "message": "Suppliers' filter."}])
        query = select(PurchaseOrder).where(PurchaseOrder.organization_id == user.organization_id)
        if args.get("supplier_id") is not None:
            query = query.where(PurchaseOrder.supplier_id == args["supplier_id"])
    if args.get("status") is not None:
        query = query.where(PurchaseOrder.status == args["status"])
    own = "supplier" if _is_supplier(user) else "buyer"  # every row's party on the caller's side
    return sync_page(query, PurchaseOrder, args, plan=row_plan(PurchaseOrder, OrderSchema, own=own))


@bp.route("/orders/<int:order_id>", methods=["GET"])
@requires("orders")
@bp.response(200, OrderDetailSchema)
@bp.alt_response(403, **FORBIDDEN)
@bp.alt_response(404, **NOT_FOUND)
def get_order(order_id: int):
    """One order with its lines (ordered, accepted and rejected so far, still open), terms,
    totals, delivery and revision."""
    return _detail(_order_for(order_id))


@bp.route("/orders/<int:order_id>/receipts", methods=["GET"])
@requires("orders")
@bp.response(200, ReceiptListSchema)
@bp.alt_response(403, **FORBIDDEN)
@bp.alt_response(404, **NOT_FOUND)
def list_receipts(order_id: int):
    """The order's goods receipts, newest first (the supplier reads them without the buyer's
    people)."""
    order = _order_for(order_id)
    people = not _is_supplier(actor())
    return {"data": [_receipt(r, people=people) for r in receiving.receipts_of(order, people=people)]}


# ---------------------------------------------------------------- the buyer's writes

_RECEIPT_FIELDS = {"quantity": "quantity", "rejected_quantity": "rejected_quantity",
                   "reject_reason": "rejection_reason"}


@bp.route("/orders/<int:order_id>/receipts", methods=["POST"])
@requires("orders", write=True)
@idempotent
@bp.arguments(ReceiptIn)
@bp.response(201, ReceiptCreatedSchema, description="The receipt recorded")
@bp.alt_response(403, **FORBIDDEN)
@bp.alt_response(404, **NOT_FOUND)
@bp.alt_response(409, schema=Problem, description="The order receives nothing in its state "
                                                   "(received in full, closed, cancelled)")
@bp.alt_response(422, schema=Problem, description="Invalid input, or more accepted than is "
                                                   "still open on a line (over-receipt)")
@bp.alt_response(428, **NO_KEY)
def add_receipt(data, order_id: int):
    """Record a delivery on the buyer's order: per order line the quantity received, the part
    rejected and why. Never more accepted than is still open."""
    user = actor()
    enforce(user, "orders.receive")
    order = queries.get_for_buyer(order_id, user)
    if order is None:
        raise ApiProblem(404, NOT_HERE)
    enforce(user, "orders.view", order)
    line_ids = {line.id for line in order.lines}
    positions: dict[int, int] = {}
    errors = []
    for index, line in enumerate(data["lines"]):
        line_id = line["order_line_id"]
        if line_id not in line_ids:
            errors.append({"field": f"lines.{index}.order_line_id", "message": "Not a line of this order."})
        elif line_id in positions:
            errors.append({"field": f"lines.{index}.order_line_id", "message": "This line is given twice."})
        positions.setdefault(line_id, index)
    if errors:
        raise ApiProblem(422, "The receipt's lines do not match the order.", errors=errors)
    entries = {line["order_line_id"]: ReceiptLineInput(
        line["quantity"], line["rejected_quantity"], line["rejection_reason"] or "")
        for line in data["lines"]}
    received_on = data["received_on"] or clock.today_for(order.buyer)
    try:
        receipt = receiving.record_receipt(order, user, received_on=received_on, note=data["note"],
                                           lines=entries)
    except receiving.ReceiptProblem as exc:
        found = []
        for problem in exc.problems:
            if problem.line_id is not None and problem.line_id in positions:
                field = f"lines.{positions[problem.line_id]}.{_RECEIPT_FIELDS.get(problem.field, problem.field)}"
            else:
                field = problem.field or "lines"
            found.append({"field": field, "message": translate(problem.msg)})
        raise ApiProblem(422, found[0]["message"], errors=found) from exc
    answer = {**_receipt(receipt, people=True), "order_status": order.status}
    return answer, 201, {"Location": url_for("api_orders.list_receipts", order_id=order.id)}


@bp.route("/requisitions/<int:requisition_id>/orders", methods=["POST"])
@requires("orders", write=True)
@idempotent
@bp.arguments(RequisitionOrdersIn)
@bp.response(201, RequisitionOrdersSchema, description="The orders issued, one per supplier")
@bp.alt_response(403, **FORBIDDEN)
@bp.alt_response(404, schema=Problem, description="No such requisition, or another organisation's")
@bp.alt_response(409, schema=Problem, description="The requisition is not approved, a budget "
                                                   "cannot cover it, or a supplier's credit limit "
                                                   "would be exceeded")
@bp.alt_response(422, schema=Problem, description="Invalid input, or a line has no valid price "
                                                   "agreement")
@bp.alt_response(428, **NO_KEY)
def orders_from_agreements(data, requisition_id: int):
    """Issue purchase orders for an approved requisition whose every line has a valid price
    agreement: one per supplier, at the agreed prices, without an RFQ."""
    user = actor()
    enforce(user, "orders.from_agreements")
    req = load_or_404(Requisition, requisition_id)
    enforce(user, "requisitions.view", req)
    made = direct.orders_from_agreements(req, user,
                                         credit_override_reason=data["credit_override_reason"])
    return {"data": [_detail(order) for order in made]}, 201


# ---------------------------------------------------------------- the supplier's write


@bp.route("/orders/<int:order_id>/acknowledge", methods=["POST"])
@requires("orders", write=True)
@idempotent
@bp.arguments(AcknowledgeIn)
@bp.response(200, OrderDetailSchema, description="The order after the answer")
@bp.alt_response(403, **FORBIDDEN)
@bp.alt_response(404, **NOT_FOUND)
@bp.alt_response(409, schema=Problem, description="The order is not waiting for this answer, "
                                                   "was revised since `revision`, or the buyer "
                                                   "paused the supplier")
@bp.alt_response(422, **INVALID)
@bp.alt_response(428, **NO_KEY)
def acknowledge(data, order_id: int):
    """The supplier acknowledges the order's current revision (`{}`), or proposes another
    delivery date (`{"proposed_delivery_date": "2027-01-15", "note": "..."}`) for the buyer to
    accept or refuse."""
    user = actor()
    proposing = data["proposed_delivery_date"] is not None
    enforce(user, "orders.propose_date" if proposing else "orders.acknowledge")
    if not proposing and data["note"]:
        raise ApiProblem(422, "A note goes with a proposed delivery date.",
                         errors=[{"field": "note", "message": "Only with proposed_delivery_date."}])
    order = queries.get_for_supplier(order_id, user)
    if order is None:
        raise ApiProblem(404, NOT_HERE)
    enforce(user, "orders.supplier_view", order)
    if data["revision"] is not None and data["revision"] != order.revision:
        raise ApiProblem(409, f"The order is at revision {order.revision} now: read it again "
                              "before answering.", kind="invalid-transition")
    if proposing:
        try:
            actions.propose_date(order, user, delivery_date=data["proposed_delivery_date"],
                                 note=data["note"])
        except ValidationProblem as exc:
            field = getattr(exc, "field", None)
            raise refused(exc, "proposed_delivery_date" if field == "delivery_date" else field) from exc
    else:
        actions.acknowledge(order, user)
    return _detail(order)
