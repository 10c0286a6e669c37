"""`flask send-reminders` (the `send-reminders` job): reminders once per reminder period,
escalation once after the escalation period (to the policy's escalation user, else the
admins), for every buying company in its own scope and transaction; running it twice sends
nothing twice, in-process or on an RQ worker."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from portal.domain.requisition import RequisitionStatus
from portal.extensions import db
from portal.models import ApprovalAssignment, ApprovalPolicy, AuditEvent
from portal.models.base import utcnow
from portal.services import mail
from tests.conftest import as_system
from tests.jobs.fixtures import queue_name_fixture, redis_fixture, redis_url_fixture  # noqa: F401
from tests.kit import (
    build_kit,
    mails_to,
    notes,
    requisition,
    rows,
    submit,
    task,
)

S = RequisitionStatus


@pytest.fixture
def kit(app, world):
    return build_kit(app, world)


def run(app, hours: float) -> str:
    """Run the command as if `hours` had passed since now."""
    with time_machine.travel(utcnow() + timedelta(hours=hours), tick=False):
        result = app.test_cli_runner().invoke(args=["send-reminders"])
    assert result.exit_code == 0, result.output
    return result.output


def reminders_to(user) -> list:
    return [m for m in mails_to(user) if m["Subject"].startswith("Reminder:")]


def test_nothing_is_due_before_the_reminder_period(kit, app):
    submit(app, kit, "500")
    mail.outbox.clear()
    output = run(app, 23)
    assert "Reminders sent for 0 steps; 0 escalated." in output
    assert mail.outbox == []


def test_a_reminder_goes_once_per_period(kit, app):
    ids = submit(app, kit, "500")
    mail.outbox.clear()
    assert "Reminders sent for 1 steps; 0 escalated." in run(app, 25)
    (first,) = reminders_to(kit.manager)
    assert ids["number"] in first["Subject"]
    assert len(notes(kit.manager, "approval.reminder")) == 1
    assert "Reminders sent for 0 steps" in run(app, 25.5)  # run twice: nothing twice
    assert len(mail.outbox) == 1
    run(app, 49.5)  # the next period
    assert len(reminders_to(kit.manager)) == 2
    assert reminders_to(kit.buyer) == []


def test_escalation_goes_once_to_the_escalation_user(kit, app, login_as):
    ids = submit(app, kit, "500")
    mail.outbox.clear()
    output = run(app, 73)
    assert "1 escalated" in output
    (escalated,) = notes(kit.admin, "approval.escalated")
    assert ids["number"] in escalated.text
    assert len(mails_to(kit.admin)) == 1
    with as_system():
        assigned = db.session.scalars(select(ApprovalAssignment).where(
            ApprovalAssignment.task_id == ids["task"],
            ApprovalAssignment.escalated.is_(True))).all()
        assert [a.user_id for a in assigned] == [kit.admin.id]
        (event,) = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "approval.escalated", AuditEvent.object_id == ids["req"])).all()
        assert event.actor_id is None
    assert task(ids["task"]).escalated_at is not None
    sent = len(mail.outbox)
    assert "0 escalated" in run(app, 73.5)
    assert len(mail.outbox) == sent and len(notes(kit.admin, "approval.escalated")) == 1
    # The escalation user now sees it and may decide it.
    admin = login_as(kit.admin)
    assert rows(admin.get("/approvals/").text) == 1
    assert admin.post(f"/approvals/tasks/{ids['task']}/decide",
                      data={"decision": "approve"}).status_code == 302
    assert requisition(ids["req"]).status == S.APPROVED


def test_without_an_escalation_user_the_admins_get_it(kit, app):
    with as_system():
        policy = db.session.scalars(select(ApprovalPolicy).where(
            ApprovalPolicy.organization_id == kit.org.id)).one()
        policy.escalation_user_id = None
        db.session.commit()
    submit(app, kit, "500")
    run(app, 80)
    assert len(notes(kit.admin, "approval.escalated")) == 1


def test_escalation_is_due_even_right_after_a_reminder(kit, app):
    with as_system():
        policy = db.session.scalars(select(ApprovalPolicy).where(
            ApprovalPolicy.organization_id == kit.org.id)).one()
        policy.reminder_hours, policy.escalation_hours = 24, 30
        db.session.commit()
    submit(app, kit, "500")
    run(app, 25)  # reminded
    assert "1 escalated" in run(app, 31)  # escalated, though the last reminder is recent
    assert len(reminders_to(kit.manager)) == 1


def test_decided_steps_are_left_alone(kit, app, login_as):
    ids = submit(app, kit, "500")
    login_as(kit.manager).post(f"/approvals/tasks/{ids['task']}/decide",
                               data={"decision": "approve"})
    mail.outbox.clear()
    assert "Reminders sent for 0 steps; 0 escalated." in run(app, 100)
    assert mail.outbox == []


def test_every_buying_company_is_handled_in_its_own_scope(kit, app, world):
    """Globex has no policy: nothing to do there; Acme's reminder still goes out."""
    submit(app, kit, "500")
    mail.outbox.clear()
    output = run(app, 25)
    assert f"Organisation {kit.org.id}: 1 reminded, 0 escalated." in output
    assert f"Organisation {world.globex.id}:" not in output
    assert [m["To"] for m in mail.outbox] == [kit.manager.email]


# ---------------------------------------------------------------- on the job runner


def test_the_job_is_the_command_and_running_it_twice_sends_nothing_twice(kit, app):
    submit(app, kit, "500")
    mail.outbox.clear()
    with time_machine.travel(utcnow() + timedelta(hours=25), tick=False):
        runner = app.test_cli_runner()
        first = runner.invoke(args=["jobs", "run", "send-reminders"])
        second = runner.invoke(args=["jobs", "run", "send-reminders"])
    assert first.exit_code == 0 and "Reminders sent for 1 steps; 0 escalated." in first.output
    assert "Reminders sent for 0 steps; 0 escalated." in second.output
    assert [m["To"] for m in mail.outbox] == [kit.manager.email]
    assert len(notes(kit.manager, "approval.reminder")) == 1


def test_an_organisation_that_fails_leaves_the_others_done(kit, app, world, monkeypatch):
    from portal.services import approvals

    real = approvals.send_reminders

    def failing_for_globex(org_id, **kwargs):
        if org_id == world.globex.id:
            raise RuntimeError("globex is broken")
        return real(org_id, **kwargs)

    monkeypatch.setattr(approvals, "send_reminders", failing_for_globex)
    submit(app, kit, "500")
    mail.outbox.clear()
    with time_machine.travel(utcnow() + timedelta(hours=25), tick=False):
        result = app.test_cli_runner().invoke(args=["send-reminders"])
    assert result.exit_code == 1 and "failed for organisations" in str(result.exception)
    assert [m["To"] for m in mail.outbox] == [kit.manager.email]  # Acme's went out


def test_on_rq_the_reminders_and_their_mail_run_on_the_worker(kit, app, redis_url, queue_name):
    from portal.jobs import runner_for, set_runner
    from portal.jobs.runner import RQRunner, worker_class

    submit(app, kit, "500")
    mail.outbox.clear()
    previous, runner = runner_for(app), RQRunner(redis_url, queue_name)
    set_runner(app, runner)
    try:
        with time_machine.travel(utcnow() + timedelta(hours=25), tick=False):
            runner.enqueue("send-reminders")
            runner.enqueue("send-reminders")  # queued twice (two schedulers): sent once
            worker = worker_class(simple=True, burst=True)
            worker([runner.queue], connection=runner.connection).work(burst=True, with_scheduler=False)
    finally:
        set_runner(app, previous)
        runner.connection.close()
    assert [m["To"] for m in mail.outbox] == [kit.manager.email]
    assert len(notes(kit.manager, "approval.reminder")) == 1
