"""Webhook endpoints: an organisation admin's URLs, told about its documents' events.

Management (all enforce "integration.manage"; the caller commits):
- `create_endpoint(actor, url, events, description)` -> (endpoint, secret): the secret is shown
  once by the caller (it stays stored: every delivery is signed with it).
- `update_endpoint(actor, endpoint, url=, events=, description=, status=)`: only what is given
  changes; `status` "active"/"disabled" (re-enabling clears `failing`).
- `delete_endpoint(actor, endpoint)`: the endpoint and its delivery log go (a queued delivery
  finds no endpoint and is dropped).
- `rotate_secret(actor, endpoint)` -> the new secret.
- `redeliver(actor, delivery)`: the same payload again, same event id (receivers de-duplicate),
  as a new delivery in the log.
- `send_test(actor, endpoint)`: a "ping" event to this endpoint only.
- `deliveries_page(endpoint, cursor, per_page)`: its delivery log, newest first (keyset).

Events: `publish(action, obj, actor)` is called by `portal.services.audit.record` for every
audit event; the mapped actions (`ACTION_EVENTS`) write one outbox row (kind "webhook") per
subscribed endpoint (active or failing) of each recipient organisation, in the action's
transaction: a rolled-back action sends nothing, and the delivery (portal/jobs/webhooks.py)
happens after the commit, so a slow or broken endpoint never blocks or undoes the action.
Who is told: the document's owner; for a shared document (order, invoice) also its supplier;
an RFQ's publication also each invited supplier; a quote's submission only the buyer.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import delete, select

from portal.domain.messages import N_, Msg
from portal.errors import ValidationProblem
from portal.extensions import db
from portal.models.base import utcnow
from portal.models.integration import DeliveryStatus, EndpointStatus, WebhookDelivery, WebhookEndpoint
from portal.policies import enforce
from portal.services import audit
from portal.services.integration import egress
from portal.services.paging import LIST_PER_PAGE, Key, KeysetPage, Order, keyset
from portal.services.webhook_events import (
    ACTION_EVENTS,
    OWNER_ONLY,
    PING,
    WEBHOOK_KIND,
    enqueue,
    new_event_id,
    payload_of,
    publish,
    recipients,
    subscribed,
)

SECRET_PREFIX = "whsec_"  # noqa: S105 - the secrets' readable start
MAX_ENDPOINTS = 20  # per organisation
MAX_DESCRIPTION = 200

# Event name -> label (marked for translation; pages render them with _()), in display order.
EVENTS: dict[str, str] = {
    "requisition.approved": N_("Requisition approved"),
    "requisition.rejected": N_("Requisition rejected"),
    "rfq.published": N_("RFQ published"),
    "quote.submitted": N_("Quote submitted"),
    "order.issued": N_("Order issued"),
    "order.acknowledged": N_("Order acknowledged"),
    "goods.received": N_("Goods received"),
    "invoice.issued": N_("Invoice issued"),
    "invoice.approved": N_("Invoice approved"),
    "invoice.paid": N_("Invoice paid"),
    "payment.recorded": N_("Payment recorded"),
}
PING_LABEL = N_("Test event (ping)")

NEWEST = Order("newest", Key(WebhookDelivery.created_at, descending=True),
               Key(WebhookDelivery.id, descending=True))


class EndpointProblem(ValidationProblem):
    """Input of an endpoint that breaks a rule; `field` names the form field ("url", "events",
    "description", "status") so a page or the API shows it next to that field."""

    def __init__(self, message, field: str):
        super().__init__(message)
        self.field = field


# ---------------------------------------------------------------- secrets and signatures


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The Portal-Signature header's value: v1=<hex HMAC-SHA256(secret, "{timestamp}.{body}")>."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"v1={digest}"


# ---------------------------------------------------------------- validation


def clean_events(events) -> list[str]:
    """The known events among `events`, in catalogue order; EndpointProblem for none or unknown."""
    chosen = {str(e).strip() for e in (events or []) if str(e).strip()}
    unknown = sorted(chosen - set(EVENTS))
    if unknown:
        raise EndpointProblem(Msg(N_("Unknown event: %(event)s."), {"event": unknown[0]}), "events")
    if not chosen:
        raise EndpointProblem(Msg(N_("Choose at least one event.")), "events")
    return [name for name in EVENTS if name in chosen]


def clean_url(url: str) -> str:
    """The URL as stored, or UnsafeTarget (field "url"): form, scheme and the addresses it
    resolves to now (checked again at every delivery)."""
    return egress.check_url(url).url


def _clean_description(description) -> str:
    text = (description or "").strip()
    if len(text) > MAX_DESCRIPTION:
        raise EndpointProblem(Msg(N_("The description may be at most %(count)s characters."),
                                  {"count": MAX_DESCRIPTION}), "description")
    return text


# ---------------------------------------------------------------- management


def create_endpoint(actor, url: str, events, description: str = "") -> tuple[WebhookEndpoint, str]:
    """Register an endpoint of the actor's organisation; returns (endpoint, secret)."""
    enforce(actor, "integration.manage")
    chosen = clean_events(events)
    text = _clean_description(description)
    target = clean_url(url)
    count = len(db.session.scalars(select(WebhookEndpoint.id).limit(MAX_ENDPOINTS + 1)).all())
    if count >= MAX_ENDPOINTS:
        raise EndpointProblem(Msg(N_("An organisation may have at most %(count)s webhook endpoints."),
                                  {"count": MAX_ENDPOINTS}), "url")
    secret = new_secret()
    endpoint = WebhookEndpoint(organization_id=actor.organization_id, url=target, description=text,
                               events=chosen, secret=secret, status=EndpointStatus.ACTIVE,
                               created_by_id=actor.id)
    db.session.add(endpoint)
    db.session.flush()
    _audit(actor, "webhook.created", endpoint, {"url": endpoint.url, "events": chosen})
    return endpoint, secret


def update_endpoint(actor, endpoint: WebhookEndpoint, *, url: str | None = None, events=None,
                    description: str | None = None, status: str | None = None) -> WebhookEndpoint:
    """Change what is given; `status` "active" (also clears failing) or "disabled"."""
    enforce(actor, "integration.manage", endpoint)
    changes: dict = {}
    if events is not None:
        chosen = clean_events(events)
        if chosen != list(endpoint.events or []):
            changes["events"] = (list(endpoint.events or []), chosen)
            endpoint.events = chosen
    if description is not None:
        text = _clean_description(description)
        if text != endpoint.description:
            changes["description"] = (endpoint.description, text)
            endpoint.description = text
    if url is not None:
        target = clean_url(url)
        if target != endpoint.url:
            changes["url"] = (endpoint.url, target)
            endpoint.url = target
    if status is not None:
        wanted = _status(status)
        if wanted == EndpointStatus.DISABLED and endpoint.status != EndpointStatus.DISABLED:
            changes["status"] = (str(endpoint.status), str(wanted))
            endpoint.status = wanted
        elif wanted == EndpointStatus.ACTIVE and endpoint.status != EndpointStatus.ACTIVE:
            changes["status"] = (str(endpoint.status), str(wanted))
            endpoint.status, endpoint.failing_since = wanted, None
    if changes:
        _audit(actor, "webhook.updated", endpoint, {"url": endpoint.url}, changes=changes)
        db.session.flush()
    return endpoint


def _status(value) -> EndpointStatus:
    try:
        wanted = EndpointStatus(str(value))
    except ValueError:
        wanted = None
    if wanted not in (EndpointStatus.ACTIVE, EndpointStatus.DISABLED):
        raise EndpointProblem(Msg(N_("An endpoint is either active or disabled.")), "status")
    return wanted


def delete_endpoint(actor, endpoint: WebhookEndpoint) -> None:
    """Delete the endpoint and its delivery log. Deliveries still queued find no endpoint and
    are dropped by the deliverer."""
    enforce(actor, "integration.manage", endpoint)
    _audit(actor, "webhook.deleted", endpoint, {"url": endpoint.url})
    db.session.execute(
        delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
        .execution_options(synchronize_session=False)
    )
    db.session.delete(endpoint)
    db.session.flush()


def rotate_secret(actor, endpoint: WebhookEndpoint) -> str:
    """A new signing secret (deliveries from now on use it); returns it (shown once)."""
    enforce(actor, "integration.manage", endpoint)
    endpoint.secret = new_secret()
    _audit(actor, "webhook.secret_rotated", endpoint, {"url": endpoint.url})
    db.session.flush()
    return endpoint.secret


def redeliver(actor, delivery: WebhookDelivery) -> None:
    """Send a delivery's payload again (same event id: receivers de-duplicate) as a new delivery
    of the log, whatever the first one's outcome."""
    endpoint = delivery.endpoint
    enforce(actor, "integration.manage", endpoint)
    if endpoint.status == EndpointStatus.DISABLED:
        raise EndpointProblem(Msg(N_("The endpoint is disabled: enable it to redeliver.")), "status")
    enqueue(endpoint, delivery.event, delivery.event_id, delivery.payload, redelivery_of=delivery.id)
    _audit(actor, "webhook.redelivered", endpoint,
           {"url": endpoint.url, "event": delivery.event, "event_id": delivery.event_id})


def send_test(actor, endpoint: WebhookEndpoint) -> str:
    """Queue a "ping" event to this endpoint only (even a disabled one: the admin asked);
    returns its event id."""
    enforce(actor, "integration.manage", endpoint)
    event_id = new_event_id()
    payload = payload_of(PING, event_id, utcnow(), endpoint)
    enqueue(endpoint, PING, event_id, payload, force=True)
    return event_id


def deliveries_page(endpoint: WebhookEndpoint, cursor: str | None = None,
                    per_page: int = LIST_PER_PAGE) -> KeysetPage:
    """The endpoint's delivery log, newest first (keyset; BadCursor for a foreign cursor)."""
    query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
    return keyset(query, NEWEST, cursor=cursor, per_page=per_page)


def _audit(actor, action: str, endpoint: WebhookEndpoint, summary: dict, changes=None) -> None:
    audit.record(actor=actor, action=action, obj=endpoint, summary=summary, changes=changes)


__all__ = [
    "ACTION_EVENTS", "EVENTS", "OWNER_ONLY", "PING", "PING_LABEL", "WEBHOOK_KIND", "DeliveryStatus",
    "EndpointProblem", "EndpointStatus", "create_endpoint", "delete_endpoint", "deliveries_page",
    "enqueue", "new_event_id", "payload_of", "publish", "recipients", "redeliver", "rotate_secret",
    "send_test", "sign", "subscribed", "update_endpoint",
]
