"""Payment reminders: three days before the due date, on it, then weekly while overdue; to the
buyer's admins (notification and e-mail), and to the supplier once overdue; never twice for the
same invoice and day; every buying company in its own scope."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.jobs.payment_reminders import send_payment_reminders
from portal.jobs.runner import JOBS
from portal.jobs.schedule import SCHEDULES
from portal.models import AuditEvent, Notification, OutboxMessage, SupplierLink, User
from portal.models.invoice import Invoice, InvoiceKind, InvoiceLine, InvoiceReminder, InvoiceStatus
from portal.services.invoicing.reminders import remind_payments
from portal.tenancy import bound_to, system

D = Decimal
S = InvoiceStatus
TODAY = date(2026, 12, 10)
_serial = itertools.count(1)


def link_of(world, buyer: str, supplier: str) -> SupplierLink:
    with system(db.session):
        return db.session.scalars(select(SupplierLink).where(
            SupplierLink.organization_id == getattr(world, buyer).id,
            SupplierLink.supplier_id == getattr(world, supplier).id)).one()


def invoice(world, due: date | None, *, buyer="acme", supplier="polbud", status=S.ISSUED, gross="1230.00",
            paid="0", kind=InvoiceKind.INVOICE) -> int:
    link = link_of(world, buyer, supplier)
    someone = next(u for u in world.users.values() if u.organization_id == link.supplier_id)
    n = next(_serial)
    with system(db.session):
        row = Invoice(
            organization_id=link.organization_id, supplier_id=link.supplier_id, link_id=link.id, kind=kind,
            number=None if status == S.DRAFT else f"FV/2026/{n:06d}", status=status, currency=link.currency,
            issue_date=None if due is None else due - timedelta(days=30), due_date=due,
            net_total=D(gross), vat_total=D(0), gross_total=D(gross), paid_total=D(paid),
            created_by_id=someone.id)
        row.lines.append(InvoiceLine(position=1, description="Cement", quantity=D(1), unit="pcs",
                                     unit_price=D(gross), vat_code="23", vat_rate=D(23), net=D(gross),
                                     vat=D(0), gross=D(gross)))
        db.session.add(row)
        db.session.commit()
        return row.id


def reminders() -> list[tuple[int, date, str]]:
    with system(db.session):
        return sorted((r.invoice_id, r.day, r.kind) for r in db.session.scalars(select(InvoiceReminder)))


def notes_of(org) -> list[Notification]:
    with system(db.session):
        return list(db.session.scalars(select(Notification).where(Notification.organization_id == org.id)
                                       .order_by(Notification.id)))


def mails() -> int:
    with system(db.session):
        return db.session.scalar(select(func.count(OutboxMessage.id)))


def admins_of(org) -> set[int]:
    with system(db.session):
        return {u.id for u in db.session.scalars(select(User).where(User.organization_id == org.id))
                if u.has_role("admin")}


@pytest.fixture
def due_world(world):
    """Acme's invoices from Polbud in every position around TODAY."""
    ids = {
        "in_4_days": invoice(world, TODAY + timedelta(days=4)),
        "in_3_days": invoice(world, TODAY + timedelta(days=3)),
        "today": invoice(world, TODAY, status=S.APPROVED),
        "week_overdue": invoice(world, TODAY - timedelta(days=7), status=S.PARTIALLY_PAID, paid="230.00"),
        "paid": invoice(world, TODAY, status=S.PAID, paid="1230.00"),
        "disputed": invoice(world, TODAY - timedelta(days=7), status=S.DISPUTED),
        "draft": invoice(world, None, status=S.DRAFT),
        "credit_note": invoice(world, TODAY, kind=InvoiceKind.CREDIT_NOTE),
    }
    return world, ids


def test_reminders_before_on_and_after_the_due_date(due_world):
    world, ids = due_world
    sent = send_payment_reminders(today=TODAY)
    assert sent == 3
    assert reminders() == sorted([
        (ids["in_3_days"], TODAY, "before"), (ids["today"], TODAY, "due"),
        (ids["week_overdue"], TODAY, "overdue")])
    # The buyer's admins are told of each (the payer); nobody else at Acme.
    acme_notes = notes_of(world.acme)
    assert {n.user_id for n in acme_notes} == admins_of(world.acme)
    assert len(acme_notes) == 3 * len(admins_of(world.acme))
    texts = {n.message["id"] for n in acme_notes}
    assert "Invoice %(number)s from %(supplier)s for %(amount)s is due on %(due)s." in texts
    assert "Invoice %(number)s from %(supplier)s for %(amount)s is due today." in texts
    assert "Invoice %(number)s from %(supplier)s is overdue since %(due)s: %(amount)s is still to pay." in texts
    assert all(n.target == {"endpoint": "invoices.detail", "params": {"invoice_id": n.target["params"]["invoice_id"]}}
               for n in acme_notes)
    overdue = next(n for n in acme_notes if "overdue" in n.message["id"])
    assert overdue.message["params"]["amount"] == {"$t": "money", "v": "1000.00", "c": "PLN"}
    # The supplier hears of the overdue one only.
    polbud_notes = notes_of(world.polbud)
    assert polbud_notes and all(n.target["endpoint"] == "supplier.invoice" for n in polbud_notes)
    assert {n.target["params"]["invoice_id"] for n in polbud_notes} == {ids["week_overdue"]}
    # E-mails go through the outbox, one per notification.
    assert mails() == len(acme_notes) + len(polbud_notes)
    with system(db.session):
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "invoice.reminder_sent")).all()
    assert sorted((e.object_id, e.summary["kind"]) for e in events) == sorted([
        (ids["in_3_days"], "before"), (ids["today"], "due"), (ids["week_overdue"], "overdue")])
    assert all(e.actor_id is None for e in events)


def test_never_twice_for_the_same_invoice_and_day(due_world):
    world, _ids = due_world
    assert send_payment_reminders(today=TODAY) == 3
    notes, outbox = len(notes_of(world.acme)), mails()
    assert send_payment_reminders(today=TODAY) == 0
    assert len(notes_of(world.acme)) == notes and mails() == outbox
    assert len(reminders()) == 3


def test_the_days_that_follow(due_world):
    world, ids = due_world
    send_payment_reminders(today=TODAY)
    # Tomorrow: in_4_days is now 3 days away; nothing else (the due one waits a week).
    assert send_payment_reminders(today=TODAY + timedelta(days=1)) == 1
    assert (ids["in_4_days"], TODAY + timedelta(days=1), "before") in reminders()
    # A week later the overdue ones are reminded again, and the one that was due then.
    week = TODAY + timedelta(days=7)
    assert send_payment_reminders(today=week) == 3
    kinds = {(i, k) for i, d, k in reminders() if d == week}
    assert kinds == {(ids["today"], "overdue"), (ids["week_overdue"], "overdue"), (ids["in_3_days"], "overdue")}


def test_a_paid_invoice_is_not_reminded_any_more(due_world):
    world, ids = due_world
    send_payment_reminders(today=TODAY)
    with system(db.session):
        row = db.session.get(Invoice, ids["week_overdue"])
        row.status, row.paid_total = S.PAID, row.gross_total
        db.session.commit()
    send_payment_reminders(today=TODAY + timedelta(days=7))
    assert [d for i, d, _k in reminders() if i == ids["week_overdue"]] == [TODAY]


def test_each_buyer_reminds_its_own_admins(world):
    globex = invoice(world, TODAY, buyer="globex", supplier="nordwind")
    acme = invoice(world, TODAY, buyer="acme", supplier="nordwind")
    assert send_payment_reminders(today=TODAY) == 2
    globex_notes = notes_of(world.globex)
    assert {n.target["params"]["invoice_id"] for n in globex_notes} == {globex}
    assert {n.user_id for n in globex_notes} == admins_of(world.globex)
    assert {n.target["params"]["invoice_id"] for n in notes_of(world.acme)} == {acme}
    assert notes_of(world.nordwind) == []  # due today is not overdue


def test_the_service_works_in_the_bound_scope_only(world):
    acme = invoice(world, TODAY)
    invoice(world, TODAY, buyer="globex", supplier="nordwind")
    with system(db.session):
        org = db.session.get(type(world.acme), world.acme.id)
    with bound_to(db.session, org):
        assert remind_payments(org, today=TODAY) == 1
        db.session.commit()
    assert [r[0] for r in reminders()] == [acme]


def test_today_is_the_buyers_day(world, monkeypatch):
    from portal.services import clock

    inv = invoice(world, TODAY)
    # 23:30 UTC on the 9th is already the 10th in Warsaw.
    monkeypatch.setattr(clock, "now", lambda: datetime(2026, 12, 9, 23, 30, tzinfo=UTC))
    assert send_payment_reminders() == 1
    assert reminders() == [(inv, TODAY, "due")]


def test_the_job_is_registered_and_scheduled_daily():
    assert "send-invoice-reminders" in JOBS
    assert any(s.job == "send-invoice-reminders" and s.every_seconds == 86400 for s in SCHEDULES)


def test_the_job_runs_through_the_runner(world, app):
    from portal.jobs.runner import run_job

    invoice(world, TODAY)
    with app.app_context():
        result = run_job("send-invoice-reminders")
    assert isinstance(result, int)


def test_a_run_racing_another_sends_nothing_twice(world, monkeypatch):
    """The unique (invoice, day) row stops a second run that read before the first committed."""
    from portal.services.invoicing import reminders as service

    inv = invoice(world, TODAY)
    assert send_payment_reminders(today=TODAY) == 1
    # The racing run did not see the first run's row: it tries to remind again and loses at commit.
    monkeypatch.setattr(service, "_last_sent", lambda ids: {})
    notes = len(notes_of(world.acme))
    assert send_payment_reminders(today=TODAY) == 0
    assert reminders() == [(inv, TODAY, "due")]
    assert len(notes_of(world.acme)) == notes
