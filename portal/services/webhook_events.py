"""Webhook events of audit actions: who is told, and the outbox rows that tell them.

`portal.services.audit.record` calls `publish(action, obj, actor)` for every audit event; a
mapped action (`ACTION_EVENTS`) writes one outbox row (kind "webhook") per subscribed endpoint
(active or failing) of each recipient organisation, in the action's own transaction: a
rolled-back action sends nothing, and the delivery (portal/jobs/webhooks.py) runs after the
commit, so a slow or broken endpoint never blocks or undoes the action.

Who is told: the document's owner; for a shared document (order, invoice) also its supplier;
an RFQ's publication also each invited supplier; a quote's submission only the buyer.

The endpoints themselves are managed in portal/services/integration/webhooks.py (which
re-exports these names); this module sits below the audit so the audit can call it.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select

from portal.extensions import db
from portal.models.base import utcnow
from portal.models.integration import EndpointStatus, WebhookEndpoint
from portal.services import outbox
from portal.tenancy import ALL_TENANTS

WEBHOOK_KIND = "webhook"
PING = "ping"

# Audit action -> webhook event.
ACTION_EVENTS: dict[str, str] = {
    "requisition.approved": "requisition.approved",
    "requisition.rejected": "requisition.rejected",
    "rfq.published": "rfq.published",
    "quote.submitted": "quote.submitted",
    "order.issued": "order.issued",
    "order.acknowledged": "order.acknowledged",
    "order.received": "goods.received",
    "invoice.issued": "invoice.issued",
    "invoice.approved": "invoice.approved",
    "invoice.paid": "invoice.paid",
    "invoice.payment_recorded": "payment.recorded",
}
# Events told to the document's owner only (the supplier did it, or there is none).
OWNER_ONLY = frozenset({"requisition.approved", "requisition.rejected", "quote.submitted"})

# Model -> (object name in the payload, API path).
_OBJECTS: dict[str, tuple[str, str]] = {
    "Requisition": ("requisition", "/api/v1/requisitions/{id}"),
    "Rfq": ("rfq", "/api/v1/rfqs/{id}"),
    "Quote": ("quote", "/api/v1/quotes/{id}"),
    "PurchaseOrder": ("order", "/api/v1/orders/{id}"),
    "Invoice": ("invoice", "/api/v1/invoices/{id}"),
    "WebhookEndpoint": ("webhook_endpoint", "/api/v1/webhook-endpoints/{id}"),
}


def new_event_id() -> str:
    return f"evt_{uuid.uuid4().hex}"


def payload_of(event: str, event_id: str, at: datetime, obj) -> dict:
    """The JSON body: {"id", "type", "created_at", "data": {"object", "id", "number", "status",
    "url"}} (no amounts or lines: the receiver reads the document through the API)."""
    kind = obj.__class__.__name__
    name, path = _OBJECTS.get(kind, (kind.lower(), ""))
    if kind == "Invoice" and str(getattr(obj, "kind", "")) == "credit_note":
        name, path = "credit_note", "/api/v1/credit-notes/{id}"
    data: dict = {"object": name, "id": obj.id}
    if hasattr(obj, "number") and kind != "WebhookEndpoint":
        data["number"] = obj.number
    status = getattr(obj, "status", None)
    if status is not None:
        data["status"] = str(getattr(status, "value", status))
    if kind == "Quote":
        data["rfq_id"] = obj.rfq_id
    if path:
        data["url"] = path.format(id=obj.id)
    return {"id": event_id, "type": event,
            "created_at": at.isoformat().replace("+00:00", "Z"), "data": data}


def recipients(event: str, obj) -> list[int]:
    """The organisations told about `event` on `obj` (their ids, owner first)."""
    orgs: list[int] = []

    def add(org_id):
        if org_id is not None and org_id not in orgs:
            orgs.append(org_id)

    add(getattr(obj, "organization_id", None))
    if event in OWNER_ONLY:
        return orgs
    if event == "rfq.published":
        for invitation in getattr(obj, "invitations", None) or []:
            if str(getattr(invitation.status, "value", invitation.status)) != "declined":
                add(invitation.supplier_id)
        return orgs
    add(getattr(obj, "supplier_id", None))
    return orgs


def subscribed(org_ids: list[int], event: str) -> list[WebhookEndpoint]:
    """The endpoints (active or failing) of these organisations subscribed to `event`.

    Deliberate cross-tenant read: the action's actor belongs to one side, and the other side's
    endpoints are told as well (only their id and organisation are used)."""
    if not org_ids:
        return []
    rows = db.session.scalars(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.organization_id.in_(org_ids),
               WebhookEndpoint.status.in_([EndpointStatus.ACTIVE, EndpointStatus.FAILING]))
        .order_by(WebhookEndpoint.id)
        .execution_options(**ALL_TENANTS)
    ).all()
    return [e for e in rows if event in (e.events or [])]


def publish(action: str, obj, actor=None) -> list[int]:
    """Queue the webhook event of an audit action (nothing for an unmapped one); returns the ids
    of the endpoints told. Runs in the action's transaction; the caller commits."""
    event = ACTION_EVENTS.get(action)
    if event is None:
        return []
    endpoints = subscribed(recipients(event, obj), event)
    if not endpoints:
        return []
    event_id = new_event_id()
    payload = payload_of(event, event_id, utcnow(), obj)
    for endpoint in endpoints:
        enqueue(endpoint, event, event_id, payload)
    return [e.id for e in endpoints]


def enqueue(endpoint: WebhookEndpoint, event: str, event_id: str, payload: dict, *,
            redelivery_of: int | None = None, force: bool = False) -> None:
    """One outbox row delivering `payload` to `endpoint` (written by portal/jobs/webhooks.py
    into the endpoint's delivery log at its first attempt). `force`: even to a disabled
    endpoint (a test event the admin asked for)."""
    message = {"endpoint_id": endpoint.id, "organization_id": endpoint.organization_id,
               "event": event, "event_id": event_id, "body": payload}
    if redelivery_of is not None:
        message["redelivery_of"] = redelivery_of
    if force:
        message["force"] = True
    outbox.enqueue(WEBHOOK_KIND, message, key=f"webhook:{event_id}:{endpoint.id}:{uuid.uuid4().hex[:12]}",
                   flush=False)
