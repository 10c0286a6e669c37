"""The admin's integration pages: API tokens (secret shown once, scopes, acts-as, expiry,
revoke) and webhook endpoints (create with the SSRF guard's messages beside the URL, edit,
rotate, disable/enable, delete, the delivery log, redeliver, test event)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.jobs import runner_for, set_runner
from portal.models import AuditEvent, OutboxMessage
from portal.models.integration import ApiToken, DeliveryStatus, WebhookDelivery, WebhookEndpoint
from portal.services import users
from portal.services.integration import tokens, webhooks
from portal.services.webhook_events import new_event_id
from tests.conftest import as_org, as_system, csrf_token_from

HX = {"HX-Request": "true"}
SECRET = re.compile(r"\bpt_[A-Za-z0-9_-]{43}\b")
WH_SECRET = re.compile(r"\bwhsec_[A-Za-z0-9_-]{20,}\b")


class Held:
    """A job runner that only records: no delivery is attempted during these tests."""

    def __init__(self):
        self.jobs: list[tuple] = []

    def enqueue(self, name, *args):
        self.jobs.append((name, *args))


@pytest.fixture(autouse=True)
def held(app):
    previous = runner_for(app)
    runner = Held()
    set_runner(app, runner)
    yield runner
    set_runner(app, previous)


def make_endpoint(world, email: str, events=("order.issued",),
                  url: str = "https://hooks.example.com/portal") -> tuple[int, str]:
    """An endpoint of the user's organisation, made through the service (committed)."""
    actor = world.user(email)
    with as_org(actor.organization):
        endpoint, secret = webhooks.create_endpoint(actor, url, list(events), "ERP")
        db.session.commit()
        return endpoint.id, secret


@pytest.fixture(autouse=True)
def english(world):
    with as_system():
        for user in world.users.values():
            user.locale = "en"
        db.session.commit()


def form_fields(html: str) -> dict:
    found = {"csrf_token": csrf_token_from(html)}
    token = re.search(r'name="submission_token"[^>]*value="([^"]+)"', html)
    if token:
        found["submission_token"] = token.group(1)
    return found


def all_tokens() -> list[ApiToken]:
    db.session.expire_all()
    with as_system():
        return list(db.session.scalars(select(ApiToken).order_by(ApiToken.id)))


def all_endpoints() -> list[WebhookEndpoint]:
    db.session.expire_all()
    with as_system():
        return list(db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def audit_actions(prefix: str) -> list[str]:
    with as_system():
        return [e.action for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.action.like(prefix + "%")).order_by(AuditEvent.id))]


def create_token(client, admin, **overrides):
    page = client.get("/admin/api-tokens/new")
    data = {**form_fields(page.text), "name": "ERP production",
            "scopes": ["invoices:read", "orders:write"], "user": str(admin.id), **overrides}
    return client.post("/admin/api-tokens/new", data=data), data


# ---------------------------------------------------------------- API tokens


def test_menu_and_pages_for_buyer_and_supplier_admins_only(world, login_as):
    for email in ("admin@acme.example", "sales@nordwind.example"):
        client = login_as(world.user(email))
        dashboard = client.get("/")
        assert 'data-testid="nav-api-tokens"' in dashboard.text
        assert 'data-testid="nav-webhooks"' in dashboard.text
        for url in ("/admin/api-tokens", "/admin/api-tokens/new", "/admin/webhooks",
                    "/admin/webhooks/new"):
            assert client.get(url).status_code == 200, (email, url)
    buyer = login_as(world.user("buyer@acme.example"))
    assert 'nav-api-tokens' not in buyer.get("/").text
    assert buyer.get("/admin/api-tokens").status_code == 403
    assert buyer.get("/admin/webhooks").status_code == 403


def test_create_token_shows_the_secret_once_and_stores_only_its_hash(world, login_as):
    admin = world.user("admin@acme.example")
    client = login_as(admin)
    response, data = create_token(client, admin)

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    secret = SECRET.search(response.text).group(0)
    assert "Copy the token now" in response.text
    assert f'Authorization: Bearer {secret}' in response.text  # the curl example
    assert "js/copy.js" in response.text and "<script>" not in response.text
    [token] = all_tokens()
    assert token.token_hash == tokens.hash_token(secret) and secret not in token.token_hash
    assert token.prefix == secret[:11] and token.user_id == admin.id
    assert token.scopes == ["orders:write", "invoices:read"]
    assert token.expires_at is None
    assert audit_actions("api_token.") == ["api_token.created"]

    listing = client.get("/admin/api-tokens")
    assert secret not in listing.text
    assert token.prefix in listing.text and "ERP production" in listing.text
    assert "Active" in listing.text and "Never" in listing.text

    # The same form sent again (refresh, back): nothing new, and no secret.
    again = client.post("/admin/api-tokens/new", data=data)
    assert again.status_code in (302, 303)
    assert secret not in again.text
    assert secret not in client.get(again.headers["Location"]).text
    assert len(all_tokens()) == 1


def test_the_token_works_on_the_api_as_the_chosen_user(world, login_as, client):
    admin = world.user("admin@acme.example")
    response, _ = create_token(login_as(admin), admin,
                               user=str(world.user("buyer@acme.example").id), scopes=["catalog:read"])
    secret = SECRET.search(response.text).group(0)
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 200
    assert me.json["user"] == "buyer@acme.example" and me.json["scopes"] == ["catalog:read"]


@pytest.mark.parametrize(("scopes", "message"), [
    ([], "Choose at least one scope."),
    (["invoices:read", "invoices:delete"], "Unknown scope."),
])
def test_scopes_are_validated(world, login_as, scopes, message):
    admin = world.user("admin@acme.example")
    response, _ = create_token(login_as(admin), admin, scopes=scopes)
    assert response.status_code == 422
    assert message in response.text
    assert 'id="scopes-error"' in response.text
    assert not SECRET.search(response.text)
    assert all_tokens() == []


def test_name_is_required(world, login_as):
    admin = world.user("admin@acme.example")
    response, _ = create_token(login_as(admin), admin, name="  ")
    assert response.status_code == 422 and 'id="name-error"' in response.text
    assert all_tokens() == []


def test_acts_as_offers_the_orgs_active_users_and_refuses_others(world, login_as):
    admin = world.user("admin@acme.example")
    client = login_as(admin)
    with as_org(admin.organization):
        users.deactivate(world.user("buyer2@acme.example"), actor=admin)
        db.session.commit()
    page = client.get("/admin/api-tokens/new").text
    assert f'<option selected value="{admin.id}"' in page or re.search(
        rf'<option[^>]*value="{admin.id}"[^>]*selected', page)
    assert "buyer@acme.example" in page
    assert "buyer2@acme.example" not in page  # deactivated
    assert "globex" not in page

    for other in ("admin@globex.example", "sales@nordwind.example", "buyer2@acme.example"):
        response, _ = create_token(client, admin, user=str(world.user(other).id))
        assert response.status_code == 422, other
        assert "Choose a person from the list." in response.text
    assert all_tokens() == []


def test_expiry_is_the_end_of_the_day_in_the_orgs_time_zone(world, login_as):
    admin = world.user("admin@acme.example")  # Acme: Europe/Warsaw
    client = login_as(admin)
    day = date.today() + timedelta(days=30)
    response, _ = create_token(client, admin, expires_on=day.isoformat())
    assert response.status_code == 200
    [token] = all_tokens()
    from zoneinfo import ZoneInfo

    midnight = datetime.combine(day + timedelta(days=1), datetime.min.time(),
                                tzinfo=ZoneInfo("Europe/Warsaw")).astimezone(UTC)
    assert token.expires_at == midnight
    assert tokens.last_valid_day(token, admin.organization) == day


def test_expiry_in_the_past_is_refused_beside_the_field(world, login_as):
    admin = world.user("admin@acme.example")
    response, _ = create_token(login_as(admin), admin,
                               expires_on=(date.today() - timedelta(days=2)).isoformat())
    assert response.status_code == 422
    assert 'id="expires_on-error"' in response.text
    assert "The expiry date must be in the future." in response.text
    assert all_tokens() == []


def test_revoke_with_confirmation_then_the_api_refuses_it(world, login_as, client):
    admin = world.user("admin@acme.example")
    browser = login_as(admin)
    response, _ = create_token(browser, admin)
    secret = SECRET.search(response.text).group(0)
    [token] = all_tokens()
    listing = browser.get("/admin/api-tokens").text
    assert f'/admin/api-tokens/{token.id}/revoke' in listing and "hx-confirm" in listing

    revoked = browser.post(f"/admin/api-tokens/{token.id}/revoke",
                           data={"csrf_token": csrf_token_from(listing)}, headers=HX)
    assert revoked.status_code == 200
    assert "is revoked" in revoked.headers["HX-Trigger"]
    assert 'id="tokens-table"' in revoked.text and "Revoked" in revoked.text
    assert f'/admin/api-tokens/{token.id}/revoke' not in revoked.text
    [token] = all_tokens()
    assert token.revoked_at is not None and token.revoked_by_id == admin.id
    assert audit_actions("api_token.") == ["api_token.created", "api_token.revoked"]
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_expired_tokens_show_as_expired(world, login_as):
    admin = world.user("admin@acme.example")
    with as_org(admin.organization):
        token, _ = tokens.issue_token(admin, name="Old", scopes=["catalog:read"], user=admin,
                                      expires_at=datetime.now(UTC) + timedelta(seconds=30))
        token.expires_at = datetime.now(UTC) - timedelta(days=1)
        db.session.commit()
    text = login_as(admin).get("/admin/api-tokens").text
    assert "Expired" in text


def test_another_orgs_token_is_404(world, login_as):
    admin = world.user("admin@acme.example")
    create_token(login_as(admin), admin)
    [token] = all_tokens()
    other = login_as(world.user("admin@globex.example"))
    page = other.get("/admin/api-tokens").text
    assert token.prefix not in page and "ERP production" not in page
    assert other.post(f"/admin/api-tokens/{token.id}/revoke",
                      data={"csrf_token": csrf_token_from(page)}).status_code == 404
    assert all_tokens()[0].revoked_at is None


def test_token_list_pages_by_key(world, login_as, app, monkeypatch):
    admin = world.user("admin@acme.example")
    with as_org(admin.organization):
        for i in range(7):
            tokens.issue_token(admin, name=f"Token {i:02d}", scopes=["catalog:read"], user=admin)
        db.session.commit()
    monkeypatch.setitem(app.config, "PAGE_SIZE", 5)
    client = login_as(admin)
    first = client.get("/admin/api-tokens").text
    assert first.count('data-testid="token-row"') == 5
    cursor = re.search(r'href="([^"]*cursor=[^"]+)"[^>]*rel="next"', first).group(1)
    second = client.get(cursor.replace("&amp;", "&")).text
    assert second.count('data-testid="token-row"') == 2
    assert "Token 00" in second and "Token 06" in first


# ---------------------------------------------------------------- webhooks


def create_endpoint(client, **overrides):
    page = client.get("/admin/webhooks/new")
    data = {**form_fields(page.text), "url": "https://erp.acme.invalid/hooks",
            "events": ["order.issued", "invoice.issued"], "description": "SAP", **overrides}
    return client.post("/admin/webhooks/new", data=data), data


def test_create_endpoint_shows_the_secret_once(world, login_as, held):
    client = login_as(world.user("admin@acme.example"))
    response, data = create_endpoint(client)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    secret = WH_SECRET.search(response.text).group(0)
    [endpoint] = all_endpoints()
    assert endpoint.secret == secret and endpoint.events == ["order.issued", "invoice.issued"]
    assert endpoint.url == "https://erp.acme.invalid/hooks" and endpoint.description == "SAP"
    assert audit_actions("webhook.") == ["webhook.created"]

    listing = client.get("/admin/webhooks").text
    assert "https://erp.acme.invalid/hooks" in listing and secret not in listing
    assert "Active" in listing and "None yet" in listing
    detail = client.get(f"/admin/webhooks/{endpoint.id}").text
    assert secret not in detail
    assert client.get(f"/admin/webhooks/{endpoint.id}/edit").text.count(secret) == 0

    again = client.post("/admin/webhooks/new", data=data)
    assert again.status_code in (302, 303) and secret not in again.text
    assert len(all_endpoints()) == 1


@pytest.mark.parametrize(("url", "message"), [
    ("ftp://erp.acme.invalid/hooks", "https"),
    ("https://10.0.0.7/hooks", "private or local address"),
    ("https://169.254.169.254/latest/meta-data", "private or local address"),
    ("https://localhost/hooks", "private or local address"),
])
def test_unsafe_urls_are_refused_beside_the_url_field(world, login_as, app, monkeypatch, url, message):
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", False)
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_HTTP", False)
    client = login_as(world.user("admin@acme.example"))
    response, _ = create_endpoint(client, url=url)
    assert response.status_code == 422
    error = re.search(r'<small class="field-error" id="url-error">([^<]*)</small>', response.text)
    assert error, response.text
    assert message in error.group(1)
    assert not WH_SECRET.search(response.text)
    assert all_endpoints() == []


def test_events_are_required(world, login_as):
    client = login_as(world.user("admin@acme.example"))
    response, _ = create_endpoint(client, events=[])
    assert response.status_code == 422 and 'id="events-error"' in response.text
    response, _ = create_endpoint(client, events=["order.deleted"])
    assert response.status_code == 422 and "Unknown event." in response.text
    assert all_endpoints() == []


def test_edit_rotate_disable_enable_delete(world, login_as, held):
    admin = world.user("admin@acme.example")
    endpoint_id, first_secret = make_endpoint(world, "admin@acme.example", events=["order.issued"])
    client = login_as(admin)
    page = client.get(f"/admin/webhooks/{endpoint_id}/edit")
    assert page.status_code == 200 and 'value="https://hooks.example.com/portal"' in page.text
    saved = client.post(f"/admin/webhooks/{endpoint_id}/edit", data={
        "csrf_token": csrf_token_from(page.text), "url": "https://erp2.acme.invalid/in",
        "events": ["invoice.paid"], "description": "New ERP"})
    assert saved.status_code == 302
    [endpoint] = all_endpoints()
    assert (endpoint.url, endpoint.events, endpoint.description) == (
        "https://erp2.acme.invalid/in", ["invoice.paid"], "New ERP")

    token = csrf_token_from(client.get(f"/admin/webhooks/{endpoint_id}").text)
    rotated = client.post(f"/admin/webhooks/{endpoint_id}/rotate", data={"csrf_token": token})
    assert rotated.status_code == 200
    new_secret = WH_SECRET.search(rotated.text).group(0)
    assert new_secret != first_secret and first_secret not in rotated.text
    assert all_endpoints()[0].secret == new_secret
    assert "Copy the new secret now" in rotated.text

    assert client.post(f"/admin/webhooks/{endpoint_id}/disable", data={"csrf_token": token}).status_code == 302
    assert all_endpoints()[0].status == "disabled"
    detail = client.get(f"/admin/webhooks/{endpoint_id}").text
    assert "Disabled" in detail and 'data-testid="enable-webhook"' in detail
    assert client.post(f"/admin/webhooks/{endpoint_id}/enable", data={"csrf_token": token}).status_code == 302
    assert all_endpoints()[0].status == "active"

    detail = client.get(f"/admin/webhooks/{endpoint_id}").text
    assert "data-confirm" in detail  # delete, disable and rotate ask first
    deleted = client.post(f"/admin/webhooks/{endpoint_id}/delete", data={"csrf_token": token})
    assert deleted.status_code == 302 and deleted.headers["Location"].endswith("/admin/webhooks")
    assert all_endpoints() == []
    assert audit_actions("webhook.") == ["webhook.created", "webhook.updated", "webhook.secret_rotated",
                                         "webhook.updated", "webhook.updated", "webhook.deleted"]


def test_edit_refuses_an_unsafe_url_beside_the_field(world, login_as, app, monkeypatch):
    endpoint_id, _ = make_endpoint(world, "admin@acme.example")
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", False)
    client = login_as(world.user("admin@acme.example"))
    page = client.get(f"/admin/webhooks/{endpoint_id}/edit")
    response = client.post(f"/admin/webhooks/{endpoint_id}/edit", data={
        "csrf_token": csrf_token_from(page.text), "url": "https://127.0.0.1/x",
        "events": ["invoice.paid"], "description": ""})
    assert response.status_code == 422
    assert 'id="url-error"' in response.text
    assert all_endpoints()[0].url == "https://hooks.example.com/portal"


def add_deliveries(endpoint_id: int, org, count: int, *, status=DeliveryStatus.FAILED) -> list[int]:
    start = datetime.now(UTC) - timedelta(hours=count)
    made = []
    with as_org(org):
        for i in range(count):
            event_id = new_event_id()
            delivery = WebhookDelivery(
                organization_id=org.id, endpoint_id=endpoint_id, event="order.issued",
                event_id=event_id, payload={"id": event_id, "type": "order.issued", "data": {}},
                status=status, attempts=3, response_code=500, last_error=f"HTTP 500 no {i:02d}",
                created_at=start + timedelta(hours=i))
            db.session.add(delivery)
            db.session.flush()
            made.append(delivery.id)
        db.session.commit()
    return made


def test_delivery_log_is_paged_newest_first(world, login_as, app, monkeypatch):
    admin = world.user("admin@acme.example")
    endpoint_id, _ = make_endpoint(world, "admin@acme.example")
    add_deliveries(endpoint_id, admin.organization, 7)
    monkeypatch.setitem(app.config, "PAGE_SIZE", 5)
    client = login_as(admin)
    first = client.get(f"/admin/webhooks/{endpoint_id}")
    assert first.status_code == 200
    assert first.text.count('data-testid="delivery-row"') == 5
    assert first.text.index("no 06") < first.text.index("no 05")
    assert "Failed" in first.text and "Order issued" in first.text
    link = re.search(r'href="([^"]*cursor=[^"]+)"[^>]*rel="next"', first.text).group(1).replace("&amp;", "&")
    second = client.get(link, headers=HX)
    assert second.text.count('data-testid="delivery-row"') == 2
    assert "no 00" in second.text and 'id="deliveries"' in second.text
    assert "<html" not in second.text  # the fragment only
    listing = client.get("/admin/webhooks").text
    assert "Failed" in listing  # the last delivery's state


def test_redeliver_and_send_test_queue_a_new_delivery(world, login_as, held):
    admin = world.user("admin@acme.example")
    endpoint_id, _ = make_endpoint(world, "admin@acme.example")
    [delivery_id] = add_deliveries(endpoint_id, admin.organization, 1)
    client = login_as(admin)
    page = client.get(f"/admin/webhooks/{endpoint_id}").text
    assert f"/admin/webhook-deliveries/{delivery_id}/redeliver" in page
    token = csrf_token_from(page)
    response = client.post(f"/admin/webhook-deliveries/{delivery_id}/redeliver", data={"csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/webhooks/{endpoint_id}")
    with as_system():
        rows = list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "webhook")))
    assert [r.payload.get("redelivery_of") for r in rows] == [delivery_id]
    assert "queued to be sent again" in client.get(response.headers["Location"]).text

    sent = client.post(f"/admin/webhooks/{endpoint_id}/test", data={"csrf_token": token})
    assert sent.status_code == 302
    with as_system():
        events = [r.payload["event"] for r in db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "webhook").order_by(OutboxMessage.id))]
    assert events == ["order.issued", "ping"]
    assert audit_actions("webhook.redelivered") == ["webhook.redelivered"]


def test_another_orgs_endpoint_and_delivery_are_404(world, login_as, held):
    admin = world.user("admin@acme.example")
    endpoint_id, secret = make_endpoint(world, "admin@acme.example")
    [delivery_id] = add_deliveries(endpoint_id, admin.organization, 1)
    other = login_as(world.user("sales@nordwind.example"))
    page = other.get("/admin/webhooks").text
    assert "hooks.example.com" not in page
    token = csrf_token_from(page)
    for url in (f"/admin/webhooks/{endpoint_id}", f"/admin/webhooks/{endpoint_id}/edit"):
        assert other.get(url).status_code == 404, url
    for url in (f"/admin/webhooks/{endpoint_id}/rotate", f"/admin/webhooks/{endpoint_id}/disable",
                f"/admin/webhooks/{endpoint_id}/delete", f"/admin/webhooks/{endpoint_id}/test",
                f"/admin/webhook-deliveries/{delivery_id}/redeliver"):
        response = other.post(url, data={"csrf_token": token})
        assert response.status_code == 404, url
        assert secret not in response.text
    [endpoint] = all_endpoints()
    assert endpoint.secret == secret and endpoint.status == "active"
    assert held.jobs == []


def test_a_disabled_endpoint_offers_no_redeliver_and_refuses_one(world, login_as, held):
    admin = world.user("admin@acme.example")
    endpoint_id, _ = make_endpoint(world, "admin@acme.example")
    [delivery_id] = add_deliveries(endpoint_id, admin.organization, 1)
    with as_org(admin.organization):
        webhooks.update_endpoint(admin, db.session.get(WebhookEndpoint, endpoint_id), status="disabled")
        db.session.commit()
    client = login_as(admin)
    url = f"/admin/webhooks/{endpoint_id}"
    page = client.get(url).text
    assert f"/admin/webhook-deliveries/{delivery_id}/redeliver" not in page
    refused = client.post(f"/admin/webhook-deliveries/{delivery_id}/redeliver",
                          data={"csrf_token": csrf_token_from(page)}, headers={"Referer": "http://localhost" + url})
    assert refused.status_code == 302 and refused.headers["Location"].endswith(url)
    assert "enable it to redeliver" in client.get(url).text
    with as_system():
        assert db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "webhook")).all() == []


@pytest.mark.usefixtures("uncached_lists")
def test_the_lists_read_their_indexes(world, login_as, app, monkeypatch):
    """The token list walks ix_api_tokens_org_created and the delivery log
    ix_webhook_deliveries_endpoint (SQLite's plans: no scan, no temporary sort)."""
    from tests.listdata import captured_selects, next_page, plan

    if db.engine.dialect.name != "sqlite":
        pytest.skip("the plans checked are SQLite's")
    admin = world.user("admin@acme.example")
    with as_org(admin.organization):
        for i in range(6):
            tokens.issue_token(admin, name=f"T{i}", scopes=["catalog:read"], user=admin)
        db.session.commit()
    endpoint_id, _ = make_endpoint(world, "admin@acme.example")
    add_deliveries(endpoint_id, admin.organization, 6)
    monkeypatch.setitem(app.config, "PAGE_SIZE", 4)
    client = login_as(admin)
    for url, table, index in (("/admin/api-tokens", "FROM api_tokens", "ix_api_tokens_org_created"),
                              (f"/admin/webhooks/{endpoint_id}", "FROM webhook_deliveries",
                               "ix_webhook_deliveries_endpoint")):
        for page_url in (url, next_page(client.get(url).text)):
            statements = [s for s in captured_selects(client, page_url, table) if "ORDER BY" in s[0]]
            assert statements, page_url
            for statement, parameters in statements:
                steps = " ".join(plan(statement, parameters))
                assert index in steps and "TEMP B-TREE" not in steps, (page_url, steps)
