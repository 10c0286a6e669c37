"""The demo world's budgets: one comfortable, one near its limit (block), one over (warn), one
escalating; their ledgers agree with the seeded requisitions."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from portal.domain.budget import EntryKind, OverrunPolicy
from portal.domain.requisition import RequisitionStatus
from portal.errors import BudgetExceeded
from portal.extensions import db
from portal.models import Budget, BudgetEntry, BudgetRevision, Requisition
from portal.services import approvals, budgets
from portal.services.demo import seed_demo
from portal.tenancy import system
from tests.kit import acting_for, services


@pytest.fixture
def demo(app, world):
    with system(db.session):
        built = seed_demo()
        db.session.commit()
    return built


def _budget(org, name_start):
    return db.session.scalars(
        select(Budget).where(Budget.organization_id == org.id, Budget.name.startswith(name_start))
    ).one()


def test_demo_budgets_show_every_level_and_policy(demo):
    acme = demo["orgs"]["acme"]
    with acting_for(acme):
        it, prod, adm = _budget(acme, "IT"), _budget(acme, "Produkcja"), _budget(acme, "Administracja")
        assert (it.overrun_policy, budgets.balances_of(it).level) == (OverrunPolicy.BLOCK, "warn")
        assert (prod.overrun_policy, budgets.balances_of(prod).level) == (OverrunPolicy.WARN, "over")
        assert budgets.balances_of(adm).level == "ok"
        assert db.session.scalars(select(BudgetEntry.overrun).where(BudgetEntry.budget_id == prod.id)).all() == [True]
        assert db.session.scalar(select(func.count(BudgetRevision.id)).where(BudgetRevision.budget_id == it.id)) == 2


def test_demo_ledgers_agree_with_the_requisitions(demo):
    with system(db.session):
        for budget in db.session.scalars(select(Budget)):
            ledger = db.session.scalar(select(func.sum(BudgetEntry.amount)).where(BudgetEntry.budget_id == budget.id))
            assert budget.consumed == (ledger or Decimal("0.00")), budget.name
        reserved = db.session.execute(
            select(BudgetEntry.source_id, func.sum(BudgetEntry.amount))
            .where(BudgetEntry.kind.in_([EntryKind.RESERVE, EntryKind.RELEASE]))
            .group_by(BudgetEntry.source_id)
        ).all()
        for req_id, held in reserved:
            req = db.session.scalars(select(Requisition).where(Requisition.id == req_id)).one()
            # Out for quotes the reservation stays; an order takes it over (demo_sourcing).
            held_statuses = (RequisitionStatus.APPROVED, RequisitionStatus.SOURCING)
            expected = req.net_total if req.status in held_statuses else Decimal("0.00")
            assert held == expected, req.number


def test_demo_pending_it_purchase_is_blocked_by_the_budget_at_final_approval(app, demo):
    acme = demo["orgs"]["acme"]
    with services(app), acting_for(acme):
        laptops = db.session.scalars(select(Requisition).where(Requisition.title == "Laptopy dla działu IT")).one()
        assert budgets.impact(laptops).exceeds
        task = next(t for t in approvals.tasks_of(laptops, laptops.approval_round) if t.status == "pending")
        deciders = [a.user for a in task.assignments if a.decision is None]
        with pytest.raises(BudgetExceeded, match="short"):
            approvals.decide(task, deciders[0], "approve")
