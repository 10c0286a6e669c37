"""Supplier invitations, the buyer's side: invite, list, revoke, resend."""


from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from portal.domain.invitations import InvitationState
from portal.domain.messages import N_, Msg
from portal.domain.roles import Role
from portal.domain.terms import PaymentTerms
from portal.errors import InvalidTransition, NotFound, ValidationProblem
from portal.extensions import db
from portal.models import Invitation, LinkStatus
from portal.models.base import utcnow
from portal.policies import enforce
from portal.services import audit, suppliers
from portal.services.auth import find_user_by_email, normalize_email
from portal.services.invitations import issue_invitation, renew_link, state_of
from portal.services.paging import LIST_PER_PAGE, Key, KeysetPage, Order, keyset

KIND = "supplier"
SUPPLIER_ROLES = (Role.SUPPLIER_ADMIN.value, Role.SUPPLIER_SALES.value)





def _require_manager(actor) -> None:
    enforce(actor, "supplier_invitation.send")


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
    payment_terms: PaymentTerms,
    currency: str,
    credit_limit: Decimal | None = None,
    days: int,
) -> tuple[Invitation, str]:
    """Invite a supplier company to the actor's buying company with proposed terms.

    Returns the invitation and the raw token for the emailed link (only its hash is stored);
    the caller commits, then mails the link with `portal.emails.send_invitation`. Raises PermissionDenied
    unless the actor is the buyer's admin; ValidationProblem when the email belongs to a buying
    company's user, when its supplier is already linked to this buyer, when an invitation to it
    is pending, or when the terms are out of range.
    """
    _require_manager(actor)
    email = normalize_email(email)
    company_name = (company_name or "").strip()
    if not email or "@" not in email:
        raise ValidationProblem(Msg(N_("Enter the supplier contact's email.")))
    if not company_name:
        raise ValidationProblem(Msg(N_("Enter the supplier company's name.")))
    suppliers.check_terms(payment_terms, currency, credit_limit)
    owner = find_user_by_email(email)
    if owner is not None and not owner.organization.is_supplier:
        raise ValidationProblem(
            Msg(N_("This email belongs to a user of a buying company. "
               "Invite the supplier's own address."))
        )
    if owner is not None:
        link = suppliers.find_link_between(actor.organization_id, owner.organization_id)
        if link is not None and link.status == LinkStatus.BLOCKED:
            raise ValidationProblem(
                Msg(N_("%(name)s is already your supplier and is blocked. Unblock it on its page."),
                    {"name": owner.organization.name})
            )
        if link is not None:
            raise ValidationProblem(
                Msg(N_("%(name)s is already your supplier."), {"name": owner.organization.name})
            )
    now = utcnow()
    if _pending_for_email(email, now) is not None:
        raise ValidationProblem(
            Msg(N_("An invitation to this email is already pending. Resend it instead."))
        )
    # An expired invitation to the same address is superseded: only one open link at a time.
    stale_invitations = db.session.scalars(
        _open_query().where(
            Invitation.organization_id == actor.organization_id, Invitation.email == email
        )
    )
    for stale in stale_invitations:
        stale.revoked_at = now
    invitation, token = issue_invitation(
        actor.organization_id, KIND, actor=actor, email=email, full_name=full_name, days=days,
        now=now, company_name=company_name, payment_terms=payment_terms, currency=currency,
        credit_limit=suppliers.normalize_limit(credit_limit),
    )
    audit.record(
        actor=actor,
        action="supplier.invited",
        obj=invitation,
        summary={
            "email": email,
            "company": company_name,
            "terms": payment_terms.to_json(),
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
        raise NotFound(Msg(N_("There is no such invitation.")))
    return invitation


def _require_open(invitation: Invitation) -> None:
    state = state_of(invitation)
    if state == InvitationState.ACCEPTED:
        raise InvalidTransition(Msg(N_("This invitation was already accepted.")))
    if state == InvitationState.REVOKED:
        raise InvalidTransition(Msg(N_("This invitation was revoked.")))


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
    token = renew_link(invitation, days)
    audit.record(actor=actor, action="supplier.invitation_resent", obj=invitation,
                 summary={"email": invitation.email})
    db.session.flush()
    return token


# Newest first, from the partial index ix_invitations_org_kind_open.
NEWEST = Order("supplier-invitations", Key(Invitation.created_at, descending=True),
               Key(Invitation.id, descending=True))


def open_invitations(actor, *, cursor: str | None = None, per_page: int = LIST_PER_PAGE) -> KeysetPage:
    """The buying company's supplier invitations not yet accepted or revoked, newest first, one
    page (keyset, `cursor`; BadCursor for a cursor it did not give out).

    Expired ones are included: the admin resends or revokes them.
    """
    query = _open_query().where(Invitation.organization_id == actor.organization_id)
    return keyset(query, NEWEST, cursor=cursor, per_page=per_page)
