"""Requisitions: a buyer's request to buy, with lines, attachments and comments."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    DDL,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    event,
    func,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from portal.domain.requisition import RequisitionStatus
from portal.extensions import db
from portal.models.base import Timestamped, Updated, utcnow
from portal.models.catalog import Category, CostCenter, Item, VatRate
from portal.models.org import Organization, enum_column
from portal.models.types import Amount, Quantity, UnitPrice, UTCDateTime
from portal.models.user import User
from portal.tenancy import TenantOwned


class DocumentCounter(TenantOwned, db.Model):
    """The last number given per organisation, document kind and year (gap-free, no duplicates)."""

    __tablename__ = "document_counters"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    year: Mapped[int] = mapped_column()
    last: Mapped[int] = mapped_column(default=0)

    __table_args__ = (UniqueConstraint("organization_id", "kind", "year"),)


class Requisition(Timestamped, Updated, TenantOwned, db.Model):
    __tablename__ = "requisitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    justification: Mapped[str] = mapped_column(Text, default="")
    needed_by: Mapped[date | None] = mapped_column(Date, nullable=True)
    cost_center_id: Mapped[int] = mapped_column(ForeignKey("cost_centers.id"), index=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), nullable=True)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[RequisitionStatus] = mapped_column(
        enum_column(RequisitionStatus), default=RequisitionStatus.DRAFT, index=True
    )
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    net_total: Mapped[Decimal] = mapped_column(Amount(), default=Decimal("0"))
    vat_total: Mapped[Decimal] = mapped_column(Amount(), default=Decimal("0"))
    gross_total: Mapped[Decimal] = mapped_column(Amount(), default=Decimal("0"))
    # Each submission starts a new round of approval tasks.
    approval_round: Mapped[int] = mapped_column(default=0)
    # The approval policy version the latest submission was routed by.
    policy_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("approval_policy_versions.id"), nullable=True, index=True
    )
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    requester: Mapped[User] = relationship()
    cost_center: Mapped[CostCenter] = relationship()
    category: Mapped[Category | None] = relationship()
    policy_version: Mapped[ApprovalPolicyVersion | None] = relationship()  # noqa: F821
    lines: Mapped[list[RequisitionLine]] = relationship(
        back_populates="requisition",
        cascade="all, delete-orphan",
        order_by="RequisitionLine.position",
    )
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="requisition", cascade="all, delete-orphan", order_by="Attachment.id"
    )
    comments: Mapped[list[Comment]] = relationship(
        back_populates="requisition", cascade="all, delete-orphan", order_by="Comment.id"
    )

    __table_args__ = (
        UniqueConstraint("organization_id", "number"),
        # One index per filter + sort of the lists (keyset pages walk them from the cursor; the
        # id makes the order total on PostgreSQL, SQLite's rowid does it already):
        # tests/test_list_plans.py checks that each list query reads one of them.
        Index("ix_requisitions_org_status_created", "organization_id", "status", "created_at", "id"),
        Index("ix_requisitions_org_created", "organization_id", "created_at", "id"),
        Index("ix_requisitions_org_requester_created", "organization_id", "requester_id",
              "created_at", "id"),
        Index("ix_requisitions_org_cost_center_created", "organization_id", "cost_center_id",
              "created_at", "id"),
        Index("ix_requisitions_org_gross", "organization_id", "gross_total", "id"),
        Index("ix_requisitions_org_needed_by", "organization_id", "needed_by", "id"),
        # The buyer's dashboard: capped counts per status, the pending ones oldest submitted first.
        Index("ix_requisitions_org_requester_status_submitted", "organization_id", "requester_id",
              "status", "submitted_at", "id"),
        CheckConstraint("net_total >= 0", name="net_total"),
    )

    @property
    def is_editable(self) -> bool:
        return self.status == RequisitionStatus.DRAFT


# The text search: `lower(title) LIKE '%…%'` (blueprints/requisitions/queries._search). On
# PostgreSQL a trigram index on the expression finds a rare word without reading the table, and
# ANALYZE keeps statistics on the expression (an index's), so for a frequent word the planner
# knows the share of matches and walks the list's index in order until the page is full instead
# of sorting every match (it used to guess a tiny share: 250 ms at 1M requisitions, now 0.2 ms).
# PostgreSQL only (pg_trgm, a trusted extension the table's creation installs; migration
# f1a2b3c4d5e4): SQLite walks the list's index in order anyway.
event.listen(
    Requisition.__table__, "before_create",
    DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm").execute_if(dialect="postgresql"),
)
Index("ix_requisitions_title_trgm", func.lower(Requisition.title).label("title_lower"),
      postgresql_using="gin", postgresql_ops={"title_lower": "gin_trgm_ops"},
      ).ddl_if(dialect="postgresql")


class RequisitionLine(TenantOwned, db.Model):
    __tablename__ = "requisition_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    requisition_id: Mapped[int] = mapped_column(
        ForeignKey("requisitions.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=1)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"), nullable=True)
    description: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[Decimal] = mapped_column(Quantity())
    unit: Mapped[str] = mapped_column(String(20), default="pcs")
    unit_price: Mapped[Decimal] = mapped_column(UnitPrice())
    vat_rate: Mapped[Decimal] = mapped_column(VatRate())
    suggested_supplier_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id"), nullable=True
    )
    net: Mapped[Decimal] = mapped_column(Amount())
    vat: Mapped[Decimal] = mapped_column(Amount())
    gross: Mapped[Decimal] = mapped_column(Amount())

    requisition: Mapped[Requisition] = relationship(back_populates="lines")
    item: Mapped[Item | None] = relationship()
    suggested_supplier: Mapped[Organization | None] = relationship(
        foreign_keys="RequisitionLine.suggested_supplier_id"
    )

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("unit_price >= 0", name="unit_price"),
        CheckConstraint("vat_rate >= 0", name="vat_rate"),
    )


class Attachment(Timestamped, TenantOwned, db.Model):
    """A file attached to a requisition (offer, specification). Stored in the database so it
    commits or rolls back with the action that added it."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    requisition_id: Mapped[int] = mapped_column(
        ForeignKey("requisitions.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column()
    data: Mapped[bytes] = deferred(mapped_column(LargeBinary))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    requisition: Mapped[Requisition] = relationship(back_populates="attachments")
    uploaded_by: Mapped[User] = relationship()


class Comment(Timestamped, TenantOwned, db.Model):
    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    requisition_id: Mapped[int] = mapped_column(
        ForeignKey("requisitions.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)

    requisition: Mapped[Requisition] = relationship(back_populates="comments")
    author: Mapped[User] = relationship()
