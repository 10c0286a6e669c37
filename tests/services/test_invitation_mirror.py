"""Each invitation carries its RFQ's status and deadline (the supplier's lists read them there,
from an index of their own): every service that changes either keeps the copies in step —
invite, publish, amend (new deadline), close (after the deadline and early), the sealed
opening, cancel, award, and the deadline job."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from portal.extensions import db
from portal.models import Rfq, RfqInvitation
from portal.models.rfq import RfqStatus
from portal.services.sourcing import quotes, rfqs
from tests.conftest import as_org, as_system
from tests.services.sourcing_fixtures import AFTER, BEFORE, DEADLINE, T0, open_sealed, published_rfq


def copies(rfq_id: int) -> set[tuple]:
    """(status, deadline) as copied on each invitation, and the RFQ's own, read fresh."""
    with as_system():
        db.session.expire_all()
        rfq = db.session.get(Rfq, rfq_id)
        found = {(inv.rfq_status, inv.rfq_deadline) for inv in db.session.scalars(
            select(RfqInvitation).where(RfqInvitation.rfq_id == rfq_id))}
        return found | {(rfq.status, rfq.deadline)}


def _act(world, rfq_id, action, buyer="buyer@acme"):
    actor = world.user(buyer)
    with as_org(actor.organization):
        action(db.session.get(Rfq, rfq_id), actor)
        db.session.commit()


def test_invite_and_publish_copy_the_status_and_deadline(world):
    rfq_id = published_rfq(world, publish=False)
    assert copies(rfq_id) == {(RfqStatus.DRAFT, None)}
    _act(world, rfq_id, lambda rfq, actor: rfqs.publish(rfq, actor, deadline=DEADLINE, now=T0))
    assert copies(rfq_id) == {(RfqStatus.OPEN, DEADLINE)}


def test_an_amendment_with_a_new_deadline_moves_every_copy(world):
    rfq_id = published_rfq(world)
    later = DEADLINE + timedelta(days=3)
    _act(world, rfq_id, lambda rfq, actor: rfqs.amend(rfq, actor, note="Więcej czasu.", now=BEFORE))
    assert copies(rfq_id) == {(RfqStatus.OPEN, DEADLINE)}
    _act(world, rfq_id, lambda rfq, actor: rfqs.amend(rfq, actor, note="Więcej czasu.", deadline=later,
                                                      now=BEFORE))
    assert copies(rfq_id) == {(RfqStatus.OPEN, later)}


def test_close_after_the_deadline_and_the_sealed_opening(world):
    rfq_id = published_rfq(world)
    _act(world, rfq_id, lambda rfq, actor: rfqs.close(rfq, actor, now=AFTER))
    assert copies(rfq_id) == {(RfqStatus.CLOSED, DEADLINE)}
    other = published_rfq(world)
    open_sealed(world, other)  # an open RFQ past its deadline: the opening records the close
    assert copies(other) == {(RfqStatus.CLOSED, DEADLINE)}


def test_an_early_close_once_everyone_answered(world):
    rfq_id = published_rfq(world, suppliers=("nordwind",))
    sales = world.user("sales@nordwind")
    with as_org(world.nordwind):
        quotes.decline(quotes.invitation_for(rfq_id), sales, reason="Brak mocy przerobowych.", now=BEFORE)
        db.session.commit()
    _act(world, rfq_id, lambda rfq, actor: rfqs.close(rfq, actor, now=BEFORE))
    assert copies(rfq_id) == {(RfqStatus.CLOSED, DEADLINE)}


def test_cancel(world):
    rfq_id = published_rfq(world)
    _act(world, rfq_id, lambda rfq, actor: rfqs.cancel(rfq, actor, reason="Zmiana planu.", now=BEFORE))
    assert copies(rfq_id) == {(RfqStatus.CANCELLED, DEADLINE)}


def test_the_deadline_job_closes_the_copies_too(world):
    from portal.jobs.deadlines import close_expired_rfqs

    rfq_id = published_rfq(world)
    close_expired_rfqs(now=AFTER)
    assert copies(rfq_id) == {(RfqStatus.CLOSED, DEADLINE)}


def test_award(world):
    from portal.services.sourcing import award as awarding
    from tests.services.award_fixtures import build_rfq, deadline_of

    built = build_rfq(world, suppliers=["Polbud", "Nordwind Supplies"])
    deadline = deadline_of(built)
    assert copies(built.rfq_id) == {(RfqStatus.CLOSED, deadline)}
    with as_org(world.acme):
        rfq = db.session.get(Rfq, built.rfq_id)
        awarding.award(rfq, world.user("buyer@acme"),
                       choices=dict.fromkeys(built.line_ids, built.quotes["Polbud"]),
                       reasons=dict.fromkeys(built.line_ids, "Jedna dostawa"))
        db.session.commit()
    assert copies(built.rfq_id) == {(RfqStatus.AWARDED, deadline)}
