"""The API security suites' callers, tokens and path ids (test_api_matrix.py, test_api_input.py).

The callers of every operation, besides the owner (the organisation owning the path's object,
through a user whose role may do the operation; Acme unless the entry says otherwise):

- other_buyer: Globex (a user of the owner's role there), which has no part in Acme's objects;
- invited: Nordwind, invited to Acme's sample RFQ, the supplier of its orders and invoices;
- competitor: Polbud, linked to Acme and invited to the same RFQ, party to no quote, order or
  invoice of the sample (it must never see Nordwind's);
- uninvited: Solo, a supplier of Globex only (to Acme a stranger);
- blocked: Blockt, which Acme blocked;
- noscope: the owner's user, with a token holding every scope but the one the operation needs
  (`x-scope` in the OpenAPI document: for `area:write` the token keeps `area:read`).

Tokens are issued once per run (as the tests first ask for them) and written back after each
test's restore of the sample world.
Path ids: PATH_IDS, one place for every path parameter of the document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select, text

from portal.domain.api_scopes import ALL_SCOPES
from portal.extensions import db, limiter
from portal.models import User
from portal.models.integration import ApiToken
from portal.tenancy import system
from tests.api.conftest import ApiClient, make_token
from tests.security.conftest import Sample

PREFIX = "/api/v1"
CALLERS = ("owner", "other_buyer", "invited", "competitor", "uninvited", "blocked", "noscope")
SUPPLIER_CALLERS = {
    "invited": "sales@nordwind.example",
    "competitor": "sales@polbud.example",
    "uninvited": "sales@solo.example",
    "blocked": "sales@blockt.example",
}
OWNER = "acme"
OTHER_BUYER = "globex"


def other_buyer_user(owner_email: str) -> str:
    """The Globex user playing the owner's role (its admin for a supplier-side operation)."""
    local, _, domain = owner_email.partition("@")
    return f"{local}@{OTHER_BUYER}.example" if domain == f"{OWNER}.example" else f"admin@{OTHER_BUYER}.example"


def caller_email(caller: str, owner_email: str) -> str:
    if caller in ("owner", "noscope"):
        return owner_email
    if caller == "other_buyer":
        return other_buyer_user(owner_email)
    return SUPPLIER_CALLERS[caller]


def without(scope: str | None) -> tuple[str, ...]:
    """Every scope but `scope` (`area:write` → the token keeps `area:read`)."""
    if scope is None:
        return tuple(ALL_SCOPES)
    area, _, level = scope.partition(":")
    dropped = {scope} if level == "write" else {f"{area}:read", f"{area}:write"}
    return tuple(s for s in ALL_SCOPES if s not in dropped)


# ---------------------------------------------------------------- path ids (one place)


def _kind(kind: str, org: str = OWNER):
    return lambda sample: sample.ids[kind][org]


# path parameter -> the sample object it names by default (Acme's; the entry's `ids` may name
# another kind of sample object, or a literal value).
PATH_IDS = {
    "requisition_id": _kind("requisition"),  # a draft (the entry names the approved, covered one
    # for the orders made from price agreements)
    "budget_id": _kind("budget"),
    "item_id": _kind("item"),
    "agreement_id": _kind("agreement"),  # with Nordwind
    "link_id": lambda sample: sample.ids["link"][f"{OWNER}-nordwind"],
    "rfq_id": _kind("rfq"),  # open, sealed; Nordwind and Polbud invited
    "quote_id": _kind("quote"),  # Nordwind's
    "order_id": _kind("order"),  # issued to Nordwind, nothing received
    "receipt_id": _kind("receipt"),
    "invoice_id": _kind("invoice"),  # Nordwind's, issued, awaiting Acme
    "credit_note_id": _kind("credit_note"),
    "payment_id": _kind("payment"),
    "endpoint_id": _kind("webhook_endpoint"),  # the sample's (conftest._build_integration)
    "delivery_id": _kind("webhook_delivery"),
    "token_id": _kind("api_token"),
}


def sample_id(sample: Sample, name: str, spec):
    """The value of path parameter `name`: `spec` is None (PATH_IDS), a sample kind, or a
    literal (int or a string naming no sample kind)."""
    if spec is None:
        provider = PATH_IDS.get(name)
        assert provider is not None, f"path parameter {{{name}}}: add a provider to PATH_IDS in {__name__}"
        return provider(sample)
    if isinstance(spec, str) and spec in sample.ids:
        return sample.ids[spec][OWNER]
    if callable(spec):
        return spec(sample)
    return spec


def fill(sample: Sample, path: str, ids: dict | None = None) -> str:
    ids = ids or {}
    return re.sub(r"\{([^}]+)\}", lambda m: str(sample_id(sample, m.group(1), ids.get(m.group(1)))), path)


def path_parameters(path: str) -> list[str]:
    return re.findall(r"\{([^}]+)\}", path)


# ---------------------------------------------------------------- tokens and API sample objects

# table name -> rows written back after every restore of the sample world
_ROWS: dict[str, dict[int, dict]] = {}
_TOKENS: dict[tuple[str, tuple[str, ...], str], str] = {}
_EXTRA_TABLES = (ApiToken.__table__,)


def _remember(table, ids) -> None:
    with db.engine.connect() as conn:
        for row in conn.execute(table.select().where(table.c.id.in_(list(ids)))).mappings():
            _ROWS.setdefault(table.name, {})[row["id"]] = dict(row)


def _write_back() -> None:
    with db.engine.begin() as conn:
        for table in _EXTRA_TABLES:
            rows = list(_ROWS.get(table.name, {}).values())
            if rows:
                conn.execute(table.insert(), rows)
            if conn.dialect.name == "postgresql":
                conn.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "  # noqa: S608
                    f"GREATEST((SELECT max(id) FROM {table.name}), 1))"))


def _user(email: str) -> User:
    with system(db.session):
        return db.session.scalars(select(User).where(User.email == email)
                                  .execution_options(all_tenants=True)).one()


@dataclass
class ApiWorld:
    app: object
    sample: Sample

    def token(self, email: str, scopes=ALL_SCOPES, name: str = "API matrix") -> str:
        """The raw secret of a token acting as `email` with `scopes` (issued once per run; another
        `name`: another token)."""
        key = (email, tuple(scopes), name)
        raw = _TOKENS.get(key)
        if raw is None:
            made, raw = make_token(_user(email), scopes, name=name)
            _TOKENS[key] = raw
            _remember(ApiToken.__table__, [made.id])
            db.session.remove()
        return raw

    def client(self, email: str, scopes=ALL_SCOPES, name: str = "API matrix") -> ApiClient:
        return ApiClient(self.app, self.token(email, scopes, name))

    def restore(self) -> None:
        """The sample world and the API's rows, as at the start of the test."""
        from tests.security.conftest import restore_sample

        restore_sample()
        _write_back()


def api_world_for(app, sample) -> ApiWorld:
    """The sample world (restored by the `sample` fixture) with the API suites' tokens (the
    suites' `api_world` fixture)."""
    _write_back()
    limiter.reset()  # the tokens live for the whole run: their counters do not
    return ApiWorld(app, sample)


def row_counts() -> dict[str, int]:
    """Rows per table (the tokens' last use changes; the counts must not)."""
    db.session.remove()
    with db.engine.connect() as conn:
        return {table.name: conn.execute(select(db.func.count()).select_from(table)).scalar()
                for table in db.metadata.sorted_tables}


def contents(skip=("api_tokens",)) -> dict:
    """Every row of every table but `skip` (the tokens' last use is written as they are used)."""
    db.session.remove()
    with db.engine.connect() as conn:
        return {table.name: sorted((tuple(str(v) for v in row) for row in conn.execute(table.select())), key=str)
                for table in db.metadata.sorted_tables if table.name not in skip}


# ---------------------------------------------------------------- the OpenAPI document

_DOCUMENT: dict = {}


def api_document() -> tuple[dict, list[tuple[str, set[str]]]]:
    """(the OpenAPI document, [(URL rule, methods)] of the /api/v1 routes), read once from an app
    built for the purpose (collection time: the suites are parametrized over the operations)."""
    if not _DOCUMENT:
        from portal import create_app
        from portal.config import TestConfig

        app = create_app({**{k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()},
                          "SQLALCHEMY_DATABASE_URI": "sqlite://"})
        with app.test_request_context():
            _DOCUMENT["doc"] = app.test_client().get(f"{PREFIX}/openapi.json").get_json()
        _DOCUMENT["rules"] = [(rule.rule, set(rule.methods) - {"HEAD", "OPTIONS"})
                              for rule in app.url_map.iter_rules() if rule.rule.startswith(PREFIX + "/")]
    return _DOCUMENT["doc"], _DOCUMENT["rules"]


METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # the document's path template, without the /api/v1 prefix
    spec: dict  # the document's operation
    scope: str | None  # the scope it needs (x-scope; for an expanded path, x-scopes[value])


def operations(document: dict) -> dict[str, Operation]:
    """"METHOD /path" (without the /api/v1 prefix) -> the operation. A path parameter with an
    enum (`/exports/{name}`) is expanded: one operation per value ("GET /exports/orders"), whose
    scope is the document's `x-scopes[value]`."""
    found = {}
    for path, item in document.get("paths", {}).items():
        short = path.removeprefix(PREFIX)
        for method in METHODS:
            if method not in item:
                continue
            spec = item[method]
            parameters = [*item.get("parameters", []), *spec.get("parameters", [])]
            enums = [(p["name"], p["schema"]["enum"]) for p in parameters
                     if p.get("in") == "path" and "enum" in (p.get("schema") or {})]
            if not enums:
                found[f"{method.upper()} {short}"] = Operation(method.upper(), short, spec, spec.get("x-scope"))
                continue
            (name, values), = enums  # one enumerated parameter per path (add more when needed)
            for value in values:
                concrete = short.replace("{" + name + "}", value)
                scope = spec.get("x-scope") or (spec.get("x-scopes") or {}).get(value)
                found[f"{method.upper()} {concrete}"] = Operation(method.upper(), short, spec, scope)
    return found


def request_schema(document: dict, operation: dict) -> tuple[str | None, dict | None]:
    """(media type, resolved schema) of the operation's request body (JSON preferred)."""
    content = (operation.get("requestBody") or {}).get("content") or {}
    for media in ("application/json", *content):
        if media in content:
            return media, resolve(document, content[media].get("schema") or {})
    return None, None


def resolve(document: dict, node, seen=()):
    if isinstance(node, dict):
        ref = node.get("$ref")
        if ref:
            name = ref.rsplit("/", 1)[-1]
            if name in seen:
                return {}
            return resolve(document, document["components"]["schemas"][name], (*seen, name))
        return {key: resolve(document, value, seen) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve(document, value, seen) for value in node]
    return node


def decimal_fields(schema: dict, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Paths (tuples; "0" for an array's first item) of the `format: decimal` fields of a
    request schema."""
    found = []
    if not isinstance(schema, dict):
        return found
    for name, prop in (schema.get("properties") or {}).items():
        here = (*prefix, name)
        if prop.get("format") == "decimal":
            found.append(here)
        elif prop.get("type") == "array" and isinstance(prop.get("items"), dict):
            items = prop["items"]
            if items.get("format") == "decimal":
                found.append((*here, "0"))
            else:
                found += decimal_fields(items, (*here, "0"))
        elif prop.get("type") == "object" or "properties" in prop:
            found += decimal_fields(prop, here)
    return found
