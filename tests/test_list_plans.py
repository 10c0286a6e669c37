"""Each requisition list query reads an index that matches its filter and sort: the plan
(SQLite's EXPLAIN QUERY PLAN of the statements a page really sends) names one of the list
indexes, never scans the table and never sorts in a temporary B-tree. Deterministic: no timing.
"""

from __future__ import annotations

import pytest

from portal.extensions import db
from tests.kit import make_shop
from tests.listdata import bulk_requisitions, captured_selects, next_page, plan

LIST_INDEXES = (
    "ix_requisitions_org_created", "ix_requisitions_org_requester_created",
    "ix_requisitions_org_status_created", "ix_requisitions_org_cost_center_created",
    "ix_requisitions_org_gross", "ix_requisitions_org_needed_by",
    "uq_requisitions_organization_id_number", "sqlite_autoindex_requisitions_1",
)


@pytest.fixture
def shop(world, app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the plans checked are SQLite's")
    shop = make_shop(world)
    bulk_requisitions(shop.org, [shop.buyer, shop.buyer2], [shop.cc_it, shop.cc_adm], 160)
    return shop


def _urls(shop):
    return [
        ("buyer", "/requisitions/"),
        ("admin", "/requisitions/all"),
        ("admin", "/requisitions/all?status=pending"),
        ("admin", f"/requisitions/all?cost_center={shop.cc_adm.id}"),
        ("admin", f"/requisitions/all?requester={shop.buyer2.id}"),
        ("admin", "/requisitions/all?created_from=2025-01-01&created_to=2025-01-01"),
        ("admin", "/requisitions/all?amount_min=1000"),
        ("admin", "/requisitions/all?q=REQ-2020-001"),
        ("admin", "/requisitions/all?q=zakup 1"),
        *[("admin", f"/requisitions/all?sort={sort}&dir={direction}")
          for sort in ("created", "number", "amount", "needed_by", "status")
          for direction in ("asc", "desc")],
    ]


def test_every_list_query_reads_its_index_and_never_sorts(shop, login_as):
    clients = {"buyer": login_as(shop.buyer), "admin": login_as(shop.admin)}
    checked = 0
    for who, url in _urls(shop):
        client = clients[who]
        first = client.get(url)
        pages = [url, next_page(first.text)]  # the first page and a deeper one (by cursor)
        for page_url in filter(None, pages):
            for statement, parameters in captured_selects(client, page_url, "FROM requisitions"):
                steps = plan(statement, parameters)
                text = " | ".join(steps)
                main = [step for step in steps if "requisitions" in step and "USING" in step]
                assert main, f"{page_url}: {text}"
                if "count(*)" not in statement:  # the bounded count may walk any org index
                    assert any(name in text for name in LIST_INDEXES), f"{page_url}: {text}"
                assert "TEMP B-TREE" not in text, f"{page_url}: {text}"
                assert "SCAN requisitions" not in text.replace("SCAN requisitions USING", ""), \
                    f"{page_url}: {text}"
                checked += 1
    assert checked >= 2 * len(_urls(shop))


def test_the_buyer_dashboard_reads_bounded_index_ranges(shop, login_as):
    """The buyer's counts and pending list read the (org, requester, status, submitted) index:
    at most cap + 1 entries per status, the pending ones in their order (no sort of all the
    buyer's rows); the activity feed reads an audit index, never the table."""
    statements = captured_selects(login_as(shop.buyer), "/", "FROM requisitions", "FROM audit_events")
    seen = set()
    for statement, parameters in statements:
        text = " | ".join(plan(statement, parameters))
        for table in ("requisitions", "audit_events"):
            assert f"SCAN {table} " not in f"{text} ".replace(f"SCAN {table} USING", ""), text
        if "FROM audit_events" in statement:
            # With statistics (ANALYZE, as the bench data sets have) SQLite reads the 20
            # objects' events by ix_audit_events_object; on this unanalysed database it may
            # walk the company's Requisition events back in time instead: an index either way.
            assert "ix_audit_events_object" in text or "ix_audit_events_org_type" in text, text
            seen.add("activity")
            continue
        if "count(*)" in statement:  # the GROUP BY of the capped parts: 4 x (cap + 1) rows at most
            text = text.replace("USE TEMP B-TREE FOR GROUP BY", "")
        assert "TEMP B-TREE" not in text, text
        if "status =" in statement:
            assert "ix_requisitions_org_requester_status_submitted" in text, text
            seen.add("count" if "count(*)" in statement else "pending")
    assert seen == {"count", "pending", "activity"}


# ---------------------------------------------------------------- the other keyset lists

# Each list's table and the indexes its pages may walk (filter + sort, tenant column first).
OTHER_LISTS = {
    "items": ("ix_items_org_sku", "ix_items_org_active_sku", "ix_items_org_category_sku"),
    "notifications": ("ix_notifications_org_user_unread", "ix_notifications_org_user_seen"),
    "invitations": ("ix_invitations_org_kind_open",),
    "budgets": ("ix_budgets_org_starts", "ix_budgets_org_status_starts"),
}


@pytest.fixture
def lists(world, app):
    """The shop with 160 rows in each of the other lists."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the plans checked are SQLite's")
    from tests.listdata import (
        bulk_budgets,
        bulk_customers,
        bulk_items,
        bulk_notifications,
        bulk_supplier_invitations,
        bulk_suppliers,
    )

    shop = make_shop(world)
    bulk_items(shop.org, [shop.cat_it], 160)
    bulk_notifications(shop.org, shop.approver, 160)
    bulk_suppliers(shop.org, 160)
    bulk_customers(world.polbud, 160)
    bulk_supplier_invitations(shop.org, shop.admin, 160)
    bulk_budgets(shop.org, [shop.cc_it, shop.cc_adm], 160)
    return shop


def _other_urls(shop):
    return [
        ("buyer", "/catalog/", "items"),
        ("admin", "/catalog/?status=all", "items"),
        ("admin", "/catalog/?status=inactive", "items"),
        ("admin", f"/catalog/?category={shop.cat_it.id}&status=all", "items"),
        ("buyer", f"/catalog/?category={shop.cat_it.id}", "items"),
        ("admin", "/catalog/?q=bulk", "items"),
        ("approver", "/notifications/", "notifications"),
        ("admin", "/suppliers/invitations", "invitations"),
        ("admin", "/budgets/", "budgets"),
        ("admin", "/budgets/?status=all", "budgets"),
        ("admin", "/budgets/?status=closed&year=2020", "budgets"),
        ("admin", "/budgets/?year=2024&status=all", "budgets"),
    ]


@pytest.mark.usefixtures("uncached_lists")
def test_the_other_lists_read_their_indexes_and_never_sort(lists, login_as, world):
    shop = lists
    clients = {"buyer": login_as(shop.buyer), "admin": login_as(shop.admin),
               "approver": login_as(shop.approver)}
    checked = 0
    for who, url, table in _other_urls(shop):
        client = clients[who]
        pages = [url, next_page(client.get(url).text)]
        if url.startswith("/notifications/"):  # on to the read ones (the second segment)
            pages += [next_page(client.get(pages[-1]).text)]
            pages += [next_page(client.get(pages[-1]).text)]
        assert all(pages) or "year=" in url, url  # a year's budgets fit on a page
        for page_url in filter(None, pages):
            statements = captured_selects(client, page_url, f"FROM {table}")
            assert statements, page_url
            for statement, parameters in statements:
                text = " | ".join(plan(statement, parameters))
                if "count(*)" not in statement:
                    assert any(name in text for name in OTHER_LISTS[table]), f"{page_url}: {text}"
                assert "TEMP B-TREE" not in text and "AUTOMATIC" not in text, f"{page_url}: {text}"
                assert f"SCAN {table}" not in text.replace(f"SCAN {table} USING", ""), \
                    f"{page_url}: {text}"
                checked += 1
    assert checked >= 2 * len(_other_urls(shop))


def test_the_supplier_lists_walk_one_companys_links(lists, login_as, world):
    """Suppliers and customers are listed by the other company's name, which no index of the
    links holds: a page reads the company's links from its own index and sorts those (one
    buyer's suppliers, one supplier's customers), never the whole table."""
    clients = {"admin": login_as(lists.admin), "supplier": login_as(world.user("sales@polbud"))}
    for who, url in (("admin", "/suppliers/"), ("admin", "/suppliers/?status=blocked"),
                     ("admin", "/suppliers/?q=bulk"), ("supplier", "/supplier/customers")):
        client = clients[who]
        for page_url in filter(None, [url, next_page(client.get(url).text)]):
            for statement, parameters in captured_selects(client, page_url, "FROM supplier_links"):
                text = " | ".join(plan(statement, parameters))
                assert "SCAN supplier_links" not in text.replace("SCAN supplier_links USING", ""), \
                    f"{page_url}: {text}"
                assert "SEARCH supplier_links USING" in text or "SCAN supplier_links USING" in text, \
                    f"{page_url}: {text}"


# ---------------------------------------------------------------- the approver's inbox

INBOX_INDEX = "ix_approval_assignments_user_activated"


@pytest.fixture
def inbox_kit(world, app):
    from datetime import timedelta

    from portal.models.base import utcnow
    from portal.services import approvals
    from tests.kit import active_task, as_acme, build_kit, requisition, submit, task

    if db.engine.dialect.name != "sqlite":
        pytest.skip("the plans checked are SQLite's")
    kit = build_kit(app, world)
    with as_acme(app, kit):
        today = utcnow().date()
        approvals.create_delegation(kit.cfo, kit.manager, today, today + timedelta(days=1))
    for i in range(8):
        submit(app, kit, str(100 + i), waited_days=i / 3)
    for i in range(4):  # the CFO's steps, decided by the manager through the delegation
        ids = submit(app, kit, str(20000 + i))
        with as_acme(app, kit):
            approvals.decide(task(ids["task"]), kit.manager, "approve")
            active_task(requisition(ids["req"])).activated_at = utcnow() - timedelta(days=i / 2)
    return kit


@pytest.mark.usefixtures("uncached_lists")
def test_the_inbox_its_badge_and_the_dashboard_walk_the_open_assignment_index(inbox_kit, login_as, app):
    """Each person's range of the index is read in order up to a page (or the count's cap):
    never a scan of the assignments or tasks, never a sort of all of them."""
    app.config["PAGE_SIZE"], size = 5, app.config["PAGE_SIZE"]
    try:
        client = login_as(inbox_kit.manager)
        first = client.get("/approvals/")
        pages = ["/approvals/", next_page(first.text), "/", "/approvals/badge"]
        assert pages[1], "the inbox has a second page"
        kinds = set()
        for url in pages:
            statements = captured_selects(client, url, "JOIN approval_assignments")
            assert statements, url
            for statement, parameters in statements:
                text = " | ".join(plan(statement, parameters))
                assert INBOX_INDEX in text, f"{url}: {text}"
                assert "TEMP B-TREE" not in text, f"{url}: {text}"
                for table in ("approval_assignments", "approval_tasks", "requisitions"):
                    assert f"SCAN {table} " not in f"{text} ".replace(f"SCAN {table} USING", ""), \
                        f"{url}: {text}"
                kinds.add("count" if "count(*)" in statement else "page")
        assert kinds == {"count", "page"}
    finally:
        app.config["PAGE_SIZE"] = size


def test_postgresql_knows_how_often_a_word_is_in_the_titles(world, app):
    """The text search (`lower(title) LIKE '%…%'`) on PostgreSQL: the trigram index on the
    expression (models.requisition) makes ANALYZE keep its statistics, which give the planner
    the real share of matching rows, so a frequent word walks the list's index in order until
    the page is full instead of sorting every match (a fixed guess of a tiny share did that:
    250 ms at 1M requisitions). ANALYZE reads every row of so small a table: deterministic."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("statistics on an expression are PostgreSQL's")
    shop = make_shop(world)
    people, centres = [shop.buyer, shop.buyer2], [shop.cc_it, shop.cc_adm]
    bulk_requisitions(shop.org, people, centres, 200, title="Office furniture")
    bulk_requisitions(shop.org, people, centres, 200, start=200, title="Zakup")
    db.session.commit()
    with db.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE requisitions")
        plan = conn.exec_driver_sql(
            "EXPLAIN (FORMAT JSON) SELECT id FROM requisitions "
            "WHERE lower(title) LIKE '%%furniture%%' AND organization_id = %(org)s",
            {"org": shop.org.id}).scalar_one()
    estimate = plan[0]["Plan"]["Plan Rows"]
    assert 100 <= estimate <= 300, plan  # 200 match; without the statistics: 2
    with db.engine.connect() as conn:
        indexes = conn.exec_driver_sql(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_requisitions_title_trgm'").all()
    assert indexes and "gin_trgm_ops" in indexes[0][0]


# ---------------------------------------------------------------- the API's lists

# (caller, list URL, table, the index its pages walk): the sync order (updated_at, id) read from
# the tenant's (or the supplier's) range of ix_<table>_org_updated / _supplier_updated, with
# every filter checked along the walk (a requester's own list: its range of
# ix_requisitions_org_requester_updated); never a sort.
def _api_lists(shop, world):
    return [
        # a buyer without view_all lists its own: the requester's range
        ("buyer", "/requisitions", "requisitions", "ix_requisitions_org_requester_updated"),
        ("admin", "/requisitions", "requisitions", "ix_requisitions_org_updated"),
        ("admin", "/requisitions?status=pending", "requisitions", "ix_requisitions_org_updated"),
        ("admin", f"/requisitions?cost_center_id={shop.cc_adm.id}", "requisitions", "ix_requisitions_org_updated"),
        ("admin", f"/requisitions?requester_id={shop.buyer2.id}", "requisitions",
         "ix_requisitions_org_requester_updated"),
        ("admin", "/requisitions?updated_since=2020-01-01T00:00:00Z", "requisitions", "ix_requisitions_org_updated"),
        ("buyer", "/catalog/items", "items", "ix_items_org_updated"),
        ("admin", f"/catalog/items?category_id={shop.cat_it.id}&active=true", "items", "ix_items_org_updated"),
        ("admin", "/budgets", "budgets", "ix_budgets_org_updated"),
        ("admin", "/budgets?year=2025&status=open", "budgets", "ix_budgets_org_updated"),
        ("admin", "/suppliers", "supplier_links", "ix_supplier_links_org_updated"),
        ("admin", "/suppliers?status=blocked", "supplier_links", "ix_supplier_links_org_updated"),
        ("supplier", "/customers", "supplier_links", "ix_supplier_links_supplier_updated"),
        ("admin", "/agreements?active=true", "price_agreements", "ix_price_agreements_org_updated"),
        ("supplier", "/agreements", "price_agreements", "ix_price_agreements_supplier_updated"),
    ]


class _ApiPages:
    """What `captured_selects` needs of a client: `get(url)` answering the raw response."""

    def __init__(self, app, user):
        from tests.api.conftest import ApiClient, make_token

        self.api = ApiClient(app, make_token(user)[1])

    def get(self, url):
        return self.api.http.get(f"/api/v1{url}", headers=self.api.headers())


@pytest.mark.usefixtures("uncached_lists")
def test_the_api_lists_walk_the_sync_index_and_never_sort(lists, world, app):
    shop = lists
    bulk_requisitions(shop.org, [shop.buyer, shop.buyer2], [shop.cc_it, shop.cc_adm], 160)
    clients = {"buyer": _ApiPages(app, shop.buyer), "admin": _ApiPages(app, shop.admin),
               "supplier": _ApiPages(app, world.user("sales@polbud"))}
    for who, url, table, index in _api_lists(shop, world):
        client = clients[who]
        sep = "&" if "?" in url else "?"
        first = client.get(f"{url}{sep}limit=20").get_json()
        pages = [f"{url}{sep}limit=20"]
        if first["next_cursor"]:
            pages.append(f"{url}{sep}limit=20&cursor={first['next_cursor']}")
        for page_url in pages:
            statements = [s for s in captured_selects(client, page_url, f"FROM {table}")
                          if "updated_at" in s[0].split("ORDER BY")[-1]]
            assert statements, page_url
            for statement, parameters in statements:
                text = " | ".join(plan(statement, parameters))
                assert index in text, f"{page_url}: {text}"
                assert "TEMP B-TREE" not in text, f"{page_url}: {text}"
