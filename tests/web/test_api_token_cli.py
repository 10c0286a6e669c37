"""`flask api token create|revoke|list`: the operator's way to the API tokens."""

from __future__ import annotations

import re

from sqlalchemy import select

from portal.extensions import db
from portal.models.integration import ApiToken
from portal.services.integration import tokens
from tests.conftest import as_system


def all_tokens() -> list[ApiToken]:
    db.session.expire_all()
    with as_system():
        return list(db.session.scalars(select(ApiToken).order_by(ApiToken.id)))


def test_create_prints_the_secret_once_and_list_never(app, world):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["api", "token", "create", "--email", "admin@acme.example",
                                 "--name", "ERP", "--scopes", "all", "--expires", "2031-03-31"])
    assert result.exit_code == 0, result.output
    secret = re.search(r"^pt_[A-Za-z0-9_-]{43}$", result.output, re.M).group(0)
    [token] = all_tokens()
    assert tokens.find(db.session, secret).id == token.id
    assert token.name == "ERP" and len(token.scopes) == 12
    assert token.user_id == world.user("admin@acme.example").id
    assert tokens.last_valid_day(token, world.orgs["acme"]).isoformat() == "2031-03-31"

    listing = runner.invoke(args=["api", "token", "list"])
    assert listing.exit_code == 0
    assert token.prefix in listing.output and secret not in listing.output
    assert "admin@acme.example" in listing.output and "active" in listing.output


def test_create_for_a_non_admin_user_is_issued_by_the_orgs_admin(app, world):
    result = app.test_cli_runner().invoke(args=[
        "api", "token", "create", "--email", "BUYER@acme.example", "--name", "Scanner",
        "--scopes", "orders:write,catalog:read"])
    assert result.exit_code == 0, result.output
    [token] = all_tokens()
    assert token.user_id == world.user("buyer@acme.example").id
    assert token.created_by_id == world.user("admin@acme.example").id
    assert token.scopes == ["catalog:read", "orders:write"]


def test_create_refuses_bad_input(app, world):
    runner = app.test_cli_runner()
    for args, message in (
        (["--email", "nobody@acme.example", "--name", "X"], "No user"),
        (["--email", "admin@acme.example", "--name", "X", "--scopes", "all,bogus"], "Unknown scope"),
        (["--email", "admin@acme.example", "--name", "X", "--expires", "31.12.2030"], "--expires"),
        (["--email", "admin@acme.example", "--name", "X", "--expires", "2001-01-01"], "future"),
        (["--email", "admin@acme.example", "--name", " "], "name"),
    ):
        result = runner.invoke(args=["api", "token", "create", *args])
        assert result.exit_code != 0, args
        assert message in result.output, (args, result.output)
    assert all_tokens() == []


def test_revoke(app, world):
    runner = app.test_cli_runner()
    runner.invoke(args=["api", "token", "create", "--email", "sales@nordwind.example", "--name", "ERP"])
    [token] = all_tokens()
    result = runner.invoke(args=["api", "token", "revoke", str(token.id)])
    assert result.exit_code == 0 and "is revoked" in result.output
    assert all_tokens()[0].revoked_at is not None
    again = runner.invoke(args=["api", "token", "revoke", str(token.id)])
    assert again.exit_code == 0 and "already revoked" in again.output
    missing = runner.invoke(args=["api", "token", "revoke", "999999"])
    assert missing.exit_code != 0 and "No API token" in missing.output
