"""Supplier quotes: one per supplier and RFQ, drafts invisible to the buyer, submit rules,
revisions kept exactly, the deadline (injected clock), decline, amendments, questions, and the
buyer's sealed-aware reads."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from portal.errors import InvalidTransition, PermissionDenied
from portal.extensions import db
from portal.models import (
    AuditEvent,
    Notification,
    Quote,
    QuoteAttachment,
    QuoteRevision,
    Rfq,
    RfqInvitation,
    RfqQuestion,
)
from portal.models.rfq import InvitationStatus, QuoteStatus
from portal.services.sourcing import quotes
from portal.services.sourcing.quotes import QuoteLineInput, QuoteProblem, SealedQuotes
from tests.conftest import as_org, as_system
from tests.services.sourcing_fixtures import AFTER, BEFORE, DEADLINE, T0, amend, open_sealed, published_rfq

D = Decimal
VALID = date(2027, 1, 31)


def count(model) -> int:
    with as_system():
        return db.session.scalar(select(func.count(model.id)))


def supplier_rfq(rfq_id):
    return db.session.get(Rfq, rfq_id)


def prices(quote, *values):
    """Line inputs for `quote`'s RFQ lines in position order (None = not quoted)."""
    lines = sorted(quote.rfq.lines, key=lambda li: li.position)
    return {line.id: QuoteLineInput(unit_price=None if v is None else D(v), lead_time_days=14)
            for line, v in zip(lines, values, strict=False)}


def draft(world, rfq_id, supplier="sales@nordwind", *values, valid_until=VALID, now=BEFORE, **extra):
    """Start and save a quote as `supplier` (inside its scope; the caller commits)."""
    actor = world.user(supplier)
    invitation = quotes.invitation_for(rfq_id)
    quote = quotes.start_quote(invitation, actor, now=now)
    quotes.save_draft(quote, actor, supplier_reference="OF/2026/118", valid_until=valid_until,
                      lines=prices(quote, *(values or ("2.95", "189.00", "7.10"))), now=now, **extra)
    return quote


@pytest.fixture
def rfq_id(world):
    return published_rfq(world)


def submitted(world, rfq_id, supplier="sales@nordwind", *values, **kw):
    actor = world.user(supplier)
    with as_org(actor.organization):
        quote = draft(world, rfq_id, supplier, *values, **kw)
        quotes.submit(quote, actor, now=BEFORE)
        db.session.commit()
        return quote.id


# ---------------------------------------------------------------- the buyer's reads first


def test_responses_list_every_invitation_without_prices_and_drafts_are_not_answers(world, rfq_id):
    nordwind = world.user("sales@nordwind")
    with as_org(world.nordwind):
        draft(world, rfq_id)
        db.session.commit()
    with as_org(world.acme):
        found = quotes.responses(supplier_rfq(rfq_id))
    assert [r.supplier_name for r in found] == ["Nordwind Supplies", "Polbud"]
    assert {r.status for r in found} == {InvitationStatus.INVITED}
    assert all(r.revisions == 0 and r.responded_at is None for r in found)
    assert not any("price" in name or "total" in name for name in found[0].__dataclass_fields__)
    submitted(world, rfq_id)
    with as_org(world.acme):
        found = quotes.responses(supplier_rfq(rfq_id))
    assert found[0].status == InvitationStatus.QUOTED and found[0].revisions == 1
    assert found[0].responded_at is not None
    assert nordwind.organization_id == found[0].supplier_id


def test_submitted_quotes_refused_while_sealed_and_never_drafts(world, rfq_id):
    submitted(world, rfq_id)
    with as_org(world.polbud):
        draft(world, rfq_id, "sales@polbud", "3.10", "200", "7")
        db.session.commit()
    with as_org(world.acme):
        with pytest.raises(SealedQuotes, match="sealed"):
            quotes.submitted_quotes(supplier_rfq(rfq_id), now=AFTER)
        assert isinstance(SealedQuotes("x"), PermissionDenied)
    open_sealed(world, rfq_id)
    with as_org(world.acme):
        found = quotes.submitted_quotes(supplier_rfq(rfq_id), now=AFTER)
    assert [q.supplier.name for q in found] == ["Nordwind Supplies"]
    assert found[0].status == QuoteStatus.SUBMITTED


def test_an_open_rfq_shows_submitted_prices_before_the_deadline(world):
    rfq_id = published_rfq(world, sealed=False)
    submitted(world, rfq_id)
    with as_org(world.acme):
        found = quotes.submitted_quotes(supplier_rfq(rfq_id), now=BEFORE)
    assert len(found) == 1 and found[0].net_total == D("295.00") + D("756.00") + D("88.75")


# ---------------------------------------------------------------- one quote per supplier


def test_start_quote_returns_the_same_quote_and_lines_follow_the_rfq(world, rfq_id):
    actor = world.user("sales@nordwind")
    with as_org(world.nordwind):
        invitation = quotes.invitation_for(rfq_id)
        first = quotes.start_quote(invitation, actor, now=BEFORE)
        again = quotes.start_quote(invitation, actor, now=BEFORE)
        db.session.commit()
        assert first.id == again.id and len(first.lines) == 3
        assert first.organization_id == world.acme.id and first.supplier_id == world.nordwind.id
        assert first.currency == first.rfq.currency and first.status == QuoteStatus.DRAFT
    assert count(Quote) == 1


def test_an_uninvited_supplier_finds_no_invitation(world):
    rfq_id = published_rfq(world, suppliers=("nordwind",))
    with as_org(world.polbud):
        assert quotes.invitation_for(rfq_id) is None
        assert db.session.get(Rfq, rfq_id) is None


def test_a_draft_rfq_is_invisible_to_its_invited_suppliers(world):
    rfq_id = published_rfq(world, publish=False)
    with as_org(world.nordwind):
        assert quotes.invitation_for(rfq_id) is None


def test_the_buyer_cannot_write_a_quote(world, rfq_id):
    buyer = world.user("buyer@acme")
    with as_org(world.acme):
        invitation = db.session.scalars(select(RfqInvitation).where(
            RfqInvitation.rfq_id == rfq_id)).first()
        with pytest.raises(PermissionDenied):
            quotes.start_quote(invitation, buyer, now=BEFORE)


# ---------------------------------------------------------------- drafts and totals


def test_save_draft_computes_totals_exactly_and_keeps_it_from_the_buyer(world, rfq_id):
    with as_org(world.nordwind):
        quote = draft(world, rfq_id, "sales@nordwind", "2.95", "189.00", "7.1234",
                      freight=D("120.00"), other_charges=D("15.50"), charges_note="Paleta EUR")
        db.session.commit()
        nets = sorted((li.rfq_line.position, li.net) for li in quote.lines)
        assert nets == [(1, D("295.00")), (2, D("756.00")), (3, D("89.04"))]
        assert quote.net_total == D("295.00") + D("756.00") + D("89.04") + D("120.00") + D("15.50")
        assert quote.status == QuoteStatus.DRAFT and quote.revision == 0
    assert count(QuoteRevision) == 0
    with as_org(world.acme):
        assert quotes.responses(supplier_rfq(rfq_id))[0].status == InvitationStatus.INVITED


@pytest.mark.parametrize("price", ["0", "-1.50"])
def test_zero_or_negative_prices_are_refused_with_nothing_saved(world, rfq_id, price):
    actor = world.user("sales@nordwind")
    with as_org(world.nordwind):
        quote = quotes.start_quote(quotes.invitation_for(rfq_id), actor, now=BEFORE)
        db.session.commit()
        with pytest.raises(QuoteProblem, match="greater than zero") as caught:
            quotes.save_draft(quote, actor, supplier_reference="X1", valid_until=VALID,
                              lines=prices(quote, "5", price), now=BEFORE)
        assert caught.value.field.endswith("_unit_price")
        db.session.rollback()
        quote = db.session.get(Quote, quote.id)
        assert quote.supplier_reference == "" and all(li.unit_price is None for li in quote.lines)


def test_negative_charges_and_past_delivery_dates_are_refused(world, rfq_id):
    actor = world.user("sales@nordwind")
    with as_org(world.nordwind):
        quote = quotes.start_quote(quotes.invitation_for(rfq_id), actor, now=BEFORE)
        with pytest.raises(QuoteProblem, match="negative") as caught:
            quotes.save_draft(quote, actor, freight=D("-1"), now=BEFORE)
        assert caught.value.field == "freight"
        line = quote.rfq.lines[0]
        with pytest.raises(QuoteProblem, match="past"):
            quotes.save_draft(quote, actor, now=BEFORE, lines={
                line.id: QuoteLineInput(unit_price=D("1"), delivery_date=BEFORE.date() - timedelta(days=1))})


# ---------------------------------------------------------------- submit


def test_submit_keeps_an_exact_revision_marks_quoted_and_tells_only_the_buyer(world, rfq_id):
    quote_id = submitted(world, rfq_id)
    with as_system():
        quote = db.session.get(Quote, quote_id)
        assert quote.status == QuoteStatus.SUBMITTED and quote.revision == 1
        assert quote.submitted_at == BEFORE and quote.partial is False
        revision = quote.revisions[0]
        assert revision.number == 1 and revision.net_total == quote.net_total
        snap = revision.snapshot
        assert snap["lines"][0]["unit_price"] == "2.9500" and snap["lines"][0]["net"] == "295.00"
        assert snap["valid_until"] == "2027-01-31" and snap["supplier_reference"] == "OF/2026/118"
        assert quote.invitation.status == InvitationStatus.QUOTED
        notes = db.session.scalars(select(Notification)).all()
        told = {n.organization_id for n in notes if "submitted a quote" in n.message["id"]}
        assert told == {world.acme.id}
        mine = [n for n in notes if "submitted a quote" in n.message["id"]]
        assert all("Polbud" not in str(n.message) for n in mine)
        assert db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "quote.submitted")).one().supplier_id == world.nordwind.id


def test_a_quote_missing_lines_is_refused_unless_partial_quotes_are_allowed(world, rfq_id):
    actor = world.user("sales@nordwind")
    with as_org(world.nordwind):
        quote = draft(world, rfq_id, "sales@nordwind", "2.95", None, "7")
        db.session.commit()
        with pytest.raises(QuoteProblem, match="every line"):
            quotes.submit(quote, actor, now=BEFORE)
        db.session.rollback()
        assert db.session.get(Quote, quote.id).status == QuoteStatus.DRAFT
    assert count(QuoteRevision) == 0
    partial_id = published_rfq(world, allow_partial=True, title="Częściowe")
    with as_org(world.nordwind):
        quote = draft(world, partial_id, "sales@nordwind", "2.95", None, "7")
        quotes.submit(quote, actor, now=BEFORE)
        db.session.commit()
        assert quote.partial is True and quote.revisions[0].snapshot["partial"] is True


def test_a_quote_without_any_price_is_refused_even_when_partial(world):
    rfq_id = published_rfq(world, allow_partial=True)
    actor = world.user("sales@nordwind")
    with as_org(world.nordwind):
        quote = draft(world, rfq_id, "sales@nordwind", None, None, None)
        with pytest.raises(QuoteProblem, match="at least one line"):
            quotes.submit(quote, actor, now=BEFORE)


def test_validity_must_reach_the_deadline(world, rfq_id):
    actor = world.user("sales@nordwind")
    with as_org(world.nordwind):
        quote = draft(world, rfq_id, valid_until=DEADLINE.date() - timedelta(days=1))
        with pytest.raises(QuoteProblem, match="valid at least until") as caught:
            quotes.submit(quote, actor, now=BEFORE)
        assert caught.value.field == "valid_until"
        db.session.rollback()
        quote = draft(world, rfq_id, valid_until=None)
        with pytest.raises(QuoteProblem, match="valid"):
            quotes.submit(quote, actor, now=BEFORE)


def test_after_the_deadline_everything_is_refused_naming_the_deadline(world, rfq_id):
    actor = world.user("sales@nordwind")
    with as_org(world.nordwind):
        quote = draft(world, rfq_id)
        db.session.commit()
        invitation = quotes.invitation_for(rfq_id)
        calls = [
            lambda: quotes.submit(quote, actor, now=AFTER),
            lambda: quotes.save_draft(quote, actor, notes="late", now=AFTER),
            lambda: quotes.decline(invitation, actor, reason="late", now=AFTER),
            lambda: quotes.ask_question(quote.rfq, actor, body="late?", now=AFTER),
            lambda: quotes.add_attachment(quote, actor, filename="a.pdf", content_type="application/pdf",
                                          data=b"x", now=AFTER),
        ]
        for call in calls:
            with pytest.raises(InvalidTransition, match="deadline for quotes was") as caught:
                call()
            assert caught.value.msg.params["deadline"] == DEADLINE
            db.session.rollback()
        assert db.session.get(Quote, quote.id).notes == ""
    assert count(QuoteRevision) == 0 and count(RfqQuestion) == 0


def test_a_new_quote_after_the_deadline_is_refused(world, rfq_id):
    actor = world.user("sales@nordwind")
    with as_org(world.nordwind), pytest.raises(InvalidTransition, match="deadline"):
        quotes.start_quote(quotes.invitation_for(rfq_id), actor, now=AFTER)
    assert count(Quote) == 0


def test_revise_until_the_deadline_keeps_every_revision(world, rfq_id):
    quote_id = submitted(world, rfq_id)
    actor = world.user("sales@nordwind")
    with as_org(world.nordwind):
        quote = db.session.get(Quote, quote_id)
        with pytest.raises(InvalidTransition, match="revision"):
            quotes.save_draft(quote, actor, now=BEFORE)
        db.session.rollback()
        quote = db.session.get(Quote, quote_id)
        quotes.revise(quote, actor, supplier_reference="OF/2026/118-A", valid_until=VALID,
                      lines=prices(quote, "2.80", "185", "7"), now=BEFORE + timedelta(days=2))
        db.session.commit()
        assert quote.revision == 2
        assert [r.snapshot["lines"][0]["unit_price"] for r in quote.revisions] == ["2.9500", "2.8000"]
    with as_system():
        assert db.session.scalar(select(func.count(AuditEvent.id)).where(
            AuditEvent.action == "quote.revised")) == 1


def test_attachments_follow_the_requisition_rules(world, rfq_id):
    actor = world.user("sales@nordwind")
    with as_org(world.nordwind):
        quote = draft(world, rfq_id)
        made = quotes.add_attachment(quote, actor, filename="oferta.pdf", content_type="application/pdf",
                                     data=b"%PDF-1.4", now=BEFORE)
        assert made.content_type == "application/pdf"
        with pytest.raises(QuoteProblem, match="type"):
            quotes.add_attachment(quote, actor, filename="virus.exe", content_type="application/x",
                                  data=b"MZ", now=BEFORE)
        with pytest.raises(QuoteProblem, match="larger"):
            quotes.add_attachment(quote, actor, filename="big.pdf", content_type="application/pdf",
                                  data=b"0" * (10 * 1024 * 1024 + 1), now=BEFORE)
        db.session.commit()
    assert count(QuoteAttachment) == 1


# ---------------------------------------------------------------- decline, amendments, questions


def test_decline_needs_a_reason_and_is_only_before_a_quote(world, rfq_id):
    actor = world.user("sales@polbud")
    with as_org(world.polbud):
        invitation = quotes.invitation_for(rfq_id)
        with pytest.raises(QuoteProblem, match="why"):
            quotes.decline(invitation, actor, reason="  ", now=BEFORE)
        quotes.decline(invitation, actor, reason="Brak mocy produkcyjnych w styczniu.", now=BEFORE)
        db.session.commit()
        assert invitation.status == InvitationStatus.DECLINED
    with as_org(world.acme):
        found = {r.supplier_name: r for r in quotes.responses(supplier_rfq(rfq_id))}
        assert found["Polbud"].decline_reason.startswith("Brak mocy")
    submitted(world, rfq_id)
    nordwind = world.user("sales@nordwind")
    with as_org(world.nordwind), pytest.raises(InvalidTransition, match="before you submit"):
        quotes.decline(quotes.invitation_for(rfq_id), nordwind, reason="x", now=BEFORE)


def test_a_supplier_who_declined_may_still_quote_before_the_deadline(world, rfq_id):
    actor = world.user("sales@polbud")
    with as_org(world.polbud):
        quotes.decline(quotes.invitation_for(rfq_id), actor, reason="Nie teraz.", now=BEFORE)
        db.session.commit()
    submitted(world, rfq_id, "sales@polbud")
    with as_org(world.polbud):
        invitation = quotes.invitation_for(rfq_id)
        assert invitation.status == InvitationStatus.QUOTED and invitation.decline_reason == ""


def test_confirm_amendment_only_when_the_rfq_changed(world, rfq_id):
    quote_id = submitted(world, rfq_id)
    actor = world.user("sales@nordwind")
    with as_org(world.nordwind):
        quote = db.session.get(Quote, quote_id)
        with pytest.raises(InvalidTransition, match="already answers"):
            quotes.confirm_amendment(quote, actor, now=BEFORE)
        db.session.rollback()
    amend(world, rfq_id)
    with as_org(world.nordwind):
        quote = db.session.get(Quote, quote_id)
        assert quotes.needs_confirmation(quote)
        quotes.confirm_amendment(quote, actor, now=BEFORE + timedelta(hours=3))
        db.session.commit()
        assert quote.amendment == 1 and quote.invitation.seen_amendment == 1
        assert not quotes.needs_confirmation(quote)


def test_ask_question_reaches_the_buyer_and_only_the_asker_reads_it(world, rfq_id):
    actor = world.user("sales@nordwind")
    with as_org(world.nordwind):
        with pytest.raises(QuoteProblem):
            quotes.ask_question(supplier_rfq(rfq_id), actor, body=" ", now=BEFORE)
        quotes.ask_question(supplier_rfq(rfq_id), actor, body="Czy dopuszczacie 6204-ZZ?", now=BEFORE)
        db.session.commit()
        assert [q.body for q in quotes.own_questions(supplier_rfq(rfq_id))] == ["Czy dopuszczacie 6204-ZZ?"]
    with as_org(world.polbud):
        assert quotes.own_questions(supplier_rfq(rfq_id)) == []
    with as_system():
        told = db.session.scalars(select(Notification).where(
            Notification.organization_id == world.acme.id)).all()
        assert any("asked a question" in n.message["id"] for n in told)


def test_a_blocked_supplier_reads_but_cannot_quote(world, rfq_id):
    from portal.services import suppliers
    from tests.services.sourcing_fixtures import link_of

    admin = world.user("admin@acme")
    with as_org(world.acme):
        suppliers.block(link_of(world.acme, world.nordwind), actor=admin, comment="Przegląd")
        db.session.commit()
    actor = world.user("sales@nordwind")
    with as_org(world.nordwind):
        invitation = quotes.invitation_for(rfq_id)
        assert invitation is not None
        with pytest.raises(InvalidTransition, match="paused"):
            quotes.start_quote(invitation, actor, now=BEFORE)


# ---------------------------------------------------------------- the supplier's list


def test_supplier_tabs_sort_and_split_rfqs(world):
    soon = published_rfq(world, title="Pilne", deadline=T0 + timedelta(days=2))
    later = published_rfq(world, title="Później")
    answered = published_rfq(world, title="Odpowiedziane")
    submitted(world, answered)
    with as_org(world.nordwind):
        page = quotes.supplier_rfq_page(world.nordwind.id, tab="to_answer", now=BEFORE)
        assert [i.rfq_id for i in page.items] == [soon, later]
        page = quotes.supplier_rfq_page(world.nordwind.id, tab="answered", now=BEFORE)
        assert [i.rfq_id for i in page.items] == [answered]
        page = quotes.supplier_rfq_page(world.nordwind.id, tab="closed", now=AFTER)
        assert {i.rfq_id for i in page.items} == {soon, later}
        assert quotes.tab_counts(world.nordwind.id, now=BEFORE)["to_answer"] == 2


# ---------------------------------------------------------------- the rules (portal/policies/quotes.py)


def test_quote_rules_per_role_and_state(world, rfq_id):
    from portal.policies import can

    sales = world.user("sales@nordwind")
    assert can(sales, "quotes.view") and can(sales, "quotes.edit") and can(sales, "quotes.ask")
    for buyer in ("buyer@acme", "admin@acme"):
        user = world.user(buyer)
        assert not any(can(user, action) for action in
                       ("quotes.view", "quotes.edit", "quotes.decline", "quotes.ask"))
    quote_id = submitted(world, rfq_id)
    with as_org(world.nordwind):
        invitation = quotes.invitation_for(rfq_id)
        quote = db.session.get(Quote, quote_id)
        assert can(sales, "quotes.edit", quote) and not can(sales, "quotes.decline", invitation)
        quote.invitation.status = InvitationStatus.LOST
        assert not can(sales, "quotes.edit", quote)
        db.session.rollback()
