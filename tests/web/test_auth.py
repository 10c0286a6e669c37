"""Sign-in, sign-out, sessions, password change and reset, language: through the pages."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from argon2 import PasswordHasher

from portal.extensions import db
from portal.services import mail, users
from portal.services.passwords import needs_rehash, verify_password
from tests.conftest import DEMO_PASSWORD, as_org, as_system, login, reload

NEW_PASSWORD = "a brand new passphrase 7"
WRONG = "The email or password is not correct."
THROTTLED = "Too many failed sign-ins. Try again in 15 minutes."


def sign_in(client, email, password=DEMO_PASSWORD, **kwargs):
    return client.post("/login", data={"email": email, "password": password}, **kwargs)


def from_address(address: str) -> dict:
    return {"environ_base": {"REMOTE_ADDR": address}}


def test_sign_in_with_the_right_password_opens_the_dashboard(client, world):
    response = sign_in(client, "buyer@acme.example")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    dashboard = client.get("/")
    assert dashboard.status_code == 200
    assert "Acme Manufacturing" in dashboard.text


def test_signed_in_user_visiting_the_login_page_goes_to_the_dashboard(client, world):
    sign_in(client, "buyer@acme.example")
    response = client.get("/login")
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_wrong_email_and_wrong_password_look_identical(client, world):
    unknown = sign_in(client, "nobody@acme.example")
    wrong = sign_in(client, "buyer@acme.example", "not the password")
    assert unknown.status_code == wrong.status_code == 401
    assert WRONG in unknown.text and WRONG in wrong.text
    # The pages differ only in the e-mail typed and in the CSRF token, which is signed with the
    # second it was issued (a slow machine crosses one between the two requests).
    def same_shape(page: str, email: str) -> str:
        return re.sub(r"[\w-]{20,}\.[\w-]{5,}\.[\w-]{20,}", "TOKEN", page.replace(email, "EMAIL"))

    assert same_shape(unknown.text, "nobody@acme.example") == \
        same_shape(wrong.text, "buyer@acme.example")


def test_empty_sign_in_form_is_refused(client, world):
    response = client.post("/login", data={})
    assert response.status_code == 422


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/admin/users", "/admin/users"),
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("/\t/evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("evil.example", "/"),
    ],
)
def test_sign_in_returns_only_to_local_pages(client, world, target, expected):
    response = client.post("/login", data={"email": "admin@acme.example",
                                           "password": DEMO_PASSWORD, "next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == expected


def test_account_throttle_refuses_even_the_right_password_until_it_expires(client, world, app):
    limit = app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"]
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=False):
        for _ in range(limit):
            assert sign_in(client, "buyer@acme.example", "guess").status_code == 401
        throttled = sign_in(client, "buyer@acme.example", **from_address("192.0.2.7"))
        assert throttled.status_code == 429
        assert THROTTLED in throttled.text
        assert client.get("/").status_code == 302  # not signed in
    minutes = app.config["LOGIN_LOCKOUT_MINUTES"]
    with time_machine.travel(start + timedelta(minutes=minutes, seconds=1), tick=False):
        assert sign_in(client, "buyer@acme.example").status_code == 302
        assert client.get("/").status_code == 200


def test_throttled_unknown_account_looks_like_a_known_one(client, world, app):
    for email in ("nobody@acme.example", "buyer@acme.example"):
        for _ in range(app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"]):
            sign_in(client, email, "guess", **from_address(f"198.51.100.{len(email)}"))
    unknown = sign_in(client, "nobody@acme.example", **from_address("192.0.2.1"))
    known = sign_in(client, "buyer@acme.example", **from_address("192.0.2.2"))
    assert unknown.status_code == known.status_code == 429


def test_address_throttle_covers_many_accounts(client, world, app):
    limit = app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"]
    for i in range(limit):
        response = sign_in(client, f"guess{i}@acme.example", "guess", **from_address("203.0.113.9"))
        assert response.status_code == 401
    throttled = sign_in(client, "buyer@acme.example", **from_address("203.0.113.9"))
    assert throttled.status_code == 429 and THROTTLED in throttled.text
    elsewhere = sign_in(app.test_client(), "buyer@acme.example", **from_address("203.0.113.10"))
    assert elsewhere.status_code == 302


def _copy_session(source, app):
    cookie = source.get_cookie("session")
    assert cookie is not None
    copy = app.test_client()
    copy.set_cookie("session", cookie.value, domain=cookie.domain)
    return copy


def test_logout_ends_a_copied_session_too(client, world, app):
    sign_in(client, "buyer@acme.example")
    stolen = _copy_session(client, app)
    assert stolen.get("/").status_code == 200
    response = client.post("/logout")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert client.get("/").status_code == 302
    after = stolen.get("/")
    assert after.status_code == 302
    assert after.headers["Location"].startswith("/login")


def test_password_change_keeps_this_session_and_ends_the_others(client, world, app):
    sign_in(client, "buyer@acme.example")
    other = _copy_session(client, app)
    response = client.post("/account/password", data={
        "current": DEMO_PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD,
    })
    assert response.status_code == 302 and response.headers["Location"] == "/account"
    assert client.get("/").status_code == 200
    assert other.get("/").status_code == 302
    assert sign_in(app.test_client(), "buyer@acme.example", NEW_PASSWORD).status_code == 302


def test_password_change_with_a_wrong_current_password_changes_nothing(client, world):
    sign_in(client, "buyer@acme.example")
    response = client.post("/account/password", data={
        "current": "wrong", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD,
    })
    assert response.status_code == 422
    assert "Obecne hasło jest nieprawidłowe." in response.text  # buyer@acme reads Polish
    assert verify_password(reload(world.user("buyer@acme")).password_hash, DEMO_PASSWORD)
    assert client.get("/").status_code == 200


def test_deactivated_user_is_signed_out_and_refused(client, world):
    sign_in(client, "buyer2@acme.example")
    assert client.get("/").status_code == 200
    with as_org(world.acme):
        users.deactivate(world.user("buyer2@acme"), actor=world.user("admin@acme"))
        db.session.commit()
    assert client.get("/").status_code == 302
    refused = sign_in(client, "buyer2@acme.example")
    # The session keeps buyer2's Polish from the first sign-in.
    assert refused.status_code == 401 and "Nieprawidłowy e-mail lub hasło." in refused.text


def _reset_link(email: str) -> str:
    sent = [m for m in mail.outbox if m["To"] == email]
    assert len(sent) == 1
    match = re.search(r"https?://\S+(/password/reset/[\w-]+)", sent[0].get_content())
    assert match, "the email carries the reset link"
    return match.group(1)


def test_password_reset_link_works_once(client, world, app):
    signed_in = app.test_client()
    sign_in(signed_in, "buyer@acme.example")
    response = client.post("/password/forgot", data={"email": "buyer@acme.example"})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    link = _reset_link("buyer@acme.example")
    assert client.get(link).status_code == 200
    done = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"] == "/login"
    assert "Your password is set. Please sign in." in client.get("/login").text
    assert client.get(link).status_code == 410
    again = client.post(link, data={"password": "yet another passphrase", "confirm":
                                    "yet another passphrase"})
    assert again.status_code == 410
    assert sign_in(client, "buyer@acme.example", NEW_PASSWORD).status_code == 302
    assert signed_in.get("/").status_code == 302  # the reset ended older sessions


def test_password_reset_for_an_unknown_email_looks_the_same(client, world):
    known = client.post("/password/forgot", data={"email": "buyer@acme.example"})
    known_page = client.get("/login").text
    unknown = client.post("/password/forgot", data={"email": "nobody@acme.example"})
    unknown_page = client.get("/login").text
    assert (unknown.status_code, unknown.headers["Location"]) == \
        (known.status_code, known.headers["Location"])
    # The pages' CSRF tokens carry the second they were signed in: compare the pages without them.
    token = re.compile(r"[\w-]{20,}\.[\w-]{6}\.[\w-]{20,}")
    assert token.sub("TOKEN", unknown_page) == token.sub("TOKEN", known_page)
    assert "If an account exists for that email" in unknown_page
    assert [m["To"] for m in mail.outbox] == ["buyer@acme.example"]


def test_password_reset_link_expires(client, world, app):
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=False):
        client.post("/password/forgot", data={"email": "buyer@acme.example"})
    link = _reset_link("buyer@acme.example")
    hours = app.config["PASSWORD_RESET_HOURS"]
    with time_machine.travel(start + timedelta(hours=hours, minutes=-1), tick=False):
        assert client.get(link).status_code == 200
    with time_machine.travel(start + timedelta(hours=hours, seconds=1), tick=False):
        expired = client.get(link)
        assert expired.status_code == 410
        assert "This link has expired" in expired.text
        posted = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
        assert posted.status_code == 410
    assert verify_password(reload(world.user("buyer@acme")).password_hash, DEMO_PASSWORD)


@pytest.mark.parametrize(
    ("password", "confirm", "message"),
    [
        ("password1234", "password1234", "This password is too easy to guess."),
        ("short", "short", "Use at least 12 characters."),
        ("my buyer passphrase", "my buyer passphrase",
         "Do not use your email address in the password."),
        (NEW_PASSWORD, NEW_PASSWORD + "x", "The passwords do not match."),
    ],
)
def test_password_reset_refuses_a_weak_password_clearly(client, world, password, confirm,
                                                        message):
    client.post("/password/forgot", data={"email": "buyer@acme.example"})
    link = _reset_link("buyer@acme.example")
    response = client.post(link, data={"password": password, "confirm": confirm})
    assert response.status_code == 422
    assert message in response.text
    assert client.get(link).status_code == 200  # the link still works
    assert verify_password(reload(world.user("buyer@acme")).password_hash, DEMO_PASSWORD)


def test_unknown_reset_link_is_gone(client, world):
    assert client.get("/password/reset/not-a-real-token").status_code == 410


def test_sign_in_rehashes_an_outdated_hash(client, world):
    old = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1).hash(DEMO_PASSWORD)
    with as_system():
        world.user("approver@acme").password_hash = old
        db.session.commit()
    assert sign_in(client, "approver@acme.example").status_code == 302
    stored = reload(world.user("approver@acme")).password_hash
    assert stored != old and not needs_rehash(stored)
    assert "$m=8,t=1,p=1$" in stored  # the app's current (test) parameters
    assert verify_password(stored, DEMO_PASSWORD)


def test_language_switch_is_stored_and_used(client, world):
    login(client, world.user("admin@globex"))  # English
    assert '<html lang="en"' in client.get("/").text
    response = client.post("/language", data={"locale": "pl", "next": "/"})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert '<html lang="pl"' in client.get("/").text
    assert reload(world.user("admin@globex")).locale == "pl"


def test_language_switch_for_visitors_and_unknown_languages(client, world):
    response = client.post("/language", data={"locale": "pl"})
    assert response.headers["Location"] == "/login"
    assert '<html lang="pl"' in client.get("/login").text
    client.post("/language", data={"locale": "xx"})
    assert '<html lang="pl"' in client.get("/login").text
    escaped = client.post("/language", data={"locale": "en", "next": "//evil.example"})
    assert escaped.headers["Location"] == "/login"
