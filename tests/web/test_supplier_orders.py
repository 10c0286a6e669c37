"""The supplier's order pages: list, detail, acknowledge, propose a date, PDF; another supplier's
or another buyer's order is a 404; a blocked supplier reads but cannot answer."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import SupplierLink
from portal.models.order import OrderStatus, PurchaseOrder
from tests.conftest import as_system, csrf_token_from
from tests.web.test_orders import TOMORROW, _stored_pdf, issue, link_of, load  # noqa: F401

HTMX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def _english(world):
    """These tests read the pages' English texts: every user reads English here."""
    from sqlalchemy import update as _update

    from portal.models import User as _User
    with as_system():
        db.session.execute(_update(_User).values(locale="en"))
        db.session.commit()


@pytest.fixture
def seller(world, login_as):
    return login_as(world.user("sales@polbud"))


def test_supplier_lists_its_orders_by_tab(world, seller):
    assert "Nothing to acknowledge" in seller.get("/supplier/orders").text
    mine = issue(world)
    theirs = issue(world, supplier="nordwind")
    page = seller.get("/supplier/orders")
    assert page.status_code == 200 and 'class="cards"' in page.text
    assert load(mine).number in page.text and load(theirs).number not in page.text
    assert seller.get("/supplier/orders?view=all", headers=HTMX).text.count('data-testid="order-row"') == 1
    assert seller.get("/supplier/orders?view=open").status_code == 200


def test_supplier_exports_its_orders_of_a_tab_as_csv(world, seller):
    mine = issue(world)
    theirs = issue(world, supplier="nordwind")
    assert 'href="/supplier/orders/export?view=to_acknowledge"' in seller.get("/supplier/orders").text
    csv = seller.get("/supplier/orders/export?view=all")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    text = csv.get_data(as_text=True)
    assert text.startswith("\ufeffNumber;Customer;Status") or text.startswith("\ufeffNumber,Customer,Status")
    assert load(mine).number in text and load(theirs).number not in text
    assert world.acme.name in text


def test_supplier_acknowledges_and_downloads_the_pdf(world, seller):
    order_id = issue(world)
    page = seller.get(f"/supplier/orders/{order_id}")
    assert page.status_code == 200
    assert load(order_id).number in page.text and world.acme.legal_name in page.text
    pdf = seller.get(f"/supplier/orders/{order_id}/pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    response = seller.post(f"/supplier/orders/{order_id}/acknowledge",
                           data={"csrf_token": csrf_token_from(page.text)})
    assert response.status_code == 302
    order = load(order_id)
    assert order.status == OrderStatus.ACKNOWLEDGED and order.acknowledged_revision == 0
    again = seller.post(f"/supplier/orders/{order_id}/acknowledge", data={"csrf_token": csrf_token_from(page.text)})
    assert again.status_code < 500
    assert load(order_id).status == OrderStatus.ACKNOWLEDGED


def test_supplier_proposes_a_date_with_checks(world, seller):
    order_id = issue(world)
    token = csrf_token_from(seller.get(f"/supplier/orders/{order_id}").text)
    past = seller.post(f"/supplier/orders/{order_id}/propose", data={
        "csrf_token": token, "delivery_date": (date.today() - timedelta(days=2)).isoformat()})
    assert past.status_code == 422 and "cannot be in the past" in past.text
    missing = seller.post(f"/supplier/orders/{order_id}/propose", data={"csrf_token": token, "delivery_date": ""})
    assert missing.status_code == 422
    later = TOMORROW + timedelta(days=5)
    done = seller.post(f"/supplier/orders/{order_id}/propose", data={
        "csrf_token": token, "delivery_date": later.isoformat(), "note": "Next shipment"})
    assert done.status_code == 302
    assert load(order_id).proposed_delivery_date == later
    assert 'data-testid="proposal-pending"' in seller.get(f"/supplier/orders/{order_id}").text


def test_another_supplier_or_a_buyer_cannot_reach_the_order(world, login_as, seller):
    order_id = issue(world)
    token = csrf_token_from(seller.get("/supplier/orders").text)
    other = login_as(world.user("sales@nordwind"))
    for url in (f"/supplier/orders/{order_id}", f"/supplier/orders/{order_id}/pdf"):
        assert other.get(url).status_code == 404
    assert other.post(f"/supplier/orders/{order_id}/acknowledge",
                      data={"csrf_token": csrf_token_from(other.get("/supplier/orders").text)}).status_code == 404
    assert load(order_id).status == OrderStatus.ISSUED
    buyer = login_as(world.user("buyer@acme"))
    assert buyer.get("/supplier/orders").status_code == 403
    assert buyer.get(f"/supplier/orders/{order_id}").status_code in (403, 404)
    # Globex's order to Polbud is not Acme's, and Polbud sees each buyer's orders only as its own.
    globex_order = issue(world, buyer="globex", supplier="nordwind")
    assert seller.get(f"/supplier/orders/{globex_order}").status_code == 404
    assert token


def test_blocked_supplier_reads_but_cannot_acknowledge(world, seller):
    order_id = issue(world)
    token = csrf_token_from(seller.get(f"/supplier/orders/{order_id}").text)
    with as_system():
        link = db.session.scalars(select(SupplierLink).where(SupplierLink.id == load(order_id).link_id)).one()
        link.status = "blocked"
        db.session.commit()
    page = seller.get(f"/supplier/orders/{order_id}")
    assert page.status_code == 200 and 'data-testid="blocked-note"' in page.text
    assert 'data-testid="acknowledge"' not in page.text
    response = seller.post(f"/supplier/orders/{order_id}/acknowledge", data={"csrf_token": token})
    assert response.status_code in (302, 403)
    assert load(order_id).status == OrderStatus.ISSUED
    with as_system():
        assert db.session.get(PurchaseOrder, order_id).acknowledged_at is None
