"""The demo world's integration settings: an API token per company with a FIXED, documented
secret (so the README's curl examples and docs/erp_example.py work against a fresh demo), and
a webhook endpoint of Acme's ERP that is failing, with deliveries in every state.

The secrets are published on purpose: a demo installation only. Idempotent: a token whose
secret is already known, or an endpoint already registered, is left as it is.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from portal.domain import api_scopes
from portal.extensions import db
from portal.models import Invoice, PurchaseOrder
from portal.models.base import utcnow
from portal.models.integration import DeliveryStatus, EndpointStatus, WebhookDelivery, WebhookEndpoint
from portal.services import audit
from portal.services.integration import tokens
from portal.services.webhook_events import new_event_id, payload_of

# (organisation key, token name, who it acts as (and who issued it), secret)
DEMO_TOKENS = [
    ("acme", "Acme ERP", "admin@acme.example",
     "pt_demo_acme_erp_0000000000000000000000000000"),  # noqa: S105 - documented demo secret
    ("nordwind", "Nordwind ERP", "sales@nordwind.example",
     "pt_demo_nordwind_erp_000000000000000000000000"),  # noqa: S105 - documented demo secret
    ("globex", "Globex ERP", "admin@globex.example",
     "pt_demo_globex_erp_00000000000000000000000000"),  # noqa: S105 - documented demo secret
]

DEMO_ENDPOINT_URL = "https://erp.acme.example/hooks"
DEMO_ENDPOINT_EVENTS = ["requisition.approved", "order.issued", "order.acknowledged",
                        "goods.received", "invoice.issued", "invoice.approved"]
DEMO_ENDPOINT_SECRET = "whsec_demo_acme_erp_000000000000000000000000"  # noqa: S105 - demo only


def seed_integration(world) -> None:
    """The demo tokens and Acme's webhook endpoint (run under system(), inside seed_demo)."""
    users = world["users"]
    for _key, name, email, secret in DEMO_TOKENS:
        if tokens.find(db.session, secret) is not None:
            continue
        person = users[email]
        tokens.issue_token(person, name=name, scopes=list(api_scopes.ALL_SCOPES), user=person,
                           secret=secret)
    _seed_endpoint(world)
    db.session.flush()


def _seed_endpoint(world) -> None:
    acme = world["orgs"]["acme"]
    admin = world["users"]["admin@acme.example"]
    found = db.session.scalars(select(WebhookEndpoint).where(
        WebhookEndpoint.organization_id == acme.id, WebhookEndpoint.url == DEMO_ENDPOINT_URL)).first()
    if found is not None:
        return
    now = utcnow()
    endpoint = WebhookEndpoint(
        organization_id=acme.id, url=DEMO_ENDPOINT_URL, events=list(DEMO_ENDPOINT_EVENTS),
        description="ERP (SAP Business One) – integracja zamówień i faktur",
        secret=DEMO_ENDPOINT_SECRET, status=EndpointStatus.FAILING,
        failing_since=now - timedelta(hours=5), created_by_id=admin.id,
        created_at=now - timedelta(days=3))  # registered before its first delivery
    db.session.add(endpoint)
    db.session.flush()
    audit.record(actor=admin, action="webhook.created", obj=endpoint,
                 summary={"url": endpoint.url, "events": endpoint.events})
    order = db.session.scalars(select(PurchaseOrder).where(
        PurchaseOrder.organization_id == acme.id).order_by(PurchaseOrder.id)).first()
    invoice = db.session.scalars(select(Invoice).where(
        Invoice.organization_id == acme.id).order_by(Invoice.id)).first()
    # (event, the document, status, response code, attempts, last error, how long ago)
    rows = [
        ("order.issued", order, DeliveryStatus.DELIVERED, 200, 1, "", timedelta(days=2, hours=3)),
        ("order.acknowledged", order, DeliveryStatus.DELIVERED, 200, 2,
         "Timed out after 5 s", timedelta(days=1, hours=20)),
        ("invoice.issued", invoice, DeliveryStatus.FAILED, 500, 5,
         "HTTP 500: Internal Server Error", timedelta(hours=9)),
        ("invoice.approved", invoice, DeliveryStatus.PENDING, 503, 2,
         "HTTP 503: Service Unavailable", timedelta(minutes=40)),
    ]
    for event, obj, status, code, attempts, error, ago in rows:
        if obj is None:
            continue
        at = now - ago
        event_id = new_event_id()
        db.session.add(WebhookDelivery(
            organization_id=acme.id, endpoint_id=endpoint.id, event=event, event_id=event_id,
            payload=payload_of(event, event_id, at, obj), status=status, attempts=attempts,
            response_code=code, last_error=error, created_at=at,
            last_attempt_at=at + timedelta(minutes=2 ** attempts),
            delivered_at=at + timedelta(minutes=2 ** attempts) if status == DeliveryStatus.DELIVERED else None))
