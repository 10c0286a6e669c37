"""Versions of a company's approval policy: every saved edit is a new, numbered version."""

from __future__ import annotations

from sqlalchemy import JSON, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.base import Timestamped
from portal.models.user import User
from portal.tenancy import TenantOwned


class ApprovalPolicyVersion(Timestamped, TenantOwned, db.Model):
    """The policy as it stood after one edit: who saved it, when, the whole policy (settings
    and steps, people by name as of then) and what changed from the version before.

    Numbers run 1, 2, 3… per policy without gaps (taken under the policy's row lock). Never
    updated or deleted; a requisition keeps the version it was routed by.
    """

    __tablename__ = "approval_policy_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("approval_policies.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column()
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    snapshot: Mapped[dict] = mapped_column(JSON)
    # The differences from the previous version (portal.domain.policy_versions.Change as JSON).
    changes: Mapped[list] = mapped_column(JSON, default=list)

    created_by: Mapped[User | None] = relationship()

    __table_args__ = (UniqueConstraint("policy_id", "number"),)
