"""`flask seed-bench` writes invoices (services.bench_invoicing) consistent with the orders they
bill and stored as the models store them: one invoice per delivered order at most, never more
than was accepted, totals that add up, payments that match `paid_total`, whole credit notes of
the credited ones, drafts without numbers, every open state and overdue ones; numbering carries
on; the invoicing pages serve the result."""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal

import pytest
from sqlalchemy import select, text

from portal.extensions import db
from portal.models.invoice import Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, Payment
from portal.models.order import PurchaseOrderLine
from portal.services.numbering import next_sequence
from tests.conftest import as_system, login

S = InvoiceStatus


@pytest.fixture(autouse=True)
def _forget_statistics(app):
    yield
    if db.engine.dialect.name != "sqlite":
        return
    with db.engine.begin() as conn:
        for (table,) in conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE name LIKE 'sqlite_stat%' AND type = 'table'").all():
            conn.exec_driver_sql(f"DELETE FROM {table}")  # noqa: S608 - SQLite's own statistics tables
    db.engine.dispose()


def _seed(app, n=2000):
    result = app.test_cli_runner().invoke(
        args=["seed-bench", "--requisitions", str(n), "--noise-companies", "1", "--batch-size", "700",
              "--documents", "0"])
    assert result.exit_code == 0, result.output


def test_seed_bench_writes_invoices_that_agree_with_their_orders(app, world, client):
    _seed(app)
    with as_system():
        invoices = list(db.session.scalars(select(Invoice).where(Invoice.organization_id == world.acme.id)))
        lines = list(db.session.scalars(select(InvoiceLine)))
        payments = list(db.session.scalars(select(Payment)))
        order_lines = {ol.id: ol for ol in db.session.scalars(select(PurchaseOrderLine))}
        bench = [i for i in invoices if i.created_by_id is not None]
        assert len(bench) >= 50
        states = Counter(i.status for i in bench if i.kind == InvoiceKind.INVOICE)
        for state in (S.DRAFT, S.ISSUED, S.APPROVED, S.PARTIALLY_PAID, S.PAID, S.DISPUTED):
            assert states[state], (state, states)
        today = max(i.issue_date for i in bench if i.issue_date)
        assert any(i.status in (S.ISSUED, S.APPROVED, S.PARTIALLY_PAID, S.DISPUTED) and i.due_date < today
                   for i in bench if i.kind == InvoiceKind.INVOICE)  # overdue ones
        by_invoice = defaultdict(list)
        for line in lines:
            by_invoice[line.invoice_id].append(line)
        paid = defaultdict(Decimal)
        for p in payments:
            paid[p.invoice_id] += p.amount
        billed = defaultdict(Decimal)
        for inv in bench:
            mine = by_invoice[inv.id]
            assert mine, inv
            assert inv.net_total == sum(ln.net for ln in mine)
            assert inv.gross_total == inv.net_total + inv.vat_total == sum(ln.gross for ln in mine)
            assert inv.paid_total == paid.get(inv.id, Decimal("0.00")), inv
            assert inv.amount_due >= 0
            if inv.status == S.DRAFT:
                assert inv.number is None and inv.issue_date is None and inv.due_date is None
                continue
            assert inv.number and inv.issue_date
            if inv.kind == InvoiceKind.CREDIT_NOTE:
                assert inv.due_date is None
                original = next(o for o in bench if o.id == inv.corrects_id)
                assert original.status == S.CREDITED and original.credited_total == inv.gross_total
                assert all(ln.corrects_line_id for ln in mine)
                continue
            assert inv.due_date > inv.issue_date
            if inv.status == S.PAID:
                assert inv.amount_due == 0 and inv.paid_on is not None
            for ln in mine:
                billed[ln.order_line_id] += ln.quantity
        for order_line_id, quantity in billed.items():
            assert quantity <= order_lines[order_line_id].received_quantity
        # One invoice per order at most.
        orders = Counter(ln.order_id for inv in bench if inv.kind == InvoiceKind.INVOICE
                         for ln in by_invoice[inv.id][:1])
        assert max(orders.values()) == 1
        # Numbering carries on after the generated numbers.
        numbered = [i for i in bench if i.number and i.kind == InvoiceKind.INVOICE and
                    i.supplier_id == world.nordwind.id]
        last = max(int(i.number.rsplit("/", 1)[1]) for i in numbered)
        year = int(numbered[0].number.split("/")[1])
        assert next_sequence(world.nordwind.id, "invoice", year) == last + 1
        db.session.rollback()

    if db.engine.dialect.name == "sqlite":
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM invoices WHERE typeof(gross_total) != 'integer'")
                                ).scalar() == 0
    login(client, world.user("admin@acme"))
    for url in ("/invoices/", "/invoices/?tab=all", "/invoices/?tab=overdue", "/invoices/aging"):
        assert client.get(url).status_code == 200, url


def test_seed_bench_fills_the_stored_aging_and_statement_figures(app, world):
    """The bulk loader writes invoices without the session: it rebuilds the stored figures
    (portal/models/invoice_totals.py) and each payment's copy of its invoice's parties."""
    from portal.models.invoice_totals import recomputed, stored

    _seed(app, n=600)
    with as_system():
        figures = stored(db.session)
        assert figures == recomputed(db.session) and figures[0] and figures[1]
        assert db.session.scalar(select(Payment.id).where(Payment.buyer_id.is_(None))) is None
