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
from sqlalchemy import create_engine, make_url, select, text

from portal import create_app
from portal.config import TestConfig
from portal.extensions import db
from portal.services import mail
from portal.tenancy import TenantScope, system
from tests.factories import acting_for

DEMO_PASSWORD = "portal-demo-2026"


def _database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return _per_worker(url)
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


def _per_worker(url: str) -> str:
    """Under pytest-xdist each worker gets a PostgreSQL database of its own beside the one named
    (`test_gw1` beside `test`), created when missing: the workers would otherwise drop and
    recreate each other's tables. Without workers, the database named is used as it is."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker or not url.startswith("postgresql"):
        return url
    base = make_url(url)
    name = f"{base.database}_{worker}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if not conn.exec_driver_sql("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).scalar():
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


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


def _engine_options(url: str) -> dict:
    if url.startswith("postgresql"):
        # Test data need not survive a crash: no fsync wait at each of the suite's commits.
        return {"connect_args": {"options": "-c synchronous_commit=off"}}
    return {}


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    url = _database_url(tmp_path_factory)
    app = create_app(
        {
            **{k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()},
            "SQLALCHEMY_DATABASE_URI": url,
            "SQLALCHEMY_ENGINE_OPTIONS": _engine_options(url),
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
    # DELETE, not TRUNCATE: on PostgreSQL a TRUNCATE of every table costs far more than
    # deleting the few rows a test leaves behind.
    with db.engine.begin() as conn:
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
        # The ids and versions start again with the empty database: so does the API's list cache.
        app.extensions.pop("list_cache", None)
        yield
        db.session.remove()


@pytest.fixture(scope="session")
def _world_snapshot(app):
    """Seed the base demo world once per run and keep its rows, so each test restores it with a
    few bulk INSERTs instead of seeding again (hashing passwords, 60 catalog items, …)."""
    from portal.services.demo import seed_demo

    with app.app_context():
        _empty_database()
        with system(db.session):
            built = seed_demo(documents=False)
            db.session.commit()
            keys = {
                "orgs": {key: org.id for key, org in built["orgs"].items()},
                "users": {email: user.id for email, user in built["users"].items()},
            }
        rows = {}
        with db.engine.connect() as conn:
            for table in db.metadata.sorted_tables:
                found = [dict(row._mapping) for row in conn.execute(table.select())]
                if found:
                    rows[table.name] = found
        db.session.remove()
        _empty_database()
    return rows, keys


def _restore(rows: dict) -> None:
    with db.engine.begin() as conn:
        for table in db.metadata.sorted_tables:
            if table.name in rows:
                conn.execute(table.insert(), rows[table.name])
        if conn.dialect.name == "postgresql":
            for table in db.metadata.sorted_tables:
                if table.name in rows and "id" in table.c:
                    conn.execute(text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "  # noqa: S608
                        f"(SELECT max(id) FROM {table.name}))"
                    ))


@pytest.fixture
def world(app, _world_snapshot) -> World:
    """The demo world (organisations, users, links, catalog) restored from the run's snapshot;
    its objects are loaded in the test's session."""
    from portal.models import Organization, User

    rows, keys = _world_snapshot
    _restore(rows)
    with system(db.session):
        orgs = {o.id: o for o in db.session.scalars(select(Organization))}
        users = {u.id: u for u in db.session.scalars(select(User).execution_options(all_tenants=True))}
    return World(
        orgs={key: orgs[oid] for key, oid in keys["orgs"].items()},
        users={email: users[uid] for email, uid in keys["users"].items()},
    )


@pytest.fixture
def uncached_lists(app, monkeypatch):
    """List pages and API lists worked out on every request (blueprints/cache.py off): for the
    tests of the statements and plans a list runs."""
    monkeypatch.setitem(app.config, "LIST_CACHE_BYTES", 0)
    app.extensions.pop("list_cache", None)


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


# Bind the test's session to one organisation, as a request of its user would be.
as_org = acting_for


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
