"""Malformed values in addresses and forms (portal/blueprints/params.py): a 404 or a 422 with a
message, never a 500, and nothing written. tests/security/test_fuzz.py sends the whole corpus
to every route; these are the cases the issue names, one by one."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Comment, Item
from tests.conftest import as_system
from tests.kit import HX, build_kit, make_draft
from tests.web.test_policy_editor import step_form

HUGE = "99999999999999999999"


@pytest.fixture
def shop(app, world):
    """Acme in English (build_kit), with a buyer, an admin and the IT cost centre."""
    return build_kit(app, world)


def _count(model, *where) -> int:
    db.session.expire_all()
    with as_system():
        return db.session.scalar(select(func.count(model.id)).where(*where))


# ---------------------------------------------------------------- ids in URLs


@pytest.mark.parametrize("ident", [HUGE, "2147483648", "١٢٣", "0012345678901"])
def test_an_id_no_column_holds_is_not_found(shop, login_as, ident):
    client = login_as(shop.buyer)
    assert client.get(f"/requisitions/{ident}").status_code == 404
    assert client.post(f"/requisitions/{ident}/comments", data={"body": "x"}).status_code == 404
    assert client.get(f"/catalog/{ident}").status_code == 404


# ---------------------------------------------------------------- query parameters


LISTS = ["/requisitions/all", "/catalog/", "/notifications/", "/suppliers/", "/budgets/"]


@pytest.mark.parametrize("cursor", ["!!", "abc", "x" * 601, "eyJvIjoieCJ9"])
@pytest.mark.parametrize("url", LISTS)
def test_a_page_cursor_that_cannot_be_read_is_a_422_with_a_message(shop, login_as, url, cursor):
    response = login_as(shop.admin).get(url, query_string={"cursor": cursor})
    assert response.status_code == 422
    assert "This page link cannot be read" in response.text
    assert 'class="error-page"' in response.text


@pytest.mark.parametrize("page", [HUGE, "0", "abc", "5000"])
@pytest.mark.parametrize("url", LISTS)
def test_an_old_page_number_on_a_keyset_list_is_the_first_page(shop, login_as, url, page):
    assert login_as(shop.admin).get(url, query_string={"page": page}).status_code == 200


@pytest.mark.parametrize("year", ["-1", "0", "10000", HUGE, "twenty"])
def test_a_budget_year_out_of_range_is_a_422_with_a_message(shop, login_as, year):
    response = login_as(shop.admin).get("/budgets/", query_string={"year": year})
    assert response.status_code == 422
    assert "The year must be a whole number from 2000 to 2100." in response.text


def test_a_budget_year_in_range_filters(shop, login_as):
    assert login_as(shop.admin).get("/budgets/?year=2026").status_code == 200


@pytest.mark.parametrize(("url", "param"), [
    ("/catalog/", "category"), ("/requisitions/{req}/edit", "item_id"),
    ("/requisitions/{req}/edit", "line"),
])
def test_an_id_in_the_query_string_beyond_any_column_is_a_422(app, shop, login_as, url, param):
    req_id = make_draft(app, shop.buyer, shop.cc_it)
    response = login_as(shop.buyer).get(url.format(req=req_id), query_string={param: HUGE})
    assert response.status_code == 422
    assert f"“{param}” must be a whole number from 1 to 2147483647." in response.text


def test_a_filter_select_with_a_huge_id_is_shown_beside_the_field(shop, login_as):
    response = login_as(shop.admin).get("/requisitions/all", query_string={"cost_center": HUGE})
    assert response.status_code == 200
    assert "Invalid Choice: could not coerce." in response.text


def test_a_polish_viewer_reads_the_message_in_polish(shop, login_as):
    with as_system():
        shop.buyer.locale = "pl"
        db.session.commit()
    response = login_as(shop.buyer).get("/catalog/?cursor=abc")
    assert response.status_code == 422
    assert "Nie można odczytać tego odnośnika do strony" in response.text


# ---------------------------------------------------------------- control characters


@pytest.mark.parametrize("body", ["a\x00b", "\x1b[31mred", "bell\x07"])
def test_a_control_character_in_a_form_is_refused_and_nothing_is_saved(app, shop, login_as, body):
    req_id = make_draft(app, shop.buyer, shop.cc_it)
    client = login_as(shop.buyer)
    response = client.post(f"/requisitions/{req_id}/comments", data={"body": body})
    assert response.status_code == 422
    assert "control characters (such as a NUL byte)" in response.text
    assert _count(Comment, Comment.requisition_id == req_id) == 0


def test_htmx_gets_the_refusal_as_a_flash_message(app, shop, login_as):
    req_id = make_draft(app, shop.buyer, shop.cc_it)
    response = login_as(shop.buyer).post(f"/requisitions/{req_id}/comments",
                                         data={"body": "a\x00b"}, headers=HX)
    assert response.status_code == 422
    assert response.headers["HX-Retarget"] == "#flash"
    assert "<html" not in response.text and "control characters" in response.text


def test_a_nul_in_a_search_box_is_refused(shop, login_as):
    response = login_as(shop.buyer).get("/catalog/", query_string={"q": "pa\x00per"})
    assert response.status_code == 422


def test_tabs_and_line_breaks_are_text(app, shop, login_as):
    req_id = make_draft(app, shop.buyer, shop.cc_it)
    response = login_as(shop.buyer).post(f"/requisitions/{req_id}/comments",
                                         data={"body": "Pierwsza\r\nDruga\tkolumna"})
    assert response.status_code == 302
    assert _count(Comment, Comment.requisition_id == req_id) == 1


# ---------------------------------------------------------------- form fields


@pytest.mark.parametrize("rate", ["", "abc", "sNaN", "NaN", "1e3", HUGE])
def test_a_catalog_vat_rate_that_is_not_a_choice_is_a_form_error(shop, login_as, rate):
    before = _count(Item)
    response = login_as(shop.admin).post("/catalog/new", data={
        "sku": "FUZZ-1", "name": "Fuzz", "unit": "pcs", "category_id": "",
        "default_vat_rate": rate, "list_price": "1", "currency": "PLN",
        "preferred_supplier_id": "", "is_active": "y",
    })
    assert response.status_code == 422
    assert "Invalid Choice: could not coerce." in response.text or "Not a valid choice." in response.text
    assert _count(Item) == before


@pytest.mark.parametrize("value", [HUGE, "١٢", "1_0", "-1", "abc"])
def test_a_select_id_beyond_any_column_is_a_form_error(shop, login_as, value):
    response = login_as(shop.admin).post("/cost-centers/new", data={
        "code": "FUZZ", "name": "Fuzz", "manager_id": value})
    assert response.status_code == 422
    assert "Invalid Choice: could not coerce." in response.text


# ---------------------------------------------------------------- point 11: amount limits


@pytest.mark.parametrize(("amount", "message"), [
    ("999999999999999", "The amount is too large: enter at most 999,999,999,999.99."),
    ("1e30", "Enter an amount such as 1 234,50 or 1234.50. Accepted: 0 to 999,999,999,999.99."),
    ("NaN", "Accepted: 0 to 999,999,999,999.99."),
    ("Infinity", "Accepted: 0 to 999,999,999,999.99."),
    ("-5", "Enter an amount of 0 or more."),
])
def test_an_approval_step_amount_names_the_real_limit(shop, login_as, amount, message):
    response = login_as(shop.admin).post("/approvals/policy/steps/new",
                                        data=step_form(min_amount=amount))
    assert response.status_code == 422
    assert message in response.text.replace("&#39;", "'")


def test_the_limit_is_written_in_the_viewer_s_numbers(shop, login_as):
    with as_system():
        shop.admin.locale = "pl"
        db.session.commit()
    response = login_as(shop.admin).post("/approvals/policy/steps/new",
                                        data=step_form(min_amount="999999999999999"))
    assert response.status_code == 422
    assert "999\xa0999\xa0999\xa0999,99" in response.text


# ---------------------------------------------------------------- dates


@pytest.mark.parametrize(("param", "day"), [("created_to", "9999-12-31"), ("created_from", "0001-01-01")])
def test_a_filter_day_at_the_end_of_the_calendar_is_shown_beside_its_field(shop, login_as, param, day):
    response = login_as(shop.admin).get("/requisitions/all", query_string={param: day})
    assert response.status_code == 200
    assert "Enter a date from Jan 1, 1900 to Dec 31, 2999." in response.text or \
        "Enter a date from 1 Jan 1900 to 31 Dec 2999." in response.text


def test_the_audit_log_filter_refuses_a_day_it_cannot_add_to(shop, login_as):
    response = login_as(shop.admin).get("/admin/audit", query_string={"date_to": "9999-12-31"})
    assert response.status_code in (200, 422)
    assert "Enter a date from" in response.text
