"""Column types that keep money exact on PostgreSQL and SQLite alike.

SQLite has no decimal type: SQLAlchemy's Numeric stores a float there, and 0.1 + 0.2 drifts.
`Exact` stores NUMERIC(p, s) on PostgreSQL and a scaled integer (value × 10^s) on SQLite, so
comparisons and SUM() stay exact in SQL on both.
"""

from __future__ import annotations

from datetime import UTC
from decimal import Decimal

from sqlalchemy import JSON, BigInteger, DateTime, Numeric
from sqlalchemy.types import TypeDecorator

from portal.domain.terms import PaymentTerms
from portal.money import round_places


class Exact(TypeDecorator):
    """A Decimal column of fixed scale, exact on every database."""

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int = 14, scale: int = 2):
        super().__init__(precision=precision, scale=scale)
        self.precision = precision
        self.scale = scale
        self._quantum = Decimal(1).scaleb(-scale)  # 0.01 for scale 2: each value read is quantized to it

    @property
    def max_value(self) -> Decimal:
        """The largest value the column holds: 999999999999.99 for NUMERIC(14, 2)."""
        return Decimal(10) ** (self.precision - self.scale) - Decimal(1).scaleb(-self.scale)

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("money is never a float")
        value = Decimal(value)
        if not value.is_finite():
            # PostgreSQL's NUMERIC would store NaN, and NaN passes CHECK (amount >= 0).
            raise ValueError(f"not a finite amount: {value!r}")
        self._check_range(value)  # before quantize: a huge value would overflow the context
        value = round_places(value, self.scale)
        self._check_range(value)  # after: 999.995 rounds up to 1000.00
        if dialect.name == "sqlite":
            return int(value.scaleb(self.scale))
        return value

    def _check_range(self, value: Decimal) -> None:
        # PostgreSQL refuses these; SQLite's integer would take them: refuse on both alike.
        if value and value.adjusted() >= self.precision - self.scale:
            raise ValueError(f"{value} is too large for NUMERIC({self.precision}, {self.scale})")

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if dialect.name == "sqlite":
            return Decimal(int(value)).scaleb(-self.scale)
        # psycopg returns a Decimal already: a list page reads hundreds of amounts.
        return (value if type(value) is Decimal else Decimal(value)).quantize(self._quantum)

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


class PaymentTermsType(TypeDecorator):
    """PaymentTerms stored as their JSON form (`PaymentTerms.to_json()`), JSON on both databases.

    Frozen value objects: a change is a new object assigned to the attribute, which the ORM sees.
    """

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if not isinstance(value, PaymentTerms):
            raise TypeError("payment terms are a PaymentTerms")
        return value.to_json()

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return PaymentTerms.from_json(value)

    def __repr__(self) -> str:
        return "PaymentTermsType()"
