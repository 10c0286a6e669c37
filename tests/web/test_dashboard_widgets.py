"""The dashboard's requisition widgets: the buyer's requisitions by status and the latest
ones; what awaits an approver, oldest first; both at a constant number of queries."""

from __future__ import annotations

import re

import pytest

from portal.services import approvals, requisitions, users
from tests.kit import as_acme, build_kit, count_queries, draft, rows, submit, task


@pytest.fixture
def kit(app, world):
    return build_kit(app, world)


def test_the_buyer_sees_counts_by_status_and_the_latest_five(kit, login_as, app):
    with as_acme(app, kit):
        draft(kit, "100", title="Szkic")
    pending = [submit(app, kit, str(200 + i), title=f"Czeka {i}") for i in range(5)]
    with as_acme(app, kit):
        approvals.decide(task(pending[0]["task"]), kit.manager, "approve")
        approvals.decide(task(pending[1]["task"]), kit.manager, "reject", "Nie")
    html = login_as(kit.buyer).get("/").text
    widget = html[html.index('data-testid="buyer-widget"'):]
    widget = widget[:widget.index("</section>")]
    counts = dict(re.findall(r'data-status="(\w+)"[^>]*>\s*<span class="value">(\d+)<', widget))
    assert counts == {"draft": "1", "pending": "3", "approved": "1", "rejected": "1"}
    assert rows(widget, "recent-requisition") == 5
    assert "Czeka 4" in widget and "Szkic" not in widget  # the oldest drops off
    assert 'data-testid="new-requisition"' in widget and 'href="/requisitions/new"' in widget


def test_a_new_buyer_is_invited_to_raise_a_requisition(kit, login_as):
    html = login_as(kit.buyer2).get("/").text
    assert "No requisitions yet" in html and 'data-testid="new-requisition"' in html


def test_the_approver_sees_the_oldest_five_awaiting_with_their_age(kit, login_as, app):
    for i in range(7):
        submit(app, kit, str(300 + i), title=f"Zakup {i}", waited_days=7 - i)
    html = login_as(kit.manager).get("/").text
    widget = html[html.index('data-testid="approver-widget"'):]
    widget = widget[:widget.index("</section>")]
    assert rows(widget, "awaiting-row") == 5
    assert widget.index("Zakup 0") < widget.index("Zakup 4") and "Zakup 5" not in widget
    assert "waiting 1 week" in widget and "waiting 3 days" in widget
    assert "and 2 more in your inbox" in widget
    assert 'href="/approvals/"' in widget


def test_an_approver_with_nothing_waiting_has_a_clear_inbox(kit, login_as):
    html = login_as(kit.cfo).get("/").text
    assert 'data-testid="approver-widget"' in html and "Your inbox is clear" in html
    assert 'data-testid="buyer-widget"' not in html


def test_admins_see_the_inbox_widget_too(kit, login_as):
    html = login_as(kit.admin).get("/").text
    assert 'data-testid="admin-widget"' in html and 'data-testid="approver-widget"' in html


def test_the_widgets_cost_the_same_queries_for_many_requisitions(kit, login_as, app):
    with as_acme(app, kit):
        users.set_roles(kit.manager, ["approver", "buyer"], actor=kit.admin)
    client = login_as(kit.manager)
    submit(app, kit, "100")
    with as_acme(app, kit):
        requisitions.create_requisition(kit.manager, title="Mój", cost_center=kit.cc_prod)
    client.get("/")
    with count_queries() as few:
        client.get("/")
    for i in range(8):
        submit(app, kit, str(200 + i))
        with as_acme(app, kit):
            requisitions.create_requisition(kit.manager, title=f"Mój {i}", cost_center=kit.cc_prod)
    with count_queries() as many:
        html = client.get("/").text
    assert rows(html, "awaiting-row") == 5 and rows(html, "recent-requisition") == 5
    assert len(many) == len(few)
