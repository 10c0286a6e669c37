"""Cost-centre budgets and their append-only ledger."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.domain.budget import BudgetStatus, EntryKind, OverrunPolicy, PeriodKind
from portal.extensions import db
from portal.models.base import Timestamped, Updated
from portal.models.catalog import CostCenter
from portal.models.org import enum_column
from portal.models.types import Amount, UTCDateTime
from portal.models.user import User
from portal.tenancy import TenantOwned


class Budget(Timestamped, Updated, TenantOwned, db.Model):
    """What a cost centre may spend in a period.

    `consumed` caches reserved + committed + actual from the ledger (and `reserved`, `committed`,
    `spent` each bucket, for the pages) so that a reservation can be taken with one guarded
    UPDATE (`… WHERE amount - consumed >= :x`), which is atomic on
    PostgreSQL and SQLite alike; the ledger stays the record, and a test checks they agree.
    """

    __tablename__ = "budgets"

    id: Mapped[int] = mapped_column(primary_key=True)
    cost_center_id: Mapped[int] = mapped_column(ForeignKey("cost_centers.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    period_kind: Mapped[PeriodKind] = mapped_column(enum_column(PeriodKind))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Amount())
    consumed: Mapped[Decimal] = mapped_column(Amount(), default=Decimal("0"))
    # The ledger's buckets, kept by every posting in its transaction (services.budgets.posting)
    # so that showing a balance reads this row, not the whole ledger: reserved (reserve +
    # release), committed, spent (actual). consumed = reserved + committed + spent.
    reserved: Mapped[Decimal] = mapped_column(Amount(), default=Decimal("0"), server_default="0")
    committed: Mapped[Decimal] = mapped_column(Amount(), default=Decimal("0"), server_default="0")
    spent: Mapped[Decimal] = mapped_column(Amount(), default=Decimal("0"), server_default="0")
    currency: Mapped[str] = mapped_column(String(3))
    overrun_policy: Mapped[OverrunPolicy] = mapped_column(enum_column(OverrunPolicy), default=OverrunPolicy.BLOCK)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    status: Mapped[BudgetStatus] = mapped_column(enum_column(BudgetStatus), default=BudgetStatus.OPEN)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    cost_center: Mapped[CostCenter] = relationship()
    owner: Mapped[User | None] = relationship()

    __table_args__ = (
        CheckConstraint("amount >= 0", name="amount"),
        CheckConstraint("ends_on >= starts_on", name="period"),
        Index("ix_budgets_org_cc_period", "organization_id", "cost_center_id", "starts_on", "ends_on"),
        # The budget list, latest period first (keyset pages): all, or open / closed.
        Index("ix_budgets_org_starts", "organization_id", "starts_on", "id"),
        Index("ix_budgets_org_status_starts", "organization_id", "status", "starts_on", "id"),
    )


class BudgetRevision(Timestamped, TenantOwned, db.Model):
    """A change of a budget's amount (or policy), with who and why. Kept forever."""

    __tablename__ = "budget_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    budget_id: Mapped[int] = mapped_column(ForeignKey("budgets.id", ondelete="CASCADE"), index=True)
    old_amount: Mapped[Decimal | None] = mapped_column(Amount(), nullable=True)
    new_amount: Mapped[Decimal] = mapped_column(Amount())
    old_policy: Mapped[str | None] = mapped_column(String(10), nullable=True)
    new_policy: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)

    actor: Mapped[User | None] = relationship()


class BudgetEntry(Timestamped, TenantOwned, db.Model):
    """One ledger line: reserve, release, commit or actual, signed, naming its source document.

    Append-only: corrections are new entries, never edits.
    """

    __tablename__ = "budget_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    budget_id: Mapped[int] = mapped_column(ForeignKey("budgets.id", ondelete="CASCADE"))
    kind: Mapped[EntryKind] = mapped_column(enum_column(EntryKind))
    amount: Mapped[Decimal] = mapped_column(Amount())
    source_type: Mapped[str] = mapped_column(String(40))
    source_id: Mapped[int] = mapped_column()
    source_label: Mapped[str] = mapped_column(String(60), default="")
    overrun: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str] = mapped_column(String(500), default="")
    # The parameters of a note the portal wrote (a message id in `note`), typed and rendered in
    # the reader's language; None for a plain note (a document number, text of old rows).
    note_params: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)

    budget: Mapped[Budget] = relationship()
    actor: Mapped[User | None] = relationship()

    __table_args__ = (
        Index("ix_budget_entries_budget_created", "budget_id", "created_at"),
        Index("ix_budget_entries_source", "source_type", "source_id"),
    )
