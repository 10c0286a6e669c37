"""In-app notifications."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from portal.domain.messages import Link, Msg
from portal.extensions import db
from portal.models.base import Timestamped
from portal.models.types import UTCDateTime
from portal.tenancy import TenantOwned


class Notification(Timestamped, TenantOwned, db.Model):
    """An in-app notification: a message and a link, rendered when shown (in the viewer's
    language), read or not.

    `message` is `Msg.to_json()`; `target` is `Link.to_json()` or, for links given as a path
    (and rows from before messages were stored), `{"url": "/path"}`.
    """

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    message: Mapped[dict] = mapped_column(JSON, default=dict)
    target: Mapped[dict | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    kind: Mapped[str] = mapped_column(String(40), default="")
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    # The list reads the unread ones, then the others, newest first, each from its own partial
    # index (keyset pages; PostgreSQL does not order by the columns after an `IS NULL` of an
    # index); the bell counts, and "mark all read" finds, the unread from the first.
    __table_args__ = (
        Index("ix_notifications_org_user_unread", "organization_id", "user_id", "created_at", "id",
              sqlite_where=text("read_at IS NULL"), postgresql_where=text("read_at IS NULL")),
        Index("ix_notifications_org_user_seen", "organization_id", "user_id", "created_at", "id",
              sqlite_where=text("read_at IS NOT NULL"), postgresql_where=text("read_at IS NOT NULL")),
    )

    @property
    def msg(self) -> Msg:
        return Msg.from_json(self.message)

    @property
    def link(self) -> Link | str | None:
        """Where the notification points: a Link, a plain path, or None."""
        if not self.target:
            return None
        if "endpoint" in self.target:
            return Link.from_json(self.target)
        return self.target.get("url") or None
