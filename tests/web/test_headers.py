"""Security headers, cookies, production configuration and request size limits."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from portal import create_app
from portal.config import Config, ConfigError, ProductionConfig, TestConfig, load_config
from portal.services import passwords
from tests.conftest import DEMO_PASSWORD, login

TEMPLATES = Path(__file__).resolve().parents[2] / "portal" / "templates"
CHEAP_HASHES = {"ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 8, "ARGON2_PARALLELISM": 1}


def _csp(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {
        part.split()[0]: part.strip() for part in policy.split(";") if part.strip()
    }


def _pages(client, world):
    """A public page, a signed-in page, an htmx fragment, a redirect and an error page."""
    yield "login", client.get("/login")
    login(client, world.user("admin@acme"))
    yield "dashboard", client.get("/")
    yield "htmx", client.get("/notifications/badge", headers={"HX-Request": "true"})
    yield "redirect", client.get("/login")
    yield "error", client.get("/no-such-page")


def test_every_response_carries_the_security_headers(client, world):
    for name, response in _pages(client, world):
        headers = response.headers
        csp = _csp(response)
        assert csp["default-src"] == "default-src 'self'", name
        assert csp["script-src"] == "script-src 'self'", name  # no 'unsafe-inline', no eval
        assert "'unsafe-inline'" not in headers["Content-Security-Policy"], name
        assert csp["frame-ancestors"] == "frame-ancestors 'none'", name
        assert csp["object-src"] == "object-src 'none'", name
        assert csp["base-uri"] == "base-uri 'none'", name
        assert csp["form-action"] == "form-action 'self'", name
        assert headers["X-Content-Type-Options"] == "nosniff", name
        assert headers["X-Frame-Options"] == "DENY", name
        assert headers["Referrer-Policy"] in ("same-origin", "strict-origin-when-cross-origin",
                                              "no-referrer"), name
        assert "HX-Request" in headers.get("Vary", ""), name


def test_signed_in_responses_are_not_stored_but_static_files_may_be(client, world, app,
                                                                     monkeypatch):
    login(client, world.user("buyer@acme"))
    assert client.get("/").headers["Cache-Control"] == "no-store"

    def download():
        from io import BytesIO

        from flask import send_file

        return send_file(BytesIO(b"offer"), download_name="offer.txt", as_attachment=True)

    monkeypatch.setitem(app.view_functions, "dashboard.index", download)
    assert client.get("/").headers["Cache-Control"] == "no-store"
    assert "no-store" not in client.get("/static/css/app.css").headers.get("Cache-Control", "")


def test_templates_need_no_inline_script_or_style():
    """The CSP refuses inline code; a template relying on it would silently break."""
    problems = []
    for path in TEMPLATES.rglob("*.html"):
        source = path.read_text(encoding="utf-8")
        for match in re.finditer(r"<script\b[^>]*>", source):
            if "src=" not in match.group(0):
                problems.append(f"{path.name}: inline <script>")
        if re.search(r"\sstyle\s*=\s*[\"']", source):
            problems.append(f"{path.name}: style attribute")
        if re.search(r"\son[a-z]+\s*=\s*[\"']", source):
            problems.append(f"{path.name}: inline event handler")
        if "javascript:" in source:
            problems.append(f"{path.name}: javascript: URL")
    assert not problems, problems


def test_session_cookie_is_httponly_and_lax(client, world):
    response = client.post("/login", data={"email": "buyer@acme.example",
                                           "password": DEMO_PASSWORD})
    assert response.status_code == 302
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http in tests and development


def test_production_refuses_to_start_without_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://portal@db/portal")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config("production")


def test_production_refuses_to_start_without_database_url(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 64)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        load_config("production")


def test_production_refuses_to_build_an_app_without_them(monkeypatch):
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY, DATABASE_URL"):
        create_app()


def test_production_reads_its_secrets_when_loaded(monkeypatch):
    # Set after portal.config was imported, as a .env loaded late or a WSGI file would.
    monkeypatch.setenv("SECRET_KEY", "a-long-random-production-secret-0123456789")
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://portal@db/portal")
    config = load_config("production")
    assert issubclass(config, ProductionConfig)
    assert config.SECRET_KEY == "a-long-random-production-secret-0123456789"
    assert config.SQLALCHEMY_DATABASE_URI == "postgresql+psycopg://portal@db/portal"
    assert config.SESSION_COOKIE_SECURE is True
    assert config.REMEMBER_COOKIE_SECURE is True
    assert config.WTF_CSRF_ENABLED is True


@pytest.fixture
def production_app(monkeypatch, app):
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "a-long-random-production-secret-0123456789")
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    production = create_app(CHEAP_HASHES)
    yield production
    # create_app configures the (process-wide) password hasher: give the test app its own back.
    passwords.configure(app.config["ARGON2_TIME_COST"], app.config["ARGON2_MEMORY_COST"],
                        app.config["ARGON2_PARALLELISM"])


def test_production_cookies_are_secure_and_https_is_required(production_app):
    assert production_app.config["SESSION_COOKIE_SECURE"] is True
    assert production_app.config["SECRET_KEY"] == "a-long-random-production-secret-0123456789"
    client = production_app.test_client()
    response = client.get("/login", base_url="https://portal.example")
    assert response.status_code == 200
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_trusted_proxies_decide_the_client_address(monkeypatch, app):
    proxied = create_app({**CHEAP_HASHES, "SQLALCHEMY_DATABASE_URI": "sqlite://",
                          "TRUSTED_PROXIES": 1})
    seen = {}

    @proxied.route("/__address")
    def address():
        from flask import request

        seen["addr"], seen["scheme"] = request.remote_addr, request.scheme
        return ""

    proxied.test_client().get("/__address", environ_base={"REMOTE_ADDR": "10.0.0.1"},
                              headers={"X-Forwarded-For": "203.0.113.5",
                                       "X-Forwarded-Proto": "https"})
    assert seen == {"addr": "203.0.113.5", "scheme": "https"}
    passwords.configure(app.config["ARGON2_TIME_COST"], app.config["ARGON2_MEMORY_COST"],
                        app.config["ARGON2_PARALLELISM"])
    # Without trusted proxies, a forged header changes nothing.
    assert Config.TRUSTED_PROXIES == 0


def test_request_size_limits_are_set():
    for config in (Config, ProductionConfig, TestConfig):
        assert 0 < config.MAX_FORM_MEMORY_SIZE <= config.MAX_CONTENT_LENGTH <= 64 * 1024 * 1024
        assert 0 < config.MAX_FORM_PARTS <= 10_000


def _is_portal_error_page(response, code: int) -> None:
    assert response.status_code == code
    assert 'class="error-page"' in response.text
    assert f'<p class="error-code">{code}</p>' in response.text
    assert "/static/css/app.css" in response.text  # the portal's look, not Werkzeug's page


def test_oversized_form_field_is_refused_with_413(client, world, app):
    big = "x" * (app.config["MAX_FORM_MEMORY_SIZE"] + 1)
    response = client.post("/login", data={"email": big, "password": "x"})
    _is_portal_error_page(response, 413)


def test_too_many_form_parts_are_refused_with_413(client, world, app):
    parts = {f"field{i}": "x" for i in range(app.config["MAX_FORM_PARTS"] + 1)}
    response = client.post("/login", data=parts, content_type="multipart/form-data")
    _is_portal_error_page(response, 413)


def test_oversized_body_is_refused_with_413(client, world, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 4096)
    response = client.post("/login", data={"email": "a" * 5000, "password": "x"})
    _is_portal_error_page(response, 413)
