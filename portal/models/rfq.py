"""RFQs and quotes: a buyer's request for quotation addressed to several suppliers, and each
supplier's answer.

Scoping (portal/tenancy): an `Rfq` is a `MultiPartyDocument` addressed through its
`RfqInvitation` rows; its lines, attachments and published clarifications are children visible
to every invited supplier, so they carry nothing of one supplier (no asker, no award). A
supplier's `Quote` is a `SharedDocument` it creates: only that supplier and the buyer read it;
its lines, revisions and attachments are children. A supplier's question (`RfqQuestion`) is
shared between the asker and the buyer; the answer every invited supplier reads is an
anonymous `RfqClarification`. Awards (`RfqAward`) are the buyer's alone.

Sealing and drafts are rules of the reads in `portal/services/sourcing/`: the buyer never reads
a draft quote, and reads a sealed RFQ's prices only after it is opened.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from portal.extensions import db
from portal.models.base import Timestamped, Updated, utcnow
from portal.models.catalog import Item, VatRate
from portal.models.org import Organization, SupplierLink, enum_column
from portal.models.requisition import RequisitionLine
from portal.models.types import Amount, Quantity, UnitPrice, UTCDateTime
from portal.models.user import User
from portal.tenancy import (
    ALL_FIELDS,
    BUYER,
    SUPPLIER,
    MultiPartyDocument,
    SharedDocument,
    TenantChild,
    TenantOwned,
)


class RfqStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    AWARDED = "awarded"
    CANCELLED = "cancelled"


class InvitationStatus(StrEnum):
    INVITED = "invited"      # no answer yet (a draft quote does not count)
    QUOTED = "quoted"        # a quote is submitted
    DECLINED = "declined"
    AWARDED = "awarded"      # won all or some lines
    LOST = "lost"


class QuoteStatus(StrEnum):
    DRAFT = "draft"          # saved by the supplier, invisible to the buyer
    SUBMITTED = "submitted"  # revisable until the deadline, each revision kept
    WITHDRAWN = "withdrawn"
    AWARDED = "awarded"
    LOST = "lost"


class Rfq(Timestamped, Updated, MultiPartyDocument, db.Model):
    __tablename__ = "rfqs"
    __participants__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[RfqStatus] = mapped_column(enum_column(RfqStatus), default=RfqStatus.DRAFT)
    currency: Mapped[str] = mapped_column(String(3))
    sealed: Mapped[bool] = mapped_column(Boolean, default=True)
    allow_partial: Mapped[bool] = mapped_column(Boolean, default=False)
    # The response deadline (UTC) and the buyer's time zone it was set in.
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    time_zone: Mapped[str] = mapped_column(String(50), default="Europe/Warsaw")
    delivery_address: Mapped[str] = mapped_column(Text, default="")
    needed_by: Mapped[date | None] = mapped_column(Date, nullable=True)
    # Published amendments (0 = as first published); suppliers who quoted confirm or revise.
    amendment: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Sealed RFQs: when and by whom the prices were opened (after the deadline or an early close).
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    awarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    cancel_reason: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    created_by: Mapped[User] = relationship(foreign_keys="Rfq.created_by_id")
    opened_by: Mapped[User | None] = relationship(foreign_keys="Rfq.opened_by_id")
    invitations: Mapped[list[RfqInvitation]] = relationship(
        back_populates="rfq", cascade="all, delete-orphan", order_by="RfqInvitation.id")
    lines: Mapped[list[RfqLine]] = relationship(
        back_populates="rfq", cascade="all, delete-orphan", order_by="RfqLine.position")
    attachments: Mapped[list[RfqAttachment]] = relationship(
        back_populates="rfq", cascade="all, delete-orphan", order_by="RfqAttachment.id")
    clarifications: Mapped[list[RfqClarification]] = relationship(
        back_populates="rfq", cascade="all, delete-orphan", order_by="RfqClarification.id")

    __table_args__ = (
        UniqueConstraint("organization_id", "number"),
        # Lists: all RFQs newest first, by status newest first, open ones by deadline.
        Index("ix_rfqs_org_created", "organization_id", "created_at", "id"),
        Index("ix_rfqs_org_status_created", "organization_id", "status", "created_at", "id"),
        Index("ix_rfqs_org_status_deadline", "organization_id", "status", "deadline", "id"),
    )

    def __repr__(self) -> str:
        return f"<Rfq {self.number} {self.status}>"


class RfqInvitation(Timestamped, Updated, SharedDocument, db.Model):
    """One invited supplier of an RFQ: the buyer invites; the supplier answers or declines."""

    __tablename__ = "rfq_invitations"
    __created_by__ = frozenset({BUYER})
    __buyer_writes__ = ALL_FIELDS
    __supplier_writes__ = frozenset({"status", "decline_reason", "responded_at", "seen_amendment", "updated_at",
                                     "first_viewed_at"})

    id: Mapped[int] = mapped_column(primary_key=True)
    rfq_id: Mapped[int] = mapped_column(ForeignKey("rfqs.id", ondelete="CASCADE"))
    link_id: Mapped[int] = mapped_column(ForeignKey("supplier_links.id"))
    status: Mapped[InvitationStatus] = mapped_column(
        enum_column(InvitationStatus), default=InvitationStatus.INVITED)
    decline_reason: Mapped[str] = mapped_column(Text, default="")
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    first_viewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The last amendment this supplier confirmed or revised against.
    seen_amendment: Mapped[int] = mapped_column(default=0)
    # The RFQ's status and deadline, copied here (kept in step by every service that changes
    # them: portal/services/sourcing `mirror_on_invitations`) so the supplier's lists filter
    # and sort one supplier's invitations from an index of their own, without the RFQ.
    rfq_status: Mapped[RfqStatus] = mapped_column(enum_column(RfqStatus), default=RfqStatus.DRAFT)
    rfq_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    rfq: Mapped[Rfq] = relationship(back_populates="invitations")
    link: Mapped[SupplierLink] = relationship()
    supplier: Mapped[Organization] = relationship(foreign_keys="RfqInvitation.supplier_id")

    __table_args__ = (
        UniqueConstraint("rfq_id", "supplier_id"),
        # The supplier's lists: RFQs to answer (by status), newest first.
        Index("ix_rfq_invitations_supplier_status_created", "supplier_id", "status", "created_at", "id"),
        Index("ix_rfq_invitations_supplier_created", "supplier_id", "created_at", "id"),
        # "To answer" (invited, RFQ open, before its deadline), soonest deadline first.
        Index("ix_rfq_invitations_supplier_status_rfq_deadline",
              "supplier_id", "status", "rfq_status", "rfq_deadline", "id"),
        # "Answered" (RFQ open or closed), newest first: one range per RFQ status.
        Index("ix_rfq_invitations_supplier_rfq_status_created",
              "supplier_id", "rfq_status", "created_at", "id"),
    )


class RfqLine(TenantChild, db.Model):
    """A line asked for: from an approved requisition line (kept linked) or typed. Visible to
    every invited supplier, so it holds nothing buyer-internal (no estimate: that stays on the
    requisition line)."""

    __tablename__ = "rfq_lines"
    __tenant_parent__ = "rfq"

    id: Mapped[int] = mapped_column(primary_key=True)
    rfq_id: Mapped[int] = mapped_column(ForeignKey("rfqs.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=1)
    requisition_line_id: Mapped[int | None] = mapped_column(
        ForeignKey("requisition_lines.id"), nullable=True, index=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"), nullable=True)
    description: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[Decimal] = mapped_column(Quantity())
    unit: Mapped[str] = mapped_column(String(20), default="pcs")
    vat_rate: Mapped[Decimal] = mapped_column(VatRate(), default=Decimal("23"))
    notes: Mapped[str] = mapped_column(Text, default="")

    rfq: Mapped[Rfq] = relationship(back_populates="lines")
    item: Mapped[Item | None] = relationship()
    requisition_line: Mapped[RequisitionLine | None] = relationship()

    __table_args__ = (CheckConstraint("quantity > 0", name="quantity"),)


class RfqAttachment(TenantChild, db.Model):
    """A file the buyer attaches to an RFQ (drawings, specifications): every invited supplier
    downloads it."""

    __tablename__ = "rfq_attachments"
    __tenant_parent__ = "rfq"

    id: Mapped[int] = mapped_column(primary_key=True)
    rfq_id: Mapped[int] = mapped_column(ForeignKey("rfqs.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column()
    data: Mapped[bytes] = deferred(mapped_column(LargeBinary))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    rfq: Mapped[Rfq] = relationship(back_populates="attachments")
    uploaded_by: Mapped[User] = relationship()


class RfqQuestion(Timestamped, SharedDocument, db.Model):
    """A supplier's clarification question: read by the asker and the buyer only. The buyer
    answers by publishing an anonymous `RfqClarification`."""

    __tablename__ = "rfq_questions"
    __created_by__ = frozenset({SUPPLIER})
    __buyer_writes__ = frozenset({"clarification_id", "answered_at"})
    __supplier_writes__ = frozenset()

    id: Mapped[int] = mapped_column(primary_key=True)
    rfq_id: Mapped[int] = mapped_column(ForeignKey("rfqs.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(Text)
    asked_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    clarification_id: Mapped[int | None] = mapped_column(
        ForeignKey("rfq_clarifications.id"), nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    rfq: Mapped[Rfq] = relationship()
    asked_by: Mapped[User] = relationship()
    supplier: Mapped[Organization] = relationship(foreign_keys="RfqQuestion.supplier_id")
    clarification: Mapped[RfqClarification | None] = relationship()


class RfqClarification(TenantChild, db.Model):
    """A question and its answer as published to every invited supplier: no asker."""

    __tablename__ = "rfq_clarifications"
    __tenant_parent__ = "rfq"

    id: Mapped[int] = mapped_column(primary_key=True)
    rfq_id: Mapped[int] = mapped_column(ForeignKey("rfqs.id", ondelete="CASCADE"), index=True)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    published_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    rfq: Mapped[Rfq] = relationship(back_populates="clarifications")
    published_by: Mapped[User] = relationship()


class Quote(Timestamped, Updated, SharedDocument, db.Model):
    """One supplier's answer to one RFQ (one per supplier and RFQ). The supplier writes it; the
    buyer only decides its outcome (`status` awarded/lost)."""

    __tablename__ = "quotes"
    __created_by__ = frozenset({SUPPLIER})
    __buyer_writes__ = frozenset({"status"})
    __supplier_writes__ = ALL_FIELDS

    id: Mapped[int] = mapped_column(primary_key=True)
    rfq_id: Mapped[int] = mapped_column(ForeignKey("rfqs.id", ondelete="CASCADE"))
    invitation_id: Mapped[int] = mapped_column(ForeignKey("rfq_invitations.id"))
    status: Mapped[QuoteStatus] = mapped_column(enum_column(QuoteStatus), default=QuoteStatus.DRAFT)
    supplier_reference: Mapped[str] = mapped_column(String(60), default="")
    currency: Mapped[str] = mapped_column(String(3))
    valid_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    freight: Mapped[Decimal] = mapped_column(Amount(), default=Decimal("0"))
    other_charges: Mapped[Decimal] = mapped_column(Amount(), default=Decimal("0"))
    charges_note: Mapped[str] = mapped_column(String(200), default="")
    # Lines' net + charges, computed on save.
    net_total: Mapped[Decimal] = mapped_column(Amount(), default=Decimal("0"))
    partial: Mapped[bool] = mapped_column(Boolean, default=False)
    # Submitted revisions so far (0 while a first draft); the amendment it answers.
    revision: Mapped[int] = mapped_column(default=0)
    amendment: Mapped[int] = mapped_column(default=0)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    rfq: Mapped[Rfq] = relationship()
    invitation: Mapped[RfqInvitation] = relationship()
    supplier: Mapped[Organization] = relationship(foreign_keys="Quote.supplier_id")
    created_by: Mapped[User] = relationship()
    lines: Mapped[list[QuoteLine]] = relationship(
        back_populates="quote", cascade="all, delete-orphan", order_by="QuoteLine.id")
    revisions: Mapped[list[QuoteRevision]] = relationship(
        back_populates="quote", cascade="all, delete-orphan", order_by="QuoteRevision.number")
    attachments: Mapped[list[QuoteAttachment]] = relationship(
        back_populates="quote", cascade="all, delete-orphan", order_by="QuoteAttachment.id")

    __table_args__ = (
        UniqueConstraint("rfq_id", "supplier_id"),
        Index("ix_quotes_supplier_updated", "supplier_id", "updated_at", "id"),
        CheckConstraint("freight >= 0", name="freight"),
        CheckConstraint("other_charges >= 0", name="other_charges"),
    )


class QuoteLine(TenantChild, db.Model):
    """The supplier's price for one RFQ line; `unit_price` None = not quoted (partial quote)."""

    __tablename__ = "quote_lines"
    __tenant_parent__ = "quote"

    id: Mapped[int] = mapped_column(primary_key=True)
    quote_id: Mapped[int] = mapped_column(ForeignKey("quotes.id", ondelete="CASCADE"), index=True)
    rfq_line_id: Mapped[int] = mapped_column(ForeignKey("rfq_lines.id"))
    unit_price: Mapped[Decimal | None] = mapped_column(UnitPrice(), nullable=True)
    net: Mapped[Decimal | None] = mapped_column(Amount(), nullable=True)
    lead_time_days: Mapped[int | None] = mapped_column(nullable=True)
    delivery_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    alternative: Mapped[str] = mapped_column(String(300), default="")
    note: Mapped[str] = mapped_column(Text, default="")

    quote: Mapped[Quote] = relationship(back_populates="lines")
    rfq_line: Mapped[RfqLine] = relationship()

    __table_args__ = (
        UniqueConstraint("quote_id", "rfq_line_id"),
        CheckConstraint("unit_price IS NULL OR unit_price > 0", name="unit_price"),
        CheckConstraint("lead_time_days IS NULL OR lead_time_days >= 0", name="lead_time"),
    )


class QuoteRevision(TenantChild, db.Model):
    """A submitted revision, kept as submitted: header and lines as exact strings."""

    __tablename__ = "quote_revisions"
    __tenant_parent__ = "quote"

    id: Mapped[int] = mapped_column(primary_key=True)
    quote_id: Mapped[int] = mapped_column(ForeignKey("quotes.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column()
    amendment: Mapped[int] = mapped_column(default=0)
    net_total: Mapped[Decimal] = mapped_column(Amount())
    snapshot: Mapped[dict] = mapped_column(JSON)
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    quote: Mapped[Quote] = relationship(back_populates="revisions")
    submitted_by: Mapped[User] = relationship()

    __table_args__ = (UniqueConstraint("quote_id", "number"),)


class QuoteAttachment(TenantChild, db.Model):
    """An offer document the supplier attaches to its quote."""

    __tablename__ = "quote_attachments"
    __tenant_parent__ = "quote"

    id: Mapped[int] = mapped_column(primary_key=True)
    quote_id: Mapped[int] = mapped_column(ForeignKey("quotes.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column()
    data: Mapped[bytes] = deferred(mapped_column(LargeBinary))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    quote: Mapped[Quote] = relationship(back_populates="attachments")
    uploaded_by: Mapped[User] = relationship()


class RfqAward(Timestamped, TenantOwned, db.Model):
    """The buyer's decision for one RFQ line: which quote won it, at what price, and why when
    not the cheapest. The buyer's alone (suppliers learn only their own outcome)."""

    __tablename__ = "rfq_awards"

    id: Mapped[int] = mapped_column(primary_key=True)
    rfq_id: Mapped[int] = mapped_column(ForeignKey("rfqs.id", ondelete="CASCADE"), index=True)
    rfq_line_id: Mapped[int] = mapped_column(ForeignKey("rfq_lines.id"), unique=True)
    quote_id: Mapped[int] = mapped_column(ForeignKey("quotes.id"))
    quote_line_id: Mapped[int] = mapped_column(ForeignKey("quote_lines.id"))
    unit_price: Mapped[Decimal] = mapped_column(UnitPrice())
    reason: Mapped[str] = mapped_column(Text, default="")
    order_line_id: Mapped[int | None] = mapped_column(
        ForeignKey("purchase_order_lines.id"), nullable=True)
    awarded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    rfq: Mapped[Rfq] = relationship()
    rfq_line: Mapped[RfqLine] = relationship()
    quote: Mapped[Quote] = relationship()
    quote_line: Mapped[QuoteLine] = relationship()
    awarded_by: Mapped[User] = relationship()
