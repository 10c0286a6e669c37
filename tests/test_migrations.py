"""The Alembic migrations: one head, up and down on an empty database, and in step with the models.

Runs on a scratch SQLite file, and on a scratch PostgreSQL database when TEST_DATABASE_URL points
to PostgreSQL (created next to the test database and dropped afterwards, so the tables of the
main test run are not touched).
"""

from __future__ import annotations

import logging
import secrets
from contextlib import contextmanager
from pathlib import Path

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url

from portal import create_app
from portal.config import TestConfig
from portal.extensions import db

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"

# Flask-Migrate's generated env.py tries Flask-SQLAlchemy 2's `db.get_engine()` first.
pytestmark = pytest.mark.filterwarnings(
    "ignore:'get_engine' is deprecated:DeprecationWarning"
)


def _script_directory() -> ScriptDirectory:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config)


@contextmanager
def _logging_preserved():
    """migrations/env.py calls logging.config.fileConfig, which disables every existing logger
    and replaces the root handlers; put them back so later tests still see their log records."""
    root = logging.getLogger()
    saved_root = (root.level, list(root.handlers))
    saved = {
        name: (logger.disabled, logger.level, list(logger.handlers), logger.propagate)
        for name, logger in logging.Logger.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    try:
        yield
    finally:
        root.setLevel(saved_root[0])
        root.handlers[:] = saved_root[1]
        for name, logger in list(logging.Logger.manager.loggerDict.items()):
            if not isinstance(logger, logging.Logger):
                continue
            if name in saved:
                logger.disabled, level, handlers, logger.propagate = saved[name]
                logger.setLevel(level)
                logger.handlers[:] = handlers
            else:
                logger.disabled = False


@contextmanager
def _scratch_postgresql(url: str):
    """Create an empty database beside the one in `url`; yield its URL; drop it."""
    base = make_url(url)
    name = f"portal_migr_test_{secrets.token_hex(4)}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield base.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


def _postgres_url() -> str | None:
    url = TestConfig.SQLALCHEMY_DATABASE_URI
    return url if url.startswith("postgresql") else None


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.postgres),
    ]
)
def scratch_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    url = _postgres_url()
    if url is None:
        pytest.skip("TEST_DATABASE_URL does not point to PostgreSQL")
    with _scratch_postgresql(url) as scratch:
        yield scratch


@pytest.fixture
def migration_app(scratch_url):
    """An app like `flask db upgrade` builds, on the empty scratch database."""
    app = create_app(
        {
            **{k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()},
            "SQLALCHEMY_DATABASE_URI": scratch_url,
        }
    )
    with app.app_context(), _logging_preserved():
        try:
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()


def _tables() -> set[str]:
    return set(inspect(db.engine).get_table_names())


def _current_revision() -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def test_there_is_exactly_one_head():
    heads = _script_directory().get_heads()
    assert len(heads) == 1, f"several Alembic heads, merge them: {heads}"


def test_upgrade_downgrade_and_upgrade_again(migration_app):
    head = _script_directory().get_current_head()
    model_tables = set(db.metadata.tables)

    flask_migrate.upgrade(directory=str(MIGRATIONS))
    assert _current_revision() == head
    assert model_tables <= _tables(), f"tables missing: {model_tables - _tables()}"

    flask_migrate.downgrade(directory=str(MIGRATIONS), revision="base")
    assert _current_revision() is None
    assert _tables() & model_tables == set(), "downgrade to base left tables behind"

    flask_migrate.upgrade(directory=str(MIGRATIONS))
    assert _current_revision() == head
    assert model_tables <= _tables()


# PostgreSQL-only indexes on an expression (`.ddl_if(dialect="postgresql")`, e.g. the title's
# trigram index): neither the model nor the migration creates them on SQLite, whose reflection
# could not compare them anyway; on PostgreSQL they are compared like any index.
@pytest.mark.filterwarnings(
    "ignore:autogenerate skipping metadata-specified expression-based index "
    "'ix_requisitions_title_trgm'; dialect 'sqlite':UserWarning")
def test_models_and_migrations_agree(migration_app):
    flask_migrate.upgrade(directory=str(MIGRATIONS))
    configure_args = migration_app.extensions["migrate"].configure_args
    with db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": configure_args.get("compare_type", True)}
        )
        differences = compare_metadata(context, db.metadata)
    assert differences == [], (
        "the models and the migrations differ; regenerate with `flask db migrate`:\n"
        + "\n".join(map(repr, differences))
    )
