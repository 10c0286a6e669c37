"""The payment-terms migration (c7a1b2c3d4e2) converts existing links and invitations: net N
days from the old integer column, and back on downgrade. SQLite and PostgreSQL."""

from __future__ import annotations

import json

import flask_migrate
import pytest
from sqlalchemy import text

from portal.extensions import db
from tests.test_migrations import MIGRATIONS, _script_directory, migration_app, scratch_url  # noqa: F401

REVISION = "c7a1b2c3d4e2"

pytestmark = pytest.mark.filterwarnings("ignore:'get_engine' is deprecated:DeprecationWarning")


def _run(sql: str) -> list:
    with db.engine.begin() as conn:
        result = conn.execute(text(sql))
        return result.all() if result.returns_rows else []


def test_existing_terms_become_net_days_and_come_back(migration_app):  # noqa: F811
    before = _script_directory().get_revision(REVISION).down_revision
    flask_migrate.upgrade(directory=str(MIGRATIONS), revision=before)
    _run("INSERT INTO organizations (id, name, legal_name, kind, tax_id, address_line, "
         "postal_code, city, country, currency, locale, created_at) VALUES "
         "(1, 'A', 'A', 'buyer', '1', '', '', '', 'PL', 'PLN', 'pl', CURRENT_TIMESTAMP), "
         "(2, 'B', 'B', 'supplier', '2', '', '', '', 'PL', 'PLN', 'pl', CURRENT_TIMESTAMP)")
    _run("INSERT INTO supplier_links (id, status, payment_terms_days, currency, created_at, "
         "organization_id, supplier_id) VALUES (1, 'active', 45, 'PLN', CURRENT_TIMESTAMP, 1, 2)")

    flask_migrate.upgrade(directory=str(MIGRATIONS), revision=REVISION)
    [(terms,)] = _run("SELECT payment_terms FROM supplier_links")
    if isinstance(terms, str):  # SQLite hands JSON back as text
        terms = json.loads(terms)
    assert terms == {"kind": "net", "days": 45}

    flask_migrate.downgrade(directory=str(MIGRATIONS), revision=before)
    assert _run("SELECT payment_terms_days FROM supplier_links") == [(45,)]
