"""Aging and statements of account (portal/services/invoicing/statements.py): buckets that agree
with the domain's `aging_bucket` at every boundary, one row per counterparty and currency, only
open invoices' amount due; statements with opening balance, dated entries, running and closing
balances that reconcile with what is still due, the same for both sides; statements sent constant
in N; the PDF."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event

from portal.domain.invoicing import aging_bucket
from portal.extensions import db
from portal.models.invoice import InvoiceKind, InvoiceStatus, Payment
from portal.services.invoicing import statements
from portal.tenancy import system
from tests.factories import acting_for
from tests.services.invoice_rows import TODAY, add_invoice, bulk, link_of

S = InvoiceStatus
D = Decimal
ZERO = D("0.00")


def _aging(org, side, **kwargs):
    with acting_for(org):
        return statements.aging(side=side, today=TODAY, **kwargs)


def test_buckets_agree_with_the_domain_at_every_boundary(world):
    offsets = (-5, 0, 1, 30, 31, 60, 61, 90, 91, 400)
    for i, days in enumerate(offsets):
        add_invoice(world.acme, world.polbud, status=S.ISSUED, gross=D(10 ** i) / 100 + D(1),
                    due=TODAY - timedelta(days=days), issued=TODAY - timedelta(days=days + 30))
    expected = dict.fromkeys(statements.BUCKETS, ZERO)
    for i, days in enumerate(offsets):
        expected[aging_bucket(TODAY - timedelta(days=days), TODAY).value] += D(10 ** i) / 100 + D(1)
    (row,) = _aging(world.acme, "buyer")
    assert {name: getattr(row, name) for name in statements.BUCKETS} == expected
    assert row.total == sum(expected.values())
    assert row.counterparty_id == world.polbud.id and row.counterparty_name == world.polbud.name
    assert row.overdue == row.total - row.current
    assert row.link_id == link_of(world.acme, world.polbud).id


def test_only_open_invoices_amount_due_per_counterparty_and_currency(world):
    acme, polbud, nordwind = world.acme, world.polbud, world.nordwind
    add_invoice(acme, polbud, status=S.ISSUED, gross="100.00", due=TODAY - timedelta(days=3))
    add_invoice(acme, polbud, status=S.PARTIALLY_PAID, gross="200.00", paid="50.00", due=TODAY)
    add_invoice(acme, polbud, status=S.APPROVED, gross="300.00", credited="100.00",
                due=TODAY - timedelta(days=45))
    add_invoice(acme, polbud, status=S.DISPUTED, gross="10.00", currency="EUR", due=TODAY + timedelta(days=3))
    # Not open: draft, paid, credited, and a credit note (it reduces its invoice's credited).
    add_invoice(acme, polbud, status=S.DRAFT, gross="999.00")
    add_invoice(acme, polbud, status=S.PAID, gross="999.00", paid="999.00")
    add_invoice(acme, polbud, status=S.CREDITED, gross="999.00", credited="999.00")
    add_invoice(acme, polbud, status=S.ISSUED, gross="100.00", kind=InvoiceKind.CREDIT_NOTE)
    add_invoice(acme, nordwind, status=S.ISSUED, gross="7.00", currency="PLN", due=TODAY - timedelta(days=100))
    add_invoice(world.globex, nordwind, status=S.ISSUED, gross="5.00", currency="EUR",
                due=TODAY - timedelta(days=1))

    rows = _aging(acme, "buyer")
    assert [(r.counterparty_name, r.currency) for r in rows] == sorted(
        [(nordwind.name, "PLN"), (polbud.name, "EUR"), (polbud.name, "PLN")], key=lambda x: (x[0].casefold(), x[1]))
    pln = next(r for r in rows if r.counterparty_id == polbud.id and r.currency == "PLN")
    assert (pln.current, pln.d1_30, pln.d31_60, pln.total) == (D("150.00"), D("100.00"), D("200.00"),
                                                               D("450.00"))
    assert next(r for r in rows if r.counterparty_id == nordwind.id).d90_plus == D("7.00")
    assert [r.currency for r in _aging(acme, "buyer", counterparty_id=polbud.id)] == ["EUR", "PLN"]

    # The supplier's side: its customers, each company only what it reads.
    theirs = _aging(nordwind, "supplier")
    assert {(r.counterparty_id, r.currency, r.total) for r in theirs} == {
        (acme.id, "PLN", D("7.00")), (world.globex.id, "EUR", D("5.00"))}
    assert _aging(polbud, "buyer") == []
    assert _aging(world.globex, "buyer")[0].total == D("5.00")
    totals = statements.aging_totals(rows)
    assert [(t.currency, t.total) for t in totals] == [("EUR", D("10.00")), ("PLN", D("457.00"))]


class _count:
    def __enter__(self):
        self.sent = []
        event.listen(db.engine, "before_cursor_execute", self._before)
        return self.sent

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        self.sent.append(statement)

    def __exit__(self, *exc):
        event.remove(db.engine, "before_cursor_execute", self._before)


def test_aging_and_statement_cost_the_same_statements_at_any_size(world):
    link = link_of(world.acme, world.polbud)
    bulk(world.acme, world.polbud, 10)

    def measure():
        db.session.expire_all()
        with acting_for(world.acme):
            with _count() as aging_sent:
                statements.aging(side="buyer", today=TODAY)
            with _count() as statement_sent:
                statements.statement(link=link, start=TODAY - timedelta(days=60), end=TODAY, today=TODAY)
        return len(aging_sent), len(statement_sent)

    small = measure()
    bulk(world.acme, world.polbud, 60, start=10)
    assert measure() == small
    assert small[0] <= 2 and small[1] <= 10


@pytest.fixture
def history(world):
    """Acme and Polbud, PLN: before the period an invoice of 1 000 partly paid (400); in the
    period an invoice of 500, a credit note of 100 on it, a payment of 300 with a discount of 6
    on the first, and a EUR invoice (another currency); after the period an invoice of 50."""
    acme, polbud = world.acme, world.polbud
    start, end = date(2026, 5, 1), date(2026, 5, 31)
    old = add_invoice(acme, polbud, status=S.PAID, gross="1000.00", paid="400.00",
                      issued=date(2026, 4, 10), paid_on=date(2026, 4, 20), due=date(2026, 5, 10))
    with system(db.session):
        db.session.add(Payment(invoice_id=old.id, paid_on=date(2026, 5, 12), amount=D("594.00"),
                               discount=D("6.00"), reference="Przelew 2"))
        db.session.commit()
    new = add_invoice(acme, polbud, status=S.APPROVED, gross="500.00", credited="100.00",
                      issued=date(2026, 5, 5), due=date(2026, 6, 4))
    note = add_invoice(acme, polbud, status=S.ISSUED, kind=InvoiceKind.CREDIT_NOTE, gross="100.00",
                       corrects=new, issued=date(2026, 5, 20))
    add_invoice(acme, polbud, status=S.ISSUED, gross="80.00", currency="EUR", issued=date(2026, 5, 6))
    later = add_invoice(acme, polbud, status=S.ISSUED, gross="50.00", issued=date(2026, 6, 2),
                        due=date(2026, 7, 2))
    add_invoice(acme, polbud, status=S.DRAFT, gross="777.00")
    return {"start": start, "end": end, "old": old.id, "new": new.id, "note": note.id, "later": later.id,
            "link": link_of(acme, polbud)}


def _statement(org, history, **kwargs):
    with acting_for(org):
        return statements.statement(link=history["link"], start=kwargs.pop("start", history["start"]),
                                    end=kwargs.pop("end", history["end"]), today=TODAY, **kwargs)


def test_a_statement_has_opening_entries_and_closing_balances(world, history):
    st = _statement(world.acme, history)
    assert st.currency == "PLN" and st.link_id == history["link"].id
    assert st.opening == D("600.00")  # 1 000 issued − 400 paid before May
    assert [(e.day, e.kind, e.debit, e.credit, e.balance) for e in st.entries] == [
        (date(2026, 5, 5), "invoice", D("500.00"), ZERO, D("1100.00")),
        (date(2026, 5, 12), "payment", ZERO, D("600.00"), D("500.00")),
        (date(2026, 5, 20), "credit_note", ZERO, D("100.00"), D("400.00")),
    ]
    payment = st.entries[1]
    assert payment.discount == D("6.00") and payment.description == "Przelew 2"
    assert payment.invoice_id == history["old"]
    assert st.entries[2].corrects_id == history["new"]
    assert st.closing == D("400.00") and st.debits == D("500.00") and st.credits == D("700.00")
    assert not st.truncated
    # The open invoices and the counterparty's aging, as of today.
    assert [i.id for i in st.open_invoices] == [history["new"], history["later"]]
    assert st.aging is not None and st.aging.total == D("450.00")


def test_the_closing_balance_up_to_today_is_what_is_still_due(world, history):
    st = _statement(world.acme, history, start=date(2020, 1, 1), end=TODAY)
    assert st.opening == ZERO
    assert st.closing == sum((i.amount_due for i in st.open_invoices), ZERO) == st.aging.total
    # Any split of the history gives the same closing balance.
    first = _statement(world.acme, history, start=date(2020, 1, 1), end=date(2026, 5, 15))
    second = _statement(world.acme, history, start=date(2026, 5, 16), end=TODAY)
    assert first.closing == second.opening and second.closing == st.closing


def test_both_sides_read_the_same_statement_and_others_nothing(world, history):
    buyer = _statement(world.acme, history)
    supplier = _statement(world.polbud, history)
    assert [(e.kind, e.number, e.balance) for e in buyer.entries] == \
        [(e.kind, e.number, e.balance) for e in supplier.entries]
    assert (buyer.opening, buyer.closing) == (supplier.opening, supplier.closing)
    assert supplier.aging.total == buyer.aging.total
    # Another company, handed the link, reads nothing of it.
    nobody = _statement(world.globex, history)
    assert nobody.entries == [] and nobody.opening == ZERO and nobody.open_invoices == []


def test_other_currencies_and_reversed_periods(world, history):
    eur = _statement(world.acme, history, currency="EUR")
    assert [(e.kind, e.debit) for e in eur.entries] == [("invoice", D("80.00"))]
    swapped = _statement(world.acme, history, start=history["end"], end=history["start"])
    assert (swapped.start, swapped.end) == (history["start"], history["end"])


def test_long_periods_stop_listing_but_still_balance(world, history, monkeypatch):
    monkeypatch.setattr(statements, "MAX_ENTRIES", 2)
    st = _statement(world.acme, history)
    assert st.truncated and len(st.entries) == 2 and st.closing == D("400.00")


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext not installed")
def test_the_statement_pdf_lists_balances_and_entries(world, history):
    with acting_for(world.acme):
        st = statements.statement(link=history["link"], start=history["start"], end=history["end"],
                                  today=TODAY)
        pdf = statements.render_statement_pdf(st, locale="en")
        polish = statements.render_statement_pdf(st, locale="pl")
    text = " ".join(subprocess.run(["pdftotext", "-raw", "-enc", "UTF-8", "-", "-"], input=pdf,
                                   capture_output=True, check=True).stdout.decode().replace("\xa0", " ").split())
    assert pdf.startswith(b"%PDF")
    assert "Statement of account" in text
    for fragment in ("Opening balance", "600.00", "1,100.00", "Closing balance", "400.00", "Przelew 2",
                     "Credit note", "Open invoices", world.polbud.legal_name):
        assert fragment.casefold() in text.casefold(), fragment
    polish_text = subprocess.run(["pdftotext", "-raw", "-enc", "UTF-8", "-", "-"], input=polish,
                                 capture_output=True, check=True).stdout.decode()
    assert polish.startswith(b"%PDF") and "1100,00" in polish_text.replace("\xa0", "").replace(" ", "")
    assert statements.statement_filename(st).endswith("2026-05-01-2026-05-31.pdf")
