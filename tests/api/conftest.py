"""The API's test kit: a client per demo user and token, checking every answer against the
OpenAPI document.

    def test_something(api):
        buyer = api("buyer@acme.example")                  # every scope
        narrow = api("buyer@acme.example", scopes=["invoices:read"])
        page = buyer.get("/invoices", status=200)         # the JSON body; status asserted
        made = buyer.post("/requisitions", {...}, status=201)   # Idempotency-Key added
        again = buyer.post("/requisitions", {...}, key=made_key)  # a retry

Every response with a JSON body is validated against the schema the OpenAPI document gives for
its operation and status (a problem+json against Problem), so a test that exercises an endpoint
also proves the document true.
"""

from __future__ import annotations

import functools
import re
import uuid

import pytest
from openapi_schema_validator import OAS30Validator

from portal.domain.api_scopes import ALL_SCOPES
from portal.domain.roles import Role
from portal.extensions import db
from portal.models import User
from portal.services.integration import tokens
from tests.factories import acting_for

PREFIX = "/api/v1"


@functools.cache
def _spec(app) -> dict:
    with app.test_request_context():
        return app.test_client().get(f"{PREFIX}/openapi.json").get_json()


def _resolved(node, spec, seen=()):
    if isinstance(node, dict):
        ref = node.get("$ref")
        if ref:
            name = ref.rsplit("/", 1)[-1]
            if name in seen:
                return {}
            return _resolved(spec["components"]["schemas"][name], spec, (*seen, name))
        return {key: _resolved(value, spec, seen) for key, value in node.items()}
    if isinstance(node, list):
        return [_resolved(value, spec, seen) for value in node]
    return node


def _operation(spec, method: str, path: str):
    """The OpenAPI operation for a request path (`/api/v1/invoices/12`), or None."""
    for template, operations in spec["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path):
            return operations.get(method.lower())
    return None


def check_against_spec(app, method: str, path: str, response) -> None:
    """Assert that `response` is what the OpenAPI document promises for it."""
    spec = _spec(app)
    path = path.split("?", 1)[0]
    if response.mimetype == "application/problem+json":
        schema = spec["components"]["schemas"].get("Problem", {"type": "object"})
        body = response.get_json()
        assert {"type", "title", "status", "detail"} <= set(body), body
        assert body["status"] == response.status_code, body
        OAS30Validator(_resolved(schema, spec)).validate(body)
        return
    operation = _operation(spec, method, path)
    assert operation is not None, f"{method} {path} is not in the OpenAPI document"
    if response.mimetype != "application/json":
        return  # CSV, PDF: the document names the media type
    documented = operation.get("responses", {})
    entry = documented.get(str(response.status_code)) or documented.get("default")
    assert entry is not None, f"{method} {path}: status {response.status_code} is not documented"
    schema = (entry.get("content") or {}).get("application/json", {}).get("schema")
    if schema is not None:
        OAS30Validator(_resolved(schema, spec)).validate(response.get_json())


class ApiClient:
    def __init__(self, app, raw_token: str):
        self.app, self.token = app, raw_token
        self.http = app.test_client()
        self.last = None

    def headers(self, extra=None) -> dict:
        found = {"Authorization": f"Bearer {self.token}"}
        found.update(extra or {})
        return found

    def request(self, method: str, path: str, *, status: int | None = None, json=None,
                key: str | None = None, headers=None, check: bool = True, **kwargs):
        url = path if path.startswith(PREFIX) else PREFIX + path
        extra = dict(headers or {})
        if method == "POST" and key is not False:
            extra.setdefault("Idempotency-Key", key or uuid.uuid4().hex)
        response = self.http.open(url, method=method, json=json, headers=self.headers(extra), **kwargs)
        self.last = response
        if status is not None:
            assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:2000])
        if check:
            check_against_spec(self.app, method, url, response)
        if response.mimetype in ("application/json", "application/problem+json"):
            return response.get_json()
        return response

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, json=None, **kwargs):
        return self.request("POST", path, json=json, **kwargs)

    def put(self, path, json=None, **kwargs):
        return self.request("PUT", path, json=json, **kwargs)

    def patch(self, path, json=None, **kwargs):
        return self.request("PATCH", path, json=json, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)


def make_token(world_or_user, scopes=ALL_SCOPES, name="Test token", expires_at=None):
    """A token acting as `user` (issued by an admin of its organisation); returns (token, raw)."""
    user = world_or_user
    with acting_for(user.organization):
        admin = next(u for u in db.session.scalars(
            db.select(User).where(User.organization_id == user.organization_id))
            if u.has_role(Role.ADMIN) or u.has_role(Role.SUPPLIER_ADMIN))
        made, raw = tokens.issue_token(admin, name=name, scopes=list(scopes), user=user,
                                       expires_at=expires_at)
        db.session.commit()
    return made, raw


@pytest.fixture
def api(app, world):
    """api(email, scopes=ALL_SCOPES) -> an ApiClient with a fresh token acting as that user."""

    def build(email: str, scopes=ALL_SCOPES, **kwargs) -> ApiClient:
        _, raw = make_token(world.users[email], scopes, **kwargs)
        return ApiClient(app, raw)

    return build
