"""Delegation (/approvals/delegations): naming a delegate for a date range, the delegate
deciding in one's place with both names in the trail, ending it, and periods that give no
power (over, not yet begun, revoked)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from portal.domain.requisition import RequisitionStatus
from portal.extensions import db
from portal.models import AuditEvent, Delegation
from portal.models.base import utcnow
from portal.services import approvals
from tests.conftest import as_system
from tests.kit import (
    as_acme,
    build_kit,
    events,
    mails_to,
    notes,
    requisition,
    rows,
    submit,
    task,
)

S = RequisitionStatus


@pytest.fixture
def kit(app, world):
    return build_kit(app, world)


def today():
    return utcnow().date()


def delegations_of(user) -> list[Delegation]:
    db.session.expire_all()
    with as_system():
        return list(db.session.scalars(select(Delegation).where(Delegation.user_id == user.id)))


def cfo_step(app, kit) -> dict:
    """A 20 000 PLN requisition whose manager step is approved: the CFO's step is active."""
    ids = submit(app, kit, "20000")
    with as_acme(app, kit):
        approvals.decide(task(ids["task"]), kit.manager, "approve")
    with as_system():
        req = requisition(ids["req"])
        tasks = approvals.tasks_of(req, req.approval_round)
        (pending,) = [t for t in tasks if t.status == "pending"]
        ids["cfo_task"] = pending.id
    return ids


def delegate(app, kit, start, end, *, to=None):
    with as_acme(app, kit):
        approvals.create_delegation(kit.cfo, to or kit.approver, start, end, today=start)


def form(delegate_id, start, end):
    return {"delegate": delegate_id, "starts_on": start.isoformat(), "ends_on": end.isoformat()}


def test_the_page_offers_active_approvers_and_admins_but_not_me(kit, login_as):
    page = login_as(kit.cfo).get("/approvals/delegations")
    assert page.status_code == 200
    select_html = page.text[page.text.index('name="delegate"'):]
    select_html = select_html[:select_html.index("</select>")]
    for person in (kit.approver, kit.manager, kit.ceo, kit.admin):
        assert f'value="{person.id}"' in select_html
    for person in (kit.cfo, kit.buyer):
        assert f'value="{person.id}"' not in select_html
    assert "No delegations" in page.text


def test_delegations_need_an_approver_or_admin(kit, login_as):
    assert login_as(kit.buyer).get("/approvals/delegations").status_code == 403
    assert login_as(kit.buyer).post("/approvals/delegations",
                                    data=form(kit.approver.id, today(), today())).status_code == 403


def test_creating_a_delegation_tells_the_delegate(kit, login_as):
    client = login_as(kit.cfo)
    response = client.post("/approvals/delegations",
                           data=form(kit.approver.id, today(), today() + timedelta(days=6)))
    assert response.status_code == 302
    page = client.get("/approvals/delegations").text
    assert 'data-testid="delegation-current"' in page and "Damian Zieliński" in page
    (created,) = delegations_of(kit.cfo)
    assert created.delegate_id == kit.approver.id and created.revoked_at is None
    (note,) = notes(kit.approver, "delegation")
    assert "Ewa Lewandowska" in note.text
    assert len(mails_to(kit.approver)) == 1
    to_me = login_as(kit.approver).get("/approvals/delegations").text
    assert 'data-testid="delegation-to-me"' in to_me and "Ewa Lewandowska" in to_me


@pytest.mark.parametrize("data, message", [
    (lambda k: form(k.approver.id, today() + timedelta(days=3), today()), "must end on or after"),
    (lambda k: form(k.buyer.id, today(), today()), "must be an approver or an admin"),
    (lambda k: form(k.cfo.id, today(), today()), "cannot delegate to yourself"),
    (lambda k: form("", today(), today()), "Choose a delegate"),
    (lambda k: form(k.approver.id, today() - timedelta(days=5), today() - timedelta(days=1)),
     "already over"),
])
def test_invalid_delegations_are_422_and_save_nothing(kit, login_as, data, message):
    response = login_as(kit.cfo).post("/approvals/delegations", data=data(kit))
    assert response.status_code == 422 and message in response.text
    assert delegations_of(kit.cfo) == []


def test_a_delegate_of_another_company_is_refused(kit, login_as, world):
    stranger = world.user("approver@globex")
    response = login_as(kit.cfo).post("/approvals/delegations",
                                      data=form(stranger.id, today(), today()))
    assert response.status_code == 422 and delegations_of(kit.cfo) == []


def test_the_delegate_decides_and_the_trail_names_both(kit, login_as, app):
    ids = cfo_step(app, kit)
    delegate(app, kit, today(), today() + timedelta(days=2))
    client = login_as(kit.approver)
    inbox = client.get("/approvals/").text
    assert rows(inbox) == 1 and "on behalf of Ewa Lewandowska" in inbox
    assert "Ewa Lewandowska delegated their approvals to you" in inbox
    response = client.post(f"/approvals/tasks/{ids['cfo_task']}/decide",
                           data={"decision": "approve", "comment": "W zastępstwie"})
    assert response.status_code == 302
    assert requisition(ids["req"]).status == S.APPROVED
    (event,) = [e for e in events(ids["req"], "approval.approved") if e.actor_id == kit.approver.id]
    assert event.on_behalf_of_id == kit.cfo.id and event.comment == "W zastępstwie"
    timeline = login_as(kit.buyer).get(f"/requisitions/{ids['req']}").text
    assert "Damian Zieliński" in timeline and "for Ewa Lewandowska" in timeline


def test_an_expired_delegation_gives_no_power(kit, login_as, app):
    ids = cfo_step(app, kit)
    delegate(app, kit, today(), today() + timedelta(days=1))
    with time_machine.travel(utcnow() + timedelta(days=3), tick=False):
        client = login_as(kit.approver)
        assert rows(client.get("/approvals/").text) == 0
        refused = client.post(f"/approvals/tasks/{ids['cfo_task']}/decide",
                              data={"decision": "approve"})
        assert refused.status_code == 403
        page = client.get("/approvals/delegations").text
        assert "Nobody has delegated their approvals to you." in page
    assert requisition(ids["req"]).status == S.PENDING


def test_an_upcoming_delegation_gives_no_power_yet(kit, login_as, app):
    ids = cfo_step(app, kit)
    delegate(app, kit, today() + timedelta(days=2), today() + timedelta(days=4))
    client = login_as(kit.approver)
    assert rows(client.get("/approvals/").text) == 0
    assert client.post(f"/approvals/tasks/{ids['cfo_task']}/decide",
                       data={"decision": "approve"}).status_code == 403
    page = login_as(kit.cfo).get("/approvals/delegations").text
    assert 'data-testid="delegation-upcoming"' in page


def test_ending_a_delegation_takes_the_power_away_at_once(kit, login_as, app):
    ids = cfo_step(app, kit)
    delegate(app, kit, today(), today() + timedelta(days=5))
    (delegation,) = delegations_of(kit.cfo)
    # Only the person who delegated ends it; the delegate cannot.
    assert login_as(kit.approver).post(
        f"/approvals/delegations/{delegation.id}/revoke").status_code == 403
    cfo = login_as(kit.cfo)
    assert cfo.post(f"/approvals/delegations/{delegation.id}/revoke").status_code == 302
    assert delegations_of(kit.cfo)[0].revoked_at is not None
    assert "ended early" in cfo.get("/approvals/delegations").text
    assert login_as(kit.approver).post(f"/approvals/tasks/{ids['cfo_task']}/decide",
                                       data={"decision": "approve"}).status_code == 403
    with as_system():
        revoked = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "delegation.revoked")).all()
    assert len(revoked) == 1 and revoked[0].actor_id == kit.cfo.id


def test_another_companys_delegation_is_404(kit, login_as, app, world):
    delegate(app, kit, today(), today() + timedelta(days=5))
    (delegation,) = delegations_of(kit.cfo)
    other = login_as(world.user("admin@globex"))
    assert other.post(f"/approvals/delegations/{delegation.id}/revoke").status_code == 404
    assert delegations_of(kit.cfo)[0].revoked_at is None
