"""API tokens (portal/services/integration/tokens.py): issued to an org admin's organisation,
stored hashed, refused with a message naming the field, revoked once, listed per organisation;
the expiry day ends in the organisation's time zone; the CLI's scope list."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from portal.domain.api_scopes import ALL_SCOPES
from portal.errors import PermissionDenied, ValidationProblem
from portal.extensions import db
from portal.models import AuditEvent
from portal.models.integration import ApiToken
from portal.services.integration import tokens
from tests.conftest import as_org, as_system


def issue(world, email="admin@acme.example", **kwargs):
    actor = world.user(email)
    args = {"name": "ERP", "scopes": ["invoices:read"], "user": actor, **kwargs}
    with as_org(actor.organization):
        token, raw = tokens.issue_token(actor, **args)
        db.session.commit()
        return token, raw


def test_issue_stores_the_hash_and_the_readable_start(world):
    token, raw = issue(world, scopes=["orders:write", "invoices:read", "orders:write"])
    assert raw.startswith("pt_") and len(raw) == 46
    assert token.token_hash == tokens.hash_token(raw) and token.prefix == raw[:11]
    assert token.scopes == ["orders:write", "invoices:read"]  # canonical order, no duplicates
    assert tokens.find(db.session, raw).id == token.id
    assert tokens.find(db.session, raw + "x") is None
    assert tokens.state_of(token) == tokens.ACTIVE
    with as_system():
        [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "api_token.created"))
    assert event.object_id == token.id and raw not in str(event.summary)


def test_a_fixed_secret_for_the_demo(world):
    token, raw = issue(world, secret="pt_demo_acme_erp_0000000000000000000000000000")
    assert raw == "pt_demo_acme_erp_0000000000000000000000000000"
    assert token.prefix == "pt_demo_acm"


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"name": " "}, "name"),
    ({"scopes": []}, "scopes"),
    ({"scopes": ["invoices:delete"]}, "scopes"),
    ({"expires_at": datetime(2020, 1, 1, tzinfo=UTC)}, "expires_on"),
])
def test_refusals_name_their_field(world, kwargs, field):
    with pytest.raises(ValidationProblem) as refused:
        issue(world, **kwargs)
    assert refused.value.field == field
    db.session.rollback()
    with as_system():
        assert db.session.scalars(select(ApiToken)).all() == []


@pytest.mark.parametrize("other", ["admin@globex.example", "sales@nordwind.example"])
def test_a_token_acts_only_as_a_user_of_the_own_organisation(world, other):
    with pytest.raises(ValidationProblem) as refused:
        issue(world, user=world.user(other))
    assert refused.value.field == "user"


def test_only_org_admins_issue_tokens(world):
    with pytest.raises(PermissionDenied):
        issue(world, "buyer@acme.example")
    db.session.rollback()
    token, _ = issue(world, "sales@nordwind.example")  # a supplier's admin
    assert token.organization_id == world.user("sales@nordwind.example").organization_id


def test_revoke_is_recorded_once(world):
    token, _ = issue(world)
    admin = world.user("admin@acme.example")
    at = datetime(2030, 1, 1, tzinfo=UTC)
    with as_org(admin.organization):
        token = db.session.get(ApiToken, token.id)
        tokens.revoke_token(admin, token, now=at)
        tokens.revoke_token(admin, token, now=at + timedelta(days=1))
        db.session.commit()
        assert token.revoked_at == at and token.revoked_by_id == admin.id
        assert tokens.state_of(token) == tokens.REVOKED
    with as_system():
        assert len(db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "api_token.revoked")).all()) == 1


def test_state_expired(world):
    token, _ = issue(world, expires_at=datetime.now(UTC) + timedelta(hours=1))
    assert tokens.state_of(token) == tokens.ACTIVE
    assert tokens.state_of(token, datetime.now(UTC) + timedelta(hours=2)) == tokens.EXPIRED


def test_expiry_day_ends_in_the_organisations_time_zone(world):
    org = world.orgs["acme"]
    org.time_zone = "Europe/Warsaw"
    # Winter: UTC+1, so 31 Dec ends at 23:00 UTC.
    assert tokens.expiry_at(date(2030, 12, 31), org) == datetime(2030, 12, 31, 23, tzinfo=UTC)
    # Summer: UTC+2.
    assert tokens.expiry_at(date(2030, 7, 1), org) == datetime(2030, 7, 1, 22, tzinfo=UTC)
    assert tokens.expiry_at(None, org) is None
    org.time_zone = "America/New_York"
    assert tokens.expiry_at(date(2030, 1, 15), org) == datetime(2030, 1, 16, 5, tzinfo=UTC)
    token = ApiToken(expires_at=tokens.expiry_at(date(2030, 1, 15), org))
    assert tokens.last_valid_day(token, org) == date(2030, 1, 15)
    db.session.rollback()


def test_the_list_is_per_organisation_newest_first(world):
    for i in range(3):
        issue(world, name=f"Acme {i}")
    issue(world, "admin@globex.example", name="Globex")
    admin = world.user("admin@acme.example")
    with as_org(admin.organization):
        page = tokens.tokens_page(per_page=2)
        assert [t.name for t in page.items] == ["Acme 2", "Acme 1"]
        assert page.next is not None
        rest = tokens.tokens_page(cursor=page.next, per_page=2)
        assert [t.name for t in rest.items] == ["Acme 0"]
        globex_token = db.session.execute(
            select(ApiToken.id).where(ApiToken.name == "Globex").execution_options(all_tenants=True)
        ).scalar_one()
        assert tokens.get_token(globex_token) is None
        people = [u.email for u in tokens.acting_users()]
    assert people and all(email.endswith("@acme.example") for email in people)


def test_parse_scopes():
    assert tokens.parse_scopes("all") == list(ALL_SCOPES)
    assert tokens.parse_scopes(" orders:write , invoices:read ") == ["orders:write", "invoices:read"]
    with pytest.raises(ValidationProblem, match="Unknown scope"):
        tokens.parse_scopes("invoices:read,everything")
