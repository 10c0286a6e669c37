"""Invoice numbers under concurrency, on PostgreSQL (SQLite serialises writers): many drafts of
two suppliers issued at the same moment, each in its own session and transaction, some of the
transactions failing after they took a number. Each supplier's numbers are contiguous from 1
with no duplicate and no gap; the failed drafts stay drafts without a number."""

from __future__ import annotations

import os
import threading

import pytest
from sqlalchemy import select

from portal.domain.invoicing import format_number
from portal.extensions import db
from portal.models import DocumentCounter, Organization, User
from portal.models.invoice import Invoice, InvoiceKind, InvoiceStatus
from portal.services.clock import today_for
from portal.services.invoicing import issuing
from portal.tenancy import bound, scope_for, system
from tests.services.supplier_invoice_fixtures import draft, give_ibans, received_order

POSTGRES = os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql")
pytestmark = pytest.mark.skipif(not POSTGRES, reason="row locking is a PostgreSQL concern (SQLite serialises writers)")

PER_SUPPLIER = 6
FAIL_EVERY = 3  # every third issue fails after taking its number


class Crash(RuntimeError):
    pass


def _issue_in_threads(app, jobs: list[tuple[int, int, int, bool]]) -> tuple[list, list]:
    """jobs: (supplier org id, user id, invoice id, fail) — all issued at once."""
    barrier = threading.Barrier(len(jobs))
    issued, errors = [], []
    lock = threading.Lock()

    def work(supplier_id: int, user_id: int, invoice_id: int, fail: bool) -> None:
        try:
            with app.app_context():
                org = db.session.get(Organization, supplier_id)
                with bound(db.session, scope_for(db.session, org)):
                    actor = db.session.scalars(select(User).where(User.id == user_id)).one()
                    invoice = db.session.get(Invoice, invoice_id)
                    barrier.wait(timeout=30)
                    try:
                        issuing.issue_invoice(invoice, actor)
                        if fail:
                            raise Crash("a later step of the request failed")
                        db.session.commit()
                        with lock:
                            issued.append((supplier_id, invoice.number))
                    except Crash:
                        db.session.rollback()
                db.session.remove()
        except Exception as exc:  # noqa: BLE001 - reported by the test
            with lock:
                errors.append(repr(exc))

    threads = [threading.Thread(target=work, args=job) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return issued, errors


def test_concurrent_issues_of_two_suppliers_are_contiguous_without_duplicates(app, world, monkeypatch):
    give_ibans(world)
    monkeypatch.setattr(issuing, "_store_documents", lambda invoice: None)
    year = today_for(world.polbud).year
    jobs = []
    for supplier in ("polbud", "nordwind"):
        user_id = world.user(f"sales@{supplier}").id
        org_id = getattr(world, supplier).id
        for n in range(PER_SUPPLIER):
            invoice_id = draft(world, received_order(world, supplier=supplier), supplier=supplier)
            jobs.append((org_id, user_id, invoice_id, n % FAIL_EVERY == FAIL_EVERY - 1))
    org_ids = {supplier: getattr(world, supplier).id for supplier in ("polbud", "nordwind")}
    db.session.remove()
    issued, errors = _issue_in_threads(app, jobs)
    assert errors == []
    failing = PER_SUPPLIER // FAIL_EVERY
    with system(db.session):
        for org_id in org_ids.values():
            numbers = sorted(number for sid, number in issued if sid == org_id)
            expected = [format_number(InvoiceKind.INVOICE, year, n) for n in range(1, PER_SUPPLIER - failing + 1)]
            assert numbers == expected
            stored = db.session.scalars(select(Invoice).where(Invoice.supplier_id == org_id)).all()
            assert sorted(i.number for i in stored if i.number) == expected
            assert [i.status for i in stored if i.number is None] == [InvoiceStatus.DRAFT] * failing
            counter = db.session.scalars(select(DocumentCounter).where(
                DocumentCounter.organization_id == org_id, DocumentCounter.kind == "invoice")).one()
            assert counter.last == PER_SUPPLIER - failing
