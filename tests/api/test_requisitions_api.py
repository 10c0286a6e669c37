"""The requisitions API: list (a buyer's own, everyone's for approvers and admins), read, and
create (and submit) drafts idempotently; refusals and bad input as problems naming the field."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from portal.extensions import db
from portal.models import Requisition
from portal.services import approval_policy
from tests.conftest import as_system
from tests.kit import acting, approver_policy, make_draft, make_shop
from tests.listdata import bulk_requisitions


@pytest.fixture
def shop(world):
    return make_shop(world)


def _count() -> int:
    with as_system():
        return db.session.scalar(select(func.count()).select_from(Requisition))


def _body(shop, **extra) -> dict:
    body = {
        "title": "Laptops for the new developers",
        "cost_center_id": shop.cc_it.id,
        "justification": "Two new hires in January.",
        "lines": [
            {"sku": "w-laptop", "quantity": "2"},  # any case, as the import matches SKUs
            {"item_id": shop.paper.id, "quantity": "10", "unit_price": "17.50"},
            {"description": "HDMI cable, 2 m", "quantity": "1.5", "unit": "pcs",
             "unit_price": "12.50", "vat_rate": "8"},
        ],
    }
    body.update(extra)
    return body


# ---------------------------------------------------------------- creating


def test_a_buyer_creates_a_draft_with_catalog_and_free_text_lines(api, shop):
    buyer = api("buyer@acme.example")
    made = buyer.post("/requisitions", _body(shop), status=201)
    assert buyer.last.headers["Location"] == f"/api/v1/requisitions/{made['id']}"
    assert made["status"] == "draft" and made["number"].startswith("REQ-")
    assert made["requester"]["email"] == "buyer@acme.example"
    assert made["cost_center"]["code"] == "W-IT"
    laptop, paper, cable = made["lines"]
    assert (laptop["sku"], laptop["quantity"], laptop["unit_price"]) == ("W-LAPTOP", "2.000", "4999.0000")
    assert laptop["description"] == "Laptop 14 cali" and laptop["vat_rate"] == "23.00"
    assert (paper["sku"], paper["unit"], paper["unit_price"]) == ("W-PAPER", "ream", "17.5000")
    assert paper["suggested_supplier_id"] == shop.polbud.id  # the item's preferred supplier
    assert (cable["item_id"], cable["quantity"], cable["vat_rate"]) == (None, "1.500", "8.00")
    assert made["net_total"] == "10191.75"  # 9998.00 + 175.00 + 18.75
    assert made["approval"] == {"round": 0, "steps": []}
    assert made["budget"] is None
    assert buyer.get(f"/requisitions/{made['id']}", status=200) == made


def test_submit_true_sends_the_draft_for_approval(app, api, shop):
    approver_policy(app, shop)
    lines = [{"item_id": shop.paper.id, "quantity": "10"}]  # within the approver's limit
    made = api("buyer@acme.example").post("/requisitions", _body(shop, lines=lines, submit=True),
                                          status=201)
    assert made["status"] == "pending" and made["approval"]["round"] == 1
    (step,) = made["approval"]["steps"]
    assert step["name"] == "Kierownik" and step["status"] == "pending"
    assert [d["approver"]["email"] for d in step["decisions"]] == ["approver@acme.example"]
    assert step["decisions"][0]["decision"] is None
    seen = api("approver@acme.example").get(f"/requisitions/{made['id']}", status=200)
    assert seen["approval"] == made["approval"]


def test_a_draft_the_submit_refuses_is_not_kept(app, api, shop):
    approver_policy(app, shop)
    with acting(app, shop.org):
        approval_policy.update_settings(shop.admin, reminder_hours=24, escalation_hours=48,
                                        escalation_user=None, category_required=True)
        db.session.commit()
    body = _body(shop, submit=True)
    problem = api("buyer@acme.example").post("/requisitions", body, status=422)
    assert problem["errors"][0]["field"] == "submit" and "Category" in problem["detail"]
    assert _count() == 0
    made = api("buyer@acme.example").post("/requisitions", _body(shop, submit=True, category_id=shop.cat_it.id),
                                          status=201)
    assert made["status"] == "pending" and made["category"]["code"] == "W-IT"


def test_a_retry_with_the_same_key_creates_one_requisition(api, shop):
    buyer = api("buyer@acme.example")
    key = uuid.uuid4().hex
    first = buyer.post("/requisitions", _body(shop), key=key, status=201)
    again = buyer.post("/requisitions", _body(shop), key=key, status=201)
    assert buyer.last.headers["Idempotent-Replayed"] == "true"
    assert buyer.last.headers["Location"] == f"/api/v1/requisitions/{first['id']}"
    assert again == first
    assert _count() == 1
    problem = buyer.post("/requisitions", _body(shop, title="Another"), key=key, status=422)
    assert problem["errors"][0]["field"] == "Idempotency-Key"
    assert _count() == 1
    # Another key is another request.
    buyer.post("/requisitions", _body(shop), status=201)
    assert _count() == 2


def test_concurrent_duplicates_create_one_requisition(app, api, shop):
    """Two identical requests at once: one creates, the other replays it (or, while the first
    still holds the key on SQLite, is told to retry with a 409); never two requisitions."""
    buyer = api("buyer@acme.example")
    key, body = uuid.uuid4().hex, _body(shop)
    answers = []

    def send():
        with app.app_context():
            client = app.test_client()
            response = client.post("/api/v1/requisitions", json=body, headers=buyer.headers(
                {"Idempotency-Key": key}))
            answers.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=send) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(answers) == 3
    assert sorted(code for code, _ in answers)[0] == 201
    assert {code for code, _ in answers} <= {201, 409}
    assert len({body["id"] for code, body in answers if code == 201}) == 1
    assert _count() == 1
    # After the race a retry replays the one that was made.
    replay = buyer.post("/requisitions", body, key=key, status=201)
    assert replay["id"] == next(b["id"] for code, b in answers if code == 201)


@pytest.mark.parametrize(("change", "field"), [
    ({"cost_center_id": "5"}, "cost_center_id"),                       # a string for an id
    ({"colour": "red"}, "colour"),                                      # an unknown field
    ({"submit": "yes"}, "submit"),
    ({"needed_by": "05.12.2026"}, "needed_by"),
    ({"lines": [{"description": "X", "quantity": "1", "unit_price": "12,50"}]}, "lines.0.unit_price"),
    ({"lines": [{"description": "X", "quantity": 2, "unit_price": "12.50"}]}, "lines.0.quantity"),
    ({"lines": [{"description": "X", "quantity": "0", "unit_price": "1"}]}, "lines.0.quantity"),
    ({"lines": [{"description": "X", "quantity": "1.2345", "unit_price": "1"}]}, "lines.0.quantity"),
    ({"lines": [{"description": "X", "quantity": "1", "unit_price": 12.5}]}, "lines.0.unit_price"),
    ({"lines": [{"description": "X", "quantity": "1", "unit_price": "1", "vat_rate": "7"}]}, "lines.0.vat_rate"),
    ({"lines": [{"quantity": "1"}]}, "lines.0.description"),            # neither item nor text
    ({"lines": [{"sku": "W-PAPER", "item_id": 1, "quantity": "1"}]}, "lines.0.sku"),
    ({"lines": [{"sku": "NO-SUCH", "quantity": "1"}]}, "lines.0.sku"),
    ({"lines": [{"item_id": 999999, "quantity": "1"}]}, "lines.0.item_id"),
    ({"lines": [{"description": "X", "quantity": "1", "unit_price": "1", "suggested_supplier_id": 999999}]},
     "lines.0.suggested_supplier_id"),
    ({"lines": []}, "lines"),
    ({"cost_center_id": 999999}, "cost_center_id"),
    ({"title": "   "}, "title"),                                         # the service's rules
    ({"needed_by": "2020-01-31"}, "needed_by"),
    ({"currency": "XYZ"}, "currency"),
])
def test_bad_input_is_a_problem_naming_the_field_and_saves_nothing(api, shop, change, field):
    problem = api("buyer@acme.example").post("/requisitions", _body(shop, **change), status=422)
    assert field in [error["field"] for error in problem["errors"]], problem
    assert _count() == 0


def test_another_companys_references_are_unknown(api, shop):
    body = _body(shop, cost_center_id=shop.globex_cc.id)
    problem = api("buyer@acme.example").post("/requisitions", body, status=422)
    assert problem["errors"][0]["field"] == "cost_center_id"
    assert _count() == 0


def test_an_inactive_cost_centre_is_refused(api, shop):
    problem = api("buyer@acme.example").post(
        "/requisitions", _body(shop, cost_center_id=shop.cc_closed.id), status=422)
    assert problem["errors"][0]["field"] == "cost_center_id"
    assert _count() == 0


def test_an_inactive_item_is_refused_with_its_line(api, shop):
    body = _body(shop, lines=[{"item_id": shop.old_item.id, "quantity": "1"}])
    problem = api("buyer@acme.example").post("/requisitions", body, status=422)
    assert problem["errors"][0]["field"] == "lines.0"
    assert "deactivated" in problem["detail"]
    assert _count() == 0


def test_who_may_not_create_is_refused(api, shop):
    api("approver@acme.example").post("/requisitions", _body(shop), status=403)  # no buyer role
    api("sales@polbud.example").post("/requisitions", _body(shop), status=403)
    api("buyer@acme.example", scopes=["requisitions:read"]).post("/requisitions", _body(shop), status=403)
    api("buyer@acme.example").post("/requisitions", _body(shop), key=False, status=428)
    assert _count() == 0


# ---------------------------------------------------------------- reading


def test_a_buyer_lists_its_own_and_an_approver_everyones(app, api, shop):
    mine = make_draft(app, shop.buyer, shop.cc_it)
    theirs = make_draft(app, shop.buyer2, shop.cc_adm)
    ids = [row["id"] for row in api("buyer@acme.example").get("/requisitions", status=200)["data"]]
    assert ids == [mine]
    approver = api("approver@acme.example")
    assert {row["id"] for row in approver.get("/requisitions", status=200)["data"]} == {mine, theirs}
    assert [r["id"] for r in approver.get(f"/requisitions?requester_id={shop.buyer2.id}")["data"]] == [theirs]
    assert [r["id"] for r in approver.get(f"/requisitions?cost_center_id={shop.cc_it.id}")["data"]] == [mine]
    assert approver.get("/requisitions?status=pending", status=200)["data"] == []
    assert len(approver.get("/requisitions?status=draft", status=200)["data"]) == 2
    # A buyer asking for a colleague's sees none of them.
    assert api("buyer@acme.example").get(f"/requisitions?requester_id={shop.buyer2.id}")["data"] == []


def test_reading_one_follows_the_page_rule(app, api, shop):
    req_id = make_draft(app, shop.buyer, shop.cc_it)
    api("buyer@acme.example").get(f"/requisitions/{req_id}", status=200)
    api("admin@acme.example").get(f"/requisitions/{req_id}", status=200)
    api("buyer2@acme.example").get(f"/requisitions/{req_id}", status=403)  # a colleague's
    api("buyer@globex.example").get(f"/requisitions/{req_id}", status=404)  # another company
    api("sales@polbud.example").get(f"/requisitions/{req_id}", status=403)
    api("sales@polbud.example").get("/requisitions", status=403)
    api("buyer@acme.example").get("/requisitions/999999", status=404)


def test_a_token_without_the_scope_is_refused(app, api, shop):
    req_id = make_draft(app, shop.buyer, shop.cc_it)
    narrow = api("buyer@acme.example", scopes=["catalog:read"])
    problem = narrow.get("/requisitions", status=403)
    assert problem["type"].endswith("insufficient-scope")
    narrow.get(f"/requisitions/{req_id}", status=403)


@pytest.mark.parametrize("query", ["status=lost", "cost_center_id=abc", "limit=0", "limit=500",
                                   "updated_since=2026-01-01T10:00:00", "cursor=garbage", "sort=id"])
def test_bad_filters_are_problems(api, shop, query):
    api("admin@acme.example").get(f"/requisitions?{query}", status=422)


def test_pages_follow_the_cursor_and_updated_since(api, shop):
    bulk_requisitions(shop.org, [shop.buyer, shop.buyer2], [shop.cc_it, shop.cc_adm], 23)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    with as_system():
        for number in range(23):  # each changed a minute after the one before
            db.session.execute(update(Requisition).where(Requisition.number == f"REQ-2020-{number:05d}")
                               .values(updated_at=base + timedelta(minutes=number)))
        db.session.commit()
    admin = api("admin@acme.example")
    seen, cursor, pages = [], None, 0
    while True:
        page = admin.get("/requisitions?limit=10" + (f"&cursor={cursor}" if cursor else ""), status=200)
        seen += [row["number"] for row in page["data"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == [f"REQ-2020-{n:05d}" for n in range(23)]  # oldest change first, no repeats
    since = (base + timedelta(minutes=20)).isoformat()
    recent = admin.get("/requisitions", query_string={"updated_since": since}, status=200)
    assert [row["number"] for row in recent["data"]] == [f"REQ-2020-{n:05d}" for n in (20, 21, 22)]
    # The buyer's own pages hold its own only.
    own = api("buyer@acme.example").get("/requisitions?limit=200", status=200)["data"]
    assert len(own) == 12 and {row["requester_id"] for row in own} == {shop.buyer.id}
