"""Error pages: every refusal renders in the portal's look, leaks nothing, and a failure rolls
the transaction back."""

from __future__ import annotations

import pytest
from flask import abort
from flask_login import current_user
from sqlalchemy import select

from portal.extensions import db
from portal.models import User
from tests.conftest import as_system, login


def _portal_page(response, code: int, title: str) -> str:
    text = response.get_data(as_text=True)
    assert response.status_code == code
    assert f'<p class="error-code">{code}</p>' in text
    assert f"<h1>{title}</h1>" in text
    assert "/static/css/app.css" in text
    assert "Traceback" not in text and "Werkzeug" not in text
    assert "HX-Request" in response.headers["Vary"]
    return text


def test_403_for_a_missing_role(client, world):
    login(client, world.user("buyer@acme"))  # reads Polish
    text = _portal_page(client.get("/admin/users"), 403, "Brak uprawnień")
    assert 'class="topbar"' in text  # signed-in layout with the navigation


def test_404_for_an_unknown_page(client, world):
    _portal_page(client.get("/no/such/page"), 404, "Not found")


def test_405_names_the_allowed_methods(client, world):
    response = client.get("/logout")
    _portal_page(response, 405, "Not allowed")
    assert "POST" in response.headers["Allow"]
    assert "GET" not in response.headers["Allow"]


def test_413_for_an_oversized_form(client, world, app):
    response = client.post("/password/forgot",
                           data={"email": "x" * (app.config["MAX_FORM_MEMORY_SIZE"] + 1)})
    _portal_page(response, 413, "Too large")


def test_429_page(client, world, app, monkeypatch):
    monkeypatch.setitem(app.view_functions, "dashboard.index", lambda: abort(429))
    login(client, world.user("buyer@acme"))  # reads Polish
    _portal_page(client.get("/"), 429, "Zbyt wiele prób")


def test_error_pages_speak_the_users_language(client, world):
    login(client, world.user("buyer@acme"))  # Polish
    assert '<html lang="pl"' in client.get("/nothing-here").get_data(as_text=True)


@pytest.fixture
def failing_view(app, monkeypatch):
    """Make the dashboard fail after writing, as a bug would: returns a setter."""
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)

    def install(view):
        monkeypatch.setitem(app.view_functions, "dashboard.index", view)

    return install


def test_500_rolls_back_and_renders_the_portal_page(client, world, failing_view):
    def broken():
        current_user.full_name = "Half-written"
        db.session.flush()
        raise RuntimeError("a bug")

    failing_view(broken)
    login(client, world.user("buyer@acme"))  # reads Polish
    text = _portal_page(client.get("/"), 500, "Coś poszło nie tak")
    assert "a bug" not in text
    with as_system():
        name = db.session.scalars(
            select(User.full_name).where(User.email == "buyer@acme.example")
        ).one()
    assert name == "Bartosz Nowak"


def test_500_after_a_database_error_still_renders_the_page(client, world, failing_view):
    """The failed transaction is rolled back before the page (which reads the user) renders."""

    def broken():
        db.session.add(User(organization_id=current_user.organization_id,
                            email="admin@acme.example", full_name="Duplicate"))
        db.session.flush()  # IntegrityError: the email is taken

    failing_view(broken)
    login(client, world.user("buyer@acme"))  # reads Polish
    text = _portal_page(client.get("/"), 500, "Coś poszło nie tak")
    assert 'class="topbar"' in text
    with as_system():
        assert db.session.scalars(
            select(User.full_name).where(User.email == "admin@acme.example")
        ).one() == "Anna Kowalska"
