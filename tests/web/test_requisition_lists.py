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


def test_pagination_keeps_the_filters(app, shop, login_as):
    for i in range(30):
        make_draft(app, shop.buyer, shop.cc_it, title=f"Zamówienie {i:02d}", lines=())
    client = login_as(shop.buyer)
    first = client.get("/requisitions/?q=zam%C3%B3wienie")
    assert len(_numbers(first.text)) == 25
    assert "30 requisitions" in first.text
    assert "page=2" in first.text and "q=zam%C3%B3wienie" in first.text
    second = client.get("/requisitions/?q=zam%C3%B3wienie&page=2")
    assert len(_numbers(second.text)) == 5
    assert set(_numbers(first.text)).isdisjoint(_numbers(second.text))
    beyond = client.get("/requisitions/?page=99")
    assert beyond.status_code == 200


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
