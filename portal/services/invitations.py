"""User invitations: an admin invites a person by email; the person accepts with a password.

Only the hash of an invitation's token is stored; the link in the email carries the token.
An invitation is open until it is accepted or revoked; an open invitation past `expires_at` is
expired and can be sent again with a fresh link (which also invalidates the old one).

Supplier invitations (`kind="supplier"`) share the table and are handled by the suppliers
feature; every query here is restricted to `kind="user"`.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from portal.domain import invitations as rules
from portal.domain.invitations import OPEN_STATES, InvitationState
from portal.domain.messages import N_, Msg
from portal.domain.roles import Role
from portal.errors import DomainError, InvalidTransition, NotFound, ValidationProblem
from portal.extensions import db
from portal.models import Invitation, Organization, User
from portal.models.base import utcnow
from portal.services import audit
from portal.services.auth import check_new_password, normalize_email
from portal.services.tokens import hash_token, new_token
from portal.services.users import check_approval_limit, check_roles, create_user, email_taken
from portal.tenancy import ALL_TENANTS, TenantScope, bound

USER_KIND = "user"
OPEN_LIST_LIMIT = 100


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
    InvitationState.EXPIRED: Msg(N_("This invitation has expired. Ask your company admin to send it again.")),
    InvitationState.ACCEPTED: Msg(N_("This invitation was already accepted. Sign in with your email and password.")),
    InvitationState.REVOKED: Msg(N_("This invitation was withdrawn. Ask your company admin if you need access.")),
}


def state_of(invitation: Invitation, now=None) -> InvitationState:
    """Where an invitation of any kind stands now (the rule is `domain.invitations.state_of`)."""
    return rules.state_of(invitation, now or utcnow())


def issue_invitation(organization_id: int, kind: str, *, actor, email: str, full_name: str,
                     days: int, now, **fields) -> tuple[Invitation, str]:
    """A new invitation of any `kind` from `actor`'s organisation, its link valid `days` days
    from `now` (only the token's hash is stored); flushed. Returns it and the raw token for the
    caller to e-mail. `fields` are the kind's own (roles, proposed terms, ...)."""
    token, digest = new_token()
    invitation = Invitation(
        organization_id=organization_id, kind=kind, email=email,
        full_name=(full_name or "").strip(), token_hash=digest,
        expires_at=rules.expiry(now, days), invited_by_id=actor.id, **fields,
    )
    db.session.add(invitation)
    db.session.flush()
    return invitation, token


def renew_link(invitation: Invitation, days: int) -> str:
    """Give an invitation of any kind a fresh token valid `days` days; the old link dies at once.

    Returns the raw token for the caller to e-mail (only its hash is stored).
    """
    token, digest = new_token()
    invitation.token_hash = digest
    invitation.expires_at = rules.expiry(utcnow(), days)
    return token


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

    The caller emails the link (see `portal.emails.send_invitation_mail`). Raises EmailUnavailable when the
    email already belongs to a user (in any organisation) or has a pending invitation here, and
    ValidationProblem for unknown or missing roles or a negative approval limit. An expired
    invitation for the same email is superseded (revoked) by the new one.
    """
    email = normalize_email(email)
    if "@" not in email:
        raise EmailUnavailable(Msg(N_("Enter a valid email address.")))
    if email_taken(email):
        raise EmailUnavailable(Msg(N_("A user with this email already exists.")))
    role_set = check_roles(org, roles)
    check_approval_limit(approval_limit)
    now = utcnow()
    earlier = db.session.scalars(
        _open_invitations().where(Invitation.organization_id == org.id, Invitation.email == email)
    ).all()
    if any(state_of(inv, now) == InvitationState.PENDING for inv in earlier):
        raise EmailUnavailable(
            Msg(N_("This email already has a pending invitation. Resend it from the list instead."))
        )
    for stale in earlier:
        stale.revoked_at = now
    invitation, token = issue_invitation(
        org.id, USER_KIND, actor=actor, email=email, full_name=full_name, days=days, now=now,
        roles=",".join(sorted(role_set)),
        approval_limit=approval_limit if Role.APPROVER in role_set else None,
    )
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
    if state_of(invitation) not in OPEN_STATES:
        raise InvalidTransition(Msg(N_("Only an open invitation can be sent again.")))
    if email_taken(invitation.email):
        raise EmailUnavailable(Msg(N_("A user with this email already exists.")))
    token = renew_link(invitation, days)
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
    if state_of(invitation) not in OPEN_STATES:
        raise InvalidTransition(Msg(N_("This invitation is no longer open.")))
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
        raise NotFound(Msg(N_("This invitation link is not valid.")))
    state = state_of(invitation)
    if state != InvitationState.PENDING:
        raise InvitationUnavailable(UNAVAILABLE_MESSAGES[state], state=state)
    full_name = (full_name or "").strip() or invitation.full_name
    if not full_name:
        raise ValidationProblem(Msg(N_("Enter your full name.")))
    try:
        check_new_password(password, invitation.email, min_length)
    except ValidationProblem as exc:
        raise WeakPassword(exc.msg) from exc
    if email_taken(invitation.email):
        raise EmailUnavailable(
            Msg(N_("An account with this email already exists. Sign in with it instead."))
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
