"""Who a requisition waits on, and where a draft will go (issue 8, point 18): the requester sees
the expected route on the draft (the admin's preview), and lists and the requisition page say
"waiting on <name> for 2 days"; `waiting_on` answers for many requisitions in one query."""

from __future__ import annotations

from decimal import Decimal

import pytest

from portal.services import approval_policy
from portal.services.approvals import queries as approval_queries
from tests.kit import (
    as_acme,
    build_kit,
    count_queries,
    draft,
    requisition,
    submit,
    task,
    text_of,
)

D = Decimal


@pytest.fixture
def kit(app, world):
    return build_kit(app, world)


def make_draft(app, kit, amount, **kwargs) -> int:
    with as_acme(app, kit):
        req_id = draft(kit, amount, **kwargs).id
    return req_id


# ---------------------------------------------------------------- the route of a draft


def test_the_requester_sees_the_expected_route_on_the_draft(kit, app, login_as):
    req_id = make_draft(app, kit, "60000", category=kit.cat_it)
    html = login_as(kit.buyer).get(f"/requisitions/{req_id}").text
    assert 'data-testid="expected-route"' in html
    route = text_of(html.split('data-testid="expected-route"', 1)[1].split("</ol>", 1)[0])
    # The three steps of the demo-like policy, in order, with their people and quorum.
    assert route.index("Cost centre manager") < route.index("CFO approval") < route.index("Board")
    assert "Igor Kierownik" in route and "Ewa Lewandowska" in route
    assert "Zofia Wójcik" in route and "Tomasz Kamiński" in route


def test_the_drafts_route_is_the_admins_preview(kit, app, login_as):
    """Same steps and approvers as the admin's "Try it" preview for the same facts."""
    req_id = make_draft(app, kit, "12000", cost_center=kit.cc_adm)
    with as_acme(app, kit):
        req = requisition(req_id)
        ours = approval_queries.expected_route(req).plan
        admins = approval_policy.preview(kit.admin, amount=req.gross_total, cost_center=req.cost_center,
                                         category=None)
    assert [(t.name, t.approver_ids, t.required) for t in ours.tasks] == \
        [(t.name, t.approver_ids, t.required) for t in admins.tasks]
    html = login_as(kit.buyer).get(f"/requisitions/{req_id}").text
    assert "Cost centre manager" in html and "CFO approval" in html and "Board" not in html


def test_a_draft_without_lines_says_to_add_them_first(kit, app, login_as):
    from tests.factories import make_requisition

    with as_acme(app, kit):
        req_id = make_requisition(kit.buyer, cost_center=kit.cc_it, lines=()).id
    html = login_as(kit.buyer).get(f"/requisitions/{req_id}").text
    assert "Add lines to see who will approve it." in html


def test_a_pending_requisition_shows_its_tasks_not_a_route(kit, app, login_as):
    ids = submit(app, kit, "500")
    html = login_as(kit.buyer).get(f"/requisitions/{ids['req']}").text
    assert 'data-testid="expected-route"' not in html


# ---------------------------------------------------------------- waiting on whom, since when


def test_lists_and_the_page_say_who_it_waits_on_and_for_how_long(kit, app, login_as):
    ids = submit(app, kit, "500", waited_days=2)
    done = submit(app, kit, "400")
    with as_acme(app, kit):
        from portal.services import approvals

        approvals.decide(task(done["task"]), kit.manager, "approve")
    buyer = login_as(kit.buyer)
    listing = buyer.get("/requisitions/").text
    assert text_of(listing).count("Waiting on Igor Kierownik for 2 days") == 1
    assert listing.count('data-testid="waiting-on"') == 1  # the approved one waits on nobody
    detail = buyer.get(f"/requisitions/{ids['req']}").text
    assert "Waiting on Igor Kierownik for 2 days" in text_of(detail)
    everyone = login_as(kit.admin).get("/requisitions/all").text
    assert "Waiting on Igor Kierownik for 2 days" in text_of(everyone)


def test_a_group_step_waits_on_those_who_have_not_decided(kit, app):
    ids = submit(app, kit, "60000", category=kit.cat_it, waited_days=1)
    with as_acme(app, kit):
        from portal.services import approvals
        from tests.kit import active_task

        req = requisition(ids["req"])
        approvals.decide(active_task(req), kit.manager, "approve")
        approvals.decide(active_task(req), kit.cfo, "approve")
        board = active_task(req)
        approvals.decide(board, kit.ceo, "approve")
        waiting = approval_queries.waiting_on([ids["req"]])[ids["req"]]
        activated = board.activated_at
    assert "Zofia Wójcik" not in waiting.names and "Tomasz Kamiński" in waiting.names
    assert waiting.since == activated and waiting.step == "Board: IT investments"


def test_waiting_on_is_one_query_for_many_requisitions(kit, app):
    pending = [submit(app, kit, str(100 + i))["req"] for i in range(6)]
    drafted = make_draft(app, kit, "100")
    with as_acme(app, kit), count_queries() as statements:
        found = approval_queries.waiting_on([*pending, drafted, None])
    assert len(statements) == 1
    assert set(found) == set(pending)
    assert all(w.names == ("Igor Kierownik",) and w.since is not None for w in found.values())
    assert approval_queries.waiting_on([]) == {}
