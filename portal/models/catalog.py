"""Catalog items, categories and cost centres of a buying company."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from portal.domain.catalog import fold_for_search
from portal.extensions import db
from portal.models.base import Timestamped, Updated
from portal.models.org import Organization
from portal.models.types import Exact, UnitPrice
from portal.models.user import User
from portal.tenancy import TenantOwned


def VatRate() -> Exact:  # noqa: N802 - reads like a type
    """A VAT rate in percent: 23.00, 8.00, 5.00, 0.00."""
    return Exact(5, 2)


class Category(Timestamped, TenantOwned, db.Model):
    """A purchasing category (IT, office supplies, ...) used by items and approval rules."""

    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(120))
    is_active: Mapped[bool] = mapped_column(default=True)

    __table_args__ = (UniqueConstraint("organization_id", "code"),)


class CostCenter(Timestamped, TenantOwned, db.Model):
    """Where the money of a purchase is booked; its manager approves small purchases."""

    __tablename__ = "cost_centers"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(120))
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    is_active: Mapped[bool] = mapped_column(default=True)

    manager: Mapped[User | None] = relationship()

    __table_args__ = (UniqueConstraint("organization_id", "code"),)

    @property
    def label(self) -> str:
        return f"{self.code} · {self.name}"


class Item(Timestamped, Updated, TenantOwned, db.Model):
    """A catalog entry of a buying company: what is bought, in which unit, at about what price."""

    __tablename__ = "items"

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    # The name lower-cased and without accents, kept by `_fold_name`: SQLite's lower() and LIKE
    # fold ASCII only, so search compares this column to make "krzesło" find "Krzesło" (and
    # "krzeslo") on SQLite and PostgreSQL alike.
    name_search: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    unit: Mapped[str] = mapped_column(String(20), default="pcs")
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), nullable=True, index=True)
    default_vat_rate: Mapped[Decimal] = mapped_column(VatRate(), default=Decimal("23"))
    list_price: Mapped[Decimal | None] = mapped_column(UnitPrice(), nullable=True)
    currency: Mapped[str] = mapped_column(String(3))
    preferred_supplier_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id"), nullable=True
    )
    is_active: Mapped[bool] = mapped_column(default=True)

    category: Mapped[Category | None] = relationship()
    preferred_supplier: Mapped[Organization | None] = relationship(
        foreign_keys="Item.preferred_supplier_id"
    )

    __table_args__ = (
        UniqueConstraint("organization_id", "sku"),
        Index("ix_items_org_name", "organization_id", "name"),
        # The catalog list by SKU (keyset pages): all items, by status, by category.
        Index("ix_items_org_sku", "organization_id", "sku", "id"),
        Index("ix_items_org_active_sku", "organization_id", "is_active", "sku", "id"),
        Index("ix_items_org_category_sku", "organization_id", "category_id", "sku", "id"),
        CheckConstraint("default_vat_rate >= 0", name="vat_rate"),
        CheckConstraint("list_price IS NULL OR list_price >= 0", name="list_price"),
    )

    @validates("name")
    def _fold_name(self, key, value):
        self.name_search = fold_for_search(value or "")[:255]
        return value
