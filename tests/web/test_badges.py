"""The polled badges (portal/blueprints/badges.py): a poll that sends the badge's ETag back is
answered `304 Not Modified` from one statement, without loading its user, for as long as the
session, the user, their roles and what the badge counts stay as they were; anything else goes to
the view, which answers as it always did (286 stops the polling of a signed-out poller)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import User
from portal.services import auth, notifications, users
from tests.conftest import as_system
from tests.kit import HX, as_acme, build_kit, count_queries, submit

APPROVALS, BELL = "/approvals/badge", "/notifications/badge"


@pytest.fixture
def kit(app, world):
    return build_kit(app, world)


def _etag(client, url: str) -> str:
    first = client.get(url, headers=HX)
    assert first.status_code == 200
    return first.headers["ETag"]


def _poll(client, url: str, etag: str):
    return client.get(url, headers={**HX, "If-None-Match": etag})


def _directives(response) -> set[str]:
    return {part.strip() for part in response.headers["Cache-Control"].split(",")}


def _change_user(user_id: int, **values) -> None:
    with as_system():
        user = db.session.scalars(select(User).where(User.id == user_id)).one()
        for name, value in values.items():
            setattr(user, name, value)
        db.session.commit()


def test_badge_with_its_etag_is_a_304_from_one_statement(kit, login_as, app):
    submit(app, kit, "150")  # a task waiting on the manager
    client = login_as(kit.manager)
    for url in (APPROVALS, BELL):
        etag = _etag(client, url)
        with count_queries() as statements:
            answer = _poll(client, url, etag)
        assert answer.status_code == 304 and answer.data == b"", url
        assert answer.headers["ETag"] == etag and _directives(answer) == {"private", "no-cache"}
        # the session's user and the badge's version in one statement: no User loaded, no count
        assert len(statements) == 1, statements
        assert "badge_versions" in statements[0] and "users.email" not in statements[0]
        # a proxy that compressed the badge made its ETag weak: still the same version
        assert _poll(client, url, f"W/{etag}").status_code == 304


def test_badge_may_be_kept_by_the_browser_only_and_pages_not_at_all(kit, login_as):
    client = login_as(kit.manager)
    assert _directives(client.get(APPROVALS, headers=HX)) == {"private", "no-cache"}
    assert _directives(client.get(BELL, headers=HX)) == {"private", "no-cache"}
    assert client.get("/").headers["Cache-Control"] == "no-store"


def test_badge_change_bumps_the_etag_and_shows_the_new_count(kit, login_as, app):
    client = login_as(kit.manager)
    etag = _etag(client, APPROVALS)
    submit(app, kit, "150", title="One more")
    changed = _poll(client, APPROVALS, etag)
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert 'data-testid="approvals-count">1<' in changed.text
    assert _poll(client, APPROVALS, changed.headers["ETag"]).status_code == 304

    bell = _etag(client, BELL)  # the approval request above is one unread notification
    with as_acme(app, kit):
        notifications.notify(kit.manager, "Hello", email=False)
    rung = _poll(client, BELL, bell)
    assert rung.status_code == 200 and 'data-testid="bell-count">2<' in rung.text


def test_badge_etag_follows_the_language(kit, login_as):
    client = login_as(kit.manager)
    etag = _etag(client, BELL)
    _change_user(kit.manager.id, locale="pl")
    again = _poll(client, BELL, etag)
    assert again.status_code == 200 and again.headers["ETag"] != etag
    assert "Powiadomienia" in again.text


@pytest.mark.parametrize("url", [APPROVALS, BELL])
def test_badge_etag_of_a_deactivated_user_gets_no_count(kit, login_as, url):
    client = login_as(kit.manager)
    etag = _etag(client, url)
    _change_user(kit.manager.id, is_active_flag=False)  # even with the session version kept
    assert _poll(client, url, etag).status_code == 286


@pytest.mark.parametrize("url", [APPROVALS, BELL])
def test_badge_etag_of_an_ended_session_gets_no_count(kit, login_as, app, url):
    client = login_as(kit.manager)
    etag = _etag(client, url)
    with as_acme(app, kit):
        auth.end_all_sessions(db.session.get(User, kit.manager.id))  # a password change, a logout
    assert _poll(client, url, etag).status_code == 286


def test_badge_etag_of_an_approver_without_the_role_gets_no_count(kit, login_as, app):
    client = login_as(kit.manager)
    etag = _etag(client, APPROVALS)
    with as_acme(app, kit):
        users.set_roles(db.session.get(User, kit.manager.id), ["buyer"], actor=kit.admin)
    assert _poll(client, APPROVALS, etag).status_code == 286


def test_badge_etag_is_nobody_elses(kit, world, login_as):
    etag = _etag(login_as(kit.manager), APPROVALS)
    other_company = _poll(login_as(world.user("approver@globex")), APPROVALS, etag)
    assert other_company.status_code == 200 and other_company.headers["ETag"] != etag
    assert _poll(login_as(world.user("sales@nordwind")), APPROVALS, etag).status_code == 286
    assert _poll(login_as(kit.buyer), APPROVALS, etag).status_code == 286
    bell = _etag(login_as(kit.manager), BELL)
    colleague = _poll(login_as(kit.cfo), BELL, bell)
    assert colleague.status_code == 200 and colleague.headers["ETag"] != bell


def test_badge_poll_signed_out_or_with_a_broken_session_gets_no_count(kit, login_as, client):
    etag = _etag(login_as(kit.manager), APPROVALS)
    assert _poll(client, APPROVALS, etag).status_code == 286
    client.set_cookie("session", "eyJfdXNlcl9pZCI6IjE6MSJ9.Z1Z1Z1.bm90LXNpZ25lZA")  # not ours
    assert _poll(client, APPROVALS, etag).status_code == 286
    for value in ("", "x", "1", ":", "1:2:3", "-1:1", "1:-1", "9" * 40 + ":1", " 1:1", "١:1"):
        with client.session_transaction() as session:
            session["_user_id"] = value
        assert _poll(client, APPROVALS, etag).status_code == 286, value


def test_badge_garbage_in_if_none_match_is_a_mismatch(kit, login_as):
    client = login_as(kit.manager)
    _etag(client, APPROVALS)
    for value in ('"', "W/", 'W/"', '"a", W/"b", ,', "x" * 5000, "é", '""'):
        answer = _poll(client, APPROVALS, value)
        assert answer.status_code == 200 and "ETag" in answer.headers, value
