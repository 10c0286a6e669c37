"""`flask seed-bench` writes what the services would: each RFQ invitation carries its RFQ's
status and deadline (the supplier's lists read them there), and Nordwind's price-list
proposals (the buyer's proposals list is a benchmark page) are whole, each with its line."""

from __future__ import annotations

from sqlalchemy import func, select, text

from portal.extensions import db
from portal.models import PriceAgreement, PriceProposal, User
from portal.models.price_proposal import LineDecision, ProposalStatus
from tests.conftest import as_system
from tests.test_seed_bench import _forget_statistics, _seed  # noqa: F401  (autouse fixture)


def test_seed_bench_copies_the_rfq_state_and_writes_whole_proposals(app, world, login_as):
    _seed(app, n=2400)
    with db.engine.connect() as conn:
        invitations, differing = conn.execute(text(
            "SELECT count(*), sum(CASE WHEN i.rfq_status = r.status AND (i.rfq_deadline = r.deadline "
            "OR (i.rfq_deadline IS NULL AND r.deadline IS NULL)) THEN 0 ELSE 1 END) "
            "FROM rfq_invitations i JOIN rfqs r ON r.id = i.rfq_id")).one()
    assert invitations > 100 and differing == 0
    with as_system():
        proposals = db.session.scalars(select(PriceProposal).order_by(PriceProposal.id)).all()
        assert len(proposals) >= 3
        nordwind = world.user("sales@nordwind")
        for proposal in proposals:
            assert proposal.supplier_id == nordwind.organization_id
            assert db.session.get(User, proposal.submitted_by_id).organization_id == nordwind.organization_id
            assert proposal.status in set(ProposalStatus) and proposal.created_at <= proposal.updated_at
            [line] = proposal.lines
            agreement = db.session.get(PriceAgreement, line.current_agreement_id)
            assert agreement.item_id == line.item_id and agreement.link_id == proposal.link_id
            assert line.unit_price > 0 and line.current_price == agreement.unit_price
            assert line.decision == (LineDecision.REJECTED if proposal.status == ProposalStatus.DECIDED
                                     else LineDecision.PENDING)
        opened = db.session.scalar(select(func.count(PriceProposal.id)).where(
            PriceProposal.status == ProposalStatus.OPEN))
    page = login_as(world.user("admin@acme")).get("/agreements/proposals?status=all")
    assert page.status_code == 200
    assert page.text.count('data-testid="proposal-row"') == min(len(proposals), 50) and opened
