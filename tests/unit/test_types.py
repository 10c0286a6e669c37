"""The Exact column type (portal/models/types.py): money stays exact on SQLite and PostgreSQL.

No app: the type is exercised through each dialect's bind/result processing, and through a
real in-memory SQLite database with plain SQLAlchemy.
"""

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from portal.models.types import Amount, Exact, Quantity, UnitPrice

DIALECTS = [sqlite.dialect(), postgresql.dialect()]
KINDS = [Amount(), UnitPrice(), Quantity()]
# Per test, not a global profile: other suites choose their own Hypothesis settings.
EXAMPLES = settings(database=None, deadline=None, max_examples=150)


def _limit(kind: Exact) -> Decimal:
    """The largest value the column holds: 10^(precision - scale) minus one minor unit."""
    return Decimal(10) ** (kind.precision - kind.scale) - Decimal(1).scaleb(-kind.scale)


def _exact_values(kind: Exact):
    limit = _limit(kind)
    return st.decimals(
        min_value=-limit, max_value=limit, places=kind.scale, allow_nan=False, allow_infinity=False
    )


def _round_trip(kind: Exact, dialect, value):
    return kind.process_result_value(kind.process_bind_param(value, dialect), dialect)


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
@pytest.mark.parametrize("kind", KINDS, ids=repr)
def test_exact_round_trip_is_exact_with_fixed_scale(kind, dialect):
    @EXAMPLES
    @given(_exact_values(kind))
    def check(value):
        result = _round_trip(kind, dialect, value)
        assert result == value
        assert isinstance(result, Decimal)
        assert result.as_tuple().exponent == -kind.scale

    check()


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
def test_exact_round_trip_rounds_extra_places_half_up(dialect):
    kind = Amount()

    @EXAMPLES
    @given(st.decimals(min_value=-10**9, max_value=10**9, places=6, allow_nan=False))
    def check(value):
        expected = value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        assert _round_trip(kind, dialect, value) == expected

    check()
    assert _round_trip(kind, dialect, Decimal("2.675")) == Decimal("2.68")
    assert _round_trip(kind, dialect, Decimal("0.005")) == Decimal("0.01")


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
def test_exact_accepts_ints_and_none(dialect):
    kind = Amount()
    assert _round_trip(kind, dialect, 12) == Decimal("12.00")
    assert kind.process_bind_param(None, dialect) is None
    assert kind.process_result_value(None, dialect) is None


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
def test_exact_refuses_floats(dialect):
    with pytest.raises(TypeError, match="never a float"):
        Amount().process_bind_param(0.1, dialect)


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
@pytest.mark.parametrize("value", ["NaN", "sNaN", "Infinity", "-Infinity"])
def test_exact_refuses_values_that_are_not_amounts(dialect, value):
    # PostgreSQL's NUMERIC would store NaN (and it passes CHECK (x >= 0)); SQLite would fail.
    with pytest.raises(ValueError, match="not a finite amount"):
        Amount().process_bind_param(Decimal(value), dialect)


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
def test_exact_refuses_values_too_large_for_the_column_on_every_database(dialect):
    kind = Amount()
    assert _round_trip(kind, dialect, _limit(kind)) == _limit(kind)
    for value in (_limit(kind) + Decimal("0.01"), -(_limit(kind) + Decimal("0.01")),
                  Decimal("999999999999.995"), Decimal("1E+40")):
        with pytest.raises(ValueError, match="too large"):
            kind.process_bind_param(value, dialect)


def test_exact_stores_scaled_integers_on_sqlite_and_sums_exactly():
    engine = create_engine("sqlite://")
    metadata = MetaData()
    table = Table("t", metadata, Column("id", Integer, primary_key=True), Column("v", Amount()))
    metadata.create_all(engine)

    @EXAMPLES
    @given(st.lists(_exact_values(Amount()), min_size=1, max_size=8))
    def check(values):
        with engine.begin() as conn:
            conn.execute(table.delete())
            conn.execute(insert(table), [{"v": v} for v in values])
            stored = conn.execute(select(table.c.v).order_by(table.c.id)).scalars().all()
            raw = conn.exec_driver_sql("SELECT v FROM t ORDER BY id").scalars().all()
            total = conn.execute(select(func.sum(table.c.v))).scalar_one()
        assert stored == values
        assert all(isinstance(r, int) for r in raw)
        assert total == sum(values, Decimal(0))
        assert total.as_tuple().exponent == -2

    check()
    with engine.begin() as conn:
        conn.execute(table.delete())
        conn.execute(insert(table), [{"v": Decimal("0.1")}, {"v": Decimal("0.2")}])
        assert conn.execute(select(func.sum(table.c.v))).scalar_one() == Decimal("0.30")
        assert conn.execute(select(table.c.id).where(table.c.v == Decimal("0.1"))).all()
    engine.dispose()
