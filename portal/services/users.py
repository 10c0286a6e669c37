"""Users of an organisation: creation, roles, activation."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import joinedload

from portal.domain.messages import N_, Msg
from portal.domain.roles import ADMIN_ROLE, Role, parse_roles
from portal.errors import ValidationProblem
from portal.extensions import db
from portal.models import AuditEvent, User, UserRole
from portal.services import audit
from portal.services.auth import check_new_password, end_all_sessions, normalize_email
from portal.services.paging import LIST_PER_PAGE, Key, KeysetPage, Order, keyset
from portal.services.passwords import hash_password
from portal.tenancy import ALL_TENANTS


def email_taken(email: str) -> bool:
    """Deliberately global: an email signs in to exactly one account."""
    query = select(User.id).where(User.email == normalize_email(email))
    return db.session.scalar(query.execution_options(**ALL_TENANTS)) is not None


def check_roles(org, role_names) -> set[Role]:
    """The roles named, valid for the organisation's kind; ValidationProblem otherwise."""
    try:
        return parse_roles(org.kind.value, role_names)
    except ValueError as exc:
        if "at least one" in str(exc):
            raise ValidationProblem(Msg(N_("Choose at least one role."))) from exc
        raise ValidationProblem(Msg(N_("Unknown role."))) from exc


# NUMERIC(14, 2): the largest approval limit the column holds.
MAX_APPROVAL_LIMIT = Decimal("999999999999.99")


def check_approval_limit(approval_limit: Decimal | None) -> None:
    """An approval limit is absent (no limit) or a finite, non-negative amount that fits."""
    if approval_limit is None:
        return
    if not approval_limit.is_finite() or approval_limit < 0:
        raise ValidationProblem(Msg(N_("The approval limit cannot be negative.")))
    if approval_limit > MAX_APPROVAL_LIMIT:
        raise ValidationProblem(Msg(N_("The approval limit is too large.")))


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
        raise ValidationProblem(Msg(N_("A user with this email already exists.")))
    role_set = check_roles(org, roles)
    check_approval_limit(approval_limit)
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
    audit.record(
        actor=actor or user, action="user.created", obj=user, summary={"roles": sorted(role_set)}
    )
    return user


def _active_admin_count(org) -> int:
    admin_role = ADMIN_ROLE[org.kind.value]
    return db.session.scalar(
        select(func.count(User.id))
        .join(UserRole)
        .where(
            User.organization_id == org.id,
            User.is_active_flag.is_(True),
            UserRole.role == admin_role,
        )
    )


def _grant_summary(roles, approval_limit: Decimal | None) -> dict:
    return {
        "roles": sorted(str(r) for r in roles),
        "approval_limit": str(approval_limit) if approval_limit is not None else None,
    }


def set_roles(user: User, role_names, *, actor, approval_limit: Decimal | None = None) -> User:
    """Change a user's roles and approval limit (kept only for approvers).

    Refused when it would leave the organisation without an active admin, or take an admin's
    own admin role away. Audited only when something changed.
    """
    org = user.organization
    role_set = check_roles(org, role_names)
    admin_role = ADMIN_ROLE[org.kind.value]
    losing_admin = admin_role in user.roles and admin_role not in role_set
    if losing_admin and user.id == actor.id:
        raise ValidationProblem(Msg(N_("You cannot remove your own admin role.")))
    if losing_admin and user.is_active and _active_admin_count(org) <= 1:
        raise ValidationProblem(Msg(N_("The organisation needs at least one active admin.")))
    check_approval_limit(approval_limit)
    before = _grant_summary(user.roles, user.approval_limit)
    # Change only the rows that differ: deleting and re-adding a (user, role) key in one flush
    # would collide on the primary key.
    for row in [row for row in user.role_rows if row.role not in role_set]:
        user.role_rows.remove(row)
    for role in sorted(role_set - user.roles):
        user.role_rows.append(UserRole(role=role))
    user.approval_limit = approval_limit if Role.APPROVER in role_set else None
    after = _grant_summary(role_set, user.approval_limit)
    if before != after:
        audit.record(
            actor=actor,
            action="user.roles_changed",
            obj=user,
            summary={"before": before, "after": after},
        )
    db.session.flush()
    return user


def deactivate(user: User, *, actor) -> User:
    """Deactivate a user: every session ends at once. Not yourself, not the last admin."""
    if user.id == actor.id:
        raise ValidationProblem(Msg(N_("You cannot deactivate yourself.")))
    if not user.is_active:
        raise ValidationProblem(Msg(N_("This user is already deactivated.")))
    admin_role = ADMIN_ROLE[user.organization.kind.value]
    if admin_role in user.roles and _active_admin_count(user.organization) <= 1:
        raise ValidationProblem(Msg(N_("The organisation needs at least one active admin.")))
    user.is_active_flag = False
    end_all_sessions(user)
    audit.record(actor=actor, action="user.deactivated", obj=user)
    db.session.flush()
    return user


def reactivate(user: User, *, actor) -> User:
    """Let a deactivated user sign in again."""
    if user.is_active:
        raise ValidationProblem(Msg(N_("This user is already active.")))
    user.is_active_flag = True
    audit.record(actor=actor, action="user.reactivated", obj=user)
    db.session.flush()
    return user


USER_STATUSES = ("active", "deactivated")


def get_user(user_id: int) -> User | None:
    """A user of the current organisation by id; None for unknown ids and other organisations."""
    return db.session.scalars(select(User).where(User.id == user_id)).first()


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def users_query(*, status: str = "", search: str = "") -> Select:
    """The current organisation's users, by name, filtered by status and a name/email search.

    Roles are selectin-loaded and the organisation joined by the model, so a page of users
    costs a fixed number of queries.
    """
    query = select(User).order_by(User.full_name, User.id)
    if status == "active":
        query = query.where(User.is_active_flag.is_(True))
    elif status == "deactivated":
        query = query.where(User.is_active_flag.is_(False))
    search = (search or "").strip()
    if search:
        pattern = _like(search.lower())
        query = query.where(
            or_(
                func.lower(User.full_name).like(pattern, escape="\\"),
                User.email.like(pattern, escape="\\"),
            )
        )
    return query


BY_NAME = Order("users", Key(User.full_name), Key(User.id))


def users_page(*, status: str = "", search: str = "", cursor: str | None = None,
               per_page: int = LIST_PER_PAGE) -> KeysetPage:
    """A page of `users_query` by name, read by cursor (`portal.services.paging.keyset`).
    Raises BadCursor for a cursor it did not give out."""
    query = users_query(status=status, search=search).order_by(None)
    return keyset(query, BY_NAME, cursor=cursor, per_page=per_page)


def timeline(user: User, limit: int = 50) -> list[AuditEvent]:
    """The latest audit events about `user`, oldest first, with their actors."""
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.object_type == "User", AuditEvent.object_id == user.id)
        .options(joinedload(AuditEvent.actor), joinedload(AuditEvent.on_behalf_of))
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .limit(limit)
    ).all()
    return list(reversed(events))
