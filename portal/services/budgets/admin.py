"""Keeping budgets: create, revise (with a revision saying who and why), close.

Only company admins do this (the policy "budgets.manage").
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select, update

from portal.domain.budget import BudgetStatus, OverrunPolicy, PeriodKind, periods_overlap
from portal.domain.messages import N_, Msg
from portal.errors import InvalidTransition, ValidationProblem
from portal.extensions import db
from portal.models import Budget, BudgetRevision, CostCenter, User
from portal.models.base import utcnow
from portal.money import Money, is_currency
from portal.policies import can, enforce
from portal.services import audit


def _require_admin(actor) -> None:
    enforce(actor, "budgets.manage")


def _check_amount(amount: Decimal | None) -> None:
    if amount is None:
        raise ValidationProblem(Msg(N_("Enter the budget amount.")))
    if amount < 0:
        raise ValidationProblem(Msg(N_("A budget amount cannot be negative.")))
    if amount.as_tuple().exponent < -2:
        raise ValidationProblem(Msg(N_("Amounts have at most 2 decimal places.")))
    if amount >= Decimal("1000000000000"):
        raise ValidationProblem(Msg(N_("The amount is too large.")))


def overlapping_budget(cost_center_id: int, starts_on: date, ends_on: date, *, except_id: int | None = None):
    query = select(Budget).where(Budget.cost_center_id == cost_center_id, Budget.status == BudgetStatus.OPEN)
    if except_id is not None:
        query = query.where(Budget.id != except_id)
    for other in db.session.scalars(query):
        if periods_overlap(starts_on, ends_on, other.starts_on, other.ends_on):
            return other
    return None


def create_budget(
    actor,
    *,
    cost_center: CostCenter | None,
    name: str,
    period_kind: PeriodKind,
    starts_on: date | None,
    ends_on: date | None,
    amount: Decimal | None,
    currency: str,
    overrun_policy: OverrunPolicy = OverrunPolicy.BLOCK,
    owner: User | None = None,
) -> Budget:
    """A budget for one cost centre and period. Periods of one cost centre never overlap."""
    _require_admin(actor)
    if cost_center is None:
        raise ValidationProblem(Msg(N_("Choose a cost centre.")))
    if starts_on is None or ends_on is None:
        raise ValidationProblem(Msg(N_("Enter the first and last day of the period.")))
    if ends_on < starts_on:
        raise ValidationProblem(Msg(N_("The period cannot end before it starts.")))
    if (ends_on - starts_on).days > 366 * 2:
        raise ValidationProblem(Msg(N_("A budget period may last at most two years.")))
    _check_amount(amount)
    if not is_currency(currency):
        raise ValidationProblem(Msg(N_("Choose a currency from the list.")))
    other = overlapping_budget(cost_center.id, starts_on, ends_on)
    if other is not None:
        raise ValidationProblem(
            Msg(N_("Cost centre %(cc)s already has the budget “%(name)s” for %(start)s – %(end)s."),
                {"cc": cost_center.code, "name": other.name, "start": other.starts_on, "end": other.ends_on})
        )
    if owner is not None and not owner.is_active:
        raise ValidationProblem(Msg(N_("The budget owner must be an active user.")))
    if owner is not None and not can(owner, "approvals.assignee"):
        raise ValidationProblem(Msg(N_("The budget owner must be an approver or an admin.")))
    budget = Budget(
        organization_id=actor.organization_id, cost_center_id=cost_center.id,
        name=(name or "").strip() or f"{cost_center.code} {starts_on:%Y}",
        period_kind=PeriodKind(period_kind), starts_on=starts_on, ends_on=ends_on,
        amount=amount, consumed=Decimal("0"), currency=currency,
        overrun_policy=OverrunPolicy(overrun_policy), owner_id=owner.id if owner else None,
    )
    db.session.add(budget)
    db.session.flush()
    db.session.add(BudgetRevision(
        organization_id=budget.organization_id, budget_id=budget.id, old_amount=None, new_amount=amount,
        old_policy=None, new_policy=budget.overrun_policy.value, reason="created", actor_id=actor.id,
    ))
    audit.record(actor=actor, action="budget.created", obj=budget,
                 summary={"amount": Money(amount, currency), "cost_center": cost_center.code})
    return budget


def revise_budget(budget: Budget, actor, *, amount: Decimal | None, reason: str,
                  overrun_policy: OverrunPolicy | None = None, owner: User | None = None) -> Budget:
    """Change a budget's amount (and policy/owner), keeping a revision with who and why.

    The amount may not drop below what is already reserved, committed and spent.
    """
    _require_admin(actor)
    if budget.status != BudgetStatus.OPEN:
        raise InvalidTransition(Msg(N_("A closed budget cannot be revised.")))
    _check_amount(amount)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationProblem(Msg(N_("Say why the budget changes.")))
    if len(reason) > 2000:
        raise ValidationProblem(Msg(N_("The reason may be at most 2000 characters.")))
    old_amount, old_policy = budget.amount, budget.overrun_policy
    changed = db.session.execute(
        update(Budget)
        .where(Budget.id == budget.id, Budget.consumed <= amount)
        .values(amount=amount)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        db.session.refresh(budget)
        raise ValidationProblem(
            Msg(N_("The budget cannot go below what is already used (%(used)s)."),
                {"used": Money(budget.consumed, budget.currency)})
        )
    db.session.refresh(budget)
    if overrun_policy is not None:
        budget.overrun_policy = OverrunPolicy(overrun_policy)
    if owner is not None and not can(owner, "approvals.assignee"):
        raise ValidationProblem(Msg(N_("The budget owner must be an approver or an admin.")))
    if owner is not None or overrun_policy is not None:
        budget.owner_id = owner.id if owner else budget.owner_id
    db.session.add(BudgetRevision(
        organization_id=budget.organization_id, budget_id=budget.id, old_amount=old_amount, new_amount=amount,
        old_policy=old_policy.value, new_policy=budget.overrun_policy.value, reason=reason, actor_id=actor.id,
    ))
    audit.record(actor=actor, action="budget.revised", obj=budget, comment=reason,
                 summary={"from": Money(old_amount, budget.currency), "to": Money(amount, budget.currency)})
    db.session.flush()
    return budget


def close_budget(budget: Budget, actor, *, reason: str = "") -> Budget:
    """Close a budget: nothing more can be reserved against it."""
    _require_admin(actor)
    if budget.status != BudgetStatus.OPEN:
        raise InvalidTransition(Msg(N_("This budget is already closed.")))
    budget.status = BudgetStatus.CLOSED
    budget.closed_at = utcnow()
    audit.record(actor=actor, action="budget.closed", obj=budget, comment=reason)
    db.session.flush()
    return budget


