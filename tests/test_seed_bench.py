"""`flask seed-bench`: the benchmark world is consistent (every state, tasks that match each
state, a ledger that matches its budgets, tenants kept apart), and the portal's own services
carry on from it (numbering continues without a gap). No timings here: those live in bench/."""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal

from sqlalchemy import func, select

from portal.domain.requisition import RequisitionStatus as S
from portal.extensions import db
from portal.models import CostCenter, Organization, Requisition
from portal.models.approval import ApprovalAssignment, ApprovalTask
from portal.models.audit import AuditEvent
from portal.models.budget import Budget, BudgetEntry
from portal.models.notification import Notification
from portal.models.requisition import RequisitionLine
from portal.services import requisitions
from portal.services.bench_seed import LONG_TIMELINE_TITLE
from tests.conftest import as_system, login
from tests.kit import acting_for

APPROVED_LIKE = {S.APPROVED, S.SOURCING, S.ORDERED, S.CLOSED}


def _seed(app, n=200, noise=3):
    result = app.test_cli_runner().invoke(
        args=["seed-bench", "--requisitions", str(n), "--noise-companies", str(noise), "--batch-size", "500"])
    assert result.exit_code == 0, result.output
    assert f"Bench world ready: {n} requisitions" in result.output


def test_seed_bench_builds_every_state_with_matching_tasks(app, world):
    _seed(app)
    acme = world.acme
    with as_system():
        reqs = db.session.execute(select(Requisition.id, Requisition.status, Requisition.net_total).where(
            Requisition.organization_id == acme.id)).all()
        tasks = defaultdict(list)
        for req_id, status, decision in db.session.execute(
                select(ApprovalTask.requisition_id, ApprovalTask.status, ApprovalAssignment.decision)
                .join(ApprovalAssignment, ApprovalAssignment.task_id == ApprovalTask.id)
                .where(ApprovalTask.organization_id == acme.id)):
            tasks[req_id].append((str(status), decision))
        lines = dict(db.session.execute(select(RequisitionLine.requisition_id, func.count()).where(
            RequisitionLine.organization_id == acme.id).group_by(RequisitionLine.requisition_id)).all())
        line_sums = dict(db.session.execute(select(RequisitionLine.requisition_id, func.sum(RequisitionLine.net))
                                            .group_by(RequisitionLine.requisition_id)).all())
        events = dict(db.session.execute(select(AuditEvent.object_id, func.count()).where(
            AuditEvent.object_type == "Requisition", AuditEvent.organization_id == acme.id)
            .group_by(AuditEvent.object_id)).all())
        notifications = db.session.scalar(select(func.count()).select_from(Notification).where(
            Notification.organization_id == acme.id))
    assert len(reqs) == 200
    assert {status for _, status, _ in reqs} == set(S)
    for req_id, status, net in reqs:
        assert 1 <= lines[req_id] <= 5
        assert line_sums[req_id] == net
        assert events[req_id] >= 1
        found = tasks.get(req_id, [])
        if status == S.DRAFT:
            assert found == []
        elif status == S.PENDING:
            assert [t for t in found if t[0] == "pending"] == [("pending", None)]
            assert all(t == ("approved", "approve") for t in found if t[0] != "pending")
        elif status in APPROVED_LIKE:
            assert found and all(t == ("approved", "approve") for t in found)
        elif status == S.REJECTED:
            assert ("rejected", "reject") in found
        elif status == S.CANCELLED:
            assert found and all(t == ("cancelled", None) for t in found)
    assert notifications > 0


def test_seed_bench_ledger_matches_budgets_and_numbering_continues(app, world):
    _seed(app)
    acme = world.acme
    with as_system():
        budgets = db.session.scalars(select(Budget).where(Budget.organization_id == acme.id)).all()
        assert budgets
        for budget in budgets:
            ledger = db.session.scalar(select(func.coalesce(func.sum(BudgetEntry.amount), 0)).where(
                BudgetEntry.budget_id == budget.id))
            assert Decimal(ledger) == budget.consumed
            assert budget.amount >= budget.consumed
        assert db.session.scalar(select(func.count()).select_from(BudgetEntry).where(
            BudgetEntry.organization_id == acme.id)) > 0
    buyer = world.user("buyer@acme")
    with acting_for(acme):
        cc = db.session.scalar(select(CostCenter).where(CostCenter.organization_id == acme.id))
        created = requisitions.create_requisition(buyer, title="After the bench", cost_center=cc)
        db.session.commit()
        numbers = db.session.scalars(select(Requisition.number).where(
            Requisition.organization_id == acme.id)).all()
    year = created.number.split("-")[1]
    assert sorted(int(n.rsplit("-", 1)[1]) for n in numbers if n.split("-")[1] == year) == list(
        range(1, len(numbers) + 1))
    assert created.number == f"REQ-{year}-{len(numbers):05d}"


def test_seed_bench_keeps_tenants_apart(app, world, client):
    _seed(app)
    acme = world.acme
    with as_system():
        noise = db.session.scalars(select(Organization).where(Organization.name.like("Noise Company %"))).all()
        assert len(noise) == 3
        noise_req = db.session.scalar(select(Requisition).where(Requisition.organization_id == noise[0].id))
        long_id = db.session.scalar(select(Requisition.id).where(Requisition.title == LONG_TIMELINE_TITLE))
        # Children carry their parent's company.
        mixed = db.session.scalar(select(func.count()).select_from(RequisitionLine).join(
            Requisition, Requisition.id == RequisitionLine.requisition_id).where(
            Requisition.organization_id != RequisitionLine.organization_id))
        assert mixed == 0
    with acting_for(acme):
        visible = Counter(db.session.scalars(select(Requisition.organization_id)))
    assert set(visible) == {acme.id}
    login(client, world.user("admin@acme"))
    assert client.get(f"/requisitions/{noise_req.id}").status_code == 404
    page = client.get(f"/requisitions/{long_id}")
    assert page.status_code == 200
    assert "Please revise." in page.get_data(as_text=True)
    assert client.get("/requisitions/all?status=pending").status_code == 200
