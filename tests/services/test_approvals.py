"""Approval services (portal/services/approvals/): routing on submit, decisions, segregation of
duties, approver limits, tenancy, delegation, reminders and escalation, notifications."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.domain.approval import ApproverKind, TaskStatus, reason_message
from portal.domain.requisition import RequisitionStatus
from portal.errors import InvalidTransition, NotFound, PermissionDenied, ValidationProblem
from portal.extensions import db
from portal.jobs.rendering import shown_to_recipient
from portal.models import (
    ApprovalAssignment,
    ApprovalStep,
    ApprovalTask,
    AuditEvent,
    DecisionToken,
    Notification,
    Requisition,
)
from portal.models.base import utcnow
from portal.money import Money
from portal.services import approval_policy, approvals, audit, mail, requisitions, users
from portal.tenancy import system
from tests.kit import (
    acme_kit,
    acting_for,
    active_task,
    approve_all,
    count,
    draft,
    services,
    submitted,
)

D = Decimal
S = RequisitionStatus


@pytest.fixture
def kit(app, world):
    with services(app):
        built = acme_kit(world)
        with acting_for(world.acme):
            yield built


def _events(req, action=None):
    query = select(AuditEvent).where(AuditEvent.object_type == "Requisition",
                                     AuditEvent.object_id == req.id)
    if action:
        query = query.where(AuditEvent.action == action)
    return list(db.session.scalars(query.order_by(AuditEvent.id)))


def _notes(user, kind=None):
    query = select(Notification).where(Notification.user_id == user.id)
    if kind:
        query = query.where(Notification.kind == kind)
    # As the recipient reads them (their language, the link as a path).
    return [shown_to_recipient(n, user) for n in db.session.scalars(query.order_by(Notification.id))]


# ---------------------------------------------------------------- submit and routing


def test_submit_creates_the_tasks_of_the_applicable_steps_with_their_reasons(kit):
    req = submitted(kit, "60000", category=kit.cat_it)
    tasks = approvals.tasks_of(req)
    assert [(t.position, t.name, t.status, t.round) for t in tasks] == [
        (1, "Cost centre manager", TaskStatus.PENDING, 1),
        (2, "CFO approval", TaskStatus.WAITING, 1),
        (3, "Board: IT investments", TaskStatus.WAITING, 1),
    ]
    # The CFO sits on the board too, but a person decides once per requisition (the default).
    assert [{a.user_id for a in t.assignments} for t in tasks] == [
        {kit.manager.id}, {kit.cfo.id}, {kit.ceo.id, kit.coo.id}]
    assert [t.required for t in tasks] == [1, 1, 2]
    assert tasks[0].activated_at is not None and tasks[1].activated_at is None
    # the "why" is stored with its parameters, so it reads the same forever
    assert tasks[0].reason == "Rule “%(step)s” applies to every requisition"
    assert reason_message(tasks[1].reason, tasks[1].reason_params).params["threshold"] == Money(
        Decimal("10000.00"), "PLN")
    board = reason_message(tasks[2].reason, tasks[2].reason_params)
    assert board.params["rule"].params["category"] == "IT" and board.params["names"] == "Ewa Lewandowska"
    assert all(t.step_id is not None for t in tasks)
    assert req.status == S.PENDING and req.approval_round == 1 and req.submitted_at is not None
    (event,) = _events(req, "requisition.submitted")
    assert event.actor_id == kit.buyer.id and event.summary["round"] == 1


def test_small_requisition_needs_the_manager_only(kit):
    req = submitted(kit, "9999.99", category=kit.cat_it)
    assert [t.name for t in approvals.tasks_of(req)] == ["Cost centre manager"]


def test_without_any_applicable_step_it_is_approved_on_submit_and_says_why(kit, world):
    with system(db.session):
        for step in list(kit.policy.steps):
            approval_policy.delete_step(kit.admin, step)
        db.session.flush()
    req = submitted(kit, "500")
    assert req.status == S.APPROVED and approvals.tasks_of(req) == []
    (event,) = _events(req, "requisition.approved")
    assert event.actor_id is None and "No approval rule applies" in str(audit.summary_of(event)["reason"])


def test_nobody_eligible_refuses_the_submit_and_saves_nothing(kit, world):
    # the manager asks, and the only admin is deactivated
    kit.cc_it.manager_id = kit.buyer.id
    with system(db.session):
        kit.admin.is_active_flag = False
        db.session.flush()
    req = draft(kit)
    db.session.commit()
    with pytest.raises(ValidationProblem) as refused:
        approvals.submit(req, kit.buyer)
    assert "Cost centre manager" in str(refused.value.message)
    db.session.rollback()
    assert db.session.get(Requisition, req.id).status == S.DRAFT
    assert count(ApprovalTask, ApprovalTask.requisition_id == req.id) == 0


def test_only_the_requester_submits(kit):
    req = draft(kit)
    for who in (kit.buyer2, kit.admin, kit.manager):
        with pytest.raises(PermissionDenied):
            approvals.submit(req, who)
    assert req.status == S.DRAFT


# ---------------------------------------------------------------- deciding


def test_approve_through_every_step(kit):
    req = submitted(kit, "75000", category=kit.cat_it)
    manager_task, cfo_task, board_task = approvals.tasks_of(req)
    approvals.decide(manager_task, kit.manager, "approve", "OK")
    assert (manager_task.status, cfo_task.status) == (TaskStatus.APPROVED, TaskStatus.PENDING)
    assert cfo_task.activated_at is not None
    approvals.decide(cfo_task, kit.cfo, "approve")
    assert board_task.status == TaskStatus.PENDING
    # the CFO sits on the board too, but decides once: the board is the CEO and the COO
    with pytest.raises(PermissionDenied):
        approvals.decide(board_task, kit.cfo, "approve")
    approvals.decide(board_task, kit.ceo, "approve")
    assert board_task.status == TaskStatus.PENDING and req.status == S.PENDING
    with pytest.raises(PermissionDenied):  # already decided her share
        approvals.decide(board_task, kit.ceo, "approve")
    approvals.decide(board_task, kit.coo, "approve")
    assert board_task.status == TaskStatus.APPROVED
    assert req.status == S.APPROVED and req.decided_at is not None
    assert all(t.status == TaskStatus.APPROVED for t in approvals.tasks_of(req))
    assert [e.action for e in _events(req)] == [
        "requisition.created", "requisition.submitted", "approval.approved", "approval.approved",
        "approval.approved", "approval.approved", "requisition.approved"]
    with pytest.raises(InvalidTransition):
        approvals.decide(board_task, kit.ceo, "approve")


@pytest.mark.parametrize("decision", ["reject", "return"])
def test_reject_and_return_need_a_comment(kit, decision):
    req = submitted(kit)
    task = active_task(req)
    for comment in ("", "   "):
        with pytest.raises(ValidationProblem) as refused:
            approvals.decide(task, kit.manager, decision, comment)
        assert "comment" in str(refused.value.message)
    assert task.status == TaskStatus.PENDING and req.status == S.PENDING
    assert all(a.decision is None for a in task.assignments)


def test_unknown_decision_and_overlong_comment_are_refused(kit):
    task = active_task(submitted(kit))
    with pytest.raises(ValidationProblem):
        approvals.decide(task, kit.manager, "maybe")
    with pytest.raises(ValidationProblem):
        approvals.decide(task, kit.manager, "approve", "x" * 2001)


def test_reject_ends_it_and_closes_the_other_tasks(kit):
    req = submitted(kit, "20000")
    first, second = approvals.tasks_of(req)
    approvals.decide(first, kit.manager, "approve")
    approvals.decide(second, kit.cfo, "reject", "Poza budżetem")
    assert req.status == S.REJECTED and second.status == TaskStatus.REJECTED
    (event,) = _events(req, "requisition.rejected")
    assert event.comment == "Poza budżetem" and event.actor_id == kit.cfo.id
    (note,) = _notes(kit.buyer, "requisition.rejected")
    assert "Poza budżetem" in note.text and note.link.endswith(f"/{req.id}")


def test_return_edit_and_resubmit_start_a_new_round_from_the_first_step(kit):
    req = submitted(kit, "20000")
    first, second = approvals.tasks_of(req)
    approvals.decide(first, kit.manager, "approve")
    approvals.decide(second, kit.cfo, "return", "Zmniejsz ilość")
    assert req.status == S.DRAFT
    assert (first.status, second.status) == (TaskStatus.APPROVED, TaskStatus.RETURNED)
    (note,) = _notes(kit.buyer, "requisition.returned")
    assert "Zmniejsz ilość" in note.text
    # the requester edits: now 5 000, below the CFO threshold
    requisitions.update_line(req, req.lines[0], kit.buyer, unit_price=D("5000"))
    approvals.submit(req, kit.buyer)
    assert req.approval_round == 2
    round_two = approvals.tasks_of(req, 2)
    assert [(t.position, t.name, t.status) for t in round_two] == [
        (1, "Cost centre manager", TaskStatus.PENDING)]
    # the old round stays as it was: history
    assert [t.status for t in approvals.tasks_of(req, 1)] == [
        TaskStatus.APPROVED, TaskStatus.RETURNED]
    # the earlier approval of step 1 does not count: the manager decides again
    with pytest.raises(InvalidTransition):
        approvals.decide(first, kit.manager, "approve")
    approvals.decide(round_two[0], kit.manager, "approve")
    assert req.status == S.APPROVED


def test_a_return_during_round_one_cancels_its_waiting_steps(kit):
    req = submitted(kit, "60000", category=kit.cat_it)
    first, second, third = approvals.tasks_of(req)
    approvals.decide(first, kit.manager, "return", "Brak oferty")
    assert [t.status for t in (first, second, third)] == [
        TaskStatus.RETURNED, TaskStatus.CANCELLED, TaskStatus.CANCELLED]
    approvals.submit(req, kit.buyer)
    assert [t.status for t in approvals.tasks_of(req, 2)] == [
        TaskStatus.PENDING, TaskStatus.WAITING, TaskStatus.WAITING]


def test_a_later_step_cannot_be_decided_before_its_turn(kit):
    req = submitted(kit, "20000")
    _, cfo_task = approvals.tasks_of(req)
    with pytest.raises(InvalidTransition):
        approvals.decide(cfo_task, kit.cfo, "approve")


# ---------------------------------------------------------------- segregation of duties


@pytest.fixture
def boss(kit):
    """A buyer who is also an approver without a limit and an admin."""
    with system(db.session):
        user = users.create_user(kit.org, email="szef@acme.example", full_name="Szymon Szef",
                                 roles=["buyer", "approver", "admin"], password="portal-demo-2026")
        db.session.flush()
    return user


def test_requester_never_approves_even_as_manager_approver_and_admin(kit, boss):
    kit.cc_adm.manager_id = boss.id
    req = submitted(kit, "60000", actor=boss, cost_center=kit.cc_adm, category=kit.cat_it)
    tasks = approvals.tasks_of(req)
    assert all(boss.id not in {a.user_id for a in t.assignments} for t in tasks)
    assert tasks[0].assignments[0].user_id == kit.admin.id  # the step fell to the other admin
    assert "raised the requisition, so the company admins decide" in str(
        reason_message(tasks[0].reason, tasks[0].reason_params))
    # a crafted decision on the task anyway
    for decision, comment in (("approve", ""), ("reject", "x"), ("return", "x")):
        with pytest.raises(PermissionDenied) as refused:
            approvals.decide(tasks[0], boss, decision, comment)
        assert "own requisition" in str(refused.value.message)
    assert not approvals.can_decide(tasks[0], boss)
    assert approvals.can_decide(tasks[0], kit.admin)
    assert db.session.scalars(approvals.inbox_query(boss)).all() == []


def test_requester_cannot_decide_even_as_a_delegate(kit, boss):
    today = utcnow().date()
    approvals.create_delegation(kit.manager, boss, today, today + timedelta(days=3))
    req = submitted(kit, "500", actor=boss, cost_center=kit.cc_it)
    task = active_task(req)
    assert {a.user_id for a in task.assignments} == {kit.manager.id}
    with pytest.raises(PermissionDenied):
        approvals.decide(task, boss, "approve")
    assert not approvals.can_decide(task, boss)


def test_someone_not_assigned_cannot_decide(kit):
    task = active_task(submitted(kit))
    for who in (kit.cfo, kit.ceo, kit.admin, kit.buyer2, kit.approver):
        with pytest.raises(PermissionDenied):
            approvals.decide(task, who, "approve")
        assert not approvals.can_decide(task, who)
    assert task.status == TaskStatus.PENDING


# ---------------------------------------------------------------- approval limits


def test_an_approver_whose_limit_is_below_the_amount_is_never_routed_to(kit):
    req = submitted(kit, "12000", cost_center=kit.cc_prod)  # PROD's manager: limit 10 000
    first = approvals.tasks_of(req)[0]
    assert [a.user_id for a in first.assignments] == [kit.admin.id]
    with pytest.raises(PermissionDenied):
        approvals.decide(first, kit.approver, "approve")


def test_an_approver_whose_limit_dropped_below_the_amount_cannot_approve(kit):
    req = submitted(kit, "8000", cost_center=kit.cc_prod)
    task = active_task(req)
    assert [a.user_id for a in task.assignments] == [kit.approver.id]
    users.set_roles(kit.approver, ["approver"], actor=kit.admin, approval_limit=D("5000"))
    with pytest.raises(PermissionDenied) as refused:
        approvals.decide(task, kit.approver, "approve")
    assert "limit" in str(refused.value.message)
    assert task.status == TaskStatus.PENDING
    # returning is still possible
    approvals.decide(task, kit.approver, "return", "Nie mogę zatwierdzić tej kwoty")
    assert req.status == S.DRAFT


def test_approver_limit_step_routes_to_approvers_covering_the_amount(kit):
    with system(db.session):
        for step in list(kit.policy.steps):
            approval_policy.delete_step(kit.admin, step)
    approval_policy.save_step(kit.admin, None, name="Any approver with a sufficient limit",
                              approver_kind=ApproverKind.APPROVER_LIMIT, min_amount=D("0"))
    small = approvals.tasks_of(submitted(kit, "9000"))[0]
    large = approvals.tasks_of(submitted(kit, "100000"))[0]
    unlimited = {kit.ceo.id, kit.coo.id, kit.manager.id}
    assert {a.user_id for a in small.assignments} == unlimited | {kit.approver.id, kit.cfo.id}
    assert {a.user_id for a in large.assignments} == unlimited | {kit.cfo.id}


# ---------------------------------------------------------------- tenancy


def test_an_approver_of_another_company_can_neither_see_nor_decide(kit, world):
    req = submitted(kit, "500")
    task = active_task(req)
    db.session.commit()
    task_id, req_id = task.id, req.id
    outsider = world.user("approver@globex")
    with acting_for(world.globex):
        found = db.session.scalars(select(ApprovalTask).where(ApprovalTask.id == task_id))
        assert found.first() is None
        found = db.session.scalars(select(Requisition).where(Requisition.id == req_id))
        assert found.first() is None
        assert db.session.scalars(approvals.inbox_query(outsider)).all() == []
        assert approvals.tasks_of(req) == []
    # even holding the task object (a crafted request cannot load it), the decision is refused:
    # another company's object is not found (404), before any role is looked at
    with pytest.raises(NotFound):
        approvals.decide(task, outsider, "approve")
    db.session.rollback()
    assert db.session.get(ApprovalTask, task.id).status == TaskStatus.PENDING


# ---------------------------------------------------------------- delegation


def _cfo_step(kit):
    req = submitted(kit, "20000")
    first, second = approvals.tasks_of(req)
    approvals.decide(first, kit.manager, "approve")
    return req, second


def test_an_active_delegate_decides_and_the_trail_names_both(kit):
    today = utcnow().date()
    delegation = approvals.create_delegation(kit.cfo, kit.ceo, today - timedelta(days=1),
                                             today + timedelta(days=7))
    (note,) = _notes(kit.ceo, "delegation")
    assert "Ewa Lewandowska" in note.text
    req, task = _cfo_step(kit)
    assert approvals.can_decide(task, kit.ceo)
    assert task.id in [t.id for t in db.session.scalars(approvals.inbox_query(kit.ceo))]
    approvals.decide(task, kit.ceo, "approve", "W zastępstwie")
    assignment = task.assignments[0]
    assert (assignment.user_id, assignment.decided_by_id) == (kit.cfo.id, kit.ceo.id)
    assert req.status == S.APPROVED
    (event,) = _events(req, "approval.approved")[-1:]
    assert (event.actor_id, event.on_behalf_of_id) == (kit.ceo.id, kit.cfo.id)
    assert delegation.id is not None


@pytest.mark.parametrize("state", ["expired", "future", "revoked"])
def test_an_inactive_delegation_gives_no_right(kit, state):
    today = utcnow().date()
    if state == "expired":
        approvals.create_delegation(kit.cfo, kit.ceo, today - timedelta(days=10),
                                    today - timedelta(days=1), today=today - timedelta(days=10))
    elif state == "future":
        approvals.create_delegation(kit.cfo, kit.ceo, today + timedelta(days=1),
                                    today + timedelta(days=5))
    else:
        delegation = approvals.create_delegation(kit.cfo, kit.ceo, today, today + timedelta(days=5))
        approvals.revoke_delegation(delegation, kit.cfo)
    req, task = _cfo_step(kit)
    assert not approvals.can_decide(task, kit.ceo)
    assert db.session.scalars(approvals.inbox_query(kit.ceo)).all() == []
    with pytest.raises(PermissionDenied):
        approvals.decide(task, kit.ceo, "approve")
    approvals.decide(task, kit.cfo, "approve")  # the holder still decides
    assert req.status == S.APPROVED


def test_delegation_rules(kit):
    today = utcnow().date()
    for delegate, start, end in [
        (kit.cfo, today, today),  # to oneself
        (kit.buyer, today, today),  # not an approver or admin
        (None, today, today),
        (kit.ceo, today, today - timedelta(days=1)),  # ends before it starts
        (kit.ceo, today - timedelta(days=5), today - timedelta(days=1)),  # already over
        (kit.ceo, today, today + timedelta(days=400)),
    ]:
        with pytest.raises(ValidationProblem):
            approvals.create_delegation(kit.cfo, delegate, start, end)
    approvals.create_delegation(kit.cfo, kit.ceo, today, today + timedelta(days=3))
    with pytest.raises(ValidationProblem):  # overlapping
        approvals.create_delegation(kit.cfo, kit.coo, today + timedelta(days=2),
                                    today + timedelta(days=9))
    later = approvals.create_delegation(kit.cfo, kit.coo, today + timedelta(days=4),
                                        today + timedelta(days=9))
    with pytest.raises(PermissionDenied):
        approvals.revoke_delegation(later, kit.coo)
    approvals.revoke_delegation(later, kit.cfo)
    with pytest.raises(InvalidTransition):
        approvals.revoke_delegation(later, kit.cfo)


# ---------------------------------------------------------------- reminders and escalation


def test_reminders_are_idempotent_and_escalation_happens_once(kit):
    req = submitted(kit, "500")
    task = active_task(req)
    start = task.activated_at
    assert approvals.send_reminders(kit.org.id, now=start + timedelta(hours=23)) == {
        "reminded": 0, "escalated": 0}
    at_25 = start + timedelta(hours=25)
    assert approvals.send_reminders(kit.org.id, now=at_25) == {"reminded": 1, "escalated": 0}
    assert approvals.send_reminders(kit.org.id, now=at_25) == {"reminded": 0, "escalated": 0}
    assert approvals.send_reminders(kit.org.id, now=at_25 + timedelta(hours=1)) == {
        "reminded": 0, "escalated": 0}
    assert len(_notes(kit.manager, "approval.reminder")) == 1
    at_73 = start + timedelta(hours=73)
    assert approvals.send_reminders(kit.org.id, now=at_73) == {"reminded": 1, "escalated": 1}
    assert approvals.send_reminders(kit.org.id, now=at_73) == {"reminded": 0, "escalated": 0}
    assert approvals.send_reminders(kit.org.id, now=at_73 + timedelta(hours=30)) == {
        "reminded": 1, "escalated": 0}
    assert len(_notes(kit.manager, "approval.reminder")) == 3
    (escalated,) = _notes(kit.admin, "approval.escalated")
    assert req.number in escalated.text
    assert [(a.user_id, a.escalated) for a in task.assignments] == [
        (kit.manager.id, False), (kit.admin.id, True)]
    assert len(_events(req, "approval.escalated")) == 1
    # the escalation user decides in the manager's place
    approvals.decide(task, kit.admin, "approve", "Eskalacja")
    assert req.status == S.APPROVED


def test_escalation_is_not_delayed_by_a_recent_reminder(kit):
    """A reminder an hour before the escalation is due must not postpone the escalation."""
    task = active_task(submitted(kit, "500"))
    start = task.activated_at
    assert approvals.send_reminders(kit.org.id, now=start + timedelta(hours=71)) == {
        "reminded": 1, "escalated": 0}
    result = approvals.send_reminders(kit.org.id, now=start + timedelta(hours=73))
    assert result["escalated"] == 1
    assert len(_notes(kit.manager, "approval.reminder")) == 1  # no second reminder two hours later


def test_reminders_skip_decided_and_closed_tasks(kit):
    done = approve_all(submitted(kit, "500"))
    cancelled = submitted(kit, "500")
    requisitions.cancel(cancelled, kit.buyer)
    later = utcnow() + timedelta(days=10)
    assert approvals.send_reminders(kit.org.id, now=later) == {"reminded": 0, "escalated": 0}
    assert done.status == S.APPROVED


def test_each_step_is_reminded_from_its_own_activation(kit):
    req = submitted(kit, "20000")
    first, second = approvals.tasks_of(req)
    approvals.decide(first, kit.manager, "approve")
    second.activated_at = utcnow() - timedelta(hours=2)
    db.session.flush()
    assert approvals.send_reminders(kit.org.id)["reminded"] == 0
    assert approvals.send_reminders(kit.org.id, now=utcnow() + timedelta(hours=23))["reminded"] == 1
    assert len(_notes(kit.cfo, "approval.reminder")) == 1


# ---------------------------------------------------------------- notifications and email links


def test_notifications_go_to_the_right_people_with_links(kit):
    mail.outbox.clear()
    req = submitted(kit, "20000")
    link = f"/{req.id}"
    (asked,) = _notes(kit.manager, "approval.requested")
    assert req.number in asked.text and asked.link.endswith(link)
    assert _notes(kit.cfo) == []  # the CFO's step is not active yet
    assert mail.outbox == []  # e-mails leave after the commit (the outbox)
    db.session.commit()
    (message,) = [m for m in mail.outbox if m["To"] == kit.manager.email]
    assert req.number in message["Subject"]
    first, second = approvals.tasks_of(req)
    approvals.decide(first, kit.manager, "approve")
    (step_note,) = _notes(kit.buyer, "approval.step")
    assert "Igor Kierownik" in step_note.text
    (cfo_asked,) = _notes(kit.cfo, "approval.requested")
    assert cfo_asked.link.endswith(link)
    approvals.decide(second, kit.cfo, "approve")
    db.session.commit()
    (approved,) = _notes(kit.buyer, "requisition.approved")
    assert req.number in approved.text and approved.link.endswith(link)
    assert _notes(kit.buyer2) == [] and _notes(kit.ceo) == []
    recipients = sorted(m["To"] for m in mail.outbox)
    assert recipients == sorted([kit.manager.email, kit.buyer.email, kit.cfo.email,
                                 kit.buyer.email])


def _decision_token(user) -> str:
    (message,) = [m for m in mail.outbox if m["To"] == user.email]
    body = message.get_content()
    urls = re.findall(r"https?://\S+", body)
    assert len(urls) == 2  # the page, and the one-click decision link
    return urls[-1].rstrip("/").rsplit("/", 1)[-1]


def test_email_decision_link_is_single_use(kit):
    mail.outbox.clear()
    req = submitted(kit, "500")
    db.session.commit()
    token = _decision_token(kit.manager)
    assert approvals.find_decision_token(token) is not None
    with pytest.raises(PermissionDenied):  # someone else holding the link
        approvals.decide_by_token(token, kit.cfo, "approve")
    db.session.rollback()
    approvals.decide_by_token(token, kit.manager, "approve")
    assert req.status == S.APPROVED
    assert approvals.find_decision_token(token) is None
    with pytest.raises(InvalidTransition):
        approvals.decide_by_token(token, kit.manager, "approve")


def test_email_decision_link_expires(kit):
    mail.outbox.clear()
    submitted(kit, "500")
    db.session.commit()
    token = _decision_token(kit.manager)
    for row in db.session.scalars(select(DecisionToken)):
        row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.flush()
    with pytest.raises(InvalidTransition):
        approvals.decide_by_token(token, kit.manager, "approve")


# ---------------------------------------------------------------- inbox and bulk


def test_inbox_lists_what_awaits_me_oldest_first(kit):
    older, newer = submitted(kit, "500"), submitted(kit, "700")
    active_task(newer).activated_at = utcnow() - timedelta(days=1)
    active_task(older).activated_at = utcnow() - timedelta(days=2)
    db.session.flush()
    ids = [t.requisition_id for t in db.session.scalars(approvals.inbox_query(kit.manager))]
    assert ids == [older.id, newer.id]
    assert db.session.scalars(approvals.inbox_query(kit.cfo)).all() == []


def test_bulk_approve_takes_small_ones_and_refuses_the_rest(kit):
    small = [submitted(kit, "300"), submitted(kit, "400")]
    large = submitted(kit, "6000")
    ids = [active_task(r).id for r in [*small, large]]
    done, refused = approvals.bulk_approve(ids, kit.manager, max_amount=D("5000"))
    assert done == 2 and len(refused) == 1 and large.number in str(refused[0])
    assert [r.status for r in small] == [S.APPROVED, S.APPROVED] and large.status == S.PENDING
    done, refused = approvals.bulk_approve([active_task(large).id], kit.cfo, max_amount=D("10000"))
    assert done == 0 and "not assigned" in str(refused[0])


# ---------------------------------------------------------------- policy edits keep history


def test_deleting_a_step_keeps_the_tasks_it_created(kit):
    req = submitted(kit, "20000")
    cfo_step = db.session.scalars(
        select(ApprovalStep).where(ApprovalStep.name == "CFO approval")).one()
    approval_policy.delete_step(kit.admin, cfo_step)
    db.session.commit()
    tasks = approvals.tasks_of(req)
    assert [t.name for t in tasks] == ["Cost centre manager", "CFO approval"]
    assert tasks[1].step_id is None
    assert count(ApprovalAssignment, ApprovalAssignment.task_id == tasks[1].id) == 1
    approve_all(req)
    assert req.status == S.APPROVED


# ---------------------------------------------------------------- a quorum counts people


def _board_task(kit):
    req = submitted(kit, "60000", category=kit.cat_it)
    first, second, board = approvals.tasks_of(req)
    approvals.decide(first, kit.manager, "approve")
    approvals.decide(second, kit.cfo, "approve")
    assert board.status == TaskStatus.PENDING and board.required == 2
    return req, board


def test_a_member_who_is_also_a_delegate_gives_one_approval_not_two(kit):
    """Two of three board members must be two people: the CEO, who also stands in for the CFO,
    approves once."""
    today = utcnow().date()
    approvals.create_delegation(kit.cfo, kit.ceo, today, today + timedelta(days=5))
    req, board = _board_task(kit)
    approvals.decide(board, kit.ceo, "approve")
    with pytest.raises(PermissionDenied) as refused:
        approvals.decide(board, kit.ceo, "approve")
    assert "already decided" in str(refused.value.message)
    assert not approvals.can_decide(board, kit.ceo)
    assert board.id not in [t.id for t in db.session.scalars(approvals.inbox_query(kit.ceo))]
    assert board.status == TaskStatus.PENDING
    approvals.decide(board, kit.coo, "approve")
    assert req.status == S.APPROVED


def test_a_delegate_of_two_members_gives_one_approval_not_two(kit):
    today = utcnow().date()
    approvals.create_delegation(kit.cfo, kit.manager, today, today + timedelta(days=5))
    approvals.create_delegation(kit.coo, kit.manager, today, today + timedelta(days=5))
    req, board = _board_task(kit)
    approvals.decide(board, kit.manager, "approve", "Za Ewę")
    with pytest.raises(PermissionDenied):
        approvals.decide(board, kit.manager, "approve", "Za Tomasza")
    assert board.status == TaskStatus.PENDING
    deciders = {a.decided_by_id for a in board.assignments if a.decision}
    assert deciders == {kit.manager.id}
