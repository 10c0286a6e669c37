"""Invoices and credit notes issued by suppliers, their stored documents, payments, reminders.

An `Invoice` is a `SharedDocument` written by the supplier (`supplier_id`, the issuer) and
addressed to one buyer (`organization_id`). The supplier drafts and issues it; once issued it
never changes except for the buyer's decisions (approve, dispute) and the payment state, the
fields in `__buyer_writes__`. A credit note is an `Invoice` of kind `credit_note` that
`corrects` an issued invoice; its lines and totals are positive amounts that reduce what the
corrected invoice owes (`credited_total`).

Lines reference purchase order lines (three-way match); a credit note's lines reference the
corrected invoice's lines. The PDF (and for a Polish issuer the KSeF FA(3) XML) is rendered
once at issue and stored in `InvoiceDocument` with its SHA-256; downloads serve those bytes.
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

from portal.domain.terms import NET_30, PaymentTerms
from portal.extensions import db
from portal.models.base import Timestamped, Updated, utcnow
from portal.models.catalog import VatRate
from portal.models.order import PurchaseOrder, PurchaseOrderLine
from portal.models.org import Organization, SupplierLink, enum_column
from portal.models.types import Amount, Exact, PaymentTermsType, Quantity, UnitPrice, UTCDateTime
from portal.models.user import User
from portal.tenancy import ALL_FIELDS, BUYER, SUPPLIER, SharedDocument, TenantChild


class InvoiceKind(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


class InvoiceStatus(StrEnum):
    DRAFT = "draft"                    # the supplier's, invisible to the buyer
    ISSUED = "issued"                  # numbered, immutable, awaiting the buyer
    DISPUTED = "disputed"              # the buyer disputes it (a credit note may follow)
    APPROVED = "approved"              # approved for payment (budget actual posted)
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"                      # nothing left to pay (paid, credited or discounted)
    # A credit note is `issued` for ever; a whole credit note takes its invoice to `credited`.
    CREDITED = "credited"


class MatchStatus(StrEnum):
    MATCHED = "matched"        # every line within received-minus-invoiced and the price tolerance
    MISMATCHED = "mismatched"  # at least one line's `match_problem` says why
    OVERRIDDEN = "overridden"  # mismatched, approved by a buyer admin with a written reason


def owed(kind, gross_total: Decimal, credited_total: Decimal, paid_total: Decimal,
         discount_taken: Decimal) -> Decimal:
    """`Invoice.amount_due` from the columns it reads (a list read as rows has no objects)."""
    if kind == InvoiceKind.CREDIT_NOTE:
        return Decimal("0.00")
    return gross_total - credited_total - paid_total - discount_taken


class Invoice(Timestamped, Updated, SharedDocument, db.Model):
    __tablename__ = "invoices"
    __created_by__ = frozenset({SUPPLIER})
    __supplier_writes__ = ALL_FIELDS
    __buyer_writes__ = frozenset({
        "status", "match_status", "match_override_reason", "match_override_by_id",
        "approved_at", "approved_by_id", "disputed_at", "disputed_by_id", "dispute_reason",
        "paid_total", "discount_taken", "paid_on", "updated_at",
    })

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[InvoiceKind] = mapped_column(enum_column(InvoiceKind), default=InvoiceKind.INVOICE)
    # FV/2026/000001 (KOR/2026/000001 for a credit note), given at issue; None while a draft.
    number: Mapped[str | None] = mapped_column(String(30), nullable=True)
    status: Mapped[InvoiceStatus] = mapped_column(enum_column(InvoiceStatus, 24), default=InvoiceStatus.DRAFT)
    link_id: Mapped[int] = mapped_column(ForeignKey("supplier_links.id"))
    # The language the documents are printed in ("pl" or "en"): the buyer's, by default.
    language: Mapped[str] = mapped_column(String(5), default="pl")
    currency: Mapped[str] = mapped_column(String(3))
    payment_terms: Mapped[PaymentTerms] = mapped_column(PaymentTermsType(), default=NET_30)
    # A consolidated monthly invoice's month ("2026-11"); None for an invoice per order.
    period: Mapped[str | None] = mapped_column(String(7), nullable=True)
    issue_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    # Date of sale / delivery (art. 106e ust. 1 pkt 6): the last receipt of the lines invoiced.
    sale_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    # Computed from the terms at issue, never typed; the last instalment's date for instalments.
    due_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    discount_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    discount_amount: Mapped[Decimal | None] = mapped_column(Amount(), nullable=True)
    # The credit note's original invoice and why it corrects it.
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"), nullable=True, index=True)
    correction_reason: Mapped[str] = mapped_column(Text, default="")
    reverse_charge: Mapped[bool] = mapped_column(Boolean, default=False)
    # The supplier says the invoice includes goods or services of annex 15 to the VAT act; with
    # a gross of more than 15 000 PLN that makes the split-payment note mandatory (`split_payment`,
    # decided at issue).
    annex15: Mapped[bool] = mapped_column(Boolean, default=False)
    split_payment: Mapped[bool] = mapped_column(Boolean, default=False)
    # The legal basis of the VAT exemption of its `zw` lines (art. 106e ust. 1 pkt 19): the kind
    # ("ustawa", "dyrektywa", "inna": portal.domain.exemption) and the provision as printed.
    # Chosen on the draft, required at issue when a line is `zw`; None / "" without `zw` lines.
    exemption_basis_kind: Mapped[str | None] = mapped_column(String(10), nullable=True)
    exemption_basis: Mapped[str] = mapped_column(String(256), default="", server_default="")
    # A foreign-currency invoice's VAT in PLN at the rate of the day before issue (art. 31a).
    exchange_rate: Mapped[Decimal | None] = mapped_column(Exact(12, 6), nullable=True)
    exchange_rate_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    vat_total_pln: Mapped[Decimal | None] = mapped_column(Amount(), nullable=True)
    net_total: Mapped[Decimal] = mapped_column(Amount(), default=Decimal("0"))
    vat_total: Mapped[Decimal] = mapped_column(Amount(), default=Decimal("0"))
    gross_total: Mapped[Decimal] = mapped_column(Amount(), default=Decimal("0"))
    # What reduces the amount due: issued credit notes (gross), payments, discounts taken.
    credited_total: Mapped[Decimal] = mapped_column(Amount(), default=Decimal("0"))
    paid_total: Mapped[Decimal] = mapped_column(Amount(), default=Decimal("0"))
    discount_taken: Mapped[Decimal] = mapped_column(Amount(), default=Decimal("0"))
    paid_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    match_status: Mapped[MatchStatus | None] = mapped_column(enum_column(MatchStatus), nullable=True)
    match_override_reason: Mapped[str] = mapped_column(Text, default="")
    match_override_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    # Both parties as printed, frozen at issue: {"seller": {...}, "buyer": {...}} with name,
    # legal_name, tax_id, address_line, postal_code, city, country; the seller's iban, bank.
    parties: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    bank_account: Mapped[str] = mapped_column(String(34), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    disputed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    disputed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    dispute_reason: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    link: Mapped[SupplierLink] = relationship()
    supplier: Mapped[Organization] = relationship(foreign_keys="Invoice.supplier_id")
    buyer: Mapped[Organization] = relationship(foreign_keys="Invoice.organization_id")
    corrects: Mapped[Invoice | None] = relationship(remote_side="Invoice.id", foreign_keys="Invoice.corrects_id")
    created_by: Mapped[User] = relationship(foreign_keys="Invoice.created_by_id")
    issued_by: Mapped[User | None] = relationship(foreign_keys="Invoice.issued_by_id")
    approved_by: Mapped[User | None] = relationship(foreign_keys="Invoice.approved_by_id")
    disputed_by: Mapped[User | None] = relationship(foreign_keys="Invoice.disputed_by_id")
    match_override_by: Mapped[User | None] = relationship(foreign_keys="Invoice.match_override_by_id")
    lines: Mapped[list[InvoiceLine]] = relationship(
        back_populates="invoice", cascade="all, delete-orphan", order_by="InvoiceLine.position",
        foreign_keys="InvoiceLine.invoice_id")
    documents: Mapped[list[InvoiceDocument]] = relationship(
        back_populates="invoice", cascade="all, delete-orphan", order_by="InvoiceDocument.id")
    payments: Mapped[list[Payment]] = relationship(
        back_populates="invoice", cascade="all, delete-orphan", order_by="Payment.id")

    __table_args__ = (
        # Numbers are per issuer: two suppliers never share a counter or a number.
        UniqueConstraint("supplier_id", "number"),
        # One consolidated draft or invoice per supplier, buyer and month (the run is idempotent).
        UniqueConstraint("supplier_id", "organization_id", "period", "kind"),
        # Buyer lists newest first, by status, and open invoices by due date (aging, overdue).
        Index("ix_invoices_org_created", "organization_id", "created_at", "id"),
        Index("ix_invoices_org_status_created", "organization_id", "status", "created_at", "id"),
        Index("ix_invoices_org_status_due", "organization_id", "status", "due_date", "id"),
        Index("ix_invoices_org_supplier_due", "organization_id", "supplier_id", "due_date", "id"),
        # Supplier lists, by status, and per buyer by due date (statements, aging).
        Index("ix_invoices_supplier_created", "supplier_id", "created_at", "id"),
        Index("ix_invoices_supplier_status_created", "supplier_id", "status", "created_at", "id"),
        Index("ix_invoices_supplier_status_due", "supplier_id", "status", "due_date", "id"),
        Index("ix_invoices_supplier_org_due", "supplier_id", "organization_id", "due_date", "id"),
        # Aging reads only these (covering: the open statuses' ranges, never the table).
        Index("ix_invoices_org_status_aging", "organization_id", "status", "kind", "supplier_id", "link_id",
              "currency", "due_date", "gross_total", "credited_total", "paid_total", "discount_taken"),
        Index("ix_invoices_supplier_status_aging", "supplier_id", "status", "kind", "organization_id", "link_id",
              "currency", "due_date", "gross_total", "credited_total", "paid_total", "discount_taken"),
        # Statements: the period's documents in date order, the opening balance (covering).
        Index("ix_invoices_org_supplier_issued", "organization_id", "supplier_id", "issue_date", "id",
              "currency", "status", "kind", "gross_total"),
        Index("ix_invoices_supplier_org_issued", "supplier_id", "organization_id", "issue_date", "id",
              "currency", "status", "kind", "gross_total"),
        CheckConstraint("net_total >= 0 AND gross_total >= 0", name="totals"),
        CheckConstraint("credited_total >= 0 AND paid_total >= 0 AND discount_taken >= 0", name="settled"),
    )

    @property
    def is_credit_note(self) -> bool:
        return self.kind == InvoiceKind.CREDIT_NOTE

    @property
    def amount_due(self) -> Decimal:
        """What the buyer still owes: gross less credit notes, payments and discounts taken."""
        return owed(self.kind, self.gross_total, self.credited_total, self.paid_total, self.discount_taken)

    def __repr__(self) -> str:
        return f"<Invoice {self.number or self.id} {self.status}>"


class InvoiceLine(TenantChild, db.Model):
    """One line: what an order line delivered, at a price, with its VAT; or (on a credit note)
    the reduction of one line of the corrected invoice. Amounts are positive on both kinds."""

    __tablename__ = "invoice_lines"
    __tenant_parent__ = "invoice"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=1)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("purchase_orders.id"), nullable=True, index=True)
    order_line_id: Mapped[int | None] = mapped_column(
        ForeignKey("purchase_order_lines.id"), nullable=True, index=True)
    corrects_line_id: Mapped[int | None] = mapped_column(ForeignKey("invoice_lines.id"), nullable=True)
    description: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[Decimal] = mapped_column(Quantity())
    unit: Mapped[str] = mapped_column(String(20), default="pcs")
    unit_price: Mapped[Decimal] = mapped_column(UnitPrice())
    vat_code: Mapped[str] = mapped_column(String(10), default="23")
    vat_rate: Mapped[Decimal] = mapped_column(VatRate())
    net: Mapped[Decimal] = mapped_column(Amount())
    # The line's own VAT (for display and KSeF); totals are per code (art. 106e ust. 11).
    vat: Mapped[Decimal] = mapped_column(Amount())
    gross: Mapped[Decimal] = mapped_column(Amount())
    # Why this line does not match its order and receipts (empty when it matches).
    match_problem: Mapped[str] = mapped_column(Text, default="")

    invoice: Mapped[Invoice] = relationship(back_populates="lines", foreign_keys=[invoice_id])
    order: Mapped[PurchaseOrder | None] = relationship()
    order_line: Mapped[PurchaseOrderLine | None] = relationship()
    corrects_line: Mapped[InvoiceLine | None] = relationship(remote_side="InvoiceLine.id")

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("unit_price >= 0", name="unit_price"),
    )


class InvoiceDocument(TenantChild, db.Model):
    """A stored rendering of an issued invoice: the PDF (`pdf`) or KSeF FA(3) XML (`ksef`)."""

    __tablename__ = "invoice_documents"
    __tenant_parent__ = "invoice"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(60))
    size: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = deferred(mapped_column(LargeBinary))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    invoice: Mapped[Invoice] = relationship(back_populates="documents")

    __table_args__ = (UniqueConstraint("invoice_id", "kind"),)


class Payment(TenantChild, db.Model):
    """A payment the buyer recorded against an invoice: full or partial, with the early-payment
    discount it took (the discount settles that much of the invoice without money)."""

    __tablename__ = "payments"
    __tenant_parent__ = "invoice"
    __created_by__ = frozenset({BUYER})
    __buyer_writes__ = ALL_FIELDS
    __supplier_writes__ = frozenset()

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"))
    paid_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Amount())
    discount: Mapped[Decimal] = mapped_column(Amount(), default=Decimal("0"))
    reference: Mapped[str] = mapped_column(String(100), default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The invoice's parties and currency, copied when the payment is added (a statement lists a
    # link's payments of a period from its own index, without reading the link's invoices):
    # set by the session (portal/models/invoice_totals.py), never by hand.
    buyer_id: Mapped[int | None] = mapped_column(nullable=True)
    seller_id: Mapped[int | None] = mapped_column(nullable=True)
    currency: Mapped[str | None] = mapped_column(String(3), nullable=True)

    invoice: Mapped[Invoice] = relationship(back_populates="payments")
    recorded_by: Mapped[User | None] = relationship()

    __table_args__ = (
        # The invoice's payments; statements sum them by date from the index alone (covering).
        Index("ix_payments_invoice_paid", "invoice_id", "paid_on", "amount", "discount"),
        # A statement's payments of a period, by date (its entries).
        Index("ix_payments_pair_paid", "buyer_id", "seller_id", "currency", "paid_on", "id"),
        CheckConstraint("amount > 0", name="amount"),
        CheckConstraint("discount >= 0", name="discount"),
    )


class InvoiceReminder(TenantChild, db.Model):
    """A payment reminder sent for an invoice on a day: never twice for the same invoice and day."""

    __tablename__ = "invoice_reminders"
    __tenant_parent__ = "invoice"
    __created_by__ = frozenset({BUYER, SUPPLIER})
    __buyer_writes__ = ALL_FIELDS
    __supplier_writes__ = ALL_FIELDS

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    # "before" (due soon), "due" (due today) or "overdue".
    kind: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    invoice: Mapped[Invoice] = relationship()

    __table_args__ = (UniqueConstraint("invoice_id", "day"),)
