"""Supplier invitations, the invitee's side: open the link, register a new supplier or accept
for an existing one.

The invitee is not (yet) a member of the buyer's tenant, so acceptance reads and writes across
tenants on purpose. Those places are confined to this module and commented.
"""


from __future__ import annotations

from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from portal.domain.invitations import InvitationState
from portal.domain.messages import N_, Msg
from portal.errors import InvalidTransition, PermissionDenied, ValidationProblem
from portal.extensions import db
from portal.models import Invitation, LinkStatus, Organization, OrgKind, SupplierLink, User
from portal.models.base import utcnow
from portal.policies import can
from portal.services import audit, orgs, suppliers, users
from portal.services.auth import check_new_password, find_user_by_email
from portal.services.invitations import state_of
from portal.services.supplier_invitations.sending import KIND, SUPPLIER_ROLES
from portal.services.tokens import hash_token
from portal.tenancy import ALL_TENANTS, TenantScope, bound


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
    JoinMode.SIGN_IN: Msg(N_("An account with this email exists. Sign in to accept the invitation.")),
    JoinMode.WRONG_ACCOUNT: Msg(N_("This invitation is addressed to another organisation's user.")),
    JoinMode.NOT_SUPPLIER_ADMIN: Msg(N_("Only your organisation's admin can accept this invitation.")),
    JoinMode.BUYER_ACCOUNT: Msg(N_("A buying company cannot accept a supplier invitation.")),
    JoinMode.UNAVAILABLE: Msg(N_("This email belongs to a buying company's user.")),
    JoinMode.ALREADY_LINKED: Msg(N_("Your organisation already supplies this company.")),
    JoinMode.REFUSED: Msg(N_("Your organisation cannot accept this invitation. Contact the company.")),
}


def _require_usable(invitation: Invitation | None) -> Invitation:
    if invitation is None or state_of(invitation) != InvitationState.PENDING:
        raise InvalidTransition(Msg(N_("This invitation has expired or was already used.")))
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
        raise InvalidTransition(Msg(N_("This invitation has expired or was already used.")))
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
            existing.payment_terms = invitation.payment_terms
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
                payment_terms=invitation.payment_terms,
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
        raise ValidationProblem(Msg(N_("A user with this email already exists.")))
    if not (full_name or "").strip():
        raise ValidationProblem(Msg(N_("Enter your full name.")))
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
