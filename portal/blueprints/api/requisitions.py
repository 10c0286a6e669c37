"""Requisitions: `GET /requisitions`, `GET /requisitions/{id}`, `POST /requisitions`.

The same rules as the requisition pages: the requester, and the company's approvers and admins
read a requisition ("requisitions.view"); a buyer without "requisitions.view_all" lists only its
own (the page's "My requisitions"); suppliers read none (403). A POST makes a draft through the
requisition service, line by line as the line editor does (a catalog line takes the agreed price
and supplier, else the item's list price), and `submit: true` sends it for approval through the
same submit as the page's button, all in one transaction.
"""

from __future__ import annotations

from contextlib import contextmanager
from decimal import Decimal

from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from portal.blueprints.api.catalog import item_by_sku
from portal.blueprints.api.core import actor, blueprint, idempotent, requires, row_plan, sync_page
from portal.blueprints.api.schemas import (
    Amount,
    DecimalString,
    ListArgs,
    Problem,
    Strict,
    StrictBoolean,
    page_of,
)
from portal.blueprints.cache import cached_list
from portal.blueprints.problems import API_PREFIX, NOT_HERE, ApiProblem, refused
from portal.blueprints.requisitions.context import catalog_defaults
from portal.blueprints.requisitions.queries import active_suppliers
from portal.domain.catalog import UNIT_CODES
from portal.domain.requisition import RequisitionStatus
from portal.domain.vat import TAXED_RATES
from portal.errors import ValidationProblem
from portal.extensions import db
from portal.models import Category, CostCenter, Item, Requisition, RequisitionLine
from portal.policies import can, enforce
from portal.services import approvals, budgets
from portal.services import requisitions as service

bp = blueprint("requisitions", "Requisitions: list, read, create (and submit) drafts")

STATUSES = [s.value for s in RequisitionStatus]
VAT_RATES = [format(rate, "f") for rate in TAXED_RATES]


# ---------------------------------------------------------------- schemas


class RequisitionListArgs(ListArgs):
    status = fields.String(validate=validate.OneOf(STATUSES))
    cost_center_id = fields.Integer(validate=validate.Range(min=1))
    requester_id = fields.Integer(validate=validate.Range(min=1), metadata={
        "description": "only this requester's (a buyer without the right to see all of the "
                       "company's requisitions always sees only its own)"})


class RequisitionCostCenterSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()


class RequisitionCategorySchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()


class RequisitionPersonSchema(Schema):
    id = fields.Integer()
    name = fields.String(attribute="full_name")
    email = fields.String()


class RequisitionSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    title = fields.String()
    status = fields.String()
    currency = fields.String()
    net_total = Amount()
    vat_total = Amount()
    gross_total = Amount()
    cost_center_id = fields.Integer()
    category_id = fields.Integer(allow_none=True)
    requester_id = fields.Integer()
    needed_by = fields.Date(allow_none=True)
    approval_round = fields.Integer()
    submitted_at = fields.AwareDateTime(allow_none=True)
    decided_at = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class RequisitionLineSchema(Schema):
    id = fields.Integer()
    position = fields.Integer()
    item_id = fields.Integer(allow_none=True)
    sku = fields.Function(lambda line: line.item.sku if line.item is not None else None,
                          allow_none=True)
    description = fields.String()
    quantity = Amount()
    unit = fields.String()
    unit_price = Amount()
    vat_rate = Amount()
    net = Amount()
    vat = Amount()
    gross = Amount()
    suggested_supplier_id = fields.Integer(allow_none=True)


class RequisitionDecisionSchema(Schema):
    approver = fields.Nested(RequisitionPersonSchema, attribute="user")
    decision = fields.String(allow_none=True, metadata={"description": "approve, reject, return or null (waiting)"})
    decided_by = fields.Nested(RequisitionPersonSchema, allow_none=True, metadata={
        "description": "who decided (a delegate or an admin on the approver's behalf)"})
    decided_at = fields.AwareDateTime(allow_none=True)
    comment = fields.String()


class RequisitionStepSchema(Schema):
    position = fields.Integer()
    name = fields.String()
    kind = fields.String(metadata={"description": "step (of the approval policy) or budget (an overrun)"})
    status = fields.String()
    quorum = fields.String()
    required = fields.Integer()
    activated_at = fields.AwareDateTime(allow_none=True)
    decided_at = fields.AwareDateTime(allow_none=True)
    decisions = fields.List(fields.Nested(RequisitionDecisionSchema), attribute="assignments")


class RequisitionApprovalSchema(Schema):
    round = fields.Integer(metadata={"description": "0 until the first submission"})
    steps = fields.List(fields.Nested(RequisitionStepSchema),
                        metadata={"description": "the current round's steps, in order"})


class RequisitionBudgetSchema(Schema):
    budget_id = fields.Integer()
    name = fields.String()
    currency = fields.String()
    amount = Amount()
    available = Amount()
    held = Amount(metadata={"description": "what this requisition holds reserved"})


class RequisitionDetailSchema(RequisitionSchema):
    justification = fields.String()
    requester = fields.Nested(RequisitionPersonSchema)
    cost_center = fields.Nested(RequisitionCostCenterSchema)
    category = fields.Nested(RequisitionCategorySchema, allow_none=True)
    lines = fields.List(fields.Nested(RequisitionLineSchema))
    approval = fields.Nested(RequisitionApprovalSchema)
    budget = fields.Nested(RequisitionBudgetSchema, allow_none=True, metadata={
        "description": "the open budget of the cost centre the requisition draws on, or null"})



class RequisitionLineIn(Strict):
    item_id = fields.Integer(strict=True, validate=validate.Range(min=1), metadata={
        "description": "a catalog item (or name it by `sku`): description, unit, VAT and the "
                       "agreed (else list) price default to the item's"})
    sku = fields.String(validate=validate.Length(min=1, max=40))
    description = fields.String(validate=validate.Length(min=1, max=300))
    quantity = DecimalString(places=3, required=True, validate=validate.Range(
        min=Decimal(0), min_inclusive=False, error="Must be greater than 0."))
    unit = fields.String(validate=validate.OneOf(sorted(UNIT_CODES)))
    unit_price = DecimalString(places=4, minimum=Decimal(0), maximum=Decimal("99999999999999"))
    vat_rate = fields.String(validate=validate.OneOf(VAT_RATES), metadata={
        "description": "percent: 23, 8, 5 or 0 (default: the item's, else 23)"})
    suggested_supplier_id = fields.Integer(strict=True, validate=validate.Range(min=1), metadata={
        "description": "the organisation id of an actively linked supplier"})

    @validates_schema
    def _item_or_text(self, data, **kwargs):
        if "item_id" in data and "sku" in data:
            raise ValidationError("Name the item by item_id or by sku, not both.", "sku")
        if "item_id" not in data and "sku" not in data:
            missing = {name: ["Required for a line without a catalog item."]
                       for name in ("description", "unit_price") if name not in data}
            if missing:
                raise ValidationError(missing)


class RequisitionIn(Strict):
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    cost_center_id = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    category_id = fields.Integer(strict=True, validate=validate.Range(min=1))
    needed_by = fields.Date()
    currency = fields.String(validate=validate.Length(equal=3), metadata={
        "description": "ISO 4217 (default: the organisation's)"})
    justification = fields.String(validate=validate.Length(max=service.MAX_JUSTIFICATION))
    notes = fields.String(validate=validate.Length(max=service.MAX_JUSTIFICATION),
                          metadata={"description": "the same as justification"})
    lines = fields.List(fields.Nested(RequisitionLineIn), required=True,
                        validate=validate.Length(min=1, max=service.MAX_LINES))
    submit = StrictBoolean(load_default=False, metadata={
        "description": "submit the draft for approval at once (status pending, or approved "
                       "when no approval rule applies)"})

    @validates_schema
    def _one_justification(self, data, **kwargs):
        if "justification" in data and "notes" in data:
            raise ValidationError("Send justification or notes, not both.", "notes")


RequisitionPage = page_of(RequisitionSchema)


# ---------------------------------------------------------------- reading


def _not_found() -> ApiProblem:
    return ApiProblem(404, NOT_HERE)


def _load(requisition_id: int) -> Requisition:
    found = db.session.scalars(
        select(Requisition).where(Requisition.id == requisition_id).options(
            joinedload(Requisition.requester), joinedload(Requisition.cost_center),
            joinedload(Requisition.category),
            selectinload(Requisition.lines).joinedload(RequisitionLine.item),
        )
    ).first()
    if found is None:
        raise _not_found()
    return found


def _detail(req: Requisition) -> dict:
    """The detail answer: the requisition's fields, its lines, the current round's steps and
    the budget it draws on (the detail page's facts)."""
    steps = approvals.tasks_of(req, req.approval_round) if req.approval_round else []
    budget, held = budgets.budget_and_reservation(req)
    found = {name: getattr(req, name) for name in RequisitionDetailSchema._declared_fields
             if name not in ("approval", "budget")}
    found["approval"] = {"round": req.approval_round, "steps": steps}
    found["budget"] = None if budget is None else {
        "budget_id": budget.id, "name": budget.name, "currency": budget.currency,
        "amount": budget.amount, "available": budgets.balances_of(budget).available, "held": held,
    }
    return found


@bp.route("/requisitions", methods=["GET"])
@requires("requisitions")
@cached_list
@bp.arguments(RequisitionListArgs, location="query")
@bp.response(200, RequisitionPage)
@bp.alt_response(403, schema=Problem, description="Not a buyer, approver or admin of a buying company")
@bp.alt_response(422, schema=Problem, description="A filter or the cursor is not valid")
def list_requisitions(args):
    """The company's requisitions (a buyer's own only), oldest change first."""
    user = actor()
    enforce(user, "requisitions.view")
    query = select(Requisition)
    if not can(user, "requisitions.view_all"):
        query = query.where(Requisition.requester_id == user.id)
    if args.get("requester_id") is not None:
        query = query.where(Requisition.requester_id == args["requester_id"])
    if args.get("status"):
        query = query.where(Requisition.status == RequisitionStatus(args["status"]))
    if args.get("cost_center_id") is not None:
        query = query.where(Requisition.cost_center_id == args["cost_center_id"])
    return sync_page(query, Requisition, args, plan=row_plan(Requisition, RequisitionSchema))


@bp.route("/requisitions/<int:requisition_id>", methods=["GET"])
@requires("requisitions")
@bp.response(200, RequisitionDetailSchema)
@bp.alt_response(403, schema=Problem, description="Neither the requester nor an approver or admin")
@bp.alt_response(404, schema=Problem, description="No such requisition in the organisation")
def get_requisition(requisition_id: int):
    """One requisition with its lines, approval steps and budget."""
    user = actor()
    enforce(user, "requisitions.view")  # the side and role first: a supplier is refused (403)
    req = _load(requisition_id)
    enforce(user, "requisitions.view", req)  # a buyer's colleague's: 403
    return _detail(req)


# ---------------------------------------------------------------- creating


def _reference(model, object_id: int | None, field: str, message: str):
    if object_id is None:
        return None
    found = db.session.scalars(select(model).where(model.id == object_id)).first()
    if found is None:
        raise ApiProblem(422, message, errors=[{"field": field, "message": message}])
    return found


def _item(line: dict, field: str) -> Item | None:
    if "item_id" in line:
        return _reference(Item, line["item_id"], f"{field}.item_id", "No such catalog item.")
    if "sku" not in line:
        return None
    sku = line["sku"].strip()
    found = item_by_sku(sku)
    if found is None:
        raise ApiProblem(422, f"No catalog item has the SKU {sku}.",
                         errors=[{"field": f"{field}.sku", "message": "No such SKU."}])
    return found


def _line_values(req: Requisition, line: dict, field: str, suppliers) -> dict:
    """`add_line`'s arguments: what the line says, over the catalog item's defaults."""
    item = _item(line, field)
    quantity = line["quantity"]
    values = {"item": None, "description": "", "quantity": quantity, "unit": "pcs",
              "unit_price": None, "vat_rate": Decimal(23), "suggested_supplier_id": None}
    if item is not None:
        price, supplier_id = catalog_defaults(req, item, suppliers, quantity)
        values.update(item=item, description=item.name, unit=item.unit, unit_price=price,
                      vat_rate=item.default_vat_rate, suggested_supplier_id=supplier_id)
    for name in ("description", "unit", "unit_price"):
        if name in line:
            values[name] = line[name]
    if "vat_rate" in line:
        values["vat_rate"] = Decimal(line["vat_rate"])
    if "suggested_supplier_id" in line:
        if line["suggested_supplier_id"] not in {s.id for s in suppliers}:
            message = "Not one of your actively linked suppliers."
            raise ApiProblem(422, message, errors=[
                {"field": f"{field}.suggested_supplier_id", "message": message}])
        values["suggested_supplier_id"] = line["suggested_supplier_id"]
    return values


# The header's refusals by the service (its message ids), and the field each is about.
HEADER_FIELDS = {
    "Enter a title.": "title",
    "The title may be at most 200 characters.": "title",
    "The justification may be at most %(n)s characters.": "justification",
    "Choose a cost centre.": "cost_center_id",
    "This cost centre is no longer active.": "cost_center_id",
    "The needed-by date cannot be in the past.": "needed_by",
    "Choose a currency from the list.": "currency",
}


def _header_field(msg) -> str | None:
    return HEADER_FIELDS.get(msg.text)


@contextmanager
def _field_of_refusal(field_of):
    """A service's ValidationProblem as a problem naming the field it is about."""
    try:
        yield
    except ValidationProblem as exc:
        raise refused(exc, getattr(exc, "field", None) or field_of(exc.msg)) from exc


@bp.route("/requisitions", methods=["POST"])
@requires("requisitions", write=True)
@idempotent
@bp.arguments(RequisitionIn)
@bp.response(201, RequisitionDetailSchema, headers={"Location": {
    "description": "the requisition's address", "schema": {"type": "string"}}})
@bp.alt_response(403, schema=Problem, description="Only buyers raise requisitions")
@bp.alt_response(409, schema=Problem, description="The same Idempotency-Key is still in progress")
@bp.alt_response(422, schema=Problem, description="Invalid fields, an unknown cost centre, item or "
                                                  "SKU, or a requisition the approval cannot route")
@bp.alt_response(428, schema=Problem, description="No Idempotency-Key header")
def create_requisition(data):
    """Create a draft requisition with its lines; `submit: true` also submits it for approval.
    A retry with the same Idempotency-Key answers the first result and creates nothing."""
    user = actor()
    enforce(user, "requisitions.create")
    cost_center = _reference(CostCenter, data["cost_center_id"], "cost_center_id",
                             "No such cost centre.")
    category = _reference(Category, data.get("category_id"), "category_id", "No such category.")
    with _field_of_refusal(_header_field):
        req = service.create_requisition(
            user, title=data["title"], cost_center=cost_center, category=category,
            justification=data.get("justification", data.get("notes", "")),
            needed_by=data.get("needed_by"), currency=data.get("currency"))
    suppliers = active_suppliers(req.organization_id)
    for index, line in enumerate(data["lines"]):
        field = f"lines.{index}"
        with _field_of_refusal(lambda _msg, field=field: field):
            service.add_line(req, user, **_line_values(req, line, field, suppliers))
    if data["submit"]:
        db.session.flush()
        with _field_of_refusal(lambda _msg: "submit"):
            approvals.submit(req, user)
    db.session.flush()
    # Read back as stored ("1.500", not the "1.5" sent), as GET answers it.
    for row in (*req.lines, req):
        db.session.expire(row)
    return _detail(_load(req.id)), 201, {"Location": f"{API_PREFIX}/requisitions/{req.id}"}
