"""Append-only audit events, shown as a timeline on every document."""

from __future__ import annotations

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.base import Timestamped
from portal.models.user import User
from portal.tenancy import BUYER, SUPPLIER, SharedDocument


class AuditEvent(Timestamped, SharedDocument, db.Model):
    """Who did what to which object, when. Never updated or deleted.

    Owned by the document's buying organisation; events on a document shared with a supplier
    carry `supplier_id`, so both parties read the same timeline.
    """

    __tablename__ = "audit_events"
    # Either party records what it did on a shared document; nobody deletes an event, and only
    # the owner completes a summary (an import counts its rows into its own event at the end).
    __created_by__ = frozenset({BUYER, SUPPLIER})
    __buyer_writes__ = frozenset({"summary"})
    __supplier_writes__ = frozenset()
    __deleted_by__ = frozenset()

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    on_behalf_of_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[int] = mapped_column()
    summary: Mapped[dict] = mapped_column(JSON, default=dict)
    comment: Mapped[str] = mapped_column(String(2000), default="")

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    on_behalf_of: Mapped[User | None] = relationship(foreign_keys=[on_behalf_of_id])

    # The audit log pages newest first by (created_at, id) within the organisation, optionally
    # narrowed to one object type or one actor: each of those reads an index in order.
    __table_args__ = (
        Index("ix_audit_events_object", "object_type", "object_id", "created_at"),
        Index("ix_audit_events_org_created", "organization_id", "created_at", "id"),
        Index("ix_audit_events_org_type", "organization_id", "object_type", "created_at", "id"),
        Index("ix_audit_events_org_actor", "organization_id", "actor_id", "created_at", "id"),
    )
