"""Telling another organisation's users something (portal.services.notifications.notify_organization)."""

from __future__ import annotations

from sqlalchemy import select

from portal.domain.messages import N_
from portal.extensions import db
from portal.models import Notification, OutboxMessage
from tests.conftest import as_org, as_system


def _notes_of(org):
    with as_system():
        return db.session.scalars(select(Notification).where(Notification.organization_id == org.id)).all()


def test_a_buyer_action_tells_every_active_user_of_the_supplier_in_their_organisation(world):
    from portal.services.notifications import notify_organization

    with as_org(world.acme):
        written = notify_organization(world.nordwind.id, N_("A new RFQ %(number)s waits for your quote."),
                                      number="RFQ-2026-00001", link="/supplier/rfqs/1")
        db.session.commit()
    assert written
    notes = _notes_of(world.nordwind)
    assert {n.user_id for n in notes} == {n.user_id for n in written}
    assert all(n.organization_id == world.nordwind.id for n in notes)
    with as_system():
        mails = db.session.scalars(select(OutboxMessage)).all()
    assert {m.payload["user_id"] for m in mails} >= {n.user_id for n in written}


def test_a_rolled_back_action_tells_nobody(world):
    from portal.services.notifications import notify_organization

    with as_org(world.acme):
        notify_organization(world.nordwind.id, N_("A new RFQ %(number)s waits for your quote."),
                            number="RFQ-2026-00002")
        db.session.rollback()
    assert _notes_of(world.nordwind) == []
    with as_system():
        assert db.session.scalars(select(OutboxMessage)).all() == []


def test_roles_limit_the_recipients(world):
    from portal.services.notifications import notify_organization

    with as_org(world.acme):
        written = notify_organization(world.acme.id, N_("A new RFQ %(number)s waits for your quote."),
                                      roles=["admin"], number="X")
        db.session.commit()
    admins = [n.user_id for n in written]
    assert admins and world.user("admin@acme").id in admins
    assert world.user("buyer@acme").id not in admins
