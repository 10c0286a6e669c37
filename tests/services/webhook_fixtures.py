"""Webhook test helpers: endpoints made through the service, a held job runner, the outbox's
webhook rows, and a local receiver (http.server in a thread) that answers as told."""

from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sqlalchemy import select

from portal.extensions import db
from portal.models import OutboxMessage
from portal.models.integration import WebhookDelivery, WebhookEndpoint
from portal.services.integration import webhooks
from portal.tenancy import system
from tests.factories import acting_for

ALL = list(webhooks.EVENTS)


class Held:
    """A job runner that only records (the deliveries wait for the test to run them)."""

    def __init__(self):
        self.jobs: list[tuple] = []

    def enqueue(self, name, *args):
        self.jobs.append((name, *args))


def make_endpoint(world, admin: str, events=ALL, url: str = "https://hooks.example.com/portal",
                  *, status: str | None = None) -> tuple[int, str]:
    """An endpoint of the admin's organisation (committed): (id, secret)."""
    actor = world.user(admin)
    with acting_for(actor.organization):
        endpoint, secret = webhooks.create_endpoint(actor, url, events, "ERP")
        if status == "failing":
            with system(db.session):
                endpoint.status = "failing"
        elif status:
            webhooks.update_endpoint(actor, endpoint, status=status)
        db.session.commit()
        return endpoint.id, secret


def webhook_rows() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "webhook").order_by(OutboxMessage.id)))


def told(event: str | None = None) -> list[int]:
    """The endpoint ids the outbox's webhook rows (of `event`) go to, in order."""
    return [r.payload["endpoint_id"] for r in webhook_rows() if event is None or r.payload["event"] == event]


def deliveries(endpoint_id: int) -> list[WebhookDelivery]:
    db.session.expire_all()
    with system(db.session):
        return list(db.session.scalars(select(WebhookDelivery).where(
            WebhookDelivery.endpoint_id == endpoint_id).order_by(WebhookDelivery.id)))


def endpoint_row(endpoint_id: int) -> WebhookEndpoint | None:
    db.session.expire_all()
    with system(db.session):
        return db.session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id)).first()


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    """What the local endpoint answers (`status`, after `delay` seconds) and what it got."""

    status: int = 200
    delay: float = 0.0
    location: str = ""
    got: list[Received] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"


@contextmanager
def receiver(**kwargs):
    state = Receiver(**kwargs)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            state.got.append(Received(self.path, {k: v for k, v in self.headers.items()}, body))
            if state.delay:
                time.sleep(state.delay)
            try:
                self.send_response(state.status)
                if state.location:
                    self.send_header("Location", state.location)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except OSError:
                pass  # the portal gave up waiting

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
