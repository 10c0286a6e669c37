"""What the admin's webhook list shows: the organisation's endpoints and each one's newest
delivery (the endpoints themselves are managed in webhooks.py)."""

from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from portal.models.integration import WebhookDelivery, WebhookEndpoint

MAX_SHOWN = 200  # an organisation has a handful (webhooks.MAX_ENDPOINTS); never more than this


def endpoints() -> list[WebhookEndpoint]:
    """The current organisation's endpoints, oldest first (the tenant filter scopes them)."""
    return list(db.session.scalars(
        select(WebhookEndpoint).order_by(WebhookEndpoint.id).limit(MAX_SHOWN)))


def last_deliveries(shown) -> dict[int, WebhookDelivery]:
    """endpoint id -> its newest delivery: one probe of ix_webhook_deliveries_endpoint per
    endpoint (a handful), never a scan of the log."""
    found = {}
    for endpoint in shown:
        newest = db.session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
            .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc()).limit(1)
        ).first()
        if newest is not None:
            found[endpoint.id] = newest
    return found
