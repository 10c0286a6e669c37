"""Password policy (portal/domain/passwords.py), no app needed."""

import pytest

from portal.domain.passwords import MAX_LENGTH, password_problems


def _texts(password, **kwargs):
    return [m.text for m in password_problems(password, **kwargs)]


def test_password_problems_accepts_a_long_uncommon_phrase():
    assert password_problems("correct horse battery staple", email="buyer@acme.example") == []


def test_password_problems_refuses_short_passwords_with_the_minimum_in_the_message():
    problems = password_problems("short-pw-1", min_length=12)
    assert [m.text for m in problems] == ["Use at least %(n)s characters."]
    assert str(problems[0]) == "Use at least 12 characters."


def test_password_problems_uses_the_configured_minimum():
    assert password_problems("eleven-char", min_length=11) == []
    assert _texts("eleven-char", min_length=16) == ["Use at least %(n)s characters."]


def test_password_problems_refuses_too_long_passwords():
    assert _texts("a-b-c-d-" * 20, min_length=12) == ["Use at most %(n)s characters."]
    assert password_problems("abcdefgh" * (MAX_LENGTH // 8)) == []


@pytest.mark.parametrize(
    "password", ["password1234", "Password1234", "QWERTY123456", "aaaaaaaaaaaaaaaa", "abababababab"]
)
def test_password_problems_refuses_common_or_repetitive_passwords(password):
    assert _texts(password) == ["This password is too easy to guess."]


def test_password_problems_refuses_the_email_name_inside_the_password():
    assert _texts("my-Buyer-secret-99", email="buyer@acme.example") == [
        "Do not use your email address in the password."
    ]
    # A very short local part would refuse too many passwords: it is ignored.
    assert password_problems("my-bob-secret-99", email="bob@acme.example") == []


def test_password_problems_reports_every_problem_at_once():
    assert _texts("abababab", email="abab@acme.example") == [
        "Use at least %(n)s characters.",
        "This password is too easy to guess.",
        "Do not use your email address in the password.",
    ]
