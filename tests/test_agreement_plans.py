"""The price agreement lists read an index that matches their filter and sort (SQLite's EXPLAIN
QUERY PLAN of the statements a page really sends): never a table scan, never a temporary
B-tree. Deterministic: no timing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import Item, PriceAgreement, SupplierLink
from portal.services import agreements
from tests.conftest import as_system
from tests.listdata import captured_selects, next_page, plan

INDEXES = ("ix_price_agreements_org_from", "ix_price_agreements_link_from",
           "ix_price_agreements_org_item_from")


@pytest.fixture
def many(world, app):
    """80 agreements of Acme with Nordwind and Polbud over its items, in successive years."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the plans checked are SQLite's")
    today = agreements.today()
    with as_system():
        links = list(db.session.scalars(select(SupplierLink).where(
            SupplierLink.organization_id == world.acme.id).order_by(SupplierLink.id)))
        items = list(db.session.scalars(select(Item).where(
            Item.organization_id == world.acme.id).order_by(Item.id)))
        for i in range(80):
            link = links[i % len(links)]
            start = today + timedelta(days=-200 + 400 * (i // len(items)))
            db.session.add(PriceAgreement(
                organization_id=world.acme.id, supplier_id=link.supplier_id, link_id=link.id,
                item_id=items[i % len(items)].id, unit_price=Decimal(10 + i), currency=link.currency,
                tiers=[], valid_from=start, valid_to=start + timedelta(days=365)))
        db.session.commit()
    return links


def test_agreement_lists_walk_their_indexes(many, world, login_as):
    admin = login_as(world.user("admin@acme"))
    nordwind = login_as(world.user("sales@nordwind"))
    link = next(lnk for lnk in many if lnk.supplier_id == world.nordwind.id)
    checked = 0
    for client, url in ((admin, "/agreements/"), (admin, f"/agreements/?link={link.id}"),
                        (admin, "/agreements/?state=valid"),
                        (nordwind, f"/agreements/customers/{link.id}")):
        pages = [url, next_page(client.get(url).text)]
        assert all(pages), url
        for page_url in pages:
            for statement, parameters in captured_selects(client, page_url, "FROM price_agreements"):
                text = " | ".join(plan(statement, parameters))
                if "count(*)" not in statement:
                    assert any(name in text for name in INDEXES), f"{page_url}: {text}"
                assert "TEMP B-TREE" not in text, f"{page_url}: {text}"
                assert "SCAN price_agreements" not in text.replace("SCAN price_agreements USING", ""), \
                    f"{page_url}: {text}"
                checked += 1
    assert checked >= 8
