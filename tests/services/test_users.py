"""Users of an organisation: roles, the last-admin rules, deactivation, listing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.domain.roles import Role
from portal.errors import ValidationProblem
from portal.extensions import db
from portal.models import AuditEvent, User
from portal.services import users
from tests.conftest import as_org, as_system, reload


@pytest.fixture(autouse=True)
def _request(app):
    # Messages are translated into the request's language: give the services a request.
    with app.test_request_context():
        yield


def _events(action: str, user: User) -> list[AuditEvent]:
    with as_system():
        return list(
            db.session.scalars(
                select(AuditEvent).where(
                    AuditEvent.action == action,
                    AuditEvent.object_type == "User",
                    AuditEvent.object_id == user.id,
                )
            )
        )


def test_set_roles_changes_roles_and_limit_and_audits(world):
    admin, buyer = world.user("admin@acme"), world.user("buyer@acme")
    with as_org(world.acme):
        users.set_roles(buyer, ["buyer", "approver"], actor=admin, approval_limit=Decimal("5000"))
        db.session.commit()
    fresh = reload(buyer)
    assert fresh.roles == {Role.BUYER, Role.APPROVER}
    assert fresh.approval_limit == Decimal("5000.00")
    (event,) = _events("user.roles_changed", buyer)
    assert event.actor_id == admin.id
    assert event.summary["before"] == {"roles": ["buyer"], "approval_limit": None}
    assert event.summary["after"] == {"roles": ["approver", "buyer"], "approval_limit": "5000"}


def test_set_roles_drops_the_limit_with_the_approver_role(world):
    admin, approver = world.user("admin@acme"), world.user("approver@acme")
    with as_org(world.acme):
        users.set_roles(approver, ["buyer"], actor=admin, approval_limit=Decimal("10"))
        db.session.commit()
    fresh = reload(approver)
    assert fresh.roles == {Role.BUYER}
    assert fresh.approval_limit is None


def test_set_roles_without_a_change_records_nothing(world):
    admin, buyer = world.user("admin@acme"), world.user("buyer@acme")
    with as_org(world.acme):
        users.set_roles(buyer, ["buyer"], actor=admin)
        db.session.commit()
    assert _events("user.roles_changed", buyer) == []


def test_an_admin_cannot_remove_their_own_admin_role(world):
    admin = world.user("admin@acme")
    with as_org(world.acme):
        users.create_user(world.acme, email="second@acme.example", full_name="Second Admin",
                          roles=["admin"])
        with pytest.raises(ValidationProblem) as exc:
            users.set_roles(admin, ["buyer"], actor=admin)
        assert "your own admin role" in str(exc.value.message)
        db.session.rollback()
    assert reload(admin).roles == {Role.ADMIN}


def test_the_last_active_admin_keeps_the_admin_role(world):
    admin, buyer = world.user("admin@acme"), world.user("buyer@acme")
    with as_org(world.acme), pytest.raises(ValidationProblem) as exc:
        # Someone other than the admin (a script, a stale page) tries it.
        users.set_roles(admin, ["buyer"], actor=buyer)
    assert "at least one active admin" in str(exc.value.message)
    db.session.rollback()
    assert reload(admin).roles == {Role.ADMIN}


def test_another_admin_can_remove_an_admin_role_when_one_remains(world):
    admin = world.user("admin@acme")
    with as_org(world.acme):
        other = users.create_user(world.acme, email="second@acme.example",
                                  full_name="Second Admin", roles=["admin", "buyer"])
        users.set_roles(other, ["buyer"], actor=admin)
        db.session.commit()
    assert reload(other).roles == {Role.BUYER}


def test_a_deactivated_admin_does_not_count_as_the_remaining_admin(world):
    admin = world.user("admin@acme")
    with as_org(world.acme):
        other = users.create_user(world.acme, email="second@acme.example",
                                  full_name="Second Admin", roles=["admin"])
        users.deactivate(other, actor=admin)
        with pytest.raises(ValidationProblem):
            users.set_roles(admin, ["buyer"], actor=other)
        db.session.rollback()


@pytest.mark.parametrize(
    ("roles", "message"),
    [(["buyer", "supplier_sales"], "Unknown role"), (["root"], "Unknown role"),
     ([], "at least one role")],
)
def test_set_roles_refuses_roles_the_organisation_cannot_hold(world, roles, message):
    admin, buyer = world.user("admin@acme"), world.user("buyer@acme")
    with as_org(world.acme), pytest.raises(ValidationProblem) as exc:
        users.set_roles(buyer, roles, actor=admin)
    assert message in str(exc.value.message)
    db.session.rollback()
    assert reload(buyer).roles == {Role.BUYER}


@pytest.mark.parametrize("limit", ["-1", "NaN", "Infinity", "1000000000000"])
def test_set_roles_refuses_a_limit_that_is_not_a_storable_amount(world, limit):
    admin, approver = world.user("admin@acme"), world.user("approver@acme")
    with as_org(world.acme), pytest.raises(ValidationProblem):
        users.set_roles(approver, ["approver"], actor=admin, approval_limit=Decimal(limit))
    db.session.rollback()
    assert reload(approver).approval_limit == Decimal("10000.00")


def test_deactivate_ends_every_session_and_audits(world):
    admin, buyer = world.user("admin@acme"), world.user("buyer@acme")
    version = buyer.session_version
    with as_org(world.acme):
        users.deactivate(buyer, actor=admin)
        db.session.commit()
    fresh = reload(buyer)
    assert fresh.is_active is False
    assert fresh.session_version == version + 1
    assert len(_events("user.deactivated", buyer)) == 1


def test_nobody_deactivates_themselves(world):
    admin = world.user("admin@acme")
    with as_org(world.acme), pytest.raises(ValidationProblem) as exc:
        users.deactivate(admin, actor=admin)
    assert "yourself" in str(exc.value.message)
    db.session.rollback()
    assert reload(admin).is_active


def test_the_last_admin_cannot_be_deactivated(world):
    admin, buyer = world.user("admin@acme"), world.user("buyer@acme")
    with as_org(world.acme), pytest.raises(ValidationProblem) as exc:
        users.deactivate(admin, actor=buyer)
    assert "at least one active admin" in str(exc.value.message)
    db.session.rollback()
    assert reload(admin).is_active


def test_reactivate_lets_the_user_back_and_audits(world):
    admin, buyer = world.user("admin@acme"), world.user("buyer@acme")
    with as_org(world.acme):
        users.deactivate(buyer, actor=admin)
        with pytest.raises(ValidationProblem):
            users.deactivate(buyer, actor=admin)
        users.reactivate(buyer, actor=admin)
        with pytest.raises(ValidationProblem):
            users.reactivate(buyer, actor=admin)
        db.session.commit()
    assert reload(buyer).is_active
    assert len(_events("user.reactivated", buyer)) == 1


def test_get_user_sees_only_the_current_organisation(world):
    acme_buyer = world.user("buyer@acme")
    with as_org(world.globex):
        assert users.get_user(acme_buyer.id) is None
        assert users.get_user(world.user("buyer@globex").id).email == "buyer@globex.example"


def test_users_query_filters_by_status_and_search(world):
    admin = world.user("admin@acme")
    with as_org(world.acme):
        users.deactivate(world.user("buyer2@acme"), actor=admin)
        db.session.flush()

        def emails(**kw):
            return [u.email for u in db.session.scalars(users.users_query(**kw))]

        everyone = emails()
        assert len(everyone) == 5
        assert all(e.endswith("@acme.example") for e in everyone)
        assert "buyer2@acme.example" not in emails(status="active")
        assert emails(status="deactivated") == ["buyer2@acme.example"]
        assert emails(search="LEWANDOWSKA") == ["cfo@acme.example"]
        assert emails(search="approver@") == ["approver@acme.example"]
        # LIKE wildcards typed by the user are taken literally.
        assert emails(search="%") == []
        assert emails(search="_") == []
        db.session.rollback()


def test_timeline_lists_the_users_events_oldest_first(world):
    admin, buyer = world.user("admin@acme"), world.user("buyer@acme")
    with as_org(world.acme):
        users.deactivate(buyer, actor=admin)
        users.reactivate(buyer, actor=admin)
        db.session.commit()
        actions = [e.action for e in users.timeline(buyer)]
    assert actions == ["user.created", "user.deactivated", "user.reactivated"]
