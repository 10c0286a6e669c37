"""The supplier links API: a buyer's suppliers and a supplier's customers, with their terms; the
pages' rules (each side reads its own list only), filters and paging."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from portal.extensions import db
from portal.models import LinkStatus, SupplierLink
from portal.tenancy import system
from tests.factories import make_link, make_org
from tests.listdata import bulk_customers


def _link_id(world, buyer: str, supplier: str) -> int:
    with system(db.session):
        return db.session.scalar(select(SupplierLink.id).where(
            SupplierLink.organization_id == world.orgs[buyer].id,
            SupplierLink.supplier_id == world.orgs[supplier].id))


def test_a_buyer_lists_its_suppliers_with_their_terms(api, world):
    buyer = api("buyer@acme.example")
    rows = buyer.get("/suppliers", status=200)["data"]
    assert [row["supplier"]["name"] for row in rows] == ["Nordwind Supplies", "Polbud"]
    nordwind = rows[0]
    assert nordwind["payment_terms"] == {
        "kind": "discount", "days": 30, "discount_percent": "2", "discount_days": 10,
        "instalments": [], "label": "2% discount within 10 days, net 30 days"}
    assert (nordwind["currency"], nordwind["credit_limit"], nordwind["invoicing"]) == (
        "EUR", "200000.00", "per_order")
    assert nordwind["status"] == "active" and nordwind["buyer"]["id"] == world.acme.id
    assert buyer.get(f"/suppliers/{nordwind['id']}", status=200) == nordwind
    assert api("approver@acme.example").get("/suppliers", status=200)["data"] == rows


def test_the_status_filter(api, world):
    invited = make_org("supplier", name="Invited Ltd")
    blocked = make_org("supplier", name="Blocked Ltd")
    invited_link = make_link(world.acme, invited, status="invited")
    blocked_link = make_link(world.acme, blocked, status="blocked")
    db.session.commit()
    admin = api("admin@acme.example")
    assert [r["id"] for r in admin.get("/suppliers?status=invited")["data"]] == [invited_link.id]
    assert [r["id"] for r in admin.get("/suppliers?status=blocked")["data"]] == [blocked_link.id]
    assert len(admin.get("/suppliers?status=active")["data"]) == 2
    admin.get("/suppliers?status=gone", status=422)


def test_instalment_terms_read_as_parts(api, world):
    from decimal import Decimal

    from portal.domain.terms import PaymentTerms

    supplier = make_org("supplier", name="Parts Ltd")
    link = make_link(world.acme, supplier, payment_terms=PaymentTerms.in_instalments(
        [(Decimal(50), 30), (Decimal(50), 60)]))
    db.session.commit()
    terms = api("admin@acme.example").get(f"/suppliers/{link.id}", status=200)["payment_terms"]
    assert terms["kind"] == "instalments" and terms["days"] == 60
    assert terms["instalments"] == [{"percent": "50", "days": 30}, {"percent": "50", "days": 60}]


def test_suppliers_are_a_buyers_list_and_customers_a_suppliers(api, world):
    link_id = _link_id(world, "acme", "nordwind")
    globex_link = _link_id(world, "globex", "nordwind")
    api("sales@nordwind.example").get("/suppliers", status=403)
    api("sales@nordwind.example").get(f"/suppliers/{link_id}", status=403)
    api("buyer@acme.example").get("/customers", status=403)
    api("buyer@acme.example").get(f"/customers/{link_id}", status=403)
    api("buyer@acme.example").get(f"/suppliers/{globex_link}", status=404)
    api("sales@polbud.example").get(f"/customers/{link_id}", status=404)
    narrow = api("buyer@acme.example", scopes=["catalog:read", "orders:read"])
    narrow.get("/suppliers", status=403)
    narrow.get(f"/suppliers/{link_id}", status=403)
    api("sales@nordwind.example", scopes=["invoices:read"]).get("/customers", status=403)


def test_a_supplier_lists_its_customers(api, world):
    nordwind = api("sales@nordwind.example")
    rows = nordwind.get("/customers", status=200)["data"]
    assert [row["buyer"]["name"] for row in rows] == [world.acme.name, world.globex.name]
    assert {row["supplier"]["id"] for row in rows} == {world.nordwind.id}
    globex = rows[1]
    assert globex["payment_terms"]["label"] == "net 60 days"
    assert nordwind.get(f"/customers/{globex['id']}", status=200) == globex
    # Blocked: still a customer (read only); invited: not yet.
    with system(db.session):
        db.session.get(SupplierLink, rows[0]["id"]).status = LinkStatus.BLOCKED
        db.session.get(SupplierLink, globex["id"]).status = LinkStatus.INVITED
        db.session.commit()
    later = api("sales@nordwind.example")
    (row,) = later.get("/customers")["data"]
    assert row["status"] == "blocked" and row["id"] == rows[0]["id"]
    assert later.get("/customers?status=active")["data"] == []
    later.get(f"/customers/{globex['id']}", status=404)
    later.get("/customers?status=invited", status=422)


@pytest.mark.parametrize("path", ["/suppliers?limit=x", "/suppliers?cursor=zzz",
                                  "/suppliers?updated_since=yesterday"])
def test_bad_filters_are_problems(api, world, path):
    api("admin@acme.example").get(path, status=422)


def test_customer_pages_follow_the_cursor_and_updated_since(api, world):
    bulk_customers(world.polbud, 25)
    base = datetime(2026, 4, 1, tzinfo=UTC)
    with system(db.session):
        links = db.session.scalars(select(SupplierLink).where(
            SupplierLink.supplier_id == world.polbud.id).order_by(SupplierLink.id)).all()
        ids = [link.id for link in links]
        for i, link_id in enumerate(ids):
            db.session.execute(update(SupplierLink.__table__).where(SupplierLink.id == link_id)
                               .values(updated_at=base + timedelta(minutes=i)))
        db.session.commit()
    polbud = api("sales@polbud.example")
    seen, cursor = [], None
    for _ in range(3):
        page = polbud.get("/customers", query_string={"limit": 10, **({"cursor": cursor} if cursor else {})},
                          status=200)
        seen += [row["id"] for row in page["data"]]
        cursor = page["next_cursor"]
    assert cursor is None
    assert seen == ids  # 26 links: Acme's and the 25 new buyers', 5 of them blocked, all customers
    since = (base + timedelta(minutes=24)).isoformat()
    assert [r["id"] for r in polbud.get("/customers", query_string={"updated_since": since})["data"]] == ids[24:]
