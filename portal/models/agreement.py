"""Price agreements: the unit price a buyer agreed with a supplier for one catalog item."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.domain.agreements import Tier
from portal.extensions import db
from portal.models.base import Timestamped, Updated, utcnow
from portal.models.catalog import Item
from portal.models.org import Organization, SupplierLink
from portal.models.types import UnitPrice, UTCDateTime
from portal.models.user import User
from portal.tenancy import ALL_FIELDS, BUYER, SharedDocument


class PriceAgreement(Timestamped, Updated, SharedDocument, db.Model):
    """Per supplier link and item: unit price, currency, quantity tiers, validity, the
    supplier's part number and lead time.

    Owned by the buyer (`organization_id`) and addressed to the supplier (`supplier_id`): the
    supplier reads the agreements of its active or blocked links, and writes none of them.
    Tiers are a JSON list of `[min_qty, unit_price]` strings (exact Decimals), ascending.
    """

    __tablename__ = "price_agreements"
    __created_by__ = frozenset({BUYER})
    __buyer_writes__ = ALL_FIELDS
    __supplier_writes__ = frozenset()

    id: Mapped[int] = mapped_column(primary_key=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("supplier_links.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    unit_price: Mapped[Decimal] = mapped_column(UnitPrice())
    currency: Mapped[str] = mapped_column(String(3))
    tiers: Mapped[list] = mapped_column(JSON, default=list)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date, nullable=True)
    supplier_part_number: Mapped[str] = mapped_column(String(60), default="")
    lead_time_days: Mapped[int | None] = mapped_column(nullable=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    link: Mapped[SupplierLink] = relationship()
    item: Mapped[Item] = relationship()
    supplier: Mapped[Organization] = relationship(foreign_keys="PriceAgreement.supplier_id")
    created_by: Mapped[User | None] = relationship()

    __table_args__ = (
        # "The agreement valid for these items today": item, then start day.
        Index("ix_price_agreements_org_item_from", "organization_id", "item_id", "valid_from", "id"),
        # The lists (keyset, newest start first): all of the company's, and one link's.
        Index("ix_price_agreements_org_from", "organization_id", "valid_from", "id"),
        Index("ix_price_agreements_link_from", "link_id", "valid_from", "id"),
        CheckConstraint("unit_price > 0", name="unit_price"),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="validity"),
        CheckConstraint("lead_time_days IS NULL OR lead_time_days >= 0", name="lead_time"),
    )

    @property
    def tier_list(self) -> list[Tier]:
        return [Tier.from_json(t) for t in (self.tiers or [])]

    def __repr__(self) -> str:
        return f"<PriceAgreement {self.id} item={self.item_id} link={self.link_id}>"
