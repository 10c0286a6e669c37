"""Users, their roles, and the single-use tokens of sign-in."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.domain.roles import Role
from portal.domain.terms import PaymentTerms
from portal.extensions import db
from portal.models.base import Timestamped
from portal.models.org import Organization, enum_column
from portal.models.types import Amount, PaymentTermsType, UTCDateTime
from portal.tenancy import TenantChild, TenantOwned


class User(UserMixin, Timestamped, TenantOwned, db.Model):
    """A person signing in; belongs to exactly one organisation."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-case (the CHECK enforces it), so the unique constraint is case-insensitive.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    is_active_flag: Mapped[bool] = mapped_column("is_active", default=True)
    locale: Mapped[str | None] = mapped_column(String(5), nullable=True)
    # Bumped on logout, password change and deactivation: every older session stops working.
    session_version: Mapped[int] = mapped_column(default=1)
    approval_limit: Mapped[Decimal | None] = mapped_column(Amount(), nullable=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    organization: Mapped[Organization] = relationship(lazy="joined", innerjoin=True)
    role_rows: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    __table_args__ = (CheckConstraint("email = lower(email)", name="email_lower"),)

    @property
    def is_active(self) -> bool:  # Flask-Login asks this
        return self.is_active_flag

    @property
    def roles(self) -> set[Role]:
        return {row.role for row in self.role_rows}

    def has_role(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))

    def get_id(self) -> str:
        # The session version travels in the id: a copied cookie dies with the version.
        return f"{self.id}:{self.session_version}"

    @staticmethod
    def parse_id(value) -> tuple[int, int] | None:
        """(user id, session version) from a session's `get_id()` text; None for anything else
        (a 64-bit integer at most each: a longer one would fail in the database)."""
        if not isinstance(value, str):
            return None
        raw_id, colon, raw_version = value.partition(":")
        if not colon or not all(part.isascii() and part.isdigit() and len(part) <= 18
                                for part in (raw_id, raw_version)):
            return None
        return int(raw_id), int(raw_version)

    @property
    def display_locale(self) -> str:
        return self.locale or self.organization.locale or "en"

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class UserRole(TenantChild, db.Model):
    __tablename__ = "user_roles"
    __tenant_parent__ = "user"  # the flush guard checks a role against its user's organisation

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[Role] = mapped_column(enum_column(Role), primary_key=True)

    user: Mapped[User] = relationship(back_populates="role_rows")


class PasswordResetToken(Timestamped, db.Model):
    """A single-use, expiring reset link; only its hash is stored."""

    __tablename__ = "password_reset_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    user: Mapped[User] = relationship()


class LoginAttempt(db.Model):
    """Failed sign-ins, kept in the database so every worker throttles alike."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


OPEN_INVITATION = "accepted_at IS NULL AND revoked_at IS NULL"


class Invitation(Timestamped, TenantOwned, db.Model):
    """An emailed, expiring invitation: a user into this organisation, or a supplier company.

    `kind` is `user` (join this organisation with `roles`) or `supplier` (register or bring a
    supplier organisation and link it to this buyer with the proposed terms).
    """

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), default="user")
    email: Mapped[str] = mapped_column(String(254))
    full_name: Mapped[str] = mapped_column(String(120), default="")
    roles: Mapped[str] = mapped_column(String(100), default="")
    approval_limit: Mapped[Decimal | None] = mapped_column(Amount(), nullable=True)
    company_name: Mapped[str] = mapped_column(String(200), default="")
    payment_terms: Mapped[PaymentTerms | None] = mapped_column(PaymentTermsType(), nullable=True)
    currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    credit_limit: Mapped[Decimal | None] = mapped_column(Amount(), nullable=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    invited_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    organization: Mapped[Organization] = relationship()
    invited_by: Mapped[User] = relationship()

    __table_args__ = (
        UniqueConstraint("token_hash"),
        # Open invitations of a kind, newest first (keyset pages): partial, so the walk never
        # passes accepted or revoked ones.
        Index("ix_invitations_org_kind_open", "organization_id", "kind", "created_at", "id",
              sqlite_where=text(OPEN_INVITATION), postgresql_where=text(OPEN_INVITATION)),
        # The admin dashboard's capped count of live invitations: a range past the expired ones.
        Index("ix_invitations_org_open_expires", "organization_id", "expires_at",
              sqlite_where=text(OPEN_INVITATION), postgresql_where=text(OPEN_INVITATION)),
    )

    @property
    def role_list(self) -> list[str]:
        return [r for r in self.roles.split(",") if r]
