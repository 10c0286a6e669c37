"""Stored figures of the aging pages, derived from the open amounts (`invoice_totals.OpenAmount`)
in the same flush, so that a page reads what it shows and its totals in a fixed number of rows
whatever the number of counterparties:

- `OpenParty`: per company and side (the company as the buyer, or as the supplier), one row per
  counterparty with something open (an `OpenAmount` row of the pair whose amount is not zero;
  `amounts` counts those rows), with the counterparty's name as the sort key (`name_key`: the
  name casefolded, compared by code point on both databases). A page walks the company's range
  of `ix_invoice_open_parties_walk` by name, 50 rows at a time. Each pair has two rows (one
  per company: each reads only its own, under the plain tenant filter).
- `OpenDay`: per company, side (the company as the buyer, or as the supplier), currency and
  due date, the open amount of all its counterparties: the page's totals per aging bucket sum
  one row per distinct due date (buckets move with today's date and are never stored).
- `OpenCount`: per company and side, how many counterparties have something open (the page's
  "of N").

`apply` is called by the flush listener of `invoice_totals` with what the flush changed of the
open amounts (each row's amount difference, and per pair how many rows turned non-zero or
zero, read back from the upsert itself) and the companies renamed; every write is one atomic
upsert (`x = x + …`), so concurrent transactions lose nothing. `rebuild` recomputes the three
tables from `invoice_open_amounts` (the migration's backfill, the bench loader's).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, Integer, String, UniqueConstraint, delete, select, text, update
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.models.org import Organization
from portal.models.types import Amount
from portal.tenancy import BUYER, SUPPLIER, TenantOwned

ZERO = Decimal("0.00")
SIDES = (BUYER, SUPPLIER)


def _name_type():
    # Python's order of casefolded names (code points), not the database's locale: "C" on
    # PostgreSQL; SQLite compares text by code point already.
    return String(360).with_variant(String(360, collation="C"), "postgresql")


def name_key(name: str | None) -> str:
    """The sort key of a company name on the aging pages (as `sorted(key=str.casefold)`)."""
    return (name or "").casefold()


class OpenParty(TenantOwned, db.Model):
    """A counterparty that owes the company (side supplier) or that the company owes (side
    buyer) something open: one row per pair and side (module docstring)."""

    __tablename__ = "invoice_open_parties"

    id: Mapped[int] = mapped_column(primary_key=True)
    side: Mapped[str] = mapped_column(String(8))
    party_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("supplier_links.id"))
    amounts: Mapped[int] = mapped_column(Integer, default=0)
    party_key: Mapped[str] = mapped_column(_name_type())

    __table_args__ = (
        UniqueConstraint("organization_id", "side", "party_id", name="uq_invoice_open_parties_key"),
        # A page of the aging: the company's counterparties by name (covering).
        Index("ix_invoice_open_parties_walk", "organization_id", "side", "party_key", "party_id"),
    )


class OpenDay(TenantOwned, db.Model):
    """What one company owes (side buyer) or is owed (side supplier) in one currency on one due
    date, all counterparties together (module docstring)."""

    __tablename__ = "invoice_open_days"

    id: Mapped[int] = mapped_column(primary_key=True)
    side: Mapped[str] = mapped_column(String(8))
    currency: Mapped[str] = mapped_column(String(3))
    due_date: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Amount(), default=ZERO)
    invoices: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        UniqueConstraint("organization_id", "side", "currency", "due_date", name="uq_invoice_open_days_key"),
        # The totals: one covering range per company and side, grouped by currency in order.
        Index("ix_invoice_open_days_sums", "organization_id", "side", "currency", "due_date", "amount"),
    )


class OpenCount(TenantOwned, db.Model):
    """How many counterparties of one company (as buyer, or as supplier) have something open."""

    __tablename__ = "invoice_open_counts"

    id: Mapped[int] = mapped_column(primary_key=True)
    side: Mapped[str] = mapped_column(String(8))
    parties: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (UniqueConstraint("organization_id", "side", name="uq_invoice_open_counts_key"),)


# ---------------------------------------------------------------- kept in step by the flush


def apply(conn, insert, opened: list, pairs: dict, renames: dict) -> None:
    """Add to the three tables what a flush changed: `opened` the open amounts' differences
    ((buyer, supplier, currency, due date), link, amount, invoices), `pairs` per (buyer,
    supplier) the link and how many of its open amounts turned non-zero (+) or zero (−),
    `renames` company id -> its new name. Rows are locked in key order (fewer deadlocks)."""
    days: dict[tuple, list] = {}
    for (org_id, supplier_id, currency, due), _link, amount, count in opened:
        for company, side in ((org_id, BUYER), (supplier_id, SUPPLIER)):
            if company is None:
                continue
            entry = days.setdefault((company, side, currency, due), [ZERO, 0])
            entry[0] += amount
            entry[1] += count
    table = OpenDay.__table__
    for (company, side, currency, due), (amount, count) in sorted(days.items()):
        if not (amount or count):
            continue
        stmt = insert(table).values(organization_id=company, side=side, currency=currency, due_date=due,
                                    amount=amount, invoices=count)
        conn.execute(stmt.on_conflict_do_update(
            index_elements=["organization_id", "side", "currency", "due_date"],
            set_={"amount": table.c.amount + stmt.excluded.amount,
                  "invoices": table.c.invoices + stmt.excluded.invoices}))
        if count < 0 or amount < 0:
            conn.execute(delete(table).where(
                table.c.organization_id == company, table.c.side == side, table.c.currency == currency,
                table.c.due_date == due, table.c.invoices == 0, table.c.amount == 0))
    counts = _parties(conn, insert, {pair: value for pair, value in pairs.items() if value[1]})
    table = OpenCount.__table__
    for (company, side), change in sorted(counts.items()):
        if change:
            stmt = insert(table).values(organization_id=company, side=side, parties=change)
            conn.execute(stmt.on_conflict_do_update(
                index_elements=["organization_id", "side"],
                set_={"parties": table.c.parties + stmt.excluded.parties}))
    table = OpenParty.__table__
    for company, name in sorted(renames.items()):
        conn.execute(update(table).where(table.c.party_id == company).values(party_key=name_key(name)))


def _parties(conn, insert, pairs: dict) -> dict[tuple, int]:
    """Add the pairs' changes of non-zero open amounts to both companies' rows; a counterparty
    that starts to owe (or be owed) gets its row and counts once more, one that no longer does
    loses them. Returns the changes of `OpenCount` per (company, side)."""
    counts: dict[tuple, int] = {}
    if not pairs:
        return counts
    companies = sorted({company for pair in pairs for company in pair if company is not None})
    names = dict(conn.execute(select(Organization.id, Organization.name).where(Organization.id.in_(companies))).all())
    rows = []
    for (org_id, supplier_id), (link_id, change) in pairs.items():
        if supplier_id is not None:
            rows.append(((org_id, BUYER, supplier_id), link_id, change))
            rows.append(((supplier_id, SUPPLIER, org_id), link_id, change))
    table = OpenParty.__table__
    for (company, side, party), link_id, change in sorted(rows):
        stmt = insert(table).values(organization_id=company, side=side, party_id=party, link_id=link_id,
                                    amounts=change, party_key=name_key(names.get(party)))
        now = conn.execute(stmt.on_conflict_do_update(
            index_elements=["organization_id", "side", "party_id"],
            set_={"amounts": table.c.amounts + stmt.excluded.amounts}).returning(table.c.amounts)).scalar_one()
        if (now - change > 0) == (now > 0):
            continue
        counts[(company, side)] = counts.get((company, side), 0) + (1 if now > 0 else -1)
        if now <= 0:
            conn.execute(delete(table).where(table.c.organization_id == company, table.c.side == side,
                                             table.c.party_id == party, table.c.amounts <= 0))
    return counts


# ---------------------------------------------------------------- rebuilding from the open amounts

REBUILD = (
    "DELETE FROM invoice_open_parties",
    "DELETE FROM invoice_open_days",
    "DELETE FROM invoice_open_counts",
    "INSERT INTO invoice_open_days (organization_id, side, currency, due_date, amount, invoices) "
    "SELECT organization_id, 'buyer', currency, due_date, SUM(amount), SUM(invoices) FROM invoice_open_amounts "
    "GROUP BY organization_id, currency, due_date HAVING SUM(amount) <> 0 OR SUM(invoices) <> 0 "
    "UNION ALL "
    "SELECT supplier_id, 'supplier', currency, due_date, SUM(amount), SUM(invoices) FROM invoice_open_amounts "
    "WHERE supplier_id IS NOT NULL "
    "GROUP BY supplier_id, currency, due_date HAVING SUM(amount) <> 0 OR SUM(invoices) <> 0",
)
OWING = (
    "SELECT a.organization_id, a.supplier_id, MIN(a.link_id), COUNT(*), MIN(b.name), MIN(s.name) "
    "FROM invoice_open_amounts a JOIN organizations b ON b.id = a.organization_id "
    "JOIN organizations s ON s.id = a.supplier_id WHERE a.amount <> 0 GROUP BY a.organization_id, a.supplier_id")
COUNTS = (
    "INSERT INTO invoice_open_counts (organization_id, side, parties) "
    "SELECT organization_id, side, COUNT(*) FROM invoice_open_parties GROUP BY organization_id, side")


def rebuild(conn) -> None:
    """Recompute the three tables from `invoice_open_amounts` (run after those are rebuilt)."""
    for statement in REBUILD:
        conn.execute(text(statement))
    rows = []
    for org_id, supplier_id, link_id, amounts, buyer, supplier in conn.execute(text(OWING)):
        rows.append({"organization_id": org_id, "side": BUYER, "party_id": supplier_id, "link_id": link_id,
                     "amounts": amounts, "party_key": name_key(supplier)})
        rows.append({"organization_id": supplier_id, "side": SUPPLIER, "party_id": org_id, "link_id": link_id,
                     "amounts": amounts, "party_key": name_key(buyer)})
    if rows:
        conn.execute(OpenParty.__table__.insert(), rows)
    conn.execute(text(COUNTS))


def stored(conn) -> tuple[dict, dict, dict]:
    """The three tables as {key: figures} (rows of nothing left out; tests)."""
    t = OpenParty.__table__
    parties = {(r.organization_id, r.side, r.party_id): (r.link_id, r.amounts, r.party_key)
               for r in conn.execute(select(t))}
    t = OpenDay.__table__
    days = {(r.organization_id, r.side, r.currency, r.due_date): (r.amount, r.invoices)
            for r in conn.execute(select(t)) if r.amount or r.invoices}
    t = OpenCount.__table__
    counts = {(r.organization_id, r.side): r.parties for r in conn.execute(select(t)) if r.parties}
    return parties, days, counts


__all__ = ["SIDES", "OpenCount", "OpenDay", "OpenParty", "apply", "name_key", "rebuild", "stored"]
