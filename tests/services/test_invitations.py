"""User invitations: invite, resend, revoke, accept."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from sqlalchemy import select

from portal import emails
from portal.domain.roles import Role
from portal.errors import InvalidTransition, NotFound, ValidationProblem
from portal.extensions import db
from portal.models import AuditEvent, Invitation, User
from portal.models.base import utcnow
from portal.services import invitations, mail
from portal.services.passwords import verify_password
from portal.services.tokens import hash_token
from portal.tenancy import bind
from tests.conftest import as_org, as_system, reload

PASSWORD = "a long enough passphrase"


@pytest.fixture(autouse=True)
def _request(app):
    # Messages are translated into the request's language: give the services a request.
    with app.test_request_context():
        yield


def _invite(world, email="new@acme.example", roles=("buyer",), org="acme", admin=None, **kw):
    org = getattr(world, org)
    admin = admin or world.user(f"admin@{org.name.split()[0].lower()}")
    with as_org(org):
        invitation, token = invitations.invite_user(
            org, actor=admin, email=email, full_name=kw.pop("full_name", "New Person"),
            roles=list(roles), days=kw.pop("days", 7), **kw,
        )
        db.session.commit()
    return invitation, token


def _all(model, *where):
    with as_system():
        return list(db.session.scalars(select(model).where(*where)))


def _accept(token, password=PASSWORD, full_name="New Person"):
    # An anonymous request: the session is bound to no organisation.
    bind(db.session, None)
    user = invitations.accept_invitation(token, full_name=full_name, password=password,
                                         min_length=12)
    db.session.commit()
    return user


def test_invite_stores_only_the_token_hash_and_audits(world):
    before = utcnow()
    invitation, token = _invite(world, email="  New@Acme.example ", roles=("approver", "buyer"),
                                approval_limit=Decimal("7500"))
    row = reload(invitation)
    assert row.kind == "user"
    assert row.email == "new@acme.example"
    assert row.roles == "approver,buyer"
    assert row.approval_limit == Decimal("7500.00")
    assert row.token_hash == hash_token(token) and token not in row.token_hash
    assert before + timedelta(days=7) <= row.expires_at <= utcnow() + timedelta(days=7)
    assert row.invited_by_id == world.user("admin@acme").id
    (event,) = _all(AuditEvent, AuditEvent.action == "user.invited")
    assert event.organization_id == world.acme.id
    assert event.summary == {"email": "new@acme.example", "roles": ["approver", "buyer"]}


def test_the_limit_is_kept_only_for_approvers(world):
    invitation, _ = _invite(world, roles=("buyer",), approval_limit=Decimal("100"))
    assert reload(invitation).approval_limit is None


@pytest.mark.parametrize("email", ["buyer@acme.example", "BUYER@globex.example"])
def test_invite_refuses_an_email_that_already_signs_in_anywhere(world, email):
    with pytest.raises(invitations.EmailUnavailable) as exc:
        _invite(world, email=email)
    assert "already exists" in str(exc.value.message)
    db.session.rollback()
    assert _all(Invitation) == []


def test_invite_refuses_a_second_pending_invitation_for_the_email(world):
    _invite(world)
    with pytest.raises(invitations.EmailUnavailable) as exc:
        _invite(world, email="NEW@acme.example")
    assert "pending invitation" in str(exc.value.message)
    db.session.rollback()
    assert len(_all(Invitation)) == 1


def test_another_company_may_invite_the_same_email(world):
    _invite(world)
    _invite(world, org="globex")
    assert len(_all(Invitation, Invitation.email == "new@acme.example")) == 2


def test_a_new_invitation_supersedes_an_expired_one(world):
    old, _ = _invite(world)
    with as_system():
        reload(old).expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    new, _ = _invite(world)
    assert reload(old).revoked_at is not None
    assert reload(new).revoked_at is None


@pytest.mark.parametrize(
    ("roles", "kw", "message"),
    [
        (("buyer", "root"), {}, "Unknown role"),
        (("supplier_sales",), {}, "Unknown role"),
        ((), {}, "at least one role"),
        (("approver",), {"approval_limit": Decimal("-0.01")}, "cannot be negative"),
        (("approver",), {"approval_limit": Decimal("NaN")}, "cannot be negative"),
    ],
)
def test_invite_refuses_bad_roles_and_limits(world, roles, kw, message):
    with pytest.raises(ValidationProblem) as exc:
        _invite(world, roles=roles, **kw)
    assert message in str(exc.value.message)
    db.session.rollback()
    assert _all(Invitation) == []


def test_a_supplier_invites_with_supplier_roles(world):
    invitation, token = _invite(world, email="new@nordwind.example", org="nordwind",
                                roles=("supplier_sales",), admin=world.user("sales@nordwind"))
    user = _accept(token)
    assert user.organization_id == world.nordwind.id
    assert reload(user).roles == {Role.SUPPLIER_SALES}
    with pytest.raises(ValidationProblem):
        _invite(world, email="other@nordwind.example", org="nordwind", roles=("buyer",),
                admin=world.user("sales@nordwind"))


def test_accept_creates_the_user_in_the_inviting_organisation(world):
    invitation, token = _invite(world, roles=("approver", "buyer"), approval_limit=Decimal("900"))
    user = _accept(token, full_name="  Nina Nowa ")
    fresh = reload(user)
    assert fresh.organization_id == world.acme.id
    assert fresh.email == "new@acme.example"
    assert fresh.full_name == "Nina Nowa"
    assert fresh.roles == {Role.APPROVER, Role.BUYER}
    assert fresh.approval_limit == Decimal("900.00")
    assert verify_password(fresh.password_hash, PASSWORD)
    assert fresh.last_login_at is not None
    assert reload(invitation).accepted_at is not None
    (accepted,) = _all(AuditEvent, AuditEvent.action == "user.invitation_accepted")
    assert accepted.actor_id == user.id and accepted.organization_id == world.acme.id
    (created,) = _all(AuditEvent, AuditEvent.action == "user.created",
                      AuditEvent.object_id == user.id)
    assert created.actor_id == world.user("admin@acme").id


def test_an_invitation_works_once(world):
    _, token = _invite(world)
    _accept(token)
    with pytest.raises(invitations.InvitationUnavailable) as exc:
        _accept(token)
    assert exc.value.status_code == 410
    assert exc.value.state == invitations.InvitationState.ACCEPTED
    db.session.rollback()
    assert len(_all(User, User.email == "new@acme.example")) == 1


def test_an_invitation_expires_after_the_configured_days(world):
    _, token = _invite(world, days=3)
    with time_machine.travel(utcnow() + timedelta(days=3, seconds=1)):
        with pytest.raises(invitations.InvitationUnavailable) as exc:
            _accept(token)
        assert exc.value.state == invitations.InvitationState.EXPIRED
    db.session.rollback()
    with time_machine.travel(utcnow() + timedelta(days=2, hours=23)):
        assert _accept(token).email == "new@acme.example"


def test_a_weak_password_creates_nothing(world):
    invitation, token = _invite(world)
    with pytest.raises(invitations.WeakPassword) as exc:
        _accept(token, password="short")
    assert "at least 12 characters" in str(exc.value.message)
    db.session.rollback()
    assert _all(User, User.email == "new@acme.example") == []
    assert reload(invitation).accepted_at is None


def test_accept_refuses_an_email_that_became_a_user_meanwhile(world):
    _, acme_token = _invite(world)
    _, globex_token = _invite(world, org="globex")
    _accept(globex_token)
    with pytest.raises(invitations.EmailUnavailable):
        _accept(acme_token)
    db.session.rollback()
    (user,) = _all(User, User.email == "new@acme.example")
    assert user.organization_id == world.globex.id


def test_an_unknown_token_is_not_found(world):
    with pytest.raises(NotFound):
        _accept("no-such-token")
    assert invitations.find_by_token("") is None
    assert invitations.find_by_token("x" * 500) is None


def test_find_by_token_reads_across_organisations_from_an_unbound_session(world):
    invitation, token = _invite(world)
    bind(db.session, None)
    found = invitations.find_by_token(token)
    assert found is not None and found.id == invitation.id
    assert found.organization.name == "Acme Manufacturing"


def test_supplier_invitations_are_not_user_invitations(world):
    admin = world.user("admin@acme")
    with as_org(world.acme):
        supplier_invitation = Invitation(
            organization_id=world.acme.id, kind="supplier", email="boss@newco.example",
            company_name="Newco", token_hash=hash_token("supplier-token"),
            expires_at=utcnow() + timedelta(days=7), invited_by_id=admin.id,
        )
        db.session.add(supplier_invitation)
        db.session.commit()
        assert invitations.open_invitations() == []
        assert invitations.get_invitation(supplier_invitation.id) is None
    assert invitations.find_by_token("supplier-token") is None


def test_resend_replaces_the_token_and_extends_the_expiry(world):
    invitation, old_token = _invite(world)
    with as_system():
        reload(invitation).expires_at = utcnow() - timedelta(days=1)
        db.session.commit()
    with as_org(world.acme):
        row = invitations.get_invitation(invitation.id)
        new_token = invitations.resend_invitation(row, actor=world.user("admin@acme"), days=7)
        db.session.commit()
    assert new_token != old_token
    assert invitations.find_by_token(old_token) is None
    fresh = reload(invitation)
    assert fresh.token_hash == hash_token(new_token)
    assert fresh.expires_at > utcnow() + timedelta(days=6)
    assert len(_all(AuditEvent, AuditEvent.action == "user.invitation_resent")) == 1
    assert _accept(new_token).email == "new@acme.example"


def test_revoke_closes_the_invitation(world):
    invitation, token = _invite(world)
    admin = world.user("admin@acme")
    with as_org(world.acme):
        row = invitations.get_invitation(invitation.id)
        invitations.revoke_invitation(row, actor=admin)
        db.session.commit()
        assert invitations.open_invitations() == []
        with pytest.raises(InvalidTransition):
            invitations.revoke_invitation(row, actor=admin)
        with pytest.raises(InvalidTransition):
            invitations.resend_invitation(row, actor=admin, days=7)
        db.session.rollback()
    with pytest.raises(invitations.InvitationUnavailable) as exc:
        _accept(token)
    assert exc.value.state == invitations.InvitationState.REVOKED
    assert len(_all(AuditEvent, AuditEvent.action == "user.invitation_revoked")) == 1


def test_open_invitations_are_the_current_organisations_newest_first(world):
    _invite(world, email="one@example.com")
    _invite(world, email="two@example.com")
    _invite(world, email="three@example.com", org="globex")
    with as_org(world.acme):
        listed = invitations.open_invitations()
        assert [i.email for i in listed] == ["two@example.com", "one@example.com"]
        assert listed[0].invited_by.email == "admin@acme.example"
        assert [i.email for i in invitations.open_invitations(limit=1)] == ["two@example.com"]
        assert invitations.open_invitation_count() == 2


def test_the_invitation_email_carries_the_link_in_the_companys_language(world):
    invitation, token = _invite(world, roles=("buyer", "approver"))
    with as_org(world.acme):
        row = invitations.get_invitation(invitation.id)
        emails.send_invitation_mail(row, f"https://portal.example/invitations/{token}",
                                         inviter=world.user("admin@acme"))
        assert mail.outbox == []  # sent once the transaction commits (the outbox)
        db.session.commit()
    (message,) = mail.outbox
    assert message["To"] == "new@acme.example"
    body = message.get_content()
    assert f"https://portal.example/invitations/{token}" in body
    assert "Anna Kowalska" in message["Subject"] or "Anna Kowalska" in body
    assert "Acme" in body
