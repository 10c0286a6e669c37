"""Delivering a webhook: one attempt of one outbox row of kind "webhook".

portal/jobs/outbox.py claims the row and calls `attempt(row, now=..., final=...)`; this module:

1. in a session of its own, with no tenant filter (the endpoint may belong to any organisation:
   the row was written by our own code at action time), finds the endpoint and the delivery of
   the log (written here at the first attempt; its id is kept in the row's payload), counts
   the attempt and commits, so the log shows it even if the process dies mid-call;
2. vets the URL again (`egress.check_url`: the host may resolve elsewhere now) and POSTs the
   signed JSON to the VETTED address (DNS rebinding cannot redirect it), never following a
   redirect, within WEBHOOK_TIMEOUT_SECONDS;
3. records the answer: a 2xx delivers (and a failing endpoint is active again); anything else
   raises `AttemptFailed` for the outbox to retry with its backoff. On the last attempt the
   delivery is failed and the endpoint `failing` (since now).

`EndpointGone` (deleted, disabled, or refused by the SSRF guard) ends the row without retries.
The action that caused the event committed long before: nothing here can block or undo it.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime

from flask import current_app
from sqlalchemy import update
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.models.base import utcnow
from portal.models.integration import DeliveryStatus, EndpointStatus, WebhookDelivery, WebhookEndpoint
from portal.models.outbox import OutboxMessage
from portal.services.integration import egress
from portal.services.integration.webhooks import WEBHOOK_KIND, sign
from portal.tenancy import system

log = logging.getLogger("portal.jobs.webhooks")

USER_AGENT = "Portal-Webhooks/1"
KIND = WEBHOOK_KIND


class EndpointGone(Exception):
    """The delivery can never be made (endpoint deleted or disabled, URL refused): no retry."""


class AttemptFailed(Exception):
    """This attempt failed (timeout, refused connection, a non-2xx answer): retried later."""


def body_of(payload: dict) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def headers_of(secret: str, *, event: str, event_id: str, delivery_id: int, body: bytes,
               timestamp: int | None = None) -> dict[str, str]:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Portal-Event": event,
        "Portal-Event-Id": event_id,
        "Portal-Delivery": str(delivery_id),
        "Portal-Timestamp": str(timestamp),
        "Portal-Signature": sign(secret, timestamp, body),
    }


def _session() -> Session:
    return Session(db.engine, expire_on_commit=False)


def attempt(row: OutboxMessage, *, now: datetime | None = None, final: bool = False) -> int:
    """One attempt of the webhook outbox row; returns the answer's status code (2xx).

    Raises AttemptFailed (retry; `final`: this was the last attempt) or EndpointGone."""
    now = now or utcnow()
    message = dict(row.payload or {})
    config = current_app.config
    with _session() as session, system(session):
        endpoint = session.get(WebhookEndpoint, message.get("endpoint_id"))
        delivery = session.get(WebhookDelivery, message["delivery_id"]) if message.get("delivery_id") else None
        if endpoint is None:
            raise EndpointGone("the endpoint was deleted")
        if delivery is None:
            delivery = WebhookDelivery(
                organization_id=endpoint.organization_id, endpoint_id=endpoint.id,
                event=str(message.get("event", ""))[:60], event_id=str(message.get("event_id", ""))[:40],
                payload=message.get("body") or {}, status=DeliveryStatus.PENDING, attempts=0,
                created_at=now,
            )
            session.add(delivery)
            session.flush()
            message["delivery_id"] = delivery.id
            session.execute(update(OutboxMessage).where(OutboxMessage.id == row.id)
                            .values(payload=message).execution_options(synchronize_session=False))
        if endpoint.status == EndpointStatus.DISABLED and not message.get("force"):
            delivery.status, delivery.last_error = DeliveryStatus.FAILED, "the endpoint is disabled"
            session.commit()
            raise EndpointGone("the endpoint is disabled")
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.status = DeliveryStatus.PENDING
        session.commit()
        url, secret, delivery_id = endpoint.url, endpoint.secret, delivery.id
        event, event_id = delivery.event, delivery.event_id
        body = body_of(delivery.payload or {})

    settings = egress.Settings.from_config(config)
    code: int | None = None
    try:
        target = egress.check_url(url, allow_private=settings.allow_private,
                                  allow_http=settings.allow_http, resolve=True)
    except egress.Unresolvable as exc:
        error = f"could not resolve the host: {exc}"
    except egress.UnsafeTarget as exc:
        _record(delivery_id, now, final=True, error=f"refused: {exc}", code=None, gone=True)
        raise EndpointGone(f"refused by the SSRF guard: {exc}") from exc
    else:
        try:
            answer = egress.post(target, body, headers_of(secret, event=event, event_id=event_id,
                                                          delivery_id=delivery_id, body=body),
                                 timeout=settings.timeout)
        except TimeoutError as exc:
            error = f"timed out after {settings.timeout:g} s ({type(exc).__name__})"
        except OSError as exc:  # refused, reset, TLS, unreachable
            error = f"{type(exc).__name__}: {exc}"
        except Exception as exc:  # noqa: BLE001 - a malformed answer is a failed attempt
            error = f"{type(exc).__name__}: {exc}"
        else:
            code = answer.status
            if 200 <= code < 300:
                _record(delivery_id, now, final=False, error="", code=code)
                return code
            error = f"HTTP {code}" + (f": {answer.body[:300]}" if answer.body.strip() else "")
    _record(delivery_id, now, final=final, error=error[:2000], code=code)
    raise AttemptFailed(error)


def _record(delivery_id: int, now: datetime, *, final: bool, error: str, code: int | None,
            gone: bool = False) -> None:
    """The attempt's outcome on the delivery, and on its endpoint: active after a success,
    failing after the last failure (a disabled endpoint stays disabled)."""
    with _session() as session, system(session):
        delivery = session.get(WebhookDelivery, delivery_id)
        if delivery is None:  # the endpoint was deleted meanwhile
            return
        endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
        delivery.response_code = code
        delivery.last_error = error
        if not error:
            delivery.status, delivery.delivered_at = DeliveryStatus.DELIVERED, now
            if endpoint is not None and endpoint.status == EndpointStatus.FAILING:
                endpoint.status, endpoint.failing_since = EndpointStatus.ACTIVE, None
        elif final or gone:
            delivery.status = DeliveryStatus.FAILED
            if endpoint is not None and endpoint.status == EndpointStatus.ACTIVE:
                endpoint.status, endpoint.failing_since = EndpointStatus.FAILING, now
        session.commit()
    if error:
        log.info("webhook delivery %s: %s%s", delivery_id, error[:200], " (gave up)" if final else "")
