"""The public invitation page: an invited person joins their organisation."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.domain.roles import Role
from portal.extensions import db
from portal.models import AuditEvent, Invitation, User
from portal.models.base import utcnow
from portal.services import invitations
from tests.conftest import as_org, as_system, csrf_token_from, login, reload

PASSWORD = "a long enough passphrase"


@pytest.fixture
def invited(world, app):
    """An invitation from Acme's admin: (invitation, token)."""
    with app.test_request_context(), as_org(world.acme):
        invitation, token = invitations.invite_user(
            world.acme, actor=world.user("admin@acme"), email="nina@acme.example",
            full_name="Nina Nowa", roles=["buyer", "approver"], approval_limit=Decimal("4000"),
            days=7,
        )
        db.session.commit()
    return invitation, token


def accept(client, token, **data):
    form = {"full_name": "Nina Nowa", "password": PASSWORD, "confirm": PASSWORD}
    form.update(data)
    return client.post(f"/invitations/{token}", data=form)


def nina() -> User | None:
    with as_system():
        db.session.expire_all()
        return db.session.scalars(select(User).where(User.email == "nina@acme.example")).first()


def set_invitation(invitation, **values) -> None:
    with as_system():
        row = reload(invitation)
        for key, value in values.items():
            setattr(row, key, value)
        db.session.commit()


def test_the_page_shows_the_company_and_roles(client, invited):
    _, token = invited
    response = client.get(f"/invitations/{token}")
    assert response.status_code == 200
    assert "Acme Manufacturing Sp. z o.o." in response.text
    assert "Buyer" in response.text and "Approver" in response.text
    assert "nina@acme.example" in response.text
    assert 'value="Nina Nowa"' in response.text
    assert 'name="password"' in response.text and 'name="confirm"' in response.text


def test_accepting_creates_the_user_and_signs_them_in(client, invited, world):
    invitation, token = invited
    response = accept(client, token, full_name="Nina Nowa-Kowalska")
    assert response.status_code == 302 and response.headers["Location"].endswith("/")
    user = nina()
    assert user.organization_id == world.acme.id
    assert user.full_name == "Nina Nowa-Kowalska"
    assert user.roles == {Role.BUYER, Role.APPROVER}
    assert user.approval_limit == Decimal("4000.00")
    assert user.is_active
    assert reload(invitation).accepted_at is not None
    with as_system():
        actions = set(db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.object_type == "User",
                                            AuditEvent.object_id == user.id)))
    assert actions == {"user.created", "user.invitation_accepted"}
    dashboard = client.get("/")
    assert dashboard.status_code == 200
    # Nina has no language of her own: she reads Acme's, Polish.
    assert "Witamy w Acme Manufacturing Sp. z o.o., Nina Nowa-Kowalska" in dashboard.text
    assert "Acme Manufacturing" in dashboard.text
    # The password works for later sign-ins.
    other = client.application.test_client()
    signed_in = other.post("/login", data={"email": "nina@acme.example", "password": PASSWORD})
    assert signed_in.status_code == 302


def test_a_weak_password_is_refused(client, invited):
    invitation, token = invited
    response = accept(client, token, password="short", confirm="short")
    assert response.status_code == 422
    assert "at least 12 characters" in response.text
    common = accept(client, token, password="password1234", confirm="password1234")
    assert common.status_code == 422 and "too easy to guess" in common.text
    assert nina() is None
    assert reload(invitation).accepted_at is None


def test_the_passwords_must_match(client, invited):
    _, token = invited
    response = accept(client, token, confirm="a different passphrase")
    assert response.status_code == 422
    assert "do not match" in response.text
    assert nina() is None


def test_a_used_invitation_answers_410(client, invited, app):
    _, token = invited
    accept(client, token)
    again = app.test_client()
    assert again.get(f"/invitations/{token}").status_code == 410
    response = accept(again, token, full_name="Someone Else")
    assert response.status_code == 410
    assert "already accepted" in response.text
    assert nina().full_name == "Nina Nowa"


def test_an_expired_invitation_answers_410(client, invited):
    invitation, token = invited
    set_invitation(invitation, expires_at=utcnow() - timedelta(seconds=1))
    response = client.get(f"/invitations/{token}")
    assert response.status_code == 410
    assert "expired" in response.text
    assert accept(client, token).status_code == 410
    assert nina() is None


def test_a_revoked_invitation_answers_410(client, invited):
    invitation, token = invited
    set_invitation(invitation, revoked_at=utcnow())
    response = client.get(f"/invitations/{token}")
    assert response.status_code == 410
    assert "withdrawn" in response.text
    assert accept(client, token).status_code == 410
    assert nina() is None


def test_an_unknown_token_answers_404(client, world):
    response = client.get("/invitations/not-a-real-token")
    assert response.status_code == 404
    assert "not valid" in response.text
    assert accept(client, "not-a-real-token").status_code == 404


def test_a_supplier_invitation_token_is_not_a_user_invitation(client, world):
    from portal.services.tokens import new_token

    token, digest = new_token()
    with as_org(world.acme):
        db.session.add(Invitation(
            organization_id=world.acme.id, kind="supplier", email="boss@newco.example",
            company_name="Newco", token_hash=digest, expires_at=utcnow() + timedelta(days=7),
            invited_by_id=world.user("admin@acme").id,
        ))
        db.session.commit()
    assert client.get(f"/invitations/{token}").status_code == 404


def test_an_email_taken_meanwhile_is_explained(client, invited, world, app):
    _, token = invited
    with app.test_request_context(), as_org(world.globex):
        _, globex_token = invitations.invite_user(
            world.globex, actor=world.user("admin@globex"), email="nina@acme.example",
            full_name="Nina", roles=["buyer"], days=7,
        )
        db.session.commit()
    assert accept(app.test_client(), globex_token).status_code == 302
    response = accept(client, token)
    assert response.status_code == 422
    assert "already exists" in response.text
    assert nina().organization_id == world.globex.id


def test_the_accept_form_is_csrf_protected(client, invited, app):
    _, token = invited
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        assert accept(client, token).status_code == 400
        assert nina() is None
        csrf = csrf_token_from(client.get(f"/invitations/{token}").text)
        assert accept(client, token, csrf_token=csrf).status_code == 302
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert nina() is not None


def test_a_signed_in_visitor_becomes_the_new_user(client, invited, world):
    _, token = invited
    login(client, world.user("buyer@globex"))
    assert client.get(f"/invitations/{token}").status_code == 200
    assert accept(client, token).status_code == 302
    page = client.get("/").text
    assert "Nina Nowa" in page and "Acme Manufacturing" in page
