"""The API's purchase orders and goods receipts: both sides' lists and reads, receipts (over-receipt,
a wrong state, a retried POST), the supplier's acknowledgement and date proposal, orders from
price agreements, and the usual refusals (another organisation's id, the wrong side, a token
without the scope, bad input)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models.order import GoodsReceipt, OrderStatus, PurchaseOrder
from portal.tenancy import system
from tests.services.receiving_fixtures import make_order

BUYER, ADMIN, APPROVER = "buyer@acme.example", "admin@acme.example", "approver@acme.example"
POLBUD, NORDWIND, GLOBEX = "sales@polbud.example", "sales@nordwind.example", "buyer@globex.example"
D = Decimal


def count(model, *where) -> int:
    with system(db.session):
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def order_row(order_id: int) -> PurchaseOrder:
    db.session.expire_all()
    with system(db.session):
        return db.session.get(PurchaseOrder, order_id)


# ---------------------------------------------------------------- reads


def test_the_buyer_and_the_supplier_list_and_read_the_order(api, world):
    made = make_order(world)
    other = make_order(world, supplier=world.nordwind, status=OrderStatus.ISSUED)
    buyer = api(BUYER)
    page = buyer.get("/orders", status=200)
    assert [row["id"] for row in page["data"]] == [made.order_id, other.order_id]
    assert page["data"][0]["supplier"]["name"] == world.polbud.name
    assert [r["id"] for r in buyer.get(f"/orders?supplier_id={world.nordwind.id}", status=200)["data"]] \
        == [other.order_id]
    assert [r["id"] for r in buyer.get("/orders?status=issued", status=200)["data"]] == [other.order_id]

    one = buyer.get(f"/orders/{made.order_id}", status=200)
    assert one["number"] == made.number and one["status"] == "acknowledged"
    assert (one["net_total"], one["vat_total"], one["gross_total"]) == ("1700.00", "391.00", "2091.00")
    assert one["payment_terms"] == {"kind": "net", "days": 45}
    assert [(li["quantity"], li["received_quantity"], li["open_quantity"]) for li in one["lines"]] \
        == [("10.000", "0.000", "10.000"), ("5.000", "0.000", "5.000")]
    assert one["lines"][0]["unit_price"] == "20.0000"

    polbud = api(POLBUD)
    assert [r["id"] for r in polbud.get("/orders", status=200)["data"]] == [made.order_id]
    assert [r["id"] for r in polbud.get(f"/orders?buyer_id={world.acme.id}", status=200)["data"]] \
        == [made.order_id]
    assert polbud.get(f"/orders?buyer_id={world.globex.id}", status=200)["data"] == []
    assert polbud.get(f"/orders/{made.order_id}", status=200)["buyer"]["name"] == world.acme.name


def test_another_organisations_order_is_a_404(api, world):
    made = make_order(world)
    for who in (GLOBEX, NORDWIND):
        client = api(who)
        client.get(f"/orders/{made.order_id}", status=404)
        client.get(f"/orders/{made.order_id}/receipts", status=404)
        assert client.get("/orders", status=200)["data"] == []
    api(GLOBEX).post(f"/orders/{made.order_id}/receipts",
                     {"lines": [{"order_line_id": made.line_ids[0], "quantity": "1"}]}, status=404)
    api(NORDWIND).post(f"/orders/{made.order_id}/acknowledge", {}, status=404)


def test_a_token_without_the_scope_is_a_403(api, world):
    made = make_order(world)
    narrow = api(BUYER, scopes=["invoices:read", "requisitions:write"])
    assert "orders:read" in narrow.get("/orders", status=403)["detail"]
    narrow.get(f"/orders/{made.order_id}", status=403)
    reader = api(BUYER, scopes=["orders:read"])
    reader.get(f"/orders/{made.order_id}", status=200)
    problem = reader.post(f"/orders/{made.order_id}/receipts",
                          {"lines": [{"order_line_id": made.line_ids[0], "quantity": "1"}]}, status=403)
    assert "orders:write" in problem["detail"]
    assert count(GoodsReceipt) == 0


def test_the_wrong_sides_filter_is_a_422(api, world):
    assert api(BUYER).get(f"/orders?buyer_id={world.acme.id}", status=422)["errors"][0]["field"] == "buyer_id"
    assert api(POLBUD).get("/orders?supplier_id=1", status=422)["errors"][0]["field"] == "supplier_id"
    assert api(BUYER).get("/orders?supplier_id=abc", status=422)["errors"][0]["field"] == "supplier_id"
    assert api(BUYER).get("/orders?status=lost", status=422)["errors"][0]["field"] == "status"


# ---------------------------------------------------------------- receipts


def test_the_buyer_records_a_receipt_and_both_sides_read_it(api, world):
    made = make_order(world)
    buyer = api(BUYER)
    body = {"note": "WZ 12/2026", "lines": [
        {"order_line_id": made.line_ids[0], "quantity": "4"},
        {"order_line_id": made.line_ids[1], "quantity": "2", "rejected_quantity": "1",
         "rejection_reason": "Uszkodzony karton"}]}
    receipt = buyer.post(f"/orders/{made.order_id}/receipts", body, status=201)
    assert receipt["order_status"] == "partially_received"
    assert receipt["received_by"] == BUYER and receipt["note"] == "WZ 12/2026"
    assert [(li["quantity"], li["rejected_quantity"], li["rejection_reason"]) for li in receipt["lines"]] \
        == [("4.000", "0.000", ""), ("2.000", "1.000", "Uszkodzony karton")]
    lines = buyer.get(f"/orders/{made.order_id}", status=200)["lines"]
    assert [(li["received_quantity"], li["rejected_quantity"], li["open_quantity"]) for li in lines] \
        == [("4.000", "0.000", "6.000"), ("1.000", "1.000", "4.000")]

    assert [r["id"] for r in buyer.get(f"/orders/{made.order_id}/receipts", status=200)["data"]] \
        == [receipt["id"]]
    seen = api(POLBUD).get(f"/orders/{made.order_id}/receipts", status=200)["data"]
    assert seen[0]["received_by"] is None and seen[0]["lines"][1]["rejection_reason"] == "Uszkodzony karton"


def test_receiving_everything_receives_the_order_and_then_it_is_a_409(api, world):
    made = make_order(world)
    buyer = api(BUYER)
    body = {"lines": [{"order_line_id": made.line_ids[0], "quantity": "10"},
                      {"order_line_id": made.line_ids[1], "quantity": "5"}]}
    assert buyer.post(f"/orders/{made.order_id}/receipts", body, status=201)["order_status"] == "received"
    problem = buyer.post(f"/orders/{made.order_id}/receipts", body, status=409)
    assert problem["type"].endswith("invalid-transition")
    assert count(GoodsReceipt) == 1


def test_an_over_receipt_is_a_422_naming_the_line_and_saves_nothing(api, world):
    made = make_order(world)
    problem = api(BUYER).post(f"/orders/{made.order_id}/receipts", {"lines": [
        {"order_line_id": made.line_ids[1], "quantity": "1"},
        {"order_line_id": made.line_ids[0], "quantity": "11"}]}, status=422)
    assert [e["field"] for e in problem["errors"]] == ["lines.1.quantity"]
    assert count(GoodsReceipt) == 0
    assert order_row(made.order_id).status == OrderStatus.ACKNOWLEDGED


def test_a_retried_receipt_is_recorded_once(api, world):
    made = make_order(world)
    buyer = api(BUYER)
    body = {"lines": [{"order_line_id": made.line_ids[0], "quantity": "3"}]}
    first = buyer.post(f"/orders/{made.order_id}/receipts", body, key="erp-wz-1", status=201)
    again = buyer.post(f"/orders/{made.order_id}/receipts", body, key="erp-wz-1", status=201)
    assert again == first and buyer.last.headers["Idempotent-Replayed"] == "true"
    assert count(GoodsReceipt) == 1
    with system(db.session):
        assert order_row(made.order_id).lines[0].received_quantity == D("3")


def test_only_the_buyers_buyers_and_admins_receive(api, world):
    made = make_order(world)
    body = {"lines": [{"order_line_id": made.line_ids[0], "quantity": "1"}]}
    api(APPROVER).post(f"/orders/{made.order_id}/receipts", body, status=403)
    api(POLBUD).post(f"/orders/{made.order_id}/receipts", body, status=403)
    api(ADMIN).post(f"/orders/{made.order_id}/receipts", body, status=201)
    assert count(GoodsReceipt) == 1


@pytest.mark.parametrize(("change", "field"), [
    (lambda b, ids: b["lines"][0].update(quantity=3), "lines.0.quantity"),
    (lambda b, ids: b["lines"][0].update(quantity="3,5"), "lines.0.quantity"),
    (lambda b, ids: b["lines"][0].update(quantity="1.2345"), "lines.0.quantity"),
    (lambda b, ids: b["lines"][0].update(order_line_id="1"), "lines.0.order_line_id"),
    (lambda b, ids: b["lines"][0].update(order_line_id=999999), "lines.0.order_line_id"),
    (lambda b, ids: b["lines"][0].update(colour="red"), "lines.0.colour"),
    (lambda b, ids: b.update(lines=[]), "lines"),
    (lambda b, ids: b.update(received_on="jutro"), "received_on"),
    (lambda b, ids: b.update(received_on=(date.today() + timedelta(days=3)).isoformat()), "received_on"),
    (lambda b, ids: b["lines"].append(dict(b["lines"][0])), "lines.1.order_line_id"),
    # The service's rules, named as the body's fields.
    (lambda b, ids: b["lines"][0].update(quantity="-1"), "lines.0.quantity"),
    (lambda b, ids: b["lines"][0].update(rejected_quantity="1"), "lines.0.rejection_reason"),
    (lambda b, ids: b["lines"][0].update(rejected_quantity="5"), "lines.0.rejected_quantity"),
    (lambda b, ids: b["lines"][0].update(quantity="0"), "lines"),
])
def test_bad_receipts_are_422_naming_the_field(api, world, change, field):
    made = make_order(world)
    body = {"lines": [{"order_line_id": made.line_ids[0], "quantity": "2"}]}
    change(body, made.line_ids)
    problem = api(BUYER).post(f"/orders/{made.order_id}/receipts", body, status=422)
    assert field in [e["field"] for e in problem["errors"]], problem
    assert count(GoodsReceipt) == 0


# ---------------------------------------------------------------- the supplier's answer


def test_the_supplier_acknowledges_an_issued_order_once(api, world):
    made = make_order(world, status=OrderStatus.ISSUED)
    polbud = api(POLBUD)
    answer = polbud.post(f"/orders/{made.order_id}/acknowledge", {"revision": 0}, status=200)
    assert answer["status"] == "acknowledged" and answer["acknowledged_revision"] == 0
    assert answer["acknowledged_at"]
    again = polbud.post(f"/orders/{made.order_id}/acknowledge", {}, status=409)
    assert again["type"].endswith("invalid-transition")


def test_a_retried_acknowledgement_is_replayed(api, world):
    made = make_order(world, status=OrderStatus.ISSUED)
    polbud = api(POLBUD)
    first = polbud.post(f"/orders/{made.order_id}/acknowledge", {}, key="ack-1", status=200)
    assert polbud.post(f"/orders/{made.order_id}/acknowledge", {}, key="ack-1", status=200) == first
    assert polbud.last.headers["Idempotent-Replayed"] == "true"


def test_an_acknowledgement_of_an_older_revision_is_a_409(api, world):
    made = make_order(world, status=OrderStatus.ISSUED)
    problem = api(POLBUD).post(f"/orders/{made.order_id}/acknowledge", {"revision": 3}, status=409)
    assert "revision 0" in problem["detail"]
    assert order_row(made.order_id).status == OrderStatus.ISSUED


def test_the_supplier_proposes_another_delivery_date(api, world):
    made = make_order(world, status=OrderStatus.ISSUED)
    later = (date.today() + timedelta(days=30)).isoformat()
    answer = api(POLBUD).post(f"/orders/{made.order_id}/acknowledge",
                              {"proposed_delivery_date": later, "note": "Brak tonera do 20."}, status=200)
    assert answer["proposed_delivery_date"] == later and answer["proposal_note"] == "Brak tonera do 20."
    assert answer["status"] == "issued"
    past = (date.today() - timedelta(days=3)).isoformat()
    other = make_order(world, status=OrderStatus.ISSUED)
    problem = api(POLBUD).post(f"/orders/{other.order_id}/acknowledge",
                               {"proposed_delivery_date": past}, status=422)
    assert problem["errors"][0]["field"] == "proposed_delivery_date"


def test_the_buyer_cannot_acknowledge_and_bad_answers_are_422(api, world):
    made = make_order(world, status=OrderStatus.ISSUED)
    api(BUYER).post(f"/orders/{made.order_id}/acknowledge", {}, status=403)
    polbud = api(POLBUD)
    for body, field in (({"note": "bez daty"}, "note"), ({"revision": "0"}, "revision"),
                        ({"proposed_delivery_date": "soon"}, "proposed_delivery_date"),
                        ({"colour": "red"}, "colour")):
        problem = polbud.post(f"/orders/{made.order_id}/acknowledge", body, status=422)
        assert problem["errors"][0]["field"] == field
    assert order_row(made.order_id).status == OrderStatus.ISSUED


def test_a_blocked_supplier_reads_but_cannot_acknowledge(api, world):
    from portal.models.org import LinkStatus
    from tests.services.receiving_fixtures import link_to

    made = make_order(world, status=OrderStatus.ISSUED)
    with system(db.session):
        link_to(world.acme, world.polbud).status = LinkStatus.BLOCKED
        db.session.commit()
    polbud = api(POLBUD)
    polbud.get(f"/orders/{made.order_id}", status=200)
    polbud.post(f"/orders/{made.order_id}/acknowledge", {}, status=403)
    assert order_row(made.order_id).status == OrderStatus.ISSUED


# ---------------------------------------------------------------- orders from price agreements


@pytest.fixture
def agreed(app, world, monkeypatch):
    """An approved Acme requisition (laptops and paper) fully covered by Polbud's agreements."""
    from portal.services.orders import documents
    from tests.kit import acme_kit, acting_for, services
    from tests.services.test_direct_orders import agree, polbud, requisition

    monkeypatch.setattr(documents, "render_order_pdf", lambda order: b"%PDF-1.7 " + order.number.encode())
    with services(app):
        kit = acme_kit(world, board=False)
        with acting_for(kit.org):
            agree(kit, polbud(world), kit.laptop, "4000")
            agree(kit, polbud(world), kit.paper, "20", lead=5)
            approved = requisition(kit, [(kit.laptop, "2"), (kit.paper, "10")])
            waiting = requisition(kit, [(kit.laptop, "1")], approve=False)
            db.session.commit()
            return {"approved": approved.id, "draft": waiting.id}


def test_an_approved_requisition_is_ordered_from_agreements(api, world, agreed):
    made = api(BUYER).post(f"/requisitions/{agreed['approved']}/orders", {}, status=201)["data"]
    assert len(made) == 1
    order = made[0]
    assert order["supplier"]["name"] == world.polbud.name and order["source"] == "agreement"
    assert [(li["quantity"], li["unit_price"]) for li in order["lines"]] == [
        ("2.000", "4000.0000"), ("10.000", "20.0000")]
    assert order["net_total"] == "8200.00"
    assert count(PurchaseOrder) == 1
    # Ordered already: a second request is refused by the requisition's state.
    api(BUYER).post(f"/requisitions/{agreed['approved']}/orders", {}, status=409)


def test_direct_orders_refusals(api, world, agreed):
    api(BUYER).post(f"/requisitions/{agreed['draft']}/orders", {}, status=409)
    api(APPROVER).post(f"/requisitions/{agreed['approved']}/orders", {}, status=403)
    api(POLBUD).post(f"/requisitions/{agreed['approved']}/orders", {}, status=403)
    api("admin@globex.example").post(f"/requisitions/{agreed['approved']}/orders", {}, status=404)
    problem = api(BUYER).post(f"/requisitions/{agreed['approved']}/orders",
                              {"credit_override_reason": 5}, status=422)
    assert problem["errors"][0]["field"] == "credit_override_reason"
    assert count(PurchaseOrder) == 0


def test_a_retried_direct_order_issues_once(api, world, agreed):
    buyer = api(BUYER)
    first = buyer.post(f"/requisitions/{agreed['approved']}/orders", {}, key="direct-1", status=201)
    assert buyer.post(f"/requisitions/{agreed['approved']}/orders", {}, key="direct-1", status=201) == first
    assert count(PurchaseOrder) == 1


# ---------------------------------------------------------------- the lists' plans


class _Caller:
    """`captured_selects` calls `client.get(url)`: the API client's raw GET with its token."""

    def __init__(self, api_client):
        self.api = api_client

    def get(self, url):
        return self.api.http.get("/api/v1" + url, headers=self.api.headers())


def _bulk_orders(world, count: int) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import insert

    from tests.services.receiving_fixtures import link_to

    base = datetime(2026, 1, 1, tzinfo=UTC)
    statuses = list(OrderStatus)
    rows = []
    for buyer, supplier in ((world.acme, world.polbud), (world.acme, world.nordwind),
                            (world.globex, world.nordwind)):
        link = link_to(buyer, supplier)
        rows += [{"organization_id": buyer.id, "supplier_id": supplier.id, "link_id": link.id,
                  "number": f"PO/BULK/{supplier.id}/{i:05d}", "source": "agreement",
                  "status": statuses[i % len(statuses)], "currency": "PLN",
                  "created_at": base + timedelta(hours=i), "updated_at": base + timedelta(hours=i)}
                 for i in range(count)]
    with system(db.session):
        db.session.execute(insert(PurchaseOrder), rows)
        db.session.commit()


SYNC_INDEXES = ("ix_purchase_orders_org_updated", "ix_purchase_orders_supplier_updated")


@pytest.fixture
def many_orders(world, app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the plans checked are SQLite's")
    _bulk_orders(world, 120)
    return world


@pytest.mark.parametrize(("who", "index", "urls"), [
    (BUYER, "ix_purchase_orders_org_updated",
     ("/orders?limit=20", "/orders?status=issued&limit=5", "/orders?supplier_id={nordwind}&limit=20",
      "/orders?updated_since=2026-01-02T00:00:00%2B00:00&limit=20")),
    (NORDWIND, "ix_purchase_orders_supplier_updated",
     ("/orders?limit=20", "/orders?buyer_id={acme}&limit=20", "/orders?status=received&limit=5")),
])
def test_the_order_lists_walk_their_sync_index(api, many_orders, who, index, urls, uncached_lists):
    from tests.listdata import captured_selects, plan

    client = api(who)
    ids = {"nordwind": many_orders.nordwind.id, "acme": many_orders.acme.id}
    for url in urls:
        url = url.format(**ids)
        first = client.get(url, status=200)
        assert first["next_cursor"], url
        for page_url in (url, f"{url}&cursor={first['next_cursor']}"):
            statements = captured_selects(_Caller(client), page_url, "FROM purchase_orders")
            assert statements, page_url
            for statement, parameters in statements:
                text = " | ".join(plan(statement, parameters))
                # A pair (buyer and supplier) may walk either side's sync index.
                allowed = SYNC_INDEXES if "_id=" in page_url else (index,)
                assert any(f"INDEX {name} " in text for name in allowed), f"{page_url}: {text}"
                assert "TEMP B-TREE" not in text, f"{page_url}: {text}"
