"""Price-list proposals: a supplier's CSV of new prices that a buyer admin accepts or rejects
line by line (accepting a line creates a price agreement)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.base import Timestamped, utcnow
from portal.models.org import Organization, SupplierLink, enum_column
from portal.models.types import UnitPrice, UTCDateTime
from portal.models.user import User
from portal.tenancy import SUPPLIER, SharedDocument, TenantChild


class ProposalStatus(StrEnum):
    OPEN = "open"
    DECIDED = "decided"
    WITHDRAWN = "withdrawn"


class LineDecision(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class PriceProposal(Timestamped, SharedDocument, db.Model):
    """A supplier's proposed price-list update for one customer (its link). The supplier
    creates it and may only withdraw it afterwards; the buyer decides it."""

    __tablename__ = "price_proposals"
    __created_by__ = frozenset({SUPPLIER})
    __buyer_writes__ = frozenset({"status", "decided_at", "decided_by_id", "updated_at"})
    __supplier_writes__ = frozenset({"status", "updated_at"})

    id: Mapped[int] = mapped_column(primary_key=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("supplier_links.id"))
    status: Mapped[ProposalStatus] = mapped_column(enum_column(ProposalStatus),
                                                   default=ProposalStatus.OPEN)
    note: Mapped[str] = mapped_column(Text, default="")
    filename: Mapped[str] = mapped_column(String(200), default="")
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    link: Mapped[SupplierLink] = relationship()
    supplier: Mapped[Organization] = relationship(foreign_keys="PriceProposal.supplier_id")
    submitted_by: Mapped[User] = relationship(foreign_keys="PriceProposal.submitted_by_id")
    decided_by: Mapped[User | None] = relationship(foreign_keys="PriceProposal.decided_by_id")
    lines: Mapped[list[PriceProposalLine]] = relationship(
        back_populates="proposal", cascade="all, delete-orphan", order_by="PriceProposalLine.id")

    __table_args__ = (
        # The buyer's list (by status, newest first) and the supplier's list.
        Index("ix_price_proposals_org_status_created", "organization_id", "status", "created_at",
              "id"),
        Index("ix_price_proposals_supplier_created", "supplier_id", "created_at", "id"),
    )

    def __repr__(self) -> str:
        return f"<PriceProposal {self.id} link={self.link_id} {self.status}>"


class PriceProposalLine(TenantChild, db.Model):
    """One proposed price: the buyer's item (matched by SKU), the new terms, what it replaces,
    and the buyer's decision."""

    __tablename__ = "price_proposal_lines"
    __tenant_parent__ = "proposal"
    __created_by__ = frozenset({SUPPLIER})
    __buyer_writes__ = frozenset({"decision", "decision_reason", "agreement_id"})
    __supplier_writes__ = frozenset()

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("price_proposals.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    sku: Mapped[str] = mapped_column(String(60))
    supplier_part_number: Mapped[str] = mapped_column(String(60), default="")
    unit_price: Mapped[Decimal] = mapped_column(UnitPrice())
    currency: Mapped[str] = mapped_column(String(3))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date, nullable=True)
    lead_time_days: Mapped[int | None] = mapped_column(nullable=True)
    tiers: Mapped[list] = mapped_column(JSON, default=list)
    current_agreement_id: Mapped[int | None] = mapped_column(
        ForeignKey("price_agreements.id"), nullable=True)
    current_price: Mapped[Decimal | None] = mapped_column(UnitPrice(), nullable=True)
    decision: Mapped[LineDecision] = mapped_column(enum_column(LineDecision),
                                                   default=LineDecision.PENDING)
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    agreement_id: Mapped[int | None] = mapped_column(ForeignKey("price_agreements.id"),
                                                     nullable=True)

    proposal: Mapped[PriceProposal] = relationship(back_populates="lines")

    __table_args__ = (
        CheckConstraint("unit_price > 0", name="unit_price"),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="validity"),
        CheckConstraint("lead_time_days IS NULL OR lead_time_days >= 0", name="lead_time"),
    )
