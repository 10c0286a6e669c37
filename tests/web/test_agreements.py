"""Price agreement pages: the buyer's list, form, detail and end; the supplier's read-only list;
the agreed price in the catalog, on the supplier page and as a requisition line's default."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from portal.domain.agreements import Tier
from portal.extensions import db
from portal.models import CostCenter, Item, PriceAgreement, SupplierLink
from portal.services import agreements, requisitions
from portal.services.agreements import AgreementFields
from tests.conftest import as_org, as_system, csrf_token_from
from tests.kit import count_queries

D = Decimal
HTMX = {"HX-Request": "true"}


def link_of(buyer, supplier) -> SupplierLink:
    with as_system():
        return db.session.scalars(select(SupplierLink).where(
            SupplierLink.organization_id == buyer.id, SupplierLink.supplier_id == supplier.id)).one()


def item_of(org, sku) -> Item:
    with as_system():
        return db.session.scalars(select(Item).where(Item.organization_id == org.id,
                                                     Item.sku == sku)).one()


def count() -> int:
    with as_system():
        return db.session.scalar(select(func.count(PriceAgreement.id)))


def make(world, buyer="acme", supplier="nordwind", sku="MRO-LOZ-6204", price="3.10",
         currency="EUR", start=0, end=None, tiers=()) -> int:
    org = getattr(world, buyer)
    today = agreements.today()
    with as_org(org):
        made = agreements.create_agreement(world.user(f"admin@{buyer}"), AgreementFields(
            link_id=link_of(org, getattr(world, supplier)).id, item_sku=sku, unit_price=D(price),
            currency=currency, valid_from=today + timedelta(days=start),
            valid_to=None if end is None else today + timedelta(days=end),
            tiers=[Tier(D(q), D(p)) for q, p in tiers], supplier_part_number="PN-1"))
        db.session.commit()
        return made.id


def form_data(page_html: str, **values) -> dict:
    data = {"csrf_token": csrf_token_from(page_html), "currency": "EUR",
            "valid_from": agreements.today().isoformat(), "unit_price": "3,10"}
    data.update(values)
    return data


@pytest.fixture
def admin(world, login_as):
    return login_as(world.user("admin@acme"))


def test_admin_creates_an_agreement_with_tiers(world, admin):
    link = link_of(world.acme, world.nordwind)
    item = item_of(world.acme, "MRO-LOZ-6204")
    page = admin.get(f"/agreements/new?link={link.id}&item={item.id}")
    assert page.status_code == 200
    assert 'value="MRO-LOZ-6204"' in page.text
    response = admin.post("/agreements/new", data=form_data(
        page.text, link_id=str(link.id), item_sku="MRO-LOZ-6204", tier_qty_1="100",
        tier_price_1="2,95", lead_time_days="10", supplier_part_number="6204-NW"))
    assert response.status_code == 302, response.text
    with as_system():
        saved = db.session.scalars(select(PriceAgreement)).one()
    assert saved.unit_price == D("3.1") and saved.tier_list == [Tier(D("100"), D("2.95"))]
    detail = admin.get(response.headers["Location"])
    assert detail.status_code == 200 and "6204-NW" in detail.text


@pytest.mark.parametrize("values", [
    {"unit_price": "0"},
    {"unit_price": "-3"},
    {"unit_price": "abc"},
    {"unit_price": "1e30"},
    {"unit_price": "NaN"},
    {"valid_from": "2026-13-45"},
    {"valid_from": ""},
    {"valid_to": "1999-01-01"},
    {"link_id": "x"},
    {"link_id": "99999999999"},
    {"item_sku": ""},
    {"item_sku": "NO-SUCH-SKU"},
    {"lead_time_days": "1e9"},
    {"lead_time_days": "-1"},
    {"tier_qty_1": "5"},
    {"tier_qty_1": "1", "tier_price_1": "3"},
    {"tier_qty_1": "50", "tier_price_1": "3", "tier_qty_2": "10", "tier_price_2": "2"},
    {"tier_qty_1": "abc", "tier_price_1": "3"},
    {"currency": "ZZZ"},
    {"supplier_part_number": "x" * 61},
])
def test_bad_input_answers_422_and_saves_nothing(world, admin, values):
    link = link_of(world.acme, world.nordwind)
    page = admin.get("/agreements/new")
    data = form_data(page.text, link_id=str(link.id), item_sku="MRO-LOZ-6204")
    data.update(values)
    response = admin.post("/agreements/new", data=data)
    assert response.status_code == 422
    assert count() == 0


def test_an_overlap_is_refused_with_a_clear_message(world, admin):
    make(world, start=-10)
    link = link_of(world.acme, world.nordwind)
    page = admin.get("/agreements/new")
    response = admin.post("/agreements/new", data=form_data(
        page.text, link_id=str(link.id), item_sku="MRO-LOZ-6204"))
    assert response.status_code == 422
    assert "Nordwind Supplies" in response.text and "MRO-LOZ-6204" in response.text
    assert count() == 1


def test_edit_and_end(world, admin):
    agreement_id = make(world, start=-3)
    page = admin.get(f"/agreements/{agreement_id}/edit")
    assert page.status_code == 200
    response = admin.post(f"/agreements/{agreement_id}/edit", data=form_data(
        page.text, unit_price="2,99", valid_from=(agreements.today() - timedelta(days=3)).isoformat()))
    assert response.status_code == 302
    assert admin.post(f"/agreements/{agreement_id}/edit", data=form_data(
        page.text, unit_price="-1")).status_code == 422
    detail = admin.get(f"/agreements/{agreement_id}")
    response = admin.post(f"/agreements/{agreement_id}/end",
                          data={"csrf_token": csrf_token_from(detail.text)})
    assert response.status_code == 302
    with as_system():
        saved = db.session.get(PriceAgreement, agreement_id)
        assert saved.unit_price == D("2.99") and saved.valid_to == agreements.today()


def test_ending_a_future_agreement_is_refused(world, admin):
    agreement_id = make(world, start=5)
    detail = admin.get(f"/agreements/{agreement_id}")
    assert 'data-testid="end-agreement"' not in detail.text
    response = admin.post(f"/agreements/{agreement_id}/end",
                          data={"csrf_token": csrf_token_from(detail.text)})
    assert response.status_code in (302, 403)
    with as_system():
        assert db.session.get(PriceAgreement, agreement_id).valid_to is None


def test_lists_filter_and_htmx_fragment(world, admin):
    make(world, start=-30, end=-1)
    make(world, start=0, end=10)
    make(world, buyer="acme", supplier="polbud", sku="MRO-OLEJ-HLP46", price="299", currency="PLN")
    link = link_of(world.acme, world.polbud)
    assert admin.get("/agreements/").text.count('data-testid="agreement-row"') == 3
    assert admin.get("/agreements/?state=expired").text.count('data-testid="agreement-row"') == 1
    only = admin.get(f"/agreements/?link={link.id}", headers=HTMX)
    assert "<html" not in only.text and only.text.count('data-testid="agreement-row"') == 1
    assert admin.get("/agreements/?link=abc").status_code == 422
    assert admin.get("/agreements/?cursor=!!").status_code == 422
    assert admin.get("/agreements/?cursor=abc").status_code == 422
    supplier_page = admin.get(f"/suppliers/{link.id}")
    assert 'data-testid="link-agreements"' in supplier_page.text and "MRO-OLEJ-HLP46" in supplier_page.text


def test_buyers_read_but_do_not_manage(world, login_as):
    agreement_id = make(world)
    buyer = login_as(world.user("buyer@acme"))
    assert buyer.get("/agreements/").status_code == 200
    detail = buyer.get(f"/agreements/{agreement_id}")
    assert detail.status_code == 200 and 'data-testid="edit-agreement"' not in detail.text
    assert buyer.get("/agreements/new").status_code == 403
    assert buyer.get(f"/agreements/{agreement_id}/edit").status_code == 403


def test_another_company_gets_404(world, login_as):
    agreement_id = make(world)
    globex = login_as(world.user("admin@globex"))
    assert globex.get(f"/agreements/{agreement_id}").status_code == 404
    assert globex.get(f"/agreements/{agreement_id}/edit").status_code == 404
    assert globex.post(f"/agreements/{agreement_id}/end").status_code == 404
    assert "MRO-LOZ-6204" not in globex.get("/agreements/").text


def test_the_supplier_reads_its_own_agreements_only(world, login_as):
    make(world)
    make(world, supplier="polbud", sku="MRO-OLEJ-HLP46", price="299", currency="PLN")
    make(world, buyer="globex", sku="GX-DOCK-USBC", price="175")
    nordwind = login_as(world.user("sales@nordwind"))
    own = link_of(world.acme, world.nordwind)
    page = nordwind.get(f"/agreements/customers/{own.id}")
    assert page.status_code == 200
    assert "MRO-LOZ-6204" in page.text and "PN-1" in page.text
    assert "MRO-OLEJ-HLP46" not in page.text and "GX-DOCK-USBC" not in page.text
    assert 'data-testid="customer-agreements"' in nordwind.get(f"/supplier/customers/{own.id}").text
    assert nordwind.get(f"/agreements/customers/{link_of(world.acme, world.polbud).id}").status_code == 404
    assert nordwind.get("/agreements/").status_code == 403


def test_catalog_shows_the_agreed_price_valid_today(world, login_as):
    make(world, supplier="polbud", sku="MRO-OLEJ-HLP46", price="299", currency="PLN")
    make(world, sku="IT-MON-27", price="259", start=3)
    buyer = login_as(world.user("buyer@acme"))
    page = buyer.get("/catalog/?q=MRO-OLEJ")
    assert "Polbud" in page.text and "299" in page.text
    future = buyer.get("/catalog/?q=IT-MON-27")
    assert "259" not in future.text
    item = item_of(world.acme, "MRO-OLEJ-HLP46")
    detail = buyer.get(f"/catalog/{item.id}")
    assert 'data-testid="item-agreements"' in detail.text and "299" in detail.text


def test_a_catalog_line_defaults_to_the_agreed_price(world, login_as):
    make(world, supplier="polbud", sku="MRO-OLEJ-HLP46", price="287.5", currency="PLN",
         tiers=[("10", "280")])
    buyer_user = world.user("buyer@acme")
    with as_org(world.acme):
        cost_center = db.session.scalars(select(CostCenter).where(CostCenter.is_active.is_(True))).first()
        req = requisitions.create_requisition(buyer_user, title="Olej", cost_center=cost_center)
        db.session.commit()
        req_id = req.id
    item = item_of(world.acme, "MRO-OLEJ-HLP46")
    buyer = login_as(buyer_user)
    form = buyer.get(f"/requisitions/{req_id}/lines/new?item_id={item.id}", headers=HTMX)
    assert form.status_code == 200
    assert re.search(r'name="unit_price"[^>]*value="287[,.]50"', form.text), form.text
    assert re.search(rf'<option selected value="{world.polbud.id}"|<option value="{world.polbud.id}" selected',
                     form.text), form.text


def _statements(client, url) -> int:
    with count_queries() as statements:
        assert client.get(url).status_code == 200, url
    return len(statements)


def _many(world, n: int, first: int = 0) -> None:
    """n agreements over Acme's items with both suppliers, in successive years."""
    with as_system():
        skus = [i.sku for i in db.session.scalars(select(Item).where(
            Item.organization_id == world.acme.id, Item.is_active.is_(True)).order_by(Item.sku))]
    for i in range(first, first + n):
        sku = skus[i % len(skus)]
        year = i // len(skus)
        make(world, sku=sku, price=str(10 + i), start=-10 + 366 * year, end=-10 + 366 * year + 365)


def test_lists_cost_the_same_statements_at_1x_and_3x(world, login_as):
    admin = login_as(world.user("admin@acme"))
    nordwind = login_as(world.user("sales@nordwind"))
    link = link_of(world.acme, world.nordwind)
    urls = [(admin, "/agreements/"), (admin, f"/agreements/?link={link.id}&state=valid"),
            (admin, "/catalog/"), (admin, f"/suppliers/{link.id}"),
            (nordwind, f"/agreements/customers/{link.id}")]
    _many(world, 30)  # more than a page (25): the count and the "Next" link are in both
    first = [_statements(c, u) for c, u in urls]
    _many(world, 60, first=30)
    second = [_statements(c, u) for c, u in urls]
    assert first == second, (first, second)
    assert max(second) <= 14, second
