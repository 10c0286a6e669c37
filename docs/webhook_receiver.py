#!/usr/bin/env python3
"""A webhook receiver for the portal's events: verify, de-duplicate, acknowledge (stdlib only).

Run it, then register its URL as a webhook endpoint (Administration → Webhooks, or POST
/api/v1/webhook-endpoints) and paste the secret the portal showed you once:

    python docs/webhook_receiver.py --secret whsec_... --port 8765

Every delivery is a POST of a JSON event:

    {"id": "evt_…", "type": "invoice.issued", "created_at": "2026-12-05T10:00:00Z",
     "data": {"object": "invoice", "id": 12, "number": "FV/2026/000001", "status": "issued",
              "url": "/api/v1/invoices/12"}}

with the headers Portal-Event, Portal-Event-Id, Portal-Delivery, Portal-Timestamp (unix seconds)
and Portal-Signature: "v1=" + hex HMAC-SHA256(secret, f"{timestamp}.{raw body}"). Check the
signature on the RAW body (before parsing the JSON), refuse old timestamps (replays), answer
2xx quickly and do the work afterwards: the portal waits a few seconds at most, retries
anything else with a growing delay, and sends a redelivered event with the same id (so keep
the ids you have handled and skip repeats). Fetch the document itself through the API (the
event's data.url) with your API token: the event says what changed, not the whole document.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE = 300  # seconds a delivery's timestamp may be away from our clock


def _header(headers, name: str) -> str | None:
    """A header from a dict (any case) or an http.client/email message."""
    getter = getattr(headers, "get", None)
    if getter is not None and not isinstance(headers, dict):
        return headers.get(name)
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def verify_signature(secret: str, headers, body: bytes, tolerance: int = TOLERANCE,
                     now: float | None = None) -> bool:
    """True when the delivery was signed with `secret` within `tolerance` seconds of now.

    `headers`: the request's headers (a dict or a message object); `body`: the raw bytes."""
    timestamp = _header(headers, "Portal-Timestamp")
    signature = _header(headers, "Portal-Signature")
    if not timestamp or not signature or not secret:
        return False
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    now = time.time() if now is None else now
    if abs(now - sent) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{sent}.".encode() + body, hashlib.sha256).hexdigest()
    for part in signature.split(","):
        version, _, value = part.strip().partition("=")
        if version == "v1" and hmac.compare_digest(value, expected):
            return True
    return False


class Receiver(BaseHTTPRequestHandler):
    secret = ""
    seen: set[str] = set()
    max_body = 1024 * 1024

    def do_POST(self):  # noqa: N802 - http.server's name
        length = int(self.headers.get("Content-Length") or 0)
        if length > self.max_body:
            self._answer(413, {"error": "too large"})
            return
        body = self.rfile.read(length)
        if not verify_signature(self.secret, self.headers, body):
            self._answer(401, {"error": "bad signature"})
            return
        event = json.loads(body)
        if event["id"] in self.seen:
            self._answer(200, {"ok": True, "duplicate": True})
            return
        self.seen.add(event["id"])
        data = event.get("data", {})
        print(f"{event['type']}: {data.get('object')} {data.get('number') or data.get('id')} "
              f"({data.get('status')}) → {data.get('url')}", flush=True)
        self._answer(200, {"ok": True})

    def _answer(self, status: int, payload: dict) -> None:
        raw = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format, *args):  # noqa: A002 - http.server's signature
        pass


def serve(secret: str, host: str = "127.0.0.1", port: int = 8765) -> ThreadingHTTPServer:
    """A receiver server (not yet serving: call serve_forever())."""
    handler = type("ConfiguredReceiver", (Receiver,), {"secret": secret, "seen": set()})
    return ThreadingHTTPServer((host, port), handler)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--secret", required=True, help="the endpoint's signing secret (whsec_…)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    server = serve(args.secret, args.host, args.port)
    print(f"listening on http://{args.host}:{server.server_address[1]}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
