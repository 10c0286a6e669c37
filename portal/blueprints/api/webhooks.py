"""Webhook endpoints and their deliveries: `GET/POST /webhook-endpoints`,
`GET/DELETE /webhook-endpoints/{id}`, `GET /webhook-endpoints/{id}/deliveries`,
`POST /webhook-deliveries/{id}/redeliver`.

The same rule as the Administration → Webhooks pages: only the organisation's admin (buyer admin
or supplier admin) manages them ("integration.manage"), through the same service
(portal/services/integration/webhooks.py): the URL passes the SSRF guard (https only and no
private or local address outside development), `POST /webhook-endpoints` answers the signing
secret once (it is never shown again), deleting an endpoint deletes its delivery log, and a
redelivery sends the same event (same id) again as a new delivery. Scope "webhooks".
"""

from __future__ import annotations

from flask import Response
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from portal.blueprints.api.core import actor, blueprint, idempotent, load_or_404, requires, sync_page
from portal.blueprints.api.schemas import ListArgs, Problem, Strict, page_of
from portal.blueprints.edge import unit_of_work
from portal.blueprints.problems import API_PREFIX
from portal.models.integration import DeliveryStatus, EndpointStatus, WebhookDelivery, WebhookEndpoint
from portal.policies import enforce
from portal.services.integration import webhooks as service
from portal.services.paging import Key, Order

bp = blueprint("webhooks", "Webhook endpoints (the events sent to your systems) and their deliveries")

EVENT_NAMES = list(service.EVENTS)
ENDPOINT_STATUSES = [s.value for s in EndpointStatus]
DELIVERY_STATUSES = [s.value for s in DeliveryStatus]
EVENTS_TEXT = ", ".join(EVENT_NAMES)

# Endpoints and deliveries carry no updated_at: both lists walk (created_at, id).
ENDPOINT_ORDER = Order("api-webhook-endpoints", Key(WebhookEndpoint.created_at), Key(WebhookEndpoint.id))
DELIVERY_ORDER = Order("api-webhook-deliveries", Key(WebhookDelivery.created_at), Key(WebhookDelivery.id))

UNAUTHORIZED = {"schema": Problem, "description": "No token, or a revoked or expired one"}
FORBIDDEN = {"schema": Problem, "description": "Not the organisation's admin, or the token lacks the scope"}
NOT_FOUND = {"schema": Problem, "description": "No such endpoint or delivery in the organisation"}
INVALID = {"schema": Problem, "description": "Invalid input: `errors` names each field"}
SINCE = "only those created at or after this moment (ISO 8601 with offset)"


# ---------------------------------------------------------------- schemas


class WebhookEndpointListArgs(ListArgs):
    updated_since = fields.AwareDateTime(load_default=None, format="iso", metadata={"description": SINCE})
    status = fields.String(load_default=None, validate=validate.OneOf(ENDPOINT_STATUSES))


class WebhookDeliveryListArgs(ListArgs):
    updated_since = fields.AwareDateTime(load_default=None, format="iso", metadata={"description": SINCE})
    status = fields.String(load_default=None, validate=validate.OneOf(DELIVERY_STATUSES))
    event = fields.String(load_default=None, validate=validate.OneOf([*EVENT_NAMES, service.PING]))


class WebhookEndpointSchema(Schema):
    id = fields.Integer()
    url = fields.String()
    description = fields.String()
    events = fields.List(fields.String(), metadata={"description": f"subscribed events: {EVENTS_TEXT}"})
    status = fields.String(metadata={"description": "active; failing (the last delivery gave up after "
                                                    "every retry; deliveries still go out); disabled"})
    failing_since = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime()


class WebhookEndpointCreatedSchema(WebhookEndpointSchema):
    secret = fields.String(metadata={
        "description": "the signing secret, shown this once: verify each delivery's "
                       "Portal-Signature (v1=hex HMAC-SHA256(secret, '{Portal-Timestamp}.{body}'))"})


class WebhookEndpointIn(Strict):
    url = fields.String(required=True, validate=validate.Length(min=1, max=2000), metadata={
        "description": "https URL (http only in development); no private or local address"})
    events = fields.List(fields.String(validate=validate.OneOf(EVENT_NAMES)), required=True,
                         validate=validate.Length(min=1, max=len(EVENT_NAMES) * 2),
                         metadata={"description": f"one or more of: {EVENTS_TEXT}"})
    description = fields.String(load_default="", validate=validate.Length(max=service.MAX_DESCRIPTION))


class WebhookDeliverySchema(Schema):
    id = fields.Integer()
    endpoint_id = fields.Integer()
    event = fields.String()
    event_id = fields.String(metadata={"description": "the event's id (the same on a redelivery)"})
    status = fields.String(metadata={"description": ", ".join(DELIVERY_STATUSES)})
    attempts = fields.Integer()
    response_code = fields.Integer(allow_none=True)
    last_error = fields.String()
    payload = fields.Dict(metadata={"description": "the JSON body sent"})
    created_at = fields.AwareDateTime()
    last_attempt_at = fields.AwareDateTime(allow_none=True)
    delivered_at = fields.AwareDateTime(allow_none=True)


class WebhookRedeliverIn(Strict):
    """No fields: send `{}`."""


class WebhookRedeliverySchema(Schema):
    endpoint_id = fields.Integer()
    event = fields.String()
    event_id = fields.String()
    redelivery_of = fields.Integer(metadata={"description": "the delivery sent again"})
    status = fields.String(metadata={"description": "queued: the new delivery appears in the "
                                                   "endpoint's deliveries at its first attempt"})


# ---------------------------------------------------------------- views


def _endpoint(endpoint_id: int) -> WebhookEndpoint:
    user = actor()
    enforce(user, "integration.manage")
    endpoint = load_or_404(WebhookEndpoint, endpoint_id)
    enforce(user, "integration.manage", endpoint)
    return endpoint


@bp.route("/webhook-endpoints", methods=["GET"])
@requires("webhooks")
@bp.arguments(WebhookEndpointListArgs, location="query")
@bp.response(200, page_of(WebhookEndpointSchema))
@bp.alt_response(401, **UNAUTHORIZED)
@bp.alt_response(403, **FORBIDDEN)
@bp.alt_response(422, schema=Problem, description="A filter or the cursor is not valid")
def list_endpoints(args):
    """The organisation's webhook endpoints, oldest first (their secrets are never listed)."""
    enforce(actor(), "integration.manage")
    query = select(WebhookEndpoint)
    if args.get("status"):
        query = query.where(WebhookEndpoint.status == EndpointStatus(args["status"]))
    return sync_page(query, WebhookEndpoint, args, order=ENDPOINT_ORDER)


@bp.route("/webhook-endpoints", methods=["POST"])
@requires("webhooks", write=True)
@idempotent
@bp.arguments(WebhookEndpointIn)
@bp.response(201, WebhookEndpointCreatedSchema, headers={"Location": {
    "description": "the endpoint's address", "schema": {"type": "string"}}})
@bp.alt_response(401, **UNAUTHORIZED)
@bp.alt_response(403, **FORBIDDEN)
@bp.alt_response(409, schema=Problem, description="The same Idempotency-Key is still in progress")
@bp.alt_response(422, schema=Problem, description="Invalid fields, or a URL the portal will not call "
                                                  "(http in production, a private or local address)")
@bp.alt_response(428, schema=Problem, description="No Idempotency-Key header")
def create_endpoint(data):
    """Register an endpoint for some events. The answer holds the signing secret, once; a retry
    with the same Idempotency-Key answers the same (the first answer is stored) and creates
    nothing."""
    endpoint, _secret = service.create_endpoint(actor(), data["url"], data["events"], data["description"])
    # The created schema alone dumps `secret` (the endpoint keeps it to sign with).
    return endpoint, 201, {"Location": f"{API_PREFIX}/webhook-endpoints/{endpoint.id}"}


@bp.route("/webhook-endpoints/<int:endpoint_id>", methods=["GET"])
@requires("webhooks")
@bp.response(200, WebhookEndpointSchema)
@bp.alt_response(401, **UNAUTHORIZED)
@bp.alt_response(403, **FORBIDDEN)
@bp.alt_response(404, **NOT_FOUND)
def get_endpoint(endpoint_id: int):
    """One endpoint (without its secret)."""
    return _endpoint(endpoint_id)


@bp.route("/webhook-endpoints/<int:endpoint_id>", methods=["DELETE"])
@requires("webhooks", write=True)
@bp.response(204)
@bp.alt_response(401, **UNAUTHORIZED)
@bp.alt_response(403, **FORBIDDEN)
@bp.alt_response(404, **NOT_FOUND)
def delete_endpoint(endpoint_id: int):
    """Delete the endpoint and its delivery log; deliveries still queued for it are dropped."""
    with unit_of_work():
        service.delete_endpoint(actor(), _endpoint(endpoint_id))
    return Response(status=204)  # no body (and no JSON content type)


@bp.route("/webhook-endpoints/<int:endpoint_id>/deliveries", methods=["GET"])
@requires("webhooks")
@bp.arguments(WebhookDeliveryListArgs, location="query")
@bp.response(200, page_of(WebhookDeliverySchema))
@bp.alt_response(401, **UNAUTHORIZED)
@bp.alt_response(403, **FORBIDDEN)
@bp.alt_response(404, **NOT_FOUND)
@bp.alt_response(422, schema=Problem, description="A filter or the cursor is not valid")
def list_deliveries(args, endpoint_id: int):
    """The endpoint's delivery log, oldest first: each event sent (or being sent), its attempts
    and the last answer."""
    endpoint = _endpoint(endpoint_id)
    query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
    if args.get("status"):
        query = query.where(WebhookDelivery.status == DeliveryStatus(args["status"]))
    if args.get("event"):
        query = query.where(WebhookDelivery.event == args["event"])
    return sync_page(query, WebhookDelivery, args, order=DELIVERY_ORDER)


@bp.route("/webhook-deliveries/<int:delivery_id>/redeliver", methods=["POST"])
@requires("webhooks", write=True)
@idempotent
@bp.arguments(WebhookRedeliverIn)
@bp.response(202, WebhookRedeliverySchema)
@bp.alt_response(401, **UNAUTHORIZED)
@bp.alt_response(403, **FORBIDDEN)
@bp.alt_response(404, **NOT_FOUND)
@bp.alt_response(409, schema=Problem, description="The same Idempotency-Key is still in progress")
@bp.alt_response(422, schema=Problem, description="The endpoint is disabled, or the body is not `{}`")
@bp.alt_response(428, schema=Problem, description="No Idempotency-Key header")
def redeliver(data, delivery_id: int):
    """Send a delivery's event again (same event id, so a receiver that handled it skips it) as
    a new delivery of the log."""
    user = actor()
    enforce(user, "integration.manage")
    delivery = load_or_404(WebhookDelivery, delivery_id)
    service.redeliver(user, delivery)
    return {"endpoint_id": delivery.endpoint_id, "event": delivery.event, "event_id": delivery.event_id,
            "redelivery_of": delivery.id, "status": "queued"}, 202
