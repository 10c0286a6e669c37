"""The job runner: jobs by name, run in-process or queued on RQ.

Without REDIS_URL (development, SQLite, tests) a job runs in this process when it is enqueued
(outbox deliveries right after the commit that wrote them). With REDIS_URL it goes onto the RQ
queue JOBS_QUEUE for `flask jobs worker`. Every job is idempotent, so a job run twice (a retry,
two schedulers, a sweep racing an after-commit delivery) does nothing the second time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, current_app, has_app_context

log = logging.getLogger("portal.jobs")


def _deliver(outbox_id: int):
    from portal.jobs.outbox import deliver

    return deliver(int(outbox_id))


def _sweep():
    from portal.jobs.outbox import sweep

    return sweep()


def _reminders():
    from portal.jobs.reminders import send_reminders

    return send_reminders()


def _close_rfqs():
    from portal.jobs.deadlines import close_expired_rfqs

    return close_expired_rfqs()


def _invoice_reminders():
    from portal.jobs.payment_reminders import send_payment_reminders

    return send_payment_reminders()


def _draft_monthly_invoices(period: str | None = None):
    from portal.jobs.monthly_invoices import draft_monthly

    return draft_monthly(period)


# Job name -> function. The names are what `flask jobs run NAME` and the schedules use.
JOBS: dict[str, Callable] = {
    "deliver-outbox": _deliver,  # one outbox row (its id)
    "outbox-sweep": _sweep,  # every due outbox row
    "send-reminders": _reminders,  # approval reminders and escalations, every buying company
    "close-expired-rfqs": _close_rfqs,  # RFQs past their response deadline, every buying company
    "send-invoice-reminders": _invoice_reminders,  # payment reminders (due soon, due, overdue), every buyer
    "draft-monthly-invoices": _draft_monthly_invoices,  # a month's consolidated drafts (its YYYY-MM; none = last)
}


def run_job(name: str, *args):
    """Run one job now, in this process, inside an application context (the RQ entry point:
    a worker started outside `flask jobs worker` builds the app itself)."""
    if name not in JOBS:
        raise KeyError(f"unknown job {name!r}; known: {', '.join(sorted(JOBS))}")
    if has_app_context():
        return JOBS[name](*args)
    from portal import create_app

    app = _worker_app.get("app") or _worker_app.setdefault("app", create_app())
    with app.app_context():
        try:
            return JOBS[name](*args)
        finally:
            from portal.extensions import db

            db.session.remove()


_worker_app: dict[str, Flask] = {}


class InProcessRunner:
    """Runs each job at once, here. Failures are logged, never raised into the caller: the
    outbox sweep (or the operator) picks the work up again."""

    def enqueue(self, name: str, *args) -> None:
        try:
            run_job(name, *args)
        except Exception:
            log.exception("job %s%r failed", name, args)


class RQRunner:
    """Queues jobs on RQ (Redis at `url`), for `flask jobs worker`."""

    def __init__(self, url: str, queue: str = "portal"):
        from redis import Redis
        from rq import Queue

        self.connection = Redis.from_url(url)
        self.queue = Queue(queue, connection=self.connection)

    def enqueue(self, name: str, *args) -> None:
        if name not in JOBS:
            raise KeyError(name)
        try:
            self.queue.enqueue(run_job, name, *args, description=f"{name}{args!r}", job_timeout=600)
        except Exception:
            # Redis down: the row stays due in the outbox and the next sweep (cron or a
            # scheduler that reaches Redis again) delivers it.
            log.exception("could not queue job %s%r", name, args)


def make_runner(app: Flask):
    url = app.config.get("REDIS_URL")
    return RQRunner(url, app.config.get("JOBS_QUEUE", "portal")) if url else InProcessRunner()


def runner_for(app: Flask | None = None):
    """The application's runner (built on first use)."""
    app = app or current_app._get_current_object()
    runner = app.extensions.get("portal_jobs")
    if runner is None:
        runner = app.extensions["portal_jobs"] = make_runner(app)
    return runner


def set_runner(app: Flask, runner) -> None:
    """Replace the application's runner (tests; a CLI option)."""
    app.extensions["portal_jobs"] = runner


def worker_class(*, simple: bool = False, burst: bool = False):
    """The RQ worker class for `flask jobs worker`: forking (a job per child process) or simple
    (jobs in the worker's process, as the tests run them)."""
    from rq import SimpleWorker, Worker

    base = SimpleWorker if simple else Worker
    if not burst:
        return base

    class BurstWorker(base):
        """Stops when the queue is empty, so it needs no channel for remote commands; RQ's
        listener thread for it can hold the shutdown for up to a minute."""

        def subscribe(self):
            pass

        def unsubscribe(self):
            pass

    return BurstWorker
