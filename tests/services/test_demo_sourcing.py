"""The demo world's sourcing (portal/services/demo_sourcing.py, issue 10 point 10): RFQs in
every state for both companies, who is invited by whom, the sealed RFQ's draft out of the
buyer's sight, orders in every state, and a budget ledger that adds up."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from portal.domain.budget import EntryKind
from portal.domain.requisition import RequisitionStatus
from portal.extensions import db
from portal.models import BudgetEntry, Requisition, RequisitionLine
from portal.models.base import utcnow
from portal.models.order import OrderSource, OrderStatus, PurchaseOrder, PurchaseOrderLine
from portal.models.rfq import (
    InvitationStatus,
    Quote,
    QuoteStatus,
    Rfq,
    RfqAward,
    RfqInvitation,
    RfqStatus,
)
from portal.services.demo import seed_demo
from portal.tenancy import system
from tests.conftest import World
from tests.kit import acting_for

ALL_STATES = set(RfqStatus)


@pytest.fixture
def demo(app, world, monkeypatch) -> World:
    # The sourcing documents alone: the invoicing demo (tests/services/test_demo_invoicing.py)
    # adds received orders of its own after them.
    monkeypatch.setattr("portal.services.demo.seed_invoicing", lambda world: None)
    with system(db.session):
        built = seed_demo()
        db.session.commit()
    return World(orgs=built["orgs"], users=built["users"])


def _rfqs(org) -> list[Rfq]:
    with system(db.session):
        return list(db.session.scalars(
            select(Rfq).where(Rfq.organization_id == org.id).order_by(Rfq.id)))


def _invited(rfq) -> dict[int, RfqInvitation]:
    return {inv.supplier_id: inv for inv in rfq.invitations}


def _quotes(rfq) -> dict[int, Quote]:
    return {q.supplier_id: q for q in db.session.scalars(select(Quote).where(Quote.rfq_id == rfq.id))}


def _orders(org) -> list[PurchaseOrder]:
    return list(db.session.scalars(
        select(PurchaseOrder).where(PurchaseOrder.organization_id == org.id).order_by(PurchaseOrder.id)))


def test_every_rfq_state_for_both_companies_and_who_is_invited(demo):
    for org in (demo.acme, demo.globex):
        assert {r.status for r in _rfqs(org)} == ALL_STATES, org.name
    with system(db.session):
        acme_invited = {s for r in _rfqs(demo.acme) for s in _invited(r)}
        globex_invited = {s for r in _rfqs(demo.globex) for s in _invited(r)}
    assert {demo.nordwind.id, demo.polbud.id, demo.tatra.id} <= acme_invited
    assert demo.nordwind.id in globex_invited
    assert demo.polbud.id not in globex_invited  # Polbud works for Acme only
    with system(db.session):
        for rfq in _rfqs(demo.acme) + _rfqs(demo.globex):
            if rfq.status != RfqStatus.DRAFT:
                assert rfq.invitations and rfq.lines and rfq.deadline, rfq.number
            if rfq.status == RfqStatus.CANCELLED:
                assert rfq.cancel_reason, rfq.number
        declined = [i for r in _rfqs(demo.globex) for i in r.invitations
                    if i.status == InvitationStatus.DECLINED]
        assert declined and all(i.decline_reason for i in declined)


def test_the_sealed_open_rfq_hides_polbuds_draft_from_acme(app, demo):
    from portal.services.sourcing import quotes as reads

    now = utcnow()
    nordwind, polbud = demo.nordwind.id, demo.polbud.id
    with system(db.session):
        (rfq,) = [r for r in _rfqs(demo.acme) if r.status == RfqStatus.OPEN and r.sealed]
        assert rfq.deadline > now
        quotes = _quotes(rfq)
        assert quotes[polbud].status == QuoteStatus.DRAFT
        assert quotes[nordwind].status == QuoteStatus.SUBMITTED
        rfq_id = rfq.id
    db.session.remove()
    with acting_for(demo.acme):
        rfq = db.session.get(Rfq, rfq_id)
        answers = {r.supplier_id: r for r in reads.responses(rfq)}
        assert answers[polbud].status == InvitationStatus.INVITED
        assert (answers[polbud].revisions, answers[polbud].responded_at) == (0, None)
        assert answers[nordwind].status == InvitationStatus.QUOTED
        with pytest.raises(reads.SealedQuotes):
            reads.submitted_quotes(rfq)
        with pytest.raises(reads.SealedQuotes):  # not even once the deadline passed: not opened
            reads.submitted_quotes(rfq, now=rfq.deadline + timedelta(hours=1))


def test_a_closed_rfq_with_three_quotes_is_ready_to_compare(app, demo):
    from portal.services.sourcing import award
    from portal.services.sourcing import quotes as reads

    suppliers = {demo.nordwind.id, demo.polbud.id, demo.tatra.id}
    with system(db.session):
        ready = [r for r in _rfqs(demo.acme) if r.status == RfqStatus.CLOSED]
        rfq_id = next(r.id for r in ready if len(_quotes(r)) == 3)
    db.session.remove()
    with acting_for(demo.acme):
        rfq = db.session.get(Rfq, rfq_id)
        assert rfq.opened_at is not None
        offered = reads.submitted_quotes(rfq)
        assert {q.supplier_id for q in offered} == suppliers
        assert all(line.unit_price for q in offered for line in q.lines)
        assert max(q.revision for q in offered) == 2  # one supplier revised its quote
        matrix = award.comparison(rfq)
        assert len(matrix.columns) == 3 and len(matrix.rows) == len(rfq.lines)


def test_awards_per_line_make_two_orders_and_orders_are_in_every_state(demo):
    with system(db.session):
        for org in (demo.acme, demo.globex):
            (awarded,) = [r for r in _rfqs(org) if r.status == RfqStatus.AWARDED]
            orders = [o for o in _orders(org) if o.rfq_id == awarded.id]
            assert len(orders) == 2, org.name
            awards = db.session.scalars(select(RfqAward).where(RfqAward.rfq_id == awarded.id)).all()
            assert len(awards) == len(awarded.lines)
            assert {q.status for q in _quotes(awarded).values()} <= {QuoteStatus.AWARDED, QuoteStatus.LOST}
        acme, globex = _orders(demo.acme), _orders(demo.globex)
        orders = acme + globex
        assert {o.status for o in acme} == {OrderStatus.ACKNOWLEDGED, OrderStatus.PARTIALLY_RECEIVED,
                                            OrderStatus.RECEIVED}
        assert {o.status for o in globex} == {OrderStatus.ISSUED}
        proposed = [o for o in globex if o.proposed_delivery_date]
        assert len(proposed) == 1 and proposed[0].proposal_note
        direct = [o for o in orders if o.source == OrderSource.AGREEMENT]
        assert len(direct) == 1 and direct[0].rfq_id is None
        assert all(o.documents for o in orders)  # every order has its stored PDF
        numbers = sorted(o.number for o in _orders(demo.acme))
        assert numbers[0].startswith("PO/") and numbers[0].endswith("00001")


def test_requisitions_follow_their_rfqs_and_orders(demo):
    S = RequisitionStatus
    with system(db.session):
        by_title = {r.title: r for r in db.session.scalars(select(Requisition))}
    assert by_title["Kawa i artykuły do kuchni"].status == S.ORDERED  # partly received
    assert by_title["Farba proszkowa RAL 7035"].status == S.SOURCING
    assert by_title["Regały paletowe do magazynu"].status == S.SOURCING
    assert by_title["Laptops for the sales team"].status == S.ORDERED
    assert by_title["Olej hydrauliczny do prasy krawędziowej"].status == S.ORDERED
    # One approved requisition left at each company for a newcomer to take further: an RFQ at
    # Acme, an order straight from the agreements at Globex.
    assert by_title["Licencje Microsoft 365 na 2027 rok"].status == S.APPROVED
    parcels = by_title["Courier parcels for December"]
    assert parcels.status == S.APPROVED
    with system(db.session):
        from portal.services.orders import direct

        assert direct.agreement_coverage(parcels).complete


def test_order_commitments_add_up_to_the_cent(demo):
    """Each order holds in the ledger exactly what it says it committed; each fully ordered
    requisition holds no reservation any more; every budget's counter equals its ledger."""
    with system(db.session):
        orders = db.session.scalars(select(PurchaseOrder)).all()
        committed_orders = [o for o in orders if o.budget_id is not None]
        assert len(committed_orders) >= 4
        for order in committed_orders:
            ledger = db.session.scalar(select(func.sum(BudgetEntry.amount)).where(
                BudgetEntry.source_type == "PurchaseOrder", BudgetEntry.source_id == order.id,
                BudgetEntry.kind == EntryKind.COMMIT))
            assert ledger == order.committed == order.net_total, order.number
        ordered_reqs = set(db.session.scalars(
            select(RequisitionLine.requisition_id)
            .join(PurchaseOrderLine, PurchaseOrderLine.requisition_line_id == RequisitionLine.id)))
        for req_id in ordered_reqs:
            held = db.session.scalar(select(func.sum(BudgetEntry.amount)).where(
                BudgetEntry.source_type == "Requisition", BudgetEntry.source_id == req_id,
                BudgetEntry.kind.in_([EntryKind.RESERVE, EntryKind.RELEASE])))
            assert (held or Decimal("0")) == Decimal("0.00"), req_id
        from portal.models import Budget

        for budget in db.session.scalars(select(Budget)):
            ledger = db.session.scalar(select(func.sum(BudgetEntry.amount)).where(
                BudgetEntry.budget_id == budget.id))
            assert budget.consumed == (ledger or Decimal("0.00")), budget.name


def test_seeding_again_adds_no_sourcing(demo):
    with system(db.session):
        before = (db.session.scalar(select(func.count(Rfq.id))),
                  db.session.scalar(select(func.count(PurchaseOrder.id))))
        seed_demo()
        db.session.commit()
        after = (db.session.scalar(select(func.count(Rfq.id))),
                 db.session.scalar(select(func.count(PurchaseOrder.id))))
    assert after == before and before == (10, 5)


def test_price_list_proposals_open_and_decided_line_by_line(demo):
    """Nordwind's new prices wait for Acme's admin; Polbud's were decided: one price became an
    agreement, the other was rejected with the reason the supplier reads."""
    from portal.models import LineDecision, PriceAgreement, PriceProposal, ProposalStatus

    with acting_for(demo.acme):
        proposals = {p.supplier_id: p for p in db.session.scalars(select(PriceProposal))}
        open_one, decided = proposals[demo.nordwind.id], proposals[demo.polbud.id]
        assert open_one.status == ProposalStatus.OPEN
        assert {line.decision for line in open_one.lines} == {LineDecision.PENDING}
        assert decided.status == ProposalStatus.DECIDED
        by_sku = {line.sku: line for line in decided.lines}
        accepted, rejected = by_sku["MRO-OLEJ-HLP46"], by_sku["SRV-TRANSPORT"]
        assert accepted.decision == LineDecision.ACCEPTED and rejected.decision == LineDecision.REJECTED
        assert rejected.decision_reason
        made = db.session.get(PriceAgreement, accepted.agreement_id)
        assert made.unit_price == Decimal("285.00") and made.supplier_id == demo.polbud.id
