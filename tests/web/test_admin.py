"""Company administration pages: users, invitations, company profile, audit log."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.domain.roles import Role
from portal.extensions import db
from portal.models import AuditEvent, Invitation, User
from portal.models.base import utcnow
from portal.services import invitations, mail, users
from tests.conftest import as_org, as_system, csrf_token_from, reload
from tests.kit import count_queries

HX = {"HX-Request": "true"}
ADMIN_PAGES = ["/admin/users", "/admin/users/invite", "/admin/organization", "/admin/audit"]


@pytest.fixture(autouse=True)
def english(world):
    """Acme's people read Polish; these tests check the English texts."""
    with as_system():
        for user in world.users.values():
            user.locale = "en"
        db.session.commit()


def add_users(org, count: int, *, prefix="extra", roles=("buyer",)) -> list[User]:
    with as_org(org):
        made = [
            users.create_user(org, email=f"{prefix}{i:02d}@{org.name.split()[0].lower()}.example",
                              full_name=f"Zed {prefix.title()} {i:02d}", roles=list(roles))
            for i in range(count)
        ]
        db.session.commit()
    return made


def invitations_of(org) -> list[Invitation]:
    with as_system():
        db.session.expire_all()
        return list(db.session.scalars(
            select(Invitation).where(Invitation.organization_id == org.id).order_by(Invitation.id)
        ))


def events(action: str) -> list[AuditEvent]:
    with as_system():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def emails_of(world, org) -> set[str]:
    return {email for email, user in world.users.items() if user.organization_id == org.id}


def invite(client, **data):
    form = {"email": "new@acme.example", "full_name": "Nina Nowa", "roles": ["buyer"]}
    form.update(data)
    return client.post("/admin/users/invite", data=form)


def token_from_mail(message) -> str:
    match = re.search(r"/invitations/([A-Za-z0-9_-]+)", message.get_content())
    assert match, message.get_content()
    return match.group(1)


# Access ------------------------------------------------------------------------------------


@pytest.mark.parametrize("email", ["buyer@acme", "approver@acme", "cfo@acme", "buyer@globex"])
def test_non_admins_get_403_on_every_admin_page(world, login_as, email):
    target = world.user("buyer2@acme")
    with as_org(world.acme):
        invitation, _token = invitations.invite_user(
            world.acme, actor=world.user("admin@acme"), email="nina@acme.example",
            full_name="Nina Nowa", roles=["buyer"], days=7,
        )
        db.session.commit()
    client = login_as(world.user(email))
    # Acme's user and invitation are another organisation's for Globex: 404 before the role check.
    named = 404 if email.endswith("@globex") else 403
    for url in ADMIN_PAGES:
        assert client.get(url).status_code == 403, url
    assert client.get(f"/admin/users/{target.id}").status_code == named
    for url in [f"/admin/users/{target.id}/roles", f"/admin/users/{target.id}/deactivate",
                f"/admin/users/{target.id}/reactivate",
                f"/admin/invitations/{invitation.id}/revoke", f"/admin/invitations/{invitation.id}/resend"]:
        assert client.post(url, data={"roles": ["admin"]}).status_code == named, url
    for url in ["/admin/users/invite", "/admin/organization"]:
        assert client.post(url, data={"roles": ["admin"]}).status_code == 403, url
    assert reload(target).is_active and reload(target).roles == {Role.BUYER}


def test_supplier_sales_without_admin_role_gets_403(world, login_as):
    (sales,) = add_users(world.nordwind, 1, prefix="sales", roles=("supplier_sales",))
    client = login_as(sales)
    for url in ADMIN_PAGES:
        assert client.get(url).status_code == 403, url
    assert "/admin/users" not in client.get("/").text


def test_admin_pages_need_sign_in(world, client):
    for url in ADMIN_PAGES:
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_admin_sees_the_administration_links(world, login_as):
    page = login_as(world.user("admin@acme")).get("/").text
    for url in ADMIN_PAGES[:1] + ADMIN_PAGES[2:]:
        assert f'href="{url}"' in page


def test_another_organisations_user_is_404(world, login_as):
    client = login_as(world.user("admin@globex"))
    acme_buyer = world.user("buyer@acme")
    assert client.get(f"/admin/users/{acme_buyer.id}").status_code == 404
    assert client.post(f"/admin/users/{acme_buyer.id}/roles",
                       data={"roles": ["admin"]}).status_code == 404
    assert client.post(f"/admin/users/{acme_buyer.id}/deactivate").status_code == 404
    assert client.post(f"/admin/users/{acme_buyer.id}/reactivate").status_code == 404
    assert client.get("/admin/users/999999").status_code == 404
    fresh = reload(acme_buyer)
    assert fresh.is_active and fresh.roles == {Role.BUYER}


def test_another_organisations_invitation_is_404(world, login_as):
    invite(login_as(world.user("admin@acme")))
    (invitation,) = invitations_of(world.acme)
    client = login_as(world.user("admin@globex"))
    assert client.post(f"/admin/invitations/{invitation.id}/revoke").status_code == 404
    assert client.post(f"/admin/invitations/{invitation.id}/resend").status_code == 404
    assert reload(invitation).revoked_at is None
    assert len(mail.outbox) == 1


def test_posts_need_a_csrf_token(app, world, login_as):
    client = login_as(world.user("admin@acme"))
    target = world.user("buyer@acme")
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        assert client.post(f"/admin/users/{target.id}/deactivate").status_code == 400
        token = csrf_token_from(client.get(f"/admin/users/{target.id}").text)
        response = client.post(f"/admin/users/{target.id}/deactivate",
                               data={"csrf_token": token})
        assert response.status_code == 302
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert reload(target).is_active is False


# User list -------------------------------------------------------------------------------


def test_user_list_shows_the_organisations_users(world, login_as):
    page = login_as(world.user("admin@acme")).get("/admin/users").text
    acme = emails_of(world, world.acme)
    assert page.count('data-testid="user-row"') == len(acme)
    for email in acme | {"admin@acme.example", "cfo@acme.example", "buyer2@acme.example"}:
        assert email in page
    assert "globex" not in page and "nordwind" not in page
    assert "Approver" in page and "Buyer" in page
    assert "250" in page  # the CFO's approval limit
    assert 'data-testid="invite-user"' in page


def test_user_list_paginates(world, login_as, app):
    add_users(world.acme, app.config["PAGE_SIZE"] + 3)
    client = login_as(world.user("admin@acme"))
    first = client.get("/admin/users").text
    assert first.count('data-testid="user-row"') == app.config["PAGE_SIZE"]
    older = re.search(r'<a href="([^"]+)" rel="next"', first)
    assert older and "cursor=" in older.group(1)
    second = client.get(html.unescape(older.group(1))).text
    assert second.count('data-testid="user-row"') == len(emails_of(world, world.acme)) + 3
    assert 'rel="prev"' in second
    assert client.get("/admin/users?cursor=broken").status_code == 422


def test_user_list_filters_by_status_and_search(world, login_as):
    admin = world.user("admin@acme")
    with as_org(world.acme):
        users.deactivate(world.user("buyer2@acme"), actor=admin)
        db.session.commit()
    client = login_as(admin)
    deactivated = client.get("/admin/users?status=deactivated").text
    assert deactivated.count('data-testid="user-row"') == 1
    assert "buyer2@acme.example" in deactivated
    active = client.get("/admin/users?status=active").text
    assert active.count('data-testid="user-row"') == len(emails_of(world, world.acme)) - 1
    assert "buyer2@acme.example" not in active
    found = client.get("/admin/users?q=lewandowska").text
    assert found.count('data-testid="user-row"') == 1 and "cfo@acme.example" in found
    assert client.get("/admin/users?status=bogus").status_code == 200


def test_user_list_filters_return_a_fragment_for_htmx(world, login_as):
    response = login_as(world.user("admin@acme")).get("/admin/users?q=cfo", headers=HX)
    assert response.status_code == 200
    assert "<html" not in response.text
    assert 'id="users-table"' in response.text and "cfo@acme.example" in response.text
    assert "HX-Request" in response.headers["Vary"]


def test_user_list_costs_the_same_queries_for_many_users(world, login_as):
    client = login_as(world.user("admin@acme"))
    invite(client)
    client.get("/admin/users")  # warm up
    with count_queries() as few:
        assert client.get("/admin/users").status_code == 200
    add_users(world.acme, 15, roles=("buyer", "approver"))
    (boss,) = add_users(world.acme, 1, prefix="boss", roles=("admin",))
    invite(login_as(boss), email="second@acme.example")
    invite(login_as(boss), email="third@acme.example")
    with count_queries() as many:
        assert client.get("/admin/users").status_code == 200
    assert len(many) == len(few)


# Invitations -------------------------------------------------------------------------------


def test_invite_sends_a_link_that_creates_the_user(world, login_as, app):
    admin_client = login_as(world.user("admin@acme"))
    response = invite(admin_client, roles=["buyer", "approver"], approval_limit="12 500,50")
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/users")
    (invitation,) = invitations_of(world.acme)
    assert invitation.role_list == ["approver", "buyer"]
    assert invitation.approval_limit == Decimal("12500.50")
    (message,) = mail.outbox
    assert message["To"] == "new@acme.example"
    token = token_from_mail(message)
    assert app.config["BASE_URL"] + f"/invitations/{token}" in message.get_content()
    assert len(events("user.invited")) == 1

    listing = admin_client.get("/admin/users").text
    assert listing.count('data-testid="invitation-row"') == 1
    assert "new@acme.example" in listing and "Anna Kowalska" in listing

    newcomer = app.test_client()
    accepted = newcomer.post(f"/invitations/{token}", data={
        "full_name": "Nina Nowa", "password": "a long enough passphrase",
        "confirm": "a long enough passphrase"})
    assert accepted.status_code == 302
    with as_system():
        user = db.session.scalars(select(User).where(User.email == "new@acme.example")).one()
        assert user.organization_id == world.acme.id
        assert user.roles == {Role.BUYER, Role.APPROVER}
        assert user.approval_limit == Decimal("12500.50")
    dashboard = newcomer.get("/")
    assert dashboard.status_code == 200 and "Nina" in dashboard.text
    assert 'data-testid="invitation-row"' not in admin_client.get("/admin/users").text


def test_invite_form_offers_the_roles_of_the_organisation_kind(world, login_as):
    buyer_form = login_as(world.user("admin@acme")).get("/admin/users/invite").text
    for role in ("buyer", "approver", "admin"):
        assert f'value="{role}"' in buyer_form
    assert 'value="supplier_sales"' not in buyer_form
    assert 'name="approval_limit"' in buyer_form
    supplier_form = login_as(world.user("sales@nordwind")).get("/admin/users/invite").text
    assert 'value="supplier_admin"' in supplier_form and 'value="supplier_sales"' in supplier_form
    assert 'value="buyer"' not in supplier_form
    assert 'name="approval_limit"' not in supplier_form


@pytest.mark.parametrize("email", ["buyer@acme.example", "Buyer@Globex.example"])
def test_invite_refuses_an_existing_users_email(world, login_as, email):
    response = invite(login_as(world.user("admin@acme")), email=email)
    assert response.status_code == 422
    assert "already exists" in response.text
    assert invitations_of(world.acme) == [] and mail.outbox == []


def test_invite_refuses_a_pending_duplicate(world, login_as):
    client = login_as(world.user("admin@acme"))
    invite(client)
    response = invite(client, email="NEW@acme.example")
    assert response.status_code == 422
    assert "pending invitation" in response.text
    assert len(invitations_of(world.acme)) == 1 and len(mail.outbox) == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"roles": ["buyer", "superuser"]}, "Unknown role"),
        ({"roles": ["supplier_admin"]}, "Unknown role"),
        ({"roles": []}, "Choose at least one role"),
        ({"roles": ["approver"], "approval_limit": "-5"}, "0 or more"),
        ({"roles": ["approver"], "approval_limit": "NaN"}, "Enter an amount"),
        ({"roles": ["approver"], "approval_limit": "1e15"}, "Enter an amount"),
        ({"roles": ["approver"], "approval_limit": "999999999999999"},
         "too large: enter at most 999,999,999,999.99"),
        ({"email": "not-an-email"}, "valid email"),
        ({"full_name": ""}, "required"),
    ],
)
def test_invite_refuses_invalid_input(world, login_as, data, message):
    response = invite(login_as(world.user("admin@acme")), **data)
    assert response.status_code == 422
    assert message in response.text
    assert invitations_of(world.acme) == [] and mail.outbox == []


def test_only_the_newest_open_invitations_are_listed(world, login_as, monkeypatch):
    client = login_as(world.user("admin@acme"))
    for n in range(3):
        invite(client, email=f"person{n}@acme.example")
    monkeypatch.setattr(invitations, "OPEN_LIST_LIMIT", 2)
    page = client.get("/admin/users").text
    listed = page[page.index('id="invitations"'):]
    assert listed.count('data-testid="invitation-row"') == 2
    assert "person2@acme.example" in listed and "person0@acme.example" not in listed
    assert "1 older open invitation is not shown" in listed


def test_revoke_withdraws_the_invitation(world, login_as, app):
    client = login_as(world.user("admin@acme"))
    invite(client)
    (invitation,) = invitations_of(world.acme)
    token = token_from_mail(mail.outbox[0])
    response = client.post(f"/admin/invitations/{invitation.id}/revoke")
    assert response.status_code == 302
    assert reload(invitation).revoked_at is not None
    assert len(events("user.invitation_revoked")) == 1
    assert app.test_client().get(f"/invitations/{token}").status_code == 410
    # Revoking twice is refused without a change.
    assert client.post(f"/admin/invitations/{invitation.id}/revoke").status_code == 403
    assert len(events("user.invitation_revoked")) == 1


def test_revoke_with_htmx_returns_the_updated_invitations(world, login_as):
    client = login_as(world.user("admin@acme"))
    invite(client)
    invite(client, email="keep@acme.example")
    first, _second = invitations_of(world.acme)
    response = client.post(f"/admin/invitations/{first.id}/revoke", headers=HX)
    assert response.status_code == 200
    assert "<html" not in response.text and 'id="invitations"' in response.text
    assert "keep@acme.example" in response.text and "new@acme.example" not in response.text
    assert "new@acme.example" in response.headers["HX-Trigger"]


def test_resend_invalidates_the_old_link(world, login_as, app):
    client = login_as(world.user("admin@acme"))
    invite(client)
    (invitation,) = invitations_of(world.acme)
    old_token = token_from_mail(mail.outbox[0])
    with as_system():
        reload(invitation).expires_at = utcnow() - timedelta(hours=1)
        db.session.commit()
    assert "Expired" in client.get("/admin/users").text

    response = client.post(f"/admin/invitations/{invitation.id}/resend", headers=HX)
    assert response.status_code == 200 and 'id="invitations"' in response.text
    assert "Expired" not in response.text
    assert len(mail.outbox) == 2
    new_token = token_from_mail(mail.outbox[1])
    assert new_token != old_token
    anonymous = app.test_client()
    assert anonymous.get(f"/invitations/{old_token}").status_code == 404
    assert anonymous.get(f"/invitations/{new_token}").status_code == 200
    assert reload(invitation).expires_at > utcnow() + timedelta(days=6)
    assert len(events("user.invitation_resent")) == 1


def test_plain_resend_redirects_with_a_message(world, login_as):
    client = login_as(world.user("admin@acme"))
    invite(client)
    (invitation,) = invitations_of(world.acme)
    response = client.post(f"/admin/invitations/{invitation.id}/resend", follow_redirects=True)
    assert response.status_code == 200
    assert "new invitation link" in response.text
    assert len(mail.outbox) == 2


# User detail -------------------------------------------------------------------------------


def test_user_page_shows_roles_status_and_history(world, login_as):
    admin, buyer = world.user("admin@acme"), world.user("buyer@acme")
    with as_org(world.acme):
        users.set_roles(buyer, ["buyer", "approver"], actor=admin)
        db.session.commit()
    page = login_as(admin).get(f"/admin/users/{buyer.id}").text
    assert "Bartosz Nowak" in page and "buyer@acme.example" in page
    assert re.search(r'value="approver"[^>]*checked|checked[^>]*value="approver"', page)
    assert 'data-testid="deactivate"' in page and "data-confirm" in page
    assert "changed roles" in page and "added the user" in page


def test_role_change_is_saved_and_audited(world, login_as):
    admin, buyer = world.user("admin@acme"), world.user("buyer@acme")
    response = login_as(admin).post(f"/admin/users/{buyer.id}/roles",
                                    data={"roles": ["buyer", "approver"],
                                          "approval_limit": "3000"})
    assert response.status_code == 302
    fresh = reload(buyer)
    assert fresh.roles == {Role.BUYER, Role.APPROVER}
    assert fresh.approval_limit == Decimal("3000.00")
    (event_,) = events("user.roles_changed")
    assert event_.actor_id == admin.id and event_.object_id == buyer.id


def test_role_change_with_htmx_returns_the_panel(world, login_as):
    admin, buyer = world.user("admin@acme"), world.user("buyer@acme")
    response = login_as(admin).post(f"/admin/users/{buyer.id}/roles",
                                    data={"roles": ["approver"]}, headers=HX)
    assert response.status_code == 200
    assert "<html" not in response.text and 'id="user-panel"' in response.text
    assert "changed roles" in response.text
    assert "Bartosz Nowak" in response.headers["HX-Trigger"]
    assert reload(buyer).roles == {Role.APPROVER}


def test_an_admin_cannot_remove_their_own_admin_role(world, login_as):
    admin = world.user("admin@acme")
    add_users(world.acme, 1, prefix="boss", roles=("admin",))
    client = login_as(admin)
    response = client.post(f"/admin/users/{admin.id}/roles", data={"roles": ["buyer"]})
    assert response.status_code == 422
    assert "You cannot remove your own admin role." in response.text
    htmx_response = client.post(f"/admin/users/{admin.id}/roles", data={"roles": ["buyer"]},
                                headers=HX)
    assert htmx_response.status_code == 422 and "<html" not in htmx_response.text
    assert "your own admin role" in htmx_response.text
    assert reload(admin).roles == {Role.ADMIN}
    assert events("user.roles_changed") == []


def test_another_admin_may_take_an_admin_role_away(world, login_as):
    (boss,) = add_users(world.acme, 1, prefix="boss", roles=("admin",))
    response = login_as(world.user("admin@acme")).post(f"/admin/users/{boss.id}/roles",
                                                       data={"roles": ["buyer"]})
    assert response.status_code == 302
    assert reload(boss).roles == {Role.BUYER}


def test_invalid_roles_on_the_user_page_are_refused(world, login_as):
    buyer = world.user("buyer@acme")
    client = login_as(world.user("admin@acme"))
    for data in ({"roles": ["god"]}, {"roles": []}, {"roles": ["approver"],
                                                      "approval_limit": "-1"}):
        assert client.post(f"/admin/users/{buyer.id}/roles", data=data).status_code == 422
    assert reload(buyer).roles == {Role.BUYER}


def test_deactivation_ends_the_users_sessions_at_once(world, login_as):
    buyer = world.user("buyer@acme")
    buyer_client = login_as(buyer)
    assert buyer_client.get("/").status_code == 200
    admin_client = login_as(world.user("admin@acme"))
    response = admin_client.post(f"/admin/users/{buyer.id}/deactivate", follow_redirects=True)
    assert response.status_code == 200 and "signed out everywhere" in response.text
    assert 'data-testid="reactivate"' in response.text
    after = buyer_client.get("/")
    assert after.status_code == 302 and "/login" in after.headers["Location"]
    assert reload(buyer).is_active is False
    assert len(events("user.deactivated")) == 1


def test_an_admin_cannot_deactivate_themselves(world, login_as):
    admin = world.user("admin@acme")
    client = login_as(admin)
    page = client.get(f"/admin/users/{admin.id}").text
    assert 'data-testid="deactivate"' not in page
    response = client.post(f"/admin/users/{admin.id}/deactivate", follow_redirects=True)
    assert "You cannot deactivate yourself." in response.text
    assert reload(admin).is_active
    assert client.get("/admin/users").status_code == 200


def test_reactivation_lets_the_user_sign_in_again(world, login_as, client):
    admin, buyer = world.user("admin@acme"), world.user("buyer@acme")
    admin_client = login_as(admin)
    admin_client.post(f"/admin/users/{buyer.id}/deactivate")
    response = admin_client.post(f"/admin/users/{buyer.id}/reactivate")
    assert response.status_code == 302
    assert reload(buyer).is_active
    assert len(events("user.reactivated")) == 1
    signed_in = client.post("/login", data={"email": "buyer@acme.example",
                                            "password": "portal-demo-2026"})
    assert signed_in.status_code == 302
    # Reactivating an active user is refused by the rule.
    assert admin_client.post(f"/admin/users/{buyer.id}/reactivate").status_code == 403


# Supplier organisations --------------------------------------------------------------------


def test_a_supplier_admin_manages_the_suppliers_users(world, login_as, app):
    client = login_as(world.user("sales@nordwind"))
    listing = client.get("/admin/users").text
    assert listing.count('data-testid="user-row"') == len(emails_of(world, world.nordwind))
    assert "sales@nordwind.example" in listing
    assert "acme" not in listing
    refused = invite(client, email="rep@nordwind.example", roles=["buyer"])
    assert refused.status_code == 422 and "Unknown role" in refused.text
    assert invite(client, email="rep@nordwind.example", roles=["supplier_sales"]).status_code == 302
    token = token_from_mail(mail.outbox[-1])
    newcomer = app.test_client()
    newcomer.post(f"/invitations/{token}", data={
        "full_name": "Rita Rep", "password": "a long enough passphrase",
        "confirm": "a long enough passphrase"})
    with as_system():
        rep = db.session.scalars(select(User).where(User.email == "rep@nordwind.example")).one()
    assert rep.organization_id == world.nordwind.id and rep.roles == {Role.SUPPLIER_SALES}
    assert client.post(f"/admin/users/{rep.id}/roles",
                       data={"roles": ["supplier_sales", "supplier_admin"]}).status_code == 302
    assert reload(rep).roles == {Role.SUPPLIER_SALES, Role.SUPPLIER_ADMIN}
    assert client.post(f"/admin/users/{rep.id}/deactivate").status_code == 302
    assert reload(rep).is_active is False
    assert newcomer.get("/").status_code == 302
    # Acme's admin cannot see Nordwind's users.
    assert login_as(world.user("admin@acme")).get(f"/admin/users/{rep.id}").status_code == 404


# Company profile ---------------------------------------------------------------------------


def profile(org, **changes) -> dict:
    data = {k: getattr(org, k) for k in ("name", "legal_name", "tax_id", "address_line",
                                         "postal_code", "city", "country", "currency", "locale")}
    data.update(changes)
    return data


def test_profile_page_shows_the_company(world, login_as):
    page = login_as(world.user("admin@acme")).get("/admin/organization").text
    assert 'value="Acme Manufacturing Sp. z o.o."' in page
    assert 'value="7792433504"' in page
    assert '<option selected value="PL">' in page or re.search(r'value="PL"[^>]*selected', page)


def test_an_invalid_nip_is_refused_and_nothing_saved(world, login_as):
    response = login_as(world.user("admin@acme")).post(
        "/admin/organization", data=profile(world.acme, tax_id="1234567890", city="Gniezno"))
    assert response.status_code == 422
    assert "not a valid NIP" in response.text
    fresh = reload(world.acme)
    assert fresh.tax_id == "7792433504" and fresh.city == "Poznań"
    assert events("org.updated") == []


def test_another_companys_tax_id_is_refused(world, login_as):
    response = login_as(world.user("admin@acme")).post(
        "/admin/organization", data=profile(world.acme, tax_id=world.polbud.tax_id))
    assert response.status_code == 422
    assert "already registered" in response.text
    assert reload(world.acme).tax_id == "7792433504"


def test_unknown_choices_are_refused(world, login_as):
    client = login_as(world.user("admin@acme"))
    for change in ({"currency": "XXX"}, {"country": "US"}, {"locale": "de"}, {"name": ""}):
        response = client.post("/admin/organization", data=profile(world.acme, **change))
        assert response.status_code == 422, change
    assert reload(world.acme).currency == "PLN"


def test_a_valid_profile_update_is_saved_and_audited(world, login_as):
    client = login_as(world.user("admin@acme"))
    response = client.post("/admin/organization", data=profile(
        world.acme, city="Gniezno", tax_id="PL 779-243-35-04", currency="EUR"))
    assert response.status_code == 302
    fresh = reload(world.acme)
    assert (fresh.city, fresh.tax_id, fresh.currency) == ("Gniezno", "7792433504", "EUR")
    (event_,) = events("org.updated")
    assert event_.summary["city"] == ["Poznań", "Gniezno"]
    assert "tax_id" not in event_.summary
    assert "updated the company profile" in client.get("/admin/organization").text


def test_a_supplier_admin_edits_the_suppliers_profile(world, login_as):
    client = login_as(world.user("sales@nordwind"))
    assert client.post("/admin/organization", data=profile(
        world.nordwind, tax_id="DE000000000")).status_code == 422
    assert client.post("/admin/organization", data=profile(
        world.nordwind, name="Nordwind")).status_code == 302
    assert reload(world.nordwind).name == "Nordwind"


# Audit log ---------------------------------------------------------------------------------


def test_audit_log_lists_the_organisations_events_newest_first(world, login_as):
    admin, buyer = world.user("admin@acme"), world.user("buyer@acme")
    client = login_as(admin)
    client.post(f"/admin/users/{buyer.id}/deactivate")
    client.post("/admin/organization", data=profile(world.acme, city="Gniezno"))
    page = client.get("/admin/audit").text
    rows = page.split('data-testid="audit-row"')[1:]
    assert "updated the company profile" in rows[0] and "Acme Manufacturing" in rows[0]
    assert "deactivated the user" in rows[1] and "Bartosz Nowak" in rows[1]
    assert f'href="/admin/users/{buyer.id}"' in rows[1]
    assert "Anna Kowalska" in rows[0]
    assert "Georgi Petrov" not in page and "Globex" not in page


def test_audit_log_filters_by_object_type(world, login_as):
    client = login_as(world.user("admin@acme"))
    client.post("/admin/organization", data=profile(world.acme, city="Gniezno"))
    org_only = client.get("/admin/audit?object_type=Organization").text
    assert org_only.count('data-testid="audit-row"') == 1
    suppliers = client.get("/admin/audit?object_type=SupplierLink").text
    assert "linked the supplier" in suppliers and "added the user" not in suppliers
    user_events = client.get("/admin/audit?object_type=User", headers=HX).text
    assert "<html" not in user_events and "added the user" in user_events
    assert "linked the supplier" not in user_events


def test_audit_log_filter_offers_every_object_type_and_the_companys_people(world, login_as):
    from portal.domain.audit_events import EVENT_OBJECTS, OBJECT_TYPES

    assert set(EVENT_OBJECTS.values()) <= set(OBJECT_TYPES)
    page = login_as(world.user("admin@acme")).get("/admin/audit").text
    for type_name in OBJECT_TYPES:
        assert f'<option value="{type_name}"' in page
    assert f'<option value="{world.user("buyer@acme").id}"' in page
    assert f'<option value="{world.user("admin@globex").id}"' not in page


def test_audit_log_filters_by_actor_and_date_range(world, login_as):
    admin, buyer = world.user("admin@acme"), world.user("buyer@acme")
    with as_system():  # the demo world's events happened ten days ago
        for event in db.session.scalars(select(AuditEvent)):
            event.created_at = utcnow() - timedelta(days=10)
        db.session.commit()
    client = login_as(admin)
    client.post(f"/admin/users/{buyer.id}/deactivate")
    today = utcnow().date()
    mine = client.get(f"/admin/audit?actor={admin.id}&date_from={today}&date_to={today}").text
    assert mine.count('data-testid="audit-row"') == 1 and "deactivated the user" in mine
    yesterday = today - timedelta(days=1)
    before = client.get(f"/admin/audit?actor={admin.id}&date_to={yesterday}").text
    assert "deactivated the user" not in before and 'data-testid="audit-row"' in before
    nobody = client.get(f"/admin/audit?actor={buyer.id}&date_from={today}").text
    assert 'data-testid="audit-row"' not in nobody


@pytest.mark.parametrize("query", [
    "object_type=Nope", "object_type=AuditEvent", "actor=abc", "actor=99999999999999999999",
    "actor=-1", "date_from=2026-13-45", "date_from=10000-01-01", "date_from=0",
    "date_from=2026-12-05&date_to=2026-12-01", "date_to=NaN",
])
def test_audit_log_bad_filters_are_a_message_not_a_500(world, login_as, query):
    response = login_as(world.user("admin@acme")).get(f"/admin/audit?{query}")
    assert response.status_code == 422
    assert 'data-testid="filter-errors"' in response.text
    assert response.text.count('data-testid="audit-row"') > 0  # the log, unfiltered


@pytest.mark.parametrize("query, status", [
    ("before=abc", 422), ("before=99999999999999999999", 422), ("after=-5", 422),
    ("before=2147483647", 404),
])
def test_audit_log_bad_page_cursors(world, login_as, query, status):
    assert login_as(world.user("admin@acme")).get(f"/admin/audit?{query}").status_code == status


def test_audit_log_pages_by_key_without_counting_the_log(world, login_as, app):
    add_users(world.acme, app.config["PAGE_SIZE"])
    client = login_as(world.user("admin@acme"))
    first = client.get("/admin/audit?object_type=User").text
    assert first.count('data-testid="audit-row"') == app.config["PAGE_SIZE"]
    assert 'rel="next"' in first and 'rel="prev"' not in first
    older = re.search(r'href="(/admin/audit\?[^"]*before=\d+[^"]*)"', first).group(1)
    assert "object_type=User" in older
    with count_queries() as statements:
        second = client.get(older.replace("&amp;", "&")).text
    assert not [s for s in statements if "count(" in s.lower() and "audit_events" in s]
    assert 'data-testid="audit-row"' in second and 'rel="prev"' in second
    newer = re.search(r'href="(/admin/audit\?[^"]*after=\d+[^"]*)"', second).group(1)
    back = client.get(newer.replace("&amp;", "&")).text
    assert back.count('data-testid="audit-row"') == app.config["PAGE_SIZE"]
    assert _rows_of(back) == _rows_of(first)


def _rows_of(html: str) -> list[str]:
    return html.split('data-testid="audit-row"')[1:]


def test_audit_log_shows_changed_fields_before_and_after(world, login_as):
    client = login_as(world.user("admin@acme"))
    client.post("/admin/organization", data=profile(world.acme, city="Gniezno"))
    row = _rows_of(client.get("/admin/audit").text)[0]
    assert 'data-testid="audit-change"' in row
    assert "City:</span> <del>Poznań</del> → <ins>Gniezno</ins>" in row


def test_audit_log_names_and_links_every_object(world, login_as):
    admin = world.user("admin@acme")
    client = login_as(admin)
    for hours in ("24", "12"):
        client.post("/approvals/policy/settings", data={
            "reminder_hours": hours, "escalation_hours": "72", "escalation_user": "",
            "decide_once": "y"})
    page = client.get("/admin/audit").text
    row = _rows_of(page)[0]
    assert "changed the reminder and escalation settings" in row
    assert 'href="/approvals/policy/versions/' in row and "Approval policy, version" in row
    assert "Reminder after (hours):</span> <del>24</del> → <ins>12</ins>" in row
    assert "ApprovalPolicy #" not in page and "Requisition #" not in page


@pytest.mark.usefixtures("uncached_lists")
def test_audit_log_costs_no_extra_queries_per_row(world, login_as, app):
    add_users(world.acme, 2)
    client = login_as(world.user("admin@acme"))
    client.get("/admin/audit?object_type=User")  # warm up
    with count_queries() as few:
        client.get("/admin/audit?object_type=User")
    add_users(world.acme, app.config["PAGE_SIZE"], prefix="more")
    with count_queries() as many:
        page = client.get("/admin/audit?object_type=User").text
    assert page.count('data-testid="audit-row"') == app.config["PAGE_SIZE"]
    assert len(many) <= len(few)


def test_audit_log_names_the_people_and_categories_a_change_points_to(world, login_as):
    from portal.models import CostCenter
    from portal.services import cost_centers

    admin, cfo = world.user("admin@acme"), world.user("cfo@acme")
    with as_org(world.acme):
        center = db.session.scalars(select(CostCenter).where(
            CostCenter.organization_id == world.acme.id, CostCenter.manager_id != cfo.id)).first()
        old = center.manager.full_name if center.manager else "—"
        cost_centers.update_cost_center(center, code=center.code, name=center.name,
                                        manager_id=cfo.id, actor=admin)
        db.session.commit()
    row = _rows_of(login_as(admin).get("/admin/audit").text)[0]
    assert f"Manager:</span> <del>{old}</del> → <ins>Ewa Lewandowska</ins>" in row
