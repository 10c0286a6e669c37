"""Deciding from the link in a notification email (/approvals/decide/<token>): sign-in first,
a page with one confirmation click (GET changes nothing), single use, 72 hours, tenant-bound."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import pytest
import time_machine
from sqlalchemy import select

from portal.domain.requisition import RequisitionStatus
from portal.extensions import db
from portal.models import DecisionToken
from portal.models.base import utcnow
from portal.services.tokens import hash_token
from tests.conftest import as_system
from tests.kit import PASSWORD, build_kit, decision_token, events, requisition, submit

S = RequisitionStatus


@pytest.fixture
def kit(app, world):
    return build_kit(app, world)


@pytest.fixture
def link(app, kit):
    """A 500 PLN requisition awaiting the IT manager, and the link mailed to him."""
    ids = submit(app, kit, "500")
    return {**ids, "url": f"/approvals/decide/{decision_token(kit.manager)}"}


def token_row(url: str) -> DecisionToken:
    db.session.expire_all()
    with as_system():
        return db.session.scalars(
            select(DecisionToken)
            .where(DecisionToken.token_hash == hash_token(url.rsplit("/", 1)[1]))
        ).one()


def test_the_email_carries_a_decision_link_to_the_assignee(kit, link):
    row = token_row(link["url"])
    assert row.used_at is None
    assert timedelta(hours=71) < row.expires_at - utcnow() <= timedelta(hours=72)


def test_the_link_needs_sign_in_and_brings_the_user_back(kit, link, client):
    response = client.get(link["url"])
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    assert quote(link["url"], safe="") in response.headers["Location"]
    signed_in = client.post("/login", data={"email": kit.manager.email, "password": PASSWORD,
                                            "next": link["url"]})
    assert signed_in.status_code == 302 and signed_in.headers["Location"].endswith(link["url"])
    page = client.get(link["url"])
    assert page.status_code == 200 and link["number"] in page.text


def test_get_shows_the_requisition_and_changes_nothing(kit, link, login_as):
    client = login_as(kit.manager)
    for _ in range(2):
        page = client.get(link["url"])
        assert page.status_code == 200
    assert link["number"] in page.text and "Bartosz Nowak" in page.text
    assert 'data-testid="decide-form"' in page.text and f'action="{link["url"]}"' in page.text
    assert requisition(link["req"]).status == S.PENDING
    assert token_row(link["url"]).used_at is None
    assert events(link["req"], "approval.approved") == []


def test_one_click_approves_and_the_link_is_then_used(kit, link, login_as):
    client = login_as(kit.manager)
    response = client.post(link["url"], data={"decision": "approve", "comment": "Z maila"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/requisitions/{link['req']}")
    assert requisition(link["req"]).status == S.APPROVED
    assert token_row(link["url"]).used_at is not None
    (event,) = events(link["req"], "approval.approved")
    assert event.comment == "Z maila" and event.actor_id == kit.manager.id
    again = client.get(link["url"])
    assert again.status_code == 410 and 'data-testid="link-gone"' in again.text
    assert client.post(link["url"], data={"decision": "reject", "comment": "x"}).status_code == 410
    assert requisition(link["req"]).status == S.APPROVED


def test_reject_without_a_comment_is_422_and_the_link_still_works(kit, link, login_as):
    client = login_as(kit.manager)
    refused = client.post(link["url"], data={"decision": "reject", "comment": ""})
    assert refused.status_code == 422 and "Say why in a comment" in refused.text
    assert token_row(link["url"]).used_at is None
    assert requisition(link["req"]).status == S.PENDING
    done = client.post(link["url"], data={"decision": "reject", "comment": "Brak budżetu"})
    assert done.status_code == 302
    assert requisition(link["req"]).status == S.REJECTED


def test_the_link_expires_after_72_hours(kit, link, login_as):
    # Signed in afresh each time: the session itself lasts 12 hours.
    with time_machine.travel(utcnow() + timedelta(hours=71), tick=False):
        assert login_as(kit.manager).get(link["url"]).status_code == 200
    with time_machine.travel(utcnow() + timedelta(hours=72, minutes=1), tick=False):
        client = login_as(kit.manager)
        gone = client.get(link["url"])
        assert gone.status_code == 410 and "expired or was already used" in gone.text
        assert client.post(link["url"], data={"decision": "approve"}).status_code == 410
    assert requisition(link["req"]).status == S.PENDING


def test_another_companys_link_is_404(kit, link, login_as, world):
    other = login_as(world.user("approver@globex"))
    assert other.get(link["url"]).status_code == 404
    assert other.post(link["url"], data={"decision": "approve"}).status_code == 404
    assert login_as(kit.manager).get("/approvals/decide/not-a-token").status_code == 404
    assert requisition(link["req"]).status == S.PENDING


def test_a_colleague_holding_the_link_cannot_use_it(kit, link, login_as):
    cfo = login_as(kit.cfo)
    page = cfo.get(link["url"])
    assert page.status_code == 403 and "sent to someone else" in page.text
    assert cfo.post(link["url"], data={"decision": "approve"}).status_code == 403
    assert token_row(link["url"]).used_at is None
    assert requisition(link["req"]).status == S.PENDING


def test_a_step_decided_in_the_inbox_leaves_the_link_with_nothing_to_do(kit, link, login_as):
    client = login_as(kit.manager)
    task_url = f"/approvals/tasks/{link['task']}/decide"
    assert client.post(task_url, data={"decision": "approve"}).status_code == 302
    page = client.get(link["url"])
    assert page.status_code == 410 and "no longer open" in page.text
