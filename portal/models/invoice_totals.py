"""Stored running figures of invoicing, per supplier link, kept in step with the documents in the
transaction that changes them, so that aging and statements of account read a handful of rows
whatever the number of invoices.

- `OpenAmount`: what the open invoices (kind invoice, status issued, disputed, approved or
  partially paid) of one buyer with one supplier still owe, per currency and **due date** (not
  per aging bucket: buckets move with today's date), with how many invoices that is. An invoice
  without a due date counts at `NO_DUE_DATE` (never overdue: the "current" bucket, as before).
  A row whose count and amount both reach zero is deleted: the table holds the open working set.
- `AccountDay`: per buyer, supplier, currency and day, the statement's movements: invoices issued
  (gross), credit notes issued (gross), payments (amount) and early-payment discounts taken, of
  the documents that are not drafts (an invoice counts at its issue date, a payment at its date).
  A statement's opening balance is the sum of the days before its period, its closing balance
  the sum of the days up to its end.
- The aging pages' own figures (which pairs owe, by name; per company and due date; how many
  counterparties): `portal/models/invoice_aging.py`, derived from the open amounts' changes in
  the same flush (the upsert returns each open amount as it now is).

Both are maintained by one pair of session listeners (below): before a flush, each new, changed
or deleted `Invoice` and `Payment` gives the difference between what it counted for as stored
(read back from the database) and what it counts for now; after the flush those differences are
added to the rows with one atomic upsert per row (`INSERT … ON CONFLICT DO UPDATE SET x = x + …`,
SQLite and PostgreSQL), so concurrent transactions never lose an update. Every path that changes
an amount owed (issue, credit note, payment, approval, dispute, a seed, a test's own rows) goes
through the session and is counted; bulk loaders that write rows without the session (the bench
data set) call `rebuild()` after loading. The rows are derived data: they are written by those
statements only, never by the session (the flush guard judged the documents they come from).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, Integer, String, UniqueConstraint, delete, event, inspect, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from portal.extensions import db
from portal.models import invoice_aging
from portal.models.invoice import Invoice, Payment
from portal.models.org import Organization
from portal.models.types import Amount
from portal.tenancy import ALL_FIELDS, BUYER, SUPPLIER, SharedDocument

OPEN_STATUSES = ("issued", "disputed", "approved", "partially_paid")
NO_DUE_DATE = date(9999, 12, 31)
ZERO = Decimal("0.00")


class OpenAmount(SharedDocument, db.Model):
    """The open invoices' amount due of one buyer (`organization_id`) with one supplier, per
    currency and due date (module docstring)."""

    __tablename__ = "invoice_open_amounts"
    # Derived rows (written by the listeners' statements, never through the session): both
    # sides' documents change them.
    __created_by__ = frozenset({BUYER, SUPPLIER})
    __buyer_writes__ = ALL_FIELDS
    __supplier_writes__ = ALL_FIELDS

    id: Mapped[int] = mapped_column(primary_key=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("supplier_links.id"))
    currency: Mapped[str] = mapped_column(String(3))
    due_date: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Amount(), default=ZERO)
    invoices: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        # The buyer's aging (and the upsert's key); the supplier's, by customer (both covering).
        UniqueConstraint("organization_id", "supplier_id", "currency", "due_date", name="uq_invoice_open_amounts_key"),
        Index("ix_invoice_open_amounts_org", "organization_id", "supplier_id", "currency", "due_date", "link_id",
              "amount", "invoices"),
        Index("ix_invoice_open_amounts_supplier", "supplier_id", "organization_id", "currency", "due_date",
              "link_id", "amount", "invoices"),
    )


class AccountDay(SharedDocument, db.Model):
    """One day of the statement of account of one buyer with one supplier in one currency:
    invoiced, credited (credit notes), paid and discounts taken (module docstring)."""

    __tablename__ = "invoice_account_days"
    __created_by__ = frozenset({BUYER, SUPPLIER})
    __buyer_writes__ = ALL_FIELDS
    __supplier_writes__ = ALL_FIELDS

    id: Mapped[int] = mapped_column(primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    day: Mapped[date] = mapped_column(Date)
    invoiced: Mapped[Decimal] = mapped_column(Amount(), default=ZERO)
    credited: Mapped[Decimal] = mapped_column(Amount(), default=ZERO)
    paid: Mapped[Decimal] = mapped_column(Amount(), default=ZERO)
    discount: Mapped[Decimal] = mapped_column(Amount(), default=ZERO)

    __table_args__ = (
        UniqueConstraint("organization_id", "supplier_id", "currency", "day", name="uq_invoice_account_days_key"),
        # Opening and closing balances: one covering index range per statement.
        Index("ix_invoice_account_days_sums", "organization_id", "supplier_id", "currency", "day", "invoiced",
              "credited", "paid", "discount"),
    )


OPEN_KEY = ("organization_id", "supplier_id", "currency", "due_date")
DAY_KEY = ("organization_id", "supplier_id", "currency", "day")
DAY_VALUES = ("invoiced", "credited", "paid", "discount")

# ---------------------------------------------------------------- what a document counts for

_INVOICE_COLUMNS = ("id", "kind", "status", "organization_id", "supplier_id", "link_id", "currency", "due_date",
                    "issue_date", "gross_total", "credited_total", "paid_total", "discount_taken")
_WATCHED = frozenset(_INVOICE_COLUMNS) - {"id"}
_PAYMENT_COLUMNS = ("invoice_id", "paid_on", "amount", "discount")


def _money(value) -> Decimal:
    return Decimal(value) if value is not None else ZERO


class _Deltas:
    """Differences to add: open amounts and account days, by key."""

    def __init__(self) -> None:
        self.open: dict[tuple, list] = {}
        self.days: dict[tuple, list] = {}

    def invoice(self, v: dict, sign: int) -> None:
        kind, status = str(v.get("kind") or "invoice"), str(v.get("status") or "draft")
        if status == "draft":
            return
        pair = (v["organization_id"], v["supplier_id"], v["currency"])
        gross = _money(v.get("gross_total"))
        if kind == "invoice" and status in OPEN_STATUSES:
            due = gross - _money(v.get("credited_total")) - _money(v.get("paid_total")) - _money(
                v.get("discount_taken"))
            entry = self.open.setdefault((*pair, v.get("due_date") or NO_DUE_DATE), [v.get("link_id"), ZERO, 0])
            entry[0] = entry[0] or v.get("link_id")
            entry[1] += sign * due
            entry[2] += sign
        if v.get("issue_date") is not None:
            entry = self.days.setdefault((*pair, v["issue_date"]), [ZERO, ZERO, ZERO, ZERO])
            entry[0 if kind == "invoice" else 1] += sign * gross

    def payment(self, v: dict, invoice: dict | None, sign: int) -> None:
        if invoice is None or str(invoice.get("status") or "draft") == "draft" or v.get("paid_on") is None:
            return
        key = (invoice["organization_id"], invoice["supplier_id"], invoice["currency"], v["paid_on"])
        entry = self.days.setdefault(key, [ZERO, ZERO, ZERO, ZERO])
        entry[2] += sign * _money(v.get("amount"))
        entry[3] += sign * _money(v.get("discount"))

    def changes(self) -> tuple[list, list]:
        opened = [(key, link, amount, count) for key, (link, amount, count) in self.open.items()
                  if amount or count]
        days = [(key, values) for key, values in self.days.items() if any(values)]
        return opened, days


# A new document may name its parties by relationship only (`link=...`): the key is set by the
# flush, after these figures are read, so it is taken from the related object.
_RELATED = {"link_id": "link", "organization_id": "buyer", "supplier_id": "supplier", "invoice_id": "invoice"}


def _values(obj, columns) -> dict:
    found = {name: getattr(obj, name) for name in columns}
    for name, value in found.items():
        if value is None and name in _RELATED:
            related = getattr(obj, _RELATED[name], None)
            if related is not None:
                found[name] = related.id
    return found


def _changed(obj) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in _WATCHED)


def _stored_invoices(conn, ids) -> dict[int, dict]:
    if not ids:
        return {}
    table = Invoice.__table__
    rows = conn.execute(select(*[table.c[name] for name in _INVOICE_COLUMNS]).where(table.c.id.in_(sorted(ids))))
    return {row.id: row._asdict() for row in rows}


_PENDING = "invoice_totals_pending"


@event.listens_for(Session, "before_flush")
def _collect(session: Session, _context, _instances) -> None:
    """What the flush changes of the figures: stored (read back) minus new, per document."""
    session.info.pop(_PENDING, None)
    new_invoices, old_invoice_ids, new_payments, old_payments = [], set(), [], []
    # A company renamed: the aging pages' sort keys follow (invoice_aging).
    renames = {obj.id: obj.name for obj in session.dirty
               if isinstance(obj, Organization) and inspect(obj).attrs.name.history.has_changes()}
    for obj in session.new:
        if isinstance(obj, Invoice):
            new_invoices.append(obj)
        elif isinstance(obj, Payment):
            new_payments.append(obj)
    for obj in session.dirty:
        if isinstance(obj, Invoice) and _changed(obj):
            new_invoices.append(obj)
            old_invoice_ids.add(obj.id)
        elif isinstance(obj, Payment) and session.is_modified(obj, include_collections=False):
            new_payments.append(obj)
            old_payments.append(obj.id)
    for obj in session.deleted:
        if isinstance(obj, Invoice):
            old_invoice_ids.add(obj.id)
        elif isinstance(obj, Payment):
            old_payments.append(obj.id)
    if not (new_invoices or old_invoice_ids or new_payments or old_payments):
        if renames:
            session.info[_PENDING] = ([], [], renames)
        return
    with session.no_autoflush:
        conn = session.connection()
        deltas = _Deltas()
        stored = _stored_invoices(conn, old_invoice_ids)
        for values in stored.values():
            deltas.invoice(values, -1)
        deleted = {id(obj) for obj in session.deleted}
        now: dict[int, dict] = {}
        for obj in new_invoices:
            values = _values(obj, _INVOICE_COLUMNS)
            if obj.id is not None:
                now[obj.id] = values
            deltas.invoice(values, +1)
        if old_payments:
            table = Payment.__table__
            rows = conn.execute(select(*[table.c[name] for name in _PAYMENT_COLUMNS])
                                .where(table.c.id.in_(sorted(old_payments)))).all()
            parents = _stored_invoices(conn, {row.invoice_id for row in rows} - set(stored))
            for row in rows:
                deltas.payment(row._asdict(), stored.get(row.invoice_id) or parents.get(row.invoice_id), -1)
        for obj in new_payments:
            if id(obj) in deleted:
                continue
            parent = obj.invoice if obj.invoice is not None else None
            if parent is not None:
                invoice = _values(parent, _INVOICE_COLUMNS)
            else:
                invoice = now.get(obj.invoice_id) or _stored_invoices(conn, {obj.invoice_id}).get(obj.invoice_id)
            deltas.payment(_values(obj, _PAYMENT_COLUMNS), invoice, +1)
            if invoice is not None and obj.buyer_id is None:
                obj.buyer_id, obj.seller_id = invoice["organization_id"], invoice["supplier_id"]
                obj.currency = invoice["currency"]
    opened, days = deltas.changes()
    if opened or days or renames:
        session.info[_PENDING] = (opened, days, renames)


@event.listens_for(Session, "after_flush")
def _apply(session: Session, _context) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending is None:
        return
    opened, days, renames = pending
    conn = session.connection()
    insert = _insert_for(conn.dialect.name)
    table = OpenAmount.__table__
    # Per pair: its link and how many of its open amounts turned non-zero (+1) or zero (-1),
    # from the amount the upsert itself returns (atomic: a concurrent flush waits for the row).
    pairs: dict[tuple, list] = {}
    for (org_id, supplier_id, currency, due), link_id, amount, count in sorted(opened, key=lambda item: item[0]):
        stmt = insert(table).values(organization_id=org_id, supplier_id=supplier_id, currency=currency,
                                    due_date=due, link_id=link_id, amount=amount, invoices=count)
        now = conn.execute(stmt.on_conflict_do_update(
            index_elements=list(OPEN_KEY),
            set_={"amount": table.c.amount + stmt.excluded.amount,
                  "invoices": table.c.invoices + stmt.excluded.invoices}).returning(table.c.amount)).scalar_one()
        turned = (now != 0) - (now - amount != 0)
        if turned:
            pair = pairs.setdefault((org_id, supplier_id), [link_id, 0])
            pair[0] = pair[0] or link_id
            pair[1] += turned
        if count < 0 or amount < 0:
            conn.execute(delete(table).where(
                table.c.organization_id == org_id, table.c.supplier_id == supplier_id, table.c.currency == currency,
                table.c.due_date == due, table.c.invoices == 0, table.c.amount == 0))
    table = AccountDay.__table__
    for (org_id, supplier_id, currency, day), values in sorted(days, key=lambda item: item[0]):
        stmt = insert(table).values(organization_id=org_id, supplier_id=supplier_id, currency=currency, day=day,
                                    **dict(zip(DAY_VALUES, values, strict=True)))
        conn.execute(stmt.on_conflict_do_update(
            index_elements=list(DAY_KEY),
            set_={name: table.c[name] + stmt.excluded[name] for name in DAY_VALUES}))
    invoice_aging.apply(conn, insert, opened, pairs, renames)


def _insert_for(dialect: str):
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - the portal runs on these two
        raise RuntimeError(f"invoice totals: no upsert for {dialect}")
    return insert


# ---------------------------------------------------------------- rebuilding from the documents

PAYMENT_PARTIES = (
    "UPDATE payments SET "
    "buyer_id = (SELECT invoices.organization_id FROM invoices WHERE invoices.id = payments.invoice_id), "
    "seller_id = (SELECT invoices.supplier_id FROM invoices WHERE invoices.id = payments.invoice_id), "
    "currency = (SELECT invoices.currency FROM invoices WHERE invoices.id = payments.invoice_id) "
    "WHERE buyer_id IS NULL")
REBUILD = (
    PAYMENT_PARTIES,
    "DELETE FROM invoice_open_amounts",
    "DELETE FROM invoice_account_days",
    # Constants only (NO_DUE_DATE, OPEN_STATUSES): the same text as the migration's backfill.
    "INSERT INTO invoice_open_amounts (organization_id, supplier_id, currency, due_date, link_id, amount, invoices) "
    "SELECT organization_id, supplier_id, currency, COALESCE(due_date, '9999-12-31'), MIN(link_id), "
    "SUM(gross_total - credited_total - paid_total - discount_taken), COUNT(*) FROM invoices "
    "WHERE kind = 'invoice' AND status IN ('issued', 'disputed', 'approved', 'partially_paid') "
    "GROUP BY organization_id, supplier_id, currency, COALESCE(due_date, '9999-12-31')",
    "INSERT INTO invoice_account_days "
    "(organization_id, supplier_id, currency, day, invoiced, credited, paid, discount) "
    "SELECT organization_id, supplier_id, currency, day, SUM(invoiced), SUM(credited), SUM(paid), SUM(discount) FROM ("
    "SELECT organization_id, supplier_id, currency, issue_date AS day, "
    "CASE WHEN kind = 'invoice' THEN gross_total ELSE 0 END AS invoiced, "
    "CASE WHEN kind = 'invoice' THEN 0 ELSE gross_total END AS credited, 0 AS paid, 0 AS discount "
    "FROM invoices WHERE status <> 'draft' AND issue_date IS NOT NULL "
    "UNION ALL "
    "SELECT i.organization_id, i.supplier_id, i.currency, p.paid_on, 0, 0, p.amount, p.discount "
    "FROM payments p JOIN invoices i ON i.id = p.invoice_id WHERE i.status <> 'draft'"
    ") AS movements GROUP BY organization_id, supplier_id, currency, day",
)


def rebuild(conn) -> None:
    """Recompute both tables from the documents (one statement each; SQLite and PostgreSQL), the
    aging pages' tables from them (`invoice_aging.rebuild`), and the payments' copy of their
    invoice's parties where it is missing: the migration's backfill, and the bench loader's
    after its bulk inserts."""
    for statement in REBUILD:
        conn.execute(text(statement))
    invoice_aging.rebuild(conn)


def recomputed(session) -> tuple[dict, dict]:
    """Both tables' figures recomputed from the documents, as `stored(session)` gives them (tests)."""
    deltas = _Deltas()
    conn = session.connection()
    invoices = {row.id: row._asdict() for row in conn.execute(
        select(*[Invoice.__table__.c[name] for name in _INVOICE_COLUMNS]))}
    for values in invoices.values():
        deltas.invoice(values, +1)
    for row in conn.execute(select(*[Payment.__table__.c[name] for name in _PAYMENT_COLUMNS])):
        deltas.payment(row._asdict(), invoices.get(row.invoice_id), +1)
    opened, days = deltas.changes()
    return ({key: (amount, count) for key, _link, amount, count in opened},
            {key: tuple(values) for key, values in days})


def stored(session) -> tuple[dict, dict]:
    """Both tables as {key: figures} (rows of nothing left out)."""
    conn = session.connection()
    t = OpenAmount.__table__
    opened = {(r.organization_id, r.supplier_id, r.currency, r.due_date): (r.amount, r.invoices)
              for r in conn.execute(select(t)) if r.amount or r.invoices}
    t = AccountDay.__table__
    days = {(r.organization_id, r.supplier_id, r.currency, r.day): (r.invoiced, r.credited, r.paid, r.discount)
            for r in conn.execute(select(t)) if any((r.invoiced, r.credited, r.paid, r.discount))}
    return opened, days


__all__ = ["NO_DUE_DATE", "OPEN_STATUSES", "AccountDay", "OpenAmount", "rebuild", "recomputed", "stored"]
