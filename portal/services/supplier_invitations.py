"""Bringing suppliers in.

A buying company's admin invites a supplier company by email with proposed terms
(`Invitation`, kind "supplier", owned by the buyer; only the token's hash is stored). The
invitee opens the emailed link and either registers a new supplier organisation with its first
user, or, signed in as a supplier admin, accepts for an existing one. Either way the link goes
live with the proposed terms and the buyer's timeline records "supplier.linked".

The invitee is not (yet) a member of the buyer's tenant, so acceptance reads and writes across
tenants on purpose. Those places are confined to this module and commented.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from enum import StrEnum

from flask_babel import format_date, get_locale, gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from portal.domain.roles import Role
from portal.errors import InvalidTransition, NotFound, PermissionDenied, ValidationProblem
from portal.extensions import db
from portal.models import Invitation, LinkStatus, Organization, OrgKind, SupplierLink, User
from portal.models.base import utcnow
from portal.money import format_money
from portal.policies import can
from portal.services import audit, orgs, suppliers, users
from portal.services.auth import check_new_password, find_user_by_email, normalize_email
from portal.services.mail import send_mail
from portal.services.tokens import hash_token, new_token
from portal.tenancy import ALL_TENANTS, TenantScope, bound

KIND = "supplier"
SUPPLIER_ROLES = (Role.SUPPLIER_ADMIN.value, Role.SUPPLIER_SALES.value)


class InvitationState(StrEnum):
    PENDING = "pending"
    EXPIRED = "expired"
    ACCEPTED = "accepted"
    REVOKED = "revoked"


class JoinMode(StrEnum):
    """What the person holding a valid invitation link can do, given who is signed in."""

    REGISTER = "register"  # nobody signed in, no account for the email: a new supplier
    ACCEPT = "accept"  # a supplier admin is signed in and may accept for their organisation
    SIGN_IN = "sign_in"  # the email is a supplier user's, who has to sign in first
    WRONG_ACCOUNT = "wrong_account"  # signed in, but the email belongs to another organisation
    NOT_SUPPLIER_ADMIN = "not_supplier_admin"  # a supplier user without the admin role
    BUYER_ACCOUNT = "buyer_account"  # signed in as a buying company's user
    UNAVAILABLE = "unavailable"  # the email belongs to a buying company's user
    ALREADY_LINKED = "already_linked"  # the viewer's organisation already supplies this buyer
    REFUSED = "refused"  # the buyer blocked the viewer's organisation


def state_of(invitation: Invitation, now=None) -> InvitationState:
    """Where an invitation stands: accepted and revoked are final; otherwise by its expiry."""
    if invitation.accepted_at is not None:
        return InvitationState.ACCEPTED
    if invitation.revoked_at is not None:
        return InvitationState.REVOKED
    if invitation.expires_at <= (now or utcnow()):
        return InvitationState.EXPIRED
    return InvitationState.PENDING


# --- the buyer's side -----------------------------------------------------------------------


def _require_manager(actor) -> None:
    if not can(actor, "suppliers.manage"):
        raise PermissionDenied(_l("Only your company's admin can invite suppliers."))


def _pending_for_email(email: str, now):
    """This buyer's unexpired, open invitation (of any kind) to `email`, if one exists."""
    return db.session.scalars(
        select(Invitation).where(
            Invitation.email == email,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > now,
        )
    ).first()


def _open_query():
    """The current buyer's supplier invitations not yet accepted or revoked (maybe expired)."""
    return select(Invitation).where(
        Invitation.kind == KIND,
        Invitation.accepted_at.is_(None),
        Invitation.revoked_at.is_(None),
    )


def invite_supplier(
    actor,
    *,
    company_name: str,
    email: str,
    full_name: str = "",
    payment_terms_days: int,
    currency: str,
    credit_limit: Decimal | None = None,
    days: int,
) -> tuple[Invitation, str]:
    """Invite a supplier company to the actor's buying company with proposed terms.

    Returns the invitation and the raw token for the emailed link (only its hash is stored);
    the caller commits, then mails the link with `send_invitation`. Raises PermissionDenied
    unless the actor is the buyer's admin; ValidationProblem when the email belongs to a buying
    company's user, when its supplier is already linked to this buyer, when an invitation to it
    is pending, or when the terms are out of range.
    """
    _require_manager(actor)
    email = normalize_email(email)
    company_name = (company_name or "").strip()
    if not email or "@" not in email:
        raise ValidationProblem(_l("Enter the supplier contact's email."))
    if not company_name:
        raise ValidationProblem(_l("Enter the supplier company's name."))
    suppliers.check_terms(payment_terms_days, currency, credit_limit)
    owner = find_user_by_email(email)
    if owner is not None and not owner.organization.is_supplier:
        raise ValidationProblem(
            _l("This email belongs to a user of a buying company. "
               "Invite the supplier's own address.")
        )
    if owner is not None:
        link = suppliers.find_link_between(actor.organization_id, owner.organization_id)
        if link is not None and link.status == LinkStatus.BLOCKED:
            raise ValidationProblem(
                _l("%(name)s is already your supplier and is blocked. Unblock it on its page.",
                   name=owner.organization.name)
            )
        if link is not None:
            raise ValidationProblem(
                _l("%(name)s is already your supplier.", name=owner.organization.name)
            )
    now = utcnow()
    if _pending_for_email(email, now) is not None:
        raise ValidationProblem(
            _l("An invitation to this email is already pending. Resend it instead.")
        )
    # An expired invitation to the same address is superseded: only one open link at a time.
    stale_invitations = db.session.scalars(
        _open_query().where(
            Invitation.organization_id == actor.organization_id, Invitation.email == email
        )
    )
    for stale in stale_invitations:
        stale.revoked_at = now
    token, digest = new_token()
    invitation = Invitation(
        organization_id=actor.organization_id,
        kind=KIND,
        email=email,
        full_name=(full_name or "").strip(),
        company_name=company_name,
        payment_terms_days=payment_terms_days,
        currency=currency,
        credit_limit=suppliers.normalize_limit(credit_limit),
        token_hash=digest,
        expires_at=now + timedelta(days=days),
        invited_by_id=actor.id,
    )
    db.session.add(invitation)
    db.session.flush()
    audit.record(
        actor=actor,
        action="supplier.invited",
        obj=invitation,
        summary={
            "email": email,
            "company": company_name,
            "terms": payment_terms_days,
            "currency": currency,
            "credit_limit": str(invitation.credit_limit)
            if invitation.credit_limit is not None
            else None,
        },
    )
    return invitation, token


def get_invitation(actor, invitation_id: int) -> Invitation:
    """One of the buying company's supplier invitations; NotFound for anyone else's."""
    invitation = db.session.scalars(
        select(Invitation).where(
            Invitation.id == invitation_id,
            Invitation.kind == KIND,
            Invitation.organization_id == actor.organization_id,
        )
    ).first()
    if invitation is None:
        raise NotFound(_l("There is no such invitation."))
    return invitation


def _require_open(invitation: Invitation) -> None:
    state = state_of(invitation)
    if state == InvitationState.ACCEPTED:
        raise InvalidTransition(_l("This invitation was already accepted."))
    if state == InvitationState.REVOKED:
        raise InvalidTransition(_l("This invitation was revoked."))


def revoke_invitation(invitation: Invitation, *, actor) -> Invitation:
    """Withdraw an open invitation: its link stops working at once."""
    _require_manager(actor)
    _require_open(invitation)
    invitation.revoked_at = utcnow()
    audit.record(actor=actor, action="supplier.invitation_revoked", obj=invitation,
                 summary={"email": invitation.email})
    db.session.flush()
    return invitation


def resend_invitation(invitation: Invitation, *, actor, days: int) -> str:
    """Issue a fresh link for an open (possibly expired) invitation; the old link dies.

    Returns the new raw token for the caller to mail after committing.
    """
    _require_manager(actor)
    _require_open(invitation)
    token, digest = new_token()
    invitation.token_hash = digest
    invitation.expires_at = utcnow() + timedelta(days=days)
    audit.record(actor=actor, action="supplier.invitation_resent", obj=invitation,
                 summary={"email": invitation.email})
    db.session.flush()
    return token


def open_invitations(actor, *, page: int = 1, per_page: int = 25):
    """The buying company's supplier invitations not yet accepted or revoked, newest first.

    Expired ones are included: the admin resends or revokes them.
    """
    query = (
        _open_query()
        .where(Invitation.organization_id == actor.organization_id)
        .order_by(Invitation.created_at.desc(), Invitation.id.desc())
    )
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def invitation_mail(invitation: Invitation, link: str, *, buyer_name: str) -> tuple[str, str]:
    """The subject and body of the invitation email, in the current language."""
    terms = gettext("net %(days)s days, %(currency)s", days=invitation.payment_terms_days,
                    currency=invitation.currency)
    if invitation.credit_limit is not None:
        terms += ", " + gettext(
            "credit limit %(amount)s",
            amount=format_money(invitation.credit_limit, invitation.currency,
                                str(get_locale() or "en")),
        )
    subject = gettext("%(buyer)s invites you to Portal as a supplier", buyer=buyer_name)
    greeting = (
        gettext("Hello %(name)s,", name=invitation.full_name)
        if invitation.full_name
        else gettext("Hello,")
    )
    body = "\n\n".join(
        [
            greeting,
            gettext(
                "%(buyer)s invites %(company)s to work with them on Portal, where they send "
                "requests for quotation and purchase orders, and receive invoices.",
                buyer=buyer_name,
                company=invitation.company_name,
            ),
            gettext("Proposed terms: %(terms)s.", terms=terms),
            gettext(
                "Open this link to register your company, or to accept for your company if it "
                "already uses Portal:\n%(link)s",
                link=link,
            ),
            gettext("The link works once, until %(date)s.",
                    date=format_date(invitation.expires_at)),
        ]
    )
    return subject, body


def send_invitation(invitation: Invitation, link: str, *, buyer_name: str) -> None:
    """Email the invitation link (call after committing: a rolled-back invitation sends nothing)."""
    subject, body = invitation_mail(invitation, link, buyer_name=buyer_name)
    send_mail(invitation.email, subject, body)


# --- the invitee's side ---------------------------------------------------------------------


def find_by_token(token: str) -> Invitation | None:
    """The supplier invitation a link's token belongs to, whatever its state; None if unknown.

    A deliberate cross-tenant read: the person opening the link is not a member of the
    inviting buyer (and usually not signed in). The buyer and the inviting user are loaded in the
    same statement, so the page can name them.
    """
    if not token or len(token) > 200:
        return None
    return db.session.scalars(
        select(Invitation)
        .where(Invitation.token_hash == hash_token(token), Invitation.kind == KIND)
        .options(joinedload(Invitation.organization), joinedload(Invitation.invited_by))
        .execution_options(**ALL_TENANTS)
    ).first()


def join_mode(invitation: Invitation, viewer) -> JoinMode:
    """What `viewer` (None when nobody is signed in) can do with this open invitation."""
    owner = find_user_by_email(invitation.email)
    if viewer is None:
        if owner is None:
            return JoinMode.REGISTER
        return JoinMode.SIGN_IN if owner.organization.is_supplier else JoinMode.UNAVAILABLE
    if not viewer.organization.is_supplier:
        return JoinMode.BUYER_ACCOUNT
    if owner is not None and owner.organization_id != viewer.organization_id:
        return JoinMode.WRONG_ACCOUNT
    if not can(viewer, "supplier_invitation.accept", invitation):
        return JoinMode.NOT_SUPPLIER_ADMIN
    link = suppliers.find_link_between(invitation.organization_id, viewer.organization_id)
    if link is not None and link.status == LinkStatus.BLOCKED:
        return JoinMode.REFUSED
    if link is not None and link.status == LinkStatus.ACTIVE:
        return JoinMode.ALREADY_LINKED
    return JoinMode.ACCEPT


_REFUSALS = {
    JoinMode.SIGN_IN: _l("An account with this email exists. Sign in to accept the invitation."),
    JoinMode.WRONG_ACCOUNT: _l("This invitation is addressed to another organisation's user."),
    JoinMode.NOT_SUPPLIER_ADMIN: _l("Only your organisation's admin can accept this invitation."),
    JoinMode.BUYER_ACCOUNT: _l("A buying company cannot accept a supplier invitation."),
    JoinMode.UNAVAILABLE: _l("This email belongs to a buying company's user."),
    JoinMode.ALREADY_LINKED: _l("Your organisation already supplies this company."),
    JoinMode.REFUSED: _l("Your organisation cannot accept this invitation. Contact the company."),
}


def _require_usable(invitation: Invitation | None) -> Invitation:
    if invitation is None or state_of(invitation) != InvitationState.PENDING:
        raise InvalidTransition(_l("This invitation has expired or was already used."))
    return invitation


def _consume(invitation: Invitation, now) -> None:
    """Mark the invitation used, exactly once even when two people submit it at the same time.

    A guarded UPDATE (no row changes unless still open) is atomic on PostgreSQL and SQLite
    alike; the loser of a race gets the "already used" message. Runs in the buyer's scope.
    """
    result = db.session.execute(
        update(Invitation)
        .where(
            Invitation.id == invitation.id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > now,
        )
        .values(accepted_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise InvalidTransition(_l("This invitation has expired or was already used."))
    set_committed_value(invitation, "accepted_at", now)


def _link_for_buyer(invitation: Invitation, supplier: Organization, *, actor) -> SupplierLink:
    """Consume the invitation and make the link live with the proposed terms.

    A deliberate cross-tenant write: the actor belongs to the supplier, but the invitation and
    the link are the buyer's rows. Confined to the buyer's scope and flushed inside it, so the
    flush guard checks these rows against the buyer, and nothing else is written there.
    """
    buyer = invitation.organization
    now = utcnow()
    with bound(db.session, TenantScope(buyer.id)):
        _consume(invitation, now)
        existing = suppliers.find_link_between(buyer.id, supplier.id)
        if existing is not None and existing.status == LinkStatus.INVITED:
            existing.payment_terms_days = invitation.payment_terms_days
            existing.currency = invitation.currency
            existing.credit_limit = invitation.credit_limit
            link = suppliers.activate(existing, actor=actor, invitation=invitation)
        elif existing is not None:
            raise ValidationProblem(_REFUSALS[JoinMode.ALREADY_LINKED])
        else:
            link = suppliers.link_supplier(
                buyer,
                supplier,
                actor=actor,
                payment_terms_days=invitation.payment_terms_days,
                currency=invitation.currency,
                credit_limit=invitation.credit_limit,
                invited_by_id=invitation.invited_by_id,
                invitation=invitation,
            )
        db.session.flush()
    return link


def register_supplier(
    invitation: Invitation,
    *,
    name: str,
    legal_name: str,
    tax_id: str,
    country: str,
    currency: str,
    locale: str,
    full_name: str,
    password: str,
    min_length: int,
    address_line: str = "",
    postal_code: str = "",
    city: str = "",
) -> tuple[User, SupplierLink]:
    """Register a new supplier organisation from an invitation, with its first user.

    The user gets the invitation's email and the roles supplier_admin and supplier_sales; the
    link to the inviting buyer goes live with the proposed terms. For a visitor who is not signed
    in and whose email has no account (JoinMode.REGISTER). Raises InvalidTransition when the
    invitation is no longer open, ValidationProblem for an invalid tax ID, a taken tax ID or
    email, or a weak password; nothing is written then (the caller rolls back).
    """
    _require_usable(invitation)
    mode = join_mode(invitation, None)
    if mode != JoinMode.REGISTER:
        raise ValidationProblem(_REFUSALS[mode])
    if users.email_taken(invitation.email):
        raise ValidationProblem(_l("A user with this email already exists."))
    if not (full_name or "").strip():
        raise ValidationProblem(_l("Enter your full name."))
    check_new_password(password, invitation.email, min_length)
    # Organisations are not tenant rows: creating one needs no scope.
    org = orgs.create_organization(
        kind=OrgKind.SUPPLIER,
        name=name,
        legal_name=legal_name,
        tax_id=tax_id,
        address_line=address_line,
        postal_code=postal_code,
        city=city,
        country=country,
        currency=currency,
        locale=locale,
    )
    # The new organisation's own rows: its first user and its audit trail.
    with bound(db.session, TenantScope(org.id)):
        user = users.create_user(
            org,
            email=invitation.email,
            full_name=full_name,
            roles=SUPPLIER_ROLES,
            password=password,
            min_length=min_length,
            locale=locale,
        )
        audit.record(actor=user, action="org.created", obj=org, organization_id=org.id,
                     summary={"invitation_id": invitation.id})
        db.session.flush()
    link = _link_for_buyer(invitation, org, actor=user)
    return user, link


def accept_for_organization(invitation: Invitation, *, actor) -> SupplierLink:
    """A signed-in supplier admin accepts the invitation for their own organisation.

    Refused (PermissionDenied or ValidationProblem, with the reason) unless
    `join_mode(invitation, actor)` is ACCEPT: the actor must be a supplier admin, the invitation
    email must be theirs, a colleague's or unknown, and the buyer must not have linked or
    blocked the organisation already. InvalidTransition when the invitation is no longer open.
    """
    _require_usable(invitation)
    mode = join_mode(invitation, actor)
    if mode in (JoinMode.NOT_SUPPLIER_ADMIN, JoinMode.BUYER_ACCOUNT, JoinMode.WRONG_ACCOUNT):
        raise PermissionDenied(_REFUSALS[mode])
    if mode != JoinMode.ACCEPT:
        raise ValidationProblem(_REFUSALS[mode])
    return _link_for_buyer(invitation, actor.organization, actor=actor)

