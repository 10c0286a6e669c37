"""Shared column helpers for the models."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Mapped, mapped_column

from portal.models.types import UTCDateTime


def utcnow() -> datetime:
    return datetime.now(UTC)


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class Updated:
    """`updated_at`: when the row itself last changed (the API's `updated_since` filter and its
    keyset order). Set by the ORM on every UPDATE of the row (a change of its lines alone does
    not touch it)."""

    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow,
                                                 nullable=False)
