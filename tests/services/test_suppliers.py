"""Supplier links and supplier invitations: the rules, through the services."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm.attributes import set_committed_value

from portal.domain.terms import PaymentTerms
from portal.errors import InvalidTransition, NotFound, PermissionDenied, ValidationProblem
from portal.extensions import db
from portal.models import (
    AuditEvent,
    Invitation,
    InvoicingMode,
    LinkStatus,
    Organization,
    OrgKind,
    SupplierLink,
    User,
)
from portal.models.base import utcnow
from portal.services import supplier_invitations as invitations
from portal.services import suppliers
from portal.services.orgs import TaxIdProblem
from portal.services.supplier_invitations import InvitationState, JoinMode, joining
from portal.services.tokens import hash_token
from portal.tenancy import TenantScope, bound, scope_for
from tests.conftest import as_org, as_system

PASSWORD = "a long enough pass phrase"


def _invite(world, buyer="acme", **overrides):
    """Invite as the buyer's admin; returns (invitation id, token)."""
    data = dict(
        company_name="Stalex", email="office@stalex.example", full_name="Stefan Nowicki",
        payment_terms=PaymentTerms.net(21), currency="PLN", credit_limit=Decimal("75000.50"), days=7,
    )
    data.update(overrides)
    org = getattr(world, buyer)
    with as_org(org):
        invitation, token = invitations.invite_supplier(world.user(f"admin@{buyer}"), **data)
        db.session.commit()
    return invitation.id, token


def _register(token, **overrides):
    data = dict(
        name="Stalex", legal_name="Stalex Sp. z o.o.", tax_id="526-104-08-28", country="PL",
        currency="PLN", locale="pl", full_name="Stefan Nowicki", password=PASSWORD,
        min_length=12, city="Łódź",
    )
    data.update(overrides)
    return invitations.register_supplier(invitations.find_by_token(token), **data)


def _count(model, *where) -> int:
    with as_system():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _link(buyer, supplier) -> SupplierLink:
    db.session.expire_all()
    return suppliers.find_link_between(buyer.id, supplier.id)


def _events(action: str, **where) -> list[AuditEvent]:
    with as_system():
        query = select(AuditEvent).where(AuditEvent.action == action)
        for key, value in where.items():
            query = query.where(getattr(AuditEvent, key) == value)
        return list(db.session.scalars(query.order_by(AuditEvent.id)))


# --- inviting --------------------------------------------------------------------------------


def test_invite_supplier_stores_only_the_token_hash_and_audits(app, world):
    before = utcnow()
    invitation_id, token = _invite(world)

    with as_system():
        invitation = db.session.scalars(select(Invitation).where(Invitation.id == invitation_id)).one()
        assert invitation.kind == "supplier"
        assert invitation.organization_id == world.acme.id
        assert invitation.email == "office@stalex.example"
        assert invitation.token_hash == hash_token(token)
        assert token not in invitation.token_hash
        assert (invitation.payment_terms, invitation.currency) == (PaymentTerms.net(21), "PLN")
        assert invitation.credit_limit == Decimal("75000.50")
        days = app.config["INVITATION_DAYS"]
        assert before + timedelta(days=days) <= invitation.expires_at
        assert invitation.expires_at <= utcnow() + timedelta(days=days)
        assert invitations.state_of(invitation) == InvitationState.PENDING
    [event] = _events("supplier.invited")
    assert event.organization_id == world.acme.id
    assert event.actor_id == world.user("admin@acme").id
    assert event.summary["email"] == "office@stalex.example"


def test_invite_normalises_the_email(world):
    invitation_id, _token = _invite(world, email="  Office@STALEX.example ")
    with as_system():
        invitation = db.session.scalars(select(Invitation).where(Invitation.id == invitation_id)).one()
    assert invitation.email == "office@stalex.example"


def test_only_the_buyers_admin_invites(world):
    with as_org(world.acme), pytest.raises(PermissionDenied):
        invitations.invite_supplier(
            world.user("buyer@acme"), company_name="X", email="x@x.example",
            payment_terms=PaymentTerms.net(30), currency="PLN", days=7,
        )
    with as_org(world.nordwind), pytest.raises(PermissionDenied):
        invitations.invite_supplier(
            world.user("sales@nordwind"), company_name="X", email="x@x.example",
            payment_terms=PaymentTerms.net(30), currency="PLN", days=7,
        )
    assert _count(Invitation) == 0


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("buyer@globex.example", "buying company"),
        ("admin@acme.example", "buying company"),
        ("sales@polbud.example", "already your supplier"),
        ("sales@nordwind.example", "already your supplier"),
    ],
)
def test_invite_refuses_buyer_users_and_linked_suppliers(world, email, message):
    with as_org(world.acme), pytest.raises(ValidationProblem) as refused:
        invitations.invite_supplier(
            world.user("admin@acme"), company_name="X", email=email,
            payment_terms=PaymentTerms.net(30), currency="PLN", days=7,
        )
    assert message in str(refused.value.message)
    db.session.rollback()
    assert _count(Invitation) == 0


def test_invite_of_a_blocked_supplier_points_to_unblock(world):
    with as_org(world.acme):
        link = suppliers.get_link(world.user("admin@acme"), _link(world.acme, world.polbud).id)
        suppliers.block(link, actor=world.user("admin@acme"), comment="Quality problems")
        with pytest.raises(ValidationProblem) as refused:
            invitations.invite_supplier(
                world.user("admin@acme"), company_name="Polbud", email="sales@polbud.example",
                payment_terms=PaymentTerms.net(30), currency="PLN", days=7,
            )
    assert "blocked" in str(refused.value.message)


def test_invite_refuses_a_second_pending_invitation_but_supersedes_an_expired_one(world):
    first_id, _ = _invite(world)
    with as_org(world.acme), pytest.raises(ValidationProblem) as refused:
        invitations.invite_supplier(
            world.user("admin@acme"), company_name="Stalex", email="office@stalex.example",
            payment_terms=PaymentTerms.net(30), currency="PLN", days=7,
        )
    assert "already pending" in str(refused.value.message)
    db.session.rollback()
    # Another buyer may invite the same address independently.
    _invite(world, buyer="globex", currency="EUR")

    with as_system():
        first = db.session.scalars(select(Invitation).where(Invitation.id == first_id)).one()
        first.expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    second_id, _ = _invite(world)
    with as_system():
        first = db.session.scalars(select(Invitation).where(Invitation.id == first_id)).one()
        assert first.revoked_at is not None
    assert second_id != first_id


@pytest.mark.parametrize(
    ("terms", "currency", "limit", "message"),
    [
        (None, "PLN", None, "Choose the payment terms"),
        ({"kind": "net", "days": 30}, "PLN", None, "Choose the payment terms"),
        (PaymentTerms.net(30), "XXX", None, "Choose a currency from the list"),
        (PaymentTerms.net(30), "pln", None, "Choose a currency from the list"),
        (PaymentTerms.net(30), "PLN", Decimal("-0.01"), "negative"),
        (PaymentTerms.net(30), "PLN", Decimal("NaN"), "negative"),
    ],
)
def test_invite_refuses_bad_terms(world, terms, currency, limit, message):
    with as_org(world.acme), pytest.raises(ValidationProblem) as refused:
        invitations.invite_supplier(
            world.user("admin@acme"), company_name="X", email="x@x.example",
            payment_terms=terms, currency=currency, credit_limit=limit, days=7,
        )
    assert message in str(refused.value.message)
    db.session.rollback()
    assert _count(Invitation) == 0


def test_revoke_and_resend(world):
    invitation_id, old_token = _invite(world)
    admin = world.user("admin@acme")
    with as_org(world.acme):
        invitation = invitations.get_invitation(admin, invitation_id)
        new_token = invitations.resend_invitation(invitation, actor=admin, days=7)
        db.session.commit()
    assert new_token != old_token
    assert invitations.find_by_token(old_token) is None
    assert invitations.find_by_token(new_token).id == invitation_id

    with as_org(world.acme):
        invitation = invitations.get_invitation(admin, invitation_id)
        invitations.revoke_invitation(invitation, actor=admin)
        db.session.commit()
        assert invitations.state_of(invitation) == InvitationState.REVOKED
        with pytest.raises(InvalidTransition):
            invitations.revoke_invitation(invitation, actor=admin)
        with pytest.raises(InvalidTransition):
            invitations.resend_invitation(invitation, actor=admin, days=7)
    assert [e.action for e in _events("supplier.invitation_resent")] == [
        "supplier.invitation_resent"
    ]
    assert len(_events("supplier.invitation_revoked")) == 1


def test_another_buyers_invitation_is_not_found(world):
    invitation_id, _ = _invite(world)
    with as_org(world.globex), pytest.raises(NotFound):
        invitations.get_invitation(world.user("admin@globex"), invitation_id)


# --- registering a new supplier ---------------------------------------------------------------


def test_register_creates_the_supplier_its_admin_and_the_active_link(world):
    invitation_id, token = _invite(world)
    assert invitations.join_mode(invitations.find_by_token(token), None) == JoinMode.REGISTER

    user, link = _register(token)
    db.session.commit()

    with as_system():
        org = db.session.scalars(select(Organization).where(Organization.name == "Stalex")).one()
        assert org.kind == OrgKind.SUPPLIER
        assert org.tax_id == "5261040828"
        assert (org.country, org.currency, org.locale, org.city) == ("PL", "PLN", "pl", "Łódź")
        user = db.session.scalars(select(User).where(User.email == "office@stalex.example")).one()
        assert user.organization_id == org.id
        assert {str(r) for r in user.roles} == {"supplier_admin", "supplier_sales"}
        assert user.password_hash and PASSWORD not in user.password_hash
        link = db.session.scalars(select(SupplierLink).where(SupplierLink.supplier_id == org.id)).one()
        assert link.organization_id == world.acme.id
        assert link.status == LinkStatus.ACTIVE
        assert (link.payment_terms, link.currency, link.credit_limit) == (
            PaymentTerms.net(21), "PLN", Decimal("75000.50"),
        )
        assert link.invited_by_id == world.user("admin@acme").id
        invitation = db.session.scalars(select(Invitation).where(Invitation.id == invitation_id)).one()
        assert invitations.state_of(invitation) == InvitationState.ACCEPTED
    [linked] = _events("supplier.linked", supplier_id=org.id)
    assert linked.organization_id == world.acme.id
    assert linked.actor_id == user.id
    assert linked.summary["invitation_id"] == invitation_id
    assert scope_for(db.session, org).buyer_ids == (world.acme.id,)


def test_register_with_an_invalid_nip_saves_nothing(world):
    invitation_id, token = _invite(world)
    with pytest.raises(TaxIdProblem):
        _register(token, tax_id="5261040827")
    db.session.rollback()
    assert _count(Organization, Organization.name == "Stalex") == 0
    assert _count(User, User.email == "office@stalex.example") == 0
    assert invitations.state_of(invitations.find_by_token(token)) == InvitationState.PENDING


def test_register_validates_eu_vat_ids_and_refuses_taken_ones(world):
    _, token = _invite(world)
    with pytest.raises(TaxIdProblem):
        _register(token, country="DE", tax_id="DE123456789")
    db.session.rollback()
    with pytest.raises(TaxIdProblem, match="already registered"):
        _register(token, country="PL", tax_id="5270391800")  # Polbud's NIP
    db.session.rollback()
    user, _link = _register(token, country="DE", tax_id="DE136695976", currency="EUR")
    assert user.organization.tax_id == "DE136695976"


def test_register_refuses_a_weak_password(world):
    _, token = _invite(world)
    with pytest.raises(ValidationProblem):
        _register(token, password="short")
    db.session.rollback()
    assert _count(Organization, Organization.name == "Stalex") == 0


def test_an_invitation_registers_only_once(world):
    _, token = _invite(world)
    _register(token)
    db.session.commit()
    with pytest.raises(InvalidTransition):
        _register(token, name="Stalex 2", tax_id="7792433504")


def test_consuming_an_invitation_is_atomic(world):
    """Two submissions racing with the same link: the guarded UPDATE lets one through."""
    _, token = _invite(world)
    invitation = invitations.find_by_token(token)
    with bound(db.session, TenantScope(world.acme.id)):
        joining._consume(invitation, utcnow())
        # The loser read the invitation before the winner wrote: in memory it is still open.
        set_committed_value(invitation, "accepted_at", None)
        with pytest.raises(InvalidTransition):
            joining._consume(invitation, utcnow())


def test_register_is_refused_for_an_email_with_an_account(world):
    _, token = _invite(world, email="newcomer@stalex.example")
    with as_system():
        # Someone registered the address elsewhere after the invitation was sent.
        from portal.services import users

        users.create_user(world.nordwind, email="newcomer@stalex.example", full_name="N",
                          roles=["supplier_sales"], password=PASSWORD)
        db.session.commit()
    invitation = invitations.find_by_token(token)
    assert invitations.join_mode(invitation, None) == JoinMode.SIGN_IN
    with pytest.raises(ValidationProblem, match="Sign in"):
        _register(token)


def test_expired_and_revoked_invitations_cannot_be_used(world):
    invitation_id, token = _invite(world)
    with as_system():
        invitation = db.session.scalars(select(Invitation).where(Invitation.id == invitation_id)).one()
        invitation.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert invitations.state_of(invitations.find_by_token(token)) == InvitationState.EXPIRED
    with pytest.raises(InvalidTransition):
        _register(token)
    db.session.rollback()
    assert _count(Organization, Organization.name == "Stalex") == 0


def test_a_user_invitation_token_is_not_a_supplier_invitation(world):
    from portal.services.tokens import new_token

    token, digest = new_token()
    with as_system():
        db.session.add(Invitation(
            organization_id=world.acme.id, kind="user", email="person@x.example", roles="buyer",
            token_hash=digest, expires_at=utcnow() + timedelta(days=1),
            invited_by_id=world.user("admin@acme").id,
        ))
        db.session.commit()
    assert invitations.find_by_token(token) is None


# --- accepting for an existing supplier -------------------------------------------------------


def test_existing_supplier_admin_accepts_and_then_sees_the_buyer(world):
    _, token = _invite(world, buyer="globex", company_name="Polbud", email="sales@polbud.example",
                       currency="EUR", payment_terms=PaymentTerms.net(14), credit_limit=None)
    polbud_admin = world.user("sales@polbud")
    assert world.globex.id not in scope_for(db.session, world.polbud).buyer_ids
    invitation = invitations.find_by_token(token)
    assert invitations.join_mode(invitation, None) == JoinMode.SIGN_IN

    with as_org(world.polbud):
        assert invitations.join_mode(invitation, polbud_admin) == JoinMode.ACCEPT
        link = invitations.accept_for_organization(invitation, actor=polbud_admin)
        db.session.commit()

    link = _link(world.globex, world.polbud)
    assert link.status == LinkStatus.ACTIVE
    assert (link.payment_terms, link.currency, link.credit_limit) == (
        PaymentTerms.net(14), "EUR", None)
    assert world.globex.id in scope_for(db.session, world.polbud).buyer_ids
    with as_org(world.polbud):
        names = [lk.buyer.name for lk in suppliers.list_customers(polbud_admin).items]
    assert names == ["Acme Manufacturing", "Globex Trading"]
    [event] = _events("supplier.linked", organization_id=world.globex.id,
                      supplier_id=world.polbud.id)
    assert event.actor_id == polbud_admin.id
    # Accepting twice is refused: the invitation is used.
    with as_org(world.polbud), pytest.raises(InvalidTransition):
        invitations.accept_for_organization(invitations.find_by_token(token), actor=polbud_admin)


def test_a_supplier_admin_may_accept_an_invitation_to_an_unknown_address(world):
    _, token = _invite(world, buyer="globex", email="orders@polbud.example", currency="EUR")
    with as_org(world.polbud):
        invitations.accept_for_organization(
            invitations.find_by_token(token), actor=world.user("sales@polbud")
        )
    assert _link(world.globex, world.polbud).status == LinkStatus.ACTIVE


def test_who_may_not_accept(world):
    from portal.services import users

    with as_system():
        clerk = users.create_user(world.polbud, email="clerk@polbud.example", full_name="Clerk",
                                  roles=["supplier_sales"], password=PASSWORD)
        db.session.commit()
    _, token = _invite(world, buyer="globex", email="sales@polbud.example", currency="EUR")
    invitation = invitations.find_by_token(token)
    cases = [
        (clerk, JoinMode.NOT_SUPPLIER_ADMIN, PermissionDenied),
        (world.user("sales@nordwind"), JoinMode.WRONG_ACCOUNT, PermissionDenied),
        (world.user("admin@acme"), JoinMode.BUYER_ACCOUNT, PermissionDenied),
    ]
    for actor, mode, error in cases:
        assert invitations.join_mode(invitation, actor) == mode
        with bound(db.session, scope_for(db.session, actor.organization)), pytest.raises(error):
            invitations.accept_for_organization(invitation, actor=actor)
        db.session.rollback()
    assert _link(world.globex, world.polbud) is None


def test_a_blocked_or_linked_supplier_cannot_accept(world):
    _, token = _invite(world, email="orders@polbud.example")
    polbud_admin = world.user("sales@polbud")
    invitation = invitations.find_by_token(token)
    with as_org(world.polbud):
        assert invitations.join_mode(invitation, polbud_admin) == JoinMode.ALREADY_LINKED
    with as_org(world.acme):
        link = suppliers.get_link(world.user("admin@acme"), _link(world.acme, world.polbud).id)
        suppliers.block(link, actor=world.user("admin@acme"), comment="Late deliveries")
        db.session.commit()
    with as_org(world.polbud):
        assert invitations.join_mode(invitation, polbud_admin) == JoinMode.REFUSED
        with pytest.raises(ValidationProblem):
            invitations.accept_for_organization(invitation, actor=polbud_admin)
    db.session.rollback()
    # The supplier cannot unblock itself by accepting an invitation.
    assert _link(world.acme, world.polbud).status == LinkStatus.BLOCKED


# --- links: block, unblock, terms -------------------------------------------------------------


def test_block_and_unblock_are_audited_and_change_what_the_supplier_sees(world):
    admin = world.user("admin@acme")
    with as_org(world.acme):
        link = suppliers.get_link(admin, _link(world.acme, world.polbud).id)
        suppliers.block(link, actor=admin, comment="Unpaid penalties")
        db.session.commit()
    scope = scope_for(db.session, world.polbud)
    assert world.acme.id in scope.blocked_buyer_ids and not scope.may_work_for(world.acme.id)
    with as_org(world.polbud):
        # Still its customer to read (marked blocked), no longer one to work for.
        [listed] = suppliers.list_customers(world.user("sales@polbud")).items
        assert (listed.id, listed.status) == (link.id, LinkStatus.BLOCKED)
        assert suppliers.get_customer_link(world.user("sales@polbud"), link.id).status == (
            LinkStatus.BLOCKED
        )

    with as_org(world.acme):
        link = suppliers.get_link(admin, link.id)
        with pytest.raises(InvalidTransition, match="blocked"):
            suppliers.block(link, actor=admin, comment="again")
        suppliers.unblock(link, actor=admin, comment="Settled")
        db.session.commit()
        with pytest.raises(InvalidTransition):
            suppliers.unblock(link, actor=admin)
    assert world.acme.id in scope_for(db.session, world.polbud).buyer_ids
    [blocked] = _events("supplier.blocked")
    assert blocked.comment == "Unpaid penalties"
    assert blocked.summary["status"] == ["active", "blocked"]
    assert (blocked.organization_id, blocked.supplier_id) == (world.acme.id, world.polbud.id)
    [unblocked] = _events("supplier.unblocked")
    assert unblocked.comment == "Settled"


def test_block_needs_a_reason_and_the_admin(world):
    with as_org(world.acme):
        link = suppliers.get_link(world.user("admin@acme"), _link(world.acme, world.polbud).id)
        with pytest.raises(ValidationProblem):
            suppliers.block(link, actor=world.user("admin@acme"), comment="   ")
        with pytest.raises(PermissionDenied):
            suppliers.block(link, actor=world.user("buyer@acme"), comment="no")
        with pytest.raises(PermissionDenied):
            suppliers.update_terms(link, actor=world.user("approver@acme"),
                                   payment_terms=PaymentTerms.net(10), currency="PLN", credit_limit=None)
    with as_org(world.globex), pytest.raises(NotFound):
        # Even handed another buyer's link, an admin cannot change it: not found, never 403.
        suppliers.block(link, actor=world.user("admin@globex"), comment="no")
    assert _link(world.acme, world.polbud).status == LinkStatus.ACTIVE


def test_update_terms_audits_only_real_changes(world):
    admin = world.user("admin@acme")
    with as_org(world.acme):
        link = suppliers.get_link(admin, _link(world.acme, world.polbud).id)
        suppliers.update_terms(link, actor=admin, payment_terms=PaymentTerms.net(45), currency="PLN",
                               credit_limit=Decimal("500000"))
        assert _events("supplier.terms_changed") == []
        suppliers.update_terms(link, actor=admin, payment_terms=PaymentTerms.net(60), currency="EUR",
                               credit_limit=None)
        db.session.commit()
    [event] = _events("supplier.terms_changed")
    assert event.summary == {
        "before": {"terms": {"kind": "net", "days": 45}, "currency": "PLN",
                   "credit_limit": "500000.00", "invoicing": "per_order", "price_tolerance": "0.00"},
        "after": {"terms": {"kind": "net", "days": 60}, "currency": "EUR", "credit_limit": None,
                  "invoicing": "per_order", "price_tolerance": "0.00"},
    }
    link = _link(world.acme, world.polbud)
    assert (link.payment_terms, link.currency, link.credit_limit) == (
        PaymentTerms.net(60), "EUR", None)


def test_update_terms_sets_invoicing_and_price_tolerance(world):
    admin = world.user("admin@acme")
    with as_org(world.acme):
        link = suppliers.get_link(admin, _link(world.acme, world.polbud).id)
        terms = {"payment_terms": link.payment_terms, "currency": link.currency,
                 "credit_limit": link.credit_limit}
        suppliers.update_terms(link, actor=admin, **terms, invoicing=InvoicingMode.MONTHLY,
                               price_tolerance=Decimal("0.75"))
        db.session.commit()
        [event] = _events("supplier.terms_changed")
        assert event.summary["before"]["invoicing"] == "per_order"
        assert event.summary["after"]["invoicing"] == "monthly"
        assert (event.summary["before"]["price_tolerance"], event.summary["after"]["price_tolerance"]) == (
            "0.00", "0.75")
        # Left out: unchanged.
        suppliers.update_terms(link, actor=admin, **terms)
        db.session.commit()
        assert len(_events("supplier.terms_changed")) == 1
        for bad in (Decimal("-1"), Decimal("100.01"), Decimal("2.555")):
            with pytest.raises(ValidationProblem):
                suppliers.update_terms(link, actor=admin, **terms, price_tolerance=bad)
    link = _link(world.acme, world.polbud)
    assert (link.invoicing, link.price_tolerance) == (InvoicingMode.MONTHLY, Decimal("0.75"))


# --- reading ------------------------------------------------------------------------------------


def test_each_buyer_lists_only_its_own_suppliers(world):
    with as_org(world.acme):
        acme = suppliers.list_suppliers(world.user("buyer@acme"))
        assert [link.supplier.name for link in acme.items] == ["Nordwind Supplies", "Polbud"]
        found = suppliers.list_suppliers(world.user("buyer@acme"), search="pol")
        assert [link.supplier.name for link in found.items] == ["Polbud"]
        by_nip = suppliers.list_suppliers(world.user("buyer@acme"), search="5270391800")
        assert [link.supplier.name for link in by_nip.items] == ["Polbud"]
        assert suppliers.list_suppliers(world.user("buyer@acme"), search="%").items == []
        assert suppliers.list_suppliers(world.user("buyer@acme"), status="blocked").items == []
    with as_org(world.globex):
        globex = suppliers.list_suppliers(world.user("admin@globex"))
        assert [link.supplier.name for link in globex.items] == ["Nordwind Supplies"]
        polbud_link = _link(world.acme, world.polbud)
        with pytest.raises(NotFound):
            suppliers.get_link(world.user("admin@globex"), polbud_link.id)


def test_a_supplier_lists_only_its_active_customers(world):
    with as_org(world.nordwind):
        names = [lk.buyer.name for lk in suppliers.list_customers(world.user("sales@nordwind")).items]
    assert names == ["Acme Manufacturing", "Globex Trading"]
    with as_org(world.polbud):
        names = [lk.buyer.name for lk in suppliers.list_customers(world.user("sales@polbud")).items]
    assert names == ["Acme Manufacturing"]


def test_the_timeline_names_the_suppliers_user_and_the_invitation(world):
    _, token = _invite(world)
    user, link = _register(token)
    db.session.commit()
    link_id, acme_id, admin_id = link.id, world.acme.id, world.user("admin@acme").id
    # A fresh session, as in a request: the supplier's user is not in the identity map.
    db.session.expunge_all()
    with bound(db.session, TenantScope(acme_id)):
        admin = db.session.scalars(select(User).where(User.id == admin_id)).one()
        link = suppliers.get_link(admin, link_id)
        events = suppliers.link_timeline(link)
        assert [e.action for e in events] == ["supplier.invited", "supplier.linked"]
        assert events[0].actor.full_name == "Anna Kowalska"
        assert events[1].actor.full_name == "Stefan Nowicki"
