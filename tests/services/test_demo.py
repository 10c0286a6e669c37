"""The demo world's requisitions (portal/services/demo_requisitions.py): every state, real
trails, idempotent, and nothing routed to nobody."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.domain.approval import TaskStatus, eligible
from portal.domain.requisition import RequisitionStatus
from portal.extensions import db
from portal.models import (
    ApprovalAssignment,
    ApprovalStep,
    ApprovalTask,
    AuditEvent,
    DecisionToken,
    Delegation,
    Notification,
    Requisition,
    User,
)
from portal.models.base import utcnow
from portal.services import approvals, mail
from portal.services.demo import seed_demo
from portal.tenancy import system
from tests.conftest import World
from tests.kit import acting_for, services

S = RequisitionStatus
# With the sourcing documents (demo_sourcing): requisitions out for quotes and ordered too.
EXPOSED = {S.DRAFT, S.PENDING, S.APPROVED, S.REJECTED, S.CANCELLED, S.SOURCING, S.ORDERED}
COUNTED = [Requisition, ApprovalTask, ApprovalAssignment, ApprovalStep, AuditEvent, Notification,
           Delegation, DecisionToken, User]


@pytest.fixture
def demo(app, world) -> World:
    """The full demo world, documents included (the tests' `world` stops before them)."""
    with system(db.session):
        built = seed_demo()
        db.session.commit()
    return World(orgs=built["orgs"], users=built["users"])


def _counts() -> dict:
    with system(db.session):
        return {m.__name__: db.session.scalar(select(func.count()).select_from(m)) for m in COUNTED}


def _requisitions(org) -> list[Requisition]:
    with system(db.session):
        return list(db.session.scalars(
            select(Requisition).where(Requisition.organization_id == org.id)
            .order_by(Requisition.id)))


def test_seeding_twice_creates_nothing_new_and_leaves_no_mail(app, demo):
    assert mail.outbox == []  # the demo's mail is not the test's
    before = _counts()
    with system(db.session):
        seed_demo()
        db.session.commit()
    assert _counts() == before
    assert before["Requisition"] >= 15
    assert before["Notification"] > 20 and before["DecisionToken"] > 5


def _every_status(demo):
    assert {r.status for r in _requisitions(demo.acme)} == EXPOSED
    assert {r.status for r in _requisitions(demo.globex)} >= {S.DRAFT, S.PENDING, S.APPROVED}


def _buyer2_and_globex(demo):
    acme = _requisitions(demo.acme)
    assert sum(r.requester_id == demo.user("buyer2@acme").id for r in acme) >= 3
    assert all(r.currency == "EUR" for r in _requisitions(demo.globex))
    assert all(r.currency == "PLN" for r in acme)


def _board_and_policies(demo):
    ceo, coo = demo.user("ceo@acme"), demo.user("coo@acme")
    assert (ceo.full_name, coo.full_name) == ("Zofia Wójcik", "Tomasz Kamiński")
    assert ceo.approval_limit is None and coo.approval_limit is None
    with system(db.session):
        policy = approvals.policy_for(demo.acme.id)
        # Acme is Polish: its admin named the steps in Polish (issue 8, point 9).
        assert [s.name for s in policy.steps] == ["Kierownik centrum kosztów",
                                                  "Akceptacja dyrektora finansowego",
                                                  "Zarząd: inwestycje IT"]
        assert [s.name for s in approvals.policy_for(demo.globex.id).steps] == [
            "Manager", "Any approver with a sufficient limit"]
        board = policy.steps[2]
        assert {m.user_id for m in board.members} == {demo.user("cfo@acme").id, ceo.id, coo.id}
        assert (board.quorum_n, board.category.code, board.min_amount) == (2, "IT", 50000)
        assert policy.escalation_user_id == demo.user("admin@acme").id
        assert (policy.reminder_hours, policy.escalation_hours) == (24, 72)
        globex = approvals.policy_for(demo.globex.id)
        assert [s.approver_kind for s in globex.steps] == ["cost_center_manager", "approver_limit"]


def _eligible_assignees(demo):
    checked = 0
    with system(db.session):
        for org in (demo.acme, demo.globex):
            people = approvals.directory(org.id)
            for req in _requisitions(org):
                if req.status != S.PENDING:
                    continue
                facts = approvals.facts_for(req)
                for task in approvals.tasks_of(req, req.approval_round):
                    if task.status not in (TaskStatus.PENDING, TaskStatus.WAITING):
                        continue
                    assert any(eligible(people[a.user_id], facts) for a in task.assignments
                               if a.decision is None), (req.number, task.name)
                    checked += 1
    assert checked >= 5


def _approved_complete(demo):
    with system(db.session):
        for req in _requisitions(demo.acme) + _requisitions(demo.globex):
            if req.status == S.APPROVED:
                tasks = approvals.tasks_of(req, req.approval_round)
                assert tasks and all(t.status == TaskStatus.APPROVED for t in tasks), req.number


def _delegate_named(demo):
    with system(db.session):
        events = db.session.scalars(select(AuditEvent).where(
            AuditEvent.organization_id == demo.acme.id,
            AuditEvent.on_behalf_of_id.is_not(None))).all()
        assert [(e.actor.full_name, e.on_behalf_of.full_name) for e in events] == [
            ("Zofia Wójcik", "Ewa Lewandowska")]
        delegation = db.session.scalars(select(Delegation)).one()
        today = utcnow().date()
        assert delegation.starts_on <= today <= delegation.ends_on
        assert delegation.starts_on <= events[0].created_at.date()


def _comments(demo):
    with system(db.session):
        for action in ("requisition.rejected", "requisition.returned"):
            (event,) = db.session.scalars(select(AuditEvent).where(
                AuditEvent.organization_id == demo.acme.id, AuditEvent.action == action)).all()
            assert len(event.comment) > 10
        returned = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "requisition.returned")).one()
        assert returned.actor.email == "cfo@acme.example"


def _timelines(demo):
    now = utcnow()
    with system(db.session):
        reqs = _requisitions(demo.acme)
        assert min(r.created_at for r in reqs) < now - timedelta(days=14)
        # numbers follow creation
        assert sorted(reqs, key=lambda r: r.created_at) == sorted(reqs, key=lambda r: r.number)
        for req in reqs:
            events = db.session.scalars(select(AuditEvent).where(
                AuditEvent.object_type == "Requisition", AuditEvent.object_id == req.id)
                .order_by(AuditEvent.id)).all()
            times = [e.created_at for e in events]
            assert times == sorted(times), req.number
            assert timedelta(0) <= times[0] - req.created_at < timedelta(minutes=1)
            assert all(t <= now for t in times)
            assert req.updated_at <= now
            if req.submitted_at:
                assert req.created_at <= req.submitted_at <= now
            for task in approvals.tasks_of(req):
                if task.activated_at and task.decided_at:
                    assert task.activated_at <= task.decided_at <= now


def _reminder_job(app, demo):
    with services(app), acting_for(demo.acme):
        first = approvals.send_reminders(demo.acme.id)
        again = approvals.send_reminders(demo.acme.id)
    assert first["reminded"] >= 3 and first["escalated"] >= 2
    assert again == {"reminded": 0, "escalated": 0}


# Seeding the demo takes a few seconds: the checks share it, a few per test.


def test_every_state_for_acme_with_its_people_and_policies(demo):
    """Draft, pending, approved, rejected and cancelled at Acme; buyer2's and Globex's own;
    the board users and both policies as designed."""
    _every_status(demo)
    _buyer2_and_globex(demo)
    _board_and_policies(demo)


def test_the_trails_are_real_and_nothing_waits_for_nobody(demo):
    """Each open task of a pending requisition has an eligible assignee; approved ones went
    through every step; one decision names a delegate and the person they stood in for; the
    rejection and the return carry their reasons."""
    _eligible_assignees(demo)
    _approved_complete(demo)
    _delegate_named(demo)
    _comments(demo)


def test_timelines_spread_over_weeks_and_the_reminder_job_has_work(app, demo):
    _timelines(demo)
    _assignments_carry_their_tasks_moment()
    _reminder_job(app, demo)


def _assignments_carry_their_tasks_moment():
    """The back-dated activations reach the inbox's copy on the open assignments."""
    with system(db.session):
        pairs = db.session.execute(
            select(ApprovalAssignment, ApprovalTask)
            .join(ApprovalTask, ApprovalTask.id == ApprovalAssignment.task_id)).all()
    opened = 0
    for assignment, task in pairs:
        open_ = assignment.decision is None and task.status == TaskStatus.PENDING
        assert assignment.activated_at == (task.activated_at if open_ else None), assignment.id
        opened += open_
    assert opened
