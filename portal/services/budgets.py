"""Budgets: creation, revision, closing, and the ledger postings the workflow makes.

Concurrency: a reservation is one guarded UPDATE of the budget row
(`consumed = consumed + :x WHERE amount - consumed >= :x`) followed by its ledger entry in the
same transaction. PostgreSQL serialises the two updates on the row lock and re-checks the
condition; SQLite serialises writers. So twenty simultaneous approvals can never reserve more
than the budget holds, on either database, without SELECT … FOR UPDATE (which SQLite ignores).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from portal.domain.budget import (
    Balances,
    BudgetStatus,
    EntryKind,
    OverrunPolicy,
    PeriodKind,
    periods_overlap,
    shortfall_message,
)
from portal.domain.roles import Role
from portal.errors import BudgetExceeded, InvalidTransition, PermissionDenied, ValidationProblem
from portal.extensions import db
from portal.i18n import translate
from portal.models import Budget, BudgetEntry, BudgetRevision, CostCenter, Requisition, User
from portal.models.base import utcnow
from portal.money import CURRENCIES
from portal.services import audit

REQUISITION = "Requisition"


def _require_admin(actor) -> None:
    if not actor.has_role(Role.ADMIN):
        raise PermissionDenied(_l("Only company admins manage budgets."))


def _check_amount(amount: Decimal | None) -> None:
    if amount is None:
        raise ValidationProblem(_l("Enter the budget amount."))
    if amount < 0:
        raise ValidationProblem(_l("A budget amount cannot be negative."))
    if amount.as_tuple().exponent < -2:
        raise ValidationProblem(_l("Amounts have at most 2 decimal places."))
    if amount >= Decimal("1000000000000"):
        raise ValidationProblem(_l("The amount is too large."))


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
        raise ValidationProblem(_l("Choose a cost centre."))
    if starts_on is None or ends_on is None:
        raise ValidationProblem(_l("Enter the first and last day of the period."))
    if ends_on < starts_on:
        raise ValidationProblem(_l("The period cannot end before it starts."))
    if (ends_on - starts_on).days > 366 * 2:
        raise ValidationProblem(_l("A budget period may last at most two years."))
    _check_amount(amount)
    if currency not in CURRENCIES:
        raise ValidationProblem(_l("Choose PLN or EUR."))
    other = overlapping_budget(cost_center.id, starts_on, ends_on)
    if other is not None:
        raise ValidationProblem(
            _l("Cost centre %(cc)s already has the budget “%(name)s” for %(start)s – %(end)s.",
               cc=cost_center.code, name=other.name, start=other.starts_on, end=other.ends_on)
        )
    if owner is not None and not owner.is_active:
        raise ValidationProblem(_l("The budget owner must be an active user."))
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
                 summary={"amount": str(amount), "currency": currency, "cost_center": cost_center.code})
    return budget


def revise_budget(budget: Budget, actor, *, amount: Decimal | None, reason: str,
                  overrun_policy: OverrunPolicy | None = None, owner: User | None = None) -> Budget:
    """Change a budget's amount (and policy/owner), keeping a revision with who and why.

    The amount may not drop below what is already reserved, committed and spent.
    """
    _require_admin(actor)
    if budget.status != BudgetStatus.OPEN:
        raise InvalidTransition(_l("A closed budget cannot be revised."))
    _check_amount(amount)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationProblem(_l("Say why the budget changes."))
    if len(reason) > 2000:
        raise ValidationProblem(_l("The reason may be at most 2000 characters."))
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
            _l("The budget cannot go below what is already used (%(used)s %(currency)s).",
               used=f"{budget.consumed:,.2f}", currency=budget.currency)
        )
    db.session.refresh(budget)
    if overrun_policy is not None:
        budget.overrun_policy = OverrunPolicy(overrun_policy)
    if owner is not None or overrun_policy is not None:
        budget.owner_id = owner.id if owner else budget.owner_id
    db.session.add(BudgetRevision(
        organization_id=budget.organization_id, budget_id=budget.id, old_amount=old_amount, new_amount=amount,
        old_policy=old_policy.value, new_policy=budget.overrun_policy.value, reason=reason, actor_id=actor.id,
    ))
    audit.record(actor=actor, action="budget.revised", obj=budget, comment=reason,
                 summary={"from": str(old_amount), "to": str(amount)})
    db.session.flush()
    return budget


def close_budget(budget: Budget, actor, *, reason: str = "") -> Budget:
    """Close a budget: nothing more can be reserved against it."""
    _require_admin(actor)
    if budget.status != BudgetStatus.OPEN:
        raise InvalidTransition(_l("This budget is already closed."))
    budget.status = BudgetStatus.CLOSED
    budget.closed_at = utcnow()
    audit.record(actor=actor, action="budget.closed", obj=budget, comment=reason)
    db.session.flush()
    return budget


# ---------------------------------------------------------------- reading


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


# ---------------------------------------------------------------- posting


def _post(budget: Budget, kind: EntryKind, amount: Decimal, *, source_type: str, source_id: int,
          source_label: str, actor, overrun: bool = False, note: str = "") -> BudgetEntry:
    entry = BudgetEntry(
        organization_id=budget.organization_id, budget_id=budget.id, kind=kind, amount=amount,
        source_type=source_type, source_id=source_id, source_label=source_label, overrun=overrun,
        note=note, actor_id=actor.id if actor is not None else None,
    )
    db.session.add(entry)
    return entry


def try_reserve(budget: Budget, amount: Decimal) -> bool:
    """Atomically take `amount` from the budget if it still fits; True when it did."""
    return db.session.execute(
        update(Budget)
        .where(Budget.id == budget.id, Budget.status == BudgetStatus.OPEN,
               Budget.amount - Budget.consumed >= amount)
        .values(consumed=Budget.consumed + amount)
        .execution_options(synchronize_session=False)
    ).rowcount == 1


def force_consume(budget: Budget, amount: Decimal) -> None:
    """Take `amount` even past the budget (warn policy, approved escalation) or give it back."""
    db.session.execute(
        update(Budget).where(Budget.id == budget.id).values(consumed=Budget.consumed + amount)
        .execution_options(synchronize_session=False)
    )


class ReservationOutcome:
    NO_BUDGET = "no_budget"
    RESERVED = "reserved"
    OVERRUN = "overrun"
    NEEDS_ESCALATION = "needs_escalation"


def reserve_for_requisition(req: Requisition, actor, *, overrun_approved: bool = False) -> str:
    """Reserve the requisition's net total at final approval.

    block: refused with the shortfall (BudgetExceeded); warn: reserved and flagged as an
    overrun; escalate: returns NEEDS_ESCALATION unless an extra approval already allowed it.
    A currency different from the budget's is refused. No budget: nothing to reserve.
    """
    budget = budget_for(req.cost_center_id, requisition_budget_date(req))
    if budget is None:
        return ReservationOutcome.NO_BUDGET
    if budget.currency != req.currency:
        raise BudgetExceeded(
            _l("The budget of %(cc)s is in %(budget)s; this requisition is in %(req)s. Raise it in %(budget)s.",
               cc=req.cost_center.code, budget=budget.currency, req=req.currency)
        )
    amount = req.net_total - open_reservation(REQUISITION, req.id)
    if amount <= 0:
        return ReservationOutcome.RESERVED
    label = req.number
    if try_reserve(budget, amount):
        _post(budget, EntryKind.RESERVE, amount, source_type=REQUISITION, source_id=req.id,
              source_label=label, actor=actor)
        db.session.flush()
        return ReservationOutcome.RESERVED
    db.session.refresh(budget)
    available = budget.amount - budget.consumed
    policy = budget.overrun_policy
    if policy == OverrunPolicy.BLOCK and not overrun_approved:
        raise BudgetExceeded(translate(shortfall_message(available, amount, budget.currency)))
    if policy == OverrunPolicy.ESCALATE and not overrun_approved:
        return ReservationOutcome.NEEDS_ESCALATION
    force_consume(budget, amount)
    _post(budget, EntryKind.RESERVE, amount, source_type=REQUISITION, source_id=req.id, source_label=label,
          actor=actor, overrun=True, note=translate(shortfall_message(available, amount, budget.currency)))
    audit.record(actor=actor, action="budget.overrun", obj=req,
                 summary={"budget": budget.name, "available": str(available), "amount": str(amount)})
    db.session.flush()
    return ReservationOutcome.OVERRUN


def release_for(source_type: str, source_id: int, actor, *, note: str = "") -> Decimal:
    """Give back what a document still holds reserved (reject, cancel, return, close)."""
    entries = db.session.scalars(
        select(BudgetEntry).where(BudgetEntry.source_type == source_type, BudgetEntry.source_id == source_id,
                                  BudgetEntry.kind.in_([EntryKind.RESERVE, EntryKind.RELEASE]))
    ).all()
    by_budget: dict[int, Decimal] = {}
    labels: dict[int, str] = {}
    for e in entries:
        by_budget[e.budget_id] = by_budget.get(e.budget_id, Decimal("0")) + e.amount
        labels[e.budget_id] = e.source_label
    released = Decimal("0.00")
    for budget_id, open_amount in by_budget.items():
        if open_amount <= 0:
            continue
        budget = db.session.scalars(select(Budget).where(Budget.id == budget_id)).one()
        force_consume(budget, -open_amount)
        _post(budget, EntryKind.RELEASE, -open_amount, source_type=source_type, source_id=source_id,
              source_label=labels[budget_id], actor=actor, note=note)
        released += open_amount
    db.session.flush()
    return released


def commit_for(budget: Budget, *, from_source: tuple[str, int] | None, source_type: str, source_id: int,
               source_label: str, amount: Decimal, actor) -> None:
    """An order is issued: release its requisition's reservation and commit the order's amount.

    (Used by purchase orders in the sourcing issue.)
    """
    if from_source is not None:
        release_for(*from_source, actor, note=source_label)
    force_consume(budget, amount)
    _post(budget, EntryKind.COMMIT, amount, source_type=source_type, source_id=source_id,
          source_label=source_label, actor=actor)
    db.session.flush()


def actual_for(budget: Budget, *, commitment: tuple[str, int, Decimal] | None, source_type: str, source_id: int,
               source_label: str, amount: Decimal, actor) -> None:
    """An invoice is approved: convert the order's commitment into an actual of the invoice amount."""
    if commitment is not None:
        c_type, c_id, c_amount = commitment
        force_consume(budget, -c_amount)
        _post(budget, EntryKind.COMMIT, -c_amount, source_type=c_type, source_id=c_id,
              source_label=source_label, actor=actor)
    force_consume(budget, amount)
    _post(budget, EntryKind.ACTUAL, amount, source_type=source_type, source_id=source_id,
          source_label=source_label, actor=actor)
    db.session.flush()


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

