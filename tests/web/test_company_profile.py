"""The company profile page: time zone for every company, bank account (IBAN, bank) for
suppliers, validated, audited, admins only."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditEvent
from portal.services import users
from tests.conftest import as_org, as_system, reload

PL_IBAN = "PL61109010140000071219812874"
DE_IBAN = "DE89370400440532013000"


@pytest.fixture(autouse=True)
def english(world):
    """Acme's people read Polish; these tests check the English texts."""
    with as_system():
        for user in world.users.values():
            user.locale = "en"
        db.session.commit()


def profile(org, **changes) -> dict:
    data = {k: getattr(org, k) for k in ("name", "legal_name", "tax_id", "address_line", "postal_code",
                                         "city", "country", "currency", "locale", "time_zone")}
    if org.kind == "supplier":
        data.update(iban=org.iban, bank_name=org.bank_name)
    data.update(changes)
    return data


def events(action: str) -> list[AuditEvent]:
    with as_system():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_a_supplier_admin_sees_the_bank_account_fields(world, login_as):
    page = login_as(world.user("sales@nordwind")).get("/admin/organization").text
    assert 'name="iban"' in page and 'name="bank_name"' in page
    assert 'name="time_zone"' in page
    assert "Printed on your invoices" in page


def test_a_buyer_has_a_time_zone_but_no_bank_account(world, login_as):
    page = login_as(world.user("admin@acme")).get("/admin/organization").text
    assert 'name="time_zone"' in page
    assert 'name="iban"' not in page
    assert 'value="Europe/Warsaw" selected' in page or '<option selected value="Europe/Warsaw">' in page


def test_the_supplier_saves_a_valid_iban_grouped_as_typed_compact_as_stored(world, login_as):
    before = (world.nordwind.iban, world.nordwind.bank_name)
    client = login_as(world.user("sales@nordwind"))
    response = client.post("/admin/organization", data=profile(
        world.nordwind, iban="de89 3704 0044 0532 0130 00", bank_name="Commerzbank"))
    assert response.status_code == 302
    fresh = reload(world.nordwind)
    assert (fresh.iban, fresh.bank_name) == (DE_IBAN, "Commerzbank")
    (event,) = events("org.updated")
    assert event.summary["iban"] == [before[0], DE_IBAN]
    assert event.summary["bank_name"] == [before[1], "Commerzbank"]
    page = client.get("/admin/organization").text
    assert 'value="DE89 3704 0044 0532 0130 00"' in page  # shown grouped by four
    assert "Bank account (IBAN)" in page  # the history names the field


@pytest.mark.parametrize(
    ("iban", "message"),
    [
        ("PL61109010140000071219812875", "The IBAN&#39;s checksum is wrong."),
        ("PL6110901014000007121981287", "The IBAN has the wrong number of characters for its country."),
        ("1234", "An IBAN starts with a country code, such as PL or DE."),
    ],
)
def test_an_invalid_iban_is_refused_on_its_field_and_nothing_saved(world, login_as, iban, message):
    before, city = world.nordwind.iban, world.nordwind.city
    client = login_as(world.user("sales@nordwind"))
    response = client.post("/admin/organization", data=profile(world.nordwind, iban=iban, city="Bremen"))
    assert response.status_code == 422
    assert message in response.text
    assert f'value="{iban}"' in response.text  # what was typed stays in the field
    fresh = reload(world.nordwind)
    assert fresh.iban == before and fresh.city == city
    assert events("org.updated") == []


def test_the_bank_account_can_be_removed_and_a_bank_name_alone_is_refused(world, login_as):
    client = login_as(world.user("sales@nordwind"))
    assert client.post("/admin/organization", data=profile(
        world.nordwind, iban=DE_IBAN, bank_name="Commerzbank")).status_code == 302
    assert client.post("/admin/organization", data=profile(
        world.nordwind, iban="", bank_name="")).status_code == 302
    assert (reload(world.nordwind).iban, reload(world.nordwind).bank_name) == ("", "")
    lonely = client.post("/admin/organization", data=profile(world.nordwind, iban="", bank_name="Commerzbank"))
    assert lonely.status_code == 422
    assert "Enter the IBAN" in lonely.text


def test_the_bank_name_is_suggested_from_the_iban_when_left_empty(world, login_as):
    client = login_as(world.user("sales@nordwind"))
    assert client.post("/admin/organization", data=profile(
        world.nordwind, iban=PL_IBAN, bank_name="")).status_code == 302
    assert reload(world.nordwind).bank_name  # from schwifty's bank registry


def test_a_buyer_cannot_set_a_bank_account(world, login_as):
    client = login_as(world.user("admin@acme"))
    response = client.post("/admin/organization", data=profile(world.acme, iban=PL_IBAN, bank_name="X"))
    assert response.status_code == 302  # the fields are not on a buyer's form: ignored
    assert reload(world.acme).iban == ""


def test_the_time_zone_is_saved_and_an_unknown_one_refused(world, login_as):
    client = login_as(world.user("admin@acme"))
    assert client.post("/admin/organization", data=profile(
        world.acme, time_zone="Europe/Berlin")).status_code == 302
    assert reload(world.acme).time_zone == "Europe/Berlin"
    (event,) = events("org.updated")
    assert event.summary["time_zone"] == ["Europe/Warsaw", "Europe/Berlin"]
    refused = client.post("/admin/organization", data=profile(world.acme, time_zone="Mars/Olympus"))
    assert refused.status_code == 422
    assert reload(world.acme).time_zone == "Europe/Berlin"


def test_a_post_without_the_new_fields_keeps_them(world, login_as):
    client = login_as(world.user("sales@nordwind"))
    assert client.post("/admin/organization", data=profile(
        world.nordwind, iban=DE_IBAN, time_zone="Europe/Berlin")).status_code == 302
    data = profile(world.nordwind, city="Bremen")
    for key in ("iban", "bank_name", "time_zone"):
        data.pop(key)
    assert client.post("/admin/organization", data=data).status_code == 302
    fresh = reload(world.nordwind)
    assert (fresh.city, fresh.iban, fresh.time_zone) == ("Bremen", DE_IBAN, "Europe/Berlin")


def test_only_admins_edit_the_profile(world, login_as):
    with as_org(world.nordwind):
        rep = users.create_user(world.nordwind, email="rep@nordwind.example", full_name="Rita Rep",
                                roles=["supplier_sales"])
        db.session.commit()
    for user in (world.user("buyer@acme"), world.user("approver@acme"), rep):
        client = login_as(user)
        assert client.get("/admin/organization").status_code == 403
        assert client.post("/admin/organization", data={"iban": PL_IBAN}).status_code == 403
    assert reload(world.nordwind).iban != PL_IBAN


def test_the_profile_page_reads_polish(world, login_as):
    with as_system():
        world.user("sales@nordwind").locale = "pl"
        db.session.commit()
    page = login_as(world.user("sales@nordwind")).get("/admin/organization").text
    assert "Profil firmy" in page


def test_the_supplier_reads_how_it_invoices_the_customer(world, login_as):
    from portal.models import InvoicingMode, SupplierLink

    with as_system():
        link = db.session.scalars(select(SupplierLink).where(
            SupplierLink.organization_id == world.acme.id, SupplierLink.supplier_id == world.nordwind.id)).one()
        link.invoicing = InvoicingMode.MONTHLY
        db.session.commit()
        link_id = link.id
    page = login_as(world.user("sales@nordwind")).get(f"/supplier/customers/{link_id}").text
    assert 'data-testid="customer-invoicing"' in page and "One invoice a month" in page
    assert "exactly the order price" in page
