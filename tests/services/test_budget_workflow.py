"""Budgets inside the approval workflow: reservation at final approval under each overrun
policy, release on reject/return/cancel, and no over-commitment under concurrent approvals."""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.domain.approval import ApproverKind, TaskStatus
from portal.domain.budget import EntryKind, OverrunPolicy, PeriodKind
from portal.domain.requisition import RequisitionStatus
from portal.errors import BudgetExceeded
from portal.extensions import db
from portal.models import ApprovalTask, Budget, BudgetEntry, Requisition, User
from portal.models.base import utcnow
from portal.services import approval_policy, approvals, budgets, requisitions
from portal.tenancy import TenantScope, bound
from tests.kit import acme_kit, acting_for, active_task, approve_all, approvers_of, services, submitted

D = Decimal
YEAR = utcnow().year


@pytest.fixture
def kit(app, world):
    with services(app):
        kit = acme_kit(world, board=False)
        with acting_for(kit.org):
            yield kit


def one_step_policy(kit):
    """Only the cost centre manager approves: the first approval is the final one."""
    for step in list(approvals.policy_for(kit.org.id).steps):
        approval_policy.delete_step(kit.admin, step)
    approval_policy.save_step(kit.admin, None, name="Manager", approver_kind=ApproverKind.COST_CENTER_MANAGER)


def budget(kit, amount, policy=OverrunPolicy.BLOCK, owner=None):
    made = budgets.create_budget(kit.admin, cost_center=kit.cc_it, name="IT", period_kind=PeriodKind.YEAR,
                                 starts_on=date(YEAR, 1, 1), ends_on=date(YEAR, 12, 31), amount=D(amount),
                                 currency="PLN", overrun_policy=policy, owner=owner)
    db.session.flush()
    return made


def ledger_kinds(budget_id):
    return db.session.scalars(select(BudgetEntry.kind).where(BudgetEntry.budget_id == budget_id)
                              .order_by(BudgetEntry.id)).all()


def test_final_approval_reserves_the_net_total(kit):
    b = budget(kit, "100000")
    req = approve_all(submitted(kit, "1200"))
    assert req.status == RequisitionStatus.APPROVED
    assert budgets.balances_of(b).reserved == D("1200.00")
    assert ledger_kinds(b.id) == [EntryKind.RESERVE]


def test_block_budget_refuses_the_approval_with_the_shortfall(kit):
    budget(kit, "500", OverrunPolicy.BLOCK)
    one_step_policy(kit)
    req = submitted(kit, "800")
    task = active_task(req)
    with pytest.raises(BudgetExceeded, match="300.00"):
        approvals.decide(task, approvers_of(task)[0], "approve")


def test_warn_budget_approves_and_flags_the_overrun(kit):
    b = budget(kit, "500", OverrunPolicy.WARN)
    req = approve_all(submitted(kit, "800"))
    assert req.status == RequisitionStatus.APPROVED
    entry = db.session.scalars(select(BudgetEntry).where(BudgetEntry.budget_id == b.id)).one()
    assert entry.overrun and entry.amount == D("800.00")
    assert budgets.balances_of(b).available == D("-300.00")


def test_escalate_budget_adds_an_owner_step_before_approval(kit):
    b = budget(kit, "500", OverrunPolicy.ESCALATE, owner=kit.cfo)
    one_step_policy(kit)
    req = submitted(kit, "800")
    approvals.decide(active_task(req), approvers_of(active_task(req))[0], "approve")
    assert req.status == RequisitionStatus.PENDING
    extra = active_task(req)
    assert extra.kind == "budget" and [u.id for u in approvers_of(extra)] == [kit.cfo.id]
    assert budgets.balances_of(b).reserved == D("0.00")
    approvals.decide(extra, kit.cfo, "approve")
    assert req.status == RequisitionStatus.APPROVED
    entry = db.session.scalars(select(BudgetEntry).where(BudgetEntry.budget_id == b.id)).one()
    assert entry.overrun


def test_escalated_overrun_rejected_releases_nothing_and_rejects(kit):
    b = budget(kit, "500", OverrunPolicy.ESCALATE, owner=kit.cfo)
    one_step_policy(kit)
    req = submitted(kit, "800")
    approvals.decide(active_task(req), approvers_of(active_task(req))[0], "approve")
    approvals.decide(active_task(req), kit.cfo, "reject", "Not this year")
    assert req.status == RequisitionStatus.REJECTED
    assert budgets.balances_of(b).reserved == D("0.00")


def test_admin_cancel_of_an_approved_requisition_releases_and_resubmission_reserves_again(kit):
    b = budget(kit, "10000")
    req = approve_all(submitted(kit, "1000"))
    requisitions.cancel(req, kit.admin, comment="Project stopped")
    assert budgets.balances_of(b).reserved == D("0.00")
    assert ledger_kinds(b.id) == [EntryKind.RESERVE, EntryKind.RELEASE]
    again = approve_all(submitted(kit, "1000"))
    assert again.status == RequisitionStatus.APPROVED
    assert budgets.balances_of(b).reserved == D("1000.00")


def test_return_and_resubmission_reserve_only_at_the_final_approval(kit):
    b = budget(kit, "10000")
    req = submitted(kit, "1000")
    task = active_task(req)
    approvals.decide(task, approvers_of(task)[0], "return", "Add a second quote")
    assert req.status == RequisitionStatus.DRAFT
    assert budgets.balances_of(b).reserved == D("0.00")
    approvals.submit(req, kit.buyer)
    approve_all(req)
    assert budgets.balances_of(b).reserved == D("1000.00")


def _repeats():
    import os

    return 10 if os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql") else 2


@pytest.mark.parametrize("attempt", range(_repeats()))
def test_concurrent_final_approvals_never_over_commit(app, kit, attempt):
    """Twenty requisitions of 10.00 approved at the same moment against a budget of 100.00:
    exactly ten are approved, ten refused with the budget message, totals exact to the cent."""
    b = budget(kit, "100.00")
    one_step_policy(kit)
    reqs = [submitted(kit, "10.00") for _ in range(20)]
    db.session.commit()
    work = [(r.id, active_task(r).id, approvers_of(active_task(r))[0].id) for r in reqs]
    org_id, budget_id = kit.org.id, b.id
    barrier = threading.Barrier(len(work), timeout=30)
    results, lock = [], threading.Lock()

    def approve(req_id, task_id, user_id):
        barrier.wait()
        try:
            with app.test_request_context(base_url=app.config["BASE_URL"]), \
                    bound(db.session, TenantScope(org_id)):
                task = db.session.scalars(select(ApprovalTask).where(ApprovalTask.id == task_id)).one()
                actor = db.session.scalars(select(User).where(User.id == user_id)).one()
                try:
                    approvals.decide(task, actor, "approve")
                    db.session.commit()
                    outcome = "approved"
                except BudgetExceeded as exc:
                    db.session.rollback()
                    outcome = "refused" if "short" in str(exc.message) else f"odd: {exc.message}"
                finally:
                    db.session.remove()
        except Exception as exc:  # noqa: BLE001 - reported through results
            outcome = f"crashed: {exc!r}"
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=approve, args=w) for w in work]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results) == ["approved"] * 10 + ["refused"] * 10
    db.session.expire_all()
    stored = db.session.scalars(select(Budget).where(Budget.id == budget_id)).one()
    balances = budgets.balances_of(stored)
    assert (balances.reserved, balances.available, stored.consumed) == (D("100.00"), D("0.00"), D("100.00"))
    statuses = db.session.scalars(select(Requisition.status).where(Requisition.id.in_([w[0] for w in work]))).all()
    assert sorted(statuses) == sorted([RequisitionStatus.APPROVED] * 10 + [RequisitionStatus.PENDING] * 10)
    pending_tasks = db.session.scalars(select(ApprovalTask.status).where(ApprovalTask.id.in_([w[1] for w in work])))
    assert sorted(pending_tasks) == sorted([TaskStatus.APPROVED] * 10 + [TaskStatus.PENDING] * 10)
