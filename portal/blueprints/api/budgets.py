"""Budgets: `GET /budgets`, `GET /budgets/{id}` with amount, reserved, committed, actual and
available (the budget row's counters, kept by every ledger posting: services.budgets.reading).

The budget pages' rule: a buying company's admins and approvers follow budgets ("budgets.view");
buyers and suppliers get 403.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from portal.blueprints.api.core import actor, blueprint, requires, sync_page
from portal.blueprints.api.schemas import Amount, ListArgs, Problem, page_of
from portal.blueprints.cache import cached_list
from portal.blueprints.problems import NOT_HERE, ApiProblem
from portal.domain.budget import BudgetStatus, PeriodKind, period_bounds
from portal.extensions import db
from portal.models import Budget
from portal.policies import enforce
from portal.services import budgets

bp = blueprint("budgets", "Budgets of the cost centres and their balances")


class BudgetListArgs(ListArgs):
    cost_center_id = fields.Integer(validate=validate.Range(min=1))
    year = fields.Integer(validate=validate.Range(min=2000, max=2100), metadata={
        "description": "budgets whose period overlaps this calendar year"})
    period_kind = fields.String(validate=validate.OneOf([p.value for p in PeriodKind]))
    status = fields.String(validate=validate.OneOf([s.value for s in BudgetStatus]))


class BudgetCostCenterSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()


def _balance(name: str):
    return fields.Function(lambda budget: format(getattr(budgets.balances_of(budget), name), "f"),
                           metadata={"type": "string", "format": "decimal"})


class BudgetSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    cost_center_id = fields.Integer()
    cost_center = fields.Nested(BudgetCostCenterSchema)
    period_kind = fields.String(metadata={"description": "year, quarter or month"})
    starts_on = fields.Date()
    ends_on = fields.Date()
    currency = fields.String()
    amount = Amount()
    reserved = Amount(metadata={"description": "held by approved requisitions not yet ordered"})
    committed = Amount(metadata={"description": "ordered, not yet invoiced"})
    actual = Amount(attribute="spent", metadata={"description": "invoiced"})
    consumed = _balance("consumed")
    available = _balance("available")
    status = fields.String(metadata={"description": "open or closed"})
    overrun_policy = fields.String(metadata={"description": "what approving past the amount does"})
    owner_id = fields.Integer(allow_none=True)
    closed_at = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


BudgetPage = page_of(BudgetSchema)


@bp.route("/budgets", methods=["GET"])
@requires("requisitions")
@cached_list
@bp.arguments(BudgetListArgs, location="query")
@bp.response(200, BudgetPage)
@bp.alt_response(403, schema=Problem, description="Not an admin or approver of a buying company")
@bp.alt_response(422, schema=Problem, description="A filter or the cursor is not valid")
def list_budgets(args):
    """The company's budgets, oldest change first."""
    enforce(actor(), "budgets.view")
    query = select(Budget).options(joinedload(Budget.cost_center))
    if args.get("cost_center_id") is not None:
        query = query.where(Budget.cost_center_id == args["cost_center_id"])
    if args.get("year") is not None:
        start, end = period_bounds(PeriodKind.YEAR, args["year"])
        # coalesce(): not the period index's column, so the planner keeps to the sync order's
        # index (else SQLite reads the period index and sorts every budget it finds there).
        query = query.where(func.coalesce(Budget.starts_on, Budget.ends_on) <= end,
                            Budget.ends_on >= start)
    if args.get("period_kind"):
        query = query.where(Budget.period_kind == PeriodKind(args["period_kind"]))
    if args.get("status"):
        query = query.where(Budget.status == BudgetStatus(args["status"]))
    return sync_page(query, Budget, args)


@bp.route("/budgets/<int:budget_id>", methods=["GET"])
@requires("requisitions")
@bp.response(200, BudgetSchema)
@bp.alt_response(403, schema=Problem, description="Not an admin or approver of a buying company")
@bp.alt_response(404, schema=Problem, description="No such budget in the organisation")
def get_budget(budget_id: int):
    """One budget with its balances."""
    enforce(actor(), "budgets.view")
    found = db.session.scalars(select(Budget).where(Budget.id == budget_id)
                               .options(joinedload(Budget.cost_center))).first()
    if found is None:
        raise ApiProblem(404, NOT_HERE)
    return found

