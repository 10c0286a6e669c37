"""Price agreement services: create, change, end, list; overlaps, bad input, isolation."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from portal.domain.agreements import Tier
from portal.errors import PermissionDenied, ValidationProblem
from portal.extensions import db
from portal.models import AuditEvent, Item, LinkStatus, PriceAgreement, SupplierLink
from portal.services import agreements, suppliers
from portal.services.agreements import AgreementFields
from portal.services.catalog import FieldProblem
from tests.conftest import as_org, as_system

D = Decimal


def link_of(buyer, supplier) -> SupplierLink:
    with as_system():
        return db.session.scalars(select(SupplierLink).where(
            SupplierLink.organization_id == buyer.id, SupplierLink.supplier_id == supplier.id)).one()


def count() -> int:
    with as_system():
        return db.session.scalar(select(func.count(PriceAgreement.id)))


def fields(link, sku="MRO-LOZ-6204", price="3.10", currency="EUR", start=0, end=None, **extra):
    today = agreements.today()
    return AgreementFields(
        link_id=link.id, item_sku=sku, unit_price=D(price), currency=currency,
        valid_from=today + timedelta(days=start),
        valid_to=None if end is None else today + timedelta(days=end), **extra)


@pytest.fixture
def acme(world):
    with as_org(world.acme):
        yield world.user("admin@acme")


def test_create_agreement_saves_it_with_tiers_and_an_event(world, acme):
    link = link_of(world.acme, world.nordwind)
    made = agreements.create_agreement(acme, fields(
        link, tiers=[Tier(D("100"), D("2.95")), Tier(D("500"), D("2.8"))],
        supplier_part_number="  6204  NW ", lead_time_days=10))
    db.session.commit()
    db.session.expire_all()
    saved = db.session.get(PriceAgreement, made.id)
    assert saved.organization_id == world.acme.id and saved.supplier_id == world.nordwind.id
    assert saved.unit_price == D("3.1000") and saved.currency == "EUR"
    assert saved.tier_list == [Tier(D("100"), D("2.95")), Tier(D("500"), D("2.8"))]
    assert saved.supplier_part_number == "6204 NW" and saved.lead_time_days == 10
    assert saved.created_by_id == acme.id
    event = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "agreement.created", AuditEvent.object_id == made.id)).one()
    assert event.supplier_id == world.nordwind.id


def test_an_overlapping_agreement_is_refused_with_nothing_saved(world, acme):
    link = link_of(world.acme, world.nordwind)
    agreements.create_agreement(acme, fields(link, start=-10, end=30))
    db.session.commit()
    before = count()
    with pytest.raises(FieldProblem, match="already has an agreement"):
        agreements.create_agreement(acme, fields(link, start=30, end=None))
    db.session.rollback()
    assert count() == before
    # Another currency, or the day after the end, is fine.
    agreements.create_agreement(acme, fields(link, currency="PLN", start=0))
    agreements.create_agreement(acme, fields(link, start=31))
    assert count() == before + 2


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"price": "0"}, "unit_price", "more than zero"),
    ({"price": "-1"}, "unit_price", "more than zero"),
    ({"start": 5, "end": 4}, "valid_to", "before the start"),
    ({"sku": "NO-SUCH"}, "item_sku", "no active catalog item"),
    ({"sku": "IT-MON-24"}, "item_sku", "no active catalog item"),  # inactive
    ({"currency": "XXX"}, "currency", "currency"),
    ({"tiers": [Tier(D("10"), D("3")), Tier(D("5"), D("2"))]}, "tiers", "go up"),
    ({"lead_time_days": 5000}, "lead_time_days", "lead time"),
])
def test_bad_input_is_refused_with_a_message_beside_its_field(world, acme, change, field, message):
    link = link_of(world.acme, world.nordwind)
    before = count()
    with pytest.raises(FieldProblem, match=message) as caught:
        agreements.create_agreement(acme, fields(link, **change))
    assert caught.value.field == field
    db.session.rollback()
    assert count() == before


def test_only_active_links_get_agreements(world, acme):
    link = link_of(world.acme, world.nordwind)
    suppliers.block(link, actor=acme, comment="review")
    with pytest.raises(FieldProblem, match="active suppliers only"):
        agreements.create_agreement(acme, fields(link))
    db.session.rollback()


def test_another_companys_link_is_refused(world, acme):
    globex_link = link_of(world.globex, world.nordwind)
    with pytest.raises(FieldProblem, match="Choose one of your suppliers"):
        agreements.create_agreement(acme, fields(globex_link))


def test_a_buyer_or_approver_may_not_manage_agreements(world):
    link = link_of(world.acme, world.nordwind)
    with as_org(world.acme):
        for email in ("buyer@acme", "approver@acme"):
            with pytest.raises(PermissionDenied):
                agreements.create_agreement(world.user(email), fields(link))


def test_update_and_end_record_what_changed(world, acme):
    link = link_of(world.acme, world.nordwind)
    made = agreements.create_agreement(acme, fields(link, start=-5))
    agreements.update_agreement(acme, made, fields(link, price="2.99", start=-5, lead_time_days=3))
    agreements.end_agreement(made, actor=acme)
    db.session.commit()
    assert made.unit_price == D("2.99") and made.valid_to == agreements.today()
    actions = [e.action for e in db.session.scalars(select(AuditEvent).where(
        AuditEvent.object_type == "PriceAgreement", AuditEvent.object_id == made.id)
        .order_by(AuditEvent.id))]
    assert actions == ["agreement.created", "agreement.updated", "agreement.ended"]
    with pytest.raises(ValidationProblem, match="already ended"):
        agreements.end_agreement(made, actor=acme)


def test_update_refuses_overlap_with_another_agreement(world, acme):
    link = link_of(world.acme, world.nordwind)
    agreements.create_agreement(acme, fields(link, start=0, end=10))
    later = agreements.create_agreement(acme, fields(link, start=20, end=30))
    with pytest.raises(FieldProblem, match="already has an agreement"):
        agreements.update_agreement(acme, later, fields(link, start=5, end=30))
    db.session.rollback()


def test_a_future_agreement_cannot_be_ended(world, acme):
    link = link_of(world.acme, world.nordwind)
    made = agreements.create_agreement(acme, fields(link, start=3))
    with pytest.raises(ValidationProblem, match="not started"):
        agreements.end_agreement(made, actor=acme)


def test_agreed_prices_for_a_page_of_items_in_one_query(world, acme):
    polbud = link_of(world.acme, world.polbud)
    nordwind = link_of(world.acme, world.nordwind)
    agreements.create_agreement(acme, fields(polbud, sku="MRO-OLEJ-HLP46", price="299", currency="PLN"))
    agreements.create_agreement(acme, fields(nordwind, sku="MRO-OLEJ-HLP46", price="60", currency="EUR"))
    agreements.create_agreement(acme, fields(nordwind, sku="MRO-LOZ-6204", price="3.1", start=-30, end=-1))
    agreements.create_agreement(acme, fields(nordwind, sku="IT-MON-27", price="259", start=5))
    db.session.commit()
    items = list(db.session.scalars(select(Item).where(Item.organization_id == world.acme.id)))
    statements = []

    from sqlalchemy import event
    def count_statement(*_args):
        statements.append(1)
    event.listen(db.engine, "before_cursor_execute", count_statement)
    try:
        found = agreements.agreed_prices(items)
    finally:
        event.remove(db.engine, "before_cursor_execute", count_statement)
    assert len(statements) == 1
    by_sku = {i.sku: found.get(i.id) for i in items}
    # The item's own currency wins (PLN), expired and future ones do not count.
    assert by_sku["MRO-OLEJ-HLP46"].unit_price == D("299") and by_sku["MRO-OLEJ-HLP46"].supplier.name == "Polbud"
    assert by_sku["MRO-LOZ-6204"] is None
    assert by_sku["IT-MON-27"] is None


def test_agreed_price_for_a_quantity_uses_the_tier(world, acme):
    link = link_of(world.acme, world.polbud)
    agreements.create_agreement(acme, fields(link, sku="MRO-OLEJ-HLP46", price="299", currency="PLN",
                                             tiers=[Tier(D("10"), D("289"))]))
    item = db.session.scalars(select(Item).where(Item.sku == "MRO-OLEJ-HLP46")).one()
    assert agreements.agreed_price(item, "PLN")[0] == D("299")
    assert agreements.agreed_price(item, "PLN", quantity=D("12"))[0] == D("289")
    assert agreements.agreed_price(item, "EUR") is None


def test_a_blocked_suppliers_agreement_no_longer_applies(world, acme):
    link = link_of(world.acme, world.polbud)
    agreements.create_agreement(acme, fields(link, sku="MRO-OLEJ-HLP46", price="299", currency="PLN"))
    suppliers.block(link, actor=acme, comment="review")
    item = db.session.scalars(select(Item).where(Item.sku == "MRO-OLEJ-HLP46")).one()
    assert agreements.agreed_prices([item]) == {}


def test_tenant_isolation_another_company_and_suppliers(world, acme):
    nordwind = link_of(world.acme, world.nordwind)
    polbud = link_of(world.acme, world.polbud)
    to_nordwind = agreements.create_agreement(acme, fields(nordwind))
    to_polbud = agreements.create_agreement(acme, fields(polbud, sku="MRO-OLEJ-HLP46", price="299",
                                                         currency="PLN"))
    db.session.commit()
    ids = to_nordwind.id, to_polbud.id
    db.session.expire_all()
    with as_org(world.globex):
        assert agreements.find_agreement(ids[0]) is None
        assert agreements.list_agreements().items == []
    with as_org(world.nordwind):
        # The supplier reads its own agreements through its link, never Polbud's.
        page = agreements.list_for_customer(nordwind)
        assert [a.id for a in page.items] == [ids[0]]
        assert db.session.get(PriceAgreement, ids[1]) is None
        labels = agreements.item_labels(page.items)
        assert labels[page.items[0].item_id].sku == "MRO-LOZ-6204"
        assert agreements.list_for_customer(polbud).items == []


def test_a_supplier_cannot_write_an_agreement(world, acme):
    from portal.errors import TenantViolation

    made = agreements.create_agreement(acme, fields(link_of(world.acme, world.nordwind)))
    db.session.commit()
    made_id = made.id
    db.session.expire_all()
    with as_org(world.nordwind):
        agreement = db.session.get(PriceAgreement, made_id)
        agreement.unit_price = D("1")
        with pytest.raises(TenantViolation):
            db.session.flush()
        db.session.rollback()


def test_list_filters_by_link_and_state(world, acme):
    link = link_of(world.acme, world.nordwind)
    agreements.create_agreement(acme, fields(link, start=-30, end=-1))
    agreements.create_agreement(acme, fields(link, start=0, end=10))
    agreements.create_agreement(acme, fields(link, start=11))
    db.session.commit()
    assert len(agreements.list_agreements(link_id=link.id).items) == 3
    for state in ("valid", "future", "expired"):
        assert len(agreements.list_agreements(state=state).items) == 1
    assert link.status == LinkStatus.ACTIVE


def test_a_list_filter_offers_a_bounded_number_of_suppliers_and_always_the_chosen_one(world):
    """A company with thousands of suppliers must not load them all for a list's filter (it
    took the lists from 15 ms to 400 ms at a million requisitions): at most `limit` links, by
    name, `more` set, and the selected supplier always offered."""
    with as_org(world.acme):
        admin = world.user("admin@acme")
        every, more = agreements.filter_links(admin)
        assert not more and len(every) >= 2
        assert [lk.name.casefold() for lk in every] == sorted(lk.name.casefold() for lk in every)
        few, more = agreements.filter_links(admin, limit=1)
        assert more and len(few) == 1
        last = every[-1] if every[-1].id != few[0].id else every[0]
        chosen, _ = agreements.filter_links(admin, limit=1, selected=last.supplier_id)
        assert {lk.id for lk in chosen} == {few[0].id, last.id}
        by_id, _ = agreements.filter_links(admin, limit=1, selected=last.id, by="id")
        assert last.id in {lk.id for lk in by_id}


def test_today_is_the_companys_day_not_the_utc_date(world, acme, monkeypatch):
    """At 23:30 UTC on 31 December it is already 1 January in Warsaw: an agreement starting on
    1 January applies and one that ended on 31 December no longer does."""
    from datetime import UTC, date, datetime

    from portal.services import clock

    monkeypatch.setattr(clock, "now", lambda: datetime(2026, 12, 31, 23, 30, tzinfo=UTC))
    assert agreements.today() == date(2027, 1, 1)
    item = db.session.scalars(select(Item).where(Item.sku == "MRO-LOZ-6204")).one()
    link = link_of(world.acme, world.nordwind)
    ended = agreements.create_agreement(acme, AgreementFields(
        link_id=link.id, item_sku=item.sku, unit_price=D("3.10"), currency=item.currency,
        valid_from=date(2026, 12, 1), valid_to=date(2026, 12, 31)))
    starting = agreements.create_agreement(acme, AgreementFields(
        link_id=link.id, item_sku=item.sku, unit_price=D("2.90"), currency=item.currency,
        valid_from=date(2027, 1, 1)))
    db.session.commit()
    assert agreements.agreed_prices([item])[item.id].id == starting.id
    assert agreements.agreed_prices([item], day=date(2026, 12, 31))[item.id].id == ended.id
