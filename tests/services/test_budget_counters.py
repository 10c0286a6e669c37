"""Budget balances are counters on the budget row, kept by every posting in its transaction:
after each kind of posting (reserve, overrun reserve, release, commit, actual, revise) they equal
the ledger's sums; `recount` rebuilds them from the ledger; the burn chart is summed per day in
SQL, one row per day, never the whole ledger in Python."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from portal.domain.budget import EntryKind, OverrunPolicy, PeriodKind
from portal.domain.requisition import RequisitionStatus
from portal.extensions import db
from portal.models import Budget, BudgetEntry, CostCenter, Requisition
from portal.models.base import utcnow
from portal.services import budgets
from tests.conftest import as_org
from tests.kit import count_queries

D = Decimal
YEAR = utcnow().year


@pytest.fixture
def cc(world):
    with as_org(world.acme):
        center = db.session.scalars(select(CostCenter).where(CostCenter.code == "CNT")).first()
        if center is None:
            center = CostCenter(organization_id=world.acme.id, code="CNT", name="Counters",
                                manager_id=world.user("approver@acme").id)
            db.session.add(center)
            db.session.commit()
        return center


def _budget(world, cc, amount="1000.00", policy=OverrunPolicy.WARN) -> Budget:
    budget = budgets.create_budget(
        world.user("admin@acme"), cost_center=cc, name="Counted", period_kind=PeriodKind.YEAR,
        starts_on=date(YEAR, 1, 1), ends_on=date(YEAR, 12, 31), amount=D(amount), currency="PLN",
        overrun_policy=policy)
    db.session.flush()
    return budget


def _requisition(world, cc, net: str, n: int) -> Requisition:
    req = Requisition(
        organization_id=world.acme.id, number=f"REQ-C-{n:05d}", title=f"Counted {n}",
        cost_center_id=cc.id, currency="PLN", status=RequisitionStatus.PENDING,
        requester_id=world.user("buyer@acme").id, net_total=D(net), vat_total=D("0"),
        gross_total=D(net), submitted_at=utcnow())
    db.session.add(req)
    db.session.flush()
    return req


def _ledger(budget_id: int) -> dict:
    sums = dict(db.session.execute(
        select(BudgetEntry.kind, func.sum(BudgetEntry.amount))
        .where(BudgetEntry.budget_id == budget_id).group_by(BudgetEntry.kind)).all())

    def s(*kinds):
        return sum((sums.get(k) or D("0") for k in kinds), D("0.00"))

    return {"reserved": s(EntryKind.RESERVE, EntryKind.RELEASE), "committed": s(EntryKind.COMMIT),
            "spent": s(EntryKind.ACTUAL),
            "consumed": s(EntryKind.RESERVE, EntryKind.RELEASE, EntryKind.COMMIT, EntryKind.ACTUAL)}


def _assert_counters_match(budget: Budget) -> None:
    db.session.expire_all()
    row = db.session.get(Budget, budget.id)
    ledger = _ledger(budget.id)
    assert {"reserved": row.reserved, "committed": row.committed, "spent": row.spent,
            "consumed": row.consumed} == ledger
    balances = budgets.balances_of(row)
    assert (balances.reserved, balances.committed, balances.actual) == (
        ledger["reserved"], ledger["committed"], ledger["spent"])
    assert balances.consumed == ledger["consumed"]


def test_counters_equal_the_ledger_after_every_kind_of_posting(world, cc):
    admin, approver = world.user("admin@acme"), world.user("approver@acme")
    with as_org(world.acme):
        budget = _budget(world, cc, "1000.00", OverrunPolicy.WARN)
        first = _requisition(world, cc, "300.00", 1)
        second = _requisition(world, cc, "900.00", 2)
        assert budgets.reserve_for_requisition(first, approver) == budgets.ReservationOutcome.RESERVED
        _assert_counters_match(budget)
        # past the budget under "warn": reserved and flagged
        assert budgets.reserve_for_requisition(second, approver) == budgets.ReservationOutcome.OVERRUN
        _assert_counters_match(budget)
        assert budgets.release_for(budgets.REQUISITION, second.id, approver) == D("900.00")
        _assert_counters_match(budget)
        # an order commits (releasing its requisition's reservation), an invoice turns it actual
        budget = db.session.get(Budget, budget.id)
        budgets.commit_for(budget, from_source=(budgets.REQUISITION, first.id), source_type="Order",
                           source_id=1, source_label="PO-1", amount=D("310.00"), actor=approver)
        _assert_counters_match(budget)
        budget = db.session.get(Budget, budget.id)
        budgets.actual_for(budget, commitment=("Order", 1, D("310.00")), source_type="Invoice",
                           source_id=1, source_label="INV-1", amount=D("305.50"), actor=approver)
        _assert_counters_match(budget)
        budget = db.session.get(Budget, budget.id)
        budgets.revise_budget(budget, admin, amount=D("2000.00"), reason="More")
        _assert_counters_match(budget)
        db.session.commit()
        row = db.session.get(Budget, budget.id)
        assert (row.reserved, row.committed, row.spent) == (D("0.00"), D("0.00"), D("305.50"))


def test_a_balance_is_read_from_the_budget_row_without_touching_the_ledger(world, cc):
    with as_org(world.acme):
        budget = _budget(world, cc)
        budgets.reserve_for_requisition(_requisition(world, cc, "100.00", 3), world.user("approver@acme"))
        db.session.commit()
        found = db.session.scalars(select(Budget).where(Budget.id == budget.id)).one()
        with count_queries() as statements:
            balances = budgets.balances_for([found])[found.id]
        assert statements == []
        assert balances.reserved == D("100.00") and balances.available == D("900.00")


def test_recount_rebuilds_the_counters_from_the_ledger(world, cc):
    with as_org(world.acme):
        budget = _budget(world, cc)
        budgets.reserve_for_requisition(_requisition(world, cc, "120.00", 4), world.user("approver@acme"))
        # rows written around the postings (a bulk load) leave the counters behind ...
        db.session.add(BudgetEntry(organization_id=world.acme.id, budget_id=budget.id,
                                   kind=EntryKind.ACTUAL, amount=D("40.00"), source_type="Manual",
                                   source_id=0, source_label="X"))
        db.session.execute(update(Budget).where(Budget.id == budget.id).values(reserved=0)
                           .execution_options(synchronize_session=False))
        # ... and recount puts them back
        budgets.recount([budget.id])
        _assert_counters_match(budget)
        db.session.commit()


def test_the_burn_series_is_summed_per_day_in_sql(world, cc):
    with as_org(world.acme):
        budget = _budget(world, cc)
        start = datetime(YEAR, 1, 1, 9, tzinfo=UTC)
        plan = [(start - timedelta(days=3), "5.00"),  # before the period: counted on its first day
                (start, "10.00"), (start + timedelta(hours=5), "2.50"),
                (start + timedelta(days=2), "-4.00"), (start + timedelta(days=2, hours=1), "1.00"),
                (start + timedelta(days=9), "30.00")]
        for when, amount in plan:
            db.session.add(BudgetEntry(organization_id=world.acme.id, budget_id=budget.id,
                                       kind=EntryKind.RESERVE, amount=D(amount), source_type="Manual",
                                       source_id=0, source_label="X", created_at=when))
        db.session.commit()
        db.session.refresh(budget)
        with count_queries() as statements:
            series = budgets.burn_series(budget)
        assert len(statements) == 1 and "GROUP BY" in statements[0]
        day = date(YEAR, 1, 1)
        assert series == [(day, D("17.50")), (day + timedelta(days=2), D("14.50")),
                          (day + timedelta(days=9), D("44.50"))]
