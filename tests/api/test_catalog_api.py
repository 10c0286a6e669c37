"""The catalog API: items (list, read, upsert by SKU) and price agreements (the buyer's, and a
supplier's own), with the pages' rules, bad input and paging."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from portal.extensions import db
from portal.models import Item, LinkStatus, SupplierLink
from portal.services import agreements, suppliers
from portal.services.agreements import AgreementFields
from portal.tenancy import system
from tests.conftest import as_system
from tests.factories import acting_for, make_category, make_item
from tests.kit import make_shop
from tests.listdata import bulk_items


@pytest.fixture
def shop(world):
    return make_shop(world)


def _link(buyer, supplier) -> SupplierLink:
    with system(db.session):
        return db.session.scalars(select(SupplierLink).where(
            SupplierLink.organization_id == buyer.id, SupplierLink.supplier_id == supplier.id)).one()


def _agree(shop, supplier, item, price="100.00", *, starts=None, ends=None, tiers=()):
    link = _link(shop.org, supplier)
    with acting_for(shop.org):
        made = agreements.create_agreement(shop.admin, AgreementFields(
            unit_price=Decimal(price), currency="PLN", valid_from=starts or date.today(),
            valid_to=ends, tiers=list(tiers), link_id=link.id, item_sku=item.sku,
            supplier_part_number="P-1", lead_time_days=5))
        db.session.commit()
        return made.id


def _items() -> int:
    with as_system():
        return db.session.scalar(select(func.count()).select_from(Item))


# ---------------------------------------------------------------- items


def test_buyers_list_active_items_and_admins_all(api, shop):
    buyer, admin = api("buyer@acme.example"), api("admin@acme.example")
    listed = {row["sku"] for row in buyer.get("/catalog/items?limit=200", status=200)["data"]}
    assert {"W-PAPER", "W-LAPTOP"} <= listed and "W-FAX" not in listed
    everything = {row["sku"] for row in admin.get("/catalog/items?limit=200")["data"]}
    assert everything == listed | {row["sku"] for row in admin.get("/catalog/items?active=false&limit=200")["data"]}
    assert "W-FAX" in everything
    assert buyer.get("/catalog/items?active=false")["data"] == []
    in_it = admin.get(f"/catalog/items?category_id={shop.cat_it.id}")["data"]
    assert [row["sku"] for row in in_it] == ["W-LAPTOP"]
    (paper,) = admin.get("/catalog/items?sku=W-PAPER")["data"]
    assert (paper["unit"], paper["list_price"], paper["currency"], paper["active"]) == (
        "ream", "18.9000", "PLN", True)
    assert paper["preferred_supplier_id"] == shop.polbud.id


def test_an_item_shows_its_agreed_price_and_agreements(api, shop, world):
    future = _agree(shop, world.nordwind, shop.paper, "15.00", starts=date.today() + timedelta(days=30))
    current = _agree(shop, shop.polbud, shop.paper, "16.50", tiers=[
        agreements.Tier(Decimal(100), Decimal("15.90"))])
    found = api("buyer@acme.example").get(f"/catalog/items/{shop.paper.id}", status=200)
    agreed = found["agreed_price"]
    assert (agreed["agreement_id"], agreed["unit_price"], agreed["state"]) == (current, "16.5000", "valid")
    assert agreed["supplier"]["name"] == shop.polbud.name
    assert agreed["tiers"] == [{"min_quantity": "100", "unit_price": "15.90"}]
    assert [a["agreement_id"] for a in found["agreements"]] == [future, current]
    assert found["category"] is None and found["preferred_supplier"]["id"] == shop.polbud.id


def test_reading_items_follows_the_page_rule(api, shop, world):
    globex_item = make_item(world.globex, "GX-1")
    db.session.commit()
    api("buyer@acme.example").get(f"/catalog/items/{globex_item.id}", status=404)
    api("buyer@acme.example").get(f"/catalog/items/{shop.old_item.id}", status=200)  # as the page
    api("sales@polbud.example").get("/catalog/items", status=403)
    api("sales@polbud.example").get(f"/catalog/items/{shop.paper.id}", status=403)
    narrow = api("buyer@acme.example", scopes=["requisitions:read"])
    narrow.get("/catalog/items", status=403)
    narrow.get(f"/catalog/items/{shop.paper.id}", status=403)


def test_an_admin_upserts_items_by_sku(api, shop):
    admin = api("admin@acme.example")
    before = _items()
    made = admin.post("/catalog/items", {"sku": "API-1", "name": "Stapler", "unit": "pcs",
                                         "list_price": "24.90", "category_id": shop.cat_it.id,
                                         "default_vat_rate": "8"}, status=201)
    assert admin.last.headers["Location"] == f"/api/v1/catalog/items/{made['id']}"
    assert (made["sku"], made["list_price"], made["default_vat_rate"], made["currency"]) == (
        "API-1", "24.9000", "8.00", "PLN")
    changed = admin.post("/catalog/items", {"sku": "api-1", "list_price": "26.00", "active": False},
                         status=200)
    assert changed["id"] == made["id"] and changed["sku"] == "API-1"  # the SKU stays as it was
    assert (changed["name"], changed["list_price"], changed["active"]) == ("Stapler", "26.0000", False)
    assert changed["category_id"] == shop.cat_it.id  # left out: kept
    cleared = admin.post("/catalog/items", {"sku": "API-1", "category_id": None, "active": True},
                         status=200)
    assert cleared["category_id"] is None and cleared["active"] is True
    assert _items() == before + 1
    assert admin.get(f"/catalog/items/{made['id']}", status=200) == cleared


def test_an_upsert_retried_with_its_key_creates_one_item(api, shop):
    admin, key = api("admin@acme.example"), uuid.uuid4().hex
    before = _items()
    first = admin.post("/catalog/items", {"sku": "API-2", "name": "Ruler"}, key=key, status=201)
    again = admin.post("/catalog/items", {"sku": "API-2", "name": "Ruler"}, key=key, status=201)
    assert admin.last.headers["Idempotent-Replayed"] == "true" and again == first
    assert _items() == before + 1


def test_only_a_buyer_admin_changes_the_catalog(api, shop):
    body = {"sku": "API-3", "name": "Glue"}
    before = _items()
    api("buyer@acme.example").post("/catalog/items", body, status=403)
    api("approver@acme.example").post("/catalog/items", body, status=403)
    api("sales@polbud.example").post("/catalog/items", body, status=403)
    api("admin@acme.example", scopes=["catalog:read"]).post("/catalog/items", body, status=403)
    assert _items() == before


@pytest.mark.parametrize(("body", "field"), [
    ({"sku": "API-4", "name": "X", "list_price": "12,50"}, "list_price"),
    ({"sku": "API-4", "name": "X", "list_price": 12.5}, "list_price"),
    ({"sku": "API-4", "name": "X", "colour": "red"}, "colour"),
    ({"sku": "API-4", "name": "X", "active": "yes"}, "active"),
    ({"sku": 4, "name": "X"}, "sku"),
    ({"name": "X"}, "sku"),
    ({"sku": "API 4", "name": "X"}, "sku"),
    ({"sku": "API-4"}, "name"),                                   # a new item needs a name
    ({"sku": "API-4", "name": "X", "unit": "bucket"}, "unit"),
    ({"sku": "API-4", "name": "X", "default_vat_rate": "7"}, "default_vat_rate"),
    ({"sku": "API-4", "name": "X", "currency": "XYZ"}, "currency"),
    ({"sku": "API-4", "name": "X", "category_id": "1"}, "category_id"),
    ({"sku": "API-4", "name": "X", "category_id": 999999}, "category_id"),
    ({"sku": "API-4", "name": "X", "preferred_supplier_id": 999999}, "preferred_supplier_id"),
    ({"sku": "W-PAPER", "unit": "bucket"}, "unit"),                  # an update too
])
def test_bad_item_input_is_a_problem_naming_the_field(api, shop, body, field):
    before = _items()
    problem = api("admin@acme.example").post("/catalog/items", body, status=422)
    assert field in [error["field"] for error in problem["errors"]], problem
    assert _items() == before


def test_another_companys_category_is_unknown(api, shop, world):
    other = make_category(world.globex, "GX-CAT")
    db.session.commit()
    problem = api("admin@acme.example").post(
        "/catalog/items", {"sku": "API-5", "name": "X", "category_id": other.id}, status=422)
    assert problem["errors"][0]["field"] == "category_id"


def test_item_pages_follow_the_cursor_and_updated_since(api, shop):
    bulk_items(shop.org, [shop.cat_it], 30)
    base = datetime(2026, 3, 1, tzinfo=UTC)
    with as_system():
        db.session.execute(update(Item).where(Item.organization_id == shop.org.id)
                           .values(updated_at=base - timedelta(days=1)))
        for i in range(30):
            db.session.execute(update(Item).where(Item.sku == f"BULK-{i:05d}")
                               .values(updated_at=base + timedelta(minutes=i)))
        db.session.commit()
    admin = api("admin@acme.example")
    since = {"updated_since": base.isoformat(), "limit": 12}
    seen, cursor = [], None
    for _ in range(3):
        page = admin.get("/catalog/items", query_string={**since, **({"cursor": cursor} if cursor else {})},
                         status=200)
        seen += [row["sku"] for row in page["data"]]
        cursor = page["next_cursor"]
    assert cursor is None
    assert seen == [f"BULK-{i:05d}" for i in range(30)]


# ---------------------------------------------------------------- agreements


def test_a_buyer_lists_its_agreements_with_filters(api, shop, world):
    paper = _agree(shop, shop.polbud, shop.paper)
    laptop = _agree(shop, world.nordwind, shop.laptop, "4500.00")
    ended = _agree(shop, world.nordwind, shop.paper, "17.00", starts=date(2025, 1, 1),
                   ends=date(2025, 12, 31))
    buyer = api("buyer@acme.example")

    def ids(query=""):
        return [row["id"] for row in buyer.get(f"/agreements?{query}", status=200)["data"]]

    assert ids() == [paper, laptop, ended]
    assert ids(f"supplier_id={world.nordwind.id}") == [laptop, ended]
    assert ids(f"item_id={shop.paper.id}") == [paper, ended]
    assert ids("active=true") == [paper, laptop]
    assert ids("active=false") == [ended]
    assert ids("state=expired") == [ended]
    row = buyer.get(f"/agreements/{laptop}", status=200)
    assert row["item"] == {"id": shop.laptop.id, "sku": "W-LAPTOP", "name": "Laptop 14 cali", "unit": "pcs"}
    assert row["buyer"]["id"] == shop.org.id and row["supplier"]["id"] == world.nordwind.id
    assert (row["unit_price"], row["state"], row["lead_time_days"]) == ("4500.0000", "valid", 5)
    assert api("buyer@globex.example").get("/agreements")["data"] == []
    api("buyer@globex.example").get(f"/agreements/{laptop}", status=404)


def test_a_supplier_reads_the_agreements_addressed_to_it(api, shop, world):
    own = _agree(shop, world.nordwind, shop.laptop, "4500.00")
    other = _agree(shop, shop.polbud, shop.paper)
    nordwind = api("sales@nordwind.example")
    (row,) = nordwind.get("/agreements", status=200)["data"]
    assert row["id"] == own and row["item"]["sku"] == "W-LAPTOP"  # the buyer's item, named
    assert row["buyer"]["id"] == shop.org.id
    assert nordwind.get(f"/agreements/{own}", status=200) == row
    nordwind.get(f"/agreements/{other}", status=404)
    assert nordwind.get(f"/agreements?buyer_id={world.globex.id}")["data"] == []
    nordwind.get("/agreements", status=200)
    api("sales@nordwind.example", scopes=["orders:read"]).get("/agreements", status=403)
    # Blocked: still read; invited (not yet a customer): nothing.
    link = _link(shop.org, world.nordwind)
    with acting_for(shop.org):
        suppliers.block(db.session.get(SupplierLink, link.id), actor=shop.admin, comment="Review")
        db.session.commit()
    assert [r["id"] for r in api("sales@nordwind.example").get("/agreements")["data"]] == [own]
    with system(db.session):
        db.session.get(SupplierLink, link.id).status = LinkStatus.INVITED
        db.session.commit()
    late = api("sales@nordwind.example")
    assert late.get("/agreements")["data"] == []
    late.get(f"/agreements/{own}", status=404)


@pytest.mark.parametrize("query", ["active=maybe", "state=soon", "item_id=x", "supplier_id=-1", "q=paper"])
def test_bad_agreement_filters_are_problems(api, shop, query):
    problem = api("buyer@acme.example").get(f"/agreements?{query}", status=422)
    assert problem["errors"][0]["field"] == query.split("=")[0]
