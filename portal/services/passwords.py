"""argon2id password hashing with parameters from config (cheap ones only in tests)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher: PasswordHasher | None = None
# A hash of a random password, verified against when the email is unknown, so a wrong
# email and a wrong password take the same time.
_dummy_hash: str | None = None


def configure(time_cost: int, memory_cost: int, parallelism: int) -> None:
    global _hasher, _dummy_hash
    _hasher = PasswordHasher(
        time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism
    )
    _dummy_hash = _hasher.hash("not-a-real-password-0000")


def _get() -> PasswordHasher:
    if _hasher is None:
        configure(3, 64 * 1024, 2)
    return _hasher


def hash_password(password: str) -> str:
    return _get().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches; always spends the time of one verification."""
    hasher = _get()
    try:
        return hasher.verify(password_hash or _dummy_hash, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _get().check_needs_rehash(password_hash)
