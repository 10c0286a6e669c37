"""The catalog, supplier, customer, supplier-invitation, notification and budget lists page by
cursor (`portal.services.paging.keyset`) like the requisition lists: the same statements at 1×
and 3× the rows and at most 12, every row once when following "Next", filters kept across pages,
a cursor that cannot be read (or belongs to another list) a 422, an old `?page=` link the first
page. Deterministic: statements are counted, nothing is timed."""

from __future__ import annotations

import re
from html import unescape

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import LinkStatus, Organization, SupplierLink
from tests.conftest import as_system
from tests.kit import HX, count_queries, make_shop
from tests.listdata import (
    bulk_budgets,
    bulk_customers,
    bulk_items,
    bulk_notifications,
    bulk_supplier_invitations,
    bulk_suppliers,
)

LIMIT = 12
NEXT = re.compile(r'<a href="([^"]+)" rel="next"')
PREV = re.compile(r'<a href="([^"]+)" rel="prev"')


@pytest.fixture
def shop(world):
    return make_shop(world)


def _fill(shop, world, count: int, start: int = 0) -> None:
    bulk_items(shop.org, [shop.cat_it], count, start=start)
    # New notifications after the first batch are read: page 1 stays in the unread segment and
    # the deep page in the read one, at both sizes.
    bulk_notifications(shop.org, shop.approver, count, start=start, unread_every=3 if not start else 0)
    bulk_suppliers(shop.org, count, start=start)
    bulk_customers(world.polbud, count, start=start)
    bulk_supplier_invitations(shop.org, shop.admin, count, start=start)
    bulk_budgets(shop.org, [shop.cc_it, shop.cc_adm], count, start=start)


def _clients(shop, world, login_as) -> dict:
    return {"buyer": login_as(shop.buyer), "admin": login_as(shop.admin),
            "approver": login_as(shop.approver), "supplier": login_as(world.user("sales@polbud"))}


def _urls(shop):
    return [
        ("buyer", "/catalog/"),
        ("admin", "/catalog/?status=all"),
        ("admin", f"/catalog/?category={shop.cat_it.id}&status=inactive"),
        ("admin", "/catalog/?q=bulk"),
        ("admin", "deep:/catalog/?status=all"),
        ("approver", "/notifications/"),
        ("approver", "deep:/notifications/"),
        ("admin", "/suppliers/"),
        ("admin", "/suppliers/?status=blocked&q=bulk"),
        ("admin", "deep:/suppliers/"),
        ("buyer", "/suppliers/"),
        ("admin", "/suppliers/invitations"),
        ("admin", "deep:/suppliers/invitations"),
        ("supplier", "/supplier/customers"),
        ("supplier", "deep:/supplier/customers"),
        ("admin", "/budgets/"),
        ("admin", "/budgets/?status=all&year=2025"),
        ("admin", "deep:/budgets/?status=all"),
    ]


def _next(client, url: str) -> str | None:
    found = NEXT.search(client.get(url).text)
    return unescape(found.group(1)) if found else None


def _deep(client, url: str, hops: int = 2) -> str:
    for _ in range(hops):
        found = _next(client, url)
        assert found, url
        url = found
    return url


def _measure(shop, clients) -> dict[str, int]:
    counts = {}
    for who, url in _urls(shop):
        client = clients[who]
        if url.startswith("deep:"):
            url = _deep(client, url[5:])
        with count_queries() as statements:
            response = client.get(url)
            assert response.status_code == 200, url
        counts[f"{who} {url.split('cursor=')[0]}"] = len(statements)
    return counts


@pytest.mark.usefixtures("uncached_lists")
def test_the_lists_cost_the_same_queries_at_1x_and_3x(shop, world, login_as):
    _fill(shop, world, 160)
    clients = _clients(shop, world, login_as)
    once = _measure(shop, clients)
    _fill(shop, world, 320, start=160)
    thrice = _measure(shop, clients)
    assert thrice == once
    assert max(once.values()) <= LIMIT, once


# ---------------------------------------------------------------- walking the pages

# What identifies a row of each list in its page.
ROWS = {
    "/catalog/": re.compile(r'<a href="/catalog/(\d+)" class="sku">'),
    "/notifications/": re.compile(r"Note (\d+)<"),
    "/suppliers/": re.compile(r'data-testid="supplier-row" data-link-id="(\d+)"'),
    "/suppliers/invitations": re.compile(r'data-testid="invitation-row" data-invitation-id="(\d+)"'),
    "/supplier/customers": re.compile(r'data-testid="customer-row" data-link-id="(\d+)"'),
    "/budgets/": re.compile(r'<a href="/budgets/(\d+)">'),
}


def _demo_customers(supplier) -> int:
    with as_system():
        return db.session.scalar(select(func.count(SupplierLink.id)).where(
            SupplierLink.supplier_id == supplier.id,
            SupplierLink.status.in_((LinkStatus.ACTIVE, LinkStatus.BLOCKED)),
            SupplierLink.organization_id.in_(select(Organization.id).where(~Organization.name.startswith("Bulk")))))


def _rows(url: str, html: str) -> list[str]:
    return ROWS[url.split("?")[0]].findall(html)


def _walk(client, url: str) -> tuple[list[str], list[str]]:
    """Every row, following "Next" from `url`; and the addresses of the pages."""
    seen, pages = [], []
    while url:
        response = client.get(url)
        assert response.status_code == 200, url
        seen += _rows(url, response.text)
        pages.append(url)
        found = NEXT.search(response.text)
        url = unescape(found.group(1)) if found else None
    return seen, pages


@pytest.mark.parametrize(("who", "url", "expected"), [
    ("admin", "/catalog/?status=all&q=bulk", 130),
    ("admin", "/catalog/?status=inactive&q=bulk", 33),       # every fourth
    ("buyer", "/catalog/?q=bulk", 97),                        # active only, whatever the URL
    ("approver", "/notifications/", 130),
    ("admin", "/suppliers/?q=bulk", 130),
    ("admin", "/suppliers/?status=blocked&q=bulk", 26),       # every fifth
    ("admin", "/suppliers/invitations", 44),                  # every third is open
    ("supplier", "/supplier/customers", 130),                 # and the demo's customers
    ("admin", "/budgets/?status=all", 130),
    ("admin", "/budgets/?status=closed", 130 - 2 * 24),       # before 2025
])
def test_next_walks_every_row_once_with_the_filters(shop, world, login_as, who, url, expected):
    _fill(shop, world, 130)
    client = _clients(shop, world, login_as)[who]
    seen, pages = _walk(client, url)
    assert len(pages) > 1
    query = url.partition("?")[2]
    assert all(all(part in page for part in query.split("&") if part) for page in pages[1:])
    if who == "supplier":
        expected += _demo_customers(world.polbud)
    assert len(seen) == len(set(seen)) == expected
    # "Previous" from the second page is the first page again.
    second = client.get(pages[1]).text
    back = unescape(PREV.search(second).group(1))
    assert _rows(url, client.get(back).text) == _rows(url, client.get(url).text)


def test_the_catalog_walks_in_sku_order_and_notifications_unread_first(shop, world, login_as):
    _fill(shop, world, 80)
    admin, approver = login_as(shop.admin), login_as(shop.approver)
    skus = []
    for page in _walk(admin, "/catalog/?status=all&q=bulk")[1]:
        skus += re.findall(r'class="sku">(BULK-\d+)<', admin.get(page).text)
    assert skus == sorted(skus) and len(skus) == 80
    notes = [int(n) for n in _walk(approver, "/notifications/")[0]]
    unread = [n for n in notes if n % 3 == 0]
    assert notes == sorted(unread, reverse=True) + sorted(set(notes) - set(unread), reverse=True)


def test_htmx_pages_of_the_catalog_and_suppliers_are_fragments(shop, world, login_as):
    _fill(shop, world, 60)
    admin = login_as(shop.admin)
    for url in ("/catalog/?status=all", "/suppliers/"):
        older = _next(admin, url)
        response = admin.get(older, headers=HX)
        assert response.status_code == 200 and "<html" not in response.text
        assert _rows(url, response.text)


@pytest.mark.parametrize(("who", "url"), [
    ("admin", "/catalog/"), ("approver", "/notifications/"), ("admin", "/suppliers/"),
    ("admin", "/suppliers/invitations"), ("supplier", "/supplier/customers"), ("admin", "/budgets/"),
])
def test_a_cursor_that_cannot_be_read_or_of_another_list_is_a_422(shop, world, login_as, who, url):
    _fill(shop, world, 60)
    clients = _clients(shop, world, login_as)
    client = clients[who]
    assert client.get(url, query_string={"cursor": "bm90IGpzb24"}).status_code == 422
    assert client.get(url, query_string={"cursor": "a" * 700}).status_code == 422
    # A cursor another list gave out: the requisitions' order is not this list's.
    other = _next(clients["admin"], "/catalog/?status=all") if url != "/catalog/" else \
        _next(clients["admin"], "/budgets/?status=all")
    cursor = other.split("cursor=")[1].split("&")[0]
    response = client.get(url, query_string={"cursor": cursor})
    assert response.status_code == 422
    assert 'class="error-page"' in response.text
    # An old page-number link is the first page (the requisition lists do the same).
    assert _rows(url, client.get(url, query_string={"page": "3"}).text) == _rows(url, client.get(url).text)
