"""Password policy (OWASP ASVS: length over composition rules, no common passwords)."""

from __future__ import annotations

from portal.domain.messages import N_, Msg

MIN_LENGTH = 12
MAX_LENGTH = 128
_COMMON = {
    "password1234", "123456789012", "qwertyuiop12", "portalportal", "administrator",
    "passwordpassword", "iloveyou1234", "zaq12wsxcde3", "qwerty123456", "haslo1234567",
}


def password_problems(password: str, *, email: str = "", min_length: int = MIN_LENGTH) -> list[Msg]:
    """What is wrong with a new password, as messages for the user; empty when it is fine."""
    problems = []
    if len(password) < min_length:
        problems.append(Msg(N_("Use at least %(n)s characters."), {"n": min_length}))
    if len(password) > MAX_LENGTH:
        problems.append(Msg(N_("Use at most %(n)s characters."), {"n": MAX_LENGTH}))
    lowered = password.lower()
    if lowered in _COMMON or len(set(lowered)) < 4:
        problems.append(Msg(N_("This password is too easy to guess.")))
    local = email.split("@")[0].lower()
    if local and len(local) >= 4 and local in lowered:
        problems.append(Msg(N_("Do not use your email address in the password.")))
    return problems
