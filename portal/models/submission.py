"""One-time submission tokens of create forms (portal/blueprints/once.py)."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.models.base import Timestamped
from portal.tenancy import TenantOwned


class SubmissionToken(Timestamped, TenantOwned, db.Model):
    """A create form's token, used: written in the transaction that created the object, so a
    second post of the same form (a double click, a re-sent page) finds it and creates nothing.

    `target` is where the first answer led (the created object's page), shown again instead.
    """

    __tablename__ = "submission_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(500), nullable=True)

    __table_args__ = (UniqueConstraint("user_id", "token"),)
