"""The transactional outbox (portal/services/outbox.py, portal/jobs/outbox.py): nothing leaves
before the action commits, a rolled-back action sends nothing, failures are retried with backoff
and recorded, a row is sent once even when two workers race for it, and delivery needs no
request (the recipient's language, links from BASE_URL)."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.domain.messages import N_, Link, Msg
from portal.extensions import db
from portal.jobs import mail as mailer
from portal.jobs import outbox as delivery
from portal.models import OutboxMessage, User
from portal.models.base import utcnow
from portal.services import approvals, mail, notifications
from tests.conftest import as_org, as_system

REQUESTED = N_("%(number)s “%(title)s” (%(amount)s %(currency)s) awaits your approval: %(step)s")
PARAMS = {"number": "REQ-2026-00042", "title": "Laptops", "amount": Decimal("1234.5"),
          "currency": "PLN", "step": "CFO"}


def rows() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def tell(world, who="buyer@acme", *, link=None, commit=True, **kwargs):
    """Notify the user (REQUESTED with PARAMS) in their organisation's scope; commit."""
    user = world.user(who)
    with as_org(user.organization):
        note = notifications.notify(user, REQUESTED, link=link, kind="test", **PARAMS, **kwargs)
        if commit:
            db.session.commit()
    return note


def set_locale(user, locale):
    with as_system():
        db.session.scalars(select(User).where(User.id == user.id)).one().locale = locale
        db.session.commit()


def test_nothing_is_sent_before_the_commit(world):
    tell(world, commit=False)
    assert mail.outbox == []
    db.session.commit()
    (message,) = mail.outbox
    assert message["To"] == "buyer@acme.example" and "REQ-2026-00042" in message["Subject"]
    (row,) = rows()
    assert (row.status, row.attempts, row.sent_at is not None) == ("sent", 1, True)


def test_a_rolled_back_action_sends_nothing(world):
    tell(world, commit=False)
    db.session.rollback()
    db.session.commit()  # a later commit of the same session does not send it either
    assert mail.outbox == [] and rows() == []
    assert delivery.sweep() == {}


def test_an_action_that_fails_after_notify_sends_nothing(world):
    """The service raises after its notification; the edge rolls back: no mail, no row."""
    user = world.user("buyer@acme")

    def action():
        notifications.notify(user, REQUESTED, **PARAMS)
        raise RuntimeError("the action failed after notifying")

    with as_org(world.acme), pytest.raises(RuntimeError):
        try:
            action()
        finally:
            db.session.rollback()
    assert mail.outbox == [] and rows() == []


def test_email_false_and_inactive_users_get_no_mail(world):
    tell(world, email=False)
    with as_system():
        db.session.scalars(select(User).where(User.email == "cfo@acme.example")).one().is_active_flag = False
        db.session.commit()
    tell(world, "cfo@acme")
    assert mail.outbox == [] and rows() == []


def test_the_mail_is_in_the_recipients_language_with_links_from_base_url(world, app):
    """Committed outside any request (a job, the CLI): Polish text and formats, absolute links."""
    set_locale(world.user("buyer@acme"), "pl")
    tell(world, link=Link("requisitions.detail", {"requisition_id": 42}),
         email_extra_link="/approvals/decide/tok-en")
    (message,) = mail.outbox
    body = message.get_content()
    assert message["Subject"].startswith("REQ-2026-00042 „Laptops” (1\xa0234,50\xa0zł) czeka")
    base = app.config["BASE_URL"].rstrip("/")
    assert f"Otwórz w portalu:\n{base}/requisitions/42" in body
    assert f"{base}/approvals/decide/tok-en" in body
    assert message["Message-ID"].startswith("<") and message["Message-ID"].endswith(">")


def test_a_failed_delivery_is_retried_with_backoff_and_then_sent_exactly_once(world, app, monkeypatch):
    real_send, calls = mailer.send_email, []

    def flaky(config, message):
        calls.append(message["To"])
        if len(calls) == 1:
            raise ConnectionRefusedError("SMTP server down")
        real_send(config, message)

    monkeypatch.setattr(mailer, "send_email", flaky)
    started = utcnow()
    tell(world)  # the after-commit delivery fails
    (row,) = rows()
    assert (row.status, row.attempts) == ("pending", 1)
    assert "SMTP server down" in row.last_error and mail.outbox == []
    retry = app.config["OUTBOX_RETRY_SECONDS"]
    assert row.next_attempt_at >= started + timedelta(seconds=retry)

    assert delivery.sweep(now=utcnow()) == {}  # not due yet
    assert delivery.sweep(now=row.next_attempt_at) == {"sent": 1}
    assert delivery.sweep(now=row.next_attempt_at + timedelta(hours=1)) == {}  # twice: nothing
    assert delivery.deliver(row.id, now=row.next_attempt_at + timedelta(hours=2)) == "busy"
    assert len(mail.outbox) == 1 and len(calls) == 2
    (row,) = rows()
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, "")


def test_after_the_maximum_attempts_it_is_failed_and_listed_for_the_operator(world, app, monkeypatch):
    def down(config, message):
        raise OSError("no route to host")

    monkeypatch.setattr(mailer, "send_email", down)
    monkeypatch.setitem(app.config, "OUTBOX_MAX_ATTEMPTS", 3)
    tell(world)
    now = utcnow()
    waits = []
    for _ in range(2):
        (row,) = rows()
        waits.append(row.next_attempt_at - now)
        now = row.next_attempt_at
        delivery.sweep(now=now)
    (row,) = rows()
    assert (row.status, row.attempts) == ("failed", 3) and "no route to host" in row.last_error
    assert waits[1] >= 2 * waits[0] - timedelta(seconds=1)  # exponential
    assert delivery.sweep(now=now + timedelta(days=30)) == {}  # given up

    runner = app.test_cli_runner()
    listed = runner.invoke(args=["jobs", "outbox", "--status", "failed"])
    assert listed.exit_code == 0 and f"{row.id}" in listed.output
    assert "failed" in listed.output and "no route to host" in listed.output

    monkeypatch.undo()
    again = runner.invoke(args=["jobs", "outbox", "--retry", "--id", str(row.id)])
    assert "1 message(s) queued again." in again.output
    assert delivery.sweep() == {"sent": 1} and len(mail.outbox) == 1


def test_the_sweep_delivers_what_a_dead_process_left_and_only_once(world, held):
    tell(world)
    tell(world, "cfo@acme")
    assert mail.outbox == [] and [job[0] for job in held.jobs] == ["deliver-outbox"] * 2
    assert delivery.sweep() == {"sent": 2}
    assert delivery.sweep() == {}
    assert sorted(m["To"] for m in mail.outbox) == ["buyer@acme.example", "cfo@acme.example"]


def test_a_claim_abandoned_mid_send_is_taken_again_after_the_lease(world, held):
    tell(world)
    (row,) = rows()
    with as_system():
        row.status, row.claimed_at, row.attempts = "sending", utcnow(), 1
        db.session.commit()
    assert delivery.sweep() == {}  # another worker may still be sending it
    assert delivery.sweep(now=utcnow() + delivery.LEASE + timedelta(seconds=1)) == {"sent": 1}
    assert len(mail.outbox) == 1


def test_two_concurrent_deliveries_of_one_row_send_it_once(world, app, held, monkeypatch):
    tell(world)
    (row,) = rows()
    db.session.remove()
    inside, release = threading.Event(), threading.Event()
    real_send, sent = mailer.send_email, []

    def slow(config, message):
        inside.set()
        release.wait(10)  # the first worker is mid-send while the second tries
        sent.append(message)
        real_send(config, message)

    monkeypatch.setattr(mailer, "send_email", slow)
    outcomes = []

    def worker():
        with app.app_context():
            outcomes.append(delivery.deliver(row.id))

    first = threading.Thread(target=worker)
    first.start()
    assert inside.wait(10)
    second = threading.Thread(target=worker)
    second.start()
    second.join(10)
    release.set()
    first.join(10)
    assert sorted(outcomes) == ["busy", "sent"] and len(sent) == 1 and len(mail.outbox) == 1


def test_stored_parameters_must_be_storable(world):
    user = world.user("buyer@acme")
    with as_org(world.acme), pytest.raises(TypeError):
        notifications.notify(user, Msg(REQUESTED, {**PARAMS, "amount": 1234.5}))
    db.session.rollback()


def test_a_msg_with_dates_and_nested_messages_is_stored_typed(world):
    user = world.user("buyer@acme")
    with as_org(world.acme):
        note = notifications.notify(
            user, N_("%(name)s delegated their approvals to you from %(start)s to %(end)s."),
            email=False, name=Msg("CFO"), start=date(2026, 11, 22), end=date(2026, 12, 1))
        db.session.commit()
        assert note.msg.params == {"name": Msg("CFO"), "start": date(2026, 11, 22), "end": date(2026, 12, 1)}


def test_a_bulk_approval_rolled_back_sends_no_approved_mail(app, world):
    """bulk_approve notifies the requester per approval; if the action then fails and rolls
    back, none of those e-mails leaves (before the outbox, they already had)."""
    from tests.kit import acme_kit, acting_for, active_task, services, submitted

    with services(app):
        kit = acme_kit(world)
        with acting_for(world.acme):
            reqs = [submitted(kit, "300"), submitted(kit, "400")]
            db.session.commit()
            mail.outbox.clear()
            ids = [active_task(r).id for r in reqs]
            done, refused = approvals.bulk_approve(ids, kit.manager, max_amount=Decimal("5000"))
            assert done == 2 and refused == []
            assert mail.outbox == [] and len(rows()) > 2  # written, waiting for the commit
            db.session.rollback()  # e.g. the view failed after the service returned
            assert mail.outbox == [] and delivery.sweep() == {}
            assert approvals.bulk_approve(ids, kit.manager, max_amount=Decimal("5000")) == (2, [])
            db.session.commit()
    approved = [m["Subject"] for m in mail.outbox if m["To"] == "buyer@acme.example"]
    assert len(approved) == 2 and all(s.startswith("Zatwierdzono REQ-") for s in approved)  # Polish buyer
