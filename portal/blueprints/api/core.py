"""What every API view shares: the token, the scope, the actor, loading, paging, idempotency.

A resource module (requisitions.py, orders.py, ...) builds its blueprint with `blueprint()` and
its views like this::

    bp = blueprint("invoices", "Invoices, credit notes and payments")

    @bp.route("/invoices", methods=["GET"])
    @requires("invoices")                      # the token's scope (x-scope in the OpenAPI doc)
    @bp.arguments(InvoiceListArgs, location="query")
    @bp.response(200, InvoicePage)
    def list_invoices(args):
        enforce(actor(), "invoices.view")      # the same policy as the pages
        return sync_page(select(Invoice).where(...), Invoice, args)

    @bp.route("/invoices/<int:invoice_id>/payments", methods=["POST"])
    @requires("invoices", write=True)
    @idempotent                                # Idempotency-Key; one transaction; replayed
    @bp.arguments(PaymentIn)
    @bp.response(201, PaymentOut)
    def pay(data, invoice_id):
        invoice = load_or_404(Invoice, invoice_id)
        return record_payment(actor(), invoice, ...)

- Reads need no transaction; writes that are not POSTs (PUT, DELETE) run in `unit_of_work()`;
  POSTs are wrapped by `@idempotent`, which is their unit of work.
- Another organisation's record is a 404 (the tenant filter never returns it); a missing role is
  a 403, a wrong state a 409, bad input a 422: all as problem+json (problems.py).
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app, g, make_response, request
from flask_smorest import Blueprint
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.blueprints.problems import NOT_HERE, ApiProblem
from portal.domain import api_scopes
from portal.extensions import csrf, db, limiter
from portal.models.integration import IdempotencyRecord
from portal.services.integration import tokens
from portal.services.paging import BadCursor, Key, Order, keyset
from portal.tenancy import bind, scope_for

BLUEPRINTS: list[Blueprint] = []
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
KEY_SHAPE = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII, no spaces


# ---------------------------------------------------------------- blueprints


def _rate_key() -> str:
    """Rate limits count per token (its hash: no database read), else per address."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer ") and len(header) < 300:
        return "api:" + hashlib.sha256(header[7:].strip().encode()).hexdigest()[:32]
    return "api-anon:" + (request.remote_addr or "-")


def _rate_limit() -> str:
    return current_app.config["API_RATE_LIMIT"]


def blueprint(name: str, description: str) -> Blueprint:
    """A blueprint of the API: every view behind a token, CSRF-exempt (no cookies are read),
    rate limited per token. Registered by portal/blueprints/api/__init__.py."""
    bp = Blueprint(f"api_{name}", __name__, description=description)
    bp.before_request(authenticate)
    csrf.exempt(bp)
    limiter.limit(_rate_limit, key_func=_rate_key)(bp)
    BLUEPRINTS.append(bp)
    return bp


# ---------------------------------------------------------------- who is calling


def authenticate() -> None:
    """Before every API view: find the token, refuse a missing, unknown, revoked or expired one
    (401), bind its organisation's tenant scope and its user as the actor."""
    header = request.headers.get("Authorization", "")
    scheme, _, raw = header.partition(" ")
    challenge = {"WWW-Authenticate": 'Bearer realm="portal-api"'}
    if scheme.lower() != "bearer" or not raw.strip():
        raise ApiProblem(401, "Send an API token: 'Authorization: Bearer <token>'.", headers=challenge)
    token = tokens.find(db.session, raw.strip())
    if token is None:
        raise ApiProblem(401, "The API token is not valid.", headers=challenge)
    if token.revoked_at is not None:
        raise ApiProblem(401, "The API token was revoked.", headers=challenge)
    if not token.is_live():
        raise ApiProblem(401, "The API token has expired.", headers=challenge)
    user = token.user
    if user is None or not user.is_active or user.organization_id != token.organization_id:
        raise ApiProblem(401, "The user this token acts as is no longer active.", headers=challenge)
    bind(db.session, scope_for(db.session, user.organization))
    g.api_token, g.api_actor = token, user
    tokens.touch(token)
    _refuse_bad_bodies()


def _refuse_bad_bodies() -> None:
    if request.method in ("GET", "HEAD", "DELETE", "OPTIONS"):
        return
    limit = current_app.config["API_MAX_BODY"]
    if request.content_length is not None and request.content_length > limit:
        raise ApiProblem(413, f"The body is larger than {limit} bytes.")
    if request.mimetype in ("multipart/form-data", "text/csv"):
        return  # imports: the view reads the file
    if not request.mimetype and not request.get_data():
        return  # a bodiless POST (`curl -X POST .../acknowledge`): the schema reads {}
    if request.mimetype != "application/json":
        raise ApiProblem(415, "Send JSON with 'Content-Type: application/json'.")
    data = request.get_json(silent=True)
    if data is None and request.get_data():
        raise ApiProblem(400, "The body is not valid JSON.")
    bad = _control_characters(data)
    if bad is not None:
        raise ApiProblem(422, "Text may not contain control characters.",
                         errors=[{"field": bad or None, "message": "Contains a control character."}])


def _control_characters(value, path: str = ""):
    if isinstance(value, str):
        return path if CONTROL.search(value) else None
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = _control_characters(item, f"{path}.{key}" if path else str(key))
        if found is not None:
            return found
    return None


def actor():
    """The user the calling token acts as: the explicit actor of every service call."""
    return g.api_actor


def token():
    return g.api_token


def requires(area: str, write: bool = False):
    """The view needs the token scope `area:read` (or `area:write`); named in the OpenAPI
    document as the operation's `x-scope` (the security suite reads it)."""
    needed = api_scopes.scope(area, write)

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if not api_scopes.grants(g.api_token.scopes, needed):
                raise ApiProblem(403, f"The token lacks the scope '{needed}'.", kind="insufficient-scope")
            return view(*args, **kwargs)

        doc = getattr(wrapper, "_apidoc", None)
        wrapper._apidoc = dict(doc or {})
        manual = dict(wrapper._apidoc.get("manual_doc", {}))
        manual["x-scope"] = needed
        manual.setdefault("security", [{"bearerAuth": []}])
        wrapper._apidoc["manual_doc"] = manual
        return wrapper

    return decorate


# ---------------------------------------------------------------- reading


def load_or_404(model, object_id: int):
    """A record through the tenant-scoped session, or a 404 problem (another organisation's
    record is never found)."""
    found = db.session.get(model, object_id)
    if found is None:
        raise ApiProblem(404, NOT_HERE)
    return found


_ORDERS: dict[type, Order] = {}


def sync_order(model) -> Order:
    """The API lists' one order: oldest change first, (updated_at, id), the index
    ix_<table>_org_updated / ix_<table>_supplier_updated serves it."""
    order = _ORDERS.get(model)
    if order is None:
        order = _ORDERS[model] = Order(f"api-{model.__tablename__}", Key(model.updated_at), Key(model.id))
    return order


@functools.cache
def listed_columns(model, item_schema, *extra):
    """`load_only` of the columns a list's item schema shows (plus `extra`, the tenant keys and the
    sync order's): a list row then costs what it shows (on the bench's orders, 4.3 → 2.3 ms a page).
    Only for schemas that read nothing but those columns and relationships loaded by other options:
    any other column a property reads would be one lazy load per row. Built once per list (the
    option is immutable and reusable: building it took ~1 ms a request)."""
    from sqlalchemy import inspect as sa_inspect
    from sqlalchemy.orm import load_only

    columns = sa_inspect(model).column_attrs
    names = {field.attribute or name for name, field in item_schema().dump_fields.items()}
    names |= {"id", "updated_at", "organization_id", "supplier_id", *extra}
    return load_only(*[getattr(model, c.key) for c in columns if c.key in names])


@dataclass(frozen=True)
class RowPlan:
    """How a list's item schema reads from one SELECT of columns instead of ORM objects: each
    field a column of the model (labelled with its attribute), each nested party a many-to-one
    relationship joined under an alias (its fields labelled `<relationship>__<attribute>`),
    and `derived` fields computed from the row's columns (`needs`: the columns they read);
    `own`: (field, its party fields) of the party that is the caller's company on every row."""

    base: object  # SELECT of the columns FROM the model and its joined parties, built once
    plain: tuple[str, ...]
    nested: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...]  # (relationship, id label, (field, label)...)
    derived: tuple[tuple[str, Callable[[dict], object]], ...]
    own: tuple[str, tuple[str, ...]] | None = None

    def select(self, query):
        """The plan's columns under the filters of `query` (`select(model).where(...)`, no joins
        and no loader options)."""
        return self.base if query.whereclause is None else self.base.where(query.whereclause)

    def items(self, rows) -> list[dict]:
        """The page's rows as dicts (the caller's own party read once for the page)."""
        party = None
        if self.own is not None:
            org = actor().organization
            party = {name: getattr(org, name) for name in self.own[1]}
        return [self.item(row, party) for row in rows]

    def item(self, row, party: dict | None = None) -> dict:
        mapping = row._mapping
        item = {name: mapping[name] for name in self.plain}
        for relationship, id_label, labels in self.nested:
            item[relationship] = None if mapping[id_label] is None else {
                name: mapping[label] for name, label in labels}
        if self.own is not None:
            item[self.own[0]] = party
        for name, compute in self.derived:
            item[name] = compute(item)
        return item


@functools.cache
def row_plan(model, item_schema, derived: tuple = (), needs: tuple[str, ...] = (), own: str | None = None) -> RowPlan:
    """The `RowPlan` of a list whose item schema shows `model`'s columns and nested many-to-one
    parties; `derived`: ((field, function of the item dict), ...) for what is neither (the
    function sees the plain and nested values, and `needs`). `own`: the party field that is the
    caller's own company on every row (a list filtered to the caller's side: a buyer's orders,
    a supplier's invoices), written from the caller's organisation instead of joined (on
    PostgreSQL each joined party cost ~0.4 ms of planning and reading a page). Built once per
    list."""
    from sqlalchemy import inspect as sa_inspect
    from sqlalchemy.orm import RelationshipDirection, aliased

    mapper = sa_inspect(model)
    own_party = None
    if own is not None:
        own_party = (own, tuple(sub.attribute or sub_name
                                for sub_name, sub in item_schema().dump_fields[own].schema.dump_fields.items()))
    computed = {*dict(derived), own}
    columns, joins, plain, nested = [], [], [], []
    wanted = [field.attribute or name for name, field in item_schema().dump_fields.items()
              if name not in computed]
    for attribute in dict.fromkeys([*wanted, *needs, "id", "updated_at"]):
        if attribute in mapper.column_attrs:
            columns.append(getattr(model, attribute).label(attribute))
            plain.append(attribute)
            continue
        relationship = mapper.relationships.get(attribute)
        if relationship is None or relationship.direction is not RelationshipDirection.MANYTOONE:
            raise TypeError(f"{model.__name__}.{attribute} is neither a column nor a party")
        field = item_schema().dump_fields[attribute]
        target = sa_inspect(relationship.mapper.class_)
        names = [sub.attribute or sub_name for sub_name, sub in field.schema.dump_fields.items()]
        alias = aliased(relationship.mapper.class_, name=f"api_{attribute}")
        joins.append((alias, getattr(model, attribute)))
        for name in dict.fromkeys([*names, "id"]):
            if name not in target.column_attrs:
                raise TypeError(f"{target.class_.__name__}.{name} is not a column")
            columns.append(getattr(alias, name).label(f"{attribute}__{name}"))
        nested.append((attribute, f"{attribute}__id", tuple((name, f"{attribute}__{name}") for name in names)))
    base = select(*columns).select_from(model)
    for alias, relationship in joins:
        base = base.outerjoin(alias, relationship.of_type(alias))
    return RowPlan(base, tuple(plain), tuple(nested), tuple(derived), own_party)


def sync_page(query, model, args: dict, *, order: Order | None = None, plan: RowPlan | None = None) -> dict:
    """One page of `query` (filters applied) in the sync order, after `updated_since`:
    `{"data": [...], "next_cursor": str|None}`; no count (a million rows cost one page).
    With a `plan` (`row_plan`) the page is read as rows of columns and its items are dicts
    (no ORM objects: a third of a list's time), else as the model's objects."""
    order = order or sync_order(model)
    since = args.get("updated_since")
    if since is not None:
        query = query.where(order.segments[0].keys[0].column >= since)
    if plan is not None:
        query = plan.select(query)
    try:
        page = keyset(query, order, cursor=args.get("cursor") or None, per_page=args.get("limit") or 50,
                      count=False, rows=plan is not None)
    except BadCursor:
        raise ApiProblem(422, "The cursor is not one this list gave out; start again without it.",
                         errors=[{"field": "cursor", "message": "Not a cursor of this list."}]) from None
    items = page.items if plan is None else plan.items(page.items)
    return {"data": items, "next_cursor": page.next}


# ---------------------------------------------------------------- writing


def _fingerprint() -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode() + b" " + request.full_path.encode() + b"\n")
    digest.update(request.get_data())
    return digest.hexdigest()


def _replay(record: IdempotencyRecord):
    response = current_app.response_class(record.response_body, status=record.status_code,
                                          mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    if record.location:
        response.headers["Location"] = record.location
    return response


def _stored(key: str) -> IdempotencyRecord | None:
    return db.session.scalars(select(IdempotencyRecord).where(
        IdempotencyRecord.token_id == g.api_token.id, IdempotencyRecord.key == key)).first()


def idempotent(view):
    """A POST: needs an `Idempotency-Key` header; runs as one transaction that also stores its
    answer under the key; a retry with the same key and body gets the stored answer (header
    `Idempotent-Replayed: true`) and acts no second time; the same key with another body is a
    422. Two identical requests at once: the second waits on the key's unique index and then
    replays (or, while the first is still running on SQLite, gets a 409 to retry)."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        from portal.blueprints.edge import unit_of_work

        key = request.headers.get("Idempotency-Key", "")
        if not key:
            raise ApiProblem(428, "Send an 'Idempotency-Key' header (any unique string, e.g. a "
                                  "UUID) with every POST, and the same one when you retry.")
        if not KEY_SHAPE.match(key):
            raise ApiProblem(422, "The Idempotency-Key must be 1 to 255 printable ASCII characters.",
                             errors=[{"field": "Idempotency-Key", "message": "Invalid key."}])
        fingerprint = _fingerprint()
        existing = _stored(key)
        if existing is not None:
            return _checked_replay(existing, fingerprint)
        try:
            with unit_of_work():
                record = IdempotencyRecord(organization_id=g.api_token.organization_id,
                                           token_id=g.api_token.id, key=key, fingerprint=fingerprint)
                db.session.add(record)
                db.session.flush()  # takes the key now: a concurrent twin waits on it
                response = make_response(view(*args, **kwargs))
                record.status_code = response.status_code
                record.response_body = response.get_data(as_text=True)
                record.location = response.headers.get("Location", "")[:500]
        except IntegrityError:
            existing = _stored(key)
            if existing is None:
                raise ApiProblem(409, "A request with this Idempotency-Key is in progress; retry "
                                      "it in a moment.", kind="idempotency-in-progress") from None
            return _checked_replay(existing, fingerprint)
        return response

    return wrapper


def _checked_replay(record: IdempotencyRecord, fingerprint: str):
    if record.fingerprint != fingerprint:
        raise ApiProblem(422, "This Idempotency-Key was already used for another request.",
                         kind="idempotency-key-reused",
                         errors=[{"field": "Idempotency-Key", "message": "Used for another request."}])
    return _replay(record)
