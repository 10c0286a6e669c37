"""Reading budgets: balances from their counters, the burn chart from the ledger per day, the
budget of a requisition, its impact."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Date, cast, func, select
from sqlalchemy.orm import joinedload

from portal.domain.budget import Balances, BudgetStatus, EntryKind
from portal.extensions import db
from portal.models import Budget, BudgetEntry, Requisition, User
from portal.models.base import utcnow
from portal.services.paging import Key, KeysetPage, Order, keyset

REQUISITION = "Requisition"


def balances_of(budget: Budget) -> Balances:
    """The budget's buckets, from the counters every posting keeps on its row (no query)."""
    return Balances(amount=budget.amount, reserved=budget.reserved, committed=budget.committed,
                    actual=budget.spent)


def balances_for(budgets: list[Budget]) -> dict[int, Balances]:
    """Balances of many budgets (lists and dashboards), from their rows."""
    return {b.id: balances_of(b) for b in budgets}


def _open_on(cost_center_id: int, on: date) -> tuple:
    return (Budget.cost_center_id == cost_center_id, Budget.status == BudgetStatus.OPEN,
            Budget.starts_on <= on, Budget.ends_on >= on)


def budget_for(cost_center_id: int, on: date) -> Budget | None:
    """The open budget of the cost centre whose period contains `on`."""
    return db.session.scalars(select(Budget).where(*_open_on(cost_center_id, on))).first()


def budget_and_reservation(req: Requisition) -> tuple[Budget | None, Decimal]:
    """The requisition's budget (`budget_for` on `requisition_budget_date`) and what the
    requisition holds reserved in the ledger (`open_reservation`), in one query."""
    held = _held(REQUISITION, req.id).scalar_subquery()
    # Without the autoflush: the caller's pending changes go in its own next flush instead of
    # one more; the ledger entries this transaction has not flushed yet (a reservation goes in
    # with its approval's one flush) are added from the session.
    with db.session.no_autoflush:
        row = db.session.execute(
            select(Budget, held).where(*_open_on(req.cost_center_id, requisition_budget_date(req)))
        ).first()
    if row is None:
        return None, Decimal("0.00")
    return row[0], (row[1] or Decimal("0.00")) + _pending_held(REQUISITION, req.id)


def _pending_held(source_type: str, source_id: int) -> Decimal:
    """What this transaction's unflushed reservations and releases of a document add up to."""
    return sum((entry.amount for entry in db.session.new
                if isinstance(entry, BudgetEntry) and entry.source_type == source_type
                and entry.source_id == source_id
                and entry.kind in (EntryKind.RESERVE, EntryKind.RELEASE)), Decimal("0.00"))


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
    budget, reserved_already = budget_and_reservation(req)
    if budget is None:
        return Impact(None, None, req.net_total, Decimal("0"), req.currency)
    return Impact(budget, balances_of(budget), req.net_total, reserved_already, req.currency)


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


def _held(source_type: str, source_id: int):
    return select(func.sum(BudgetEntry.amount)).where(
        BudgetEntry.source_type == source_type, BudgetEntry.source_id == source_id,
        BudgetEntry.kind.in_([EntryKind.RESERVE, EntryKind.RELEASE]),
    )


def open_reservation(source_type: str, source_id: int) -> Decimal:
    """What a document holds reserved: its reservations less their releases."""
    return db.session.scalar(_held(source_type, source_id)) or Decimal("0.00")


def _day(column):
    """The UTC day of a timestamp column, in SQL (SQLite stores text, PostgreSQL timestamptz)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone("UTC", column), Date)
    return func.date(column)


def burn_series(budget: Budget) -> list[tuple[date, Decimal]]:
    """Cumulative consumption per day with entries, from the period start, for the burn chart.

    The ledger is summed per day in SQL (one row per day with entries, through the index on
    budget and time), never loaded whole."""
    day = _day(BudgetEntry.created_at).label("day")
    rows = db.session.execute(
        select(day, func.sum(BudgetEntry.amount))
        .where(BudgetEntry.budget_id == budget.id)
        .group_by(day)
        .order_by(day)
    ).all()
    series: list[tuple[date, Decimal]] = [(budget.starts_on, Decimal("0.00"))]
    total = Decimal("0.00")
    for when, amount in rows:
        total += amount
        on = max(when if isinstance(when, date) else date.fromisoformat(when), budget.starts_on)
        if series[-1][0] == on:
            series[-1] = (on, total)
        else:
            series.append((on, total))
    return series


# The ledger newest first, read from ix_budget_entries_budget_created a page at a time.
LEDGER_ORDER = Order("newest", Key(BudgetEntry.created_at, descending=True), Key(BudgetEntry.id, descending=True))


def ledger_page(budget: Budget, *, cursor: str | None, per_page: int) -> KeysetPage:
    """A page of the budget's ledger, newest first (keyset: every page costs the same)."""
    return keyset(
        select(BudgetEntry).where(BudgetEntry.budget_id == budget.id)
        .options(joinedload(BudgetEntry.actor).lazyload(User.role_rows)),
        LEDGER_ORDER, cursor=cursor, per_page=per_page, count=False)


def period_progress(budget: Budget, today: date) -> Decimal:
    """How much of the period has passed, 0 to 1."""
    span = (budget.ends_on - budget.starts_on).days + 1
    passed = min(max((today - budget.starts_on).days + 1, 0), span)
    return Decimal(passed) / Decimal(span)

