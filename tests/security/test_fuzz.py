"""Nasty values into every query parameter and form field of the URL map: never a 500, and a
refused request (4xx) leaves every table's row count as it was. On SQLite and PostgreSQL (where
a NUL byte or a 20-digit id is a database error unless the edge refuses it first).

The parameters and fields come from the views themselves: the test's request class records
every name a view reads from `request.args` and `request.form` (one discovery request per
route), joined with the fields of the forms the portal renders (valid values for the other
fields come from there). Each field gets the core values and a rotating sample of the rest of
the corpus, so the run stays short while every value meets every kind of field somewhere.
"""

from __future__ import annotations

import io
from urllib.parse import urlsplit

import pytest
from flask import url_for
from sqlalchemy import text
from werkzeug.datastructures import ImmutableMultiDict, MultiDict
from werkzeug.utils import cached_property

from portal.extensions import db
from tests.security.conftest import ROLE_USERS
from tests.security.html_forms import PostForms, fresh
from tests.security.routes import endpoints, route_table, url_values
from tests.security.test_role_matrix import EXPECTED, LOGIN

HUGE = "99999999999999999999"  # 20 digits: past PostgreSQL's bigint
NUL = "a\x00b"
CORE = [HUGE, NUL, "NaN"]
# What a number field meets (a field whose rendered value is a number or empty) ...
NUMBERS = ["NaN", "-1", "Infinity", "0", "sNaN", "10000", "9999-12-31", "999999999999999",
           "-inf", "1e3", "1e30", "1_000", "١٢٣", "0001-01-01", "-0.0", "1,5", "0x10",
           "2026-13-45", ""]
# ... and what any field meets.
TEXTS = ["\x1b[31m\x07", "Zażółć ąę 日本語 مرحبا Ωμέγα", "x" * 3000, " ",
         "<script>alert(1)</script>", "'; DROP TABLE users; --", *NUMBERS]
CORPUS = CORE + TEXTS

ROUTES = route_table()
BLUEPRINTS = sorted({e.split(".")[0] for e in ROUTES})
CHANGING = sorted(e for e, (_, methods) in ROUTES.items() if set(methods) - {"GET"})
SEEN: dict[str, set[str]] = {"args": set(), "form": set()}


# ---------------------------------------------------------------- recording what views read


class _Recording(ImmutableMultiDict):
    kind = "args"

    def _saw(self, key):
        SEEN[self.kind].add(key)

    def get(self, key, default=None, type=None):  # noqa: A002 - the MultiDict signature
        self._saw(key)
        return super().get(key, default, type)

    def getlist(self, key, type=None):  # noqa: A002
        self._saw(key)
        return super().getlist(key, type)

    def __getitem__(self, key):
        self._saw(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self._saw(key)
        return super().__contains__(key)


class _RecordingForm(_Recording):
    kind = "form"


@pytest.fixture
def recording(app, monkeypatch):
    base = app.request_class

    class RecordingRequest(base):
        @cached_property
        def args(self):
            return _Recording(base.args.__get__(self))

        def _load_form_data(self):
            super()._load_form_data()
            if not isinstance(self.__dict__.get("form"), _RecordingForm):
                self.__dict__["form"] = _RecordingForm(self.__dict__["form"])

    monkeypatch.setattr(app, "request_class", RecordingRequest)


def _reads(client, method: str, url: str, **kwargs) -> tuple[set[str], object]:
    SEEN["args"].clear()
    SEEN["form"].clear()
    response = _send(client, method, url, **kwargs)
    return set(SEEN["args" if method == "GET" else "form"]), response


# ---------------------------------------------------------------- the forms the portal renders


_RENDERED: dict[str, dict[str, tuple[MultiDict, set[str]]]] = {}


def _rendered_forms(app, sample, role: str) -> dict[str, tuple[MultiDict, set[str]]]:
    """POST endpoint -> (the values its form is rendered with, its file fields), as `role`
    sees them on every GET page (pages and their htmx fragments)."""
    if role in _RENDERED:
        return _RENDERED[role]
    found: dict = {}
    client = _client(app, sample, role)
    for endpoint, (rule, methods) in sorted(endpoints(app).items()):
        if "GET" not in methods:
            continue
        try:
            url = _url(app, sample, endpoint, rule, role)
        except KeyError:  # a URL argument without a provider yet: the role matrix says so
            continue
        for target, form in _forms_on(app, client, url).items():
            found.setdefault(target, form)
    _RENDERED[role] = found
    return found


def _forms_on(app, client, url: str) -> dict[str, tuple[MultiDict, set[str]]]:
    """POST endpoint -> its form's values and file fields, for the forms of the page `url`."""
    found: dict = {}
    response = _send(client, "GET", url)
    if response.status_code in (301, 302, 303):  # an htmx-only fragment route
        response = _send(client, "GET", url, headers={"HX-Request": "true"})
    if response.status_code != 200 or "html" not in response.content_type:
        return found
    parser = PostForms()
    parser.feed(response.get_data(as_text=True))
    adapter = app.url_map.bind("localhost")
    for action, values, files in parser.forms:
        try:
            target, _ = adapter.match(urlsplit(action or url).path, method="POST")
        except Exception:  # noqa: BLE001, S112 - a form of another method or host
            continue
        found.setdefault(target, (values, files))
    return found


# ---------------------------------------------------------------- helpers


def _role(endpoint: str) -> str:
    """A role that gets past the route's role check (the form is then read)."""
    statuses = EXPECTED.get(endpoint, {})
    for role in ("admin", "buyer", "approver", "supplier_admin", "anonymous"):
        if statuses.get(role) not in (403, 404, LOGIN, None):
            return role
    return "admin"


def _client(app, sample, role: str):
    client = app.test_client()
    if role != "anonymous":
        sample.login(client, ROLE_USERS[role])
    return client


def _url(app, sample, endpoint, rule, role: str) -> str:
    email = ROLE_USERS.get(role)
    org = sample.org_key(email) if email else "acme"
    with app.test_request_context():
        return url_for(endpoint, **url_values(sample, endpoint, rule, org, email))


def _counts() -> dict[str, int]:
    db.session.remove()
    tables = [t.name for t in db.metadata.sorted_tables]
    query = " UNION ALL ".join(f"SELECT '{n}', COUNT(*) FROM {n}" for n in tables)  # noqa: S608
    with db.engine.connect() as conn:
        return dict(conn.execute(text(query)).all())


DAYS = ["9999-12-31", "0001-01-01", "2026-02-30"]  # the calendar's ends: a day + 1 overflows


def _values(index: int, current: str | None = "", name: str = "") -> list:
    """Values for the `index`-th field, whose page value is `current`: a number field gets the
    huge number and one more number (NaN first); any other field a NUL byte and one more of the
    corpus; every third field also a repeated key. In turn, so every value meets every kind of
    field somewhere. (A NUL byte is refused before any view runs, whatever the field.)"""
    if current is None or current.replace(".", "").replace("-", "").strip().isdigit() or current == "":
        values = [HUGE, NUMBERS[index % len(NUMBERS)]]
    else:
        values = [NUL, TEXTS[index % len(TEXTS)]]
    if any(part in name for part in ("date", "day", "_from", "_to", "_on")):
        values += DAYS
    return [*values, ["1", HUGE]] if index % 3 == 0 else values


class _Crashed:
    """What a view's exception stands for (the test app propagates it): a 500."""

    status_code = 500

    def __init__(self, exc: Exception):
        self.exc = exc


def _send(client, method: str, url: str, **kwargs):
    try:
        return client.open(url, method=method, **kwargs)
    except Exception as exc:  # noqa: BLE001 - TESTING propagates what would be a 500
        db.session.remove()
        return _Crashed(exc)


def _check(problems: list, response, what: str, before: dict | None) -> dict | None:
    if response.status_code >= 500:
        why = getattr(response, "exc", None)
        problems.append(f"{what}: {response.status_code} {type(why).__name__}: {str(why)[:160]}")
    if before is None:
        return None
    after = _counts()
    if 400 <= response.status_code < 500 and after != before:
        changed = {k: (before[k], after[k]) for k in after if before.get(k) != after[k]}
        problems.append(f"{what}: refused ({response.status_code}) but changed {changed}")
    return after


def _show(value) -> str:
    return repr(value if len(str(value)) < 40 else f"{str(value)[:20]}…({len(str(value))})")


# ---------------------------------------------------------------- the tests


def test_out_of_range_ids_in_urls_are_not_found(app, sample):
    """A 20-digit, zero-padded or non-ASCII id in a URL is a 404, before any view runs."""
    client = _client(app, sample, "admin")
    problems = []
    # A path served by two rules (GET /orders/<id>/receipts and POST, two endpoints): werkzeug
    # notes the other rule's methods before its converter refuses the id, and answers 405. No
    # view runs either way, and nothing is told of any object.
    rules_of_path: dict[str, int] = {}
    for rule, _ in endpoints(app).values():
        rules_of_path[rule.rule] = rules_of_path.get(rule.rule, 0) + 1
    for rule, methods in endpoints(app).values():
        ints = [n for n in rule.arguments if rule._converters[n].__class__.__name__ == "BoundedInt"]
        if not ints:
            continue
        for bad in (HUGE, "١٢"):
            path = rule.rule
            for name in ints:
                path = path.replace(f"<int:{name}>", bad)
            for method in methods:
                response = _send(client, method, path)
                allowed = {404, 405} if rules_of_path[rule.rule] > 1 else {404}
                if response.status_code not in allowed:
                    problems.append(f"{method} {path}: {response.status_code}")
    assert not problems, problems


@pytest.mark.parametrize("blueprint", BLUEPRINTS)
def test_no_query_value_breaks_a_page(app, sample, recording, blueprint):
    """Every query parameter a GET route reads (found by a first request), with nasty values."""
    problems = []
    for endpoint, (rule, methods) in sorted(endpoints(app).items()):
        if not endpoint.startswith(blueprint + ".") or "GET" not in methods:
            continue
        role = _role(endpoint)
        client = _client(app, sample, role)
        try:
            url = _url(app, sample, endpoint, rule, role)
        except KeyError:  # a URL argument without a provider yet: the role matrix says so
            continue
        before = _counts()
        names, response = _reads(client, "GET", url)
        headers = {}
        if response.status_code in (301, 302, 303):  # an htmx-only fragment route
            headers = {"HX-Request": "true"}
            names, _ = _reads(client, "GET", url, headers=headers)
        for index, name in enumerate(sorted(names)):
            for value in [*_values(index, name=name), TEXTS[index * 5 % len(TEXTS)]]:
                query = MultiDict([(name, v) for v in (value if isinstance(value, list) else [value])])
                response = _send(client, "GET", url, query_string=query, headers=headers)
                _check(problems, response, f"GET {url}?{name}={_show(value)} {headers}", None)
        after = _counts()
        if after != before:
            problems.append(f"GET {endpoint} changed rows: "
                            f"{ {k: (before[k], after[k]) for k in after if before[k] != after[k]} }")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("endpoint", CHANGING)
def test_no_form_value_breaks_a_form(app, sample, recording, endpoint):
    """Each field the route reads or its form renders, one nasty value at a time (the others
    as the page fills them), then every field at once with each value."""
    rule, methods = endpoints(app)[endpoint]
    role = _role(endpoint)
    client = _client(app, sample, role)
    url = _url(app, sample, endpoint, rule, role)
    # A form page posts to itself; a POST-only route's form is found on the pages of the role.
    forms = _forms_on(app, client, url) if "GET" in methods else _rendered_forms(app, sample, role)
    base, files = forms.get(endpoint, (MultiDict(), set()))
    # Without its one-time token a create form acts each time (portal/blueprints/once.py), so
    # every request reaches the service; the token itself is fuzzed like any field.
    base = MultiDict([(k, v) for k, v in base.items(multi=True) if k != "submission_token"])
    names, _ = _reads(client, "POST", url, data={})
    fields = sorted((names | set(base)) - {"csrf_token"})
    problems: list[str] = []
    before = _counts()
    for index, name in enumerate(fields):
        for value in _values(index, base.get(name), name):
            data = fresh(base)
            data.setlist(name, value if isinstance(value, list) else [value])
            response = _send(client, "POST", url, data=data)
            before = _check(problems, response, f"POST {url} {name}={_show(value)}", before)
    for value in (HUGE, NUL):
        data = MultiDict({name: value for name in fields})
        response = _send(client, "POST", url, data=data)
        before = _check(problems, response, f"POST {url} every field={_show(value)}", before)
    for name in files:
        for filename, content in (("nul\x00.csv", b"a;b\n\x00;1\n"), ("x.csv", NUL.encode()),
                                  ("big.csv", f"{HUGE};NaN;1e30\n".encode() * 3)):
            data = fresh(base)
            data[name] = (io.BytesIO(content), filename)
            response = _send(client, "POST", url, data=data, content_type="multipart/form-data")
            before = _check(problems, response, f"POST {url} {name}=file {filename!r}", before)
        for csv_name, body in _csv_variants(app, sample, client, endpoint, role):
            data = fresh(base)
            data[name] = (io.BytesIO(body), "import.csv")
            response = _send(client, "POST", url, data=data, content_type="multipart/form-data")
            before = _check(problems, response, f"POST {url} {name}=CSV {csv_name}", before)
    assert not problems, "\n".join(problems)


def _csv_variants(app, sample, client, endpoint: str, role: str):
    """The blueprint's sample import file with one nasty value in one cell at a time."""
    blueprint = endpoint.split(".")[0]
    for other, (rule, _methods) in sorted(endpoints(app).items()):
        if not other.startswith(blueprint + ".") or "sample" not in other:
            continue
        text = client.get(_url(app, sample, other, rule, role)).get_data().decode("utf-8-sig")
        header, row = text.splitlines()[:2]
        separator = ";" if ";" in header else ","
        cells = row.split(separator)
        for column, name in enumerate(header.split(separator)):
            for value in [*CORE, NUMBERS[column % len(NUMBERS)], TEXTS[column % len(TEXTS)]]:
                changed = [*cells[:column], value, *cells[column + 1:]]
                yield (f"{name}={_show(value)}",
                       f"{header}\r\n{separator.join(changed)}\r\n".encode())
