"""The flask commands an operator runs: seed-demo, create-admin and the jobs group (the job
commands themselves are tested in tests/jobs/ and tests/services/test_reminders.py)."""

from __future__ import annotations

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Organization, User
from tests.conftest import as_system


def _row_counts() -> dict[str, int]:
    """Rows in every table: the demo world must not grow when seeded again."""
    db.session.expire_all()
    with db.engine.connect() as conn:
        return {
            table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in db.metadata.sorted_tables
        }


def test_seed_demo_is_idempotent(app):
    runner = app.test_cli_runner()

    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    after_first = _row_counts()
    assert after_first["organizations"] == 5  # Acme, Globex, Nordwind, Polbud and Tatra (sourcing)
    assert after_first["users"] >= 10
    assert f"5 organisations, {after_first['users']} users" in first.output

    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0, second.output
    assert _row_counts() == after_first


def test_seed_demo_users_can_sign_in_with_the_published_password(app, client):
    assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0
    response = client.post(
        "/login", data={"email": "cfo@acme.example", "password": "portal-demo-2026"}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/")


ADMIN_ARGS = [
    "create-admin",
    "--company", "Hurtownia Wisła",
    "--legal-name", "Hurtownia Wisła Sp. z o.o.",
    "--country", "PL",
    "--email", "szef@wisla.example",
    "--name", "Jan Kowalski",
    "--password", "correct horse battery staple",
]


def test_create_admin_creates_the_organisation_and_its_admin(app):
    result = app.test_cli_runner().invoke(args=[*ADMIN_ARGS, "--tax-id", "123-456-32-18"])
    assert result.exit_code == 0, result.output
    assert "szef@wisla.example" in result.output

    with as_system():
        org = db.session.scalars(
            select(Organization).where(Organization.legal_name == "Hurtownia Wisła Sp. z o.o.")
        ).one()
        user = db.session.scalars(select(User).where(User.email == "szef@wisla.example")).one()
        assert org.tax_id == "1234563218"
        assert org.kind.value == "buyer"
        assert user.organization_id == org.id
        assert "admin" in user.roles

    client = app.test_client()
    response = client.post(
        "/login",
        data={"email": "szef@wisla.example", "password": "correct horse battery staple"},
    )
    assert response.status_code == 302


def test_create_admin_rejects_an_invalid_nip_and_creates_nothing(app):
    before = _row_counts()
    result = app.test_cli_runner().invoke(args=[*ADMIN_ARGS, "--tax-id", "1234567890"])
    assert result.exit_code == 1
    assert "Error: This is not a valid NIP." in result.output
    assert _row_counts() == before


def test_the_jobs_commands_are_listed(app):
    result = app.test_cli_runner().invoke(args=["jobs", "--help"])
    assert result.exit_code == 0
    for command in ("worker", "schedule", "run", "outbox"):
        assert command in result.output


def test_an_empty_outbox_says_so(app):
    result = app.test_cli_runner().invoke(args=["jobs", "outbox"])
    assert result.exit_code == 0 and "The outbox is empty." in result.output
