"""Users of an organisation: creation, roles, activation."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal.domain.roles import ADMIN_ROLE, Role, parse_roles
from portal.errors import ValidationProblem
from portal.extensions import db
from portal.models import User, UserRole
from portal.services import audit
from portal.services.auth import check_new_password, end_all_sessions, normalize_email
from portal.services.passwords import hash_password
from portal.tenancy import ALL_TENANTS


def email_taken(email: str) -> bool:
    """Deliberately global: an email signs in to exactly one account."""
    return (
        db.session.scalar(
            select(User.id).where(User.email == normalize_email(email)).execution_options(**ALL_TENANTS)
        )
        is not None
    )


def _roles(org, role_names) -> set[Role]:
    try:
        return parse_roles(org.kind.value, role_names)
    except ValueError as exc:
        if "at least one" in str(exc):
            raise ValidationProblem(_l("Choose at least one role.")) from exc
        raise ValidationProblem(_l("Unknown role.")) from exc


def create_user(
    org,
    *,
    email: str,
    full_name: str,
    roles,
    password: str | None = None,
    approval_limit: Decimal | None = None,
    actor=None,
    min_length: int = 12,
    locale: str | None = None,
) -> User:
    """Add a user to `org`. The email must be new; the password must satisfy the policy."""
    email = normalize_email(email)
    if email_taken(email):
        raise ValidationProblem(_l("A user with this email already exists."))
    role_set = _roles(org, roles)
    if approval_limit is not None and approval_limit < 0:
        raise ValidationProblem(_l("The approval limit cannot be negative."))
    user = User(
        organization_id=org.id,
        email=email,
        full_name=full_name.strip(),
        locale=locale,
        approval_limit=approval_limit if Role.APPROVER in role_set else None,
    )
    if password is not None:
        check_new_password(password, email, min_length)
        user.password_hash = hash_password(password)
    user.role_rows = [UserRole(role=r) for r in sorted(role_set)]
    db.session.add(user)
    db.session.flush()
    audit.record(actor=actor or user, action="user.created", obj=user, summary={"roles": sorted(role_set)})
    return user


def _active_admin_count(org) -> int:
    admin_role = ADMIN_ROLE[org.kind.value]
    return db.session.scalar(
        select(func.count(User.id))
        .join(UserRole)
        .where(User.organization_id == org.id, User.is_active_flag.is_(True), UserRole.role == admin_role)
    )


def set_roles(user: User, role_names, *, actor, approval_limit: Decimal | None = None) -> User:
    """Change a user's roles and approval limit.

    Refused when it would leave the organisation without an active admin, or take an admin's
    own admin role away.
    """
    org = user.organization
    role_set = _roles(org, role_names)
    admin_role = ADMIN_ROLE[org.kind.value]
    losing_admin = admin_role in user.roles and admin_role not in role_set
    if losing_admin and user.id == actor.id:
        raise ValidationProblem(_l("You cannot remove your own admin role."))
    if losing_admin and user.is_active and _active_admin_count(org) <= 1:
        raise ValidationProblem(_l("The organisation needs at least one active admin."))
    if approval_limit is not None and approval_limit < 0:
        raise ValidationProblem(_l("The approval limit cannot be negative."))
    before = {"roles": sorted(user.roles), "approval_limit": str(user.approval_limit) if user.approval_limit is not None else None}
    user.role_rows = [UserRole(role=r) for r in sorted(role_set)]
    user.approval_limit = approval_limit if Role.APPROVER in role_set else None
    after = {"roles": sorted(role_set), "approval_limit": str(user.approval_limit) if user.approval_limit is not None else None}
    if before != after:
        audit.record(actor=actor, action="user.roles_changed", obj=user, summary={"before": before, "after": after})
    db.session.flush()
    return user


def deactivate(user: User, *, actor) -> User:
    """Deactivate a user: every session ends at once. Not yourself, not the last admin."""
    if user.id == actor.id:
        raise ValidationProblem(_l("You cannot deactivate yourself."))
    if not user.is_active:
        raise ValidationProblem(_l("This user is already deactivated."))
    admin_role = ADMIN_ROLE[user.organization.kind.value]
    if admin_role in user.roles and _active_admin_count(user.organization) <= 1:
        raise ValidationProblem(_l("The organisation needs at least one active admin."))
    user.is_active_flag = False
    end_all_sessions(user)
    audit.record(actor=actor, action="user.deactivated", obj=user)
    db.session.flush()
    return user


def reactivate(user: User, *, actor) -> User:
    """Let a deactivated user sign in again."""
    if user.is_active:
        raise ValidationProblem(_l("This user is already active."))
    user.is_active_flag = True
    audit.record(actor=actor, action="user.reactivated", obj=user)
    db.session.flush()
    return user
