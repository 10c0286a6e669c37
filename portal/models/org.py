"""Organisations (tenants) and the negotiated links between buyers and suppliers."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.domain.terms import NET_30, PaymentTerms
from portal.extensions import db
from portal.models.base import Timestamped, Updated
from portal.models.types import Amount, Exact, PaymentTermsType
from portal.tenancy import ALL_FIELDS, BUYER, SharedDocument, register_org_models


class OrgKind(StrEnum):
    BUYER = "buyer"
    SUPPLIER = "supplier"


class LinkStatus(StrEnum):
    INVITED = "invited"
    ACTIVE = "active"
    BLOCKED = "blocked"


def enum_column(enum_cls, length: int = 20):
    """Store an enum by value as a plain string, with a CHECK on both databases."""
    return Enum(
        enum_cls,
        values_callable=lambda e: [m.value for m in e],
        native_enum=False,
        length=length,
        validate_strings=True,
        create_constraint=True,
        name=enum_cls.__name__.lower(),
    )


class InvoicingMode(StrEnum):
    """How a supplier invoices a buyer: one invoice per order, or one per month (drafted by the
    monthly run from received, not yet invoiced lines)."""

    PER_ORDER = "per_order"
    MONTHLY = "monthly"


class Organization(Timestamped, db.Model):
    """A company using the portal: a buyer (tenant) or a supplier serving buyers."""

    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    legal_name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[OrgKind] = mapped_column(enum_column(OrgKind))
    tax_id: Mapped[str] = mapped_column(String(20))
    address_line: Mapped[str] = mapped_column(String(200), default="")
    postal_code: Mapped[str] = mapped_column(String(20), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    country: Mapped[str] = mapped_column(String(2))
    currency: Mapped[str] = mapped_column(String(3))
    locale: Mapped[str] = mapped_column(String(5), default="en")
    # The IANA zone deadlines and dates are set and shown in for this organisation's users.
    time_zone: Mapped[str] = mapped_column(String(50), default="Europe/Warsaw", server_default="Europe/Warsaw")
    # A supplier's bank account printed on its invoices (IBAN, validated; stored without spaces).
    iban: Mapped[str] = mapped_column(String(34), default="", server_default="")
    bank_name: Mapped[str] = mapped_column(String(100), default="", server_default="")
    # A supplier's usual legal basis of a VAT exemption (portal.domain.exemption), copied to its
    # new invoice drafts (each draft may change it): kind and provision, None / "" for none.
    exemption_basis_kind: Mapped[str | None] = mapped_column(String(10), nullable=True)
    exemption_basis: Mapped[str] = mapped_column(String(256), default="", server_default="")

    __table_args__ = (UniqueConstraint("country", "tax_id"),)

    @property
    def is_supplier(self) -> bool:
        return self.kind == OrgKind.SUPPLIER

    def __repr__(self) -> str:
        return f"<Organization {self.id} {self.name}>"


class SupplierLink(Timestamped, Updated, SharedDocument, db.Model):
    """The relationship a buying organisation negotiated with a supplier organisation.

    `organization_id` is the buyer, `supplier_id` the supplier. A supplier sees nothing of a
    buyer until the link is active; once blocked, it still reads what the buyer sent it (and
    the link itself) but writes nothing for that buyer.
    """

    __tablename__ = "supplier_links"
    # The buyer's record of what it negotiated: only the buyer creates and changes it.
    __created_by__ = frozenset({BUYER})
    __buyer_writes__ = ALL_FIELDS
    __supplier_writes__ = frozenset({"updated_at"})

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[LinkStatus] = mapped_column(enum_column(LinkStatus), default=LinkStatus.ACTIVE)
    payment_terms: Mapped[PaymentTerms] = mapped_column(PaymentTermsType(), default=NET_30)
    currency: Mapped[str] = mapped_column(String(3))
    credit_limit: Mapped[Decimal | None] = mapped_column(Amount(), nullable=True)
    invoicing: Mapped[InvoicingMode] = mapped_column(
        enum_column(InvoicingMode), default=InvoicingMode.PER_ORDER, server_default="per_order")
    # How far an invoiced unit price may differ from the order's, in percent (0 = exactly).
    price_tolerance: Mapped[Decimal] = mapped_column(Exact(5, 2), default=Decimal("0"), server_default="0")
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)

    buyer: Mapped[Organization] = relationship(foreign_keys="SupplierLink.organization_id")
    supplier: Mapped[Organization] = relationship(foreign_keys="SupplierLink.supplier_id")

    __table_args__ = (
        UniqueConstraint("organization_id", "supplier_id"),
        CheckConstraint("credit_limit IS NULL OR credit_limit >= 0", name="credit_limit"),
        CheckConstraint("price_tolerance >= 0", name="price_tolerance"),
    )


register_org_models(organization=Organization, supplier_link=SupplierLink)
