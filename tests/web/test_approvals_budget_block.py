"""Approvals the budget would refuse (issue 8, point 5): the refusal is shown before the click
(Approve disabled, the reason, Return/Reject kept), with the next step (the budget owner, a link
to the budget, a request to raise it that notifies the owner once); the bulk bar appears only
when some row can be ticked; and the foreseen refusal is the decision's own rule."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from portal.domain.budget import OverrunPolicy, PeriodKind
from portal.domain.requisition import RequisitionStatus
from portal.errors import BudgetExceeded
from portal.extensions import db
from portal.models import Budget, CostCenter
from portal.models.base import utcnow
from portal.services import approvals, budgets
from portal.services.approvals import blocked
from tests.kit import (
    as_acme,
    build_kit,
    events,
    notes,
    requisition,
    rows,
    submit,
    task,
    text_of,
)

D = Decimal
S = RequisitionStatus
YEAR = utcnow().year


@pytest.fixture
def kit(app, world):
    return build_kit(app, world)


def make_budget(app, kit, amount, policy=OverrunPolicy.BLOCK, *, owner="cfo", cost_center=None):
    """A budget of this year for IT (or `cost_center`), owned by the CFO (or nobody)."""
    with as_acme(app, kit):
        cc = db.session.get(CostCenter, (cost_center or kit.cc_it).id)
        made = budgets.create_budget(
            kit.admin, cost_center=cc, name=f"{cc.code} {YEAR}", period_kind=PeriodKind.YEAR,
            starts_on=date(YEAR, 1, 1), ends_on=date(YEAR, 12, 31), amount=D(amount), currency="PLN",
            overrun_policy=policy, owner=getattr(kit, owner) if owner else None,
        )
        db.session.flush()
        budget_id = made.id
    return budget_id


def decide(client, task_id, decision, comment="", **extra):
    return client.post(f"/approvals/tasks/{task_id}/decide",
                       data={"decision": decision, "comment": comment, **extra})


def ask(client, task_id, next_="/approvals/"):
    return client.post(f"/approvals/tasks/{task_id}/request-raise", data={"next": next_})


# ---------------------------------------------------------------- shown before the click


def test_the_inbox_shows_the_refusal_before_the_click(kit, app, login_as):
    budget_id = make_budget(app, kit, "300")
    ids = submit(app, kit, "500")  # one step (IT's manager): his approval is the final one
    html = login_as(kit.manager).get("/approvals/").text
    assert rows(html) == 1
    assert 'data-testid="approve-blocked"' in html and 'data-testid="approve"' not in html
    assert "disabled" in html.split('data-testid="approve-blocked"')[0].rsplit("<button", 1)[1]
    text = text_of(html)
    assert "The budget blocks this approval." in text
    assert "500.00 PLN requested, 300.00 PLN available, 200.00 PLN short" in text
    assert "owned by Ewa Lewandowska" in text  # the next step: who raises it
    assert f'href="/budgets/{budget_id}"' in html
    assert 'data-testid="request-raise"' in html
    assert 'data-testid="return"' in html and 'data-testid="reject"' in html  # still possible
    # Nothing can be ticked, so there is no bulk bar (500 is under the bulk limit).
    assert 'data-testid="bulk-check"' not in html and 'id="bulk-approve"' not in html
    assert requisition(ids["req"]).status == S.PENDING


def test_the_bulk_bar_appears_when_some_row_can_be_ticked(kit, app, login_as):
    make_budget(app, kit, "300")
    submit(app, kit, "500")  # blocked
    submit(app, kit, "400", cost_center=kit.cc_adm)  # no budget
    html = login_as(kit.manager).get("/approvals/").text
    assert rows(html) == 2 and html.count('data-testid="bulk-check"') == 1
    assert 'id="bulk-approve"' in html


def test_no_bulk_bar_when_every_row_is_above_the_bulk_limit(kit, app, login_as):
    submit(app, kit, "6000")  # above the bulk limit of 5 000
    html = login_as(kit.manager).get("/approvals/").text
    assert rows(html) == 1 and 'id="bulk-approve"' not in html


def test_an_earlier_step_is_not_blocked_the_last_one_is(kit, app, login_as):
    make_budget(app, kit, "300")
    ids = submit(app, kit, "20000")  # the manager, then the CFO
    manager = login_as(kit.manager).get("/approvals/").text
    assert 'data-testid="approve"' in manager and 'data-testid="budget-block"' not in manager
    assert decide(login_as(kit.manager), ids["task"], "approve").status_code == 302
    cfo = login_as(kit.cfo).get("/approvals/").text
    assert 'data-testid="approve-blocked"' in cfo and 'data-testid="budget-block"' in cfo


@pytest.mark.parametrize("policy", [OverrunPolicy.WARN, OverrunPolicy.ESCALATE])
def test_warn_and_escalate_budgets_do_not_block(kit, app, login_as, policy):
    make_budget(app, kit, "300", policy)
    submit(app, kit, "500")
    html = login_as(kit.manager).get("/approvals/").text
    assert 'data-testid="approve"' in html and 'data-testid="budget-block"' not in html


def test_the_requisition_page_and_the_decision_page_show_it_too(kit, app, login_as):
    make_budget(app, kit, "300")
    ids = submit(app, kit, "500")
    client = login_as(kit.manager)
    detail = client.get(f"/requisitions/{ids['req']}").text
    assert 'data-testid="decide-panel"' in detail and 'data-testid="budget-block"' in detail
    assert 'data-testid="approve-blocked"' in detail and 'data-testid="approve"' not in detail
    assert 'data-testid="return"' in detail and 'data-testid="reject"' in detail
    # A crafted approve is still refused by the decision itself, and the form comes back blocked.
    refused = client.post(f"/approvals/tasks/{ids['task']}/decide", headers={"HX-Request": "true"},
                          data={"decision": "approve", "next": f"/requisitions/{ids['req']}"})
    assert refused.status_code == 422 and "<html" not in refused.text
    assert "200.00 PLN short" in text_of(refused.text)
    assert 'data-testid="approve-blocked"' in refused.text
    plain = decide(client, ids["task"], "approve")  # without JavaScript: the decision page
    assert plain.status_code == 422 and 'data-testid="budget-block"' in plain.text
    assert 'data-testid="return"' in plain.text
    assert requisition(ids["req"]).status == S.PENDING


def test_a_bulk_post_naming_a_blocked_approval_approves_the_others(kit, app, login_as):
    make_budget(app, kit, "300")
    stuck = submit(app, kit, "500")
    fine = submit(app, kit, "400", cost_center=kit.cc_adm)
    client = login_as(kit.manager)
    response = client.post("/approvals/bulk", data={"task_ids": [stuck["task"], fine["task"]]})
    assert response.status_code == 302
    assert requisition(fine["req"]).status == S.APPROVED
    assert requisition(stuck["req"]).status == S.PENDING
    assert "200.00 PLN short" in text_of(client.get("/approvals/").text)


# ---------------------------------------------------------------- the next step: ask to raise it


def test_asking_to_raise_notifies_the_owner_once(kit, app, login_as):
    make_budget(app, kit, "300")
    ids = submit(app, kit, "500")
    client = login_as(kit.manager)
    first = ask(client, ids["task"])
    assert first.status_code == 302 and first.headers["Location"].endswith("/approvals/")
    again = ask(client, ids["task"])  # a re-post (or a second click) notifies nobody again
    assert again.status_code == 302
    (note,) = notes(kit.cfo, "budget.raise_requested")
    assert "Igor Kierownik" in note.text and ids["number"] in note.text and "200.00" in note.text
    assert len(events(ids["req"], "budget.raise_requested")) == 1
    page = client.get("/approvals/").text
    assert 'data-testid="raise-requested"' in page and 'data-testid="request-raise"' not in page
    assert "already asked" in page  # the re-post's message


def test_a_budget_without_owner_goes_to_the_admins(kit, app, login_as):
    make_budget(app, kit, "300", owner=None)
    ids = submit(app, kit, "500")
    html = login_as(kit.manager).get("/approvals/").text
    assert "has no owner" in text_of(html) and "Anna Kowalska" in html
    assert ask(login_as(kit.manager), ids["task"]).status_code == 302
    assert len(notes(kit.admin, "budget.raise_requested")) == 1


def test_asking_when_nothing_blocks_is_refused_and_notifies_nobody(kit, app, login_as):
    ids = submit(app, kit, "500")  # no budget at all
    client = login_as(kit.manager)
    response = ask(client, ids["task"])
    assert response.status_code == 302
    assert "does not block this approval" in client.get("/approvals/").text
    assert notes(kit.cfo, "budget.raise_requested") == [] and notes(kit.admin, "budget.raise_requested") == []


def test_only_who_may_decide_asks(kit, app, login_as, world):
    make_budget(app, kit, "300")
    ids = submit(app, kit, "500")
    assert ask(login_as(kit.cfo), ids["task"]).status_code == 403  # not assigned
    assert ask(login_as(kit.buyer), ids["task"]).status_code == 403  # no inbox
    assert ask(login_as(world.user("approver@globex")), ids["task"]).status_code == 404
    assert notes(kit.cfo, "budget.raise_requested") == []


# ---------------------------------------------------------------- one rule, foreseen and applied


@pytest.mark.parametrize(("amount", "policy", "currency"), [
    ("300", OverrunPolicy.BLOCK, "PLN"),
    ("800", OverrunPolicy.BLOCK, "PLN"),
    ("300", OverrunPolicy.WARN, "PLN"),
    ("300", OverrunPolicy.ESCALATE, "PLN"),
    ("5000", OverrunPolicy.BLOCK, "EUR"),
])
def test_the_foreseen_refusal_is_the_decisions_own(kit, app, amount, policy, currency):
    """Whatever the budget, `budget_block` says the approval is refused exactly when deciding it
    raises BudgetExceeded, with the same message."""
    budget_id = make_budget(app, kit, amount, policy)
    if currency != "PLN":
        with as_acme(app, kit):
            db.session.get(Budget, budget_id).currency = currency
    ids = submit(app, kit, "500")
    with as_acme(app, kit):
        pending = task(ids["task"])
        with db.session.no_autoflush:
            foreseen = blocked.budget_block(pending)
        try:
            with db.session.begin_nested():
                approvals.decide(pending, kit.manager, "approve")
            refused = None
        except BudgetExceeded as exc:
            refused = exc.msg
        db.session.rollback()
    assert (foreseen is None) == (refused is None)
    if refused is not None:
        assert foreseen.message == refused
