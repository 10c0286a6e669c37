"""Configuration. The only module that reads the environment."""

from __future__ import annotations

import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


class ConfigError(RuntimeError):
    """The environment does not describe a runnable configuration."""


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name, default)


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class Config:
    """Development defaults: SQLite in instance/, mail written to the log."""

    ENV_NAME = "development"
    SECRET_KEY = _env("SECRET_KEY", "dev-only-secret-change-me")
    SQLALCHEMY_DATABASE_URI = _env(
        "DATABASE_URL", f"sqlite:///{BASE_DIR / 'instance' / 'portal.db'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    SQLALCHEMY_RECORD_QUERIES = False

    # Request limits: a form bigger than this is refused before it is parsed.
    MAX_CONTENT_LENGTH = int(_env("MAX_CONTENT_LENGTH", str(16 * 1024 * 1024)))
    MAX_FORM_MEMORY_SIZE = int(_env("MAX_FORM_MEMORY_SIZE", str(512 * 1024)))
    MAX_FORM_PARTS = int(_env("MAX_FORM_PARTS", "1000"))

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
    PERMANENT_SESSION_LIFETIME = timedelta(hours=int(_env("SESSION_HOURS", "12")))

    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    WTF_CSRF_ENABLED = True

    BABEL_DEFAULT_LOCALE = _env("DEFAULT_LOCALE", "en")
    BABEL_DEFAULT_TIMEZONE = _env("DEFAULT_TIMEZONE", "Europe/Warsaw")
    LANGUAGES = ("en", "pl")

    # argon2id; OWASP ASVS 5 floor is m=19 MiB, t=2, p=1. We use more.
    ARGON2_TIME_COST = int(_env("ARGON2_TIME_COST", "3"))
    ARGON2_MEMORY_COST = int(_env("ARGON2_MEMORY_COST", str(64 * 1024)))
    ARGON2_PARALLELISM = int(_env("ARGON2_PARALLELISM", "2"))

    PASSWORD_MIN_LENGTH = 12
    LOGIN_MAX_FAILURES_PER_ACCOUNT = int(_env("LOGIN_MAX_FAILURES_PER_ACCOUNT", "5"))
    LOGIN_MAX_FAILURES_PER_ADDRESS = int(_env("LOGIN_MAX_FAILURES_PER_ADDRESS", "20"))
    LOGIN_LOCKOUT_MINUTES = int(_env("LOGIN_LOCKOUT_MINUTES", "15"))
    PASSWORD_RESET_HOURS = int(_env("PASSWORD_RESET_HOURS", "2"))
    INVITATION_DAYS = int(_env("INVITATION_DAYS", "7"))

    MAIL_SERVER = _env("MAIL_SERVER")  # empty: mail is written to the log
    MAIL_PORT = int(_env("MAIL_PORT", "587"))
    MAIL_USERNAME = _env("MAIL_USERNAME")
    MAIL_PASSWORD = _env("MAIL_PASSWORD")
    MAIL_USE_TLS = _env_bool("MAIL_USE_TLS", True)
    MAIL_FROM = _env("MAIL_FROM", "Portal <no-reply@portal.localhost>")
    BASE_URL = _env("BASE_URL", "http://127.0.0.1:5000")

    # Background jobs (portal/jobs): without REDIS_URL they run in-process right after the
    # commit that created them; with it they are queued on RQ for `flask jobs worker`.
    REDIS_URL = _env("REDIS_URL") or None
    JOBS_QUEUE = _env("JOBS_QUEUE", "portal")
    # Outbox delivery: tries before a message is marked failed; the first retry waits
    # OUTBOX_RETRY_SECONDS, each next one twice as long.
    OUTBOX_MAX_ATTEMPTS = int(_env("OUTBOX_MAX_ATTEMPTS", "6"))
    OUTBOX_RETRY_SECONDS = int(_env("OUTBOX_RETRY_SECONDS", "60"))

    # Rate limits (sign-in throttling, the API's per-token limit) are shared between workers
    # through Redis when there is one; portal-memory:// counts per process (extensions.py).
    RATELIMIT_STORAGE_URI = _env("RATELIMIT_STORAGE_URI") or _env("REDIS_URL") or "portal-memory://"
    RATELIMIT_HEADERS_ENABLED = False
    # Reverse proxies in front of the app that set X-Forwarded-For/-Proto (0: none). Without
    # it behind a proxy, every visitor has the proxy's address and the per-address sign-in
    # throttle locks everyone out together.
    TRUSTED_PROXIES = int(_env("TRUSTED_PROXIES", "0"))

    # The REST API (/api/v1): requests per token, body size of a JSON request or an import.
    API_RATE_LIMIT = _env("API_RATE_LIMIT", "600 per minute")
    # List pages and API lists kept in memory per worker between writes (blueprints/cache.py),
    # at most this many bytes (0 turns the cache off) and seconds.
    LIST_CACHE_BYTES = int(_env("LIST_CACHE_BYTES", str(16 * 1024 * 1024)))
    LIST_CACHE_SECONDS = int(_env("LIST_CACHE_SECONDS", "60"))
    API_MAX_BODY = int(_env("API_MAX_BODY", str(2 * 1024 * 1024)))
    # Webhooks: deliveries to loopback, private and link-local addresses and over plain http are
    # refused unless allowed here (development and tests deliver to a local receiver).
    WEBHOOK_ALLOW_PRIVATE = _env_bool("WEBHOOK_ALLOW_PRIVATE", True)
    WEBHOOK_ALLOW_HTTP = _env_bool("WEBHOOK_ALLOW_HTTP", True)
    WEBHOOK_TIMEOUT_SECONDS = float(_env("WEBHOOK_TIMEOUT_SECONDS", "5"))

    PAGE_SIZE = 25
    # Requisitions up to this gross amount may be approved several at once from the inbox.
    BULK_APPROVE_MAX = Decimal(_env("BULK_APPROVE_MAX", "5000"))


class ProductionConfig(Config):
    """Refuses to start without a real secret and database."""

    ENV_NAME = "production"
    WEBHOOK_ALLOW_PRIVATE = _env_bool("WEBHOOK_ALLOW_PRIVATE", False)
    WEBHOOK_ALLOW_HTTP = _env_bool("WEBHOOK_ALLOW_HTTP", False)
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE

    @classmethod
    def validate(cls) -> None:
        missing = [name for name in ("SECRET_KEY", "DATABASE_URL") if not os.environ.get(name)]
        if missing:
            raise ConfigError(f"Production needs these environment variables: {', '.join(missing)}")


class TestConfig(Config):
    """Fast hashes, an in-memory or TEST_DATABASE_URL database, no real mail."""

    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "test-secret"  # noqa: S105
    SQLALCHEMY_DATABASE_URI = _env("TEST_DATABASE_URL", "sqlite://")
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 8
    ARGON2_PARALLELISM = 1
    MAIL_SERVER = None
    RATELIMIT_ENABLED = True
    REDIS_URL = None  # jobs in-process; the RQ tests pass TEST_REDIS_URL themselves
    RATELIMIT_STORAGE_URI = "portal-memory://"


def load_config(name: str | None = None) -> type[Config]:
    """Pick the config class from PORTAL_ENV (development, production, testing)."""
    name = name or _env("PORTAL_ENV", "development")
    if name == "production":
        ProductionConfig.validate()
        # The secrets as the environment holds them now: class attributes were read at import,
        # possibly before a .env or a WSGI file set them (production would sign sessions with
        # the development key).
        return type("ProductionConfig", (ProductionConfig,), {
            "SECRET_KEY": os.environ["SECRET_KEY"],
            "SQLALCHEMY_DATABASE_URI": os.environ["DATABASE_URL"],
        })
    if name == "testing":
        return TestConfig
    return Config
