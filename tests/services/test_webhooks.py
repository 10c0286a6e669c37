"""Webhooks (portal/services/integration/webhooks.py, portal/services/webhook_events.py,
portal/jobs/webhooks.py, portal/services/integration/egress.py): endpoints managed by the
organisation's admin, one outbox row per subscribed endpoint of each party told at action time
(nothing for a rolled-back action), signed deliveries to a local receiver, retries with backoff
on 500 and on timeouts until the endpoint is failing, active again after a success, redelivery
with the same event id, and the SSRF guard (at save and again at delivery, pinned address)."""

from __future__ import annotations

import socket
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from portal.errors import PermissionDenied, ValidationProblem
from portal.extensions import db
from portal.jobs import outbox as delivery
from portal.jobs import webhooks as deliverer
from portal.models import AuditEvent, OutboxMessage, Requisition
from portal.models.base import utcnow
from portal.models.integration import WebhookDelivery, WebhookEndpoint
from portal.models.order import PurchaseOrder
from portal.services import webhook_events
from portal.services.clock import today_for
from portal.services.integration import egress, webhooks
from portal.services.orders.receiving import ReceiptLineInput, record_receipt
from portal.services.sourcing import quotes
from portal.tenancy import system
from tests.conftest import as_org
from tests.factories import acting_for, make_cost_center, make_requisition
from tests.services.receiving_fixtures import make_order
from tests.services.sourcing_fixtures import BEFORE, published_rfq
from tests.services.supplier_invoice_fixtures import (  # noqa: F401 - fixture
    draft,
    give_ibans,
    issue,
    received_order,
    stub_documents,
)
from tests.services.webhook_fixtures import (
    ALL,
    Held,
    deliveries,
    endpoint_row,
    make_endpoint,
    receiver,
    told,
    webhook_rows,
)

D = Decimal
RECEIVER_EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "webhook_receiver.py"


def _receiver_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("webhook_receiver_example", RECEIVER_EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def held(app):
    """Deliveries wait for the test to run them (`delivery.deliver(row.id)`)."""
    from portal.jobs import runner_for, set_runner

    previous = runner_for(app)
    runner = Held()
    set_runner(app, runner)
    yield runner
    set_runner(app, previous)


@pytest.fixture
def strict(app, monkeypatch):
    """The production settings: no private addresses, https only."""
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", False)
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_HTTP", False)


@pytest.fixture
def quick(app, monkeypatch):
    """Three attempts, a short timeout."""
    monkeypatch.setitem(app.config, "OUTBOX_MAX_ATTEMPTS", 3)
    monkeypatch.setitem(app.config, "OUTBOX_RETRY_SECONDS", 60)
    monkeypatch.setitem(app.config, "WEBHOOK_TIMEOUT_SECONDS", 0.5)


def _public_dns(monkeypatch, mapping: dict[str, str]):
    """Resolve the names in `mapping` to the given addresses (no real DNS in tests)."""
    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        if host in mapping:
            family = socket.AF_INET6 if ":" in mapping[host] else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (mapping[host], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)


# ---------------------------------------------------------------- managing endpoints


def test_an_admin_creates_an_endpoint_and_sees_its_secret_once(world):
    admin = world.user("admin@acme")
    with as_org(world.acme):
        endpoint, secret = webhooks.create_endpoint(
            admin, "https://erp.acme.example/hooks", ["invoice.issued", "order.issued", "invoice.issued"], " ERP ")
        db.session.commit()
        assert secret.startswith("whsec_") and len(secret) > 40 and endpoint.secret == secret
        assert endpoint.events == ["order.issued", "invoice.issued"]  # catalogue order, once each
        assert (endpoint.description, endpoint.status, endpoint.organization_id) == ("ERP", "active", world.acme.id)
        (event,) = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "webhook.created")).all()
        assert event.object_id == endpoint.id and "whsec_" not in str(event.summary)


def test_only_the_organisations_admin_manages_endpoints(world):
    with as_org(world.acme), pytest.raises(PermissionDenied):
        webhooks.create_endpoint(world.user("buyer@acme"), "https://erp.acme.example/h", ["order.issued"])
    with as_org(world.polbud):  # a supplier's admin manages its own
        endpoint, _ = webhooks.create_endpoint(world.user("sales@polbud"), "https://erp.polbud.example/h",
                                               ["order.issued"])
        assert endpoint.organization_id == world.polbud.id


@pytest.mark.parametrize(("events", "url", "field"), [
    ([], "https://erp.acme.example/h", "events"),
    (["invoice.exploded"], "https://erp.acme.example/h", "events"),
    (["order.issued"], "", "url"),
    (["order.issued"], "ftp://erp.acme.example/h", "url"),
    (["order.issued"], "https://user:pw@erp.acme.example/h", "url"),
    (["order.issued"], "https://erp.acme.example:0/h", "url"),
    (["order.issued"], "https://erp.acme.example:99999/h", "url"),
    (["order.issued"], "https:///nohost", "url"),
])
def test_bad_input_names_its_field(world, events, url, field):
    with as_org(world.acme), pytest.raises(ValidationProblem) as refused:
        webhooks.create_endpoint(world.user("admin@acme"), url, events)
    assert refused.value.field == field


def test_update_rotate_disable_and_delete(world):
    admin = world.user("admin@acme")
    endpoint_id, secret = make_endpoint(world, "admin@acme", ["order.issued"])
    with as_org(world.acme):
        endpoint = db.session.get(WebhookEndpoint, endpoint_id)
        webhooks.update_endpoint(admin, endpoint, url="https://erp2.acme.example/h",
                                 events=["invoice.paid"], description="New")
        assert (endpoint.url, endpoint.events, endpoint.description) == (
            "https://erp2.acme.example/h", ["invoice.paid"], "New")
        new = webhooks.rotate_secret(admin, endpoint)
        assert new != secret and endpoint.secret == new
        webhooks.update_endpoint(admin, endpoint, status="disabled")
        assert endpoint.status == "disabled"
        with pytest.raises(ValidationProblem) as refused:
            webhooks.update_endpoint(admin, endpoint, status="failing")
        assert refused.value.field == "status"
        endpoint.status, endpoint.failing_since = "failing", utcnow()
        webhooks.update_endpoint(admin, endpoint, status="active")
        assert (endpoint.status, endpoint.failing_since) == ("active", None)
        db.session.add(WebhookDelivery(organization_id=world.acme.id, endpoint_id=endpoint.id,
                                       event="invoice.paid", event_id="evt_1", payload={}))
        db.session.commit()
        actions = [e.action for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.object_type == "WebhookEndpoint").order_by(AuditEvent.id))]
        assert actions == ["webhook.created", "webhook.updated", "webhook.secret_rotated",
                           "webhook.updated", "webhook.updated"]
        webhooks.delete_endpoint(admin, endpoint)
        db.session.commit()
    assert endpoint_row(endpoint_id) is None and deliveries(endpoint_id) == []


def test_another_organisations_endpoint_is_out_of_reach(world):
    endpoint_id, _ = make_endpoint(world, "admin@acme")
    with as_org(world.globex):
        assert db.session.get(WebhookEndpoint, endpoint_id) is None


# ---------------------------------------------------------------- who is told


def test_a_published_rfq_tells_its_buyer_and_each_invited_supplier(world, held):
    acme, _ = make_endpoint(world, "admin@acme")
    nordwind, _ = make_endpoint(world, "sales@nordwind", ["rfq.published"])
    polbud, _ = make_endpoint(world, "sales@polbud", ["order.issued"])  # not subscribed
    globex, _ = make_endpoint(world, "admin@globex")  # not a party
    disabled, _ = make_endpoint(world, "sales@nordwind", ["rfq.published"], status="disabled")
    failing, _ = make_endpoint(world, "sales@nordwind", ["rfq.published"], status="failing")
    rfq_id = published_rfq(world, suppliers=("nordwind", "polbud"))
    assert sorted(told("rfq.published")) == sorted([acme, nordwind, failing])
    assert globex not in told() and polbud not in told() and disabled not in told()
    rows = webhook_rows()
    assert len({r.payload["event_id"] for r in rows}) == 1  # one event, several deliveries
    body = rows[0].payload["body"]
    assert body["type"] == "rfq.published" and body["id"].startswith("evt_")
    assert body["data"] == {"object": "rfq", "id": rfq_id, "number": body["data"]["number"],
                            "status": "open", "url": f"/api/v1/rfqs/{rfq_id}"}
    assert body["created_at"].endswith("Z")


def test_an_rfq_tells_only_the_suppliers_it_invites(world, held):
    make_endpoint(world, "sales@polbud", ["rfq.published"])
    published_rfq(world, suppliers=("nordwind",))
    assert told() == []


def test_a_submitted_quote_tells_the_buyer_only(world, held):
    rfq_id = published_rfq(world, suppliers=("nordwind",))
    acme, _ = make_endpoint(world, "admin@acme", ["quote.submitted"])
    make_endpoint(world, "sales@nordwind", ALL)
    actor = world.user("sales@nordwind")
    with as_org(world.nordwind):
        quote = quotes.start_quote(quotes.invitation_for(rfq_id), actor, now=BEFORE)
        lines = sorted(quote.rfq.lines, key=lambda li: li.position)
        quotes.save_draft(quote, actor, supplier_reference="OF/1", valid_until=date(2027, 1, 31), now=BEFORE, lines={
            line.id: quotes.QuoteLineInput(unit_price=D("2.50"), lead_time_days=14) for line in lines})
        quotes.submit(quote, actor, now=BEFORE)
        db.session.commit()
        quote_id = quote.id
    assert told() == [acme]
    assert webhook_rows()[0].payload["body"]["data"] == {
        "object": "quote", "id": quote_id, "status": "submitted", "rfq_id": rfq_id,
        "url": f"/api/v1/quotes/{quote_id}"}


def test_goods_received_tell_the_buyer_and_the_supplier(world, held):
    acme, _ = make_endpoint(world, "admin@acme", ["goods.received"])
    polbud, _ = make_endpoint(world, "sales@polbud", ["goods.received", "invoice.issued"])
    nordwind, _ = make_endpoint(world, "sales@nordwind", ["goods.received"])  # not this order's
    made = received_order(world)
    assert told("goods.received") == [acme, polbud] and nordwind not in told()
    data = webhook_rows()[0].payload["body"]["data"]
    assert (data["object"], data["id"], data["url"]) == ("order", made.order_id, f"/api/v1/orders/{made.order_id}")


def test_an_issued_invoice_tells_both_parties(world, held, stub_documents):  # noqa: F811
    give_ibans(world)
    acme, _ = make_endpoint(world, "admin@acme", ["invoice.issued"])
    polbud, _ = make_endpoint(world, "sales@polbud", ["invoice.issued"])
    invoice_id = draft(world, received_order(world))
    number = issue(world, invoice_id)
    assert told("invoice.issued") == [acme, polbud]
    data = webhook_rows()[-1].payload["body"]["data"]
    assert data == {"object": "invoice", "id": invoice_id, "number": number, "status": "issued",
                    "url": f"/api/v1/invoices/{invoice_id}"}


def test_a_requisition_decision_tells_its_organisation_only(world, held):
    acme, _ = make_endpoint(world, "admin@acme", ["requisition.approved"])
    cost_center = make_cost_center(world.acme, "WH-1", name="Webhooks")
    req = make_requisition(world.user("buyer@acme"), cost_center=cost_center, title="Kable",
                           lines=[("Kabel", "2", "10.00", "23")])
    with acting_for(world.acme):
        req = db.session.get(Requisition, req.id)
        assert webhook_events.recipients("requisition.approved", req) == [world.acme.id]
        assert webhook_events.publish("requisition.approved", req) == [acme]
        assert webhook_events.publish("requisition.submitted", req) == []  # not an event
        db.session.commit()
    assert told() == [acme]


def test_every_mapped_action_is_a_known_audit_event_and_event():
    from portal.domain.audit_events import EVENT_KINDS

    assert set(webhook_events.ACTION_EVENTS) <= EVENT_KINDS
    assert set(webhook_events.ACTION_EVENTS.values()) == set(webhooks.EVENTS)


def test_a_rolled_back_action_sends_nothing(world, held):
    make_endpoint(world, "admin@acme", ["goods.received"])
    made = make_order(world, supplier=world.polbud)
    with acting_for(world.acme):
        order = db.session.get(PurchaseOrder, made.order_id)
        record_receipt(order, world.user("buyer@acme"), received_on=today_for(world.acme),
                       lines={made.line_ids[0]: ReceiptLineInput(D("1"))})
        db.session.flush()
        assert db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "webhook")).all()
        db.session.rollback()
    db.session.commit()
    assert told() == [] and held.jobs == [] and delivery.sweep() == {}


# ---------------------------------------------------------------- delivery


def _ping(world, endpoint_id: int, admin: str = "admin@acme") -> str:
    with as_org(world.user(admin).organization):
        event_id = webhooks.send_test(world.user(admin), db.session.get(WebhookEndpoint, endpoint_id))
        db.session.commit()
    return event_id


def test_a_delivery_is_signed_and_logged(world):
    example = _receiver_module()
    with receiver() as local:
        endpoint_id, secret = make_endpoint(world, "admin@acme", ["goods.received"], local.url)
        made = received_order(world)  # the in-process runner delivers right after the commit
    (got,) = local.got
    assert got.path == "/hooks"
    headers = {k.lower(): v for k, v in got.headers.items()}
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == "Portal-Webhooks/1"
    assert headers["portal-event"] == "goods.received"
    assert headers["portal-event-id"] == got.json["id"]
    assert headers["portal-signature"] == webhooks.sign(secret, headers["portal-timestamp"], got.body)
    assert example.verify_signature(secret, got.headers, got.body)
    assert got.json["data"]["id"] == made.order_id
    (logged,) = deliveries(endpoint_id)
    assert headers["portal-delivery"] == str(logged.id)
    assert (logged.status, logged.attempts, logged.response_code, logged.event) == (
        "delivered", 1, 200, "goods.received")
    assert logged.event_id == got.json["id"] and logged.payload == got.json
    assert logged.organization_id == world.acme.id and logged.delivered_at is not None
    (row,) = webhook_rows()
    assert row.status == "sent" and row.payload["delivery_id"] == logged.id


def test_a_500_is_retried_with_backoff_then_failed_and_the_endpoint_failing(world, quick, held):
    with receiver(status=500) as local:
        endpoint_id, _ = make_endpoint(world, "sales@polbud", ["goods.received"], local.url)
        made = received_order(world)
        with acting_for(world.acme):  # the action is done, whatever the endpoint answers
            assert db.session.get(PurchaseOrder, made.order_id).status == "received"
        (row,) = webhook_rows()
        now = utcnow()
        assert delivery.deliver(row.id, now=now) == "retry"
        row = webhook_rows()[0]
        assert row.next_attempt_at.replace(tzinfo=None) == (now + timedelta(seconds=60)).replace(tzinfo=None)
        (logged,) = deliveries(endpoint_id)
        assert (logged.status, logged.attempts, logged.response_code) == ("pending", 1, 500)
        assert logged.last_error.startswith("HTTP 500")
        assert delivery.deliver(row.id, now=now + timedelta(seconds=30)) == "busy"  # not due yet
        assert delivery.deliver(row.id, now=now + timedelta(seconds=61)) == "retry"
        later = webhook_rows()[0].next_attempt_at
        assert later.replace(tzinfo=None) == (now + timedelta(seconds=61 + 120)).replace(tzinfo=None)
        assert endpoint_row(endpoint_id).status == "active"
        assert delivery.deliver(row.id, now=now + timedelta(hours=1)) == "failed"
        assert len(local.got) == 3
    (logged,) = deliveries(endpoint_id)
    assert (logged.status, logged.attempts) == ("failed", 3)
    endpoint = endpoint_row(endpoint_id)
    assert endpoint.status == "failing" and endpoint.failing_since is not None


def test_a_timeout_is_retried_and_never_blocks_longer_than_the_timeout(world, quick, held):
    with receiver(delay=2.0) as local:
        endpoint_id, _ = make_endpoint(world, "admin@acme", ["goods.received"], local.url)
        received_order(world)
        (row,) = webhook_rows()
        started = utcnow()
        assert delivery.deliver(row.id) == "retry"
        assert (utcnow() - started).total_seconds() < 1.9
        (logged,) = deliveries(endpoint_id)
        assert logged.status == "pending" and "timed out" in logged.last_error
        assert logged.response_code is None
        later = utcnow() + timedelta(hours=1)
        assert delivery.deliver(row.id, now=later) == "retry"
        assert delivery.deliver(row.id, now=later + timedelta(hours=1)) == "failed"
    (logged,) = deliveries(endpoint_id)
    assert (logged.status, logged.attempts) == ("failed", 3)
    assert endpoint_row(endpoint_id).status == "failing"
    assert webhook_rows()[0].status == "failed"


def test_the_action_commits_even_when_the_endpoint_fails_in_process(world, quick):
    """The in-process runner delivers right after the commit: a 500 is recorded for a retry and
    the receipt stands."""
    with receiver(status=500) as local:
        endpoint_id, _ = make_endpoint(world, "admin@acme", ["goods.received"], local.url)
        made = received_order(world)
        assert len(local.got) == 1
    with acting_for(world.acme):
        assert db.session.get(PurchaseOrder, made.order_id).status == "received"
    (row,) = webhook_rows()
    assert row.status == "pending" and row.attempts == 1
    assert deliveries(endpoint_id)[0].response_code == 500


def test_a_success_after_failing_makes_the_endpoint_active_again(world, held):
    with receiver() as local:
        endpoint_id, _ = make_endpoint(world, "admin@acme", ["goods.received"], local.url, status="failing")
        received_order(world)
        (row,) = webhook_rows()
        assert delivery.deliver(row.id) == "sent"
    endpoint = endpoint_row(endpoint_id)
    assert (endpoint.status, endpoint.failing_since) == ("active", None)


def test_redirects_are_not_followed(world, held):
    with receiver(status=302, location="http://169.254.169.254/latest/meta-data") as local:
        endpoint_id, _ = make_endpoint(world, "admin@acme", ["goods.received"], local.url)
        received_order(world)
        (row,) = webhook_rows()
        assert delivery.deliver(row.id) == "retry"
        assert len(local.got) == 1
    assert deliveries(endpoint_id)[0].response_code == 302


def test_a_disabled_or_deleted_endpoint_gets_nothing_queued_earlier(world, held):
    admin = world.user("admin@acme")
    with receiver() as local:
        endpoint_id, _ = make_endpoint(world, "admin@acme", ["goods.received"], local.url)
        received_order(world)
        received_order(world)
        first, second = webhook_rows()
        with as_org(world.acme):
            webhooks.update_endpoint(admin, db.session.get(WebhookEndpoint, endpoint_id), status="disabled")
            db.session.commit()
        assert delivery.deliver(first.id) == "skipped"
        assert deliveries(endpoint_id)[0].status == "failed"
        with as_org(world.acme):
            webhooks.delete_endpoint(admin, db.session.get(WebhookEndpoint, endpoint_id))
            db.session.commit()
        assert delivery.deliver(second.id) == "skipped"
        assert local.got == []


def test_redeliver_sends_the_same_event_again_as_a_new_delivery(world, held):
    admin = world.user("admin@acme")
    with receiver() as local:
        endpoint_id, secret = make_endpoint(world, "admin@acme", ["goods.received"], local.url)
        received_order(world)
        (row,) = webhook_rows()
        delivery.deliver(row.id)
        (first,) = deliveries(endpoint_id)
        with as_org(world.acme):
            webhooks.redeliver(admin, db.session.get(WebhookDelivery, first.id))
            db.session.commit()
        again = webhook_rows()[-1]
        assert again.id != row.id and again.payload["redelivery_of"] == first.id
        assert delivery.deliver(again.id) == "sent"
        assert local.got[0].json == local.got[1].json  # same event id, same payload
        assert local.got[0].headers["Portal-Delivery"] != local.got[1].headers["Portal-Delivery"]
    first_, second = deliveries(endpoint_id)
    assert second.event_id == first_.event_id and second.status == "delivered"
    with as_org(world.acme):
        assert db.session.scalars(select(AuditEvent.action).where(
            AuditEvent.action == "webhook.redelivered")).all() == ["webhook.redelivered"]


def test_send_test_pings_the_endpoint(world, held):
    with receiver() as local:
        endpoint_id, _ = make_endpoint(world, "admin@acme", ["order.issued"], local.url)
        event_id = _ping(world, endpoint_id)
        (row,) = webhook_rows()
        assert delivery.deliver(row.id) == "sent"
    (got,) = local.got
    assert got.json["type"] == "ping" and got.json["id"] == event_id
    assert got.json["data"] == {"object": "webhook_endpoint", "id": endpoint_id, "status": "active",
                                "url": f"/api/v1/webhook-endpoints/{endpoint_id}"}


def test_the_delivery_log_pages_newest_first(world, held):
    endpoint_id, _ = make_endpoint(world, "admin@acme")
    with system(db.session):
        for n in range(5):
            db.session.add(WebhookDelivery(organization_id=world.acme.id, endpoint_id=endpoint_id,
                                           event="order.issued", event_id=f"evt_{n}", payload={},
                                           created_at=utcnow() + timedelta(seconds=n)))
        db.session.commit()
    with as_org(world.acme):
        endpoint = db.session.get(WebhookEndpoint, endpoint_id)
        page = webhooks.deliveries_page(endpoint, per_page=3)
        assert [d.event_id for d in page.items] == ["evt_4", "evt_3", "evt_2"] and page.next
        rest = webhooks.deliveries_page(endpoint, page.next, per_page=3)
        assert [d.event_id for d in rest.items] == ["evt_1", "evt_0"] and rest.next is None


# ---------------------------------------------------------------- the SSRF guard


@pytest.mark.parametrize("url", [
    "https://127.0.0.1/h", "https://127.0.0.2:8443/h", "https://10.1.2.3/h", "https://192.168.1.1/h",
    "https://172.16.0.1/h", "https://169.254.169.254/latest/meta-data", "https://[::1]/h",
    "https://[::ffff:127.0.0.1]/h", "https://[fe80::1]/h", "https://0.0.0.0/h", "https://[::]/h",
    "https://224.0.0.1/h", "https://100.64.0.1/h", "https://127.1/h", "https://2130706433/h",
    "https://0x7f000001/h", "https://localhost/h", "https://LOCALHOST./h", "https://api.localhost/h",
    "https://[fc00::1]/h",
])
def test_private_and_local_targets_are_refused(url):
    with pytest.raises(egress.UnsafeTarget) as refused:
        egress.check_url(url, allow_private=False, allow_http=False)
    assert refused.value.field == "url"


def test_a_name_resolving_to_a_private_address_is_refused(monkeypatch):
    _public_dns(monkeypatch, {"internal.corp.example": "10.0.0.7", "erp.example.com": "93.184.216.34",
                              "sneaky.example.com": "::ffff:169.254.169.254"})
    with pytest.raises(egress.UnsafeTarget):
        egress.check_url("https://internal.corp.example/h", allow_private=False, allow_http=False)
    with pytest.raises(egress.UnsafeTarget):
        egress.check_url("https://sneaky.example.com/h", allow_private=False, allow_http=False)
    target = egress.check_url("https://erp.example.com:8443/h?x=1", allow_private=False, allow_http=False)
    assert (target.addresses, target.port, target.path, target.host_header) == (
        ("93.184.216.34",), 8443, "/h?x=1", "erp.example.com:8443")


def test_http_is_refused_in_production(world, strict):
    with as_org(world.acme), pytest.raises(egress.UnsafeTarget, match="https"):
        webhooks.create_endpoint(world.user("admin@acme"), "http://erp.acme.example/h", ["order.issued"])
    with as_org(world.acme), pytest.raises(egress.UnsafeTarget):
        webhooks.create_endpoint(world.user("admin@acme"), "https://127.0.0.1/h", ["order.issued"])


def test_development_allows_a_local_receiver(world):
    endpoint_id, _ = make_endpoint(world, "admin@acme", ["order.issued"], "http://127.0.0.1:9/h")
    assert endpoint_row(endpoint_id).url == "http://127.0.0.1:9/h"


def test_a_delivery_checks_the_target_again(app, world, held, monkeypatch):
    """Saved while allowed, delivered under production settings: refused, nothing sent, the
    delivery failed without retries and the endpoint failing."""
    with receiver() as local:
        endpoint_id, _ = make_endpoint(world, "admin@acme", ["goods.received"], local.url)
        received_order(world)
        monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", False)
        (row,) = webhook_rows()
        assert delivery.deliver(row.id) == "skipped"
        assert local.got == []
    (logged,) = deliveries(endpoint_id)
    assert logged.status == "failed" and logged.last_error.startswith("refused")
    assert endpoint_row(endpoint_id).status == "failing"


def test_a_delivery_connects_to_the_vetted_address(world, held, monkeypatch):
    """DNS rebinding: the name is resolved once, when vetted; the connection goes to that
    address with the name in the Host header, whatever a second lookup would say."""
    with receiver() as local:
        lookups = []
        real = socket.getaddrinfo

        def rebinding(host, port, *args, **kwargs):
            if host == "hooks.acme.test":
                lookups.append(host)
                if len(lookups) > 1:
                    raise AssertionError("resolved twice: the connection must use the vetted address")
                return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
            return real(host, port, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", rebinding)
        target = egress.check_url(f"http://hooks.acme.test:{local.port}/in", allow_private=True,
                                  allow_http=True, resolve=True)
        answer = egress.post(target, b"{}", {"Content-Type": "application/json"}, timeout=2)
        assert answer.status == 200 and lookups == ["hooks.acme.test"]
        (got,) = local.got
        assert got.headers["Host"] == f"hooks.acme.test:{local.port}" and got.path == "/in"


# ---------------------------------------------------------------- the receiver example


def test_the_receiver_example_accepts_the_right_signature_only():
    example = _receiver_module()
    body = b'{"id":"evt_1","type":"ping","data":{}}'
    now = 1_800_000_000
    good = {"Portal-Timestamp": str(now), "Portal-Signature": webhooks.sign("whsec_x", now, body)}
    assert example.verify_signature("whsec_x", good, body, now=now + 10)
    assert example.verify_signature("whsec_x", {k.lower(): v for k, v in good.items()}, body, now=now)
    assert not example.verify_signature("whsec_y", good, body, now=now)  # wrong secret
    assert not example.verify_signature("whsec_x", good, body + b" ", now=now)  # altered body
    assert not example.verify_signature("whsec_x", {**good, "Portal-Signature": "v1=00"}, body, now=now)
    assert not example.verify_signature("whsec_x", good, body, now=now + 301)  # stale
    assert not example.verify_signature("whsec_x", good, body, now=now - 301)  # from the future
    assert not example.verify_signature("whsec_x", {"Portal-Signature": good["Portal-Signature"]}, body, now=now)


def test_the_receiver_example_serves_deliveries(world, held):
    import threading

    example = _receiver_module()
    secret_box = {}
    endpoint_id, secret = make_endpoint(world, "admin@acme", ["goods.received"], "http://127.0.0.1:9/x")
    server = example.serve(secret, "127.0.0.1", 0)
    secret_box["port"] = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with as_org(world.acme):
            webhooks.update_endpoint(world.user("admin@acme"), db.session.get(WebhookEndpoint, endpoint_id),
                                     url=f"http://127.0.0.1:{secret_box['port']}/hooks")
            db.session.commit()
        received_order(world)
        (row,) = webhook_rows()
        assert delivery.deliver(row.id) == "sent"
        with as_org(world.acme):  # a wrong secret: the example answers 401, the portal retries
            webhooks.rotate_secret(world.user("admin@acme"), db.session.get(WebhookEndpoint, endpoint_id))
            db.session.commit()
        _ping(world, endpoint_id)
        ping = webhook_rows()[-1]
        assert delivery.deliver(ping.id) == "retry"
        assert deliveries(endpoint_id)[-1].response_code == 401
    finally:
        server.shutdown()
        server.server_close()


def test_the_deliverer_writes_across_organisations_only_through_its_own_rows(world, held):
    """The buyer's action tells the supplier's endpoint: the delivery row is the supplier's,
    out of the buyer's sight."""
    with receiver() as local:
        endpoint_id, _ = make_endpoint(world, "sales@polbud", ["goods.received"], local.url)
        received_order(world)  # Acme's action
        (row,) = webhook_rows()
        assert delivery.deliver(row.id) == "sent"
    (logged,) = deliveries(endpoint_id)
    assert logged.organization_id == world.polbud.id
    db.session.expire_all()
    with as_org(world.acme):
        assert db.session.scalars(select(WebhookDelivery).where(WebhookDelivery.id == logged.id)).first() is None
    assert deliverer.body_of({"a": "ż"}) == '{"a":"ż"}'.encode()


def _self_signed(tmp_path, name: str) -> tuple[str, str]:
    import shutil
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    key, cert = tmp_path / f"{name}.key", tmp_path / f"{name}.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",  # noqa: S607
                    "-nodes", "-days", "1",
                    "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return str(cert), str(key)


@pytest.mark.parametrize(("served", "asked", "ok"), [
    ("hooks.acme.test", "hooks.acme.test", True),
    ("evil.example.test", "hooks.acme.test", False),
])
def test_tls_to_the_pinned_address_checks_the_certificate_of_the_name(tmp_path, served, asked, ok):
    """https: the connection goes to the vetted address, the certificate must be the host
    name's (SNI and the name check), so a rebound address cannot pose as the endpoint."""
    import ssl
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    cert, key = _self_signed(tmp_path, served)
    seen = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            seen["host"] = self.headers["Host"]
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    def remember_sni(sock, name, ctx):
        seen["sni"] = name  # returning None: go on with the handshake

    context.sni_callback = remember_sni
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    port = server.server_address[1]
    client = ssl.create_default_context(cafile=cert)
    target = egress.Target(url=f"https://{asked}:{port}/in", scheme="https", host=asked, port=port,
                           path="/in", addresses=("127.0.0.1",))
    try:
        if ok:
            answer = egress.post(target, b"{}", {}, timeout=5, context=client)
            assert answer.status == 204 and seen == {"sni": asked, "host": f"{asked}:{port}"}
        else:
            with pytest.raises(ssl.SSLCertVerificationError):
                egress.post(target, b"{}", {}, timeout=5, context=client)
    finally:
        thread.join(timeout=5)
        server.server_close()


def test_an_endpoint_answering_a_byte_at_a_time_is_cut_off_at_the_timeout():
    """The timeout bounds the whole exchange, not each read."""
    import threading
    import time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Dripping(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers["Content-Length"]))
            try:
                self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                for n in range(30):
                    self.wfile.write(f"X-Drip-{n}: 1\r\n".encode())
                    self.wfile.flush()
                    time.sleep(0.1)
                self.wfile.write(b"Content-Length: 0\r\n\r\n")
            except OSError:
                pass

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Dripping)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    target = egress.Target(url=f"http://127.0.0.1:{port}/", scheme="http", host="127.0.0.1", port=port,
                           path="/", addresses=("127.0.0.1",))
    try:
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            egress.post(target, b"{}", {}, timeout=0.5)
        assert time.monotonic() - started < 1.5
    finally:
        server.shutdown()
        server.server_close()
