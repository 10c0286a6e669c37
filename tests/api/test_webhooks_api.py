"""The webhook API (portal/blueprints/api/webhooks.py): an organisation admin's token lists,
creates (the secret answered once), reads and deletes endpoints, reads the delivery log and
redelivers; other organisations' ids are 404, other roles 403, a token without the scope 403,
bad input 422 naming the field, and a retried POST creates nothing new."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import OutboxMessage
from portal.models.base import utcnow
from portal.models.integration import WebhookDelivery, WebhookEndpoint
from portal.tenancy import system

ADMIN = "admin@acme.example"
URL = "https://erp.acme.example/hooks"


def _count(model) -> int:
    db.session.expire_all()
    with system(db.session):
        return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture(autouse=True)
def _held(app):
    """No deliveries during these tests (the hosts do not exist)."""
    from portal.jobs import runner_for, set_runner

    class Held:
        def enqueue(self, *args):
            pass

    previous = runner_for(app)
    set_runner(app, Held())
    yield
    set_runner(app, previous)


def _create(client, **overrides) -> dict:
    body = {"url": URL, "events": ["invoice.issued", "order.issued"], "description": "ERP"} | overrides
    return client.post("/webhook-endpoints", body, status=201)


def _delivery(world, endpoint_id: int, n: int = 0, org="acme") -> int:
    with system(db.session):
        row = WebhookDelivery(organization_id=getattr(world, org).id, endpoint_id=endpoint_id,
                              event="invoice.issued", event_id=f"evt_{n:032d}", status="failed",
                              attempts=6, response_code=500, last_error="HTTP 500",
                              payload={"id": f"evt_{n:032d}", "type": "invoice.issued", "data": {}},
                              created_at=utcnow() + timedelta(seconds=n))
        db.session.add(row)
        db.session.commit()
        return row.id


def test_an_admin_creates_lists_reads_and_deletes_an_endpoint(api, world):
    admin = api(ADMIN)
    made = _create(admin)
    assert made["secret"].startswith("whsec_")
    assert admin.last.headers["Location"] == f"/api/v1/webhook-endpoints/{made['id']}"
    assert (made["url"], made["events"], made["status"], made["description"]) == (
        URL, ["order.issued", "invoice.issued"], "active", "ERP")
    listed = admin.get("/webhook-endpoints", status=200)
    assert [e["id"] for e in listed["data"]] == [made["id"]] and listed["next_cursor"] is None
    assert "secret" not in listed["data"][0]
    one = admin.get(f"/webhook-endpoints/{made['id']}", status=200)
    assert "secret" not in one and one["url"] == URL
    assert admin.get("/webhook-endpoints?status=disabled", status=200)["data"] == []
    _delivery(world, made["id"])
    admin.delete(f"/webhook-endpoints/{made['id']}", status=204)
    admin.get(f"/webhook-endpoints/{made['id']}", status=404)
    assert _count(WebhookEndpoint) == 0 and _count(WebhookDelivery) == 0


def test_a_supplier_admin_manages_its_own_endpoints(api):
    made = _create(api("sales@polbud.example"), url="https://erp.polbud.example/in")
    assert made["id"]


def test_a_retried_post_creates_nothing_new(api):
    admin = api(ADMIN)
    body = {"url": URL, "events": ["invoice.paid"]}
    first = admin.post("/webhook-endpoints", body, key="create-1", status=201)
    again = admin.post("/webhook-endpoints", body, key="create-1", status=201)
    assert again == first and admin.last.headers["Idempotent-Replayed"] == "true"
    assert _count(WebhookEndpoint) == 1


def test_another_organisations_endpoint_is_a_404(api, world):
    made = _create(api(ADMIN))
    delivery_id = _delivery(world, made["id"])
    other = api("admin@globex.example")
    other.get(f"/webhook-endpoints/{made['id']}", status=404)
    other.get(f"/webhook-endpoints/{made['id']}/deliveries", status=404)
    other.delete(f"/webhook-endpoints/{made['id']}", status=404)
    other.post(f"/webhook-deliveries/{delivery_id}/redeliver", {}, status=404)
    assert other.get("/webhook-endpoints", status=200)["data"] == []
    assert _count(WebhookEndpoint) == 1


def test_only_admins_manage_webhooks(api):
    made = _create(api(ADMIN))
    buyer = api("buyer@acme.example")
    buyer.get("/webhook-endpoints", status=403)
    buyer.get(f"/webhook-endpoints/{made['id']}", status=403)
    buyer.post("/webhook-endpoints", {"url": URL, "events": ["invoice.paid"]}, status=403)
    buyer.delete(f"/webhook-endpoints/{made['id']}", status=403)
    assert _count(WebhookEndpoint) == 1


def test_a_token_without_the_scope_is_refused(api):
    made = _create(api(ADMIN))
    narrow = api(ADMIN, scopes=["invoices:read"])
    problem = narrow.get("/webhook-endpoints", status=403)
    assert "webhooks:read" in problem["detail"]
    reader = api(ADMIN, scopes=["webhooks:read"])
    reader.get("/webhook-endpoints", status=200)
    assert "webhooks:write" in reader.post("/webhook-endpoints", {"url": URL, "events": ["invoice.paid"]},
                                           status=403)["detail"]
    reader.delete(f"/webhook-endpoints/{made['id']}", status=403)


@pytest.mark.parametrize(("body", "field"), [
    ({"url": URL, "events": []}, "events"),
    ({"url": URL, "events": ["invoice.exploded"]}, "events.0"),
    ({"url": URL, "events": "invoice.paid"}, "events"),
    ({"url": URL}, "events"),
    ({"url": 12, "events": ["invoice.paid"]}, "url"),
    ({"url": URL, "events": ["invoice.paid"], "secret": "mine"}, "secret"),
    ({"url": "ftp://erp.acme.example/x", "events": ["invoice.paid"]}, "url"),
    ({"url": "https://user:pw@erp.acme.example/x", "events": ["invoice.paid"]}, "url"),
])
def test_bad_input_is_a_422_naming_the_field(api, body, field):
    problem = api(ADMIN).post("/webhook-endpoints", body, status=422)
    assert field in [e["field"] for e in problem["errors"]], problem
    assert _count(WebhookEndpoint) == 0


def test_private_targets_and_http_are_refused_in_production(api, app, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", False)
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_HTTP", False)
    admin = api(ADMIN)
    for url in ("http://erp.acme.example/x", "https://127.0.0.1/x", "https://169.254.169.254/latest",
                "https://[::1]/x", "https://localhost/x", "https://10.0.0.8/x"):
        problem = admin.post("/webhook-endpoints", {"url": url, "events": ["invoice.paid"]}, status=422)
        assert problem["errors"][0]["field"] == "url", (url, problem)
    assert _count(WebhookEndpoint) == 0


def test_the_delivery_log_pages_and_filters(api, world):
    admin = api(ADMIN)
    made = _create(admin)
    ids = [_delivery(world, made["id"], n) for n in range(3)]
    first = admin.get(f"/webhook-endpoints/{made['id']}/deliveries?limit=2", status=200)
    assert [d["id"] for d in first["data"]] == ids[:2] and first["next_cursor"]
    rest = admin.get(f"/webhook-endpoints/{made['id']}/deliveries?limit=2&cursor={first['next_cursor']}",
                     status=200)
    assert [d["id"] for d in rest["data"]] == ids[2:] and rest["next_cursor"] is None
    row = first["data"][0]
    assert (row["status"], row["attempts"], row["response_code"], row["event"]) == (
        "failed", 6, 500, "invoice.issued")
    assert admin.get(f"/webhook-endpoints/{made['id']}/deliveries?status=delivered", status=200)["data"] == []
    admin.get(f"/webhook-endpoints/{made['id']}/deliveries?status=lost", status=422)
    admin.get(f"/webhook-endpoints/{made['id']}/deliveries?cursor=garbage", status=422)


def test_redeliver_queues_the_same_event_once_per_key(api, world):
    admin = api(ADMIN)
    made = _create(admin)
    delivery_id = _delivery(world, made["id"])
    answer = admin.post(f"/webhook-deliveries/{delivery_id}/redeliver", {}, key="again-1", status=202)
    assert answer == {"endpoint_id": made["id"], "event": "invoice.issued", "event_id": f"evt_{0:032d}",
                      "redelivery_of": delivery_id, "status": "queued"}
    admin.post(f"/webhook-deliveries/{delivery_id}/redeliver", {}, key="again-1", status=202)
    with system(db.session):
        rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "webhook")).all()
    assert len(rows) == 1 and rows[0].payload["event_id"] == f"evt_{0:032d}"
    admin.post(f"/webhook-deliveries/{delivery_id}/redeliver", {"now": True}, status=422)
    api("buyer@acme.example").post(f"/webhook-deliveries/{delivery_id}/redeliver", {}, status=403)
    admin.post("/webhook-deliveries/999999/redeliver", {}, status=404)


def test_redelivering_to_a_disabled_endpoint_is_refused(api, world):
    admin = api(ADMIN)
    made = _create(admin)
    delivery_id = _delivery(world, made["id"])
    with system(db.session):
        db.session.get(WebhookEndpoint, made["id"]).status = "disabled"
        db.session.commit()
    problem = admin.post(f"/webhook-deliveries/{delivery_id}/redeliver", {}, status=422)
    assert problem["errors"][0]["field"] == "status"
