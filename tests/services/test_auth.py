"""Sign-in, throttling, sessions and password reset (portal/services/auth.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from argon2 import PasswordHasher
from sqlalchemy import func, select

from portal.errors import ValidationProblem
from portal.extensions import db
from portal.models import AuditEvent, LoginAttempt, PasswordResetToken, User
from portal.services import auth, users
from portal.services.passwords import hash_password, needs_rehash, verify_password
from tests.conftest import DEMO_PASSWORD, as_org, as_system, reload

LIMITS = {"per_account": 3, "per_address": 5, "minutes": 15}
NEW_PASSWORD = "a brand new passphrase 7"


def _attempts(**where) -> int:
    query = select(func.count(LoginAttempt.id))
    for key, value in where.items():
        query = query.where(getattr(LoginAttempt, key) == value)
    return db.session.scalar(query)


def test_authenticate_returns_the_user_for_the_right_password(world):
    user = auth.authenticate(" Buyer@ACME.example ", DEMO_PASSWORD, address="10.0.0.1",
                             limits=LIMITS)
    assert user is not None and user.email == "buyer@acme.example"
    assert reload(user).last_login_at is not None


def test_authenticate_answers_none_alike_for_unknown_email_and_wrong_password(world):
    assert auth.authenticate("nobody@acme.example", DEMO_PASSWORD, address="10.0.0.1",
                             limits=LIMITS) is None
    assert auth.authenticate("buyer@acme.example", "wrong password", address="10.0.0.1",
                             limits=LIMITS) is None
    assert _attempts(address="10.0.0.1") == 2


def test_authenticate_refuses_a_deactivated_user(world):
    with as_org(world.acme):
        users.deactivate(world.user("buyer2@acme"), actor=world.user("admin@acme"))
        db.session.commit()
    assert auth.authenticate("buyer2@acme.example", DEMO_PASSWORD, address="10.0.0.1",
                             limits=LIMITS) is None
    assert _attempts(email="buyer2@acme.example") == 1


def test_authenticate_throttles_an_account_even_with_the_right_password(world):
    for _ in range(LIMITS["per_account"]):
        auth.authenticate("buyer@acme.example", "wrong", address="10.0.0.1", limits=LIMITS)
    with pytest.raises(auth.LoginThrottled) as info:
        auth.authenticate("buyer@acme.example", DEMO_PASSWORD, address="10.0.0.2", limits=LIMITS)
    assert info.value.status_code == 429
    assert "15 minutes" in str(info.value.message)
    # Other accounts are not affected.
    assert auth.authenticate("buyer2@acme.example", DEMO_PASSWORD, address="10.0.0.2",
                             limits=LIMITS) is not None


def test_authenticate_throttles_an_address(world):
    for i in range(LIMITS["per_address"]):
        auth.authenticate(f"guess{i}@acme.example", "wrong", address="10.0.0.9", limits=LIMITS)
    with pytest.raises(auth.LoginThrottled):
        auth.authenticate("buyer@acme.example", DEMO_PASSWORD, address="10.0.0.9", limits=LIMITS)
    assert auth.authenticate("buyer@acme.example", DEMO_PASSWORD, address="10.0.0.10",
                             limits=LIMITS) is not None


def test_throttle_expires(world):
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=False):
        for _ in range(LIMITS["per_account"]):
            auth.authenticate("buyer@acme.example", "wrong", address="10.0.0.1", limits=LIMITS)
    with time_machine.travel(start + timedelta(minutes=14), tick=False), \
            pytest.raises(auth.LoginThrottled):
        auth.authenticate("buyer@acme.example", DEMO_PASSWORD, address="10.0.0.1", limits=LIMITS)
    with time_machine.travel(start + timedelta(minutes=15, seconds=1), tick=False):
        assert auth.authenticate("buyer@acme.example", DEMO_PASSWORD, address="10.0.0.1",
                                 limits=LIMITS) is not None


def test_successful_sign_in_clears_the_accounts_failures(world):
    auth.authenticate("buyer@acme.example", "wrong", address="10.0.0.1", limits=LIMITS)
    auth.authenticate("buyer@acme.example", DEMO_PASSWORD, address="10.0.0.1", limits=LIMITS)
    assert _attempts(email="buyer@acme.example") == 0


def test_sign_in_rehashes_a_hash_with_old_parameters(world):
    old = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1).hash(DEMO_PASSWORD)
    assert needs_rehash(old)
    with as_system():
        world.user("buyer@acme").password_hash = old
        db.session.commit()
    user = auth.authenticate("buyer@acme.example", DEMO_PASSWORD, address="10.0.0.1",
                             limits=LIMITS)
    db.session.commit()
    stored = reload(user).password_hash
    assert stored != old
    assert not needs_rehash(stored)
    assert verify_password(stored, DEMO_PASSWORD)


def test_end_all_sessions_changes_the_session_id(world):
    user = world.user("buyer@acme")
    before = user.get_id()
    auth.end_all_sessions(user)
    assert user.get_id() != before
    assert user.get_id().startswith(f"{user.id}:")


def test_change_password_checks_the_current_one_and_the_policy(world):
    user = world.user("buyer@acme")
    with as_org(world.acme):
        with pytest.raises(ValidationProblem, match="current password"):
            auth.change_password(user, "wrong", NEW_PASSWORD, min_length=12)
        with pytest.raises(ValidationProblem, match="too easy"):
            auth.change_password(user, DEMO_PASSWORD, "password1234", min_length=12)
        version = user.session_version
        auth.change_password(user, DEMO_PASSWORD, NEW_PASSWORD, min_length=12)
        db.session.commit()
    user = reload(user)
    assert verify_password(user.password_hash, NEW_PASSWORD)
    assert user.session_version == version + 1
    with as_org(world.acme):
        assert db.session.scalar(select(func.count(AuditEvent.id)).where(
            AuditEvent.action == "user.password_changed", AuditEvent.object_id == user.id)) == 1


def test_password_reset_is_single_use_and_ends_sessions(world):
    user, token = auth.start_password_reset("BUYER@acme.example", hours=2)
    db.session.commit()
    version = reload(user).session_version
    assert auth.find_reset_token(token) is not None
    auth.reset_password(token, NEW_PASSWORD, min_length=12)
    db.session.commit()
    user = reload(user)
    assert verify_password(user.password_hash, NEW_PASSWORD)
    assert user.session_version == version + 1
    assert auth.find_reset_token(token) is None
    with pytest.raises(ValidationProblem, match="expired or was already used"):
        auth.reset_password(token, "another fine passphrase", min_length=12)


def test_password_reset_refuses_a_weak_password_and_keeps_the_link(world):
    _, token = auth.start_password_reset("buyer@acme.example", hours=2)
    db.session.commit()
    with pytest.raises(ValidationProblem, match="at least 12"):
        auth.reset_password(token, "short", min_length=12)
    db.session.rollback()
    assert auth.find_reset_token(token) is not None


def test_password_reset_link_expires(world):
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=False):
        _, token = auth.start_password_reset("buyer@acme.example", hours=2)
        db.session.commit()
    with time_machine.travel(start + timedelta(hours=1, minutes=59), tick=False):
        assert auth.find_reset_token(token) is not None
    with time_machine.travel(start + timedelta(hours=2), tick=False):
        assert auth.find_reset_token(token) is None
        with pytest.raises(ValidationProblem):
            auth.reset_password(token, NEW_PASSWORD, min_length=12)


def test_a_new_password_voids_older_reset_links(world):
    _, first = auth.start_password_reset("buyer@acme.example", hours=2)
    _, second = auth.start_password_reset("buyer@acme.example", hours=2)
    db.session.commit()
    auth.reset_password(second, NEW_PASSWORD, min_length=12)
    db.session.commit()
    assert auth.find_reset_token(first) is None


def test_password_reset_nobody_for_unknown_or_deactivated_users(world):
    assert auth.start_password_reset("nobody@acme.example", hours=2) is None
    with as_org(world.acme):
        users.deactivate(world.user("buyer2@acme"), actor=world.user("admin@acme"))
        db.session.commit()
    assert auth.start_password_reset("buyer2@acme.example", hours=2) is None
    assert db.session.scalar(select(func.count(PasswordResetToken.id))) == 0


def test_password_reset_links_are_limited_per_hour(world):
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=False):
        for _ in range(auth.RESET_LINKS_PER_HOUR):
            assert auth.start_password_reset("buyer@acme.example", hours=2) is not None
            db.session.commit()
        assert auth.start_password_reset("buyer@acme.example", hours=2) is None
    with time_machine.travel(start + timedelta(hours=1, seconds=1), tick=False):
        assert auth.start_password_reset("buyer@acme.example", hours=2) is not None


def test_reset_token_is_stored_only_as_a_hash(world):
    _, token = auth.start_password_reset("buyer@acme.example", hours=2)
    db.session.commit()
    stored = db.session.scalars(select(PasswordResetToken.token_hash)).one()
    assert token not in stored and len(stored) == 64


def test_hash_password_uses_argon2id():
    assert hash_password("whatever passphrase").startswith("$argon2id$")


def test_normalize_email():
    assert auth.normalize_email("  Buyer@ACME.Example ") == "buyer@acme.example"
    assert auth.normalize_email(None) == ""


def test_find_user_by_email_works_unbound(world):
    db.session.expire_all()
    user = auth.find_user_by_email("sales@polbud.example")
    assert isinstance(user, User) and user.organization_id == world.polbud.id
