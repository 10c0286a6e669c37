"""The requisition lists: mine and the company's, filters, search, sorting, pagination, htmx
fragments, the CSV export, and a constant number of queries whatever the number of rows."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import update

from portal.domain.requisition import RequisitionStatus
from portal.extensions import db
from portal.models import Requisition
from tests.conftest import as_system
from tests.kit import (
    HX,
    assert_fragment,
    counting_queries,
    get_req,
    make_draft,
    make_shop,
)
from tests.listdata import bulk_requisitions


@pytest.fixture(autouse=True)
def english(world):
    """Acme's people read Polish; these tests check the English texts."""
    with as_system():
        for user in world.users.values():
            user.locale = "en"
        db.session.commit()


@pytest.fixture
def shop(world):
    return make_shop(world)


def _set(req_id, **values):
    with as_system():
        db.session.execute(update(Requisition).where(Requisition.id == req_id).values(**values))
        db.session.commit()


def _numbers(html: str) -> list[str]:
    import re

    return re.findall(r'class="doc-number">(REQ-\d{4}-\d{5})<', html)


@pytest.fixture
def sample(app, shop, world):
    """Five requisitions of two buyers in different states, cost centres, amounts and dates."""
    ids = {
        "chairs": make_draft(app, shop.buyer, shop.cc_it, title="Krzesła biurowe",
                             lines=(("Krzesło", "10", "300", "23"),)),  # 3690.00
        "laptops": make_draft(app, shop.buyer, shop.cc_it, title="Laptopy dla IT",
                              lines=(("Laptop", "3", "5000", "23"),)),  # 18450.00
        "paper": make_draft(app, shop.buyer, shop.cc_adm, title="Papier A4",
                            lines=(("Papier", "20", "20", "0"),)),  # 400.00
        "toner": make_draft(app, shop.buyer2, shop.cc_adm, title="Toner do drukarki",
                            lines=(("Toner", "2", "400", "0"),)),  # 800.00
        "globex": make_draft(app, world.user("buyer@globex"), shop.globex_cc, title="Globex chairs",
                             lines=(("Chair", "1", "100", "0"),)),
    }
    _set(ids["laptops"], status=RequisitionStatus.PENDING)
    _set(ids["paper"], status=RequisitionStatus.APPROVED,
         created_at=datetime(2026, 1, 10, 12, tzinfo=UTC))
    _set(ids["toner"], needed_by=date(2026, 12, 24))
    return {key: get_req(value) for key, value in ids.items()}


# ---------------------------------------------------------------- scope


def test_my_requisitions_shows_only_mine(shop, sample, login_as):
    response = login_as(shop.buyer).get("/requisitions/")
    assert response.status_code == 200
    numbers = _numbers(response.text)
    assert set(numbers) == {sample[k].number for k in ("chairs", "laptops", "paper")}
    assert "Globex chairs" not in response.text
    assert 'data-testid="scope-all"' not in response.text  # a buyer has no company-wide list
    assert login_as(shop.buyer).get("/requisitions/all").status_code == 403


def test_approvers_see_the_whole_company(shop, sample, login_as):
    client = login_as(shop.approver)
    response = client.get("/requisitions/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/requisitions/all")
    page = client.get("/requisitions/all")
    assert page.status_code == 200
    everyone = ("chairs", "laptops", "paper", "toner")
    assert set(_numbers(page.text)) == {sample[k].number for k in everyone}
    assert shop.buyer2.full_name in page.text  # the requester column
    admin = login_as(shop.admin).get("/requisitions/all")
    assert admin.status_code == 200 and sample["toner"].number in admin.text


def test_a_buyer_with_nothing_yet_gets_a_helpful_empty_state(shop, login_as):
    page = login_as(shop.buyer).get("/requisitions/")
    assert "You have not raised a requisition yet" in page.text
    assert 'href="/requisitions/new"' in page.text


# ---------------------------------------------------------------- filters and search


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=pending", {"laptops"}),
        ("status=approved", {"paper"}),
        ("q=LAPTOP", {"laptops"}),
        ("q=krzes", {"chairs"}),
        ("amount_min=1000", {"chairs", "laptops"}),
        ("amount_max=3690", {"chairs", "paper", "toner"}),
        ("amount_min=500&amount_max=4000", {"chairs", "toner"}),
        ("created_to=2026-01-10", {"paper"}),
        ("created_from=2026-01-11", {"chairs", "laptops", "toner"}),
        ("status=draft&q=toner", {"toner"}),
        ("q=%25", set()),  # LIKE wildcards are searched literally
    ],
)
def test_filters_narrow_the_company_list(shop, sample, login_as, query, expected):
    page = login_as(shop.admin).get(f"/requisitions/all?{query}")
    assert page.status_code == 200
    assert set(_numbers(page.text)) == {sample[k].number for k in expected}


def test_filter_by_cost_centre_requester_and_number(shop, sample, login_as):
    client = login_as(shop.admin)
    by_cc = client.get(f"/requisitions/all?cost_center={shop.cc_adm.id}")
    assert set(_numbers(by_cc.text)) == {sample["paper"].number, sample["toner"].number}
    by_requester = client.get(f"/requisitions/all?requester={shop.buyer2.id}")
    assert _numbers(by_requester.text) == [sample["toner"].number]
    by_number = client.get(f"/requisitions/all?q={sample['chairs'].number.lower()}")
    assert _numbers(by_number.text) == [sample["chairs"].number]
    # In "mine" the requester filter does not widen the list.
    mine = login_as(shop.buyer).get(f"/requisitions/?requester={shop.buyer2.id}")
    assert sample["toner"].number not in mine.text


def test_invalid_filter_values_are_shown_and_ignored(shop, sample, login_as):
    page = login_as(shop.admin).get("/requisitions/all?created_from=2026-99-01&amount_min=abc"
                                    "&sort=drop_table&dir=sideways&cost_center=x")
    assert page.status_code == 200
    assert "Enter a date such as 2026-12-31." in page.text
    assert "Enter an amount such as" in page.text
    assert len(_numbers(page.text)) == 4


def test_no_match_says_so_and_offers_to_clear(shop, sample, login_as):
    page = login_as(shop.admin).get("/requisitions/all?q=nic-takiego")
    assert "No requisitions match" in page.text
    assert 'href="/requisitions/all"' in page.text


# ---------------------------------------------------------------- sorting and pagination


def test_sort_by_amount_number_needed_by_and_status(shop, sample, login_as):
    client = login_as(shop.admin)
    by_amount = _numbers(client.get("/requisitions/all?sort=amount&dir=asc").text)
    assert by_amount == [sample[k].number for k in ("paper", "toner", "chairs", "laptops")]
    by_amount_desc = _numbers(client.get("/requisitions/all?sort=amount&dir=desc").text)
    assert by_amount_desc == list(reversed(by_amount))
    by_number = _numbers(client.get("/requisitions/all?sort=number&dir=asc").text)
    assert by_number == sorted(by_number)
    by_needed = _numbers(client.get("/requisitions/all?sort=needed_by&dir=asc").text)
    assert by_needed[0] == sample["toner"].number  # the only one with a date; empty ones last
    by_status = _numbers(client.get("/requisitions/all?sort=status&dir=asc").text)
    assert by_status[-2:] == [sample["laptops"].number, sample["paper"].number]  # pending, approved
    newest_first = _numbers(client.get("/requisitions/all").text)
    assert newest_first[-1] == sample["paper"].number  # created in January


def test_sort_headers_link_to_the_other_direction(shop, sample, login_as):
    page = login_as(shop.admin).get("/requisitions/all?sort=amount&dir=asc&status=draft")
    assert 'aria-sort="ascending"' in page.text
    assert "sort=amount" in page.text and "dir=desc" in page.text
    assert "status=draft" in page.text.split('aria-sort="ascending"')[1][:600]


def _link(html: str, rel: str) -> str | None:
    import re
    from html import unescape

    found = re.search(rf'<a href="([^"]+)" rel="{rel}"', html)
    return unescape(found.group(1)) if found else None


def test_pages_follow_the_cursor_and_keep_the_filters(app, shop, login_as):
    bulk_requisitions(shop.org, [shop.buyer], [shop.cc_it], 120, title="Zamówienie")
    bulk_requisitions(shop.org, [shop.buyer], [shop.cc_it], 5, start=500, title="Inne")
    client = login_as(shop.buyer)
    first = client.get("/requisitions/?q=zam%C3%B3wienie")
    assert len(_numbers(first.text)) == 50
    assert "120 requisitions" in first.text
    assert _link(first.text, "prev") is None
    older = _link(first.text, "next")
    assert "cursor=" in older and "q=zam%C3%B3wienie" in older
    assert 'data-testid="next-page"' in first.text
    second = client.get(older)
    third = client.get(_link(second.text, "next"))
    pages = [_numbers(p.text) for p in (first, second, third)]
    assert [len(p) for p in pages] == [50, 50, 20]
    assert _link(third.text, "next") is None
    seen = [n for p in pages for n in p]
    assert len(set(seen)) == 120
    assert seen == sorted(seen, reverse=True)  # newest first, ties by id, no row twice
    # "Newer" goes back to the same rows.
    back = client.get(_link(third.text, "prev"))
    assert _numbers(back.text) == pages[1]
    assert _numbers(client.get(_link(back.text, "prev")).text) == pages[0]


def test_a_long_list_counts_no_further_than_1000(app, shop, login_as, monkeypatch):
    from portal.services import paging

    monkeypatch.setattr(paging, "COUNT_CAP", 60)
    monkeypatch.setattr(paging.keyset, "__kwdefaults__",
                        {**paging.keyset.__kwdefaults__, "count_cap": 60})
    bulk_requisitions(shop.org, [shop.buyer], [shop.cc_it], 70)
    page = login_as(shop.buyer).get("/requisitions/")
    assert "60+ requisitions" in page.text
    bulk_requisitions(shop.org, [shop.buyer], [shop.cc_it], 5, start=100)
    assert "60+ requisitions" in login_as(shop.buyer).get("/requisitions/").text


@pytest.mark.parametrize("sort", ["created", "number", "amount", "needed_by", "status"])
@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_every_sort_pages_through_every_row_once_in_order(app, shop, login_as, sort, direction):
    bulk_requisitions(shop.org, [shop.buyer, shop.buyer2], [shop.cc_it, shop.cc_adm], 130)
    client = login_as(shop.admin)
    url, seen = f"/requisitions/all?sort={sort}&dir={direction}", []
    while url:
        page = client.get(url)
        assert page.status_code == 200
        seen.extend(_numbers(page.text))
        url = _link(page.text, "next")
    assert len(seen) == len(set(seen)) == 130
    export = _csv(_export(client, f"/requisitions/export?scope=all&sort={sort}&dir={direction}"))
    assert seen == [row[0] for row in export[1:]]  # the export keeps the list's order


@pytest.mark.parametrize("cursor", ["x", "%00", "a" * 700, "eyJvIjoibm9wZSJ9",
                                    "eyJvIjoiY3JlYXRlZC1yIiwicyI6MCwiayI6WzEsMl0sImIiOjB9"])
def test_a_cursor_that_cannot_be_read_is_a_422(shop, login_as, cursor):
    response = login_as(shop.admin).get(f"/requisitions/all?cursor={cursor}")
    assert response.status_code == 422
    assert "page link" in response.text or "control characters" in response.text


# ---------------------------------------------------------------- htmx


def test_htmx_filter_returns_only_the_results(shop, sample, login_as):
    response = login_as(shop.admin).get("/requisitions/all?status=pending&sort=amount&dir=asc",
                                        headers=HX)
    assert response.status_code == 200
    assert_fragment(response)
    assert response.text.lstrip().startswith('<section id="results"')
    assert _numbers(response.text) == [sample["laptops"].number]
    # The hidden sort fields of the filter form follow the headers.
    assert '<div id="sort-state" hx-swap-oob="true">' in response.text
    assert 'name="sort" type="hidden" value="amount"' in response.text
    assert "HX-Request" in response.headers.get("Vary", "")
    assert response.headers["HX-Push-Url"] == "/requisitions/all?status=pending&sort=amount&dir=asc"
    # Empty fields of the form stay out of the address bar.
    typed = login_as(shop.admin).get("/requisitions/all?q=lap&status=&cost_center=&amount_min=",
                                     headers=HX)
    assert typed.headers["HX-Push-Url"] == "/requisitions/all?q=lap"
    full = login_as(shop.admin).get("/requisitions/all?status=pending")
    assert 'hx-push-url="true"' in full.text and 'hx-target="#results"' in full.text
    assert 'hx-swap-oob' not in full.text


# ---------------------------------------------------------------- CSV export


def _export(client, url):
    """The export streams; `buffered` reads the stream inside the request's own context (the
    test client runs each request in an isolated context, as a server would)."""
    return client.get(url, buffered=True)


def _csv(response) -> list[list[str]]:
    body = response.data.decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def test_export_the_filtered_list_as_csv(shop, sample, login_as):
    _set(sample["chairs"].id, title="=HYPERLINK(\"http://evil\")")
    response = _export(login_as(shop.admin), "/requisitions/export?scope=all&cost_center="
                       f"{shop.cc_it.id}&sort=amount&dir=desc")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="requisitions-')
    rows = _csv(response)
    assert rows[0][:3] == ["Number", "Title", "Requester"]
    assert [row[0] for row in rows[1:]] == [sample["laptops"].number, sample["chairs"].number]
    laptops = dict(zip(rows[0], rows[1], strict=True))
    assert laptops["Net"] == "15000.00" and laptops["VAT"] == "3450.00"
    assert laptops["Gross"] == "18450.00"
    assert laptops["Status"] == "Pending approval" and laptops["Currency"] == "PLN"
    assert laptops["Requester"] == shop.buyer.full_name and laptops["Cost centre"] == "W-IT"
    assert rows[2][1] == "'=HYPERLINK(\"http://evil\")"  # no formula for Excel to run


def test_export_of_mine_holds_only_mine(shop, sample, login_as):
    client = login_as(shop.buyer2)
    rows = _csv(_export(client, "/requisitions/export"))
    assert [row[0] for row in rows[1:]] == [sample["toner"].number]
    assert rows[1][7] == "2026-12-24"  # needed by, ISO
    assert client.get("/requisitions/export?scope=all").status_code == 403


def test_export_with_nothing_to_show_is_just_the_header(shop, login_as):
    rows = _csv(_export(login_as(shop.buyer), "/requisitions/export?q=nothing"))
    assert len(rows) == 1


def test_export_never_holds_another_companys_rows(shop, sample, world, login_as):
    rows = _csv(_export(login_as(world.user("admin@globex")), "/requisitions/export?scope=all"))
    assert [row[0] for row in rows[1:]] == [sample["globex"].number]


# ---------------------------------------------------------------- queries per page


def _queries_for(client, url) -> int:
    with counting_queries() as statements:
        response = client.get(url)
        assert response.status_code == 200
    return len(statements)


def test_list_pages_cost_the_same_queries_for_5_or_40_rows(app, shop, login_as):
    other_cc = (shop.cc_it, shop.cc_adm)
    for i in range(5):
        make_draft(app, shop.buyer if i % 2 else shop.buyer2, other_cc[i % 2], title=f"R{i}",
                   lines=())
    buyer, admin = login_as(shop.buyer), login_as(shop.admin)
    urls = [(buyer, "/requisitions/"), (admin, "/requisitions/all"),
            (admin, "/requisitions/all?sort=amount&dir=asc&q=r"),
            (admin, "/requisitions/all?status=draft"),
            (admin, "/requisitions/all"), ]
    small = [_queries_for(client, url) for client, url in urls]
    for i in range(5, 40):
        make_draft(app, shop.buyer if i % 2 else shop.buyer2, other_cc[i % 2], title=f"R{i}",
                   lines=())
    large = [_queries_for(client, url) for client, url in urls]
    assert large == small
    assert max(small) <= 12
