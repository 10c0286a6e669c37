"""Repeated and concurrent identical requests act once (issue 8, point 24).

A double click, a re-sent form or ten requests fired at once must not record a decision twice,
route a requisition twice or notify twice: each state change takes the requisition's row lock
and checks, under it, the state it expects. Run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from portal.domain.approval import TaskStatus
from portal.domain.requisition import RequisitionStatus
from portal.extensions import db
from portal.models import ApprovalAssignment, ApprovalTask, Notification, RequisitionLine
from portal.tenancy import system
from tests.conftest import login
from tests.kit import build_kit, draft, events, notes, requisition, services, submit

S = RequisitionStatus


@pytest.fixture
def kit(app, world):
    return build_kit(app, world)


def _decide_url(task_id: int) -> str:
    return f"/approvals/tasks/{task_id}/decide"


def _all_at_once(app, user, url: str, data: dict, *, times: int = 10) -> list[tuple[int, str]]:
    """POST `data` to `url` from `times` signed-in clients released together; each answer's
    status and where it redirects (a refusal is a flash and a redirect back, as any
    DomainError)."""
    db.session.commit()
    clients = []
    for _ in range(times):
        client = app.test_client()
        login(client, user)
        clients.append(client)
    db.session.commit()  # the test's own session holds no lock while they run
    start = threading.Barrier(times)
    statuses: list[tuple[int, str]] = []
    failures: list[BaseException] = []

    def post(client):
        try:
            start.wait()
            response = client.post(url, data=data)
            statuses.append((response.status_code, response.headers.get("Location", "")))
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            failures.append(exc)

    threads = [threading.Thread(target=post, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    assert len(statuses) == times
    return statuses


def _count(model, *where) -> int:
    db.session.expire_all()
    with system(db.session):
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_ten_identical_approvals_at_once_record_one_decision_and_one_notice(app, kit):
    ids = submit(app, kit, "1000")
    statuses = _all_at_once(app, kit.manager, _decide_url(ids["task"]), {"decision": "approve"})
    assert all(status == 302 for status, _ in statuses), statuses
    assert [where for _, where in statuses].count("/approvals/") == 1, statuses  # one success
    assert requisition(ids["req"]).status == S.APPROVED
    assert len(events(ids["req"], "approval.approved")) == 1
    assert len(events(ids["req"], "requisition.approved")) == 1
    assert len(notes(kit.buyer, "requisition.approved")) == 1
    assert _count(ApprovalAssignment, ApprovalAssignment.decision.is_not(None)) == 1


def test_a_second_approve_of_a_decided_step_is_refused_with_a_message(app, kit, login_as):
    ids = submit(app, kit, "1000")
    client = login_as(kit.manager)
    first = client.post(_decide_url(ids["task"]), data={"decision": "approve"})
    assert first.status_code == 302
    again = client.post(_decide_url(ids["task"]), data={"decision": "approve"},
                        follow_redirects=True)
    assert "This approval step is no longer open." in again.text
    assert len(events(ids["req"], "approval.approved")) == 1
    assert len(notes(kit.buyer, "requisition.approved")) == 1


def test_a_reject_after_an_approve_is_refused_and_changes_nothing(app, kit, login_as):
    ids = submit(app, kit, "1000")
    client = login_as(kit.manager)
    assert client.post(_decide_url(ids["task"]), data={"decision": "approve"}).status_code == 302
    late = client.post(_decide_url(ids["task"]),
                       data={"decision": "reject", "comment": "Za drogie"})
    assert late.status_code in (302, 409)
    assert requisition(ids["req"]).status == S.APPROVED
    assert events(ids["req"], "approval.rejected") == []


def test_decide_refuses_a_task_that_was_decided_after_it_was_loaded(app, kit):
    """The service re-reads the state under the lock: a stale object cannot decide twice."""
    from portal.errors import DomainError
    from portal.services import approvals
    from tests.kit import acting, active_task

    with acting(app, kit.org):
        req = draft(kit, "1000")
        approvals.submit(req, kit.buyer)
        task = active_task(req)
        db.session.commit()
        task_id = task.id
        # This request has read the open step (and the requisition) before the other decides.
        assert task.status == TaskStatus.PENDING and task.requisition.status == S.PENDING
        assert [a.decision for a in task.assignments] == [None]
    # Another request decides it meanwhile (its own connection, committed).
    with app.app_context():
        db.session.remove()
        with acting(app, kit.org):
            other = db.session.get(ApprovalTask, task_id)
            approvals.decide(other, db.session.merge(kit.manager), "approve")
            db.session.commit()
    with acting(app, kit.org), pytest.raises(DomainError, match="no longer open"):
        approvals.decide(task, kit.manager, "approve")
    db.session.rollback()
    assert len(events(req.id, "approval.approved")) == 1


def test_two_submits_at_once_route_the_requisition_once(app, kit):
    submit(app, kit, "500")  # the company's routing is in use already (its policy versioned)
    with services(app):
        req = draft(kit, "1000")
        req_id = req.id
    told = _count(Notification, Notification.user_id == kit.manager.id)
    statuses = _all_at_once(app, kit.buyer, f"/requisitions/{req_id}/submit", {}, times=5)
    assert all(status == 302 for status, _ in statuses), statuses
    assert _count(ApprovalTask, ApprovalTask.requisition_id == req_id) == 1
    assert len(events(req_id, "requisition.submitted")) == 1
    pending = _count(ApprovalTask, ApprovalTask.requisition_id == req_id,
                     ApprovalTask.status == TaskStatus.PENDING)
    assert pending == 1
    assert _count(Notification, Notification.user_id == kit.manager.id) == told + 1


def test_taking_the_lock_changes_nothing_in_the_row(app, kit):
    from portal.services.locks import lock_requisition
    from tests.kit import acting

    with acting(app, kit.org):
        req = draft(kit, "1000")
        db.session.commit()
        before = (req.updated_at, req.status, req.gross_total)
        lock_requisition(req)
        db.session.commit()
    again = requisition(req.id)
    assert (again.updated_at, again.status, again.gross_total) == before


def test_five_cancels_at_once_cancel_once(app, kit):
    ids = submit(app, kit, "1000")
    _all_at_once(app, kit.buyer, f"/requisitions/{ids['req']}/cancel", {"comment": ""}, times=5)
    assert requisition(ids["req"]).status == S.CANCELLED
    assert len(events(ids["req"], "requisition.cancelled")) == 1


def test_a_line_added_from_a_stale_page_after_a_submit_is_refused(app, kit):
    """Draft edits check "still a draft" under the lock: no line slips into a submitted one."""
    from decimal import Decimal

    from portal.errors import DomainError
    from portal.services import approvals, requisitions
    from tests.kit import acting

    with acting(app, kit.org):
        req = draft(kit, "1000")
        db.session.commit()
        assert req.status == S.DRAFT and len(req.lines) == 1  # this request has read the draft
    with app.app_context():  # another request submits it meanwhile
        db.session.remove()
        with acting(app, kit.org):
            approvals.submit(db.session.get(type(req), req.id), db.session.merge(kit.buyer))
            db.session.commit()
    with acting(app, kit.org), pytest.raises(DomainError):
        requisitions.add_line(req, kit.buyer, description="Jeszcze jedno", quantity=Decimal("1"),
                              unit_price=Decimal("10"), vat_rate=Decimal("23"))
    db.session.rollback()
    assert _count(RequisitionLine, RequisitionLine.requisition_id == req.id) == 1
