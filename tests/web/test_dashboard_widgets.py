"""The dashboards: the buyer's requisitions by status, the latest ones, what waits on whom and
since when, and what others did to them; what awaits an approver, oldest first, and his latest
decisions; the admin's longest-waiting steps; the supplier's customers and what they changed.
Only what works is shown (no card for a feature that does not exist), every count is capped and
every widget costs a constant number of queries."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import User
from portal.services import approvals, dashboard, requisitions, users
from portal.tenancy import ALL_TENANTS
from tests.conftest import as_system
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
    counts = dict(re.findall(r'data-status="(\w+)"[^>]*>\s*<span class="value">(\d+)<', html))
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


@pytest.mark.usefixtures("uncached_lists")
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


def _widget(html: str, testid: str) -> str:
    widget = html[html.index(f'data-testid="{testid}"'):]
    return widget[:widget.index("</section>")]


def test_the_buyer_sees_whom_each_pending_requisition_waits_on_and_since_when(kit, login_as, app):
    first = submit(app, kit, "1000", title="Monitory", waited_days=2)
    second = submit(app, kit, "20000", title="Serwer", cost_center=kit.cc_adm, waited_days=0.2)
    with as_acme(app, kit):
        approvals.decide(task(second["task"]), kit.manager, "approve")  # on to the CFO
    html = login_as(kit.buyer).get("/").text
    widget = _widget(html, "waiting-widget")
    assert rows(widget, "waiting-row") == 2
    # oldest submission first, each with the people who still decide and for how long
    assert widget.index(first["number"]) < widget.index(second["number"])
    assert "waiting on Igor Kierownik for 2 days" in widget and "Cost centre manager" in widget
    assert f"waiting on {kit.cfo.full_name} for " in widget and "CFO approval" in widget
    assert "Monitory" in widget and "Serwer" in widget


def test_the_buyer_follows_what_others_did_to_his_requisitions(kit, login_as, app):
    ids = submit(app, kit, "1000", title="Papier")
    with as_acme(app, kit):
        approvals.decide(task(ids["task"]), kit.manager, "approve", "W budżecie.")
    html = login_as(kit.buyer).get("/").text
    widget = _widget(html, "activity-widget")
    assert rows(widget, "activity-item") >= 1
    assert "Igor Kierownik" in widget and ids["number"] in widget and "W budżecie." in widget
    assert kit.buyer.full_name not in widget  # his own steps (created, submitted) are no news
    assert rows(_widget(html, "waiting-widget"), "waiting-row") == 0


def test_counts_stop_at_the_cap_instead_of_counting_a_big_table(kit, login_as, app, monkeypatch):
    monkeypatch.setattr(dashboard, "COUNT_CAP", 2)
    with as_acme(app, kit):
        for i in range(4):
            draft(kit, "100", title=f"Szkic {i}")
    html = login_as(kit.buyer).get("/").text
    assert re.search(r'data-status="draft"[^>]*>\s*<span class="value">2\+<', html)
    for i in range(3):
        submit(app, kit, str(300 + i), title=f"Zakup {i}")
    html = login_as(kit.manager).get("/").text
    assert "2+" in _widget(html, "approver-widget")


def test_the_approver_sees_his_latest_decisions(kit, login_as, app):
    ids = submit(app, kit, "1000", title="Krzesła")
    with as_acme(app, kit):
        approvals.decide(task(ids["task"]), kit.manager, "approve")
    widget = _widget(login_as(kit.manager).get("/").text, "decided-widget")
    assert rows(widget, "decided-row") == 1 and ids["number"] in widget and "Approved" in widget


def test_the_admin_sees_the_steps_waiting_longest_and_on_whom(kit, login_as, app):
    submit(app, kit, "1000", title="Stare", waited_days=5)
    submit(app, kit, "1000", title="Nowe", cost_center=kit.cc_prod, waited_days=1)
    widget = _widget(login_as(kit.admin).get("/").text, "oldest-widget")
    assert rows(widget, "oldest-row") == 2 and widget.index("Stare") < widget.index("Nowe")
    assert "waiting on Igor Kierownik for 5 days" in widget
    assert f"waiting on {kit.approver.full_name} for 1 day" in widget


def test_the_supplier_sees_customers_and_their_changes_and_what_to_answer(world, login_as):
    hans = world.user("sales@nordwind")
    html = login_as(hans).get("/").text
    # RFQs exist now: the card shows what waits for a quote (tests/web/test_sourcing_dashboards.py)
    assert "No requests waiting for your quote" in _widget(html, "to-answer-widget")
    customers = _widget(html, "customers-widget")
    assert rows(customers, "customer-item") == 2
    assert "Acme Manufacturing" in customers and "Globex Trading" in customers
    assert 'href="/supplier/customers/' in customers and "credit limit" in customers
    activity = _widget(html, "supplier-activity-widget")
    # the buyer's people are named although they belong to another organisation
    assert rows(activity, "activity-item") == 2
    assert "Anna Kowalska" in activity and "Georgi Petrov" in activity
    assert "buyer-widget" not in html and "approver-widget" not in html


def test_a_supplier_sees_only_its_own_customers(world, login_as):
    html = login_as(world.user("sales@polbud")).get("/").text
    customers = _widget(html, "customers-widget")
    assert "Acme Manufacturing" in customers and "Globex" not in html


def test_the_dashboards_use_the_whole_width(kit, login_as):
    for user in (kit.buyer, kit.manager, kit.admin):
        html = login_as(user).get("/").text
        assert 'class="dash-grid"' in html and "grid-2" not in html


def test_a_blocked_customer_leaves_the_supplier_dashboard(world, login_as):
    from portal.models import SupplierLink

    acme, polbud = world.acme, world.polbud
    link = db.session.scalar(select(SupplierLink).where(
        SupplierLink.organization_id == acme.id, SupplierLink.supplier_id == polbud.id)
        .execution_options(**ALL_TENANTS))
    assert login_as(world.user("admin@acme")).post(
        f"/suppliers/{link.id}/block", data={"comment": "Audyt"}).status_code == 302
    html = login_as(world.user("sales@polbud")).get("/").text
    assert "Acme" not in html and rows(html, "customer-item") == 0


def test_budgets_to_watch_are_every_current_budget_for_an_admin_and_his_own_for_a_manager(
        kit, login_as, app):
    from tests.factories import make_budget

    make_budget(kit.cc_it, "1000", actor=kit.admin)
    make_budget(kit.cc_prod, "2000", actor=kit.admin)
    make_budget(kit.cc_adm, "3000", actor=kit.admin, year=2001)  # not current: never shown
    db.session.commit()
    codes = {}
    for who in (kit.admin, kit.manager, kit.approver):
        widget = _widget(login_as(who).get("/").text, "budget-widget")
        codes[who.email] = set(re.findall(r'<small class="muted">(\w+) ·', widget))
    assert codes[kit.admin.email] == {"IT", "PROD"}
    assert codes[kit.manager.email] == {"IT"}
    assert codes[kit.approver.email] == {"PROD"}


def test_the_admin_counts_users_and_open_invitations_of_his_own_company(kit, login_as, world):
    with as_system():
        expected = db.session.scalar(
            select(func.count()).select_from(User).where(
                User.organization_id == kit.admin.organization_id, User.is_active_flag.is_(True)))
    stats = _widget(login_as(kit.admin).get("/").text, "admin-stats")
    values = re.findall(r'<div class="value">([^<]*)</div>', stats)
    assert values[0] == str(min(expected, dashboard.COUNT_CAP)) + ("+" if expected > dashboard.COUNT_CAP else "")
    assert values[1] == "0"
