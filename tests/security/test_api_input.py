"""Bad input to every write operation of the OpenAPI document: each is refused with a
problem+json naming the field, and nothing is saved.

For every POST (and PUT/PATCH) of the document, sent by its owner (test_api_matrix.EXPECTED: the
user, the path ids and the minimal valid body), whom the token, the scope and the tenancy let in:

- a JSON body of the wrong type (a list), and each field of the wrong JSON type → 422;
- an unknown field → 422 naming it;
- a body larger than API_MAX_BODY → 413; a body that is not JSON (text/plain) → 415
  (the CSV imports take text/csv: a JSON body is a 415 there);
- every decimal-string field of the schema (`format: decimal`: money, quantities) with a
  malformed value → 422 naming the field (e.g. `lines.0.unit_price`);
- no Idempotency-Key → 428;

and the row counts of every table are the same afterwards. Then the idempotent retry of every
write its owner may do: the same key and body answer the same (`Idempotent-Replayed: true`,
nothing made twice), the same key with another body is a 422. Last, the per-token rate limit.
"""

from __future__ import annotations

import copy
import io
import json
import uuid

import pytest

from portal import create_app
from portal.config import TestConfig
from portal.extensions import db
from tests.api.conftest import ApiClient, check_against_spec, make_token
from tests.security.api_sample import api_world_for, decimal_fields, request_schema, row_counts
from tests.security.test_api_matrix import DOCUMENT, EXPECTED, OPERATIONS, request_url

WRITES = sorted(name for name, op in OPERATIONS.items() if op.method in ("POST", "PUT", "PATCH"))
PROBLEM = "application/problem+json"


@pytest.fixture
def api_world(app, sample):
    return api_world_for(app, sample)


def _media(name: str) -> str | None:
    return request_schema(DOCUMENT, OPERATIONS[name].spec)[0]


def _schema(name: str) -> dict:
    return request_schema(DOCUMENT, OPERATIONS[name].spec)[1] or {}


def _valid(api_world, name: str):
    entry = EXPECTED[name]
    return entry.body(api_world.sample) if entry.body else {}


class Sender:
    """The owner's requests to one operation (test_api_matrix.EXPECTED gives who and where)."""

    def __init__(self, api_world, name: str, token_name: str = "API matrix"):
        entry = EXPECTED[name]
        self.app, self.name, self.method = api_world.app, name, OPERATIONS[name].method
        self.client: ApiClient = api_world.client(entry.user, name=token_name)
        self.url = request_url(api_world.sample, name, entry)

    def send(self, *, json_body=None, data=None, content_type=None, key: str | bool | None = None):
        headers = {}
        if key is not False:
            headers["Idempotency-Key"] = key or uuid.uuid4().hex
        kwargs = {"json": json_body} if data is None else {"data": data, "content_type": content_type}
        response = self.client.http.open(self.url, method=self.method, headers=self.client.headers(headers), **kwargs)
        if response.mimetype == PROBLEM or response.mimetype == "application/json":
            check_against_spec(self.app, self.method, self.url, response)
        return response


def _problem(response, status: int, field: str | None = None) -> list[str]:
    """What is wrong with `response` as the problem expected (empty: nothing)."""
    wrong = []
    if response.status_code != status:
        return [f"{response.status_code}, not {status}: {response.get_data(as_text=True)[:300]}"]
    if response.mimetype != PROBLEM:
        return [f"{status} as {response.mimetype}, not {PROBLEM}"]
    body = response.get_json()
    if field is not None:
        named = [e.get("field") for e in body.get("errors") or []]
        if field not in named:
            wrong.append(f"{status} names {named}, not {field!r}: {json.dumps(body)[:300]}")
    return wrong


def _wrong_type(prop: dict):
    """A JSON value of another type than the property's."""
    kind = prop.get("type")
    if kind in ("integer", "number"):
        return "seven"
    if kind == "boolean":
        return "perhaps"
    if kind == "array":
        return "not a list"
    if kind == "object":
        return ["not", "an", "object"]
    if prop.get("format") == "decimal":
        return 12.5  # a JSON number where a decimal string is due
    return {"not": "a string"}


def _fields(schema: dict, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], dict]]:
    """(path, property) of every field of a request schema, and of the objects in its lists
    ("0": the list's first item)."""
    found = []
    for name, prop in (schema.get("properties") or {}).items():
        found.append(((*prefix, name), prop))
        items = prop.get("items") if prop.get("type") == "array" else None
        if isinstance(items, dict) and items.get("properties"):
            found += _fields(items, (*prefix, name, "0"))
    return found


def _set(body, path: tuple[str, ...], value):
    """`body` with the value at `path` ("0": the first item of a list) replaced, made as needed."""
    body = copy.deepcopy(body) if isinstance(body, dict) else {}
    node = body
    for index, part in enumerate(path[:-1]):
        following = path[index + 1]
        if isinstance(node, list):
            part = int(part)
            while len(node) <= part:
                node.append({} if following != "0" else [])
            node = node[part]
            continue
        if part not in node or not isinstance(node[part], list | dict):
            node[part] = [] if following == "0" else {}
        node = node[part]
    last = path[-1]
    if isinstance(node, list):
        node[:] = node or [None]
        node[int(last)] = value
    else:
        node[last] = value
    return body


# A decimal string is written as a string of digits with a dot: everything else is refused.
BAD_DECIMALS = ("12,50", "1e3", "NaN", "Infinity", "", " ", "12.3456789", "1.2.3", "abc", "0x1F", 12.5, True)


def test_every_write_has_an_owner_row():
    missing = [name for name in WRITES if name not in EXPECTED]
    assert not missing, f"add rows for {missing} to tests/security/test_api_matrix.py EXPECTED first"


@pytest.mark.parametrize("name", WRITES)
def test_bad_input_is_a_problem_naming_the_field_and_saves_nothing(api_world, app, name):
    if name not in EXPECTED:
        pytest.skip("no row in test_api_matrix.EXPECTED (test_every_write_has_an_owner_row fails)")
    sender = Sender(api_world, name)
    media, schema = _media(name), _schema(name)
    valid = _valid(api_world, name)
    limit = app.config["API_MAX_BODY"]
    before = row_counts()
    wrong = []

    def check(label, response, status, field=None):
        wrong.extend(f"{label}: {problem}" for problem in _problem(response, status, field))

    check("text/plain body", sender.send(data=b"hello", content_type="text/plain"), 415)
    check("no Idempotency-Key", sender.send(json_body=valid, key=False) if media == "application/json"
          else sender.send(data=valid.encode(), content_type="text/csv", key=False), 428)
    if media == "application/json":
        check("oversized JSON", sender.send(data=json.dumps({"notes": "x" * (limit + 1)}).encode(),
                                            content_type="application/json"), 413)
        check("a list for the object", sender.send(json_body=[valid]), 422)
        check("a string for the object", sender.send(json_body="text"), 422)
        check("an unknown field", sender.send(json_body={**valid, "colour_of_the_sky": "blue"}), 422,
              "colour_of_the_sky")
        for path, prop in _fields(schema):
            field = ".".join(path)
            check(f"{field} of the wrong type", sender.send(json_body=_set(valid, path, _wrong_type(prop))), 422, field)
        for path in decimal_fields(schema):
            for value in BAD_DECIMALS:
                check(f"{'.'.join(path)} = {value!r}", sender.send(json_body=_set(valid, path, value)), 422,
                      ".".join(path))
    else:  # a CSV import
        check("a JSON body", sender.send(json_body={"file": "x"}), 415)
        check("oversized CSV", sender.send(data=b"sku,name\r\n" + b"x" * (limit + 1), content_type="text/csv"), 413)
        check("an empty file", sender.send(data=b"", content_type="text/csv"), 422, "file")
        check("no columns it knows", sender.send(data=b"colour\r\nblue\r\n", content_type="text/csv"), 422)
        multipart = "multipart/form-data"
        check("multipart without the field 'file'", sender.send(
            data={"upload": (io.BytesIO(valid.encode()), "items.csv")}, content_type=multipart), 422, "file")
        # encoded here: the test client's own encoding spools a big body to a file it never closes
        big = (b'--cut\r\nContent-Disposition: form-data; name="file"; filename="items.csv"\r\n'
               b"Content-Type: text/csv\r\n\r\n" + b"x" * (limit + 1) + b"\r\n--cut--\r\n")
        check("an oversized multipart file", sender.send(data=big, content_type=f"{multipart}; boundary=cut"), 413)
    assert row_counts() == before, f"{name}: a refused request saved something"
    assert not wrong, f"{name}:\n  " + "\n  ".join(wrong)


RETRIED = sorted(name for name in WRITES if name in EXPECTED and EXPECTED[name].expected["owner"] < 300
                 and OPERATIONS[name].method == "POST")


@pytest.mark.parametrize("name", RETRIED)
def test_a_retry_with_the_same_key_replays_the_answer(api_world, name):
    sender = Sender(api_world, name)
    stranger = Sender(api_world, name, token_name="Another token")  # the same user, another token
    valid = _valid(api_world, name)
    key = uuid.uuid4().hex

    def send(body, by=sender):
        if isinstance(body, str):
            return by.send(data=body.encode(), content_type="text/csv", key=key)
        return by.send(json_body=body, key=key)

    first = send(valid)
    assert first.status_code == EXPECTED[name].expected["owner"], first.get_data(as_text=True)[:500]
    assert "Idempotent-Replayed" not in first.headers
    made = row_counts()
    again = send(valid)
    assert (again.status_code, again.get_data()) == (first.status_code, first.get_data())
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.headers.get("Location") == first.headers.get("Location")
    assert row_counts() == made, f"{name}: the retry acted a second time"
    other = valid + "API-OTHER,Other,pcs,1.00,PLN\r\n" if isinstance(valid, str) else {**valid, "colour": "red"}
    reused = send(other)
    assert not _problem(reused, 422, "Idempotency-Key"), _problem(reused, 422, "Idempotency-Key")
    assert row_counts() == made
    # keys are the token's own: another token's request with the same key is its own request
    assert "Idempotent-Replayed" not in send(valid, by=stranger).headers


def test_the_rate_limit_counts_per_token(app, world):
    """With API_RATE_LIMIT "3 per minute": a token's fourth request is a 429 problem, while
    another token still passes."""
    limited = create_app({**{k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()},
                          "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                          "SQLALCHEMY_ENGINE_OPTIONS": app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}),
                          "API_RATE_LIMIT": "3 per minute"})
    _, busy = make_token(world.users["buyer@acme.example"], ["requisitions:read"])
    _, calm = make_token(world.users["buyer@acme.example"], ["requisitions:read"])
    db.session.remove()
    try:
        client = limited.test_client()
        for _ in range(3):
            assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {busy}"}).status_code == 200
        refused = client.get("/api/v1/me", headers={"Authorization": f"Bearer {busy}"})
        assert refused.status_code == 429, refused.get_data(as_text=True)
        assert refused.mimetype == PROBLEM
        assert refused.get_json()["status"] == 429
        assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {calm}"}).status_code == 200
        # the app with the default limit is not touched by the other's counters
        assert ApiClient(app, busy).get("/me").get("user") == "buyer@acme.example"
    finally:
        with limited.app_context():
            db.engine.dispose()


def _query_names(name: str) -> set[str]:
    return {p["name"] for p in OPERATIONS[name].spec.get("parameters", []) if p.get("in") == "query"}


LISTS = sorted(name for name, op in OPERATIONS.items() if op.method == "GET" and "limit" in _query_names(name))
# (query, the field the problem names)
BAD_QUERIES = (
    ("limit=0", "limit"), ("limit=201", "limit"), ("limit=ten", "limit"), ("limit=1.5", "limit"),
    ("updated_since=yesterday", "updated_since"),
    ("updated_since=2026-01-01T00:00:00", "updated_since"),  # no offset: which zone?
    ("cursor=not-a-cursor", "cursor"), ("cursor=" + "x" * 5000, "cursor"),
    ("colour_of_the_sky=blue", "colour_of_the_sky"),
)


@pytest.mark.parametrize("name", LISTS)
def test_bad_list_arguments_are_a_problem_naming_the_parameter(api_world, name):
    if name not in EXPECTED:
        pytest.skip("no row in test_api_matrix.EXPECTED")
    entry = EXPECTED[name]
    client = api_world.client(entry.user)
    url = request_url(api_world.sample, name, entry)
    wrong = []
    for query, field in BAD_QUERIES:
        client.get(url + ("&" if "?" in url else "?") + query, check=False)
        wrong += [f"?{query[:60]}: {problem}" for problem in _problem(client.last, 422, field)]
    assert not wrong, f"{name}:\n  " + "\n  ".join(wrong)
