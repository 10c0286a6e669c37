"""Sign-in, sign-out, password change and reset."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select, update

from portal.domain.messages import N_, Msg
from portal.domain.passwords import password_problems
from portal.errors import ValidationProblem
from portal.extensions import db
from portal.models import LoginAttempt, PasswordResetToken, User
from portal.models.base import utcnow
from portal.services import audit
from portal.services.passwords import hash_password, needs_rehash, verify_password
from portal.services.tokens import hash_token, new_token
from portal.tenancy import ALL_TENANTS, TenantScope, bound

# Reset links one account may be sent per hour; more requests are answered alike but send
# nothing (no mailbox flooding through the "forgot password" form).
RESET_LINKS_PER_HOUR = 3


class LoginThrottled(ValidationProblem):
    """Too many failed attempts for this account or from this address."""

    status_code = 429


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def find_user_by_email(email: str) -> User | None:
    """Deliberate cross-tenant read: sign-in and reset know only the email."""
    return db.session.scalars(
        select(User)
        .where(User.email == normalize_email(email))
        .execution_options(**ALL_TENANTS)
    ).first()


def _recent_failures(column, value, since) -> int:
    return db.session.scalar(
        select(func.count(LoginAttempt.id)).where(column == value, LoginAttempt.created_at >= since)
    )


def authenticate(email: str, password: str, *, address: str, limits: dict) -> User | None:
    """The user whose email and password match, or None (the same for either mistake).

    Raises LoginThrottled after `limits["per_account"]` failures for the email or
    `limits["per_address"]` from the address within `limits["minutes"]`. A successful sign-in
    rehashes an outdated password hash.
    """
    email = normalize_email(email)
    now = utcnow()
    since = now - timedelta(minutes=limits["minutes"])
    if (
        _recent_failures(LoginAttempt.email, email, since) >= limits["per_account"]
        or _recent_failures(LoginAttempt.address, address, since) >= limits["per_address"]
    ):
        raise LoginThrottled(
            Msg(N_("Too many failed sign-ins. Try again in %(minutes)s minutes."), {"minutes": limits["minutes"]})
        )
    user = find_user_by_email(email)
    valid = verify_password(user.password_hash if user else None, password)
    if not valid or user is None or not user.is_active:
        db.session.add(LoginAttempt(email=email, address=address, created_at=now))
        return None
    db.session.execute(delete(LoginAttempt).where(LoginAttempt.email == email))
    # The request is not bound to an organisation yet: write as the user's own.
    with bound(db.session, TenantScope(user.organization_id)):
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        user.last_login_at = now
        db.session.flush()
    return user


def end_all_sessions(user: User) -> None:
    """Every session of the user, including copied cookies, stops working."""
    user.session_version = (user.session_version or 0) + 1


def check_new_password(password: str, email: str, min_length: int) -> None:
    problems = password_problems(password, email=email, min_length=min_length)
    if problems:
        # Several problems read as one message: each is translated where it is shown.
        raise ValidationProblem(Msg(" ".join(f"%(p{i})s" for i in range(len(problems))),
                                    {f"p{i}": p for i, p in enumerate(problems)}))


def set_password(user: User, password: str, *, min_length: int) -> None:
    """Set a new password that satisfies the policy, ending every other session.

    Reset links still open for the user stop working too: one sent before the change must
    not undo it.
    """
    check_new_password(password, user.email, min_length)
    user.password_hash = hash_password(password)
    end_all_sessions(user)
    db.session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def change_password(user: User, current: str, new: str, *, min_length: int) -> None:
    """Change the user's own password after checking the current one."""
    if not verify_password(user.password_hash, current):
        raise ValidationProblem(Msg(N_("The current password is not correct.")))
    set_password(user, new, min_length=min_length)
    audit.record(actor=user, action="user.password_changed", obj=user)


def start_password_reset(email: str, *, hours: int) -> tuple[User, str] | None:
    """Create a reset token for an active user with this email; None when there is none."""
    user = find_user_by_email(email)
    if user is None or not user.is_active:
        return None
    now = utcnow()
    sent = db.session.scalar(
        select(func.count(PasswordResetToken.id)).where(
            PasswordResetToken.user_id == user.id,
            PasswordResetToken.created_at >= now - timedelta(hours=1),
        )
    )
    if sent >= RESET_LINKS_PER_HOUR:
        return None
    token, digest = new_token()
    db.session.add(
        PasswordResetToken(
            user_id=user.id, token_hash=digest, created_at=now,
            expires_at=now + timedelta(hours=hours),
        )
    )
    return user, token


def find_reset_token(token: str) -> PasswordResetToken | None:
    """The unused, unexpired reset token, or None."""
    row = db.session.scalars(
        select(PasswordResetToken).where(PasswordResetToken.token_hash == hash_token(token))
    ).first()
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        return None
    return row


def reset_password(token: str, password: str, *, min_length: int) -> User:
    """Use a reset token once: set the password and end every session.

    Raises ValidationProblem for a weak password (the link stays usable) or a link that has
    expired or was used, also by a request racing this one.
    """
    expired = Msg(N_("This reset link has expired or was already used."))
    row = find_reset_token(token)
    if row is None:
        raise ValidationProblem(expired)
    user = db.session.scalars(
        select(User).where(User.id == row.user_id).execution_options(**ALL_TENANTS)
    ).one()
    check_new_password(password, user.email, min_length)
    now = utcnow()
    # A guarded UPDATE: of two requests with the same link, exactly one gets it.
    consumed = db.session.execute(
        update(PasswordResetToken)
        .where(
            PasswordResetToken.id == row.id,
            PasswordResetToken.used_at.is_(None),
            PasswordResetToken.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if consumed.rowcount != 1:
        raise ValidationProblem(expired)
    with bound(db.session, TenantScope(user.organization_id)):
        set_password(user, password, min_length=min_length)
        audit.record(actor=user, action="user.password_reset", obj=user)
        db.session.flush()
    return user
