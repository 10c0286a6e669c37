"""The supplier's side: joining from an invitation, and the customers a supplier serves."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from portal.domain.terms import PaymentTerms
from portal.extensions import db
from portal.models import (
    AuditEvent,
    Invitation,
    LinkStatus,
    Organization,
    OrgKind,
    SupplierLink,
    User,
)
from portal.models.base import utcnow
from portal.services import mail, suppliers, users
from tests.conftest import as_system, csrf_token_from, login

PASSWORD = "a long enough pass phrase"


def link_of(buyer, supplier) -> SupplierLink | None:
    db.session.expire_all()
    return suppliers.find_link_between(buyer.id, supplier.id)


def count(model, *where) -> int:
    with as_system():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def invite(login_as, world, *, admin="admin@globex", **overrides) -> str:
    """Invite through the buyer's page; returns the token from the emailed link."""
    data = {
        "company_name": "Stalex",
        "email": "office@stalex.example",
        "full_name": "Stefan Nowicki",
        "terms_kind": "net",
        "terms_days": "21",
        "currency": "EUR",
        "credit_limit": "75000",
    }
    data.update(overrides)
    mail.outbox.clear()
    response = login_as(world.user(admin)).post("/suppliers/invite", data=data)
    assert response.status_code == 302, response.text
    [message] = mail.outbox
    return re.search(r"/supplier/join/([\w-]+)", message.get_content()).group(1)


def registration(**overrides) -> dict:
    data = {
        "name": "Stalex",
        "legal_name": "Stalex Sp. z o.o.",
        "country": "PL",
        "tax_id": "PL 526-104-08-28",
        "address_line": "ul. Stalowa 1",
        "postal_code": "90-001",
        "city": "Łódź",
        "currency": "PLN",
        "locale": "en",
        "full_name": "Stefan Nowicki",
        "password": PASSWORD,
        "confirm": PASSWORD,
    }
    data.update(overrides)
    return data


def customer_rows(html: str) -> list[str]:
    return re.findall(r'data-testid="customer-row" data-link-id="(\d+)"', html)


# --- registering a new supplier -----------------------------------------------------------------


def test_the_join_page_shows_the_buyer_and_the_proposed_terms(client, login_as, world):
    token = invite(login_as, world)
    response = client.get(f"/supplier/join/{token}")
    assert response.status_code == 200
    html = response.text
    assert "Globex Trading invites Stalex" in html
    assert "Globex Trading EOOD" in html
    assert "Georgi Petrov" in html  # who invited
    assert "net 21 days" in html
    assert "75,000.00\xa0EUR" in html
    assert 'data-testid="register-form"' in html
    assert 'value="Stalex"' in html  # the company name proposed by the buyer


def test_register_a_new_supplier_from_the_invitation(client, login_as, world):
    token = invite(login_as, world)
    response = client.post(f"/supplier/join/{token}", data=registration())
    assert response.status_code == 302
    assert response.headers["Location"] == "/"

    with as_system():
        org = db.session.scalars(select(Organization).where(Organization.name == "Stalex")).one()
        user = db.session.scalars(select(User).where(User.email == "office@stalex.example")).one()
        link = db.session.scalars(select(SupplierLink).where(SupplierLink.supplier_id == org.id)).one()
        invitation = db.session.scalars(select(Invitation)).one()
        linked = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "supplier.linked",
                                     AuditEvent.supplier_id == org.id)
        ).one()
    assert org.kind == OrgKind.SUPPLIER
    assert (org.tax_id, org.country, org.currency) == ("5261040828", "PL", "PLN")
    assert (org.legal_name, org.address_line, org.city) == ("Stalex Sp. z o.o.", "ul. Stalowa 1", "Łódź")
    assert user.organization_id == org.id
    assert user.full_name == "Stefan Nowicki"
    assert {str(r) for r in user.roles} == {"supplier_admin", "supplier_sales"}
    assert link.organization_id == world.globex.id
    assert link.status == LinkStatus.ACTIVE
    assert (link.payment_terms, link.currency, link.credit_limit) == (
        PaymentTerms.net(21), "EUR", Decimal("75000.00"))
    assert invitation.accepted_at is not None
    assert (linked.organization_id, linked.actor_id) == (world.globex.id, user.id)

    # Signed in, with a welcome, as the new supplier: Globex is its customer.
    dashboard = client.get("/")
    assert dashboard.status_code == 200
    assert "Welcome to Portal. Globex Trading is now your customer." in dashboard.text
    assert "Stalex" in dashboard.text
    customers = client.get("/supplier/customers")
    assert customer_rows(customers.text) == [str(link.id)]
    assert "Globex Trading" in customers.text
    # The new user signs in with the password chosen.
    client.post("/logout")
    fresh = client.post("/login", data={"email": "office@stalex.example", "password": PASSWORD})
    assert fresh.status_code == 302

    # The buyer now lists the new supplier.
    assert "Stalex Sp. z o.o." in login_as(world.user("admin@globex")).get("/suppliers/").text


def test_registering_with_an_invalid_nip_saves_nothing(client, login_as, world):
    token = invite(login_as, world)
    response = client.post(f"/supplier/join/{token}", data=registration(tax_id="526-104-08-27"))
    assert response.status_code == 422
    assert "This is not a valid NIP." in response.text
    assert count(Organization, Organization.name == "Stalex") == 0
    assert count(User, User.email == "office@stalex.example") == 0
    with as_system():
        assert db.session.scalars(select(Invitation)).one().accepted_at is None
    assert client.get("/").status_code == 302  # not signed in


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"country": "DE", "tax_id": "DE123456789"}, "This is not a valid VAT ID."),
        ({"tax_id": "5270391800"}, "already registered"),  # Polbud's NIP
        ({"password": "short", "confirm": "short"}, "Use at least 12 characters."),
        ({"confirm": "something else entirely"}, "The passwords do not match."),
        ({"legal_name": ""}, "This field is required."),
    ],
)
def test_registration_problems_rerender_with_422(client, login_as, world, overrides, message):
    token = invite(login_as, world)
    response = client.post(f"/supplier/join/{token}", data=registration(**overrides))
    assert response.status_code == 422
    assert message in response.text
    assert count(Organization) == 4
    assert count(User, User.email == "office@stalex.example") == 0


def test_an_eu_supplier_registers_with_its_vat_id(client, login_as, world):
    token = invite(login_as, world)
    response = client.post(f"/supplier/join/{token}", data=registration(
        country="DE", tax_id="136695976", currency="EUR",
    ))
    assert response.status_code == 302
    with as_system():
        org = db.session.scalars(select(Organization).where(Organization.name == "Stalex")).one()
    assert (org.country, org.tax_id) == ("DE", "DE136695976")


# --- links that no longer work ------------------------------------------------------------------


def test_a_used_link_is_gone(client, login_as, world):
    token = invite(login_as, world)
    assert client.post(f"/supplier/join/{token}", data=registration()).status_code == 302
    client.post("/logout")
    response = client.get(f"/supplier/join/{token}")
    assert response.status_code == 410
    assert 'data-state="accepted"' in response.text
    again = client.post(f"/supplier/join/{token}", data=registration(name="Other"))
    assert again.status_code == 410
    assert count(Organization) == 5


def test_an_expired_link_is_gone(client, login_as, world):
    token = invite(login_as, world)
    with as_system():
        invitation = db.session.scalars(select(Invitation)).one()
        invitation.expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    response = client.get(f"/supplier/join/{token}")
    assert response.status_code == 410
    assert "This invitation has expired" in response.text
    assert client.post(f"/supplier/join/{token}", data=registration()).status_code == 410
    assert count(Organization) == 4


def test_a_revoked_or_unknown_link_is_gone(client, login_as, world):
    token = invite(login_as, world)
    with as_system():
        invitation_id = db.session.scalars(select(Invitation.id)).one()
    login_as(world.user("admin@globex")).post(f"/suppliers/invitations/{invitation_id}/revoke")
    response = client.get(f"/supplier/join/{token}")
    assert response.status_code == 410
    assert 'data-state="revoked"' in response.text
    unknown = client.get("/supplier/join/not-a-real-token")
    assert unknown.status_code == 410
    assert 'data-state="unknown"' in unknown.text


# --- accepting for an existing supplier ---------------------------------------------------------


def test_existing_supplier_admin_signs_in_and_accepts(client, login_as, world):
    token = invite(login_as, world, company_name="Polbud", email="sales@polbud.example",
                   terms_kind="eom", terms_days="14")
    join_url = f"/supplier/join/{token}"

    # Not signed in: the address has an account, so sign in first (and come back here).
    anonymous = client.get(join_url)
    assert anonymous.status_code == 200
    assert 'data-testid="join-sign_in"' in anonymous.text
    assert f'href="/login?next={join_url}"' in anonymous.text
    assert 'data-testid="register-form"' not in anonymous.text
    assert client.post(join_url, data=registration()).status_code == 403
    assert count(Organization) == 4

    polbud = login_as(world.user("sales@polbud"))
    before = polbud.get("/supplier/customers").text
    assert "Globex" not in before
    page = polbud.get(join_url)
    assert 'data-testid="join-accept"' in page.text
    response = polbud.post(join_url)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/supplier/customers")

    link = link_of(world.globex, world.polbud)
    assert link.status == LinkStatus.ACTIVE
    assert (link.payment_terms, link.currency, link.credit_limit) == (
        PaymentTerms.end_of_month(14), "EUR", Decimal("75000.00"))
    after = polbud.get("/supplier/customers").text
    assert customer_rows(after) == [
        str(link_of(world.acme, world.polbud).id), str(link.id),
    ]
    assert "Globex Trading" in after
    customer = polbud.get(f"/supplier/customers/{link.id}")
    assert customer.status_code == 200
    assert "koniec miesiąca + 14 dni" in customer.text  # the terms' label, for a Polish user
    assert "Polbud" in login_as(world.user("admin@globex")).get("/suppliers/").text
    assert polbud.get(join_url).status_code == 410


def test_the_login_link_brings_the_supplier_back_to_the_invitation(client, login_as, world):
    token = invite(login_as, world, company_name="Polbud", email="sales@polbud.example")
    join_url = f"/supplier/join/{token}"
    response = client.post("/login", data={
        "email": "sales@polbud.example", "password": "portal-demo-2026", "next": join_url,
    })
    assert response.status_code == 302
    assert response.headers["Location"] == join_url


def test_who_cannot_accept_is_told_why(client, login_as, world):
    with as_system():
        clerk = users.create_user(world.polbud, email="clerk@polbud.example", full_name="Clerk",
                                  roles=["supplier_sales"], password=PASSWORD, locale="en")
        db.session.commit()
    token = invite(login_as, world, company_name="Polbud", email="orders@polbud.example")
    join_url = f"/supplier/join/{token}"
    cases = [
        (clerk, "not_supplier_admin"),
        (world.user("buyer@acme"), "buyer_account"),
        (world.user("admin@globex"), "buyer_account"),
    ]
    for user, mode in cases:
        login(client, user)
        page = client.get(join_url)
        assert page.status_code == 200
        assert f'data-testid="join-{mode}"' in page.text, user.email
        assert 'data-testid="accept-invitation"' not in page.text
        assert client.post(join_url).status_code == 403
    assert link_of(world.globex, world.polbud) is None
    with as_system():
        assert db.session.scalars(select(Invitation)).one().accepted_at is None


def test_an_invitation_for_another_organisations_user_is_not_accepted(login_as, world):
    token = invite(login_as, world, company_name="Polbud", email="sales@polbud.example")
    nordwind = login_as(world.user("sales@nordwind"))
    page = nordwind.get(f"/supplier/join/{token}")
    assert 'data-testid="join-wrong_account"' in page.text
    assert nordwind.post(f"/supplier/join/{token}").status_code == 403
    assert link_of(world.globex, world.polbud) is None


def test_a_linked_supplier_is_told_there_is_nothing_to_accept(login_as, world):
    token = invite(login_as, world, company_name="Nordwind", email="orders@nordwind.example")
    nordwind = login_as(world.user("sales@nordwind"))
    page = nordwind.get(f"/supplier/join/{token}")
    assert 'data-testid="join-already_linked"' in page.text
    assert nordwind.post(f"/supplier/join/{token}").status_code == 403


# --- what a supplier sees -----------------------------------------------------------------------


def test_customers_lists_the_active_buyers_with_terms(login_as, world):
    html = login_as(world.user("sales@nordwind")).get("/supplier/customers").text
    assert customer_rows(html) == [
        str(link_of(world.acme, world.nordwind).id), str(link_of(world.globex, world.nordwind).id),
    ]
    assert "Acme Manufacturing Sp. z o.o." in html and "Globex Trading EOOD" in html
    # Acme agreed 2/10 net 30 with Nordwind; Globex net 60.
    assert "2% discount within 10 days, net 30 days" in html and "net 60 days" in html
    assert "200,000.00\xa0EUR" in html
    # Never another supplier's links or names.
    assert "Polbud" not in html


def test_a_customer_with_no_links_sees_the_empty_state(login_as, world):
    with as_system():
        from portal.services import orgs

        org = orgs.create_organization(
            kind=OrgKind.SUPPLIER, name="Lonely", legal_name="Lonely GmbH",
            tax_id="DE136695976", country="DE", currency="EUR", locale="en",
        )
        user = users.create_user(org, email="me@lonely.example", full_name="Lone",
                                 roles=["supplier_admin"], password=PASSWORD, locale="en")
        db.session.commit()
    html = login_as(user).get("/supplier/customers").text
    assert 'data-testid="customers-empty"' in html
    assert customer_rows(html) == []


def test_a_blocked_supplier_at_once_sees_that_buyer_only_as_blocked(login_as, world):
    acme_polbud = link_of(world.acme, world.polbud).id
    polbud = login_as(world.user("sales@polbud"))
    assert customer_rows(polbud.get("/supplier/customers").text) == [str(acme_polbud)]
    assert polbud.get(f"/supplier/customers/{acme_polbud}").status_code == 200

    blocked = login_as(world.user("admin@acme")).post(
        f"/suppliers/{acme_polbud}/block", data={"comment": "Quality audit failed"}
    )
    assert blocked.status_code == 302

    # The same signed-in session, next request: Acme is a blocked customer. The supplier still
    # reads the link (and what Acme sent it) but is told it can start nothing new, and Acme is
    # gone from the dashboard's customers to work for.
    html = polbud.get("/supplier/customers").text
    assert customer_rows(html) == [str(acme_polbud)]
    assert 'data-status="blocked"' in html
    page = polbud.get(f"/supplier/customers/{acme_polbud}")
    assert page.status_code == 200
    assert 'data-testid="customer-blocked"' in page.text
    assert "Acme" not in polbud.get("/").text
    # Nordwind, also Acme's supplier, is untouched.
    nordwind = login_as(world.user("sales@nordwind")).get("/supplier/customers").text
    assert "Acme Manufacturing" in nordwind

    login_as(world.user("admin@acme")).post(f"/suppliers/{acme_polbud}/unblock")
    assert customer_rows(polbud.get("/supplier/customers").text) == [str(acme_polbud)]


def test_a_supplier_never_opens_another_suppliers_link(login_as, world):
    acme_polbud = link_of(world.acme, world.polbud).id
    nordwind = login_as(world.user("sales@nordwind"))
    assert nordwind.get(f"/supplier/customers/{acme_polbud}").status_code == 404
    assert nordwind.get("/supplier/customers/999999").status_code == 404


def test_buyers_get_403_on_supplier_pages(login_as, world):
    for email in ("admin@acme", "buyer@globex", "approver@acme"):
        client = login_as(world.user(email))
        assert client.get("/supplier/customers").status_code == 403, email
        link_id = link_of(world.acme, world.polbud).id
        # Globex's users are refused Acme's link as not found: 404 before the role check.
        expected = 404 if email.endswith("@globex") else 403
        assert client.get(f"/supplier/customers/{link_id}").status_code == expected, email


def test_customers_need_sign_in(client, world):
    response = client.get("/supplier/customers")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_the_public_join_form_is_csrf_protected(app, client, login_as, world):
    token = invite(login_as, world)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        refused = client.post(f"/supplier/join/{token}", data=registration())
        assert refused.status_code == 400
        assert count(Organization) == 4
        csrf = csrf_token_from(client.get(f"/supplier/join/{token}").text)
        accepted = client.post(f"/supplier/join/{token}", data={**registration(), "csrf_token": csrf})
        assert accepted.status_code == 302
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert count(Organization) == 5
