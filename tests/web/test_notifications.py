"""In-app notifications (/notifications/) and their emails: the list (own only, unread first),
opening one marks it read, mark all read, the bell badge htmx refreshes, mail in the
recipient's language, and rows stored as message + parameters that read in each viewer's
language."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from flask_babel import force_locale, gettext
from sqlalchemy import select

from portal.domain.messages import N_, Link
from portal.extensions import db
from portal.models import Notification, User
from portal.models.base import utcnow
from portal.services import notifications
from tests.conftest import as_system
from tests.kit import (
    HX,
    as_acme,
    build_kit,
    count_queries,
    mails_to,
    notes,
    rows,
    submit,
)


@pytest.fixture
def kit(app, world):
    return build_kit(app, world)


def say(app, kit, user, text, *, link="/approvals/", minutes_ago=0, read=False) -> int:
    with time_machine.travel(utcnow() - timedelta(minutes=minutes_ago), tick=False), \
            as_acme(app, kit):
        note = notifications.notify(user, text, link=link, kind="test", email=False)
        db.session.flush()
        if read:
            notifications.mark_read(user, note.id)
        return note.id


def is_read(note_id) -> bool:
    db.session.expire_all()
    with as_system():
        return db.session.scalars(
            select(Notification.read_at).where(Notification.id == note_id)).one() is not None


def test_the_list_shows_my_notifications_unread_first_then_newest(kit, login_as, app):
    say(app, kit, kit.manager, "old and read", minutes_ago=30, read=True)
    say(app, kit, kit.manager, "older unread", minutes_ago=20)
    say(app, kit, kit.manager, "newest unread", minutes_ago=10)
    say(app, kit, kit.manager, "newest read", minutes_ago=1, read=True)
    say(app, kit, kit.cfo, "for the CFO only")
    page = login_as(kit.manager).get("/notifications/")
    assert page.status_code == 200
    html = page.text
    assert rows(html, "notification") == 4 and "for the CFO only" not in html
    texts = ("newest unread", "older unread", "newest read", "old and read")
    order = [html.index(t) for t in texts]
    assert order == sorted(order)
    assert "2 unread" in html and 'data-testid="read-all"' in html


def test_the_list_is_empty_at_first(kit, login_as):
    page = login_as(kit.buyer).get("/notifications/")
    assert page.status_code == 200 and "No notifications yet" in page.text


@pytest.mark.usefixtures("uncached_lists")
def test_the_list_paginates_with_constant_queries(kit, login_as, app):
    client = login_as(kit.manager)
    say(app, kit, kit.manager, "first")
    for i in range(60):  # more unread than a page: page 1 is read from the unread index alone
        say(app, kit, kit.manager, f"note {i}", read=i % 2 == 0)
    client.get("/notifications/")
    with count_queries() as few:
        first = client.get("/notifications/").text
    assert rows(first, "notification") == app.config["PAGE_SIZE"]
    for i in range(120):
        say(app, kit, kit.manager, f"more {i}", read=i % 3 == 0)
    with count_queries() as many:
        assert rows(client.get("/notifications/").text, "notification") == app.config["PAGE_SIZE"]
    assert len(many) == len(few)
    # The next page by cursor (an old ?page=2 link shows the first page, as on every list).
    older = re.search(r'<a href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    assert "cursor=" in older
    assert rows(client.get(older).text, "notification") == app.config["PAGE_SIZE"]
    assert client.get("/notifications/?page=2").text.count("more 119") == 1


def test_opening_a_notification_marks_it_read_and_follows_its_link(kit, login_as, app):
    note = say(app, kit, kit.manager, "look here", link="/approvals/delegations")
    client = login_as(kit.manager)
    response = client.post(f"/notifications/{note}/open")
    assert response.status_code == 302 and response.headers["Location"].endswith(
        "/approvals/delegations")
    assert is_read(note)


def test_a_foreign_link_is_never_followed(kit, login_as, app):
    note = say(app, kit, kit.manager, "odd", link="https://evil.example/")
    response = login_as(kit.manager).post(f"/notifications/{note}/open")
    assert response.status_code == 302 and "evil" not in response.headers["Location"]


def test_someone_elses_notification_is_404_and_stays_unread(kit, login_as, app, world):
    note = say(app, kit, kit.manager, "private")
    assert login_as(kit.cfo).post(f"/notifications/{note}/open").status_code == 404
    stranger = login_as(world.user("admin@globex"))
    assert stranger.post(f"/notifications/{note}/open").status_code == 404
    assert not is_read(note)


def test_mark_all_read(kit, login_as, app):
    mine = [say(app, kit, kit.manager, f"n{i}") for i in range(3)]
    theirs = say(app, kit, kit.cfo, "the CFO's")
    client = login_as(kit.manager)
    assert client.post("/notifications/read").status_code == 302
    assert all(is_read(n) for n in mine) and not is_read(theirs)
    page = client.get("/notifications/").text
    assert "3 notifications marked read." in page and "You are all caught up." in page


def test_the_bell_shows_the_unread_count_and_refreshes_itself(kit, login_as, app, client):
    client_m = login_as(kit.manager)
    page = client_m.get("/").text
    assert 'hx-get="/notifications/badge"' in page and 'hx-trigger="load, every 60s"' in page
    empty = client_m.get("/notifications/badge", headers=HX)
    assert empty.status_code == 200 and "<html" not in empty.text
    assert 'data-testid="bell"' in empty.text and 'data-testid="bell-count"' not in empty.text
    for i in range(3):
        say(app, kit, kit.manager, f"n{i}")
    say(app, kit, kit.cfo, "not mine")
    badge = client_m.get("/notifications/badge", headers=HX).text
    assert '<span class="bell-count" data-testid="bell-count">3</span>' in badge
    assert client.get("/notifications/badge", headers=HX).status_code == 286  # signed out


# ---------------------------------------------------------------- what is notified, and mailed


def test_submit_notifies_the_approver_and_each_decision_the_requester(kit, login_as, app):
    ids = submit(app, kit, "500")
    (asked,) = notes(kit.manager, "approval.requested")
    assert ids["number"] in asked.text and asked.link == f"/requisitions/{ids['req']}"
    (mail,) = mails_to(kit.manager)
    assert ids["number"] in mail["Subject"]
    login_as(kit.manager).post(f"/approvals/tasks/{ids['task']}/decide",
                               data={"decision": "approve"})
    (done,) = notes(kit.buyer, "requisition.approved")
    assert ids["number"] in done.text
    assert [m["Subject"] for m in mails_to(kit.buyer)] == [done.text]


def test_mail_is_in_the_recipients_language(kit, app):
    with as_system():
        manager = db.session.scalars(select(User).where(User.id == kit.manager.id)).one()
        manager.locale = "pl"
        db.session.commit()
    ids = submit(app, kit, "500")
    (mail,) = mails_to(kit.manager)
    with app.test_request_context(), force_locale("pl"):
        expected = gettext(
            "%(number)s “%(title)s” (%(amount)s) awaits your approval: %(step)s",
            number=ids["number"], title="Laptopy dla działu IT", amount="500,00\xa0zł",
            step="Cost centre manager")
    assert mail["Subject"] == expected
    (note,) = notes(kit.manager, "approval.requested")
    assert note.text == expected


# ---------------------------------------------------------------- stored as message + parameters


def set_locale(user, locale):
    with as_system():
        db.session.scalars(select(User).where(User.id == user.id)).one().locale = locale
        db.session.commit()


def test_the_same_row_reads_in_the_viewers_language_and_formats(kit, login_as, app):
    with as_acme(app, kit):
        notifications.notify(
            kit.manager, N_("%(number)s “%(title)s” (%(amount)s %(currency)s) awaits your approval: %(step)s"),
            link=Link("approvals.inbox"), kind="test", email=False, number="REQ-2026-00042",
            title="Laptops", amount=Decimal("1234.5"), currency="PLN", step="CFO")
        notifications.notify(
            kit.manager, N_("%(name)s delegated their approvals to you from %(start)s to %(end)s."),
            kind="test", email=False, name="Ewa", start=date(2026, 11, 22), end=date(2026, 12, 1))
    client = login_as(kit.manager)
    english = client.get("/notifications/").text
    assert "REQ-2026-00042 “Laptops” (1,234.50\xa0PLN) awaits your approval: CFO" in english
    assert "Ewa delegated their approvals to you from 22 Nov 2026 to 1 Dec 2026." in english
    set_locale(kit.manager, "pl")
    polish = client.get("/notifications/").text
    # Stored with a bare amount and a currency (as rows were before amounts were typed): read as
    # money, "zł" like every other Polish amount.
    assert "REQ-2026-00042 „Laptops” (1\xa0234,50\xa0zł) czeka na Twoją akceptację: CFO" in polish
    assert "Ewa wyznacza Cię na zastępcę w akceptacjach od 22 lis 2026 do 1 gru 2026." in polish
    with as_system():
        (row,) = db.session.scalars(select(Notification).where(
            Notification.kind == "test", Notification.target.is_not(None))).all()
    assert row.message["params"]["amount"] == {"$t": "decimal", "v": "1234.5"}
    assert row.target == {"endpoint": "approvals.inbox", "params": {}}
    opened = client.post(f"/notifications/{row.id}/open")
    assert opened.status_code == 302 and opened.headers["Location"].endswith("/approvals/")


def test_rows_from_before_messages_were_stored_still_read(kit, login_as, app):
    """What the migration makes of an old row: its rendered text as a message without
    parameters, its link as a path."""
    with as_system():
        db.session.add(Notification(organization_id=kit.org.id, user_id=kit.manager.id, kind="old",
                                    message={"id": "Stary tekst: 50% gotowe", "params": {}},
                                    target={"url": "/approvals/delegations"}))
        db.session.commit()
        note_id = db.session.scalars(select(Notification.id).where(Notification.kind == "old")).one()
    client = login_as(kit.manager)
    assert "Stary tekst: 50% gotowe" in client.get("/notifications/").text
    assert client.post(f"/notifications/{note_id}/open").headers["Location"].endswith("/approvals/delegations")
