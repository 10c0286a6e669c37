""""Add to requisition" from the catalog list and item page (issue 10, point 1): into one of the
buyer's drafts at the agreed price, or into a new requisition through its form; refused for an
inactive item, another company's item (404), someone else's or a submitted requisition and bad
quantities, with a message and nothing saved; a form sent twice adds once."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from portal.domain.requisition import RequisitionStatus
from portal.extensions import db
from portal.models import Requisition, RequisitionLine
from tests.conftest import as_system, csrf_token_from
from tests.factories import make_item
from tests.kit import HX, make_draft, make_shop
from tests.web.test_agreements import make

D = Decimal


@pytest.fixture
def shop(world):
    return make_shop(world)


@pytest.fixture
def buyer(shop, login_as):
    return login_as(shop.buyer)


def _token(html: str, item_id: int) -> str:
    form = re.search(rf'<form[^>]*id="add-to-req-{item_id}".*?</form>', html, re.S)
    assert form, f"no add-to-requisition form for item {item_id}"
    return re.search(r'name="submission_token" value="([^"]+)"', form.group(0)).group(1)


def _form(client, item, requisition, quantity="1", page=None) -> dict:
    html = client.get(page or f"/catalog/{item.id}").text
    return {"csrf_token": csrf_token_from(html), "submission_token": _token(html, item.id),
            "requisition": str(requisition), "quantity": quantity}


def _lines(req_id: int) -> list[RequisitionLine]:
    db.session.expire_all()
    with as_system():
        return list(db.session.scalars(select(RequisitionLine).where(
            RequisitionLine.requisition_id == req_id).order_by(RequisitionLine.position)))


def _line_count() -> int:
    db.session.expire_all()
    with as_system():
        return db.session.scalar(select(func.count(RequisitionLine.id)))


def test_item_page_and_list_offer_the_buyers_own_drafts(app, shop, buyer):
    mine = make_draft(app, shop.buyer, shop.cc_it, title="Moje zakupy")
    make_draft(app, shop.buyer2, shop.cc_it, title="Cudze zakupy")
    detail = buyer.get(f"/catalog/{shop.paper.id}")
    assert 'data-testid="add-to-requisition"' in detail.text
    assert f'<option value="{mine}"' in detail.text and "Moje zakupy" in detail.text
    assert "Cudze zakupy" not in detail.text
    listing = buyer.get("/catalog/?q=W-&status=all")
    assert f'id="add-to-req-{shop.paper.id}"' in listing.text
    assert f'id="add-to-req-{shop.old_item.id}"' not in listing.text  # inactive: not offered
    # Each row has a token of its own: adding two items from one page adds both.
    tokens = re.findall(r'name="submission_token" value="([^"]+)"', listing.text)
    assert len(tokens) == len(set(tokens)) > 1


def test_only_buyers_see_the_action(shop, login_as):
    page = login_as(shop.approver).get(f"/catalog/{shop.paper.id}")
    assert page.status_code == 200 and 'data-testid="add-to-requisition"' not in page.text


def test_adds_to_a_draft_at_the_agreed_price(app, world, shop, buyer):
    make(world, supplier="polbud", sku="W-PAPER", price="15.5", currency="PLN")
    req_id = make_draft(app, shop.buyer, shop.cc_it)
    response = buyer.post(f"/catalog/{shop.paper.id}/add-to-requisition",
                          data=_form(buyer, shop.paper, req_id, "3,5"))
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/requisitions/{req_id}/edit#lines")
    lines = _lines(req_id)
    assert len(lines) == 2
    added = lines[-1]
    assert (added.item_id, added.quantity, added.unit_price) == (shop.paper.id, D("3.5"), D("15.5"))
    assert added.suggested_supplier_id == shop.polbud.id and added.unit == "ream"
    page = buyer.get(response.headers["Location"])
    assert shop.paper.name in page.text
    with as_system():
        number = db.session.get(Requisition, req_id).number
    assert number in page.text


def test_adds_at_the_list_price_without_an_agreement_with_htmx(app, shop, buyer):
    req_id = make_draft(app, shop.buyer, shop.cc_it)
    data = _form(buyer, shop.laptop, req_id, page="/catalog/?q=W-")
    response = buyer.post(f"/catalog/{shop.laptop.id}/add-to-requisition", data=data, headers=HX)
    assert response.status_code == 200
    assert response.headers["HX-Redirect"].endswith(f"/requisitions/{req_id}/edit#lines")
    assert _lines(req_id)[-1].unit_price == D("4999")


def test_sent_twice_adds_once(app, shop, buyer):
    req_id = make_draft(app, shop.buyer, shop.cc_it)
    data = _form(buyer, shop.paper, req_id)
    first = buyer.post(f"/catalog/{shop.paper.id}/add-to-requisition", data=data)
    again = buyer.post(f"/catalog/{shop.paper.id}/add-to-requisition", data=data)
    assert first.status_code == 303 and again.status_code == 303
    assert again.headers["Location"] == first.headers["Location"]
    assert len(_lines(req_id)) == 2


def test_new_requisition_goes_through_its_form_and_adds_the_line(app, world, shop, buyer):
    make(world, supplier="polbud", sku="W-PAPER", price="15.5", currency="PLN")
    response = buyer.post(f"/catalog/{shop.paper.id}/add-to-requisition",
                          data=_form(buyer, shop.paper, "new", "2"))
    assert response.status_code == 303
    form_url = response.headers["Location"]
    assert f"item_id={shop.paper.id}" in form_url and "quantity=2" in form_url
    page = buyer.get(form_url)
    assert page.status_code == 200 and 'data-testid="picked-item"' in page.text
    assert f'value="{shop.paper.name}"' in page.text  # the title defaults to the item
    token = re.search(r'name="submission_token"[^>]*value="([^"]+)"', page.text).group(1)
    data = {"csrf_token": csrf_token_from(page.text), "submission_token": token,
            "title": shop.paper.name, "cost_center_id": str(shop.cc_it.id), "currency": "PLN"}
    created = buyer.post(form_url, data=data)
    assert created.status_code == 302, created.text
    with as_system():
        req = db.session.scalars(select(Requisition).where(
            Requisition.requester_id == shop.buyer.id).order_by(Requisition.id.desc())).first()
        req_id, status = req.id, req.status
    assert status == RequisitionStatus.DRAFT
    [line] = _lines(req_id)
    assert (line.item_id, line.quantity, line.unit_price) == (shop.paper.id, D(2), D("15.5"))
    assert buyer.post(form_url, data=data).status_code in (302, 303)  # again: nothing new
    with as_system():
        assert db.session.scalar(select(func.count(Requisition.id)).where(
            Requisition.requester_id == shop.buyer.id)) == 1


def test_new_requisition_form_ignores_an_unusable_item(shop, buyer):
    for query in (f"item_id={shop.old_item.id}", "item_id=abc&quantity=x", "item_id=999999"):
        page = buyer.get(f"/requisitions/new?{query}")
        assert page.status_code == 200 and 'data-testid="picked-item"' not in page.text


def test_an_inactive_item_is_refused(app, shop, buyer):
    req_id = make_draft(app, shop.buyer, shop.cc_it)
    data = _form(buyer, shop.paper, req_id)
    response = buyer.post(f"/catalog/{shop.old_item.id}/add-to-requisition", data=data)
    assert response.status_code == 422 and shop.old_item.sku in response.text
    assert len(_lines(req_id)) == 1


def test_another_companys_item_is_404(app, world, shop, buyer):
    foreign = make_item(world.globex, "GX-ONLY", name="Globex only")
    db.session.commit()
    req_id = make_draft(app, shop.buyer, shop.cc_it)
    data = _form(buyer, shop.paper, req_id)
    assert buyer.post(f"/catalog/{foreign.id}/add-to-requisition", data=data).status_code == 404
    assert len(_lines(req_id)) == 1


def test_someone_elses_draft_is_refused(app, shop, buyer):
    theirs = make_draft(app, shop.buyer2, shop.cc_it)
    before = _line_count()
    response = buyer.post(f"/catalog/{shop.paper.id}/add-to-requisition",
                          data=_form(buyer, shop.paper, theirs))
    assert response.status_code == 403
    assert "only to your own draft" in response.text or "tylko do własnych" in response.text
    assert _line_count() == before


def test_a_submitted_requisition_is_refused(app, shop, buyer):
    req_id = make_draft(app, shop.buyer, shop.cc_it)
    with as_system():
        db.session.get(Requisition, req_id).status = RequisitionStatus.PENDING
        db.session.commit()
    response = buyer.post(f"/catalog/{shop.paper.id}/add-to-requisition",
                          data=_form(buyer, shop.paper, req_id), headers=HX)
    assert response.status_code == 422
    assert 'data-testid="add-to-req-error"' in response.text and "<html" not in response.text
    assert len(_lines(req_id)) == 1


@pytest.mark.parametrize("quantity", ["0", "-1", "abc", "1,2345", "nan", "1e12", ""])
def test_a_bad_quantity_is_refused(app, shop, buyer, quantity):
    req_id = make_draft(app, shop.buyer, shop.cc_it)
    response = buyer.post(f"/catalog/{shop.paper.id}/add-to-requisition",
                          data=_form(buyer, shop.paper, req_id, quantity))
    assert response.status_code == 422
    assert len(_lines(req_id)) == 1


@pytest.mark.parametrize("requisition", ["", "abc", "99999999999999999999", "0"])
def test_a_malformed_requisition_is_refused(shop, buyer, requisition):
    before = _line_count()
    response = buyer.post(f"/catalog/{shop.paper.id}/add-to-requisition",
                          data=_form(buyer, shop.paper, requisition))
    assert response.status_code in (404, 422)
    assert _line_count() == before


def test_an_unknown_requisition_is_404(shop, buyer):
    response = buyer.post(f"/catalog/{shop.paper.id}/add-to-requisition",
                          data=_form(buyer, shop.paper, 987654))
    assert response.status_code == 404


def test_the_picker_costs_one_bounded_query_whatever_the_drafts(app, shop, buyer):
    from portal.services.draft_picker import PICKER_LIMIT
    from tests.kit import count_queries

    def statements() -> tuple[int, str]:
        with count_queries() as seen:
            page = buyer.get("/catalog/?q=W-")
        assert page.status_code == 200
        return len(seen), page.text

    before, _ = statements()
    drafts = [make_draft(app, shop.buyer, shop.cc_it, title=f"Szkic {n}")
              for n in range(PICKER_LIMIT + 3)]
    after, html = statements()
    assert after == before
    row = re.search(rf'<form[^>]*id="add-to-req-{shop.paper.id}".*?</form>', html, re.S).group(0)
    offered = [int(v) for v in re.findall(r'<option value="(\d+)"', row)]
    assert offered == drafts[::-1][:PICKER_LIMIT]  # most recent first, bounded
