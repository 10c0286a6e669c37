"""Caller x operation over the whole OpenAPI document: the status every caller gets from every
operation of /api/v1, with path ids naming Acme's sample objects (tests/security/api_sample.py).

A new operation fails `test_every_operation_has_an_entry` until it has a row in EXPECTED. To add
one, read the view: what does each caller get? Columns (api_sample.CALLERS):

    owner        Acme, through `user=` (default admin@acme.example) — or the supplier acting, for
                 a supplier's operation (then `user="sales@nordwind.example"`)
    other_buyer  Globex, a user of the owner's role (admin@globex for a supplier's operation)
    invited      Nordwind: invited to Acme's RFQ; supplier of its orders and invoices
    competitor   Polbud: linked to Acme, invited to the same RFQ; party to nothing else
    uninvited    Solo: supplies Globex only
    blocked      Blockt: blocked by Acme
    noscope      the owner's user, a token with every scope but the operation's `x-scope`
                 (None: the operation needs no scope, /me)

Rules the suite checks on the table itself: another organisation's object answers 404 (an
outsider on the owner's side: other_buyer for a buyer's operation, uninvited and blocked for a
supplier's); a 403 to an outsider only from a role check that refuses the operation whatever the id
(the run then asks for an id no row has and must get the same 403: no answer tells that Acme's object
exists); a token without the scope gets 403. On every answer: errors are problem+json, successes
match the document's schema, and no answer shows text of an organisation the caller has no part in
(the sample's marks). `shows=` names the sample object a list must contain for a caller (so an empty
list cannot pass by mistake). Besides: every operation names its scope, refuses a missing, unknown,
revoked or expired token (401) and a method it does not have (405); every /api/v1 route is in the
document or PUBLIC; a supplier Acme blocked still reads the order it was sent and may do nothing new.

POST bodies: `body=` gives a minimal valid body (a function of the sample; a string is a CSV file
sent as text/csv); without one the suite sends `{}`, a valid body for the operations marked `# {}`
(acknowledge, approve, order from agreements, redeliver); an operation that needs fields and has no
`body=` answers 422 to the callers that pass the token, the scope and the tenancy (none now). Every
POST carries a fresh Idempotency-Key. Writes: refused callers go first and
must change nothing; the sample is restored before each further caller that succeeds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import CostCenter, Item
from portal.models.base import utcnow
from portal.models.order import PurchaseOrderLine
from portal.tenancy import system
from tests.api.conftest import check_against_spec, make_token
from tests.factories import company_today
from tests.security.api_sample import (
    CALLERS,
    PREFIX,
    SUPPLIER_CALLERS,
    api_document,
    api_world_for,
    caller_email,
    contents,
    fill,
    operations,
    path_parameters,
    sample_id,
    without,
)
from tests.security.conftest import body_text
from tests.security.sourcing_sample import PRICES

DOCUMENT, RULES = api_document()
OPERATIONS = operations(DOCUMENT)
# Routes under /api/v1 that are not operations of the document: they need no token.
PUBLIC = {"/api/v1/openapi.json", "/api/v1/docs"}


@dataclass(frozen=True)
class Entry:
    expected: dict
    user: str = "admin@acme.example"
    ids: dict = field(default_factory=dict)  # path parameter -> sample kind or literal (PATH_IDS)
    query: dict = field(default_factory=dict)  # query parameter -> sample kind or literal
    body: object = None  # a function of the sample -> the JSON body (POST/PUT/PATCH)
    shows: dict = field(default_factory=dict)  # a list: caller -> the sample object it must list


def row(owner, other_buyer, invited, competitor, uninvited, blocked, noscope=403, *,
        user="admin@acme.example", ids=None, query=None, body=None, shows=None) -> Entry:
    values = (owner, other_buyer, invited, competitor, uninvited, blocked, noscope)
    return Entry(dict(zip(CALLERS, values, strict=True)), user, ids or {}, query or {}, body, shows or {})


def both(spec) -> dict:
    """`shows=` for a list that Acme's owner and Nordwind (its party) both see the object in."""
    return {"owner": spec, "invited": spec}


# ---------------------------------------------------------------- bodies (functions of the sample)


def _one(query):
    with system(db.session):
        return db.session.execute(query).scalars().first()


def _order_line(sample, kind: str = "order") -> int:
    return _one(select(PurchaseOrderLine.id).where(PurchaseOrderLine.order_id == sample.ids[kind]["acme"])
                .order_by(PurchaseOrderLine.id))


def _today() -> str:
    return company_today().isoformat()


def _later(days: int) -> str:
    return (company_today() + timedelta(days=days)).isoformat()


def _requisition(sample) -> dict:
    return {"title": "API matrix", "cost_center_id": sample.ids["cost_center"]["acme"],
            "lines": [{"item_id": sample.ids["item"]["acme"], "quantity": "2", "unit": "pcs",
                       "unit_price": "10.00"}]}


def _catalog_item(sample) -> dict:
    return {"sku": "API-MATRIX-1", "name": "API matrix item", "unit": "pcs", "list_price": "12.50"}


def _quote(sample) -> dict:
    return {"valid_until": _later(90), "lines": [
        {"rfq_line_id": sample.ids["rfq_line"]["acme"], "unit_price": "5.00", "lead_time_days": 7}]}


def _receipt(sample) -> dict:
    return {"note": "API matrix", "lines": [{"order_line_id": _order_line(sample), "quantity": "1"}]}


def _invoice(sample) -> dict:
    # the sample order with one unit received and not invoiced yet
    return {"order_ids": [sample.ids["invoiced_order"]["acme"]]}


def _payment(sample) -> dict:
    return {"amount": "1.00", "paid_on": _today(), "reference": "API matrix"}


def _catalog_csv(sample) -> str:
    return "sku,name,unit,list_price,currency\r\nAPI-CSV-1,API import,pcs,3.50,PLN\r\n"


def _budgets_csv(sample) -> str:
    code = _one(select(CostCenter.code).where(CostCenter.id == sample.ids["cost_center"]["acme"]))
    return f"cost_center,year,amount,currency\r\n{code},2031,1000.00,PLN\r\n"


def _price_list_csv(sample) -> str:
    sku = _one(select(Item.sku).where(Item.id == sample.ids["item"]["acme"]))
    return ("sku,unit_price,currency,valid_from,valid_to,supplier_part_number,lead_time_days\r\n"
            f"{sku},2.50,PLN,{_later(30)},,,5\r\n")


def _endpoint(sample) -> dict:
    return {"url": "http://127.0.0.1:9/api-matrix", "events": ["order.issued"], "description": "API matrix"}


def _customer(sample) -> int:
    return sample.ids["link"]["acme-nordwind"]


BUYER, APPROVER, SUPPLIER = "buyer@acme.example", "approver@acme.example", "sales@nordwind.example"

# fmt: off
EXPECTED: dict[str, Entry] = {
    # me: every token reads who it is (no scope)
    "GET /me": row(200, 200, 200, 200, 200, 200, None),
    # requisitions and budgets: the buyer's own (suppliers: 403 for the whole operation)
    "GET /requisitions": row(200, 200, 403, 403, 403, 403, shows={"owner": "requisition"}),
    "GET /requisitions/{requisition_id}": row(200, 404, 403, 403, 403, 403),
    # Globex names Acme's cost centre: 422 naming cost_center_id (as for an id nobody has)
    "POST /requisitions": row(201, 422, 403, 403, 403, 403, user=BUYER, body=_requisition),
    "GET /budgets": row(200, 200, 403, 403, 403, 403, shows={"owner": "budget"}),
    "GET /budgets/{budget_id}": row(200, 404, 403, 403, 403, 403),
    # Globex: its report (the row's cost centre is unknown there)
    "POST /imports/budgets": row(200, 200, 403, 403, 403, 403, body=_budgets_csv),
    # catalog and agreements
    "GET /catalog/items": row(200, 200, 403, 403, 403, 403, shows={"owner": "item"}),
    "GET /catalog/items/{item_id}": row(200, 404, 403, 403, 403, 403),
    "POST /catalog/items": row(201, 201, 403, 403, 403, 403, body=_catalog_item),  # Globex: its own item
    "POST /imports/catalog": row(200, 200, 403, 403, 403, 403, body=_catalog_csv),  # Globex: its own items
    "GET /agreements": row(200, 200, 200, 200, 200, 200, shows=both("agreement")),  # suppliers: addressed to them
    "GET /agreements/{agreement_id}": row(200, 404, 200, 404, 404, 404),  # Nordwind's
    "POST /imports/agreements": row(201, 403, 201, 404, 404, 404, user=SUPPLIER, query={"customer_id": _customer},
                                    body=_price_list_csv),  # a supplier's price list to Acme (its link)
    # suppliers and customers (the link Acme-Nordwind)
    "GET /suppliers": row(200, 200, 403, 403, 403, 403, shows={"owner": _customer}),
    "GET /suppliers/{link_id}": row(200, 404, 403, 403, 403, 403),
    "GET /customers": row(200, 403, 200, 200, 200, 200, user=SUPPLIER, shows={"owner": _customer}),
    "GET /customers/{link_id}": row(200, 403, 200, 404, 404, 404, user=SUPPLIER),
    # rfqs and quotes (sealed, open: the buyer sees no quote yet; Nordwind its own)
    "GET /rfqs": row(200, 200, 200, 200, 200, 200, shows={**both("rfq"), "competitor": "rfq"}),
    "GET /rfqs/{rfq_id}": row(200, 404, 200, 200, 404, 404),
    "GET /rfqs/{rfq_id}/quotes": row(200, 404, 200, 200, 404, 404, shows={"invited": "quote"}),
    "GET /quotes/{quote_id}": row(403, 404, 200, 404, 404, 404),  # sealed: the buyer waits for the opening
    "POST /rfqs/{rfq_id}/quote": row(201, 403, 201, 201, 404, 404, user=SUPPLIER, body=_quote),  # Polbud: its own quote
    # orders and receipts (Acme's order to Nordwind)
    "GET /orders": row(200, 200, 200, 200, 200, 200, shows=both("order")),
    "GET /orders/{order_id}": row(200, 404, 200, 404, 404, 404),
    "GET /orders/{order_id}/receipts": row(200, 404, 200, 404, 404, 404, ids={"order_id": "received_order"},
                                           shows=both("receipt")),
    "POST /orders/{order_id}/receipts": row(201, 404, 403, 403, 403, 403, user=BUYER, body=_receipt),
    "POST /orders/{order_id}/acknowledge": row(200, 403, 200, 404, 404, 404, user=SUPPLIER),  # {} acknowledges
    "POST /requisitions/{requisition_id}/orders": row(201, 404, 403, 403, 403, 403, user=BUYER,
                                                      ids={"requisition_id": "covered_requisition"}),  # {}
    # invoices (Nordwind's to Acme: issued; payments go to the approved one)
    "GET /invoices": row(200, 200, 200, 200, 200, 200, shows=both("invoice")),
    "GET /invoices/{invoice_id}": row(200, 404, 200, 404, 404, 404),
    "GET /invoices/{invoice_id}/payments": row(200, 404, 200, 404, 404, 404, ids={"invoice_id": "paid_invoice"},
                                               shows=both("payment")),
    "GET /invoices/{invoice_id}/pdf": row(200, 404, 200, 404, 404, 404),
    # Nordwind (German) issues no KSeF XML: 404 for the parties too (as the page)
    "GET /invoices/{invoice_id}/xml": row(404, 404, 404, 404, 404, 404),
    "GET /credit-notes": row(200, 200, 200, 200, 200, 200, shows=both("credit_note")),
    "GET /credit-notes/{invoice_id}": row(200, 404, 200, 404, 404, 404, ids={"invoice_id": "credit_note"}),
    "POST /invoices": row(201, 403, 201, 422, 422, 422, user=SUPPLIER, body=_invoice),  # another's order: 422 (field)
    "POST /invoices/{invoice_id}/approve": row(200, 404, 403, 403, 403, 403),  # {} (matched: approved)
    "POST /invoices/{invoice_id}/dispute": row(200, 404, 403, 403, 403, 403, user=BUYER,
                                               body=lambda s: {"reason": "Damaged"}),
    "POST /invoices/{invoice_id}/payments": row(201, 404, 403, 403, 403, 403, ids={"invoice_id": "paid_invoice"},
                                                body=_payment),
    # exports: the lists' CSV files (the scope of the list's area)
    "GET /exports/requisitions": row(200, 200, 403, 403, 403, 403),
    "GET /exports/budget-ledger": row(200, 404, 403, 403, 403, 403, query={"budget_id": "budget"}),
    "GET /exports/rfqs": row(200, 200, 403, 403, 403, 403),
    "GET /exports/orders": row(200, 200, 403, 403, 403, 403),
    "GET /exports/supplier-orders": row(200, 403, 200, 200, 200, 200, user=SUPPLIER),
    "GET /exports/invoices": row(200, 200, 403, 403, 403, 403),
    "GET /exports/supplier-invoices": row(200, 403, 200, 200, 200, 200, user=SUPPLIER),
    "GET /exports/catalog": row(200, 200, 403, 403, 403, 403),
    "GET /exports/agreements": row(200, 200, 403, 403, 403, 403),  # the buyer's list (as the page)
    "GET /exports/budgets": row(200, 200, 403, 403, 403, 403),
    "GET /exports/suppliers": row(200, 200, 403, 403, 403, 403),
    # the organisation admin's own log, buyer or supplier (scope webhooks:read, rule audit.view)
    "GET /exports/audit-log": row(200, 200, 200, 200, 200, 200),
    # webhooks: an organisation's admins manage its own endpoints (suppliers' admins too)
    "GET /webhook-endpoints": row(200, 200, 200, 200, 200, 200, shows={"owner": "webhook_endpoint"}),
    "POST /webhook-endpoints": row(201, 201, 201, 201, 201, 201, body=_endpoint),  # each its own
    "GET /webhook-endpoints/{endpoint_id}": row(200, 404, 404, 404, 404, 404),
    "DELETE /webhook-endpoints/{endpoint_id}": row(204, 404, 404, 404, 404, 404),
    "GET /webhook-endpoints/{endpoint_id}/deliveries": row(200, 404, 404, 404, 404, 404,
                                                            shows={"owner": "webhook_delivery"}),
    "POST /webhook-deliveries/{delivery_id}/redeliver": row(202, 404, 404, 404, 404, 404),  # {}
}
# fmt: on


@pytest.fixture
def api_world(app, sample):
    return api_world_for(app, sample)


def test_every_operation_has_an_entry():
    missing = sorted(set(OPERATIONS) - set(EXPECTED))
    stale = sorted(set(EXPECTED) - set(OPERATIONS))
    assert not missing, (
        "add a row to EXPECTED in tests/security/test_api_matrix.py for each of these operations "
        "(the status each caller gets; see the docstring; a POST's minimal valid body as body=): "
        + ", ".join(missing))
    assert not stale, f"these EXPECTED rows name no operation of the document any more: {stale}"


def test_every_api_route_is_documented_or_public():
    documented = {(path, method.upper()) for path, item in DOCUMENT["paths"].items() for method in item}
    undocumented = []
    for rule, methods in RULES:
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)
        if rule in PUBLIC:
            continue
        undocumented += [f"{method} {rule}" for method in sorted(methods) if (path, method) not in documented]
    assert not undocumented, f"routes under {PREFIX} outside the OpenAPI document (and not PUBLIC): {undocumented}"


def test_the_public_routes_need_no_token(app):
    client = app.test_client()
    for rule, _ in RULES:
        if rule in PUBLIC:
            assert client.get(rule).status_code == 200, rule


NO_SCOPE = {"GET /me"}  # operations any live token may call


def test_every_operation_names_its_scope():
    unnamed = sorted(name for name, op in OPERATIONS.items() if op.scope is None and name not in NO_SCOPE)
    assert not unnamed, f"these operations name no x-scope (core.requires) nor x-scopes[value]: {unnamed}"


def test_every_operation_refuses_a_missing_unknown_revoked_or_expired_token(app, world):
    user = world.users["admin@acme.example"]
    revoked, revoked_raw = make_token(user)
    with system(db.session):
        db.session.get(type(revoked), revoked.id).revoked_at = utcnow()
        db.session.commit()
    _, expired_raw = make_token(user, expires_at=utcnow() + timedelta(seconds=2))
    with system(db.session):
        expired = db.session.scalars(select(type(revoked)).where(type(revoked).prefix == expired_raw[:11])).one()
        expired.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    client = app.test_client()
    wrong = []
    for name, operation in sorted(OPERATIONS.items()):
        url = PREFIX + re.sub(r"\{[^}]+\}", "1", name.split(" ", 1)[1])
        for header in (None, "Bearer pt_nobody", "Basic YTpi", f"Bearer {revoked_raw}", f"Bearer {expired_raw}"):
            response = client.open(url, method=operation.method, json={},
                                    headers={"Authorization": header} if header else {})
            if response.status_code != 401 or response.mimetype != "application/problem+json" \
                    or not response.headers.get("WWW-Authenticate", "").startswith("Bearer"):
                wrong.append(f"{name} {header}: {response.status_code} {response.mimetype}")
    assert not wrong, wrong


def test_a_method_a_path_does_not_have_is_a_405_problem(app):
    client = app.test_client()
    wrong = []
    for path, item in sorted(DOCUMENT["paths"].items()):
        url = re.sub(r"\{[^}]+\}", "1", path)
        if "{name}" in path:
            url = path.replace("{name}", "orders")
        for method in ("get", "post", "put", "patch", "delete"):
            if method in item:
                continue
            response = client.open(url, method=method.upper())
            if response.status_code != 405 or response.mimetype != "application/problem+json":
                wrong.append(f"{method.upper()} {path}: {response.status_code} {response.mimetype}")
    assert not wrong, wrong


OUTSIDERS = ("other_buyer", "uninvited", "blocked")  # no part in Acme's sample objects
NOWHERE = 2**31 - 1  # an id no row has


def _object_ids(name: str, entry: Entry) -> list[str]:
    """The path and query parameters of an operation that name objects (`..._id`)."""
    return [p for p in (*path_parameters(name), *entry.query) if p.endswith("_id")]


def _peers(entry: Entry) -> tuple[str, ...]:
    """The outsiders on the owner's side: they pass the role check, so only the lookup refuses."""
    return ("other_buyer",) if entry.user.endswith("@acme.example") else ("uninvited", "blocked")


def test_another_organisations_object_is_a_404_and_a_missing_scope_a_403():
    """On the table: an outsider gets 404 for Acme's object; 403 only from a role check that
    refuses the operation whatever the id (the run checks the same 403 for an id no row has),
    never for an outsider on the owner's side. A token without the scope: 403."""
    wrong = []
    for name, entry in sorted(EXPECTED.items()):
        if name not in OPERATIONS:
            continue
        scope = OPERATIONS[name].scope
        if scope is None and entry.expected["noscope"] is not None:
            wrong.append(f"{name}: needs no scope, noscope must be None")
        if scope is not None and entry.expected["noscope"] != 403:
            wrong.append(f"{name}: a token without {scope} must get 403")
        if not _object_ids(name, entry):
            continue
        for caller in OUTSIDERS:
            allowed = {404} if caller in _peers(entry) else {403, 404}
            if entry.expected[caller] not in allowed:
                wrong.append(f"{name}: {caller} must get {' or '.join(map(str, sorted(allowed)))} "
                             "(another organisation's object)")
    assert not wrong, "\n".join(wrong)


def request_url(sample, name: str, entry: Entry) -> str:
    url = PREFIX + fill(sample, name.split(" ", 1)[1], entry.ids)
    if entry.query:
        url += "?" + urlencode({key: sample_id(sample, key, spec) for key, spec in entry.query.items()})
    return url


def _client(api_world, name: str, entry: Entry, caller: str):
    email = caller_email(caller, entry.user)
    if caller == "noscope":
        return api_world.client(email, without(OPERATIONS[name].scope))
    return api_world.client(email)


def _call(api_world, name: str, entry: Entry, caller: str):
    """The caller's request; returns (its label, the response)."""
    operation, sample = OPERATIONS[name], api_world.sample
    email = caller_email(caller, entry.user)
    client = _client(api_world, name, entry, caller)
    body = None
    if operation.method in ("POST", "PUT", "PATCH"):
        body = entry.body(sample) if entry.body else {}
    url = request_url(sample, name, entry)
    if isinstance(body, str):  # an import's CSV file
        client.request(operation.method, url, data=body.encode(), content_type="text/csv", check=False)
    else:
        client.request(operation.method, url, json=body, check=False)
    return f"{caller} ({email}) {operation.method} {url}", client.last


def _suggestion(api_world, name: str) -> str:
    """What the callers get now, as an EXPECTED row to check against the view (writes: with `{}`)."""
    entry = row(*([0] * 6), 0 if OPERATIONS[name].scope else None)
    got = []
    for caller in CALLERS:
        if entry.expected[caller] is None:
            got.append("None")
            continue
        got.append(str(_call(api_world, name, entry, caller)[1].status_code))
        if OPERATIONS[name].method != "GET":
            api_world.restore()
    return f'"{name}": row({", ".join(got)}),'


def _sealed_prices(viewer: str) -> set[str]:
    """The quoted prices of the sample's sealed, unopened RFQs that `viewer` must not read: all
    of them for the buyers and strangers; a supplier reads its own only. Without the last digit
    ("7777.7"): it finds the line total too (10 x 7777.77 = "77777.70")."""
    return {format(price, "f")[:-1] for supplier, price in PRICES.items() if supplier != viewer}


def _listed(api_world, name: str, entry: Entry, caller: str) -> list[str]:
    """A list's check that it is not empty by mistake: the caller finds the sample object."""
    wanted = sample_id(api_world.sample, "id", entry.shows[caller])
    client = _client(api_world, name, entry, caller)
    url = request_url(api_world.sample, name, entry)
    page = client.get(url + ("&" if "?" in url else "?") + "limit=200", check=False)
    found = [item.get("id") for item in page.get("data", [])] if isinstance(page, dict) else []
    return [] if wanted in found else [f"{caller}: {url} does not list {entry.shows[caller]} {wanted}: {found[:20]}"]


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_every_caller_gets_its_status(api_world, name):
    if name not in EXPECTED:
        pytest.fail(f"{name} has no row in EXPECTED. Its callers get now (check each against the "
                    f"view before you copy it; writes were sent {{}}):\n    {_suggestion(api_world, name)}")
    entry, operation = EXPECTED[name], OPERATIONS[name]
    sample = api_world.sample
    writes = operation.method != "GET"
    callers = [c for c in CALLERS if entry.expected[c] is not None]
    # Refused callers first (they may change nothing), then those that succeed.
    callers.sort(key=lambda c: entry.expected[c] < 400)
    for caller in callers:
        _client(api_world, name, entry, caller)  # tokens issued (and audited) before the snapshot
    before = contents() if writes else None
    succeeded = 0
    wrong = []
    for caller in callers:
        expected = entry.expected[caller]
        if writes and expected < 400:
            if succeeded == 0:
                assert contents() == before, f"{name}: a refused caller's request changed data"
            else:
                api_world.restore()
            succeeded += 1
        label, response = _call(api_world, name, entry, caller)
        got = response.status_code
        if got != expected:
            wrong.append(f"{label} -> {got}, not {expected}: {response.get_data(as_text=True)[:300]}")
            continue
        if got >= 400 and response.mimetype != "application/problem+json":
            wrong.append(f"{label} -> {got} as {response.mimetype}, not application/problem+json")
            continue
        try:
            check_against_spec(api_world.app, operation.method, label.rsplit(" ", 1)[1], response)
        except Exception as exc:  # noqa: BLE001 - reported with the others
            wrong.append(f"{label}: the answer does not match the document: {str(exc)[:500]}")
        if got == 403 and caller in (*OUTSIDERS, "competitor") and _object_ids(name, entry):
            # a role check before the lookup: the same answer for an id nobody has
            nowhere = replace(entry, ids={p: NOWHERE for p in path_parameters(name)},
                              query={**entry.query, **{p: NOWHERE for p in entry.query if p.endswith("_id")}})
            other_label, other = _call(api_world, name, nowhere, caller)
            if other.status_code != 403:
                wrong.append(f"{label} -> 403, but {other_label} -> {other.status_code}: the 403 tells the "
                             "object exists (look it up first, or check the role before any lookup)")
        if got < 300 and caller in entry.shows:
            wrong += _listed(api_world, name, entry, caller)
        if got < 300:
            viewer = sample.org_key(caller_email(caller, entry.user))
            text = body_text(response)
            leaked = sorted(w for w in sample.forbidden_text(viewer) | _sealed_prices(viewer) if w in text)
            if leaked:
                wrong.append(f"{label} shows {leaked}")
    if writes and succeeded == 0:
        assert contents() == before, f"{name}: a refused request changed data"
    assert not wrong, f"{name}:\n  " + "\n  ".join(wrong)


def _order_to_blockt(sample) -> tuple[int, int]:
    """An order of Acme to Blockt (issued while the link was active, one unit received), and
    the link blocked again: (order id, link id)."""
    from decimal import Decimal

    from portal.models import SupplierLink, User
    from portal.models.order import OrderSource
    from portal.services import suppliers
    from portal.services.clock import today_for
    from portal.services.orders.issue import OrderLineInput, issue_order
    from portal.services.orders.receiving import ReceiptLineInput, record_receipt
    from portal.tenancy import bound, scope_for

    with system(db.session):
        people = {u.email: u for u in db.session.scalars(select(User).where(User.email.in_(
            ["admin@acme.example", "buyer@acme.example"])))}
        org = people["admin@acme.example"].organization
    link_id = sample.ids["link"]["acme-blockt"]
    with bound(db.session, scope_for(db.session, org)):
        admin, buyer = db.session.merge(people["admin@acme.example"]), db.session.merge(people["buyer@acme.example"])
        link = db.session.get(SupplierLink, link_id)
        suppliers.unblock(link, actor=admin, comment="API matrix")
        now = utcnow()
        order = issue_order(buyer, link=link, source=OrderSource.AGREEMENT, lines=[
            OrderLineInput(description="Pallets", quantity=Decimal(3), unit="pcs", unit_price=Decimal("9.50"),
                           vat_code="23")], delivery_date=now.date() + timedelta(days=7), now=now)
        record_receipt(order, buyer, received_on=today_for(org, now), note="", now=now,
                       lines={order.lines[0].id: ReceiptLineInput(Decimal(1))})
        suppliers.block(link, actor=admin, comment="API matrix")
        db.session.commit()
        return order.id, link_id


def test_a_blocked_supplier_reads_what_it_was_sent_and_does_nothing_new(api_world):
    order_id, link_id = _order_to_blockt(api_world.sample)
    blockt = api_world.client(SUPPLIER_CALLERS["blocked"])
    before = contents()
    reads = {f"/orders/{order_id}": 200, f"/orders/{order_id}/receipts": 200, f"/customers/{link_id}": 200}
    writes = {f"/orders/{order_id}/acknowledge": ({}, 403), "/invoices": ({"order_ids": [order_id]}, 403)}
    wrong = []
    for path, status in reads.items():
        blockt.get(path)
        got = blockt.last.status_code
        if got != status:
            wrong.append(f"GET {path} -> {got}, not {status}")
    listed = {"/orders": order_id, "/customers": link_id}
    for path, wanted in listed.items():
        found = [item["id"] for item in blockt.get(path + "?limit=200")["data"]]
        if wanted not in found:
            wrong.append(f"GET {path} does not list {wanted}")
    for path, (body, status) in writes.items():
        blockt.post(path, body)
        answer = blockt.last
        if answer.status_code != status:
            wrong.append(f"POST {path} -> {answer.status_code}, not {status}: {answer.get_data(as_text=True)[:300]}")
    assert contents() == before, "a blocked supplier's request changed data"
    assert not wrong, wrong


def _polish_invoice(sample) -> int:
    """An invoice of the demo world's Polbud (a Polish seller: its KSeF XML is stored) to Acme."""
    from portal.models import Invoice, InvoiceDocument
    from portal.models.invoice import InvoiceKind

    found = _one(select(Invoice.id).join(InvoiceDocument, InvoiceDocument.invoice_id == Invoice.id).where(
        Invoice.organization_id == sample.orgs["acme"], Invoice.supplier_id == sample.orgs["polbud"],
        Invoice.kind == InvoiceKind.INVOICE, InvoiceDocument.kind == "ksef").order_by(Invoice.id))
    assert found is not None, "the demo world should hold an invoice of Polbud to Acme with its KSeF XML"
    return found


def test_the_ksef_xml_is_read_by_the_invoices_parties_only(api_world):
    """GET /invoices/{id}/xml with an XML stored (the matrix's sample invoice is Nordwind's: none)."""
    invoice_id = _polish_invoice(api_world.sample)
    url = f"/invoices/{invoice_id}/xml"
    expected = {"admin@acme.example": 200, "buyer@acme.example": 200, "sales@polbud.example": 200,
                "sales@nordwind.example": 404, "admin@globex.example": 404, "sales@solo.example": 404,
                "sales@blockt.example": 404}
    wrong = []
    for email, status in expected.items():
        client = api_world.client(email)
        client.get(url, check=status != 200)
        answer = client.last
        if answer.status_code != status:
            wrong.append(f"{email}: {answer.status_code}, not {status}")
        elif status == 200 and (answer.mimetype != "application/xml" or b"<Faktura" not in answer.get_data()):
            wrong.append(f"{email}: {answer.mimetype} {answer.get_data()[:100]!r}")
    client = api_world.client("admin@acme.example", without("invoices:read"))
    client.get(url)
    if client.last.status_code != 403:
        wrong.append(f"a token without invoices:read: {client.last.status_code}")
    assert not wrong, wrong
