"""API tokens: issue (the secret shown once), authenticate, revoke.

A token is `pt_` + 43 random URL-safe characters. Only its SHA-256 is stored (a long random
secret needs no slow hash, and every API request looks it up by that one unique index); the first
11 characters stay readable so an admin can tell tokens apart.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import defaultload, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from portal.domain import api_scopes
from portal.domain.messages import N_, Msg
from portal.errors import ValidationProblem
from portal.extensions import PREPARED, db
from portal.models import User
from portal.models.base import utcnow
from portal.models.integration import ApiToken
from portal.policies import enforce
from portal.services import audit, badges
from portal.services.paging import LIST_PER_PAGE, Key, KeysetPage, Order, keyset
from portal.tenancy import ALL_TENANTS, read_scope_links, scope_columns

PREFIX = "pt_"
SHOWN = 11  # characters of the token kept readable ("pt_" + 8)
TOUCH_EVERY = timedelta(minutes=1)  # last use is written at most this often per token


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def new_secret() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def _problem(message: Msg, field: str) -> ValidationProblem:
    """A refusal naming the form field it is about (`show_problem` puts it there)."""
    problem = ValidationProblem(message)
    problem.field = field
    return problem


def issue_token(actor, *, name: str, scopes, user, expires_at: datetime | None = None,
                secret: str | None = None) -> tuple[ApiToken, str]:
    """Create a token of the actor's organisation acting as `user`; returns (token, secret).

    `secret` only for the demo world's documented tokens. The caller commits."""
    enforce(actor, "integration.manage")
    name = (name or "").strip()
    if not name:
        raise _problem(Msg(N_("Give the token a name.")), "name")
    chosen = api_scopes.clean(scopes)
    if not chosen:
        raise _problem(Msg(N_("Choose at least one scope.")), "scopes")
    if user.organization_id != actor.organization_id or not user.is_active:
        raise _problem(Msg(N_("A token acts as an active user of your organisation.")), "user")
    if expires_at is not None and expires_at <= utcnow():
        raise _problem(Msg(N_("The expiry date must be in the future.")), "expires_on")
    raw = secret or new_secret()
    token = ApiToken(organization_id=actor.organization_id, name=name[:80], prefix=raw[:SHOWN],
                     token_hash=hash_token(raw), scopes=chosen, user_id=user.id,
                     created_by_id=actor.id, expires_at=expires_at)
    db.session.add(token)
    db.session.flush()
    audit.record(actor=actor, action="api_token.created", obj=token,
                 summary={"name": token.name, "scopes": chosen, "acts_as": user.email})
    return token, raw


def revoke_token(actor, token: ApiToken, *, now: datetime | None = None) -> ApiToken:
    """Revoke a token (idempotent: a revoked token stays as it was). The caller commits."""
    enforce(actor, "integration.manage", token)
    if token.revoked_at is None:
        token.revoked_at = now or utcnow()
        token.revoked_by_id = actor.id
        audit.record(actor=actor, action="api_token.revoked", obj=token, summary={"name": token.name})
    return token


def find(session, raw: str) -> ApiToken | None:
    """The token with this secret, whatever its state (None: no such token).

    Deliberate cross-tenant read: the organisation is not known until the token is."""
    if not raw or len(raw) > 200 or not raw.startswith(PREFIX):
        return None
    row = session.execute(_find_statement(), {"token_hash": hash_token(raw)},
                          execution_options=ALL_TENANTS).unique().first()
    if row is None:
        return None
    token, linked, blocked, data_version = row
    read_scope_links(session, token.organization_id, linked, blocked)
    badges.remember_data_version(session, token.organization_id, data_version)
    return token


@functools.cache
def _find_statement():
    """The statement of `find`, built once: the token, its user, the user's organisation and
    roles, the organisation's tenant scope and its data version (the list cache's key) in one
    query (every API request runs it; the policies read the roles)."""
    org = ApiToken.organization_id
    return (select(ApiToken, *scope_columns(org), badges.data_version_column(org))
            .where(ApiToken.token_hash == bindparam("token_hash"))
            .options(joinedload(ApiToken.user).joinedload(User.role_rows))
            .execution_options(**PREPARED))  # a lookup by key: prepared on PostgreSQL


def touch(token: ApiToken, now: datetime | None = None) -> None:
    """Record the token's use, at most once a minute, on a connection of its own (a read of
    the API writes nothing in its own transaction). It moves no data version: an ERP polling
    every minute would empty its company's list cache each time; the tokens page, kept at most
    LIST_CACHE_SECONDS (a minute), is as fresh as this minute-grained record anyway."""
    now = now or utcnow()
    if token.last_used_at is not None and now - token.last_used_at < TOUCH_EVERY:
        return
    with db.engine.begin() as connection:
        connection.execute(update(ApiToken.__table__).where(ApiToken.__table__.c.id == token.id)
                           .values(last_used_at=now))
    set_committed_value(token, "last_used_at", now)  # known, without dirtying the session


# ---------------------------------------------------------------- the admin's pages and the CLI

NEWEST = Order("api-tokens", Key(ApiToken.created_at, descending=True),
               Key(ApiToken.id, descending=True))
ACTIVE, EXPIRED, REVOKED = "active", "expired", "revoked"


def tokens_page(*, cursor: str | None = None, per_page: int = LIST_PER_PAGE) -> KeysetPage:
    """The current organisation's tokens, newest first (index ix_api_tokens_org_created), with
    the people they name joined in (one statement: two `selectin` loads were a third of the
    page). Raises BadCursor for a cursor it did not give out."""
    query = select(ApiToken).options(  # names only: the people's roles are not read here
        *[joinedload(people).lazyload(User.role_rows) for people in (ApiToken.created_by, ApiToken.revoked_by)],
        defaultload(ApiToken.user).lazyload(User.role_rows))
    return keyset(query, NEWEST, cursor=cursor, per_page=per_page)


def get_token(token_id: int) -> ApiToken | None:
    """A token of the current organisation by id; None for unknown ids and other organisations."""
    return db.session.scalars(select(ApiToken).where(ApiToken.id == token_id)).first()


def state_of(token: ApiToken, now: datetime | None = None) -> str:
    """"active", "expired" or "revoked"."""
    if token.revoked_at is not None:
        return REVOKED
    if token.expires_at is not None and token.expires_at <= (now or utcnow()):
        return EXPIRED
    return ACTIVE


def _zone(org) -> ZoneInfo:
    try:
        return ZoneInfo(getattr(org, "time_zone", None) or "Europe/Warsaw")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Europe/Warsaw")


def expiry_at(day: date | None, org) -> datetime | None:
    """A token valid "until `day`" expires when that day ends where the organisation is:
    the next midnight in its time zone, as UTC."""
    if day is None:
        return None
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=_zone(org)).astimezone(UTC)


def last_valid_day(token: ApiToken, org) -> date | None:
    """The day shown as the token's expiry (the day `expiry_at` was given)."""
    if token.expires_at is None:
        return None
    return (token.expires_at.astimezone(_zone(org)) - timedelta(microseconds=1)).date()


def acting_users() -> list[User]:
    """Who a new token may act as: the current organisation's active users, by name."""
    return list(db.session.scalars(
        select(User).where(User.is_active_flag.is_(True)).order_by(User.full_name, User.id)))


def parse_scopes(text: str) -> list[str]:
    """`all`, or scopes separated by commas (the CLI's --scopes); unknown ones raise."""
    words = [w.strip() for w in (text or "").split(",") if w.strip()]
    if words == ["all"]:
        return list(api_scopes.ALL_SCOPES)
    unknown = [w for w in words if w not in api_scopes.ALL_SCOPES]
    if unknown:
        raise ValidationProblem(Msg(N_("Unknown scope: %(scopes)s."), {"scopes": ", ".join(unknown)}))
    return api_scopes.clean(words)
