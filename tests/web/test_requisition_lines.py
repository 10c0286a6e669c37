"""The line editor: add, change and remove lines with htmx (fragments, totals out of band) and
without JavaScript (redirect and flash); bad input is refused with a message and saves
nothing; totals round half-up; only the requester's draft can change."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.domain.requisition import RequisitionStatus
from portal.extensions import db
from portal.models import RequisitionLine
from tests.conftest import as_system
from tests.kit import (
    HX,
    approver_policy,
    assert_fragment,
    count,
    get_req,
    make_draft,
    make_shop,
    text_of,
)

D = Decimal


@pytest.fixture
def english(world):
    """Acme's people read Polish; the tests that ask for this check the English texts."""
    with as_system():
        for user in world.users.values():
            user.locale = "en"
        db.session.commit()


@pytest.fixture
def shop(world):
    return make_shop(world)


def _line(**overrides):
    data = {"item_id": "", "description": "Krzesło obrotowe", "quantity": "4", "unit": "pcs",
            "unit_price": "499.00", "vat_rate": "23", "suggested_supplier_id": ""}
    data.update(overrides)
    return data


def _lines_of(req_id):
    db.session.expire_all()
    with as_system():
        return list(db.session.scalars(
            select(RequisitionLine).where(RequisitionLine.requisition_id == req_id)
            .order_by(RequisitionLine.position)
        ))


def _prefixed(line_id, data):
    return {f"line{line_id}-{key}": value for key, value in data.items()}


# ---------------------------------------------------------------- the editor page


def test_edit_page_shows_the_line_editor(app, shop, login_as):
    req_id = make_draft(app, shop.buyer, shop.cc_it)
    response = login_as(shop.buyer).get(f"/requisitions/{req_id}/edit")
    assert response.status_code == 200
    html = response.text
    assert 'id="lines"' in html and 'id="totals"' in html and 'id="add-line"' in html
    assert 'data-testid="catalog-search"' in html
    # VAT rates and only actively linked suppliers are offered.
    for rate in ("23", "8", "5", "0"):
        assert f'value="{rate}"' in html
    assert shop.polbud.name in html
    assert "Globex" not in html.split('id="add-line"')[1]


def test_an_empty_draft_says_what_to_do(app, shop, login_as, english):
    req_id = make_draft(app, shop.buyer, shop.cc_it, lines=())
    html = login_as(shop.buyer).get(f"/requisitions/{req_id}/edit").text
    assert 'data-testid="no-lines"' in html and "No lines yet" in html


# ---------------------------------------------------------------- add


def test_add_a_free_text_line_without_javascript(app, shop, login_as):
    req_id = make_draft(app, shop.buyer, shop.cc_it, lines=())
    client = login_as(shop.buyer)
    response = client.post(f"/requisitions/{req_id}/lines",
                           data=_line(suggested_supplier_id=str(shop.polbud.id)))
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/requisitions/{req_id}/edit#lines")
    [line] = _lines_of(req_id)
    assert (line.description, line.quantity, line.unit_price) == ("Krzesło obrotowe", 4, D("499"))
    assert line.suggested_supplier_id == shop.polbud.id and line.item_id is None
    req = get_req(req_id)
    assert (req.net_total, req.vat_total, req.gross_total) == (D("1996.00"), D("459.08"),
                                                               D("2455.08"))
    page = text_of(client.get(response.headers["Location"]).text)
    assert "Dodano pozycję." in page and "2 455,08 zł" in page  # the buyer reads Polish


def test_add_a_line_with_htmx_returns_the_form_rows_and_totals(app, shop, login_as):
    req_id = make_draft(app, shop.buyer, shop.cc_it, lines=(("Biurko", "1", "1000", "23"),))
    response = login_as(shop.buyer).post(f"/requisitions/{req_id}/lines",
                                         data=_line(quantity="2", unit_price="10.50"), headers=HX)
    assert response.status_code == 200
    assert_fragment(response)
    html = response.text
    assert html.lstrip().startswith('<section id="add-line"')  # a fresh form is the target
    assert '<tbody id="lines" hx-swap-oob="true">' in html
    assert '<div id="totals" class="totals" hx-swap-oob="true"' in html
    assert "Krzesło obrotowe" in html and "Biurko" in html
    # 1000 + 21.00 net; 230 + 4.83 VAT
    text = text_of(html)
    assert "1 021,00 zł" in text and "234,83 zł" in text and "1 255,83 zł" in text
    flash = json.loads(response.headers["HX-Trigger"])["flash"]
    assert flash["message"] == "Dodano pozycję."  # the buyer reads Polish
    assert len(_lines_of(req_id)) == 2


def test_pick_a_catalog_item(app, shop, login_as):
    req_id = make_draft(app, shop.buyer, shop.cc_it, lines=())
    client = login_as(shop.buyer)
    # Search as you type: the item list.
    found = client.get(f"/requisitions/{req_id}/catalog?q=w-pap", headers=HX)
    assert found.status_code == 200
    assert_fragment(found)
    assert "W-PAPER" in found.text and "Papier ksero A4" in found.text
    assert "W-FAX" not in client.get(f"/requisitions/{req_id}/catalog?q=w-", headers=HX).text
    # Picking it returns the add form filled from the item.
    picked = client.get(f"/requisitions/{req_id}/lines/new?item_id={shop.paper.id}", headers=HX)
    assert picked.status_code == 200
    assert_fragment(picked)
    html = picked.text
    assert f'name="item_id" type="hidden" value="{shop.paper.id}"' in html
    # The buyer reads Polish: the price in the field has a decimal comma (issue 8, point 7).
    assert 'value="Papier ksero A4"' in html and 'value="18,90"' in html
    assert '<option selected value="ream">' in html
    assert f'<option selected value="{shop.polbud.id}">' in html  # preferred and linked
    # Adding it keeps the catalog link.
    response = client.post(f"/requisitions/{req_id}/lines", data=_line(
        item_id=str(shop.paper.id), description="Papier ksero A4", quantity="10", unit="ream",
        unit_price="18.90", vat_rate="23"), headers=HX)
    assert response.status_code == 200
    [line] = _lines_of(req_id)
    assert line.item_id == shop.paper.id and line.net == D("189.00")


def test_catalog_picker_works_without_javascript(app, shop, login_as, english):
    req_id = make_draft(app, shop.buyer, shop.cc_it, lines=())
    client = login_as(shop.buyer)
    response = client.get(f"/requisitions/{req_id}/catalog?q=papier")
    assert response.status_code == 302 and "q=papier" in response.headers["Location"]
    page = client.get(f"/requisitions/{req_id}/edit?q=papier")
    assert "W-PAPER" in page.text
    response = client.get(f"/requisitions/{req_id}/lines/new?item_id={shop.paper.id}")
    assert response.status_code == 302
    page = client.get(f"/requisitions/{req_id}/edit?item_id={shop.paper.id}")
    assert 'data-testid="picked-item"' in page.text and 'value="Papier ksero A4"' in page.text
    nothing = client.get(f"/requisitions/{req_id}/catalog?q=zzzz-nie-ma", headers=HX)
    assert "Nothing in the catalog matches" in nothing.text


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"quantity": "0"}, "The quantity must be greater than zero."),
        ({"quantity": "-2"}, "The quantity must be greater than zero."),
        ({"quantity": "1.2345"}, "at most 3 decimal places"),
        ({"quantity": "abc"}, "Enter a number"),
        ({"quantity": "NaN"}, "Enter a number"),
        ({"quantity": ""}, "Enter the quantity."),
        ({"unit_price": "10.12345"}, "at most 4 decimal places"),
        ({"unit_price": "-1"}, "cannot be negative"),
        # Over what the columns hold: the message names the limit (no 500, nothing saved).
        ({"quantity": "1000000000"},
         "The quantity is too large: enter at most 999,999,999.999."),
        ({"unit_price": "999999999999999"},
         "The price is too large: enter at most 99,999,999,999,999.9999."),
        ({"unit_price": "1e15"}, "Enter a price such as 12,50 or 12.50."),
        ({"quantity": "Infinity"}, "Enter a number"),
        ({"description": "  "}, "Describe what to buy, or pick a catalog item."),
        ({"vat_rate": "7"}, "Choose a VAT rate of 23, 8, 5 or 0 %."),
        ({"unit": "parsecs"}, "Choose a unit from the list."),
    ],
)
def test_add_refuses_bad_input_and_saves_nothing(app, shop, login_as, overrides, message, english):
    req_id = make_draft(app, shop.buyer, shop.cc_it)
    before, gross = count(RequisitionLine), get_req(req_id).gross_total
    client = login_as(shop.buyer)
    response = client.post(f"/requisitions/{req_id}/lines", data=_line(**overrides), headers=HX)
    assert response.status_code == 422
    assert_fragment(response)
    assert response.text.lstrip().startswith('<section id="add-line"')
    assert message in response.text
    assert "hx-swap-oob" not in response.text
    # Without JavaScript: the whole edit page, the same message.
    page = client.post(f"/requisitions/{req_id}/lines", data=_line(**overrides))
    assert page.status_code == 422 and "<html" in page.text and message in page.text
    assert count(RequisitionLine) == before
    assert get_req(req_id).gross_total == gross


def test_numbers_typed_the_polish_way_or_with_trailing_zeros_are_accepted(app, shop, login_as):
    req_id = make_draft(app, shop.buyer, shop.cc_it, lines=())
    response = login_as(shop.buyer).post(f"/requisitions/{req_id}/lines", headers=HX,
                                         data=_line(quantity="2,5000", unit_price="1 234,50"))
    assert response.status_code == 200
    [line] = _lines_of(req_id)
    assert (line.quantity, line.unit_price, line.net) == (D("2.5"), D("1234.5"), D("3086.25"))


def test_a_deactivated_item_cannot_be_added(app, shop, login_as, english):
    req_id = make_draft(app, shop.buyer, shop.cc_it, lines=())
    client = login_as(shop.buyer)
    response = client.post(f"/requisitions/{req_id}/lines", headers=HX, data=_line(
        item_id=str(shop.old_item.id), description="Faks", unit_price="300"))
    assert response.status_code == 422
    assert "W-FAX is deactivated" in response.text
    assert count(RequisitionLine, RequisitionLine.requisition_id == req_id) == 0
    # It is not offered either.
    picked = client.get(f"/requisitions/{req_id}/lines/new?item_id={shop.old_item.id}", headers=HX)
    assert 'data-testid="picked-item"' not in picked.text


def test_a_supplier_without_an_active_link_is_refused(app, shop, world, login_as, english):
    req_id = make_draft(app, shop.buyer, shop.cc_it, lines=())
    response = login_as(shop.buyer).post(
        f"/requisitions/{req_id}/lines", headers=HX,
        data=_line(suggested_supplier_id=str(world.globex.id)))
    assert response.status_code == 422
    assert "Choose one of your active suppliers." in response.text
    assert count(RequisitionLine, RequisitionLine.requisition_id == req_id) == 0


def test_another_companys_item_is_not_found(app, shop, world, login_as, english):
    req_id = make_draft(app, shop.buyer, shop.cc_it, lines=())
    with as_system():
        from portal.models import Item

        globex_item = db.session.scalars(
            select(Item).where(Item.organization_id == world.globex.id)).first()
    assert globex_item is not None
    response = login_as(shop.buyer).post(f"/requisitions/{req_id}/lines", headers=HX, data=_line(
        item_id=str(globex_item.id)))
    assert response.status_code == 422
    assert "no longer exists" in response.text
    assert count(RequisitionLine, RequisitionLine.requisition_id == req_id) == 0


def test_totals_round_half_up(app, shop, login_as):
    """3 × 0.335 = 1.005 net: half-up 1.01 (half-even would say 1.00); VAT 23 % of 1.01 is
    0.2323 → 0.23; gross 1.24."""
    req_id = make_draft(app, shop.buyer, shop.cc_it, lines=())
    response = login_as(shop.buyer).post(
        f"/requisitions/{req_id}/lines", headers=HX,
        data=_line(description="Śrubki", quantity="3", unit_price="0.335", vat_rate="23"))
    assert response.status_code == 200
    req = get_req(req_id)
    assert (req.net_total, req.vat_total, req.gross_total) == (D("1.01"), D("0.23"), D("1.24"))
    text = text_of(response.text)
    assert "0,335 zł" in text  # the unit price keeps its decimals
    assert "1,01 zł" in text and "0,23 zł" in text and "1,24 zł" in text


def test_totals_sum_rounded_lines(app, shop, login_as):
    """Each line rounds on its own; the document adds the rounded lines (the PDF adds up)."""
    req_id = make_draft(app, shop.buyer, shop.cc_it, lines=())
    client = login_as(shop.buyer)
    for _ in range(3):
        client.post(f"/requisitions/{req_id}/lines",
                    data=_line(quantity="1", unit_price="0.005", vat_rate="0"))
    req = get_req(req_id)
    assert [line.net for line in _lines_of(req_id)] == [D("0.01")] * 3
    assert req.net_total == D("0.03")


# ---------------------------------------------------------------- change


def test_edit_a_line_in_place_with_htmx(app, shop, login_as):
    req_id = make_draft(app, shop.buyer, shop.cc_it,
                        lines=(("Biurko", "1", "1000", "23"), ("Lampa", "2", "100", "23")))
    line = _lines_of(req_id)[1]
    client = login_as(shop.buyer)
    form = client.get(f"/requisitions/{req_id}/lines/{line.id}/edit", headers=HX)
    assert form.status_code == 200
    assert_fragment(form)
    assert f'<tr id="line-{line.id}" class="editing"' in form.text
    assert f'form="line-form-{line.id}"' in form.text and 'value="Lampa"' in form.text
    response = client.post(f"/requisitions/{req_id}/lines/{line.id}", headers=HX, data=_prefixed(
        line.id, _line(description="Lampa LED", quantity="3", unit_price="120", vat_rate="8")))
    assert response.status_code == 200
    assert_fragment(response)
    html = response.text
    assert html.lstrip().startswith(f'<tr id="line-{line.id}" data-testid="line-row"')
    assert "Lampa LED" in html and 'hx-swap-oob="true"' in html
    assert '<tbody id="lines"' not in html  # only the row and the totals change
    changed = _lines_of(req_id)[1]
    assert (changed.quantity, changed.unit_price, changed.vat_rate) == (3, D("120"), D("8"))
    req = get_req(req_id)
    assert (req.net_total, req.vat_total, req.gross_total) == (D("1360.00"), D("258.80"),
                                                               D("1618.80"))
    assert "1 618,80 zł" in text_of(html)
    # Cancel shows the row again.
    row = client.get(f"/requisitions/{req_id}/lines/{line.id}", headers=HX)
    assert row.status_code == 200 and 'data-testid="line-row"' in row.text


def test_edit_a_line_refuses_bad_input(app, shop, login_as, english):
    req_id = make_draft(app, shop.buyer, shop.cc_it, lines=(("Lampa", "2", "100", "23"),))
    [line] = _lines_of(req_id)
    client = login_as(shop.buyer)
    response = client.post(f"/requisitions/{req_id}/lines/{line.id}", headers=HX,
                           data=_prefixed(line.id, _line(description="Lampa", quantity="0")))
    assert response.status_code == 422
    assert_fragment(response)
    assert 'class="editing"' in response.text
    assert "The quantity must be greater than zero." in response.text
    page = client.post(f"/requisitions/{req_id}/lines/{line.id}",
                       data=_prefixed(line.id, _line(unit_price="1.123456")))
    assert page.status_code == 422 and "<html" in page.text
    assert "at most 4 decimal places" in page.text and 'class="editing"' in page.text
    assert _lines_of(req_id)[0].quantity == 2
    assert get_req(req_id).gross_total == D("246.00")


def test_edit_a_line_without_javascript(app, shop, login_as, english):
    req_id = make_draft(app, shop.buyer, shop.cc_it, lines=(("Lampa", "2", "100", "23"),))
    [line] = _lines_of(req_id)
    client = login_as(shop.buyer)
    response = client.get(f"/requisitions/{req_id}/lines/{line.id}/edit")
    assert response.status_code == 302 and f"line={line.id}" in response.headers["Location"]
    page = client.get(f"/requisitions/{req_id}/edit?line={line.id}")
    assert f'id="line-form-{line.id}"' in page.text
    response = client.post(f"/requisitions/{req_id}/lines/{line.id}",
                           data=_prefixed(line.id, _line(description="Lampa", quantity="5")))
    assert response.status_code == 302
    assert "Line 1 is saved." in client.get(response.headers["Location"]).text
    assert _lines_of(req_id)[0].quantity == 5


# ---------------------------------------------------------------- remove


def test_remove_a_line_with_htmx(app, shop, login_as):
    req_id = make_draft(app, shop.buyer, shop.cc_it,
                        lines=(("Biurko", "1", "1000", "23"), ("Lampa", "2", "100", "23")))
    first, second = _lines_of(req_id)
    response = login_as(shop.buyer).post(
        f"/requisitions/{req_id}/lines/{first.id}/remove", headers=HX)
    assert response.status_code == 200
    assert_fragment(response)
    html = response.text
    assert html.lstrip().startswith('<tbody id="lines">')
    assert f'id="line-{first.id}"' not in html and f'id="line-{second.id}"' in html
    assert '<div id="totals" class="totals" hx-swap-oob="true"' in html
    assert "246,00 zł" in text_of(html)
    assert [(li.id, li.position) for li in _lines_of(req_id)] == [(second.id, 1)]
    assert get_req(req_id).gross_total == D("246.00")


def test_remove_a_line_without_javascript(app, shop, login_as, english):
    req_id = make_draft(app, shop.buyer, shop.cc_it, lines=(("Lampa", "2", "100", "23"),))
    [line] = _lines_of(req_id)
    client = login_as(shop.buyer)
    response = client.post(f"/requisitions/{req_id}/lines/{line.id}/remove")
    assert response.status_code == 302
    page = client.get(response.headers["Location"])
    assert "is removed" in page.text and 'data-testid="no-lines"' in page.text
    assert get_req(req_id).gross_total == 0


# ---------------------------------------------------------------- only the requester's draft


def test_lines_of_a_submitted_requisition_cannot_change(app, shop, login_as, english):
    approver_policy(app, shop)
    req_id = make_draft(app, shop.buyer, shop.cc_it, lines=(("Lampa", "2", "100", "23"),))
    [line] = _lines_of(req_id)
    client = login_as(shop.buyer)
    client.post(f"/requisitions/{req_id}/submit")
    assert get_req(req_id).status == RequisitionStatus.PENDING
    attempts = [
        (f"/requisitions/{req_id}/lines", _line()),
        (f"/requisitions/{req_id}/lines/{line.id}", _prefixed(line.id, _line(quantity="9"))),
        (f"/requisitions/{req_id}/lines/{line.id}/remove", {}),
    ]
    for url, data in attempts:
        response = client.post(url, data=data, headers=HX)
        assert response.status_code == 409, url
        assert response.headers["HX-Retarget"] == "#flash"
        assert "Only a draft can be changed" in response.text
        page = client.post(url, data=data,
                           headers={"Referer": f"http://localhost/requisitions/{req_id}"})
        assert page.status_code == 302
        assert "Only a draft can be changed" in client.get(page.headers["Location"]).text
    assert [(li.quantity, li.description) for li in _lines_of(req_id)] == [(2, "Lampa")]
    assert get_req(req_id).gross_total == D("246.00")


def test_someone_elses_draft_is_refused(app, shop, login_as):
    req_id = make_draft(app, shop.buyer, shop.cc_it, lines=(("Lampa", "2", "100", "23"),))
    [line] = _lines_of(req_id)
    for user in (shop.buyer2, shop.approver, shop.admin):
        client = login_as(user)
        assert client.post(f"/requisitions/{req_id}/lines", data=_line()).status_code == 403
        assert client.post(f"/requisitions/{req_id}/lines/{line.id}/remove").status_code == 403
        assert client.get(f"/requisitions/{req_id}/catalog?q=pap", headers=HX).status_code == 403
    assert len(_lines_of(req_id)) == 1


def test_a_line_of_another_requisition_is_not_found(app, shop, world, login_as):
    first = make_draft(app, shop.buyer, shop.cc_it, lines=(("Lampa", "2", "100", "23"),))
    second = make_draft(app, shop.buyer, shop.cc_it, lines=(("Biurko", "1", "900", "23"),))
    [line] = _lines_of(first)
    client = login_as(shop.buyer)
    assert client.post(f"/requisitions/{second}/lines/{line.id}/remove").status_code == 404
    assert client.post(f"/requisitions/{second}/lines/{line.id}",
                       data=_prefixed(line.id, _line())).status_code == 404
    assert client.get(f"/requisitions/{second}/lines/{line.id}/edit", headers=HX).status_code == 404
    other = login_as(world.user("buyer@globex"))
    assert other.post(f"/requisitions/{first}/lines/{line.id}/remove").status_code == 404
    assert other.post(f"/requisitions/{first}/lines", data=_line()).status_code == 404
    assert len(_lines_of(first)) == 1 and len(_lines_of(second)) == 1
