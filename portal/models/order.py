"""Purchase orders and goods receipts.

A `PurchaseOrder` is a `SharedDocument`: owned by the buyer, addressed to one supplier. The
buyer writes it; the supplier only acknowledges it or proposes another delivery date. Lines,
stored PDFs (one per revision) and receipts are children, visible exactly when the order is.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
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

from portal.domain.terms import NET_30, PaymentTerms
from portal.extensions import db
from portal.models.base import Timestamped, Updated, utcnow
from portal.models.budget import Budget
from portal.models.catalog import Item, VatRate
from portal.models.org import Organization, SupplierLink, enum_column
from portal.models.requisition import RequisitionLine
from portal.models.rfq import Quote, Rfq, RfqLine
from portal.models.types import Amount, PaymentTermsType, Quantity, UnitPrice, UTCDateTime
from portal.models.user import User
from portal.tenancy import ALL_FIELDS, BUYER, SharedDocument, TenantChild


class OrderStatus(StrEnum):
    ISSUED = "issued"
    ACKNOWLEDGED = "acknowledged"
    PARTIALLY_RECEIVED = "partially_received"
    RECEIVED = "received"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class OrderSource(StrEnum):
    RFQ = "rfq"              # awarded from a quote
    AGREEMENT = "agreement"  # straight from an approved requisition at agreed prices


class PurchaseOrder(Timestamped, Updated, SharedDocument, db.Model):
    __tablename__ = "purchase_orders"
    __created_by__ = frozenset({BUYER})
    __buyer_writes__ = ALL_FIELDS
    __supplier_writes__ = frozenset({
        "status", "acknowledged_at", "acknowledged_by_id", "acknowledged_revision",
        "proposed_delivery_date", "proposal_note", "proposed_at", "updated_at",
    })

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20))
    link_id: Mapped[int] = mapped_column(ForeignKey("supplier_links.id"))
    source: Mapped[OrderSource] = mapped_column(enum_column(OrderSource))
    rfq_id: Mapped[int | None] = mapped_column(ForeignKey("rfqs.id"), nullable=True, index=True)
    quote_id: Mapped[int | None] = mapped_column(ForeignKey("quotes.id"), nullable=True)
    status: Mapped[OrderStatus] = mapped_column(enum_column(OrderStatus, 24), default=OrderStatus.ISSUED)
    currency: Mapped[str] = mapped_column(String(3))
    payment_terms: Mapped[PaymentTerms] = mapped_column(PaymentTermsType(), default=NET_30)
    delivery_address: Mapped[str] = mapped_column(Text, default="")
    delivery_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    # Supplier-quoted charges carried onto the order (net, no VAT code of their own: 23 %).
    freight: Mapped[Decimal] = mapped_column(Amount(), default=Decimal("0"))
    net_total: Mapped[Decimal] = mapped_column(Amount(), default=Decimal("0"))
    vat_total: Mapped[Decimal] = mapped_column(Amount(), default=Decimal("0"))
    gross_total: Mapped[Decimal] = mapped_column(Amount(), default=Decimal("0"))
    # The budget the order commits against and the amount committed (what cancel releases).
    budget_id: Mapped[int | None] = mapped_column(ForeignKey("budgets.id"), nullable=True)
    committed: Mapped[Decimal] = mapped_column(Amount(), default=Decimal("0"))
    # Revisions: 0 as first issued; each change to an issued order adds one, acknowledged again.
    revision: Mapped[int] = mapped_column(default=0)
    acknowledged_revision: Mapped[int | None] = mapped_column(nullable=True)
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    # The supplier's proposal of another delivery date, until the buyer accepts or refuses it.
    proposed_delivery_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    proposal_note: Mapped[str] = mapped_column(Text, default="")
    proposed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    cancel_reason: Mapped[str] = mapped_column(Text, default="")
    # Issued over the link's credit limit: the buyer admin who allowed it and why.
    credit_override_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    credit_override_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    link: Mapped[SupplierLink] = relationship()
    supplier: Mapped[Organization] = relationship(foreign_keys="PurchaseOrder.supplier_id")
    buyer: Mapped[Organization] = relationship(foreign_keys="PurchaseOrder.organization_id")
    rfq: Mapped[Rfq | None] = relationship()
    quote: Mapped[Quote | None] = relationship()
    budget: Mapped[Budget | None] = relationship()
    issued_by: Mapped[User | None] = relationship(foreign_keys="PurchaseOrder.issued_by_id")
    acknowledged_by: Mapped[User | None] = relationship(foreign_keys="PurchaseOrder.acknowledged_by_id")
    lines: Mapped[list[PurchaseOrderLine]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="PurchaseOrderLine.position")
    documents: Mapped[list[PurchaseOrderDocument]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="PurchaseOrderDocument.revision")
    receipts: Mapped[list[GoodsReceipt]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="GoodsReceipt.id")

    __table_args__ = (
        UniqueConstraint("organization_id", "number"),
        # Buyer lists: all newest first, by status newest first (orders to receive), by delivery date.
        Index("ix_purchase_orders_org_created", "organization_id", "created_at", "id"),
        Index("ix_purchase_orders_org_status_created", "organization_id", "status", "created_at", "id"),
        Index("ix_purchase_orders_org_status_delivery", "organization_id", "status", "delivery_date", "id"),
        # Open commitments: a budget's orders still to be delivered (capped counts per budget).
        Index("ix_purchase_orders_budget_status", "budget_id", "status"),
        # Supplier lists: its orders newest first, orders to acknowledge.
        Index("ix_purchase_orders_supplier_created", "supplier_id", "created_at", "id"),
        Index("ix_purchase_orders_supplier_status_created", "supplier_id", "status", "created_at", "id"),
        CheckConstraint("committed >= 0", name="committed"),
    )

    def __repr__(self) -> str:
        return f"<PurchaseOrder {self.number} {self.status}>"


class PurchaseOrderLine(TenantChild, db.Model):
    __tablename__ = "purchase_order_lines"
    __tenant_parent__ = "order"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=1)
    requisition_line_id: Mapped[int | None] = mapped_column(
        ForeignKey("requisition_lines.id"), nullable=True, index=True)
    rfq_line_id: Mapped[int | None] = mapped_column(ForeignKey("rfq_lines.id"), nullable=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"), nullable=True)
    description: Mapped[str] = mapped_column(String(300))
    supplier_part_number: Mapped[str] = mapped_column(String(60), default="")
    quantity: Mapped[Decimal] = mapped_column(Quantity())
    unit: Mapped[str] = mapped_column(String(20), default="pcs")
    unit_price: Mapped[Decimal] = mapped_column(UnitPrice())
    vat_code: Mapped[str] = mapped_column(String(10), default="23")
    vat_rate: Mapped[Decimal] = mapped_column(VatRate())
    net: Mapped[Decimal] = mapped_column(Amount())
    vat: Mapped[Decimal] = mapped_column(Amount())
    gross: Mapped[Decimal] = mapped_column(Amount())
    delivery_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    # Accepted (received minus rejected) and rejected quantities, summed from the receipts.
    received_quantity: Mapped[Decimal] = mapped_column(Quantity(), default=Decimal("0"))
    rejected_quantity: Mapped[Decimal] = mapped_column(Quantity(), default=Decimal("0"))

    order: Mapped[PurchaseOrder] = relationship(back_populates="lines")
    item: Mapped[Item | None] = relationship()
    requisition_line: Mapped[RequisitionLine | None] = relationship()
    rfq_line: Mapped[RfqLine | None] = relationship()

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("unit_price > 0", name="unit_price"),
        CheckConstraint("received_quantity >= 0 AND received_quantity <= quantity", name="received"),
    )


class PurchaseOrderDocument(TenantChild, db.Model):
    """The PDF of one revision of an order, rendered once at issue (or revision) and served from
    here on every download, so it reads the same forever."""

    __tablename__ = "purchase_order_documents"
    __tenant_parent__ = "order"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id", ondelete="CASCADE"), index=True)
    revision: Mapped[int] = mapped_column(default=0)
    filename: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(String(64))
    # What changed in this revision (a short, translated-at-display summary; empty for the first).
    changes: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[bytes] = deferred(mapped_column(LargeBinary))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)

    order: Mapped[PurchaseOrder] = relationship(back_populates="documents")
    created_by: Mapped[User | None] = relationship()

    __table_args__ = (UniqueConstraint("order_id", "revision"),)


class GoodsReceipt(TenantChild, db.Model):
    """One delivery recorded by the buyer: who, when, a note, and quantities per line."""

    __tablename__ = "goods_receipts"
    __tenant_parent__ = "order"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id", ondelete="CASCADE"), index=True)
    received_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    received_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    order: Mapped[PurchaseOrder] = relationship(back_populates="receipts")
    received_by: Mapped[User] = relationship()
    lines: Mapped[list[GoodsReceiptLine]] = relationship(
        back_populates="receipt", cascade="all, delete-orphan", order_by="GoodsReceiptLine.id")


class GoodsReceiptLine(TenantChild, db.Model):
    __tablename__ = "goods_receipt_lines"
    __tenant_parent__ = "receipt"

    id: Mapped[int] = mapped_column(primary_key=True)
    receipt_id: Mapped[int] = mapped_column(ForeignKey("goods_receipts.id", ondelete="CASCADE"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("purchase_order_lines.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity())
    rejected_quantity: Mapped[Decimal] = mapped_column(Quantity(), default=Decimal("0"))
    reject_reason: Mapped[str] = mapped_column(Text, default="")

    receipt: Mapped[GoodsReceipt] = relationship(back_populates="lines")
    order_line: Mapped[PurchaseOrderLine] = relationship()

    __table_args__ = (
        CheckConstraint("quantity >= 0", name="quantity"),
        CheckConstraint("rejected_quantity >= 0 AND rejected_quantity <= quantity", name="rejected"),
    )
