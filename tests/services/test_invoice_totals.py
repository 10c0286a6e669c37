"""The stored running figures of invoicing (portal/models/invoice_totals.py) after random sequences
of issues, credit notes, approvals, disputes, payments (partial, final, with the early-payment
discount) and rows written directly: always exactly what a recomputation from the documents
gives, to the grosz; the aging and the statements read from them agree with the documents; the
rebuild (the migration's backfill, the bench loader's) gives the same rows."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.domain.invoicing import aging_bucket
from portal.errors import ValidationProblem
from portal.extensions import db
from portal.models.invoice import Invoice, InvoiceKind, InvoiceStatus, Payment
from portal.models.invoice_totals import NO_DUE_DATE, OPEN_STATUSES, rebuild, stored
from portal.services.clock import today_for
from portal.services.invoicing import buyer, issuing, statements
from portal.services.invoicing.issuing import CreditLineInput
from portal.tenancy import system
from tests.factories import acting_for
from tests.services.invoice_rows import add_invoice, link_of
from tests.services.supplier_invoice_fixtures import (
    as_supplier,
    draft,
    give_ibans,
    issue,
    received_order,
    stub_documents,  # noqa: F401 - fixture
)

D = Decimal
S = InvoiceStatus
ZERO = D("0.00")


@pytest.fixture(autouse=True)
def _world(world, stub_documents):  # noqa: F811
    give_ibans(world)


def from_documents() -> tuple[dict, dict]:
    """Both tables' figures computed from the invoices and payments alone (no shared code)."""
    opened: dict = {}
    days: dict = {}
    with system(db.session):
        invoices = {i.id: i for i in db.session.scalars(select(Invoice).execution_options(populate_existing=True))}
        payments = db.session.scalars(select(Payment).execution_options(populate_existing=True)).all()
    for i in invoices.values():
        if i.status == S.DRAFT:
            continue
        pair = (i.organization_id, i.supplier_id, i.currency)
        if i.kind == InvoiceKind.INVOICE and str(i.status) in OPEN_STATUSES:
            key = (*pair, i.due_date or NO_DUE_DATE)
            amount, count = opened.get(key, (ZERO, 0))
            opened[key] = (amount + i.amount_due, count + 1)
        if i.issue_date is not None:
            key = (*pair, i.issue_date)
            inv, cred, paid, disc = days.get(key, (ZERO,) * 4)
            if i.kind == InvoiceKind.INVOICE:
                inv += i.gross_total
            else:
                cred += i.gross_total
            days[key] = (inv, cred, paid, disc)
    for p in payments:
        i = invoices[p.invoice_id]
        if i.status == S.DRAFT:
            continue
        key = (i.organization_id, i.supplier_id, i.currency, p.paid_on)
        inv, cred, paid, disc = days.get(key, (ZERO,) * 4)
        days[key] = (inv, cred, paid + p.amount, disc + p.discount)
    return ({k: v for k, v in opened.items() if any(v)}, {k: v for k, v in days.items() if any(v)})


def assert_in_step():
    from portal.models.invoice_aging import stored as stored_aging
    from tests.services.test_invoice_aging_totals import expected_aging

    db.session.commit()
    with system(db.session):
        documents = from_documents()
        assert stored(db.session) == documents
        # The aging pages' own figures (portal/models/invoice_aging.py) follow them too.
        assert stored_aging(db.session.connection()) == expected_aging(documents[0])


def _statement_from_documents(link, start, end):
    """(opening, closing) of the link's statement computed from its documents."""
    opening = closing = ZERO
    with system(db.session):
        invoices = db.session.scalars(select(Invoice).where(
            Invoice.organization_id == link.organization_id, Invoice.supplier_id == link.supplier_id,
            Invoice.currency == link.currency, Invoice.status != S.DRAFT)).all()
        for i in invoices:
            signed = i.gross_total if i.kind == InvoiceKind.INVOICE else -i.gross_total
            if i.issue_date < start:
                opening += signed
            if i.issue_date <= end:
                closing += signed
            for p in i.payments:
                if p.paid_on < start:
                    opening -= p.amount + p.discount
                if p.paid_on <= end:
                    closing -= p.amount + p.discount
    return opening, closing


def _aging_from_documents(buyer_org, supplier_org, currency, today):
    values = dict.fromkeys(statements.BUCKETS, ZERO)
    with system(db.session):
        for i in db.session.scalars(select(Invoice).where(
                Invoice.organization_id == buyer_org.id, Invoice.supplier_id == supplier_org.id,
                Invoice.currency == currency, Invoice.kind == InvoiceKind.INVOICE,
                Invoice.status.in_(list(OPEN_STATUSES)))):
            bucket = aging_bucket(i.due_date, today).value if i.due_date else "current"
            values[bucket] += i.amount_due
    return values


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_stored_figures_follow_random_issues_credits_and_payments(world, seed):
    rnd = random.Random(seed)
    acme, polbud = world.acme, world.polbud
    admin = world.user("admin@acme")
    today = today_for(acme)
    issued: list[int] = []
    done: dict[str, int] = {}
    assert_in_step()
    for _step in range(14):
        action = rnd.choice(("issue", "issue", "rows", "credit", "approve", "dispute", "pay", "pay", "pay"))
        if action == "issue" or not issued:
            price = f"{rnd.randint(1, 500)}.{rnd.randint(0, 99):02d}"
            made = received_order(world, lines=(("Papier", str(rnd.randint(1, 9)), price),
                                                ("Toner", str(rnd.randint(1, 3)), "123.45")))
            invoice_id = draft(world, made)
            issue(world, invoice_id)
            issued.append(invoice_id)
            action = "issue"
        elif action == "rows":
            status = rnd.choice((S.ISSUED, S.APPROVED, S.PAID, S.DRAFT, S.DISPUTED, S.CREDITED))
            gross = D(rnd.randint(100, 99999)) / 100
            paid = gross if status == S.PAID else None
            add_invoice(acme, polbud, status=status, gross=gross, paid=paid,
                        credited=gross if status == S.CREDITED else "0",
                        issued=today - timedelta(days=rnd.randint(0, 400)),
                        due=None if rnd.random() < 0.2 else today + timedelta(days=rnd.randint(-120, 60)))
        else:
            invoice_id = rnd.choice(issued)
            try:
                if action == "credit":
                    with as_supplier(world) as actor:
                        invoice = db.session.get(Invoice, invoice_id)
                        line = invoice.lines[0]
                        lines = None if rnd.random() < 0.4 else [CreditLineInput(
                            line.id, quantity=D(1), unit_price=(line.unit_price / 2).quantize(D("0.01")))]
                        issuing.issue_credit_note(invoice, actor, reason="Zwrot", lines=lines)
                        db.session.commit()
                else:
                    with acting_for(acme):
                        invoice = db.session.get(Invoice, invoice_id)
                        if action == "approve":
                            buyer.approve_invoice(invoice, admin, override_reason="Zgoda")
                        elif action == "dispute":
                            buyer.dispute_invoice(invoice, admin, reason="Za drogo")
                        else:
                            if invoice.status in (S.ISSUED, S.DISPUTED):
                                buyer.approve_invoice(invoice, admin, override_reason="Zgoda")
                            due = invoice.amount_due
                            share = D(100 if rnd.random() < 0.5 else rnd.randint(1, 90))
                            amount = (due * share / 100).quantize(D("0.01"))
                            buyer.record_payment(invoice, admin, paid_on=today, amount=amount,
                                                 reference=f"TR {seed}", today=today)
                        db.session.commit()
                done[action] = done.get(action, 0) + 1
            except (ValidationProblem, Exception) as problem:  # a refused step writes nothing
                db.session.rollback()
                if not isinstance(problem, ValidationProblem) and "InvalidTransition" not in type(problem).__name__ \
                        and "PermissionDenied" not in type(problem).__name__:
                    raise
        assert_in_step()
    assert done.get("pay") and done.get("credit")  # statuses and amounts did change

    # The pages' figures, read from the stored rows, agree with the documents.
    link = link_of(acme, polbud)
    with acting_for(acme):
        for start, end in ((today - timedelta(days=500), today), (today - timedelta(days=30), today),
                           (today - timedelta(days=200), today - timedelta(days=100)), (today, today)):
            found = statements.statement(link=link, start=start, end=end, today=today)
            assert (found.opening, found.closing) == _statement_from_documents(link, start, end)
            assert found.closing == found.opening + found.debits - found.credits or found.truncated
            # Paged (as on screen), the pages' entries and running balances are the same.
            paged, cursor = [], None
            while True:
                page = statements.statement(link=link, start=start, end=end, today=today, page_size=2,
                                            cursor=cursor)
                paged += page.entries
                cursor = page.next_cursor
                if cursor is None:
                    break
            assert [(e.kind, e.invoice_id, e.credit, e.balance) for e in paged] == \
                [(e.kind, e.invoice_id, e.credit, e.balance) for e in found.entries]
        (row,) = [r for r in statements.aging(side="buyer", today=today) if r.counterparty_id == polbud.id]
        assert {name: getattr(row, name) for name in statements.BUCKETS} == \
            _aging_from_documents(acme, polbud, row.currency, today)
    with acting_for(polbud):
        (row,) = [r for r in statements.aging(side="supplier", today=today) if r.counterparty_id == acme.id]
        assert {name: getattr(row, name) for name in statements.BUCKETS} == \
            _aging_from_documents(acme, polbud, row.currency, today)
        page = statements.aging_page(side="supplier", today=today)
        assert [t.total for t in page.totals] == [row.total]

    # The rebuild (the migration's backfill, the bench loader's) gives the very same rows.
    before = stored(db.session)
    with system(db.session):
        rebuild(db.session.connection())
        db.session.commit()
        assert stored(db.session) == before


def test_a_deleted_draft_and_an_invoice_changed_after_loading_stay_counted(world):
    acme, polbud = world.acme, world.polbud
    doomed = add_invoice(acme, polbud, status=S.DRAFT, gross="10.00")
    kept = add_invoice(acme, polbud, status=S.ISSUED, gross="500.00", due=date(2026, 6, 1))
    assert_in_step()
    with system(db.session):
        db.session.delete(db.session.get(Invoice, doomed.id))
        invoice = db.session.get(Invoice, kept.id)
        db.session.expire(invoice)  # set without reading first: the stored value is read back
        invoice.status = S.PAID
        invoice.paid_total = D("500.00")
        db.session.commit()
    assert_in_step()
    with system(db.session):
        assert stored(db.session)[0] == {}


def test_the_aging_pages_through_counterparties_and_totals_count_them_all(world, monkeypatch):
    acme = world.acme
    monkeypatch.setattr(statements, "AGING_PAGE", 1)
    add_invoice(acme, world.polbud, status=S.ISSUED, gross="100.00", due=date(2026, 6, 1))
    add_invoice(acme, world.nordwind, status=S.ISSUED, gross="50.00", due=date(2026, 6, 1),
                currency=link_of(acme, world.polbud).currency)
    with acting_for(acme):
        first = statements.aging_page(side="buyer", today=date(2026, 6, 15))
        second = statements.aging_page(side="buyer", today=date(2026, 6, 15), cursor=first.next)
        every = statements.aging(side="buyer", today=date(2026, 6, 15))
    assert first.counterparties == 2 and first.prev is None and second.next is None
    assert (first.first, second.first) == (0, 1) and second.prev.startswith("0.")
    assert [r.counterparty_id for r in first.rows + second.rows] == [r.counterparty_id for r in every]
    assert sum(t.total for t in first.totals) == sum(r.total for r in every) == D("150.00")


def test_the_pages_link_to_the_next_suppliers_and_the_later_entries(world, login_as, monkeypatch):
    import re
    from html import unescape

    monkeypatch.setattr(statements, "AGING_PAGE", 1)
    monkeypatch.setattr(statements, "ENTRIES_PAGE", 2)
    acme, polbud = world.acme, world.polbud
    today = today_for(acme)
    for days in (3, 2, 1):
        add_invoice(acme, polbud, status=S.ISSUED, gross="10.00", issued=today - timedelta(days=days),
                    due=today + timedelta(days=days))
    add_invoice(acme, world.nordwind, status=S.ISSUED, gross="5.00", due=today,
                currency=link_of(acme, polbud).currency)
    client = login_as(world.user("admin@acme"))
    page = client.get("/invoices/aging")
    assert page.status_code == 200 and 'data-testid="aging-range"' in page.text
    later = unescape(re.search(r'<a href="([^"]+)" rel="next"', page.text).group(1))
    assert client.get(later).status_code == 200
    link_id = link_of(acme, polbud).id
    start = (today - timedelta(days=10)).isoformat()
    page = client.get(f"/invoices/statements/{link_id}?start={start}&end={today.isoformat()}")
    assert page.text.count('data-testid="statement-entry"') == 2
    later = unescape(re.search(r'<a href="([^"]+)" rel="next"', page.text).group(1))
    page = client.get(later)
    assert page.status_code == 200 and page.text.count('data-testid="statement-entry"') == 1
    assert "Brought forward" in page.text or "Z przeniesienia" in page.text
    supplier = login_as(world.user("sales@polbud"))
    page = supplier.get(f"/supplier/statements/{link_id}?start={start}&end={today.isoformat()}")
    assert page.status_code == 200 and 'data-testid="next-page"' in page.text


@pytest.mark.skipif(not __import__("os").environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
                    reason="concurrent writers: PostgreSQL (SQLite serialises them)")
def test_concurrent_issues_and_payments_on_the_same_rows_lose_nothing(app, world):
    """Issues and final payments at the same moment, on the same link, due date and day (the same
    stored rows, which the payments empty and delete while the issues add to them); a third of
    the payments fail after they were recorded."""
    import threading

    from portal.models import Organization, User
    from portal.tenancy import bound, scope_for

    acme, polbud = world.acme, world.polbud
    first = draft(world, received_order(world))
    issue(world, first)
    with system(db.session):
        template = db.session.get(Invoice, first)
        due, issued_on = template.due_date, template.issue_date
    payable = [add_invoice(acme, polbud, status=S.APPROVED, gross=f"{100 + n}.00", due=due, issued=issued_on,
                           number=f"FV/TEST/{n:06d}").id for n in range(6)]
    drafts = [draft(world, received_order(world)) for _ in range(4)]
    assert_in_step()
    jobs = [("pay", invoice_id, n % 3 == 2) for n, invoice_id in enumerate(payable)]
    jobs += [("issue", invoice_id, False) for invoice_id in drafts]
    barrier = threading.Barrier(len(jobs))
    errors: list[str] = []
    ids = {"buyer": (acme.id, world.user("admin@acme").id), "supplier": (polbud.id, world.user("sales@polbud").id)}

    def work(action: str, invoice_id: int, fail: bool) -> None:
        org_id, user_id = ids["buyer" if action == "pay" else "supplier"]
        try:
            with app.app_context():
                org = db.session.get(Organization, org_id)
                with bound(db.session, scope_for(db.session, org)):
                    actor = db.session.scalars(select(User).where(User.id == user_id)).one()
                    invoice = db.session.get(Invoice, invoice_id)
                    barrier.wait(timeout=30)
                    if action == "pay":
                        buyer.record_payment(invoice, actor, paid_on=issued_on, amount=invoice.amount_due,
                                             today=issued_on)
                    else:
                        issuing.issue_invoice(invoice, actor)
                    if fail:
                        db.session.rollback()
                    else:
                        db.session.commit()
                db.session.remove()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))

    threads = [threading.Thread(target=work, args=job) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    db.session.expire_all()
    assert_in_step()
    with system(db.session):
        paid = db.session.scalars(select(Invoice).where(Invoice.id.in_(payable), Invoice.status == S.PAID)).all()
    assert len(paid) == 4
