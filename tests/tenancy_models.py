"""Test-only models in the shapes sourcing and invoicing will have (portal/tenancy/).

They live on their own declarative base and MetaData, so they never reach migrations or the
models-versus-migrations comparison; `create_tables` makes their tables in the test database,
`drop_tables` removes them. The shapes:

- `Tender` (an RFQ): a buyer's document addressed to several suppliers through
  `TenderInvitation` rows (`__participants__`); its `TenderLine`s and their `LineNote`s are
  children scoped through it.
- `Order` (a purchase order): a shared document the buyer creates; the buyer writes the price,
  the supplier acknowledges. `OrderLine` is its child (written like the order: by the buyer);
  `DeliveryNote` a child with its own declaration (the supplier's).
- `Offer` (a quote): a shared document the supplier creates and prices; the buyer decides.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table, delete
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from portal.extensions import NAMING_CONVENTION, db
from portal.tenancy import (
    BUYER,
    SUPPLIER,
    MultiPartyDocument,
    SharedDocument,
    TenantChild,
)


class PartiesBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# A stand-in for the portal's organisations table, so the mixins' foreign keys resolve here;
# it is never created or dropped from this MetaData.
ORGANIZATIONS = Table("organizations", PartiesBase.metadata, Column("id", Integer, primary_key=True))


class Tender(MultiPartyDocument, PartiesBase):
    __tablename__ = "tt_tenders"
    __participants__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))

    invitations: Mapped[list[TenderInvitation]] = relationship(
        back_populates="tender", cascade="all, delete-orphan", order_by="TenderInvitation.id"
    )
    lines: Mapped[list[TenderLine]] = relationship(
        back_populates="tender", cascade="all, delete-orphan", order_by="TenderLine.id"
    )


class TenderInvitation(SharedDocument, PartiesBase):
    """One invited supplier: the buyer invites (and notes), the supplier responds."""

    __tablename__ = "tt_tender_invitations"
    __created_by__ = frozenset({BUYER})
    __buyer_writes__ = frozenset({"note"})
    __supplier_writes__ = frozenset({"response"})

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tt_tenders.id"), index=True)
    note: Mapped[str] = mapped_column(String(100), default="")
    response: Mapped[str] = mapped_column(String(100), default="")

    tender: Mapped[Tender] = relationship(back_populates="invitations")


class TenderLine(TenantChild, PartiesBase):
    __tablename__ = "tt_tender_lines"
    __tenant_parent__ = "tender"

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tt_tenders.id"), index=True)
    description: Mapped[str] = mapped_column(String(100))

    tender: Mapped[Tender] = relationship(back_populates="lines")
    notes: Mapped[list[LineNote]] = relationship(back_populates="line", cascade="all, delete-orphan")


class LineNote(TenantChild, PartiesBase):
    """A grandchild: scoped through its line, which is scoped through its tender."""

    __tablename__ = "tt_line_notes"
    __tenant_parent__ = "line"

    id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("tt_tender_lines.id"), index=True)
    text: Mapped[str] = mapped_column(String(100))

    line: Mapped[TenderLine] = relationship(back_populates="notes")


class Order(SharedDocument, PartiesBase):
    __tablename__ = "tt_orders"
    __created_by__ = frozenset({BUYER})
    __buyer_writes__ = frozenset({"unit_price", "status"})
    __supplier_writes__ = frozenset({"acknowledged"})

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_price: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(20), default="issued")
    acknowledged: Mapped[bool] = mapped_column(default=False)

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLine.id"
    )
    delivery_notes: Mapped[list[DeliveryNote]] = relationship(
        back_populates="order", cascade="all, delete-orphan"
    )


class OrderLine(TenantChild, PartiesBase):
    """Written like its order: by the side that creates orders (the buyer)."""

    __tablename__ = "tt_order_lines"
    __tenant_parent__ = "order"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("tt_orders.id"), index=True)
    quantity: Mapped[int] = mapped_column(default=1)

    order: Mapped[Order] = relationship(back_populates="lines")


class DeliveryNote(TenantChild, PartiesBase):
    """A child with its own declaration: the supplier writes it on the buyer's order."""

    __tablename__ = "tt_delivery_notes"
    __tenant_parent__ = "order"
    __created_by__ = frozenset({SUPPLIER})
    __buyer_writes__ = frozenset()
    __supplier_writes__ = frozenset({"text"})

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("tt_orders.id"), index=True)
    text: Mapped[str] = mapped_column(String(100))

    order: Mapped[Order] = relationship(back_populates="delivery_notes")


class Offer(SharedDocument, PartiesBase):
    """A quote: the supplier creates and prices it, the buyer decides."""

    __tablename__ = "tt_offers"
    __created_by__ = frozenset({SUPPLIER})
    __buyer_writes__ = frozenset({"status"})
    __supplier_writes__ = frozenset({"price"})

    id: Mapped[int] = mapped_column(primary_key=True)
    price: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(20), default="submitted")


TABLES = [t for t in PartiesBase.metadata.sorted_tables if t is not ORGANIZATIONS]
MODELS = (Tender, TenderInvitation, TenderLine, LineNote, Order, OrderLine, DeliveryNote, Offer)


def create_tables() -> None:
    db.session.remove()
    # Whatever an interrupted run left behind (its rows would keep organisations from being
    # deleted between tests) goes first.
    PartiesBase.metadata.drop_all(db.engine, tables=TABLES)
    PartiesBase.metadata.create_all(db.engine, tables=TABLES)


def drop_tables() -> None:
    db.session.remove()
    PartiesBase.metadata.drop_all(db.engine, tables=TABLES)


def empty_tables() -> None:
    """Delete the rows (children first), before the harness deletes the organisations."""
    db.session.remove()
    with db.engine.begin() as conn:
        for table in reversed(TABLES):
            conn.execute(delete(table))
