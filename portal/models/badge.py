"""Versions of what the top bar's badges count, bumped in the transaction of every change."""

from __future__ import annotations

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.tenancy import TenantOwned


class BadgeVersion(TenantOwned, db.Model):
    """A number that grows whenever what a badge counts may have changed, so a badge polled every
    minute answers `304 Not Modified` from one indexed row read between changes.

    `scope` is "approvals" (the company's approval tasks, assignments and delegations: one
    change may move several people's inboxes) or "notifications:<user id>" (one user's bell).
    Written by services.badges only, with an upsert.
    """

    __tablename__ = "badge_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(default=1)

    __table_args__ = (UniqueConstraint("organization_id", "scope"),)
