"""The approver's inbox (/approvals/): what awaits me, deciding in one click (htmx and plain
forms), from the requisition page, bulk approval, segregation of duties, limits and tenancy."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal
from html import unescape

import pytest

from portal.domain.approval import TaskStatus
from portal.domain.requisition import RequisitionStatus
from portal.extensions import db
from portal.models.base import utcnow
from portal.services import approvals, users
from tests.conftest import as_system
from tests.kit import (
    HX,
    active_task,
    as_acme,
    build_kit,
    count_queries,
    events,
    notes,
    requisition,
    rows,
    submit,
    task,
)

D = Decimal
S = RequisitionStatus


@pytest.fixture
def kit(app, world):
    return build_kit(app, world)


def decide(client, task_id, decision, comment="", headers=None, **extra):
    return client.post(f"/approvals/tasks/{task_id}/decide",
                       data={"decision": decision, "comment": comment, **extra}, headers=headers)


# ---------------------------------------------------------------- the inbox


def test_inbox_lists_what_awaits_me_oldest_first(kit, app, login_as):
    newer = submit(app, kit, "700", title="Monitory", waited_days=1)
    older = submit(app, kit, "500", title="Krzesła biurowe", waited_days=3)
    submit(app, kit, "900", cost_center=kit.cc_prod, title="Części")  # not the manager's
    page = login_as(kit.manager).get("/approvals/")
    assert page.status_code == 200
    html = page.text
    assert rows(html) == 2
    assert html.index(older["number"]) < html.index(newer["number"])
    assert "Krzesła biurowe" in html and "Bartosz Nowak" in html and "Dział IT" in html
    assert "waiting 3 days" in html and "waiting 1 day" in html
    assert "Cost centre manager" in html  # the step
    assert "Części" not in html


def test_inbox_is_clear_when_nothing_awaits(kit, login_as):
    page = login_as(kit.cfo).get("/approvals/")
    assert page.status_code == 200
    assert "Your inbox is clear" in page.text and rows(page.text) == 0


def test_inbox_needs_an_approver_or_admin(kit, login_as, client):
    assert login_as(kit.buyer).get("/approvals/").status_code == 403
    assert login_as(kit.admin).get("/approvals/").status_code == 200
    assert client.get("/approvals/").status_code == 302  # sign in first
    nav = login_as(kit.buyer).get("/").text
    assert 'href="/approvals/"' not in nav
    assert 'href="/approvals/"' in login_as(kit.manager).get("/").text


def test_nav_badge_counts_what_awaits_me(kit, app, login_as):
    submit(app, kit, "500")
    submit(app, kit, "600")
    badge = login_as(kit.manager).get("/approvals/badge", headers=HX)
    assert badge.status_code == 200 and ">2<" in badge.text
    assert login_as(kit.cfo).get("/approvals/badge", headers=HX).text.strip() == ""
    assert login_as(kit.buyer).get("/approvals/badge", headers=HX).status_code == 286


def _task_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<li class="inbox-item[^"]*" id="task-(\d+)"', html)]


def _next_page(html: str) -> str | None:
    found = re.search(r'<a href="([^"]+)" rel="next"', html)
    return unescape(found.group(1)) if found else None


def _delegated_step(app, kit, amount: str, days: float) -> int:
    """A requisition whose step 1 the manager approved: its CFO step, activated `days` ago."""
    ids = submit(app, kit, amount)
    with as_acme(app, kit):
        approvals.decide(task(ids["task"]), kit.manager, "approve")
        step = active_task(requisition(ids["req"]))
        step.activated_at = utcnow() - timedelta(days=days)
        return step.id


def test_inbox_pages_by_cursor_oldest_first_with_delegated_steps_in_their_place(kit, login_as, app):
    with as_acme(app, kit):
        approvals.create_delegation(kit.cfo, kit.manager, *_today_and_tomorrow())
    waited = {}
    for i, days in enumerate((6, 4, 2, 0.5)):
        waited[submit(app, kit, str(100 + i), waited_days=days)["task"]] = days
    for i, days in enumerate((5, 3, 1)):
        waited[_delegated_step(app, kit, str(20000 + i), days)] = days
    oldest_first = sorted(waited, key=lambda task_id: -waited[task_id])
    app.config["PAGE_SIZE"], size = 3, app.config["PAGE_SIZE"]
    try:
        client = login_as(kit.manager)
        pages, url = [], "/approvals/"
        while url:
            html = client.get(url).text
            pages.append(_task_ids(html))
            url = _next_page(html)
            assert len(pages) < 5
        back = client.get(re.search(r'<a href="([^"]+)" rel="prev"', html).group(1).replace("&amp;", "&"))
    finally:
        app.config["PAGE_SIZE"] = size
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [i for p in pages for i in p] == oldest_first
    assert _task_ids(back.text) == pages[1]
    assert "7 requisitions await you" in html


@pytest.mark.usefixtures("uncached_lists")
def test_inbox_pages_cost_the_same_statements_at_one_and_three_times_the_tasks(kit, login_as, app):
    """Page 1 and page 2 (by cursor), own and delegated steps: the statements a page sends do
    not grow with the number of tasks waiting."""
    with as_acme(app, kit):
        approvals.create_delegation(kit.cfo, kit.manager, *_today_and_tomorrow())

    def add(times: int):
        for i in range(4 * times):
            submit(app, kit, str(100 + i), waited_days=i / 7)
        for i in range(2 * times):
            _delegated_step(app, kit, str(20000 + i), i / 5)

    def statements(client) -> list[int]:
        found, url = [], "/approvals/"
        for _ in range(2):
            with count_queries() as sent:
                html = client.get(url).text
            assert rows(html) == 3
            found.append(len(sent))
            url = _next_page(html)
        return found

    app.config["PAGE_SIZE"], size = 3, app.config["PAGE_SIZE"]
    try:
        client = login_as(kit.manager)
        add(1)
        client.get("/approvals/")  # warm up
        once = statements(client)
        add(2)
        thrice = statements(client)
    finally:
        app.config["PAGE_SIZE"] = size
    assert thrice == once


def test_inbox_refuses_a_cursor_it_did_not_give_out(kit, login_as, app):
    submit(app, kit, "100")
    client = login_as(kit.manager)
    for cursor in ("garbage", "eyJvIjoiaW5ib3giLCJzIjowLCJrIjpbMSwyXSwiYiI6MH0", "x" * 2000,
                   "eyJvIjoiY3JlYXRlZCIsInMiOjAsImsiOlsxLDJdLCJiIjowfQ"):
        assert client.get(f"/approvals/?cursor={cursor}").status_code == 422, cursor


@pytest.mark.usefixtures("uncached_lists")
def test_inbox_costs_the_same_queries_for_many_tasks(kit, login_as, app):
    """Own and delegated tasks (CFO steps, the CFO delegated to the manager) in both cases."""
    with as_acme(app, kit):
        approvals.create_delegation(kit.cfo, kit.manager, *_today_and_tomorrow())

    def add(own: int, delegated: int):
        for i in range(own):
            submit(app, kit, str(100 + i))
        for i in range(delegated):
            big = submit(app, kit, str(20000 + i))
            with as_acme(app, kit):
                approvals.decide(task(big["task"]), kit.manager, "approve")

    client = login_as(kit.manager)
    add(1, 1)
    client.get("/approvals/")  # warm up
    with count_queries() as few:
        assert rows(client.get("/approvals/").text) == 2
    add(6, 3)
    with count_queries() as many:
        html = client.get("/approvals/").text
    assert rows(html) == 11 and html.count("on behalf of Ewa Lewandowska") == 4
    assert len(many) == len(few)


def _today_and_tomorrow():
    today = utcnow().date()
    return today, today + timedelta(days=1)


# ---------------------------------------------------------------- deciding from the inbox


def test_approve_with_htmx_replaces_the_row_and_flashes(kit, app, login_as):
    ids = submit(app, kit, "500")
    response = decide(login_as(kit.manager), ids["task"], "approve", headers=HX)
    assert response.status_code == 200
    assert "<html" not in response.text and 'data-testid="inbox-done"' in response.text
    assert "Approved ✓" in response.text and f'id="task-{ids["task"]}"' in response.text
    trigger = json.loads(response.headers["HX-Trigger"])
    assert ids["number"] in trigger["flash"]["message"]
    assert trigger["approvals-changed"]  # the menu's count refreshes
    assert requisition(ids["req"]).status == S.APPROVED
    (note,) = notes(kit.buyer, "requisition.approved")
    assert ids["number"] in note.text


def test_after_a_one_click_approve_every_count_on_the_page_follows(kit, app, login_as):
    """The approve response carries the new counts as out-of-band swaps: the menu's badge and
    the total under the list (it said "3 requisitions await you" after one was approved)."""
    ids = [submit(app, kit, amount) for amount in ("500", "600", "700")]
    client = login_as(kit.manager)
    page = client.get("/approvals/").text
    assert 'id="approvals-nav-count"' in page  # the menu's badge slot the swap targets
    assert "3 requisitions await you" in page and 'id="inbox-total"' in page
    response = decide(client, ids[0]["task"], "approve", headers=HX)
    assert response.status_code == 200 and "<html" not in response.text
    html = response.text
    badge = html.split('id="approvals-nav-count"', 1)[1].split("\n", 1)[0]
    assert 'hx-swap-oob="innerHTML"' in badge and 'data-testid="approvals-count">2</span>' in badge
    total = html.split('id="inbox-total"', 1)[1].split("</p>", 1)[0]
    assert 'hx-swap-oob="true"' in total and "2 requisitions await you" in total
    for other in ids[1:]:
        last = decide(client, other["task"], "approve", headers=HX).text
    assert "Nothing else awaits you." in last
    assert 'data-testid="approvals-count"' not in last.split('id="approvals-nav-count"', 1)[1]


def test_approve_without_htmx_redirects_back_with_a_flash(kit, app, login_as):
    ids = submit(app, kit, "500")
    client = login_as(kit.manager)
    response = decide(client, ids["task"], "approve", comment="OK, w budżecie")
    assert response.status_code == 302 and response.headers["Location"].endswith("/approvals/")
    assert f"{ids['number']} approved." in client.get("/approvals/").text
    (event,) = events(ids["req"], "approval.approved")
    assert event.comment == "OK, w budżecie" and event.actor_id == kit.manager.id


@pytest.mark.parametrize("decision", ["reject", "return"])
def test_reject_or_return_without_a_comment_is_422_and_saves_nothing(kit, app, login_as, decision):
    ids = submit(app, kit, "500")
    client = login_as(kit.manager)
    fragment = decide(client, ids["task"], decision, comment="  ", headers=HX)
    assert fragment.status_code == 422
    assert "Say why in a comment" in fragment.text and "<html" not in fragment.text
    assert 'data-testid="inbox-row"' in fragment.text
    assert '<details class="decide-more" open' in fragment.text
    page = decide(client, ids["task"], decision)
    assert page.status_code == 422 and "Say why in a comment" in page.text
    assert requisition(ids["req"]).status == S.PENDING
    assert task(ids["task"]).status == TaskStatus.PENDING
    action = "approval.rejected" if decision == "reject" else "approval.returned"
    assert events(ids["req"], action) == []


def test_reject_with_a_comment_ends_it_and_tells_the_requester(kit, app, login_as):
    ids = submit(app, kit, "500")
    response = decide(login_as(kit.manager), ids["task"], "reject", "Za drogie", headers=HX)
    assert response.status_code == 200 and "Rejected ✕" in response.text
    assert requisition(ids["req"]).status == S.REJECTED
    (note,) = notes(kit.buyer, "requisition.rejected")
    assert "Za drogie" in note.text


def test_return_with_a_comment_sends_it_back_to_draft(kit, app, login_as):
    ids = submit(app, kit, "500")
    response = decide(login_as(kit.manager), ids["task"], "return", "Dodaj ofertę")
    assert response.status_code == 302
    assert requisition(ids["req"]).status == S.DRAFT
    (event,) = events(ids["req"], "requisition.returned")
    assert event.comment == "Dodaj ofertę"


def test_deciding_from_the_requisition_page_goes_back_to_it(kit, app, login_as):
    first, second = submit(app, kit, "500"), submit(app, kit, "600")
    client = login_as(kit.manager)
    detail = client.get(f"/requisitions/{first['req']}")
    assert 'data-testid="decide-panel"' in detail.text
    back = f"/requisitions/{first['req']}"
    plain = decide(client, first["task"], "approve", next=back)
    assert plain.status_code == 302 and plain.headers["Location"].endswith(back)
    back = f"/requisitions/{second['req']}"
    refused = decide(client, second["task"], "reject", next=back, headers=HX)
    assert refused.status_code == 422 and 'data-testid="decide-panel"' in refused.text
    hx = decide(client, second["task"], "reject", "Nie teraz", next=back, headers=HX)
    assert hx.status_code == 200 and hx.headers["HX-Redirect"].endswith(back)
    assert requisition(second["req"]).status == S.REJECTED


def test_the_requester_sees_no_decision_form(kit, app, login_as):
    ids = submit(app, kit, "500")
    detail = login_as(kit.buyer).get(f"/requisitions/{ids['req']}")
    assert detail.status_code == 200 and 'data-testid="decide-panel"' not in detail.text


# ---------------------------------------------------------------- who may decide


def test_a_crafted_post_to_approve_ones_own_requisition_is_refused(kit, login_as, app):
    with as_acme(app, kit):
        users.set_roles(kit.manager, ["approver", "buyer"], actor=kit.admin)
    ids = submit(app, kit, "500", actor=kit.manager)  # IT's manager raises it: the admins decide
    response = decide(login_as(kit.manager), ids["task"], "approve")
    assert response.status_code == 403
    assert "You cannot decide on your own requisition." in response.text
    assert requisition(ids["req"]).status == S.PENDING
    assert events(ids["req"], "approval.approved") == []


def test_someone_not_assigned_gets_403(kit, app, login_as):
    ids = submit(app, kit, "500")
    response = decide(login_as(kit.cfo), ids["task"], "approve", headers=HX)
    assert response.status_code == 403
    assert requisition(ids["req"]).status == S.PENDING


def test_an_approver_whose_limit_is_below_the_amount_cannot_approve(kit, login_as, app):
    ids = submit(app, kit, "8000", cost_center=kit.cc_prod)  # PROD: approver@acme, limit 10 000
    with as_acme(app, kit):
        users.set_roles(kit.approver, ["approver"], actor=kit.admin, approval_limit=D("5000"))
    client = login_as(kit.approver)
    response = decide(client, ids["task"], "approve")
    assert response.status_code == 403
    assert "approval limit is below the amount" in response.text
    inline = decide(client, ids["task"], "approve", headers=HX)  # said beside the buttons
    assert inline.status_code == 422 and "<html" not in inline.text
    assert "approval limit is below the amount" in inline.text
    assert requisition(ids["req"]).status == S.PENDING
    assert decide(client, ids["task"], "return", "Za drogo dla mnie").status_code == 302
    assert requisition(ids["req"]).status == S.DRAFT


def test_an_approver_of_another_company_gets_404(kit, app, login_as, world):
    ids = submit(app, kit, "500")
    other = login_as(world.user("approver@globex"))
    assert decide(other, ids["task"], "approve").status_code == 404
    assert rows(other.get("/approvals/").text) == 0
    assert requisition(ids["req"]).status == S.PENDING


def test_a_decided_step_cannot_be_decided_again(kit, app, login_as):
    ids = submit(app, kit, "500")
    client = login_as(kit.manager)
    assert decide(client, ids["task"], "approve").status_code == 302
    again = decide(client, ids["task"], "reject", "Jednak nie", headers=HX)
    assert again.status_code == 409 and "no longer open" in again.text
    assert requisition(ids["req"]).status == S.APPROVED


# ---------------------------------------------------------------- quorum


def test_two_of_three_board_members_approve_and_the_third_is_not_needed(kit, login_as, app):
    with as_acme(app, kit):  # the CFO may decide her step and sit on the board as well
        kit.policy.decide_once = False
    ids = submit(app, kit, "60000", category=kit.cat_it)
    assert decide(login_as(kit.manager), ids["task"], "approve").status_code == 302
    cfo = login_as(kit.cfo)
    (cfo_task,) = _pending_tasks(ids["req"])
    assert decide(cfo, cfo_task, "approve").status_code == 302
    (board,) = _pending_tasks(ids["req"])
    assert task(board).name == "Board: IT investments" and task(board).required == 2
    assert decide(login_as(kit.ceo), board, "approve").status_code == 302
    assert requisition(ids["req"]).status == S.PENDING  # one of two
    assert rows(cfo.get("/approvals/").text) == 1
    assert decide(login_as(kit.coo), board, "approve").status_code == 302
    assert requisition(ids["req"]).status == S.APPROVED
    assert rows(cfo.get("/approvals/").text) == 0
    late = decide(cfo, board, "approve", headers=HX)
    assert late.status_code == 409
    with as_system():
        decided = {a.user_id: a.decision for a in task(board).assignments}
    assert decided == {kit.cfo.id: None, kit.ceo.id: "approve", kit.coo.id: "approve"}


def _pending_tasks(req_id):
    req = requisition(req_id)
    with as_system():
        return [t.id for t in approvals.tasks_of(req, req.approval_round)
                if t.status == TaskStatus.PENDING]


# ---------------------------------------------------------------- bulk approval


def test_bulk_approve_takes_only_requisitions_up_to_the_limit(kit, login_as, app):
    small = [submit(app, kit, "300"), submit(app, kit, "5000")]
    large = submit(app, kit, "6000")
    client = login_as(kit.manager)
    page = client.get("/approvals/").text
    assert app.config["BULK_APPROVE_MAX"] == D("5000")
    assert rows(page, "bulk-check") == 2  # 6 000 has no checkbox
    assert f'value="{large["task"]}" form="bulk-approve"' not in page
    crafted = client.post("/approvals/bulk",
                          data={"task_ids": [small[0]["task"], small[1]["task"], large["task"]]})
    assert crafted.status_code == 302
    after = client.get("/approvals/").text
    assert "2 requisitions approved." in after
    assert f"{large['number']} is above the bulk approval limit" in after
    assert [requisition(s["req"]).status for s in small] == [S.APPROVED, S.APPROVED]
    assert requisition(large["req"]).status == S.PENDING


def test_bulk_approve_follows_the_configured_limit(kit, login_as, app):
    cheap, dearer = submit(app, kit, "300"), submit(app, kit, "400")
    app.config["BULK_APPROVE_MAX"], limit = D("350"), app.config["BULK_APPROVE_MAX"]
    try:
        client = login_as(kit.manager)
        assert rows(client.get("/approvals/").text, "bulk-check") == 1
        client.post("/approvals/bulk", data={"task_ids": [cheap["task"], dearer["task"]]})
    finally:
        app.config["BULK_APPROVE_MAX"] = limit
    assert requisition(cheap["req"]).status == S.APPROVED
    assert requisition(dearer["req"]).status == S.PENDING


def test_bulk_approve_ignores_other_companies_and_empty_selections(kit, app, login_as, world):
    ids = submit(app, kit, "300")
    other = login_as(world.user("admin@globex"))
    assert other.post("/approvals/bulk", data={"task_ids": [ids["task"]]}).status_code == 302
    assert requisition(ids["req"]).status == S.PENDING
    client = login_as(kit.manager)
    client.post("/approvals/bulk", data={})
    assert "Tick the requisitions" in client.get("/approvals/").text
    db.session.rollback()
