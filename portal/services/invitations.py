"""User invitations: an admin invites a person by email; the person accepts with a password.

Only the hash of an invitation's token is stored; the link in the email carries the token.
An invitation is open until it is accepted or revoked; an open invitation past `expires_at` is
expired and can be sent again with a fresh link (which also invalidates the old one).

Supplier invitations (`kind="supplier"`) share the table and are handled by the suppliers
feature; every query here is restricted to `kind="user"`.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from enum import StrEnum

from flask_babel import force_locale, format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from portal.domain.roles import Role
from portal.errors import DomainError, InvalidTransition, NotFound, ValidationProblem
from portal.extensions import db
from portal.labels import role_label
from portal.models import Invitation, Organization, User
from portal.models.base import utcnow
from portal.services import audit
from portal.services.auth import check_new_password, normalize_email
from portal.services.mail import send_mail
from portal.services.tokens import hash_token, new_token
from portal.services.users import check_approval_limit, check_roles, create_user, email_taken
from portal.tenancy import ALL_TENANTS, TenantScope, bound

USER_KIND = "user"
OPEN_LIST_LIMIT = 100


class InvitationState(StrEnum):
    PENDING = "pending"
    EXPIRED = "expired"
    ACCEPTED = "accepted"
    REVOKED = "revoked"


class EmailUnavailable(ValidationProblem):
    """The email already signs in somewhere, or already has an open invitation here."""


class WeakPassword(ValidationProblem):
    """The chosen password does not satisfy the password policy."""


class InvitationUnavailable(DomainError):
    """The invitation was accepted, revoked or has expired: its link no longer works."""

    status_code = 410

    def __init__(self, message, state: InvitationState):
        super().__init__(message)
        self.state = state


UNAVAILABLE_MESSAGES = {
    InvitationState.EXPIRED: _l(
        "This invitation has expired. Ask your company admin to send it again."
    ),
    InvitationState.ACCEPTED: _l(
        "This invitation was already accepted. Sign in with your email and password."
    ),
    InvitationState.REVOKED: _l(
        "This invitation was withdrawn. Ask your company admin if you need access."
    ),
}


def state_of(invitation: Invitation, now=None) -> InvitationState:
    """Where the invitation stands; accepted and revoked win over expired."""
    if invitation.accepted_at is not None:
        return InvitationState.ACCEPTED
    if invitation.revoked_at is not None:
        return InvitationState.REVOKED
    if invitation.expires_at <= (now or utcnow()):
        return InvitationState.EXPIRED
    return InvitationState.PENDING


def _open_invitations():
    return select(Invitation).where(
        Invitation.kind == USER_KIND,
        Invitation.accepted_at.is_(None),
        Invitation.revoked_at.is_(None),
    )


def open_invitations(limit: int | None = None) -> list[Invitation]:
    """The current organisation's open user invitations (pending or expired), newest first.

    At most `limit` (default OPEN_LIST_LIMIT): open invitations are few unless nobody tidies up.
    """
    return list(
        db.session.scalars(
            _open_invitations()
            # Only the inviter's name is shown: skip loading their roles.
            .options(joinedload(Invitation.invited_by).lazyload(User.role_rows))
            .order_by(Invitation.created_at.desc(), Invitation.id.desc())
            .limit(limit or OPEN_LIST_LIMIT)
        )
    )


def open_invitation_count() -> int:
    """How many user invitations of the current organisation are open."""
    return db.session.scalar(select(func.count()).select_from(_open_invitations().subquery()))


def get_invitation(invitation_id: int) -> Invitation | None:
    """A user invitation of the current organisation by id (None for another organisation's)."""
    return db.session.scalars(
        select(Invitation).where(Invitation.id == invitation_id, Invitation.kind == USER_KIND)
    ).first()


def invite_user(
    org: Organization,
    *,
    actor: User,
    email: str,
    full_name: str,
    roles,
    approval_limit: Decimal | None = None,
    days: int,
) -> tuple[Invitation, str]:
    """Invite `email` into `org` with `roles`; returns the invitation and its token.

    The caller emails the link (see `send_invitation_mail`). Raises EmailUnavailable when the
    email already belongs to a user (in any organisation) or has a pending invitation here, and
    ValidationProblem for unknown or missing roles or a negative approval limit. An expired
    invitation for the same email is superseded (revoked) by the new one.
    """
    email = normalize_email(email)
    if "@" not in email:
        raise EmailUnavailable(_l("Enter a valid email address."))
    if email_taken(email):
        raise EmailUnavailable(_l("A user with this email already exists."))
    role_set = check_roles(org, roles)
    check_approval_limit(approval_limit)
    now = utcnow()
    earlier = db.session.scalars(
        _open_invitations().where(Invitation.organization_id == org.id, Invitation.email == email)
    ).all()
    if any(state_of(inv, now) == InvitationState.PENDING for inv in earlier):
        raise EmailUnavailable(
            _l("This email already has a pending invitation. Resend it from the list instead.")
        )
    for stale in earlier:
        stale.revoked_at = now
    token, digest = new_token()
    invitation = Invitation(
        organization_id=org.id,
        kind=USER_KIND,
        email=email,
        full_name=(full_name or "").strip(),
        roles=",".join(sorted(role_set)),
        approval_limit=approval_limit if Role.APPROVER in role_set else None,
        token_hash=digest,
        expires_at=now + timedelta(days=days),
        invited_by_id=actor.id,
    )
    db.session.add(invitation)
    db.session.flush()
    audit.record(
        actor=actor,
        action="user.invited",
        obj=invitation,
        summary={"email": email, "roles": sorted(role_set)},
    )
    return invitation, token


def resend_invitation(invitation: Invitation, *, actor: User, days: int) -> str:
    """Give an open invitation a new token and expiry; the old link stops working at once.

    Returns the new token for the caller to email. Refused for accepted or revoked invitations,
    and when the email has meanwhile become a user.
    """
    state = state_of(invitation)
    if state not in (InvitationState.PENDING, InvitationState.EXPIRED):
        raise InvalidTransition(_l("Only an open invitation can be sent again."))
    if email_taken(invitation.email):
        raise EmailUnavailable(_l("A user with this email already exists."))
    token, digest = new_token()
    invitation.token_hash = digest
    invitation.expires_at = utcnow() + timedelta(days=days)
    audit.record(
        actor=actor,
        action="user.invitation_resent",
        obj=invitation,
        summary={"email": invitation.email},
    )
    db.session.flush()
    return token


def revoke_invitation(invitation: Invitation, *, actor: User) -> Invitation:
    """Withdraw an open invitation; its link answers 410 from now on."""
    if state_of(invitation) not in (InvitationState.PENDING, InvitationState.EXPIRED):
        raise InvalidTransition(_l("This invitation is no longer open."))
    invitation.revoked_at = utcnow()
    audit.record(
        actor=actor,
        action="user.invitation_revoked",
        obj=invitation,
        summary={"email": invitation.email},
    )
    db.session.flush()
    return invitation


def find_by_token(token: str) -> Invitation | None:
    """The user invitation whose link carries `token`, in whatever state; None when unknown.

    Deliberate cross-tenant read: the person opening the link is anonymous, so the request is
    bound to no organisation; the token hash is the only key, and it is unguessable.
    """
    if not token or len(token) > 200:
        return None
    return db.session.scalars(
        select(Invitation)
        .where(Invitation.token_hash == hash_token(token), Invitation.kind == USER_KIND)
        .options(joinedload(Invitation.organization))
        .execution_options(**ALL_TENANTS)
    ).first()


def accept_invitation(token: str, *, full_name: str, password: str, min_length: int) -> User:
    """Turn a pending invitation into a user of the inviting organisation.

    Checks the password policy, creates the user with the invited roles and approval limit,
    marks the invitation accepted and records the sign-in (the caller signs the user in).
    Raises NotFound for an unknown token, InvitationUnavailable when the invitation is no
    longer pending, WeakPassword for a password the policy refuses, and EmailUnavailable when
    the email became a user meanwhile. Nothing is written when it raises.
    """
    invitation = find_by_token(token)
    if invitation is None:
        raise NotFound(_l("This invitation link is not valid."))
    state = state_of(invitation)
    if state != InvitationState.PENDING:
        raise InvitationUnavailable(UNAVAILABLE_MESSAGES[state], state=state)
    full_name = (full_name or "").strip() or invitation.full_name
    if not full_name:
        raise ValidationProblem(_l("Enter your full name."))
    try:
        check_new_password(password, invitation.email, min_length)
    except ValidationProblem as exc:
        raise WeakPassword(exc.message) from exc
    if email_taken(invitation.email):
        raise EmailUnavailable(
            _l("An account with this email already exists. Sign in with it instead.")
        )
    org = invitation.organization
    # The request is anonymous: write as the inviting organisation, and flush inside the block
    # so the flush guard checks the rows against that organisation.
    with bound(db.session, TenantScope(invitation.organization_id)):
        user = create_user(
            org,
            email=invitation.email,
            full_name=full_name,
            roles=invitation.role_list,
            password=password,
            approval_limit=invitation.approval_limit,
            actor=invitation.invited_by,
            min_length=min_length,
        )
        now = utcnow()
        invitation.accepted_at = now
        user.last_login_at = now
        audit.record(
            actor=user,
            action="user.invitation_accepted",
            obj=user,
            summary={"invitation_id": invitation.id},
        )
        db.session.flush()
    return user


def send_invitation_mail(invitation: Invitation, link: str, *, inviter: User) -> None:
    """Email the invitation link, in the inviting organisation's language."""
    org = invitation.organization
    with force_locale(org.locale or "en"):
        roles = ", ".join(role_label(r) for r in invitation.role_list)
        subject = _("%(inviter)s invited you to %(org)s on Portal", inviter=inviter.full_name,
                    org=org.name)
        body = _(
            "Hello %(name)s,\n\n"
            "%(inviter)s invited you to join %(org)s on Portal, the procurement portal, "
            "as: %(roles)s.\n\n"
            "Open this link to choose your password and sign in:\n%(link)s\n\n"
            "The link works once, until %(date)s.\n"
            "If you did not expect this invitation, you can ignore this email.",
            name=invitation.full_name or invitation.email,
            inviter=inviter.full_name,
            org=org.legal_name or org.name,
            roles=roles,
            link=link,
            date=format_date(invitation.expires_at, "long"),
        )
    send_mail(invitation.email, subject, body)
