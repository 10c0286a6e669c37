"""The list pages' cache (portal/blueprints/cache.py `cached_page`): a list page asked again is
the same page, worked out without reading the list again, until its organisation's data changes;
what is the request's own (its CSRF token, the menu, a one-time token) never comes from it; each
language, user and htmx fragment is kept apart."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import update

from portal.extensions import db
from portal.models import Notification, User
from portal.models.order import OrderStatus, PurchaseOrder
from portal.services import badges, notifications
from portal.services.orders import actions
from portal.tenancy import system
from tests.factories import acting_for
from tests.kit import count_queries
from tests.services.receiving_fixtures import make_order

BUYER, ADMIN, APPROVER, POLBUD = ("buyer@acme.example", "admin@acme.example", "approver@acme.example",
                                  "sales@polbud.example")
# Every list page kept (the bench's list pages), read as the user who has it.
PAGES = [
    (BUYER, "/requisitions/"), (ADMIN, "/requisitions/all"), (ADMIN, "/requisitions/all?status=pending"),
    (APPROVER, "/approvals/"), (BUYER, "/"), (APPROVER, "/"), (ADMIN, "/"), (ADMIN, "/budgets/"),
    (ADMIN, "/admin/audit"), (BUYER, "/catalog/"), (ADMIN, "/suppliers/"), (ADMIN, "/suppliers/invitations"),
    (APPROVER, "/notifications/"), (POLBUD, "/supplier/customers"), (ADMIN, "/agreements/"),
    (ADMIN, "/agreements/proposals"), (BUYER, "/rfqs/"), (POLBUD, "/supplier/rfqs"), (BUYER, "/orders/"),
    (POLBUD, "/supplier/orders"), (ADMIN, "/invoices/"), (ADMIN, "/invoices/?tab=all"), (ADMIN, "/invoices/aging"),
    (POLBUD, "/supplier/invoices?tab=all"), (POLBUD, "/supplier/invoices/aging"), (ADMIN, "/admin/api-tokens"),
    (ADMIN, "/admin/webhooks"),
]
_TOKEN = re.compile(r'(name="csrf_token"[^>]*value="|"X-CSRFToken": "|name="submission_token"[^>]*value=")[^"]+')
_ONCE = re.compile(r'name="submission_token"[^>]*value="([^"]+)')


def _same(html: str) -> str:
    """The page without its CSRF tokens (signed anew for every request) and one-time tokens."""
    return _TOKEN.sub(r"\1…", html)


def _reads(client, path: str, **kwargs) -> tuple[str, list[str]]:
    with count_queries() as statements:
        response = client.get(path, **kwargs)
    assert response.status_code == 200, (path, response.status_code)
    return response.text, statements


@pytest.mark.parametrize(("email", "path"), PAGES)
def test_a_list_page_asked_again_is_the_same_page_without_reading_the_list(world, login_as, email, path):
    make_order(world)
    client = login_as(world.user(email))
    first, _ = _reads(client, path)
    again, statements = _reads(client, path)
    assert _same(again) == _same(first)
    # Only who is asking is read (the session's user, with the data version), and the menu's badges.
    assert not [s for s in statements if "FROM users" not in s and "badge" not in s], statements


def test_the_other_sides_write_shows_at_once(world, login_as):
    made = make_order(world, status=OrderStatus.ISSUED)
    buyer = login_as(world.user(BUYER))
    before = buyer.get("/orders/").text
    seller = world.user(POLBUD)
    with acting_for(world.polbud):
        actions.acknowledge(db.session.get(PurchaseOrder, made.order_id), seller)
        db.session.commit()
    after = buyer.get("/orders/").text
    assert _same(after) != _same(before)
    supplier_page = login_as(seller).get("/supplier/orders?view=all").text
    assert made.number in supplier_page


def test_a_kept_page_has_new_one_time_tokens_every_time(world, login_as):
    client = login_as(world.user(BUYER))
    first = _ONCE.findall(client.get("/catalog/").text)
    again = _ONCE.findall(client.get("/catalog/").text)
    assert len(again) == len(first) > 1
    assert len(set(again)) == len(again) and not set(again) & set(first)


def test_each_request_gets_its_own_csrf_token_in_a_kept_page(world, login_as):
    client = login_as(world.user(APPROVER))
    client.get("/approvals/")
    page = client.get("/approvals/").text
    tokens = set(re.findall(r'(?:name="csrf_token"[^>]*value="|"X-CSRFToken": ")([^"]+)', page))
    assert len(tokens) == 1 and "\x02" not in page and "\x01" not in page


def test_languages_users_and_fragments_are_kept_apart(world, login_as):
    make_order(world)
    buyer = login_as(world.user(BUYER))
    polish = buyer.get("/orders/").text
    buyer.post("/language", data={"locale": "en"})
    english = buyer.get("/orders/").text
    assert "Purchase orders" in english and "Zamówienia zakupu" in polish
    fragment = buyer.get("/orders/", headers={"HX-Request": "true"}).text
    assert "<html" not in fragment and 'id="results"' in fragment
    assert "<html" in buyer.get("/orders/").text
    admin = login_as(world.user(ADMIN)).get("/orders/").text
    assert _same(admin) != _same(buyer.get("/orders/").text)  # the menu is the admin's


def test_nothing_is_kept_when_the_cache_is_off(world, login_as, app, monkeypatch):
    monkeypatch.setitem(app.config, "LIST_CACHE_BYTES", 0)
    app.extensions.pop("list_cache", None)
    client = login_as(world.user(BUYER))
    client.get("/orders/")
    _, statements = _reads(client, "/orders/")
    assert any("purchase_orders" in s for s in statements)


def test_a_bulk_update_shows_at_once(world, login_as):
    approver = world.user(APPROVER)
    with acting_for(world.acme):
        notifications.notify(approver, "Hello", email=False)
        db.session.commit()
    client = login_as(approver)
    unread = client.get("/notifications/").text
    with acting_for(world.acme):
        assert notifications.mark_read(db.session.get(User, approver.id)) == 1
        db.session.commit()
    assert _same(client.get("/notifications/").text) != _same(unread)


def test_a_bulk_update_for_no_organisation_moves_every_organisations_version(world):
    with acting_for(world.acme):
        before = badges.version(world.acme.id, badges.DATA)
    with acting_for(world.globex):
        other = badges.version(world.globex.id, badges.DATA)
    with system(db.session):
        db.session.execute(update(Notification).values(read_at=None).execution_options(synchronize_session=False))
        db.session.commit()
    with acting_for(world.acme):
        assert badges.version(world.acme.id, badges.DATA) == before + 1
    with acting_for(world.globex):
        assert badges.version(world.globex.id, badges.DATA) == other + 1


def test_a_refused_filter_is_worked_out_each_time(world, login_as):
    client = login_as(world.user(ADMIN))
    for _ in range(2):
        refused = client.get("/admin/audit?date_from=not-a-date")
        assert refused.status_code == 422 and 'aria-invalid="true"' in refused.text
    assert client.get("/admin/audit").status_code == 200
