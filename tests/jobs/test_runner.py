"""The job runner: in-process without REDIS_URL, RQ on a real Redis with it; the scheduler
enqueues each periodic job once per period; jobs run twice do nothing the second time."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from portal.domain.messages import N_
from portal.extensions import db
from portal.jobs import JOBS, run_job, runner_for, set_runner
from portal.jobs.runner import InProcessRunner, RQRunner, worker_class
from portal.jobs.schedule import SCHEDULES, Schedule, Scheduler
from portal.models import OutboxMessage
from portal.services import mail, notifications
from tests.conftest import as_org
from tests.jobs.conftest import Held


def tell(world, email="buyer@acme"):
    user = world.user(email)
    with as_org(user.organization):
        notifications.notify(user, N_("Nothing unread."), kind="test")
        db.session.commit()


def statuses() -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage.status).order_by(OutboxMessage.id)))


@pytest.fixture
def rq_runner(app, redis_url, queue_name):
    previous = runner_for(app)
    runner = RQRunner(redis_url, queue_name)
    set_runner(app, runner)
    yield runner
    set_runner(app, previous)
    runner.connection.close()


def work(runner) -> None:
    worker = worker_class(simple=True, burst=True)
    worker([runner.queue], connection=runner.connection).work(burst=True, with_scheduler=False)


def test_without_redis_jobs_run_in_process(app, world):
    assert app.config["REDIS_URL"] is None and isinstance(runner_for(app), InProcessRunner)
    tell(world)
    assert len(mail.outbox) == 1 and statuses() == ["sent"]


def test_the_rq_worker_delivers_after_the_commit(app, world, rq_runner):
    tell(world)
    tell(world, "cfo@acme")
    assert mail.outbox == [] and statuses() == ["pending", "pending"]
    assert rq_runner.queue.count == 2
    work(rq_runner)
    assert sorted(m["To"] for m in mail.outbox) == ["buyer@acme.example", "cfo@acme.example"]
    assert statuses() == ["sent", "sent"] and rq_runner.queue.count == 0


def test_the_worker_command_runs_the_queue(app, world, rq_runner, redis_url, queue_name, monkeypatch):
    tell(world)
    monkeypatch.setitem(app.config, "REDIS_URL", redis_url)
    monkeypatch.setitem(app.config, "JOBS_QUEUE", queue_name)
    result = app.test_cli_runner().invoke(args=["jobs", "worker", "--burst", "--simple"])
    assert result.exit_code == 0, result.output
    assert len(mail.outbox) == 1 and statuses() == ["sent"]


def test_a_job_queued_twice_delivers_once(app, world, held, rq_runner):
    set_runner(app, held)
    tell(world)
    ((name, outbox_id),) = held.jobs
    set_runner(app, rq_runner)
    rq_runner.enqueue(name, outbox_id)
    rq_runner.enqueue(name, outbox_id)
    rq_runner.enqueue("outbox-sweep")
    work(rq_runner)
    assert len(mail.outbox) == 1 and statuses() == ["sent"]


def test_the_worker_needs_redis_url(app):
    result = app.test_cli_runner().invoke(args=["jobs", "worker", "--burst"])
    assert result.exit_code == 1 and "REDIS_URL is not set" in result.output


def test_run_names_a_known_job(app):
    result = app.test_cli_runner().invoke(args=["jobs", "run", "no-such-job"])
    assert result.exit_code == 1 and "Unknown job 'no-such-job'" in result.output
    with pytest.raises(KeyError):
        run_job("no-such-job")


def test_running_the_outbox_sweep_twice_does_nothing_the_second_time(app, world, held):
    tell(world)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["jobs", "run", "outbox-sweep"])
    assert first.exit_code == 0 and "outbox-sweep: {'sent': 1}" in first.output
    second = runner.invoke(args=["jobs", "run", "outbox-sweep"])
    assert "outbox-sweep: {}" in second.output and len(mail.outbox) == 1


# ---------------------------------------------------------------- the scheduler


def test_the_scheduled_jobs_are_known_jobs():
    assert {s.job for s in SCHEDULES} == {"outbox-sweep", "send-reminders", "close-expired-rfqs",
                                          "send-invoice-reminders"} <= set(JOBS)
    assert {s.job: s.every_seconds for s in SCHEDULES} == {
        "outbox-sweep": 60, "send-reminders": 3600, "close-expired-rfqs": 300, "send-invoice-reminders": 86400}


def test_the_scheduler_enqueues_each_job_once_per_period():
    now = [3600.0 * 1000]
    runner = Held()
    scheduler = Scheduler(runner, clock=lambda: now[0])
    every = ["outbox-sweep", "send-reminders", "close-expired-rfqs"]
    assert scheduler.tick() == [*every, "send-invoice-reminders"]  # the daily job's day begins too
    assert scheduler.tick() == []
    assert scheduler.seconds_to_next() == pytest.approx(60, abs=0.1)
    now[0] += 60
    assert scheduler.tick() == ["outbox-sweep"]
    now[0] += 3600
    assert scheduler.tick() == every
    assert [job for job, *_ in runner.jobs] == [*every, "send-invoice-reminders", "outbox-sweep", *every]


def test_two_schedulers_on_one_redis_enqueue_a_period_once(redis):
    schedules = (Schedule(f"test-{uuid.uuid4().hex}", 60),)
    runners = [Held(), Held()]
    for runner in runners:
        Scheduler(runner, redis=redis, schedules=schedules, clock=lambda: 6000.0).tick()
    assert sorted(len(r.jobs) for r in runners) == [0, 1]
