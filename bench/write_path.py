"""Write-path benchmark: what one requisition costs to raise and approve.

A **cycle** is the life of one requisition in Acme of the demo world, as its people would
live it, each user action its own transaction (a fresh session: nothing cached between them):

1. the buyer (buyer@acme) creates a draft with three lines (one transaction);
2. the buyer submits it: the approval policy routes it to two steps;
3. the first approver (the cost centre's manager) approves step 1;
4. the second approver (the CFO: from 10 000 PLN) approves step 2, the final approval, which
   checks the cost centre's budget and reserves the net total in its ledger.

The cycle runs in the bench's own cost centre `BENCH-WP` (managed by the CEO, with a large
`block` budget for the current year), created on first use so repeated runs never exhaust a
demo budget. `run()` measures it single-threaded:

- through the services (`cpu_ms_median`, `statements`): the services called as the views call
  them, the actor and the requisition read by id at the start of each transaction;
- through HTTP with the Flask test client (`http_cpu_ms_median`, `http_statements`): the same
  cycle as 7 POSTs (new draft, 3 × add line, submit, 2 × decide), signed in as each person,
  each create form carrying a fresh one-time submission token as a browser would send it.

CPU is `time.process_time()` per cycle (median over `cycles`); statements are counted with the
engine's `before_cursor_execute` event (the same for every cycle: the median is reported).
The job runner is a queue meanwhile, as RQ is in production: the e-mails the cycle writes to
the outbox are delivered after each timed cycle, not inside it.
Works on SQLite and PostgreSQL (`DATABASE_URL`); a database without the demo world gets it (`seed_demo`).

    python -m bench.write_path [cycles]      # prints the dict as JSON
"""

from __future__ import annotations

import json
import logging
import os
import re
import statistics
import sys
import time
from contextlib import contextmanager
from datetime import date
from decimal import Decimal

from sqlalchemy import event, select

ORG_EMAIL = "buyer@acme.example"
MANAGER_EMAIL = "ceo@acme.example"
CFO_EMAIL = "cfo@acme.example"
ADMIN_EMAIL = "admin@acme.example"
COST_CENTER = "BENCH-WP"
# Net 12 000 PLN: above the CFO threshold (10 000), so the demo policy routes two steps.
LINES = (("Monitor 27\"", Decimal("4"), Decimal("1500.00")),
         ("Docking station", Decimal("4"), Decimal("900.00")),
         ("Keyboard and mouse", Decimal("8"), Decimal("300.00")))
BUDGET = Decimal("999999999999.00")
WARMUP = 3


_PAUSED = [False]


@contextmanager
def _not_counted():
    """The bench's own look-ups (the pending task, the final status): not the users' work."""
    _PAUSED[0] = True
    try:
        yield
    finally:
        _PAUSED[0] = False


@contextmanager
def _counting(engine):
    counter = [0]

    def count(*_args, **_kwargs):
        if not _PAUSED[0]:
            counter[0] += 1

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _prepare(app) -> dict:
    """The demo world (seeded when absent), the bench cost centre and its budget; returns ids."""
    from portal.domain.budget import OverrunPolicy, PeriodKind
    from portal.extensions import db
    from portal.models import Budget, CostCenter, User
    from portal.services import budgets, cost_centers
    from portal.tenancy import ALL_TENANTS, TenantScope, bound, system

    with app.app_context():
        def user(email):
            return db.session.scalars(select(User).where(User.email == email)
                                      .execution_options(**ALL_TENANTS)).first()

        if user(MANAGER_EMAIL) is None:
            # "Create or complete": the demo world with its approval policy and board.
            from portal.services.demo import seed_demo

            with system(db.session):
                seed_demo()
                db.session.commit()
        buyer, manager, cfo, admin = (user(e) for e in (ORG_EMAIL, MANAGER_EMAIL, CFO_EMAIL, ADMIN_EMAIL))
        org = buyer.organization
        with bound(db.session, TenantScope(org.id)):
            cc = db.session.scalars(select(CostCenter).where(CostCenter.code == COST_CENTER)).first()
            if cc is None:
                cc = cost_centers.create_cost_center(org, code=COST_CENTER, name="Bench write path",
                                                     manager_id=manager.id, actor=admin)
            year = date.today().year
            if db.session.scalars(select(Budget).where(Budget.cost_center_id == cc.id)).first() is None:
                budgets.create_budget(admin, cost_center=cc, name="Bench", period_kind=PeriodKind.YEAR,
                                      starts_on=date(year, 1, 1), ends_on=date(year, 12, 31),
                                      amount=BUDGET, currency=org.currency,
                                      overrun_policy=OverrunPolicy.BLOCK)
            db.session.commit()
            ids = {"org": org.id, "buyer": buyer.id, "manager": manager.id, "cfo": cfo.id,
                   "cost_center": cc.id}
        db.session.remove()
    return ids


@contextmanager
def _action(org_id: int):
    """One user action: a fresh session bound to the organisation, committed at the end."""
    from portal.extensions import db
    from portal.tenancy import TenantScope, bound

    db.session.remove()
    with bound(db.session, TenantScope(org_id)):
        yield db.session
        db.session.commit()
    db.session.remove()


def service_cycle(ids: dict) -> str:
    """One cycle through the services; returns the requisition's final status."""
    from portal.models import ApprovalTask, CostCenter, Requisition, User
    from portal.services import approvals, requisitions

    with _action(ids["org"]) as s:
        buyer = s.get(User, ids["buyer"])
        req = requisitions.create_requisition(buyer, title="Workstations for the new team",
                                              cost_center=s.get(CostCenter, ids["cost_center"]))
        for description, quantity, price in LINES:
            requisitions.add_line(req, buyer, description=description, quantity=quantity,
                                  unit_price=price, vat_rate=Decimal("23"))
        req_id = req.id
    with _action(ids["org"]) as s:
        approvals.submit(s.get(Requisition, req_id), s.get(User, ids["buyer"]))
    for approver in ("manager", "cfo"):
        with _action(ids["org"]) as s:
            task = s.scalars(select(ApprovalTask).where(ApprovalTask.requisition_id == req_id,
                                                        ApprovalTask.status == "pending")).one()
            approvals.decide(task, s.get(User, ids[approver]), "approve")
    with _not_counted(), _action(ids["org"]) as s:
        return s.get(Requisition, req_id).status


_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def _client(app, user_id: int):
    """A test client signed in as the user, with its CSRF token."""
    from portal.extensions import db
    from portal.models import User
    from portal.tenancy import system

    client = app.test_client()
    with app.app_context(), system(db.session):
        user = db.session.get(User, user_id)
        with client.session_transaction() as sess:
            sess["_user_id"] = user.get_id()
            sess["_fresh"] = True
        db.session.remove()
    page = client.get("/requisitions/new").get_data(as_text=True)
    match = _TOKEN.search(page)
    return client, (match.group(1) if match else "")


def http_cycle(app, clients: dict, ids: dict) -> str:
    """One cycle through HTTP; returns the requisition's final status."""
    from portal.blueprints.once import new_token
    from portal.extensions import db
    from portal.models import ApprovalTask, Requisition
    from portal.tenancy import TenantScope, bound

    buyer, csrf = clients["buyer"]
    answer = buyer.post("/requisitions/new", data={
        "csrf_token": csrf, "submission_token": new_token(), "title": "Workstations for the new team",
        "cost_center_id": ids["cost_center"], "category_id": "", "currency": "PLN", "justification": "",
    })
    req_id = int(re.search(r"/requisitions/(\d+)/edit", answer.headers["Location"]).group(1))
    for description, quantity, price in LINES:
        answer = buyer.post(f"/requisitions/{req_id}/lines", data={
            "csrf_token": csrf, "submission_token": new_token(), "description": description,
            "quantity": str(quantity), "unit": "pcs", "unit_price": str(price), "vat_rate": "23",
            "suggested_supplier_id": "",
        })
        assert answer.status_code < 400, answer.status_code
    answer = buyer.post(f"/requisitions/{req_id}/submit", data={"csrf_token": csrf})
    assert answer.status_code < 400, answer.status_code
    for approver in ("manager", "cfo"):
        client, token = clients[approver]
        with _not_counted(), app.app_context(), bound(db.session, TenantScope(ids["org"])):
            task_id = db.session.scalars(select(ApprovalTask.id).where(
                ApprovalTask.requisition_id == req_id, ApprovalTask.status == "pending")).one()
            db.session.remove()
        answer = client.post(f"/approvals/tasks/{task_id}/decide",
                             data={"csrf_token": token, "decision": "approve", "comment": ""})
        assert answer.status_code < 400, answer.status_code
    with _not_counted(), app.app_context(), bound(db.session, TenantScope(ids["org"])):
        status = db.session.get(Requisition, req_id).status
        db.session.remove()
    return status


class _Queued:
    """The job runner as a queue (what RQ is in production): the cycle hands the outbox rows
    over; their delivery (rendering and sending the e-mails) runs after the timed cycle."""

    def __init__(self):
        self.jobs = []

    def enqueue(self, name: str, *args) -> None:
        self.jobs.append((name, args))

    def drain(self, app) -> None:
        from portal.extensions import db
        from portal.jobs import run_job

        jobs, self.jobs = self.jobs, []
        with app.app_context():
            for name, args in jobs:
                run_job(name, *args)
            db.session.remove()


def _measure(app, engine, cycles: int, one) -> tuple[float, int]:
    """Median CPU ms and median statements of `cycles` runs of `one()` (after a warm-up)."""
    from portal.jobs import runner_for, set_runner

    previous, queued = runner_for(app), _Queued()
    set_runner(app, queued)
    try:
        return _timed(app, engine, cycles, one, queued)
    finally:
        set_runner(app, previous)


def _timed(app, engine, cycles: int, one, queued: _Queued) -> tuple[float, int]:
    for _ in range(WARMUP):
        one()
        queued.drain(app)
    times, counts = [], []
    for _ in range(cycles):
        with _counting(engine) as counter:
            start = time.process_time()
            status = one()
            times.append((time.process_time() - start) * 1000)
        queued.drain(app)
        if status != "approved":
            raise RuntimeError(f"the cycle ended {status!r}, not approved")
        counts.append(counter[0])
    return statistics.median(times), int(statistics.median(counts))


def run(app, cycles: int = 50) -> dict:
    """Measure the cycle through the services and through HTTP (see the module docstring)."""
    from portal.extensions import db

    ids = _prepare(app)
    # The e-mails of the cycle are delivered (written to this log without MAIL_SERVER) outside
    # the timed part: keep them off the bench's output.
    logging.getLogger("portal.mail").setLevel(logging.ERROR)
    with app.app_context():
        engine = db.engine

        def services():
            return service_cycle(ids)

        cpu, statements = _measure(app, engine, cycles, services)
    clients = {name: _client(app, ids[name]) for name in ("buyer", "manager", "cfo")}
    http_cpu, http_statements = _measure(app, engine, cycles, lambda: http_cycle(app, clients, ids))
    return {"cpu_ms_median": round(cpu, 2), "statements": statements,
            "http_cpu_ms_median": round(http_cpu, 2), "http_statements": http_statements,
            "cycles": cycles}


def main(argv: list[str]) -> None:
    from portal import create_app
    from portal.extensions import db

    url = os.environ.get("DATABASE_URL")
    if not url:
        os.makedirs("/tmp/bench-n", exist_ok=True)
        url = "sqlite:////tmp/bench-n/write_path.db"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        db.create_all()
    cycles = int(argv[1]) if len(argv) > 1 else 50
    print(json.dumps(run(app, cycles), indent=2))


if __name__ == "__main__":
    main(sys.argv)
