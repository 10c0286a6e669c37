"""The buyer's purchase order pages: list (tabs, filters, CSV, bounded queries), detail, stored
PDF downloads, cancel, revise, the answer to a date proposal, orders from agreements."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from portal.domain.agreements import Tier
from portal.domain.requisition import RequisitionStatus
from portal.extensions import db
from portal.models import Item, Requisition, SupplierLink
from portal.models.order import OrderSource, OrderStatus, PurchaseOrder, PurchaseOrderDocument
from portal.services import agreements
from portal.services.agreements import AgreementFields
from portal.services.orders import actions
from portal.services.orders.issue import OrderLineInput, issue_order
from tests.conftest import as_org, as_system, csrf_token_from
from tests.factories import make_cost_center, make_requisition
from tests.kit import count_queries

D = Decimal
HTMX = {"HX-Request": "true"}
TOMORROW = date.today() + timedelta(days=1)


@pytest.fixture(autouse=True)
def _english(world):
    """These tests read the pages' English texts: every user reads English here."""
    from sqlalchemy import update as _update

    from portal.models import User as _User
    with as_system():
        db.session.execute(_update(_User).values(locale="en"))
        db.session.commit()


@pytest.fixture(autouse=True)
def _stored_pdf(monkeypatch):
    """A distinct stand-in per rendering: a download must return the stored bytes, never a new
    rendering (the real PDF is tested in tests/pdf)."""
    from portal.services.orders import documents

    calls = iter(range(1, 10_000))
    monkeypatch.setattr(documents, "render_order_pdf",
                        lambda order: f"%PDF-1.7 {order.number} #{next(calls)}".encode())


def link_of(buyer, supplier) -> SupplierLink:
    with as_system():
        return db.session.scalars(select(SupplierLink).where(
            SupplierLink.organization_id == buyer.id, SupplierLink.supplier_id == supplier.id)).one()


def issue(world, *, buyer="acme", supplier="polbud", lines=(("Papier A4", "10", "20.00", "23"),),
          delivery_date=TOMORROW) -> int:
    org = getattr(world, buyer)
    with as_org(org):
        order = issue_order(world.user(f"buyer@{buyer}"), link=link_of(org, getattr(world, supplier)),
                            source=OrderSource.RFQ, delivery_date=delivery_date, lines=[
                                OrderLineInput(d, D(q), "pcs", D(p), v) for d, q, p, v in lines])
        db.session.commit()
        return order.id


def load(order_id) -> PurchaseOrder:
    db.session.expire_all()
    with as_system():
        order = db.session.scalars(select(PurchaseOrder).where(PurchaseOrder.id == order_id)).one()
        list(order.lines)
        return order


@pytest.fixture
def buyer(world, login_as):
    return login_as(world.user("buyer@acme"))


def test_orders_list_tabs_filters_and_fragment(world, buyer):
    assert "No purchase orders yet" in buyer.get("/orders/").text
    one = issue(world)
    two = issue(world, supplier="nordwind", lines=(("Bearing", "4", "3.10", "23"),))
    page = buyer.get("/orders/")
    assert page.status_code == 200 and 'class="cards"' in page.text
    assert load(one).number in page.text and load(two).number in page.text
    assert buyer.get("/orders/?view=to_receive").text.count('data-testid="order-row"') == 0
    only = buyer.get(f"/orders/?supplier={world.nordwind.id}")
    assert load(two).number in only.text and load(one).number not in only.text
    found = buyer.get(f"/orders/?q={load(one).number[-5:]}", headers=HTMX)
    assert "<html" not in found.text and load(one).number in found.text and load(two).number not in found.text
    assert "No orders match" in buyer.get("/orders/?q=nothing-like-this").text
    assert buyer.get("/orders/?cursor=garbage").status_code == 422


def test_orders_csv_export_of_the_current_view(world, buyer):
    one = issue(world)
    response = buyer.get("/orders/export?view=to_acknowledge")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert load(one).number in response.text and "Polbud" in response.text


@pytest.mark.usefixtures("uncached_lists")
def test_orders_list_queries_do_not_grow_with_rows(world, buyer):
    issue(world)
    buyer.get("/orders/")
    with count_queries() as few:
        buyer.get("/orders/")
    for _ in range(6):
        issue(world, supplier="nordwind")
    with count_queries() as many:
        buyer.get("/orders/")
    assert len(many) <= len(few) + 1  # + the bounded count, never one per row


def test_order_detail_and_the_stored_pdf(world, buyer):
    order_id = issue(world)
    order = load(order_id)
    page = buyer.get(f"/orders/{order_id}")
    assert page.status_code == 200
    for text in (order.number, "Papier A4", "Download PDF", world.polbud.legal_name):
        assert text in page.text
    with as_system():
        stored = db.session.scalars(select(PurchaseOrderDocument).where(
            PurchaseOrderDocument.order_id == order_id)).one()
        data, doc_id = stored.data, stored.id
    download = buyer.get(f"/orders/{order_id}/pdf")
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    assert download.data == data  # the stored bytes: a re-rendering would carry another number
    assert "attachment" in download.headers["Content-Disposition"]
    assert buyer.get(f"/orders/{order_id}/documents/{doc_id}").data == data


def test_orders_of_another_company_are_404(world, login_as):
    order_id = issue(world)
    globex = login_as(world.user("buyer@globex"))
    for url in (f"/orders/{order_id}", f"/orders/{order_id}/pdf", f"/orders/{order_id}/revise"):
        assert globex.get(url).status_code == 404
    page = globex.get("/orders/")
    assert load(order_id).number not in page.text
    assert globex.post(f"/orders/{order_id}/cancel", data={"reason": "x"}).status_code in (400, 404)


def test_cancel_needs_a_reason_then_releases_and_is_refused_twice(world, buyer):
    order_id = issue(world)
    page = buyer.get(f"/orders/{order_id}")
    token = csrf_token_from(page.text)
    empty = buyer.post(f"/orders/{order_id}/cancel", data={"csrf_token": token, "reason": ""})
    assert empty.status_code == 422 and "Say why the order is cancelled." in empty.text
    done = buyer.post(f"/orders/{order_id}/cancel", data={"csrf_token": token, "reason": "Project stopped"})
    assert done.status_code == 302
    assert load(order_id).status == OrderStatus.CANCELLED
    again = buyer.post(f"/orders/{order_id}/cancel", data={"csrf_token": token, "reason": "again"})
    assert again.status_code < 500 and again.status_code != 302 or "cancel" in again.headers.get("Location", "")
    assert "Project stopped" in buyer.get(f"/orders/{order_id}").text


def test_an_approver_reads_but_cannot_cancel(world, login_as):
    order_id = issue(world)
    approver = login_as(world.user("approver@acme"))
    page = approver.get(f"/orders/{order_id}")
    assert page.status_code == 200 and 'data-testid="cancel"' not in page.text
    token = csrf_token_from(page.text)
    assert approver.post(f"/orders/{order_id}/cancel", data={"csrf_token": token, "reason": "x"}).status_code == 403


def test_revise_changes_price_and_asks_for_acknowledgement_again(world, buyer):
    order_id = issue(world)
    line_id = load(order_id).lines[0].id
    form = buyer.get(f"/orders/{order_id}/revise")
    assert form.status_code == 200
    token = csrf_token_from(form.text)
    data = {"csrf_token": token, "delivery_date": TOMORROW.isoformat(), "delivery_address": "",
            "notes": "", f"qty_{line_id}": "10", f"price_{line_id}": "0"}
    bad = buyer.post(f"/orders/{order_id}/revise", data=data)
    assert bad.status_code == 422
    unchanged = buyer.post(f"/orders/{order_id}/revise", data={**data, f"price_{line_id}": "20"})
    assert unchanged.status_code == 422 and "Nothing was changed" in unchanged.text
    done = buyer.post(f"/orders/{order_id}/revise", data={**data, f"price_{line_id}": "22,50"})
    assert done.status_code == 302, done.text
    order = load(order_id)
    assert order.revision == 1 and order.net_total == D("225.00") and order.status == OrderStatus.ISSUED
    page = buyer.get(f"/orders/{order_id}")
    assert page.text.count('data-testid="revision-pdf"') == 2


def test_buyer_answers_the_suppliers_date_proposal(world, buyer):
    order_id = issue(world)
    later = TOMORROW + timedelta(days=10)
    with as_org(world.polbud):
        order = db.session.get(PurchaseOrder, order_id)
        actions.propose_date(order, world.user("sales@polbud"), delivery_date=later, note="Stock next week")
        db.session.commit()
    page = buyer.get(f"/orders/{order_id}")
    assert 'data-testid="proposal"' in page.text and "Stock next week" in page.text
    token = csrf_token_from(page.text)
    refused = buyer.post(f"/orders/{order_id}/refuse", data={"csrf_token": token, "reason": ""})
    assert refused.status_code == 422
    accepted = buyer.post(f"/orders/{order_id}/accept", data={"csrf_token": token})
    assert accepted.status_code == 302
    order = load(order_id)
    assert order.delivery_date == later and order.status == OrderStatus.ACKNOWLEDGED and order.revision == 1


# ---------------------------------------------------------------- from agreements


def approved_with_items(world, skus_and_qty) -> int:
    with as_system():
        items = {i.sku: i for i in db.session.scalars(select(Item).where(Item.organization_id == world.acme.id))}
    cc = make_cost_center(world.acme, "PO-WEB", name="Zakupy")
    req = make_requisition(world.user("buyer@acme"), cost_center=cc, lines=[items[s] for s, _ in skus_and_qty])
    with as_system():
        db.session.get(Requisition, req.id).status = RequisitionStatus.APPROVED
        db.session.commit()
    return req.id, items


def test_order_from_agreements_button_orders_once(world, buyer):
    with as_system():
        sku = db.session.scalars(select(Item.sku).where(Item.organization_id == world.acme.id,
                                                        Item.is_active.is_(True))
                                 .order_by(Item.id)).first()
    req_id, items = approved_with_items(world, [(sku, 1)])
    with as_org(world.acme):
        existing = agreements.agreed_price(items[sku], "PLN")
        if existing is None:
            agreements.create_agreement(world.user("admin@acme"), AgreementFields(
                unit_price=D("12.50"), currency="PLN", valid_from=agreements.today(),
                tiers=[Tier(D("100"), D("11"))], link_id=link_of(world.acme, world.polbud).id, item_sku=sku))
        db.session.commit()
    detail = buyer.get(f"/requisitions/{req_id}")
    assert f"/orders/from-requisition/{req_id}" in detail.text
    section = buyer.get(f"/orders/from-requisition/{req_id}", headers=HTMX)
    assert 'data-testid="order-from-agreements"' in section.text and "<html" not in section.text
    full = buyer.get(f"/orders/from-requisition/{req_id}")
    token = csrf_token_from(full.text)
    submission = full.text.split('name="submission_token"')[1].split('value="')[1].split('"')[0]
    data = {"csrf_token": token, "submission_token": submission}
    first = buyer.post(f"/orders/from-requisition/{req_id}", data=data)
    assert first.status_code == 302, first.text
    second = buyer.post(f"/orders/from-requisition/{req_id}", data=data)
    assert second.status_code in (302, 303)
    with as_system():
        assert db.session.scalar(select(func.count(PurchaseOrder.id))) == 1
        assert db.session.get(Requisition, req_id).status == RequisitionStatus.ORDERED
    assert "order-from-agreements" not in buyer.get(f"/orders/from-requisition/{req_id}", headers=HTMX).text


def test_order_from_agreements_refused_without_coverage(world, buyer):
    cc = make_cost_center(world.acme, "PO-WEB2", name="Zakupy")
    req = make_requisition(world.user("buyer@acme"), cost_center=cc, lines=[("Free text", "1", "10", "23")])
    with as_system():
        db.session.get(Requisition, req.id).status = RequisitionStatus.APPROVED
        db.session.commit()
    section = buyer.get(f"/orders/from-requisition/{req.id}", headers=HTMX)
    assert 'data-testid="coverage-missing"' in section.text
    token = csrf_token_from(buyer.get(f"/orders/from-requisition/{req.id}").text)
    response = buyer.post(f"/orders/from-requisition/{req.id}", data={"csrf_token": token})
    assert response.status_code == 302
    assert "no valid price agreement" in buyer.get(response.headers["Location"]).text
    with as_system():
        assert db.session.scalar(select(func.count(PurchaseOrder.id))) == 0


def test_the_real_pdf_is_stored_at_issue_and_downloaded_as_stored(world, buyer, monkeypatch):
    monkeypatch.undo()  # the real WeasyPrint rendering, once
    order_id = issue(world)
    with as_system():
        stored = db.session.scalars(select(PurchaseOrderDocument).where(
            PurchaseOrderDocument.order_id == order_id)).one().data
    download = buyer.get(f"/orders/{order_id}/pdf")
    assert download.data == stored and stored.startswith(b"%PDF") and len(stored) > 1000
