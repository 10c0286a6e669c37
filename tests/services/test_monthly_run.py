"""The monthly run (portal/services/invoicing/monthly.py, job "draft-monthly-invoices", CLI
`flask invoices draft-monthly`): one consolidated draft per supplier, buyer and month from what
was received by the month's end and not yet invoiced or drafted; idempotent; per-order and
inactive links left alone; a month not over yet or malformed refused with nothing written."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.jobs import JOBS, monthly_invoices
from portal.jobs.monthly_invoices import draft_monthly
from portal.models import AuditEvent, Notification
from portal.models.invoice import Invoice, InvoiceStatus
from portal.services.clock import today_for
from portal.services.invoicing import monthly
from portal.services.invoicing.monthly import MonthlyRunError, last_month, parse_period
from tests.kit import count
from tests.services.supplier_invoice_fixtures import (
    as_supplier,
    draft,
    get,
    give_ibans,
    issue,
    receive,
    received_order,
    set_monthly,
    stub_documents,  # noqa: F401 - fixture
)


@pytest.fixture(autouse=True)
def _world(world, stub_documents):  # noqa: F811
    give_ibans(world)


@pytest.fixture
def month(world):
    """(today, last month "YYYY-MM", its first day, its last day)."""
    today = today_for(world.acme)
    period = last_month(today)
    start = date(int(period[:4]), int(period[5:]), 1)
    return today, period, start, today.replace(day=1) - timedelta(days=1)


def _monthly_drafts(world, period, supplier="polbud"):
    with as_supplier(world, supplier):
        return db.session.scalars(select(Invoice).where(Invoice.period == period).order_by(Invoice.id)).all()


def test_one_draft_per_buyer_from_what_was_received_by_the_months_end(world, month):
    today, period, start, end = month
    set_monthly(world)
    # received in the month
    one = received_order(world, issued_days_ago=70, received_on=start + timedelta(days=9))
    # received before the month and never invoiced: taken too
    earlier = received_order(world, lines=(("Klej", "3", "12.50"),), issued_days_ago=70,
                             received_on=start - timedelta(days=5))
    # part in the month, the rest after its end (waits for next month)
    split = received_order(world, lines=(("Cement", "40", "18.00"),), issued_days_ago=70,
                           receive={0: "25"}, received_on=end)
    receive(world, split, {0: "15"}, today)
    # received after the month only: nothing
    later = received_order(world, lines=(("Piasek", "2", "90.00"),))
    assert draft_monthly(period, today=today) == [(world.polbud.id, 1)]
    (invoice,) = _monthly_drafts(world, period)
    with as_supplier(world):
        invoice = get(Invoice, invoice.id)
        assert invoice.status == InvoiceStatus.DRAFT and invoice.period == period
        assert invoice.created_by_id == world.user("sales@polbud").id  # the supplier's admin
        got = sorted((ln.order_line_id, ln.quantity) for ln in invoice.lines)
        assert got == sorted([(one.line_ids[0], D("10")), (one.line_ids[1], D("5")),
                              (earlier.line_ids[0], D("3")), (split.line_ids[0], D("25"))])
        assert later.line_ids[0] not in {ln.order_line_id for ln in invoice.lines}
        assert invoice.gross_total == D("2091.00") + D("46.13") + D("553.50")
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "invoice.drafted")
                               .execution_options(all_tenants=True)).one()
    assert event.actor_id is None and event.summary["period"] == period
    told = db.session.scalars(select(Notification).where(Notification.kind == "invoice.monthly")
                              .execution_options(all_tenants=True)).all()
    assert [n.user_id for n in told] == [world.user("sales@polbud").id]


def test_the_run_is_idempotent_and_leaves_invoiced_quantities_out(world, month):
    today, period, start, _end = month
    set_monthly(world)
    invoiced = received_order(world, issued_days_ago=70, received_on=start + timedelta(days=2))
    issue(world, draft(world, invoiced))  # invoiced per order already
    assert draft_monthly(period, today=today) == [(world.polbud.id, 0)]  # nothing left
    received_order(world, issued_days_ago=70, received_on=start + timedelta(days=3))
    assert draft_monthly(period, today=today) == [(world.polbud.id, 1)]
    assert draft_monthly(period, today=today) == [(world.polbud.id, 0)]
    assert len(_monthly_drafts(world, period)) == 1
    # deleted by the supplier: the next run drafts it again
    from portal.services.invoicing import drafting

    with as_supplier(world) as actor:
        drafting.delete_draft(get(Invoice, _monthly_drafts(world, period)[0].id), actor)
        db.session.commit()
    assert draft_monthly(period, today=today) == [(world.polbud.id, 1)]


def test_per_order_and_inactive_links_are_left_alone(world, month):
    today, period, start, _end = month
    received_order(world, issued_days_ago=70, received_on=start + timedelta(days=2))
    assert draft_monthly(period, today=today) == []  # Acme–Polbud invoices per order
    set_monthly(world, status="blocked")
    assert draft_monthly(period, today=today) == []
    assert count(Invoice) == 0


def test_several_buyers_of_one_supplier(world, month):
    today, period, start, _end = month
    set_monthly(world, "acme", "nordwind")
    set_monthly(world, "globex", "nordwind")
    received_order(world, supplier="nordwind", issued_days_ago=70, received_on=start + timedelta(days=1))
    received_order(world, supplier="nordwind", buyer="globex", issued_days_ago=70,
                   received_on=start + timedelta(days=1))
    assert draft_monthly(period, today=today) == [(world.nordwind.id, 2)]
    drafts = _monthly_drafts(world, period, "nordwind")
    assert sorted(d.organization_id for d in drafts) == sorted([world.acme.id, world.globex.id])
    assert {d.language for d in drafts} == {"pl", "en"}  # each buyer's language


@pytest.mark.parametrize("period", ["2026-13", "2026-00", "26-11", "2026-1", "november", "", "2026-11-01",
                                    "1999-12"])
def test_a_malformed_month_is_refused(world, period):
    set_monthly(world)
    with pytest.raises(MonthlyRunError, match="is not a month") as refused:
        draft_monthly(period or " ", today=date(2026, 12, 5))
    assert "YYYY-MM" in str(refused.value.msg)


def test_a_month_not_over_is_refused_and_nothing_written(world, month):
    today, _period, _start, _end = month
    set_monthly(world)
    received_order(world)
    this_month = f"{today.year:04d}-{today.month:02d}"
    with pytest.raises(MonthlyRunError, match="not over yet"):
        draft_monthly(this_month, today=today)
    with pytest.raises(MonthlyRunError, match="in the future"):
        draft_monthly(f"{today.year + 1:04d}-01", today=today)
    assert count(Invoice) == 0


def test_month_arithmetic():
    assert last_month(date(2026, 1, 15)) == "2025-12"
    assert last_month(date(2026, 12, 1)) == "2026-11"
    assert parse_period("2024-02", today=date(2024, 3, 1)) == (date(2024, 2, 1), date(2024, 2, 29))
    with pytest.raises(MonthlyRunError):
        parse_period("2024-02", today=date(2024, 2, 29))


def test_the_job_and_the_command(app, world, month):
    today, period, start, _end = month
    assert "draft-monthly-invoices" in JOBS
    set_monthly(world)
    received_order(world, issued_days_ago=70, received_on=start + timedelta(days=2))
    db.session.remove()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["invoices", "draft-monthly", "--month", period])
    assert result.exit_code == 0, result.output
    assert f"Monthly invoices for {period}: 1 draft(s) for 1 supplier(s)." in result.output
    result = runner.invoke(args=["invoices", "draft-monthly", "--month", period])
    assert f"Monthly invoices for {period}: 0 draft(s)" in result.output
    result = runner.invoke(args=["invoices", "draft-monthly", "--month", "2026-13"])
    assert result.exit_code != 0 and "is not a month" in result.output
    assert monthly_invoices.draft_monthly is draft_monthly


def test_one_suppliers_run_in_the_callers_transaction(world, month):
    today, period, start, _end = month
    set_monthly(world)
    received_order(world, issued_days_ago=70, received_on=start + timedelta(days=2))
    with as_supplier(world):
        assert monthly.draft_monthly_supplier(world.polbud, period, today=today) == 1
        assert monthly.draft_monthly_supplier(world.polbud, period, today=today) == 0
        db.session.rollback()  # nothing was committed
    assert count(Invoice) == 0
    with as_supplier(world), pytest.raises(MonthlyRunError):
        monthly.draft_monthly_supplier(world.polbud, "2026/11", today=today)
