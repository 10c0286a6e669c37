"""CSRF: every state-changing route refuses a request without a valid token.

The test app runs with CSRF off (forms are posted without tokens everywhere else); these tests
switch it on and restore it.
"""

from __future__ import annotations

import pytest
from flask import url_for

from tests.conftest import csrf_token_from
from tests.security.conftest import ROLE_USERS, fingerprint
from tests.security.routes import endpoints, route_table, url_values
from tests.security.test_role_matrix import EXPECTED, LOGIN

ROUTES = route_table()
CHANGING_ROUTES = sorted(e for e, (_, methods) in ROUTES.items() if set(methods) - {"GET"})


@pytest.fixture
def csrf_on(app):
    previous = app.config["WTF_CSRF_ENABLED"]
    app.config["WTF_CSRF_ENABLED"] = True
    yield
    app.config["WTF_CSRF_ENABLED"] = previous


def _allowed_role(endpoint: str) -> str:
    """A role that may use the route, so the token is the only thing missing."""
    for role, status in EXPECTED.get(endpoint, {}).items():
        if role != "anonymous" and status not in (403, 404, LOGIN):
            return role
    return "admin"


def test_csrf_is_on_outside_tests():
    from portal.config import Config, ProductionConfig

    assert Config.WTF_CSRF_ENABLED is True
    assert ProductionConfig.WTF_CSRF_ENABLED is True


@pytest.mark.parametrize("endpoint", CHANGING_ROUTES)
def test_post_without_token_is_refused_and_changes_nothing(app, sample, csrf_on, endpoint):
    rule, methods = endpoints(app)[endpoint]
    email = ROLE_USERS[_allowed_role(endpoint)]
    with app.test_request_context():
        url = url_for(endpoint, **url_values(sample, endpoint, rule, sample.org_key(email), email))
    signed_in = sample.login(app.test_client(), email)
    before = fingerprint()
    for who, client in (("anonymous", app.test_client()), (email, signed_in)):
        for method in sorted(set(methods) - {"GET"}):
            response = client.open(url, method=method, data={"comment": "x", "locale": "pl"})
            assert response.status_code == 400, f"{who} {method} {url}: {response.status_code}"
            assert 'class="error-page"' in response.text
            wrong = client.open(url, method=method, data={"csrf_token": "forged"})
            assert wrong.status_code == 400, f"{who} {method} {url} with a forged token"
    assert fingerprint() == before, f"a refused {endpoint} request changed data"


def test_login_form_with_the_token_from_the_page_signs_in(app, sample, csrf_on):
    client = app.test_client()
    page = client.get("/login")
    token = csrf_token_from(page.text)
    form = {"email": "buyer@acme.example", "password": "portal-demo-2026"}
    refused = client.post("/login", data=form)
    assert refused.status_code == 400
    response = client.post("/login", data={**form, "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get("/").status_code == 200


def test_token_of_another_session_is_refused(app, sample, csrf_on):
    theirs = app.test_client()
    token = csrf_token_from(theirs.get("/login").text)
    mine = app.test_client()
    mine.get("/login")
    response = mine.post("/login", data={
        "email": "buyer@acme.example", "password": "portal-demo-2026", "csrf_token": token,
    })
    assert response.status_code == 400


def test_htmx_request_with_the_header_token_is_accepted(app, sample, csrf_on):
    client = sample.login(app.test_client(), "admin@acme.example")
    page = client.get("/")
    assert 'hx-headers=\'{"X-CSRFToken": "' in page.text  # how htmx sends it
    token = csrf_token_from(page.text)
    htmx = {"HX-Request": "true", "X-CSRFToken": token}
    response = client.post("/notifications/read", headers=htmx)
    assert response.status_code in (200, 204, 302)
    refused = client.post("/notifications/read", headers={"HX-Request": "true"})
    assert refused.status_code == 400


def test_csrf_token_from_before_sign_in_is_refused_after_it(app, sample, csrf_on):
    """A token planted before sign-in (login CSRF, a shared kiosk) must not outlive it."""
    client = app.test_client()
    before = csrf_token_from(client.get("/login").text)
    response = client.post("/login", data={
        "email": "buyer@acme.example", "password": "portal-demo-2026", "csrf_token": before,
    })
    assert response.status_code == 302
    stale = client.post("/notifications/read", data={"csrf_token": before})
    assert stale.status_code == 400
    after = csrf_token_from(client.get("/").text)
    assert after != before
    assert client.post("/notifications/read", data={"csrf_token": after}).status_code in (200, 204, 302)
