"""Test harness: one database per run (SQLite file, or TEST_DATABASE_URL for PostgreSQL),
emptied and filled with the demo world (two buying companies, two suppliers, every role)
before each test.
"""

from __future__ import annotations

import contextvars
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, text

from portal import create_app
from portal.config import TestConfig
from portal.extensions import db
from portal.services import mail
from portal.tenancy import TenantScope, bound, scope_for, system

DEMO_PASSWORD = "portal-demo-2026"


def _database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


class IsolatedClient(FlaskClient):
    """Each request runs in its own application context, as in production.

    Tests keep an app context open for their own database work; without this, Flask would
    reuse it for requests, sharing `g` (and the signed-in user) and the session between them.
    """

    def open(self, *args, **kwargs):
        # Buffered: a streamed body (stream_with_context) must be read inside the request's
        # own context, not later in the test's.
        kwargs.setdefault("buffered", True)
        return contextvars.Context().run(super().open, *args, **kwargs)

    def session_transaction(self, *args, **kwargs):
        return _IsolatedSessionTransaction(super().session_transaction(*args, **kwargs))


class _IsolatedSessionTransaction:
    def __init__(self, manager):
        self._manager = manager
        self._context = contextvars.Context()

    def __enter__(self):
        return self._context.run(self._manager.__enter__)

    def __exit__(self, *exc):
        return self._context.run(self._manager.__exit__, *exc)


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    url = _database_url(tmp_path_factory)
    app = create_app(
        {
            **{k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()},
            "SQLALCHEMY_DATABASE_URI": url,
            "WTF_CSRF_ENABLED": False,
            "SERVER_NAME": "localhost",
        }
    )
    app.test_client_class = IsolatedClient
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def _empty_database() -> None:
    db.session.remove()
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))  # noqa: S608 - table names from metadata


@dataclass
class World:
    """The demo world: organisations by key, users by email."""

    orgs: dict
    users: dict

    def __getattr__(self, name):
        orgs = self.__dict__.get("orgs", {})
        if name in orgs:
            return orgs[name]
        raise AttributeError(name)

    def user(self, email: str):
        # "buyer@acme" is short for "buyer@acme.example"
        if "." not in email.rpartition("@")[2]:
            email = f"{email}.example"
        return self.users[email]


@pytest.fixture(autouse=True)
def _app_context(app):
    with app.app_context():
        _empty_database()
        mail.outbox.clear()
        yield
        db.session.remove()


@pytest.fixture
def world(app) -> World:
    """Seed the demo world and return it (objects usable in the test's session)."""
    from portal.services.demo import seed_demo

    with system(db.session):
        built = seed_demo(documents=False)
        db.session.commit()
    return World(orgs=built["orgs"], users=built["users"])


@pytest.fixture
def client(app):
    return app.test_client()


def login(client, user) -> None:
    """Sign `user` in on `client` without going through the password form."""
    with client.session_transaction() as sess:
        sess["_user_id"] = user.get_id()
        sess["_fresh"] = True


@pytest.fixture
def login_as(app):
    """login_as(user) -> a fresh test client signed in as that user."""

    def _login_as(user):
        c = app.test_client()
        login(c, user)
        return c

    return _login_as


@contextmanager
def as_org(org):
    """Bind the test's session to one organisation, as a request of its user would be."""
    with bound(db.session, scope_for(db.session, org)):
        yield


@contextmanager
def as_system():
    with system(db.session):
        yield


def scope_of(org_id: int) -> TenantScope:
    return TenantScope(org_id)


def csrf_token_from(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'"X-CSRFToken": "([^"]+)"', html
    )
    assert match, "no CSRF token on the page"
    return match.group(1)


def reload(obj):
    """Read `obj` again from the database, bypassing the identity map and the tenant filter."""
    db.session.expire_all()
    with system(db.session):
        return db.session.scalars(select(type(obj)).where(type(obj).id == obj.id)).one()
