#!/usr/bin/env python3
"""Two ERPs talking to the portal through its REST API only: a buyer's and a supplier's.

Against a RUNNING portal with the demo world (`flask seed-demo`), this script plays

- the buyer's ERP (a token of Globex Trading, acting as its admin): it registers a webhook
  endpoint pointing at a small receiver this script runs, finds an approved requisition whose
  every line is covered by a price agreement with the supplier, orders it, receives the goods,
  approves the supplier's invoice and records the payment of the full amount;
- the supplier's ERP (a token of Nordwind Supplies): it pulls its new orders
  (`GET /orders?updated_since=...`), acknowledges the order and issues the invoice for it;

then waits (at most --wait seconds) until the receiver has got, each with a valid signature,
the webhooks of every step: order.issued, order.acknowledged, goods.received, invoice.issued,
invoice.approved, payment.recorded and invoice.paid. Every step is printed; the exit status is
non-zero on any failure. Standard library only (urllib, http.server, hmac).

    python docs/erp_example.py --base-url http://127.0.0.1:5000

The defaults are the demo world's documented tokens (README, "REST API"). The demo has one
requisition this fits (Globex's "Courier parcels for December", under Nordwind's courier
agreement); once it is ordered, run `flask seed-demo` on a fresh database to play again.
The portal must be allowed to deliver to the receiver's address over plain http: it is in
development (WEBHOOK_ALLOW_PRIVATE and WEBHOOK_ALLOW_HTTP default to true there).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

BUYER_TOKEN = "pt_demo_globex_erp_00000000000000000000000000"  # noqa: S105 - the demo's, published
SUPPLIER_TOKEN = "pt_demo_nordwind_erp_000000000000000000000000"  # noqa: S105 - the demo's, published
EVENTS = ["order.issued", "order.acknowledged", "goods.received", "invoice.issued", "invoice.approved",
          "payment.recorded", "invoice.paid"]
SIGNATURE_TOLERANCE = 300  # seconds a delivery's timestamp may be off


class Failure(Exception):
    """A step went wrong: the message says which and why."""


# ---------------------------------------------------------------- the signature check

try:  # the receiver example beside this file, when present: the one documented check
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from webhook_receiver import verify_signature as _documented_verify  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - the fallback below is the same check
    _documented_verify = None
finally:
    sys.path.pop(0)


def today(me: dict) -> date:
    """Today where the company is (GET /me names its time zone): the portal dates payments and
    receipts by the company's days, and refuses a date after its today."""
    return datetime.now(ZoneInfo(me["time_zone"])).date()


def _header(headers, name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return ""


def verify(secret: str, headers: dict, body: bytes, tolerance: int = SIGNATURE_TOLERANCE) -> bool:
    """True when `Portal-Signature` is `v1=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>` for
    the delivery's `Portal-Timestamp`, and that timestamp is within `tolerance` seconds of now."""
    if _documented_verify is not None:
        try:
            return bool(_documented_verify(secret, headers, body, tolerance=tolerance))
        except Exception:  # noqa: BLE001 - a refusal may be an exception there
            return False
    stamp = _header(headers, "Portal-Timestamp")
    if not stamp.isdigit() or abs(time.time() - int(stamp)) > tolerance:
        return False
    expected = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    offered = [part.strip()[3:] for part in _header(headers, "Portal-Signature").split(",")
               if part.strip().startswith("v1=")]
    return any(hmac.compare_digest(expected, candidate) for candidate in offered)


# ---------------------------------------------------------------- the webhook receiver


class Receiver:
    """A local HTTP server taking the portal's webhook deliveries (POST, any path): each is kept
    with whether its signature checked out; answers 204 (or 400 for a body that is not JSON)."""

    def __init__(self, host: str, port: int):
        self.deliveries: list[dict] = []
        self.secret: str | None = None
        self.lock = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {key: value for key, value in self.headers.items()}
                try:
                    event = json.loads(body)
                except ValueError:
                    self.send_response(400)
                    self.end_headers()
                    return
                with receiver.lock:
                    signed = receiver.secret is not None and verify(receiver.secret, headers, body)
                    receiver.deliveries.append({"event": event, "headers": headers, "signed": signed})
                    receiver.lock.notify_all()
                self.send_response(204)
                self.end_headers()

            def log_message(self, format, *args):  # noqa: A002 - http.server's signature
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/webhooks/portal"

    def start(self) -> Receiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, wanted: list[tuple[str, str, int]], seconds: float) -> dict:
        """Wait until every (event type, object path, id) in `wanted` arrived; returns the
        deliveries found by event type (missing ones absent)."""
        deadline = time.monotonic() + seconds
        with self.lock:
            while True:
                found = {}
                for event_type, kind, object_id in wanted:
                    match = next((d for d in self.deliveries if _matches(d["event"], event_type, kind, object_id)),
                                 None)
                    if match is not None:
                        found[event_type] = match
                left = deadline - time.monotonic()
                if len(found) == len(wanted) or left <= 0:
                    return found
                self.lock.wait(min(left, 0.5))


def _matches(event: dict, event_type: str, kind: str, object_id: int) -> bool:
    """The event is `event_type` about the document `/<kind>/<object_id>` (its data's id, or
    the URL it names for a related object such as a receipt or a payment)."""
    if event.get("type") != event_type:
        return False
    data = event.get("data") or {}
    path = f"/{kind}/{object_id}"
    url = str(data.get("url") or "")
    objects = {"orders": ("order", "purchase_order"), "invoices": ("invoice",)}[kind]
    return url.endswith(path) or f"{path}/" in url or (data.get("id") == object_id and data.get("object") in objects)


# ---------------------------------------------------------------- the API client


class Api:
    """One ERP's connection: its token, JSON in and out, an Idempotency-Key on every POST (the
    same one on a retry after a network error, so nothing is done twice)."""

    def __init__(self, base_url: str, token: str, name: str, timeout: float = 30):
        self.base = base_url.rstrip("/") + "/api/v1"
        self.token, self.name, self.timeout = token, name, timeout

    def call(self, method: str, path: str, body=None, query: dict | None = None, expect=(200,)):
        url = self.base + path
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        data = None
        if method == "POST" or body is not None:
            data = json.dumps(body if body is not None else {}).encode()
            headers["Content-Type"] = "application/json"
        if method == "POST":
            headers["Idempotency-Key"] = str(uuid.uuid4())
        for attempt in range(3):
            request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                    status, raw = response.status, response.read()
            except urllib.error.HTTPError as exc:
                status, raw = exc.code, exc.read()
            except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
                if attempt == 2:
                    raise Failure(f"{self.name}: {method} {path}: no answer ({exc})") from exc
                time.sleep(1 + attempt)
                continue
            in_progress = status == 409 and b"idempotency-in-progress" in raw
            if (in_progress or status == 429) and attempt < 2:  # the same key again: never twice
                time.sleep(1 + attempt)
                continue
            break
        try:
            answer = json.loads(raw) if raw else None
        except ValueError:
            answer = raw.decode("utf-8", "replace")[:500]
        if status not in expect:
            detail = answer.get("detail") if isinstance(answer, dict) else answer
            errors = answer.get("errors") if isinstance(answer, dict) else None
            raise Failure(f"{self.name}: {method} {path} answered {status}: {detail}"
                          + (f" {errors}" if errors else ""))
        return answer

    def get(self, path: str, **query):
        return self.call("GET", path, query=query)

    def post(self, path: str, body=None, expect=(200, 201)):
        return self.call("POST", path, body=body, expect=expect)

    def pages(self, path: str, **query):
        """Every row of a list, page after page (`next_cursor`)."""
        cursor = None
        while True:
            page = self.get(path, **query, cursor=cursor, limit=200)
            yield from page["data"]
            cursor = page.get("next_cursor")
            if not cursor:
                return


def _rows(answer) -> list[dict]:
    """A list answer as rows: `{"data": [...]}` or a bare list or one object."""
    if isinstance(answer, dict) and isinstance(answer.get("data"), list):
        return answer["data"]
    if isinstance(answer, list):
        return answer
    return [answer]


def _party_id(document: dict, role: str):
    party = document.get(role)
    if isinstance(party, dict):
        return party.get("id")
    return document.get(f"{role}_id")


# ---------------------------------------------------------------- the story


def step(text: str) -> None:
    print(f"==> {text}", flush=True)


def done(text: str) -> None:
    print(f"    {text}", flush=True)


def covered_by(buyer: Api, requisition: dict, supplier_id: int) -> bool:
    """Every line is a catalog item with an agreement of `supplier_id` valid today."""
    lines = requisition.get("lines") or []
    if not lines:
        return False
    for line in lines:
        item_id = line.get("item_id")
        if item_id is None:
            return False
        agreements = _rows(buyer.get("/agreements", item_id=item_id, supplier_id=supplier_id, active="true"))
        if not agreements:
            return False
    return True


def find_requisition(buyer: Api, supplier_id: int) -> dict:
    step("Buyer ERP: pull the approved requisitions, pick one its price agreements cover")
    for row in buyer.pages("/requisitions", status="approved"):
        requisition = buyer.get(f"/requisitions/{row['id']}")
        if requisition.get("currency") and covered_by(buyer, requisition, supplier_id):
            done(f"{requisition.get('number')} \"{requisition.get('title')}\": "
                 f"{len(requisition['lines'])} line(s), all under agreements")
            return requisition
        done(f"{row.get('number')}: not covered by agreements with the supplier, skipped")
    raise Failure("no approved requisition whose every line the supplier's agreements cover "
                  "(seed a fresh demo: `flask seed-demo`)")


def run(args) -> None:
    buyer = Api(args.base_url, args.buyer_token, "buyer")
    supplier = Api(args.base_url, args.supplier_token, "supplier")
    started = datetime.now(UTC) - timedelta(minutes=5)  # the supplier's sync starts here (clock skew)

    step("Who we are (GET /me)")
    me_buyer, me_supplier = buyer.get("/me"), supplier.get("/me")
    supplier_id = me_supplier["organization"]["id"]
    done(f"buyer: {me_buyer['organization']['name']} as {me_buyer['user']}; "
         f"supplier: {me_supplier['organization']['name']} as {me_supplier['user']}")

    receiver = Receiver(args.receiver_host, args.receiver_port).start()
    try:
        endpoint = None
        if not args.no_webhooks:
            step(f"Buyer ERP: register a webhook endpoint for {receiver.url}")
            endpoint = buyer.post("/webhook-endpoints", {
                "url": receiver.url, "events": EVENTS, "description": "ERP example (docs/erp_example.py)"},
                expect=(201,))
            secret = endpoint.get("secret")
            if not secret:
                raise Failure(f"the new endpoint's answer has no secret: {endpoint}")
            with receiver.lock:
                receiver.secret = secret
            done(f"endpoint {endpoint['id']}, events: {', '.join(endpoint.get('events') or EVENTS)}")

        requisition = find_requisition(buyer, supplier_id)

        step(f"Buyer ERP: order it from the agreements (POST /requisitions/{requisition['id']}/orders)")
        orders = _rows(buyer.post(f"/requisitions/{requisition['id']}/orders", {}, expect=(200, 201)))
        if len(orders) != 1:
            raise Failure(f"expected one order (one supplier), got {len(orders)}")
        order_id = orders[0]["id"]
        done(f"order {orders[0].get('number')} (id {order_id}), {orders[0].get('status')}, "
             f"{orders[0].get('gross_total')} {orders[0].get('currency')}")

        step(f"Supplier ERP: pull new and changed orders (GET /orders?updated_since={started.isoformat()})")
        pulled = [row for row in supplier.pages("/orders", updated_since=started.isoformat())]
        mine = next((row for row in pulled if row["id"] == order_id), None)
        if mine is None:
            raise Failure(f"the supplier's sync did not return order {order_id} ({len(pulled)} rows)")
        done(f"{len(pulled)} order(s) changed since then, among them {mine.get('number')} ({mine.get('status')})")

        step(f"Supplier ERP: acknowledge it (POST /orders/{order_id}/acknowledge)")
        acknowledged = supplier.post(f"/orders/{order_id}/acknowledge", {})
        done(f"status {acknowledged.get('status')}")

        step(f"Buyer ERP: receive every line in full (POST /orders/{order_id}/receipts)")
        order = buyer.get(f"/orders/{order_id}")
        lines = [{"order_line_id": line["id"], "quantity": line["quantity"]} for line in order["lines"]]
        receipt = buyer.post(f"/orders/{order_id}/receipts", {"lines": lines, "note": "Received by the ERP example."},
                             expect=(201,))
        done(f"receipt {receipt.get('number') or receipt.get('id')}: "
             + ", ".join(f"{line['quantity']} of line {line['order_line_id']}" for line in lines))

        step("Supplier ERP: invoice the received order (POST /invoices)")
        invoice = supplier.post("/invoices", {"order_ids": [order_id]}, expect=(201,))
        invoice_id = invoice["id"]
        done(f"invoice {invoice.get('number')} (id {invoice_id}), {invoice.get('status')}, "
             f"{invoice.get('gross_total')} {invoice.get('currency')}, due {invoice.get('due_date')}")

        step(f"Buyer ERP: approve it (POST /invoices/{invoice_id}/approve)")
        approved = buyer.post(f"/invoices/{invoice_id}/approve", {})
        done(f"status {approved.get('status')}")

        amount = Decimal(str(approved.get("gross_total") or invoice["gross_total"]))
        step(f"Buyer ERP: record the payment of {amount} {invoice.get('currency')} "
             f"(POST /invoices/{invoice_id}/payments)")
        payment = buyer.post(f"/invoices/{invoice_id}/payments", {
            "amount": format(amount, "f"), "paid_on": today(me_buyer).isoformat(),
            "reference": f"ERP-EXAMPLE-{invoice_id}"}, expect=(201,))
        paid = buyer.get(f"/invoices/{invoice_id}")
        done(f"payment {payment.get('id')}; the invoice is {paid.get('status')}")
        if paid.get("status") != "paid":
            raise Failure(f"the invoice is {paid.get('status')} after the full payment, not paid")

        if endpoint is None:
            return
        wanted = [("order.issued", "orders", order_id), ("order.acknowledged", "orders", order_id),
                  ("goods.received", "orders", order_id), ("invoice.issued", "invoices", invoice_id),
                  ("invoice.approved", "invoices", invoice_id), ("payment.recorded", "invoices", invoice_id),
                  ("invoice.paid", "invoices", invoice_id)]
        step(f"Receiver: wait (up to {args.wait:g} s) for the {len(wanted)} webhooks and check their signatures")
        found = receiver.wait_for(wanted, args.wait)
        problems = []
        for event_type, kind, object_id in wanted:
            delivery = found.get(event_type)
            if delivery is None:
                problems.append(f"{event_type} for /{kind}/{object_id} did not arrive")
                continue
            event = delivery["event"]
            verdict = "signature ok" if delivery["signed"] else "BAD SIGNATURE"
            done(f"{event_type:<20} {event.get('id')}  {event['data'].get('url')}  {verdict}")
            if not delivery["signed"]:
                problems.append(f"{event_type}: the signature does not verify")
            named = _header(delivery["headers"], "Portal-Event")
            if named not in ("", event_type):
                problems.append(f"{event_type}: the Portal-Event header says {named}")
        if problems:
            got = ", ".join(sorted({d["event"].get("type", "?") for d in receiver.deliveries})) or "nothing"
            raise Failure("; ".join(problems) + f" (received: {got})")

        if not args.keep_endpoint:
            buyer.call("DELETE", f"/webhook-endpoints/{endpoint['id']}", expect=(200, 204))
            done(f"endpoint {endpoint['id']} deleted")
    finally:
        receiver.stop()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:5000", help="the portal (default: %(default)s)")
    parser.add_argument("--buyer-token", default=BUYER_TOKEN,
                        help="the buyer ERP's API token (default: Globex's demo token)")
    parser.add_argument("--supplier-token", default=SUPPLIER_TOKEN,
                        help="the supplier ERP's API token (default: Nordwind's demo token)")
    parser.add_argument("--receiver-host", default="127.0.0.1",
                        help="the webhook receiver's address (default: %(default)s)")
    parser.add_argument("--receiver-port", type=int, default=0, help="its port (default: a free one)")
    parser.add_argument("--wait", type=float, default=30,
                        help="seconds to wait for the webhooks (default: %(default)s)")
    parser.add_argument("--keep-endpoint", action="store_true", help="leave the webhook endpoint registered")
    parser.add_argument("--no-webhooks", action="store_true", help="play the API calls only (no endpoint, no waiting)")
    args = parser.parse_args(argv)
    try:
        run(args)
    except Failure as exc:
        print(f"FAILED: {exc}", file=sys.stderr, flush=True)
        return 1
    print("OK: ordered, acknowledged, received, invoiced, approved and paid"
          + ("." if args.no_webhooks else "; every webhook arrived signed."), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
