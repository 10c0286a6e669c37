"""Each requisition list query reads an index that matches its filter and sort: the plan
(SQLite's EXPLAIN QUERY PLAN of the statements a page really sends) names one of the list
indexes, never scans the table and never sorts in a temporary B-tree. Deterministic: no timing.
"""

from __future__ import annotations

import pytest
from sqlalchemy import event

from portal.extensions import db
from tests.kit import make_shop
from tests.listdata import bulk_requisitions

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


def _list_statements(client, url) -> list[tuple[str, tuple]]:
    sent = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "FROM requisitions" in statement:
            sent.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        response = client.get(url)
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    assert response.status_code == 200, url
    return sent


def _plan(statement: str, parameters) -> list[str]:
    with db.engine.connect() as conn:
        return [row[3] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}",
                                                       parameters)]


def _next(html: str) -> str | None:
    import re
    from html import unescape

    found = re.search(r'<a href="([^"]+)" rel="next"', html)
    return unescape(found.group(1)) if found else None


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
        pages = [url, _next(first.text)]  # the first page and a deeper one (by cursor)
        for page_url in filter(None, pages):
            for statement, parameters in _list_statements(client, page_url):
                plan = _plan(statement, parameters)
                text = " | ".join(plan)
                main = [step for step in plan if "requisitions" in step and "USING" in step]
                assert main, f"{page_url}: {text}"
                if "count(*)" not in statement:  # the bounded count may walk any org index
                    assert any(name in text for name in LIST_INDEXES), f"{page_url}: {text}"
                assert "TEMP B-TREE" not in text, f"{page_url}: {text}"
                assert "SCAN requisitions" not in text.replace("SCAN requisitions USING", ""), \
                    f"{page_url}: {text}"
                checked += 1
    assert checked >= 2 * len(_urls(shop))
