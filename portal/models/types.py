"""Column types that keep money exact on PostgreSQL and SQLite alike.

SQLite has no decimal type: SQLAlchemy's Numeric stores a float there, and 0.1 + 0.2 drifts.
`Exact` stores NUMERIC(p, s) on PostgreSQL and a scaled integer (value × 10^s) on SQLite, so
comparisons and SUM() stay exact in SQL on both.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from datetime import UTC

from sqlalchemy import BigInteger, DateTime, Numeric
from sqlalchemy.types import TypeDecorator


class Exact(TypeDecorator):
    """A Decimal column of fixed scale, exact on every database."""

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int = 14, scale: int = 2):
        super().__init__(precision=precision, scale=scale)
        self.precision = precision
        self.scale = scale

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("money is never a float")
        value = Decimal(value).quantize(Decimal(1).scaleb(-self.scale), rounding=ROUND_HALF_UP)
        if dialect.name == "sqlite":
            return int(value.scaleb(self.scale))
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if dialect.name == "sqlite":
            return Decimal(int(value)).scaleb(-self.scale)
        return Decimal(value).quantize(Decimal(1).scaleb(-self.scale))

    def __repr__(self) -> str:
        return f"Exact(precision={self.precision}, scale={self.scale})"


def Amount() -> Exact:  # noqa: N802 - reads like a type in model declarations
    """A money amount: NUMERIC(14, 2)."""
    return Exact(14, 2)


def UnitPrice() -> Exact:  # noqa: N802
    """A unit price: NUMERIC(18, 4)."""
    return Exact(18, 4)


def Quantity() -> Exact:  # noqa: N802
    """A quantity: NUMERIC(12, 3)."""
    return Exact(12, 3)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC timestamp on every database (SQLite would return naive values)."""

    impl = DateTime
    cache_ok = True

    def __init__(self):
        super().__init__(timezone=True)

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def __repr__(self) -> str:
        return "UTCDateTime()"
