"""Requisition services (portal/services/requisitions.py): the lifecycle through the services,
bad input refused with a clear message and nothing saved, totals, attachments."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from itertools import product

import pytest
from sqlalchemy import select

from portal.domain.approval import TaskStatus
from portal.domain.requisition import SOURCING_MOVES, Action, RequisitionStatus
from portal.errors import DomainError, InvalidTransition, PermissionDenied, ValidationProblem
from portal.extensions import db
from portal.models import (
    ApprovalTask,
    Attachment,
    AuditEvent,
    Comment,
    DocumentCounter,
    Requisition,
    RequisitionLine,
)
from portal.models.base import utcnow
from portal.services import approvals, requisitions
from portal.tenancy import system
from tests.kit import (
    acme_kit,
    acting_for,
    active_task,
    approve_all,
    count,
    draft,
    services,
    submitted,
)

D = Decimal
S = RequisitionStatus


@pytest.fixture
def kit(app, world):
    with services(app):
        built = acme_kit(world)
        with acting_for(world.acme):
            yield built


# ---------------------------------------------------------------- the transition table


SPEC = {
    (S.DRAFT, Action.SUBMIT): S.PENDING,
    (S.DRAFT, Action.CANCEL): S.CANCELLED,
    (S.PENDING, Action.APPROVE): S.APPROVED,
    (S.PENDING, Action.REJECT): S.REJECTED,
    (S.PENDING, Action.RETURN): S.DRAFT,
    (S.PENDING, Action.CANCEL): S.CANCELLED,
    (S.APPROVED, Action.ADMIN_CANCEL): S.CANCELLED,
}


def _in_status(kit, status: RequisitionStatus) -> Requisition:
    """A requisition brought to `status` through the services (sourcing, ordered and closed have
    no service yet: an approved one is set there directly). Each has at least one task."""
    req = submitted(kit, "1000")  # one step: the cost centre manager
    if status == S.PENDING:
        return req
    task = active_task(req)
    if status == S.DRAFT:
        approvals.decide(task, kit.manager, "return", "Dodaj ofertę")
    elif status == S.REJECTED:
        approvals.decide(task, kit.manager, "reject", "Nie w tym roku")
    elif status == S.CANCELLED:
        requisitions.cancel(req, kit.buyer)
    else:
        approve_all(req)
        if status != S.APPROVED:
            with system(db.session):
                req.status = status
                db.session.flush()
    assert req.status == status
    return req


def _perform(kit, req: Requisition, action: Action) -> None:
    task = approvals.tasks_of(req)[-1]
    if action == Action.SUBMIT:
        approvals.submit(req, kit.buyer)
    elif action == Action.APPROVE:
        approvals.decide(task, kit.manager, "approve")
    elif action == Action.REJECT:
        approvals.decide(task, kit.manager, "reject", "Za drogo")
    elif action == Action.RETURN:
        approvals.decide(task, kit.manager, "return", "Popraw ilość")
    elif action == Action.CANCEL:
        requisitions.cancel(req, kit.buyer)
    else:
        requisitions.cancel(req, kit.admin)


@pytest.mark.parametrize("status", list(RequisitionStatus), ids=str)
def test_every_status_action_pair_through_the_services(kit, status):
    """Every legal move gives the designed status and an audit event; every other one raises
    a domain error and changes nothing."""
    problems = []
    for action in sorted(set(Action) - SOURCING_MOVES):
        req = _in_status(kit, status)
        events_before = count(AuditEvent, AuditEvent.object_type == "Requisition",
                              AuditEvent.object_id == req.id)
        db.session.commit()
        try:
            _perform(kit, req, action)
        except DomainError as exc:
            db.session.rollback()
            assert isinstance(exc, InvalidTransition | PermissionDenied), exc
            assert str(exc.message)
            if (status, action) in SPEC:
                problems.append(f"{action}: refused ({exc.message})")
            elif db.session.get(Requisition, req.id).status != status:
                problems.append(f"{action}: refused but the status changed")
            continue
        if (status, action) not in SPEC:
            problems.append(f"{action}: allowed, ended {req.status}")
        elif req.status != SPEC[(status, action)]:
            problems.append(f"{action}: ended {req.status}, expected {SPEC[(status, action)]}")
        elif count(AuditEvent, AuditEvent.object_type == "Requisition",
                   AuditEvent.object_id == req.id) <= events_before:
            problems.append(f"{action}: not audited")
        db.session.rollback()
    assert problems == []


def test_the_service_pairs_cover_the_whole_table():
    assert {pair for pair in product(RequisitionStatus, Action) if pair in SPEC} == set(SPEC)


# ---------------------------------------------------------------- cancel: who may


def test_requester_cancels_a_draft_and_a_pending_one(kit):
    a, b = draft(kit), submitted(kit)
    requisitions.cancel(a, kit.buyer, comment="Niepotrzebne")
    requisitions.cancel(b, kit.buyer)
    assert a.status == b.status == S.CANCELLED
    assert all(t.status == TaskStatus.CANCELLED for t in approvals.tasks_of(b))
    event = db.session.scalars(select(AuditEvent).where(
        AuditEvent.object_id == a.id, AuditEvent.action == "requisition.cancelled")).one()
    assert event.actor_id == kit.buyer.id and event.comment == "Niepotrzebne"


@pytest.mark.parametrize("who", ["buyer2", "manager", "admin"])
def test_others_cannot_cancel_a_draft_or_pending_one(kit, who):
    for req in (draft(kit), submitted(kit)):
        status = req.status
        with pytest.raises(PermissionDenied):
            requisitions.cancel(req, getattr(kit, who))
        assert req.status == status


def test_admin_cancels_an_approved_one_and_nobody_else_may(kit):
    req = approve_all(submitted(kit))
    for who in (kit.buyer, kit.manager, kit.cfo, kit.buyer2):
        with pytest.raises(PermissionDenied):
            requisitions.cancel(req, who)
    requisitions.cancel(req, kit.admin, comment="Budżet zamrożony")
    assert req.status == S.CANCELLED


def test_rejected_and_cancelled_are_final(kit):
    rejected = submitted(kit)
    approvals.decide(active_task(rejected), kit.manager, "reject", "Nie")
    cancelled = draft(kit)
    requisitions.cancel(cancelled, kit.buyer)
    for req in (rejected, cancelled):
        for attempt in (lambda r: requisitions.cancel(r, kit.buyer),
                        lambda r: requisitions.cancel(r, kit.admin),
                        lambda r: approvals.submit(r, kit.buyer)):
            with pytest.raises(DomainError):
                attempt(req)


# ---------------------------------------------------------------- drafting


def test_create_numbers_and_audits(kit):
    req = requisitions.create_requisition(kit.buyer, title="  Papier A4 i tonery ",
                                          cost_center=kit.cc_adm,
                                          justification="Zapas na kwartał")
    assert req.number.startswith(f"REQ-{utcnow().year}-")
    assert req.title == "Papier A4 i tonery"
    assert req.status == S.DRAFT and req.currency == "PLN" and req.requester_id == kit.buyer.id
    event = db.session.scalars(select(AuditEvent).where(
        AuditEvent.object_id == req.id, AuditEvent.object_type == "Requisition")).one()
    assert event.action == "requisition.created" and event.summary == {"number": req.number}


def test_only_buyers_raise_requisitions(kit):
    for who in (kit.admin, kit.cfo):
        with pytest.raises(PermissionDenied):
            requisitions.create_requisition(who, title="x", cost_center=kit.cc_it)


def test_catalog_line_is_prefilled_and_totals_follow_the_lines(kit):
    req = requisitions.create_requisition(kit.buyer, title="Papier", cost_center=kit.cc_adm)
    line = requisitions.add_line(req, kit.buyer, item=kit.paper, quantity=D("3"))
    assert (line.description, line.unit, line.unit_price, line.vat_rate) == (
        "Papier A4", "ream", D("25.5000"), D("23.00"))
    assert (line.net, line.vat, line.gross) == (D("76.50"), D("17.60"), D("94.10"))  # 17.595
    requisitions.add_line(req, kit.buyer, description="Usługa", quantity=D("1"),
                          unit_price=D("1.50"), vat_rate=D("23"))  # VAT 0.345 -> 0.35 (half-up)
    requisitions.add_line(req, kit.buyer, description="Książka", quantity=D("1"),
                          unit_price=D("2.1250"), vat_rate=D("0"))  # net 2.125 -> 2.13
    assert (req.net_total, req.vat_total, req.gross_total) == (D("80.13"), D("17.95"), D("98.08"))
    db.session.commit()
    db.session.expire_all()
    stored = db.session.scalars(select(Requisition).where(Requisition.id == req.id)).one()
    assert (stored.net_total, stored.vat_total, stored.gross_total) == (
        D("80.13"), D("17.95"), D("98.08"))
    assert sum(li.gross for li in stored.lines) == stored.gross_total


def test_update_and_remove_line_recompute_and_renumber(kit):
    req = requisitions.create_requisition(kit.buyer, title="Laptopy", cost_center=kit.cc_it)
    first = requisitions.add_line(req, kit.buyer, item=kit.laptop, quantity=D("2"))
    second = requisitions.add_line(req, kit.buyer, item=kit.paper, quantity=D("10"))
    assert req.gross_total == D("12300.00") + D("313.65")  # 255 + 58.65
    requisitions.update_line(req, first, kit.buyer, quantity=D("3"))
    assert first.net == D("15000.00") and req.gross_total == D("18450.00") + D("313.65")
    requisitions.remove_line(req, first, kit.buyer)
    assert [li.position for li in req.lines] == [1] and req.lines == [second]
    assert req.gross_total == D("313.65")


def test_zero_vat_line(kit):
    req = requisitions.create_requisition(kit.buyer, title="Szkolenie", cost_center=kit.cc_it)
    line = requisitions.add_line(req, kit.buyer, description="Szkolenie BHP", quantity=D("4"),
                                 unit_price=D("312.3350"), vat_rate=D("0"))
    assert (line.net, line.vat, line.gross) == (D("1249.34"), D("0.00"), D("1249.34"))


def test_only_the_requester_edits_and_only_a_draft(kit):
    req = draft(kit)
    with pytest.raises(PermissionDenied):
        requisitions.add_line(req, kit.buyer2, description="x", quantity=D("1"), unit_price=D("1"),
                              vat_rate=D("23"))
    approvals.submit(req, kit.buyer)
    for change in (
        lambda: requisitions.add_line(req, kit.buyer, description="x", quantity=D("1"),
                                      unit_price=D("1"), vat_rate=D("23")),
        lambda: requisitions.update_line(req, req.lines[0], kit.buyer, quantity=D("2")),
        lambda: requisitions.remove_line(req, req.lines[0], kit.buyer),
        lambda: requisitions.update_header(req, kit.buyer, title="Nowy", cost_center=kit.cc_it),
    ):
        with pytest.raises(InvalidTransition):
            change()
    assert req.gross_total == D("1000.00") and len(req.lines) == 1


def test_duplicate_copies_header_and_lines_and_drops_deactivated_items(kit):
    source = requisitions.create_requisition(kit.buyer, title="Papier", cost_center=kit.cc_adm,
                                             justification="Co miesiąc", category=kit.cat_office)
    requisitions.add_line(source, kit.buyer, item=kit.paper, quantity=D("5"))
    requisitions.add_line(source, kit.buyer, item=kit.laptop, quantity=D("1"))
    kit.laptop.is_active = False
    db.session.flush()
    copy = requisitions.duplicate_requisition(source, kit.buyer2)
    assert copy.number != source.number and copy.requester_id == kit.buyer2.id
    assert (copy.title, copy.justification, copy.cost_center_id, copy.category_id) == (
        source.title, source.justification, source.cost_center_id, source.category_id)
    assert [(li.item_id, li.description, li.quantity) for li in copy.lines] == [
        (kit.paper.id, "Papier A4", D("5.000")), (None, 'Laptop 14"', D("1.000"))]
    assert copy.gross_total == source.gross_total


def test_comment_thread(kit):
    req = draft(kit)
    requisitions.add_comment(req, kit.manager, "  Czy to pilne? ")
    assert [c.body for c in req.comments] == ["Czy to pilne?"]
    for body in ("", "   ", "x" * 4001):
        with pytest.raises(ValidationProblem):
            requisitions.add_comment(req, kit.buyer, body)


# ---------------------------------------------------------------- bad input: message, nothing saved


def _rows(req_id=None) -> dict:
    return {
        "requisitions": count(Requisition),
        "lines": count(RequisitionLine),
        "attachments": count(Attachment),
        "counters": sum(db.session.scalars(select(DocumentCounter.last)).all()),
        "tasks": count(ApprovalTask),
        "comments": count(Comment),
    }


def _refused(call, message_part: str) -> str:
    with pytest.raises(ValidationProblem) as refused:
        call()
    message = str(refused.value.message)
    assert message_part in message, message
    db.session.rollback()
    return message


HEADER_CASES = [
    ("missing cost centre", dict(cost_center=None), "Choose a cost centre"),
    ("inactive cost centre", dict(cost_center="closed"), "no longer active"),
    ("needed-by in the past", dict(needed_by=-1), "cannot be in the past"),
    ("100 000-char justification", dict(justification="x" * 100_000), "at most 5000 characters"),
    ("empty title", dict(title="   "), "Enter a title"),
    ("long title", dict(title="T" * 201), "at most 200 characters"),
    ("currency", dict(currency="XXX"), "Choose a currency from the list"),
]


@pytest.mark.parametrize(("changes", "message"), [c[1:] for c in HEADER_CASES],
                         ids=[c[0] for c in HEADER_CASES])
def test_bad_header_is_refused_and_nothing_is_saved(kit, changes, message):
    fields = dict(title="Serwis wózka widłowego", cost_center=kit.cc_it, justification="",
                  needed_by=None, currency=None)
    fields.update(changes)
    if fields["cost_center"] == "closed":
        fields["cost_center"] = kit.cc_closed
    if fields["needed_by"] == -1:
        fields["needed_by"] = utcnow().date() - timedelta(days=1)
    db.session.commit()
    before = _rows()
    _refused(lambda: requisitions.create_requisition(kit.buyer, **fields), message)
    assert _rows() == before  # not even a number was taken
    existing = draft(kit)
    db.session.commit()
    title = existing.title
    _refused(lambda: requisitions.update_header(existing, kit.buyer, **fields), message)
    assert db.session.get(Requisition, existing.id).title == title


def test_needed_by_today_is_fine(kit):
    req = requisitions.create_requisition(kit.buyer, title="Na dziś", cost_center=kit.cc_it,
                                          needed_by=utcnow().date())
    assert req.needed_by == utcnow().date()


LINE_CASES = [
    ("zero quantity", dict(quantity=D("0")), "greater than zero"),
    ("negative quantity", dict(quantity=D("-2")), "greater than zero"),
    ("quantity with 4 decimals", dict(quantity=D("1.0005")), "at most 3 decimal places"),
    ("price with 5 decimals", dict(unit_price=D("10.00001")), "at most 4 decimal places"),
    ("negative price", dict(unit_price=D("-1")), "cannot be negative"),
    ("not a number quantity", dict(quantity=D("NaN")), "quantity"),
    ("infinite quantity", dict(quantity=D("Infinity")), "quantity"),
    ("infinite price", dict(unit_price=D("Infinity")), "unit price"),
    ("unknown VAT rate", dict(vat_rate=D("22")), "VAT rate"),
    ("no description", dict(description="  "), "Describe what to buy"),
    ("line total too large", dict(quantity=D("999999.999"), unit_price=D("9999999.9999")),
     "too large"),
]


@pytest.mark.parametrize(("changes", "message"), [c[1:] for c in LINE_CASES],
                         ids=[c[0] for c in LINE_CASES])
def test_bad_line_is_refused_and_nothing_is_saved(kit, changes, message):
    req = draft(kit, "100")
    db.session.commit()
    before = _rows()
    fields = dict(description="Toner HP 305A", quantity=D("2"), unit_price=D("289.99"),
                  vat_rate=D("23"))
    fields.update(changes)
    _refused(lambda: requisitions.add_line(req, kit.buyer, **fields), message)
    assert _rows() == before
    line = req.lines[0]
    _refused(lambda: requisitions.update_line(req, line, kit.buyer, **changes), message)
    db.session.expire_all()
    stored = db.session.get(RequisitionLine, line.id)
    assert (stored.quantity, stored.unit_price, stored.gross) == (
        D("1.000"), D("100.0000"), D("100.00"))
    assert db.session.get(Requisition, req.id).gross_total == D("100.00")


def test_document_total_beyond_the_column_is_refused(kit):
    req = draft(kit, "900000000000")  # 900 bn: one line fits
    db.session.commit()
    before = _rows()
    _refused(lambda: requisitions.add_line(req, kit.buyer, description="Druga", quantity=D("1"),
                                           unit_price=D("200000000000"), vat_rate=D("0")),
             "too large")
    assert _rows() == before


def test_deactivated_item_is_refused(kit):
    req = draft(kit, "100")
    db.session.commit()
    before = _rows()
    message = _refused(
        lambda: requisitions.add_line(req, kit.buyer, item=kit.old_item, quantity=D("1")),
        "deactivated")
    assert "T-OLD" in message
    assert _rows() == before


def test_submitting_an_empty_requisition_is_refused(kit):
    req = requisitions.create_requisition(kit.buyer, title="Pusty", cost_center=kit.cc_it)
    db.session.commit()
    before = _rows()
    _refused(lambda: approvals.submit(req, kit.buyer), "at least one line")
    assert _rows() == before
    assert db.session.get(Requisition, req.id).status == S.DRAFT


def test_submitting_with_a_cost_centre_deactivated_since_is_refused(kit):
    req = draft(kit)
    kit.cc_it.is_active = False
    db.session.commit()
    before = _rows()
    _refused(lambda: approvals.submit(req, kit.buyer), "no longer active")
    assert _rows() == before


ATTACHMENT_CASES = [
    ("executable", "oferta.exe", 100, "cannot be attached"),
    ("double extension", "oferta.pdf.exe", 100, "cannot be attached"),
    ("no extension", "oferta", 100, "cannot be attached"),
    ("html", "strona.html", 100, "cannot be attached"),
    ("oversize", "oferta.pdf", 10 * 1024 * 1024 + 1, "larger than 10 MB"),
    ("empty", "oferta.pdf", 0, "empty"),
]


@pytest.mark.parametrize(("filename", "size", "message"), [c[1:] for c in ATTACHMENT_CASES],
                         ids=[c[0] for c in ATTACHMENT_CASES])
def test_bad_attachment_is_refused_and_nothing_is_saved(kit, filename, size, message):
    req = draft(kit)
    db.session.commit()
    before = _rows()
    _refused(lambda: requisitions.add_attachment(req, kit.buyer, filename=filename,
                                                 content_type="application/pdf", data=b"x" * size),
             message)
    assert _rows() == before


def test_good_attachment_is_stored_with_the_type_of_its_extension(kit):
    req = draft(kit)
    data = b"%PDF-1.7 oferta"
    attachment = requisitions.add_attachment(req, kit.buyer, filename="../Oferta Polbud.PDF",
                                             content_type="text/html", data=data)
    assert attachment.filename == ".._Oferta Polbud.PDF"
    assert attachment.content_type == "application/pdf"  # never what the client claimed
    assert attachment.size == len(data)
    limit = requisitions.add_attachment(req, kit.buyer, filename="spec.txt",
                                        content_type="text/plain",
                                        data=b"x" * requisitions.MAX_ATTACHMENT_BYTES)
    assert limit.size == requisitions.MAX_ATTACHMENT_BYTES


def test_attachments_only_by_the_requester_on_open_requisitions(kit):
    req = draft(kit)
    with pytest.raises(PermissionDenied):
        requisitions.add_attachment(req, kit.buyer2, filename="a.pdf", content_type="", data=b"x")
    approve_all(req if approvals.submit(req, kit.buyer) else req)
    with pytest.raises(InvalidTransition):
        requisitions.add_attachment(req, kit.buyer, filename="a.pdf", content_type="", data=b"x")
