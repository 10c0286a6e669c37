"""The pages every user opens all day cost a fixed, small number of SQL statements whatever the
amount of data (issue 9): the inbox, every dashboard, both badges, the budget list and detail, the
audit log. The inbox and badges are read from the assignment index (own and delegators'
assignments), the badges answer from their version between changes, and the queries that must
stay on an index say so in SQLite's plan."""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, select

from portal.blueprints import badges as badge_cache
from portal.extensions import db
from portal.models import Budget
from portal.models.base import utcnow
from portal.services import approvals, budgets, notifications
from portal.services.approvals import queries
from tests.factories import make_budget
from tests.kit import as_acme, build_kit, count_queries, submit, task

# 13: the admin's dashboard gained the invoicing widgets (to approve, overdue: one statement).
MAX_STATEMENTS = 13


@pytest.fixture
def kit(app, world):
    return build_kit(app, world)


def _grow(app, kit, world, n: int) -> int:
    """n more of everything the pages read: requisitions waiting on the manager (some for the
    CFO, who delegates to the manager), decisions, notifications, audit events and postings on
    the IT budget. Returns the budget's id."""
    with as_acme(app, kit):
        budget = db.session.scalars(select(Budget).where(Budget.cost_center_id == kit.cc_it.id)).first()
        if budget is None:
            budget = make_budget(kit.cc_it, "1000000", actor=kit.admin)
            approvals.create_delegation(kit.cfo, kit.manager, utcnow().date(),
                                        utcnow().date() + timedelta(days=5))
        budget_id = budget.id
    for i in range(n):
        submit(app, kit, str(100 + i), title=f"Waits {i}")
        cfo = submit(app, kit, str(20000 + i), title=f"Large {i}")
        with as_acme(app, kit):
            approvals.decide(task(cfo["task"]), kit.manager, "approve")
            budget = db.session.get(Budget, budget_id)
            budgets.commit_for(budget, from_source=None, source_type="Order", source_id=i,
                               source_label=f"PO-{i}", amount=Decimal("10.00"), actor=kit.admin)
    return budget_id


def _pages(kit, world, budget_id: int) -> dict:
    supplier = world.user("sales@nordwind.example")
    return {
        "inbox": (kit.manager, "/approvals/"),
        "approver dashboard": (kit.manager, "/"),
        "buyer dashboard": (kit.buyer, "/"),
        "admin dashboard": (kit.admin, "/"),
        "supplier dashboard": (supplier, "/"),
        "approvals badge": (kit.manager, "/approvals/badge"),
        "notifications badge": (kit.buyer, "/notifications/badge"),
        "budget list": (kit.admin, "/budgets/"),
        "budget detail": (kit.admin, f"/budgets/{budget_id}"),
        "audit log": (kit.admin, "/admin/audit"),
    }


def _statements(login_as, pages) -> dict[str, int]:
    found = {}
    for name, (user, url) in pages.items():
        client = login_as(user)
        assert client.get(url).status_code == 200, name  # warm: the session's user is loaded
        badge_cache._SEEN.clear()  # what a badge costs when its version changed
        with count_queries() as statements:
            response = client.get(url, headers={"Cache-Control": "no-cache"})
        assert response.status_code == 200, name
        found[name] = len(statements)
    return found


def test_each_page_costs_the_same_few_statements_at_one_and_three_times_the_data(
        kit, world, login_as, app):
    # 1x: enough that each list's first page is full (the audit log's too); 3x: three times that.
    budget_id = _grow(app, kit, world, 3)
    once = _statements(login_as, _pages(kit, world, budget_id))
    _grow(app, kit, world, 6)
    thrice = _statements(login_as, _pages(kit, world, budget_id))
    # The audit log names the objects of its page with one statement per object type shown
    # (a fixed set of types, never a statement per row): fewer types on a page of requisition
    # events only. Every other page sends exactly the same statements.
    assert thrice.pop("audit log") <= once.pop("audit log") <= MAX_STATEMENTS
    assert thrice == once
    assert max(once.values()) <= MAX_STATEMENTS, once


def test_the_inbox_holds_own_and_delegated_tasks_from_the_assignment_index(kit, world, app):
    _grow(app, kit, world, 2)
    with as_acme(app, kit):
        numbers = {row.requisition.title for row in queries.inbox_rows(
            kit.manager, db.session.scalars(queries.inbox_query(kit.manager)).all(),
            bulk_max=Decimal(0))}
        # own steps, and the CFO's steps through the delegation
        assert {"Waits 0", "Waits 1"} <= numbers and {"Large 0", "Large 1"} <= numbers
        assert queries.inbox_count(kit.manager) == 4
        # The plans of the inbox's page statements: tests/test_list_plans.py.


def test_a_badge_answers_from_its_version_until_something_it_counts_changes(kit, world, app, login_as):
    _grow(app, kit, world, 1)
    client = login_as(kit.manager)
    first = client.get("/approvals/badge")
    assert first.status_code == 200 and first.headers["ETag"]
    assert 'data-testid="approvals-count">2<' in first.text
    with count_queries() as statements:
        again = client.get("/approvals/badge")
    assert again.text == first.text and again.headers["ETag"] == first.headers["ETag"]
    # the signed-in user (with the data version), then the badge's version row only: no inbox query
    versions = [s for s in statements if s.startswith("SELECT badge_versions")]
    assert [s for s in statements if "FROM users" not in s] == versions
    assert len(versions) == 1
    not_modified = client.get("/approvals/badge", headers={"If-None-Match": first.headers["ETag"]})
    assert not_modified.status_code == 304 and not_modified.data == b""
    # a new task for the manager changes the version, and the count follows
    submit(app, kit, "150", title="One more")
    changed = client.get("/approvals/badge", headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and changed.headers["ETag"] != first.headers["ETag"]
    assert 'data-testid="approvals-count">3<' in changed.text


def test_the_bell_follows_new_and_read_notifications(kit, world, app, login_as):
    client = login_as(kit.buyer)
    empty = client.get("/notifications/badge")
    with as_acme(app, kit):
        notifications.notify(kit.buyer, "Hello", email=False)
    one = client.get("/notifications/badge", headers={"If-None-Match": empty.headers["ETag"]})
    assert one.status_code == 200 and 'data-testid="bell-count">1<' in one.text
    assert client.get("/notifications/badge",
                      headers={"If-None-Match": one.headers["ETag"]}).status_code == 304
    with as_acme(app, kit):
        notifications.mark_read(kit.buyer)
    read = client.get("/notifications/badge", headers={"If-None-Match": one.headers["ETag"]})
    assert read.status_code == 200 and "bell-count" not in read.text


def test_badges_stop_counting_past_their_cap(kit, app, monkeypatch):
    monkeypatch.setattr("portal.services.badges.CAP", 2)
    with as_acme(app, kit):
        for i in range(4):
            notifications.notify(kit.buyer, f"Note {i}", email=False)
    with as_acme(app, kit):
        assert notifications.unread_count(kit.buyer) == 3  # stopped one past the cap


@contextmanager
def _captured():
    """The SQL statements sent, with their parameters (to ask SQLite for their plans)."""
    sent: list[tuple[str, tuple]] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        sent.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield sent
    finally:
        event.remove(db.engine, "before_cursor_execute", before)


def _plan(statement: str, parameters) -> str:
    with db.engine.connect() as conn:
        found = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
    return " | ".join(str(row[-1]) for row in found)


@pytest.mark.usefixtures("uncached_lists")
def test_the_audit_log_pages_through_its_index_without_sorting_the_log(kit, world, app, login_as):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("reads SQLite's query plans")
    _grow(app, kit, world, 3)
    client = login_as(kit.admin)
    first = client.get("/admin/audit")
    older = re.search(r'href="(/admin/audit\?[^"]*before=\d+[^"]*)"', first.text)
    assert older, "a full first page links to older events"
    for url in ("/admin/audit", older.group(1).replace("&amp;", "&")):
        with _captured() as sent:
            assert client.get(url).status_code == 200
        (page_query,) = [(s, p) for s, p in sent if "FROM audit_events" in s and "LIMIT" in s]
        plan = _plan(*page_query)
        assert "USING INDEX ix_audit_events_org_created" in plan, plan
        assert "TEMP B-TREE" not in plan, plan


def test_the_budget_ledger_pages_by_cursor(kit, world, app, login_as):
    budget_id = _grow(app, kit, world, 5)
    app.config["PAGE_SIZE"], size = 3, app.config["PAGE_SIZE"]
    try:
        client = login_as(kit.admin)
        first = client.get(f"/budgets/{budget_id}").text
        older = re.search(r'href="([^"]*cursor=[^"]*)" rel="next"', first)
        assert older, "a full ledger page links to older entries"
        second = client.get(older.group(1).replace("&amp;", "&")).text
    finally:
        app.config["PAGE_SIZE"] = size
    newest = {f"PO-{i}" for i in (4, 3, 2)}
    assert all(label in first for label in newest) and "PO-1" not in first
    assert "PO-1" in second and "PO-0" in second and "PO-4" not in second
    assert 'rel="next"' not in second and 'rel="prev"' in second
