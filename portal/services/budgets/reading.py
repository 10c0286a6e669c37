"""Reading budgets: balances from the ledger, the budget of a requisition, its impact."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from portal.domain.budget import Balances, BudgetStatus, EntryKind
from portal.extensions import db
from portal.models import Budget, BudgetEntry, Requisition
from portal.models.base import utcnow

REQUISITION = "Requisition"


def balances_of(budget: Budget) -> Balances:
    """The budget's buckets summed from its ledger (one query)."""
    rows = db.session.execute(
        select(BudgetEntry.kind, func.sum(BudgetEntry.amount))
        .where(BudgetEntry.budget_id == budget.id)
        .group_by(BudgetEntry.kind)
    ).all()
    return _balances(budget.amount, dict(rows))


def _balances(amount: Decimal, sums: dict) -> Balances:
    def s(kind):
        return sums.get(kind) or Decimal("0.00")

    return Balances(amount=amount, reserved=s(EntryKind.RESERVE) + s(EntryKind.RELEASE),
                    committed=s(EntryKind.COMMIT), actual=s(EntryKind.ACTUAL))


def balances_for(budgets: list[Budget]) -> dict[int, Balances]:
    """Balances of many budgets in one query (lists and dashboards)."""
    ids = [b.id for b in budgets]
    sums: dict[int, dict] = {i: {} for i in ids}
    if ids:
        for budget_id, kind, total in db.session.execute(
            select(BudgetEntry.budget_id, BudgetEntry.kind, func.sum(BudgetEntry.amount))
            .where(BudgetEntry.budget_id.in_(ids))
            .group_by(BudgetEntry.budget_id, BudgetEntry.kind)
        ):
            sums[budget_id][kind] = total
    return {b.id: _balances(b.amount, sums[b.id]) for b in budgets}


def budget_for(cost_center_id: int, on: date) -> Budget | None:
    """The open budget of the cost centre whose period contains `on`."""
    return db.session.scalars(
        select(Budget).where(
            Budget.cost_center_id == cost_center_id, Budget.status == BudgetStatus.OPEN,
            Budget.starts_on <= on, Budget.ends_on >= on,
        )
    ).first()


def requisition_budget_date(req: Requisition) -> date:
    """Requisitions draw on the budget of the period they are submitted in."""
    return (req.submitted_at or utcnow()).date()


@dataclass(frozen=True)
class Impact:
    """A requisition's effect on its budget: available before and after approval."""

    budget: Budget | None
    before: Balances | None
    amount: Decimal
    reserved_already: Decimal
    currency: str

    @property
    def available_before(self) -> Decimal | None:
        return self.before.available if self.before else None

    @property
    def available_after(self) -> Decimal | None:
        if self.before is None:
            return None
        return self.before.available - (self.amount - self.reserved_already)

    @property
    def exceeds(self) -> bool:
        return self.available_after is not None and self.available_after < 0

    @property
    def currency_mismatch(self) -> bool:
        return self.budget is not None and self.budget.currency != self.currency


def impact(req: Requisition) -> Impact:
    """What approving `req` would do to its cost centre's budget (the requisition's net total)."""
    budget = budget_for(req.cost_center_id, requisition_budget_date(req))
    if budget is None:
        return Impact(None, None, req.net_total, Decimal("0"), req.currency)
    return Impact(budget, balances_of(budget), req.net_total, open_reservation(REQUISITION, req.id),
                  req.currency)


def impacts_for(reqs: list[Requisition]) -> dict[int, Impact]:
    """`impact` of many requisitions in three queries (inbox and list pages)."""
    if not reqs:
        return {}
    center_ids = {r.cost_center_id for r in reqs}
    candidates = db.session.scalars(
        select(Budget).where(Budget.cost_center_id.in_(center_ids), Budget.status == BudgetStatus.OPEN)
    ).all()
    balances = balances_for(list(candidates))
    held = dict(db.session.execute(
        select(BudgetEntry.source_id, func.sum(BudgetEntry.amount))
        .where(BudgetEntry.source_type == REQUISITION, BudgetEntry.source_id.in_([r.id for r in reqs]),
               BudgetEntry.kind.in_([EntryKind.RESERVE, EntryKind.RELEASE]))
        .group_by(BudgetEntry.source_id)
    ).all())
    result = {}
    for req in reqs:
        on = requisition_budget_date(req)
        budget = next((b for b in candidates if b.cost_center_id == req.cost_center_id
                       and b.starts_on <= on <= b.ends_on), None)
        result[req.id] = Impact(budget, balances.get(budget.id) if budget else None, req.net_total,
                                held.get(req.id) or Decimal("0"), req.currency)
    return result


def open_reservation(source_type: str, source_id: int) -> Decimal:
    total = db.session.scalar(
        select(func.sum(BudgetEntry.amount)).where(
            BudgetEntry.source_type == source_type, BudgetEntry.source_id == source_id,
            BudgetEntry.kind.in_([EntryKind.RESERVE, EntryKind.RELEASE]),
        )
    )
    return total or Decimal("0.00")


def burn_series(budget: Budget) -> list[tuple[date, Decimal]]:
    """Cumulative consumption per day with entries, from the period start, for the burn chart."""
    rows = db.session.execute(
        select(BudgetEntry.created_at, BudgetEntry.amount)
        .where(BudgetEntry.budget_id == budget.id)
        .order_by(BudgetEntry.created_at, BudgetEntry.id)
    ).all()
    series: list[tuple[date, Decimal]] = [(budget.starts_on, Decimal("0.00"))]
    total = Decimal("0.00")
    for created_at, amount in rows:
        total += amount
        day = max(created_at.date(), budget.starts_on)
        if series and series[-1][0] == day:
            series[-1] = (day, total)
        else:
            series.append((day, total))
    return series


def period_progress(budget: Budget, today: date) -> Decimal:
    """How much of the period has passed, 0 to 1."""
    span = (budget.ends_on - budget.starts_on).days + 1
    passed = min(max((today - budget.starts_on).days + 1, 0), span)
    return Decimal(passed) / Decimal(span)

