"""Services need no request (issue 7, item 3): the CLI, jobs and tests call them with only an
application context, and what they store (routing reasons, budget refusals and overrun notes,
audit summaries) renders in the reader's language and formats, from the same row."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from flask import has_request_context
from flask_babel import force_locale
from sqlalchemy import select

from portal.domain.approval import reason_message
from portal.domain.budget import OverrunPolicy, PeriodKind
from portal.domain.messages import Link, Msg
from portal.domain.requisition import RequisitionStatus
from portal.errors import BudgetExceeded
from portal.extensions import db
from portal.i18n import translate
from portal.labels import summary_text
from portal.models import AuditEvent, BudgetEntry, Notification
from portal.models.base import utcnow
from portal.money import Money
from portal.services import approval_policy, approvals, audit, budgets
from tests.kit import acme_kit, acting_for, active_task, approvers_of, services, submitted

D = Decimal
NBSP = "\xa0"


@pytest.fixture
def kit(app, world):
    with services(app):
        kit = acme_kit(world, board=False)
        with acting_for(kit.org):
            yield kit


def _one_step(kit):
    for step in list(approvals.policy_for(kit.org.id).steps):
        approval_policy.delete_step(kit.admin, step)
    approval_policy.save_step(kit.admin, None, name="CFO", approver_kind="user",
                              approver_user=kit.cfo, min_amount=D("1000"))


def _budget(kit, amount, policy):
    made = budgets.create_budget(kit.admin, cost_center=kit.cc_it, name="IT", period_kind=PeriodKind.YEAR,
                                 starts_on=date(utcnow().year, 1, 1), ends_on=date(utcnow().year, 12, 31),
                                 amount=D(amount), currency="PLN", overrun_policy=policy)
    db.session.flush()
    return made


def _in(locale, msg):
    with force_locale(locale):
        return translate(msg)


def test_submit_decide_and_reminders_run_with_only_an_app_context(kit):
    assert not has_request_context()
    req = submitted(kit, "20000")
    task = active_task(req)
    approvals.decide(task, approvers_of(task)[0], "approve")
    later = utcnow() + timedelta(days=10)
    counts = approvals.send_reminders(kit.org.id, now=later)
    assert counts["reminded"] == 1 and counts["escalated"] == 1
    # The notifications name their page as a Link, built into a URL only when shown.
    note = db.session.scalars(select(Notification).where(Notification.kind == "approval.requested")
                              .order_by(Notification.id.desc())).first()
    assert Link.from_json(note.target) == Link("requisitions.detail", {"requisition_id": req.id})


def test_a_routing_reason_renders_in_each_readers_language_from_the_same_row(kit):
    _one_step(kit)
    req = submitted(kit, "1234.50")
    task = active_task(req)
    db.session.expire(task)
    msg = reason_message(task.reason, task.reason_params)
    assert _in("pl", msg) == f"Reguła „CFO”: kwota 1{NBSP}234,50{NBSP}zł ≥ 1{NBSP}000,00{NBSP}zł"
    assert _in("en", msg) == "Rule “CFO”: amount 1,234.50\xa0PLN ≥ 1,000.00\xa0PLN"


def test_a_budget_refusal_names_the_amounts_in_the_readers_formats(kit):
    _budget(kit, "500", OverrunPolicy.BLOCK)
    _one_step(kit)
    req = submitted(kit, "1734.50")
    task = active_task(req)
    with pytest.raises(BudgetExceeded) as refused:
        approvals.decide(task, kit.cfo, "approve")
    assert f"1{NBSP}734,50{NBSP}zł" in _in("pl", refused.value.msg)
    assert f"brakuje 1{NBSP}234,50{NBSP}zł" in _in("pl", refused.value.msg)
    assert "1,234.50\xa0PLN short" in _in("en", refused.value.msg)
    assert "1234.50 PLN short" in str(refused.value)  # logs: English, unformatted


def test_an_overrun_note_is_stored_as_a_message_and_rendered_per_reader(kit):
    b = _budget(kit, "500", OverrunPolicy.WARN)
    _one_step(kit)
    req = submitted(kit, "1734.50")
    approvals.decide(active_task(req), kit.cfo, "approve")
    assert req.status == RequisitionStatus.APPROVED
    entry = db.session.scalars(select(BudgetEntry).where(BudgetEntry.budget_id == b.id)).one()
    db.session.expire(entry)
    note = budgets.entry_note(entry)
    assert f"brakuje 1{NBSP}234,50{NBSP}zł" in _in("pl", note)
    assert "1,234.50\xa0PLN short" in _in("en", note)


def test_an_old_plain_budget_note_still_reads_as_written(kit):
    assert _in("pl", Msg("REQ-2026-00001")) == "REQ-2026-00001"


def test_an_audit_summary_keeps_money_and_dates_typed_for_each_reader(kit):
    req = submitted(kit, "1234.50")
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "requisition.submitted",
                                                        AuditEvent.object_id == req.id)).one()
    db.session.expire(event)
    assert audit.summary_of(event)["gross"] == Money(D("1234.50"), "PLN")
    with force_locale("pl"):
        assert summary_text(event.summary["gross"]) == f"1{NBSP}234,50{NBSP}zł"
    with force_locale("en"):
        assert summary_text(event.summary["gross"]) == "1,234.50\xa0PLN"
    delegation = approvals.create_delegation(kit.cfo, kit.approver, date(2026, 12, 5), date(2026, 12, 24),
                                             today=date(2026, 12, 1))
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "delegation.created",
                                                        AuditEvent.object_id == delegation.id)).one()
    # Dates as the portal writes them everywhere (Babel's medium format).
    with force_locale("pl"):
        assert summary_text(event.summary["from"]) == "5 gru 2026"
    with force_locale("en"):
        assert summary_text(event.summary["from"]) == "5 Dec 2026"


def test_approved_on_submit_gives_its_reason_in_the_readers_language(kit):
    for step in list(approvals.policy_for(kit.org.id).steps):
        approval_policy.delete_step(kit.admin, step)
    req = submitted(kit, "100")
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "requisition.approved",
                                                        AuditEvent.object_id == req.id)).one()
    with force_locale("en"):
        assert summary_text(event.summary["reason"]) == "No approval rule applies: approved on submit."
    with force_locale("pl"):
        assert summary_text(event.summary["reason"]) != "No approval rule applies: approved on submit."
