"""An assignment carries its task's activated_at while it is open on the active step, and NULL
otherwise (portal.models.approval.sync_activation): the inbox reads its pages in that order
from one index, so the copy must follow the task through every service."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from portal.domain.approval import TaskStatus
from portal.extensions import db
from portal.models import ApprovalAssignment, ApprovalTask
from portal.models.base import utcnow
from portal.services import approvals
from tests.conftest import as_system
from tests.kit import as_acme, build_kit, submit, task


@pytest.fixture
def kit(app, world):
    return build_kit(app, world)


def _copies(req_id: int) -> dict:
    """(task position, user id, escalated) -> (assignment's activated_at, the task's
    activated_at if the assignment should carry it, else None), for each assignment."""
    with as_system():
        rows = db.session.execute(
            select(ApprovalTask, ApprovalAssignment)
            .join(ApprovalAssignment, ApprovalAssignment.task_id == ApprovalTask.id)
            .where(ApprovalTask.requisition_id == req_id)
            .order_by(ApprovalTask.position, ApprovalAssignment.id)
        ).all()
        found = {}
        for t, a in rows:
            expected = t.activated_at if t.status == TaskStatus.PENDING and a.decision is None else None
            found[(t.position, a.user_id, a.escalated)] = (a.activated_at, expected)
        db.session.rollback()
    return found


def _in_step(found: dict) -> None:
    for key, (copy, expected) in found.items():
        assert copy == expected, key


def test_the_assignment_follows_its_task_from_submission_to_the_last_decision(kit, app):
    ids = submit(app, kit, "20000", waited_days=2)  # steps: the manager, then the CFO
    found = _copies(ids["req"])
    _in_step(found)
    assert found[(1, kit.manager.id, False)][0] is not None
    assert found[(2, kit.cfo.id, False)][0] is None  # step 2 waits
    assert found[(1, kit.manager.id, False)][0] <= utcnow() - timedelta(days=2)

    with as_acme(app, kit):
        approvals.decide(task(ids["task"]), kit.manager, "approve")
    found = _copies(ids["req"])
    _in_step(found)
    assert found[(1, kit.manager.id, False)][0] is None  # decided
    assert found[(2, kit.cfo.id, False)][0] is not None  # step 2 is active now

    # Escalated after three days: the escalation user's new assignment carries it too.
    with time_machine.travel(utcnow() + timedelta(hours=73), tick=False):
        assert app.test_cli_runner().invoke(args=["send-reminders"]).exit_code == 0
    found = _copies(ids["req"])
    _in_step(found)
    escalated = [copy for (pos, _user, esc), (copy, _) in found.items() if pos == 2 and esc]
    assert escalated and all(copy is not None for copy in escalated)

    # The CFO decides: the step ends, and the escalated assignment, undecided, is closed too.
    with as_acme(app, kit):
        step2 = db.session.scalars(select(ApprovalTask).where(
            ApprovalTask.requisition_id == ids["req"], ApprovalTask.position == 2)).one()
        approvals.decide(step2, kit.cfo, "approve")
    found = _copies(ids["req"])
    _in_step(found)
    assert all(copy is None for copy, _ in found.values())


def test_a_returned_requisition_leaves_no_open_copy(kit, app):
    ids = submit(app, kit, "20000")
    with as_acme(app, kit):
        approvals.decide(task(ids["task"]), kit.manager, "return", "Wrong cost centre")
    found = _copies(ids["req"])
    _in_step(found)
    assert all(copy is None for copy, _ in found.values())


def test_moving_a_task_back_in_time_moves_its_open_assignments(kit, app):
    ids = submit(app, kit, "500")
    with as_acme(app, kit):
        step = task(ids["task"])
        step.activated_at = utcnow() - timedelta(days=9)
    found = _copies(ids["req"])
    _in_step(found)
    assert found[(1, kit.manager.id, False)][0] <= utcnow() - timedelta(days=9)


def test_a_delegate_deciding_closes_the_delegators_copy(kit, app):
    with as_acme(app, kit):
        today = utcnow().date()
        approvals.create_delegation(kit.manager, kit.cfo, today, today + timedelta(days=1))
    ids = submit(app, kit, "500")
    assert _copies(ids["req"])[(1, kit.manager.id, False)][0] is not None
    with as_acme(app, kit):
        approvals.decide(task(ids["task"]), kit.cfo, "approve")
    found = _copies(ids["req"])
    _in_step(found)
    assert found[(1, kit.manager.id, False)][0] is None
