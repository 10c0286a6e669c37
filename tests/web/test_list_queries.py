"""Queries per page: the requisition lists (own, all, filtered, searched, a deep page read by
cursor) and the requisition detail send the same number of SQL statements at 1× and 3× the
rows, and at most 12. Deterministic: statements are counted, nothing is timed."""

from __future__ import annotations

import re
from html import unescape

import pytest

from portal.extensions import db
from portal.services import approvals
from tests.kit import acting, approver_policy, count_queries, get_req, make_draft, make_shop
from tests.listdata import bulk_requisitions

LIMIT = 12


@pytest.fixture
def shop(world):
    return make_shop(world)


def _count(client, url) -> int:
    with count_queries() as statements:
        response = client.get(url)
        assert response.status_code == 200, url
    return len(statements)


def _deep(client, url: str, hops: int = 2) -> str:
    """The address of the page `hops` "Older" links after `url`."""
    for _ in range(hops):
        found = re.search(r'<a href="([^"]+)" rel="next"', client.get(url).text)
        assert found, url
        url = unescape(found.group(1))
    return url


def _pending_with_a_timeline(app, shop) -> int:
    """A submitted requisition with comments and a dozen audit events."""
    approver_policy(app, shop)
    req_id = make_draft(app, shop.buyer, shop.cc_it, title="Pending",
                        lines=(("A", "1", "10", "23"), ("B", "2", "20", "23")))
    with acting(app, shop.org):
        approvals.submit(get_req(req_id), shop.buyer)
        db.session.commit()
    return req_id


def _urls(shop, req_id, pending_id):
    return [
        ("buyer", "/requisitions/"),
        ("admin", "/requisitions/all"),
        ("admin", "/requisitions/all?status=pending"),
        ("admin", f"/requisitions/all?cost_center={shop.cc_adm.id}&requester={shop.buyer2.id}"),
        ("admin", "/requisitions/all?created_from=2025-01-01&amount_min=500&sort=amount&dir=asc"),
        ("admin", "/requisitions/all?q=zakup"),
        ("admin", "/requisitions/all?q=REQ-2020"),
        ("admin", "/requisitions/all?sort=needed_by"),
        ("admin", "deep:/requisitions/all"),
        ("buyer", "deep:/requisitions/"),
        ("admin", "deep:/requisitions/all?sort=amount&dir=desc"),
        ("buyer", f"/requisitions/{req_id}"),
        ("admin", f"/requisitions/{req_id}"),
        ("buyer", f"/requisitions/{pending_id}"),
        ("approver", f"/requisitions/{pending_id}"),
    ]


def _measure(shop, clients, req_id, pending_id) -> dict[str, int]:
    counts = {}
    for who, url in _urls(shop, req_id, pending_id):
        client = clients[who]
        if url.startswith("deep:"):
            url = _deep(client, url[5:])
        counts[f"{who} {url.split('cursor=')[0]}"] = _count(client, url)
    return counts


@pytest.mark.usefixtures("uncached_lists")
def test_list_and_detail_pages_cost_the_same_queries_at_1x_and_3x(app, shop, login_as):
    people, centres = [shop.buyer, shop.buyer2], [shop.cc_it, shop.cc_adm]
    req_id = make_draft(app, shop.buyer, shop.cc_it, title="Detail",
                        lines=(("A", "1", "10", "23"), ("B", "2", "20", "23")))
    pending_id = _pending_with_a_timeline(app, shop)
    bulk_requisitions(shop.org, people, centres, 600)
    clients = {"buyer": login_as(shop.buyer), "admin": login_as(shop.admin),
               "approver": login_as(shop.approver)}
    once = _measure(shop, clients, req_id, pending_id)
    bulk_requisitions(shop.org, people, centres, 1200, start=600)
    thrice = _measure(shop, clients, req_id, pending_id)
    assert thrice == once
    assert max(once.values()) <= LIMIT, once
