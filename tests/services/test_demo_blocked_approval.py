"""The demo world shows an approval the budget would refuse (issue 8, point 5): the CEO's board
vote on the IT laptops is the last one needed, and the IT budget (block) cannot hold it."""

from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from portal.models import Requisition
from portal.services import approvals
from portal.services.approvals import blocked
from portal.services.demo import seed_demo
from portal.tenancy import system


def test_the_demo_has_a_budget_blocked_approval_in_the_ceos_inbox(app, world):
    with system(db.session):
        built = seed_demo()
        db.session.commit()
        ceo = built["users"]["ceo@acme.example"]
        found = []
        for req in db.session.scalars(select(Requisition).where(Requisition.status == "pending")):
            task = approvals.active_task(req)
            block = blocked.budget_block(task) if task else None
            if block is not None:
                found.append((req, task, block))
    assert found, "no pending demo requisition whose approval the budget would refuse"
    req, task, block = found[0]
    assert any(a.user_id == ceo.id and a.decision is None for a in task.assignments)
    assert block.budget.overrun_policy == "block" and block.owners[0].email == "cfo@acme.example"
