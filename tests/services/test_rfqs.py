"""The buyer's RFQ services (portal/services/sourcing/rfqs.py): drafting from approved requisition
lines, inviting, publishing, amendments, cancel, close, the sealed opening, clarifications and
the list. Time is the sourcing clock's, passed as `now=`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from portal.domain.requisition import RequisitionStatus
from portal.errors import InvalidTransition, PermissionDenied, ValidationProblem
from portal.extensions import db
from portal.models import AuditEvent, LinkStatus, Notification, Requisition, SupplierLink, User
from portal.models.rfq import (
    InvitationStatus,
    Rfq,
    RfqClarification,
    RfqQuestion,
    RfqStatus,
)
from portal.services.sourcing import rfqs
from portal.services.sourcing.rfq_queries import response_counts
from tests.conftest import as_org, as_system
from tests.factories import make_cost_center, make_requisition

D = Decimal
NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=7)


# ---------------------------------------------------------------- helpers (the page tests use them)


def link_of(buyer, supplier) -> SupplierLink:
    with as_system():
        return db.session.scalars(select(SupplierLink).where(
            SupplierLink.organization_id == buyer.id,
            SupplierLink.supplier_id == supplier.id)).one()


def approved_requisition(world, org_key="acme", *, title="Łożyska do linii 2",
                         lines=(("Łożysko 6204", "100", "3.50", "23"),
                                ("Smar litowy", "5", "40", "23"))) -> Requisition:
    """An approved requisition (the approval flow is not what these tests are about: the
    status is set directly)."""
    org = getattr(world, org_key)
    buyer = world.user(f"buyer@{org_key}")
    cc = make_cost_center(org, f"RFQ-{org_key}", name="Zakupy")
    req = make_requisition(buyer, cost_center=cc, title=title, lines=lines)
    with as_system():
        req.status = RequisitionStatus.APPROVED
        db.session.flush()
    return req


def count(model, *where) -> int:
    with as_system():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def events(rfq_id, action=None, object_type="Rfq") -> list[AuditEvent]:
    with as_system():
        query = select(AuditEvent).where(AuditEvent.object_type == object_type,
                                         AuditEvent.object_id == rfq_id)
        if action:
            query = query.where(AuditEvent.action == action)
        return list(db.session.scalars(query.order_by(AuditEvent.id)))


def notified(org, kind="rfq") -> list[Notification]:
    with as_system():
        return list(db.session.scalars(
            select(Notification).join(User, User.id == Notification.user_id)
            .where(User.organization_id == org.id, Notification.kind == kind)
            .order_by(Notification.id)))


def published_rfq(world, *, suppliers=("nordwind", "polbud"), deadline=LATER, sealed=True,
                  actor=None) -> Rfq:
    """An open RFQ of Acme from an approved requisition, published at NOW."""
    actor = actor or world.user("buyer@acme")
    req = approved_requisition(world)
    rfq = rfqs.create_rfq(actor, title="Łożyska Q1", sealed=sealed,
                          requisition_line_ids=[li.id for li in req.lines], now=NOW)
    for key in suppliers:
        rfqs.invite(rfq, actor, link_of(world.acme, getattr(world, key)))
    rfqs.publish(rfq, actor, deadline=deadline, now=NOW)
    return rfq


def set_invitations(rfq, *statuses) -> None:
    with as_system():
        for invitation, status in zip(rfq.invitations, statuses, strict=True):
            invitation.status = InvitationStatus(status)
        db.session.flush()


@pytest.fixture
def buyer(world):
    with as_org(world.acme):
        yield world.user("buyer@acme")


# ---------------------------------------------------------------- creating


def test_create_rfq_from_two_approved_requisitions_keeps_links_and_moves_them(world, buyer):
    first = approved_requisition(world)
    second = approved_requisition(world, title="Rękawice", lines=(("Rękawice nitrylowe", "200", "1.2", "8"),))
    ids = [first.lines[1].id, second.lines[0].id]
    rfq = rfqs.create_rfq(buyer, title="Zakupy MRO", requisition_line_ids=ids, now=NOW)
    db.session.commit()
    assert rfq.number == "RFQ-2026-00001" and rfq.status == RfqStatus.DRAFT
    assert rfq.currency == "PLN" and rfq.sealed and rfq.time_zone == "Europe/Warsaw"
    assert [(li.position, li.requisition_line_id, li.description, li.quantity) for li in rfq.lines] == [
        (1, first.lines[1].id, "Smar litowy", D("5")), (2, second.lines[0].id, "Rękawice nitrylowe", D("200"))]
    assert rfq.lines[1].vat_rate == D("8")
    db.session.expire_all()
    assert {r.status for r in (db.session.get(Requisition, first.id),
                               db.session.get(Requisition, second.id))} == {RequisitionStatus.SOURCING}
    assert [e.summary["rfq"] for e in events(first.id, "requisition.sourcing", "Requisition")] == [rfq.number]
    assert len(events(rfq.id, "rfq.created")) == 1
    again = rfqs.create_rfq(buyer, title="Druga", now=NOW)
    assert again.number == "RFQ-2026-00002" and again.lines == []


@pytest.mark.parametrize("status", ["draft", "pending", "sourcing", "cancelled"])
def test_create_rfq_refuses_lines_of_requisitions_not_approved(world, buyer, status):
    req = approved_requisition(world)
    with as_system():
        req.status = RequisitionStatus(status)
    with pytest.raises(ValidationProblem, match="only lines of approved requisitions"):
        rfqs.create_rfq(buyer, title="X", requisition_line_ids=[req.lines[0].id], now=NOW)
    db.session.rollback()
    assert count(Rfq) == 0


def test_create_rfq_refuses_another_companys_lines(world):
    theirs = approved_requisition(world, "globex", lines=(("Globex thing", "1", "10", "23"),))
    with as_org(world.acme), pytest.raises(ValidationProblem, match="approved requisitions"):
        rfqs.create_rfq(world.user("buyer@acme"), title="X",
                        requisition_line_ids=[theirs.lines[0].id], now=NOW)
    db.session.rollback()
    assert count(Rfq) == 0


@pytest.mark.parametrize(("title", "currency", "message"), [
    ("", "PLN", "Enter a title"), ("x" * 201, "PLN", "At most 200"), ("T", "XXX", "currency")])
def test_create_rfq_checks_the_header(world, buyer, title, currency, message):
    with pytest.raises(ValidationProblem, match=message) as problem:
        rfqs.create_rfq(buyer, title=title, currency=currency, now=NOW)
    assert problem.value.field in ("title", "currency")


def test_only_buyers_and_admins_create_rfqs(world):
    with as_org(world.acme):
        with pytest.raises(PermissionDenied):
            rfqs.create_rfq(world.user("approver@acme"), title="X", now=NOW)
        assert rfqs.create_rfq(world.user("admin@acme"), title="X", now=NOW).id


def test_typed_lines_are_checked(world, buyer):
    rfq = rfqs.create_rfq(buyer, title="Typed", now=NOW)
    line = rfqs.add_line(rfq, buyer, description="  Śruba   M8 ", quantity=D("1000"), unit="pcs")
    assert line.description == "Śruba M8" and line.position == 1 and line.requisition_line_id is None
    for bad, message in [(D("0"), "greater than zero"), (D("-1"), "greater than zero"),
                         (D("1.2345"), "3 decimal"), (D("NaN"), "greater than zero")]:
        with pytest.raises(ValidationProblem, match=message):
            rfqs.add_line(rfq, buyer, description="X", quantity=bad)
    with pytest.raises(ValidationProblem, match="Describe"):
        rfqs.add_line(rfq, buyer, description=" ", quantity=D("1"))
    with pytest.raises(ValidationProblem, match="VAT"):
        rfqs.add_line(rfq, buyer, description="X", quantity=D("1"), vat_rate=D("7"))


def test_removing_the_last_line_of_a_requisition_gives_it_back(world, buyer):
    req = approved_requisition(world)
    rfq = rfqs.create_rfq(buyer, title="X", requisition_line_ids=[li.id for li in req.lines], now=NOW)
    rfqs.remove_line(rfq, buyer, rfq.lines[0])
    assert req.status == RequisitionStatus.SOURCING and [li.position for li in rfq.lines] == [1]
    rfqs.remove_line(rfq, buyer, rfq.lines[0])
    assert req.status == RequisitionStatus.APPROVED
    assert len(events(req.id, "requisition.unsourced", "Requisition")) == 1


# ---------------------------------------------------------------- inviting, files


def test_invite_only_active_links_of_the_company_once(world, buyer):
    rfq = rfqs.create_rfq(buyer, title="X", now=NOW)
    invitation = rfqs.invite(rfq, buyer, link_of(world.acme, world.nordwind))
    assert invitation.supplier_id == world.nordwind.id and invitation.status == InvitationStatus.INVITED
    with pytest.raises(ValidationProblem, match="already invited"):
        rfqs.invite(rfq, buyer, link_of(world.acme, world.nordwind))
    polbud = link_of(world.acme, world.polbud)
    with as_system():
        polbud.status = LinkStatus.BLOCKED
    with pytest.raises(ValidationProblem, match="not active"):
        rfqs.invite(rfq, buyer, polbud)
    with pytest.raises(ValidationProblem, match="Choose one of your suppliers"):
        rfqs.invite(rfq, buyer, link_of(world.globex, world.nordwind))
    rfqs.uninvite(rfq, buyer, invitation)
    assert rfq.invitations == []
    assert [e.action for e in events(rfq.id)][-2:] == ["rfq.supplier_invited", "rfq.supplier_removed"]


def test_attachments_reuse_the_requisition_limits(world, buyer):
    rfq = rfqs.create_rfq(buyer, title="X", now=NOW)
    saved = rfqs.add_attachment(rfq, buyer, filename="rysunek.pdf", content_type="x/y", data=b"%PDF-1")
    assert saved.content_type == "application/pdf" and saved.size == 6
    with pytest.raises(ValidationProblem, match="cannot be attached"):
        rfqs.add_attachment(rfq, buyer, filename="run.exe", content_type="x", data=b"MZ")
    with pytest.raises(ValidationProblem, match="empty"):
        rfqs.add_attachment(rfq, buyer, filename="a.pdf", content_type="x", data=b"")


# ---------------------------------------------------------------- publishing


def test_publish_numbers_notifies_invited_suppliers_and_freezes_the_draft(world, buyer):
    rfq = published_rfq(world)
    assert rfq.status == RfqStatus.OPEN and rfq.deadline == LATER and rfq.published_at == NOW
    assert len(notified(world.nordwind)) == 1 and len(notified(world.polbud)) == 1
    message = notified(world.nordwind)[0].message
    assert "Acme" in str(message) and rfq.number in str(message)
    assert events(rfq.id, "rfq.published")[0].summary["suppliers"] == 2
    with pytest.raises(InvalidTransition, match="Only a draft"):
        rfqs.add_line(rfq, buyer, description="X", quantity=D("1"))
    with pytest.raises(InvalidTransition):
        rfqs.publish(rfq, buyer, deadline=LATER, now=NOW)


@pytest.mark.parametrize("deadline", [NOW, NOW - timedelta(minutes=1), None])
def test_publish_refuses_a_deadline_not_in_the_future(world, buyer, deadline):
    rfq = rfqs.create_rfq(buyer, title="X", now=NOW)
    rfqs.add_line(rfq, buyer, description="X", quantity=D("1"))
    rfqs.invite(rfq, buyer, link_of(world.acme, world.nordwind))
    with pytest.raises(ValidationProblem) as problem:
        rfqs.publish(rfq, buyer, deadline=deadline, now=NOW)
    assert problem.value.field == "deadline" and rfq.status == RfqStatus.DRAFT


def test_publish_needs_a_line_and_a_supplier(world, buyer):
    rfq = rfqs.create_rfq(buyer, title="X", now=NOW)
    with pytest.raises(ValidationProblem, match="at least one line"):
        rfqs.publish(rfq, buyer, deadline=LATER, now=NOW)
    rfqs.add_line(rfq, buyer, description="X", quantity=D("1"))
    with pytest.raises(ValidationProblem, match="Invite at least one supplier"):
        rfqs.publish(rfq, buyer, deadline=LATER, now=NOW)
    rfqs.invite(rfq, buyer, link_of(world.acme, world.nordwind))
    with as_system():
        link_of(world.acme, world.nordwind).status = LinkStatus.BLOCKED
    with pytest.raises(ValidationProblem, match="no longer an active supplier"):
        rfqs.publish(rfq, buyer, deadline=LATER, now=NOW)
    assert notified(world.nordwind) == []


# ---------------------------------------------------------------- amendments, cancel


def test_amend_numbers_the_change_and_asks_quoted_suppliers_to_confirm(world, buyer):
    rfq = published_rfq(world)
    set_invitations(rfq, "quoted", "invited")
    new_deadline = LATER + timedelta(days=2)
    rfqs.amend(rfq, buyer, note="Zmiana ilości w poz. 1.", deadline=new_deadline,
               description="Nowy opis", now=NOW)
    assert rfq.amendment == 1 and rfq.deadline == new_deadline and rfq.description == "Nowy opis"
    event = events(rfq.id, "rfq.amended")[0]
    assert event.comment == "Zmiana ilości w poz. 1." and event.summary["amendment"] == 1
    nordwind, polbud = notified(world.nordwind)[-1].message, notified(world.polbud)[-1].message
    assert "confirm your quote" in str(nordwind) and "confirm" not in str(polbud)
    rfqs.amend(rfq, buyer, note="Druga", now=NOW)
    assert rfq.amendment == 2
    with pytest.raises(ValidationProblem, match="Say what changed"):
        rfqs.amend(rfq, buyer, note=" ", now=NOW)
    with pytest.raises(ValidationProblem, match="future"):
        rfqs.amend(rfq, buyer, note="x", deadline=NOW - timedelta(hours=1), now=NOW)


def test_amend_past_the_deadline_needs_a_new_deadline(world, buyer):
    rfq = published_rfq(world)
    with pytest.raises(ValidationProblem, match="set a new one"):
        rfqs.amend(rfq, buyer, note="x", now=LATER)
    rfqs.amend(rfq, buyer, note="x", deadline=LATER + timedelta(days=1), now=LATER)
    assert rfq.deadline == LATER + timedelta(days=1)


def test_amend_refused_for_a_draft(world, buyer):
    rfq = rfqs.create_rfq(buyer, title="X", now=NOW)
    with pytest.raises(InvalidTransition, match="Only an open RFQ"):
        rfqs.amend(rfq, buyer, note="x", now=NOW)


def test_cancel_gives_requisitions_back_and_tells_suppliers(world, buyer):
    rfq = published_rfq(world)
    req = rfq.lines[0].requisition_line.requisition
    with pytest.raises(ValidationProblem, match="reason"):
        rfqs.cancel(rfq, buyer, reason="", now=NOW)
    rfqs.cancel(rfq, buyer, reason="Budżet wstrzymany.", now=NOW)
    assert rfq.status == RfqStatus.CANCELLED and rfq.cancel_reason == "Budżet wstrzymany."
    assert req.status == RequisitionStatus.APPROVED
    assert "Budżet wstrzymany." in str(notified(world.polbud)[-1].message)
    with pytest.raises(InvalidTransition, match="no longer be cancelled"):
        rfqs.cancel(rfq, buyer, reason="again", now=NOW)


def test_cancel_a_draft_tells_nobody(world, buyer):
    rfq = rfqs.create_rfq(buyer, title="X", now=NOW)
    rfqs.invite(rfq, buyer, link_of(world.acme, world.nordwind))
    rfqs.cancel(rfq, buyer, reason="Pomyłka", now=NOW)
    assert notified(world.nordwind) == []


# ---------------------------------------------------------------- close and the sealed opening


def test_close_before_the_deadline_only_when_everyone_answered(world, buyer):
    rfq = published_rfq(world)
    set_invitations(rfq, "quoted", "invited")
    with pytest.raises(InvalidTransition, match="Quotes are accepted until"):
        rfqs.close(rfq, buyer, now=NOW)
    set_invitations(rfq, "quoted", "declined")
    rfqs.close(rfq, buyer, now=NOW)
    assert rfq.status == RfqStatus.CLOSED and rfq.closed_at == NOW
    assert events(rfq.id, "rfq.closed")[0].summary["early"] is True


def test_close_after_the_deadline(world, buyer):
    rfq = published_rfq(world)
    rfqs.close(rfq, buyer, now=LATER)
    assert rfq.status == RfqStatus.CLOSED
    assert events(rfq.id, "rfq.closed")[0].summary["early"] is False


def test_sealed_quotes_open_only_after_the_deadline_and_record_who(world, buyer):
    rfq = published_rfq(world)
    with pytest.raises(InvalidTransition, match="sealed until the deadline"):
        rfqs.open_quotes(rfq, buyer, now=LATER - timedelta(seconds=1))
    assert rfq.opened_at is None
    admin = world.user("admin@acme")
    rfqs.open_quotes(rfq, admin, now=LATER)
    assert rfq.status == RfqStatus.CLOSED and rfq.opened_at == LATER and rfq.opened_by_id == admin.id
    opened = events(rfq.id, "rfq.opened")
    assert len(opened) == 1 and opened[0].actor_id == admin.id
    with pytest.raises(InvalidTransition, match="already visible"):
        rfqs.open_quotes(rfq, admin, now=LATER)


def test_open_quotes_after_an_early_close(world, buyer):
    rfq = published_rfq(world)
    set_invitations(rfq, "declined", "quoted")
    rfqs.close(rfq, buyer, now=NOW)
    rfqs.open_quotes(rfq, buyer, now=NOW)
    assert rfq.opened_at == NOW


def test_an_unsealed_rfq_has_nothing_to_open(world, buyer):
    rfq = published_rfq(world, sealed=False)
    with pytest.raises(InvalidTransition):
        rfqs.open_quotes(rfq, buyer, now=LATER)


def test_expire_deadlines_records_the_close_at_the_deadline(world, buyer):
    rfq = published_rfq(world)
    assert rfqs.expire_deadlines(now=NOW) == 0
    assert rfqs.expire_deadlines(now=LATER + timedelta(hours=1)) == 1
    assert rfq.status == RfqStatus.CLOSED and rfq.closed_at == LATER


# ---------------------------------------------------------------- clarifications


def ask(world, rfq, supplier="nordwind", body="Czy dopuszczacie zamiennik SKF?") -> RfqQuestion:
    with as_system():
        asker = world.user(f"sales@{supplier}")
        question = RfqQuestion(organization_id=rfq.organization_id, supplier_id=asker.organization_id,
                               rfq_id=rfq.id, body=body, asked_by_id=asker.id)
        db.session.add(question)
        db.session.flush()
    return question


def test_answer_is_published_to_every_invited_supplier_without_the_asker(world, buyer):
    rfq = published_rfq(world)
    question = ask(world, rfq)
    before = len(notified(world.polbud))
    clarification = rfqs.answer_question(question, buyer, answer="Tak, SKF lub FAG.",
                                         question_text="Czy dopuszczacie zamienniki?", now=NOW)
    assert isinstance(clarification, RfqClarification)
    assert (clarification.question, clarification.answer) == ("Czy dopuszczacie zamienniki?", "Tak, SKF lub FAG.")
    assert not hasattr(clarification, "supplier_id") and not hasattr(clarification, "asked_by_id")
    assert question.clarification_id == clarification.id and question.answered_at == NOW
    assert len(notified(world.polbud)) == before + 1
    assert "Nordwind" not in str(notified(world.polbud)[-1].message)
    with pytest.raises(InvalidTransition, match="already answered"):
        rfqs.answer_question(question, buyer, answer="x", now=NOW)
    with pytest.raises(ValidationProblem, match="Write the answer"):
        rfqs.answer_question(ask(world, rfq), buyer, answer=" ", now=NOW)


def test_buyer_publishes_a_clarification_unasked(world, buyer):
    rfq = published_rfq(world)
    rfqs.publish_clarification(rfq, buyer, question="Termin?", answer="Dostawa do 15.01.", now=NOW)
    assert [c.answer for c in rfq.clarifications] == ["Dostawa do 15.01."]


# ---------------------------------------------------------------- the list


def test_rfq_page_views_search_and_supplier_filter(world, buyer):
    draft = rfqs.create_rfq(buyer, title="Szkic kartonów", now=NOW)
    soon = published_rfq(world, deadline=NOW + timedelta(hours=20))
    later = published_rfq(world, deadline=NOW + timedelta(days=10), suppliers=("nordwind",))
    past = published_rfq(world, deadline=NOW + timedelta(hours=1))
    closed = published_rfq(world, deadline=NOW + timedelta(hours=2))
    rfqs.close(closed, buyer, now=NOW + timedelta(hours=3))
    cancelled = published_rfq(world)
    rfqs.cancel(cancelled, buyer, reason="x", now=NOW)
    moment = NOW + timedelta(hours=1, minutes=30)

    def ids(view, **kw):
        return [r.id for r in rfqs.rfq_page(buyer, view=view, now=moment, **kw).items]

    assert ids("drafts") == [draft.id]
    assert ids("open") == [soon.id, later.id]
    assert ids("closing_soon") == [soon.id]
    assert ids("awaiting_award") == [past.id, closed.id]
    assert ids("cancelled") == [cancelled.id]
    assert ids("awarded") == []
    assert set(ids("all")) == {draft.id, soon.id, later.id, past.id, closed.id, cancelled.id}
    assert ids("all", q="kartON") == [draft.id]
    assert ids("all", q=later.number) == [later.id]
    assert ids("all", q="%") == []
    assert set(ids("all", supplier_id=world.polbud.id)) == {soon.id, past.id, closed.id, cancelled.id}
    assert response_counts([later])[later.id] == (1, 0)


def test_rfq_page_walks_by_cursor_and_shows_only_the_company(world, buyer):
    made = [rfqs.create_rfq(buyer, title=f"R{i}", now=NOW).id for i in range(5)]
    with as_org(world.globex):
        rfqs.create_rfq(world.user("buyer@globex"), title="Globex", now=NOW)
    first = rfqs.rfq_page(buyer, per_page=2)
    second = rfqs.rfq_page(buyer, per_page=2, cursor=first.next)
    third = rfqs.rfq_page(buyer, per_page=2, cursor=second.next)
    assert [r.id for r in first.items + second.items + third.items] == made[::-1]
    assert third.next is None and first.total == 5


def test_get_for_buyer_is_the_owner_only(world, buyer):
    rfq = published_rfq(world)
    db.session.commit()
    assert rfqs.get_for_buyer(rfq.id).id == rfq.id
    with as_org(world.globex):
        assert rfqs.get_for_buyer(rfq.id) is None
    with as_org(world.nordwind):  # invited, but this is the buyer's read
        assert rfqs.get_for_buyer(rfq.id) is None


def test_the_deadline_job_closes_every_company_s_expired_rfqs_once(world):
    """`close-expired-rfqs` (portal/jobs/deadlines.py): an open RFQ past its deadline is recorded
    closed as of its deadline, in its own company's scope; a second run closes nothing."""
    from portal.jobs.deadlines import close_expired_rfqs

    with as_org(world.acme):
        rfq = published_rfq(world)
        deadline = rfq.deadline
        rfq_id = rfq.id
        db.session.commit()
    after = deadline + timedelta(minutes=1)
    first = dict(close_expired_rfqs(now=after))
    assert first[world.acme.id] >= 1
    with as_org(world.acme):
        closed = db.session.get(Rfq, rfq_id)
        assert closed.status == "closed" and closed.closed_at == deadline
    assert all(n == 0 for n in dict(close_expired_rfqs(now=after)).values())
