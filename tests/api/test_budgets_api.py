"""The budgets API: the budget pages' rule (admins and approvers), filters, balances from the
ledger's counters, paging."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import update

from portal.extensions import db
from portal.models import Budget
from tests.conftest import as_system
from tests.factories import make_budget, make_cost_center
from tests.kit import make_shop
from tests.listdata import bulk_budgets


@pytest.fixture
def shop(world):
    return make_shop(world)


def test_an_approved_requisition_shows_in_the_budgets_balances(api, shop):
    budget = make_budget(shop.cc_it, "50000", actor=shop.admin)
    db.session.commit()
    # No approval policy: submitting approves at once and reserves the net total.
    made = api("buyer@acme.example").post("/requisitions", {
        "title": "Chairs", "cost_center_id": shop.cc_it.id, "submit": True,
        "lines": [{"description": "Chair", "quantity": "4", "unit_price": "250.00"}]}, status=201)
    assert made["status"] == "approved"
    assert made["budget"] == {"budget_id": budget.id, "name": budget.name, "currency": "PLN",
                              "amount": "50000.00", "available": "49000.00", "held": "1000.00"}
    found = api("admin@acme.example").get(f"/budgets/{budget.id}", status=200)
    assert (found["amount"], found["reserved"], found["committed"], found["actual"]) == (
        "50000.00", "1000.00", "0.00", "0.00")
    assert (found["consumed"], found["available"]) == ("1000.00", "49000.00")
    assert found["cost_center"] == {"id": shop.cc_it.id, "code": "W-IT", "name": "Dział IT"}
    assert found["period_kind"] == "year" and found["status"] == "open"
    assert found["starts_on"] == f"{date.today().year}-01-01"
    assert api("approver@acme.example").get(f"/budgets/{budget.id}", status=200) == found


def test_filters(api, shop):
    this_year = date.today().year
    it = make_budget(shop.cc_it, actor=shop.admin)
    adm_q1 = make_budget(shop.cc_adm, period="quarter", index=1, year=2025, actor=shop.admin)
    db.session.commit()
    admin = api("admin@acme.example")

    def ids(query=""):
        return [row["id"] for row in admin.get(f"/budgets?{query}", status=200)["data"]]

    assert ids() == [it.id, adm_q1.id]
    assert ids(f"cost_center_id={shop.cc_adm.id}") == [adm_q1.id]
    assert ids("year=2025") == [adm_q1.id]
    assert ids(f"year={this_year}") == [it.id]
    assert ids("period_kind=quarter") == [adm_q1.id]
    assert ids("status=closed") == []


def test_only_admins_and_approvers_read_budgets(api, shop, world):
    budget = make_budget(shop.cc_it, actor=shop.admin)
    globex = make_budget(make_cost_center(world.globex, "GX-B"), actor=world.user("admin@globex"))
    db.session.commit()
    api("buyer@acme.example").get("/budgets", status=403)
    api("buyer@acme.example").get(f"/budgets/{budget.id}", status=403)
    api("sales@polbud.example").get("/budgets", status=403)
    api("sales@polbud.example").get(f"/budgets/{budget.id}", status=403)
    api("admin@acme.example").get(f"/budgets/{globex.id}", status=404)
    assert [b["id"] for b in api("admin@globex.example").get("/budgets")["data"]] == [globex.id]
    narrow = api("admin@acme.example", scopes=["catalog:read", "suppliers:read"])
    narrow.get("/budgets", status=403)
    narrow.get(f"/budgets/{budget.id}", status=403)
    # Budgets belong to the requisitions area.
    api("admin@acme.example", scopes=["requisitions:read"]).get("/budgets", status=200)


@pytest.mark.parametrize("query", ["year=abc", "year=1999", "period_kind=week", "status=gone",
                                   "cost_center_id=x", "limit=201"])
def test_bad_filters_are_problems_naming_the_field(api, shop, query):
    problem = api("admin@acme.example").get(f"/budgets?{query}", status=422)
    assert problem["errors"][0]["field"] == query.split("=")[0]


def test_pages_follow_the_cursor_and_updated_since(api, shop):
    bulk_budgets(shop.org, [shop.cc_it, shop.cc_adm], 25)
    base = datetime(2026, 2, 1, tzinfo=UTC)
    with as_system():
        names = [f"Bulk {i}" for i in range(25)]
        for i, name in enumerate(names):
            db.session.execute(update(Budget).where(Budget.name == name)
                               .values(updated_at=base + timedelta(hours=i)))
        db.session.commit()
    admin = api("admin@acme.example")
    seen, cursor = [], None
    for _ in range(3):
        page = admin.get("/budgets", query_string={"limit": 10, **({"cursor": cursor} if cursor else {})},
                         status=200)
        seen += [row["name"] for row in page["data"]]
        cursor = page["next_cursor"]
    assert cursor is None
    assert seen == names
    recent = admin.get("/budgets", query_string={"updated_since": (base + timedelta(hours=23)).isoformat()})
    assert [row["name"] for row in recent["data"]] == ["Bulk 23", "Bulk 24"]
