"""Budget ledger arithmetic, without a database."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.domain.budget import (
    Balances,
    Entry,
    EntryKind,
    PeriodKind,
    actual_entries,
    balances,
    bar,
    commit_entries,
    period_bounds,
    periods_overlap,
    release_entries,
    reservation_entries,
    shortfall_message,
)

D = Decimal


def test_budget_available_is_amount_minus_every_bucket():
    entries = [
        Entry(EntryKind.RESERVE, D("300.00")),
        Entry(EntryKind.RELEASE, D("-100.00")),
        Entry(EntryKind.COMMIT, D("150.00")),
        Entry(EntryKind.ACTUAL, D("50.00")),
    ]
    b = balances(D("1000.00"), entries)
    assert (b.reserved, b.committed, b.actual) == (D("200.00"), D("150.00"), D("50.00"))
    assert b.available == D("600.00")


def test_budget_commit_converts_the_reservation_and_actual_converts_the_commitment():
    ledger = reservation_entries(D("500.00"))
    ledger += commit_entries(D("500.00"), D("480.00"))
    b = balances(D("1000.00"), ledger)
    assert (b.reserved, b.committed, b.available) == (D("0.00"), D("480.00"), D("520.00"))
    ledger += actual_entries(D("480.00"), D("490.00"))
    b = balances(D("1000.00"), ledger)
    assert (b.committed, b.actual, b.available) == (D("0.00"), D("490.00"), D("510.00"))


def test_budget_release_of_nothing_posts_nothing():
    assert release_entries(D("0")) == []


@pytest.mark.parametrize(
    ("consumed", "level"),
    [(D("0"), "ok"), (D("800.00"), "ok"), (D("800.01"), "warn"), (D("1000.00"), "warn"), (D("1000.01"), "over")],
)
def test_budget_level_colours_above_80_and_100_percent(consumed, level):
    assert Balances(D("1000.00"), consumed, D("0"), D("0")).level == level


def test_budget_bar_fits_an_overrun():
    segments = {s.kind: s for s in bar(Balances(D("100.00"), D("150.00"), D("0"), D("50.00")))}
    assert segments["reserved"].percent == D("75.0")
    assert segments["actual"].percent == D("25.0")
    assert segments["available"].percent == D("0.0")


def test_budget_shortfall_message_names_the_shortfall():
    msg = shortfall_message(D("30.00"), D("50.00"), "PLN")
    assert "20.00" in str(msg) and "PLN" in str(msg)


@pytest.mark.parametrize(
    ("kind", "index", "start", "end"),
    [
        (PeriodKind.YEAR, 1, date(2026, 1, 1), date(2026, 12, 31)),
        (PeriodKind.QUARTER, 1, date(2026, 1, 1), date(2026, 3, 31)),
        (PeriodKind.QUARTER, 4, date(2026, 10, 1), date(2026, 12, 31)),
        (PeriodKind.MONTH, 2, date(2028, 2, 1), date(2028, 2, 29)),
    ],
)
def test_budget_period_bounds(kind, index, start, end):
    assert period_bounds(kind, start.year, index) == (start, end)


def test_budget_period_bounds_refuse_bad_index():
    with pytest.raises(ValueError):
        period_bounds(PeriodKind.QUARTER, 2026, 5)


def test_budget_periods_overlap_on_a_shared_day():
    assert periods_overlap(date(2026, 1, 1), date(2026, 3, 31), date(2026, 3, 31), date(2026, 6, 30))
    assert not periods_overlap(date(2026, 1, 1), date(2026, 3, 31), date(2026, 4, 1), date(2026, 6, 30))


amounts = st.decimals(min_value=D("0.01"), max_value=D("5000"), places=2, allow_nan=False, allow_infinity=False)
operations = st.lists(st.tuples(st.sampled_from(["reserve", "release", "commit", "actual"]), amounts), max_size=40)


@settings(max_examples=200, deadline=None)
@given(budget=amounts, ops=operations)
def test_budget_ledger_under_block_never_goes_below_zero_and_releases_match_reservations(budget, ops):
    """Model of a `block` budget: a reservation is taken only when it fits; every release gives
    back at most what one earlier reservation still holds; commits and actuals convert."""
    ledger: list[Entry] = []
    open_reservations: list[Decimal] = []
    open_commitments: list[Decimal] = []
    for op, amount in ops:
        current = balances(budget, ledger)
        if op == "reserve":
            if amount <= current.available:
                ledger += reservation_entries(amount)
                open_reservations.append(amount)
        elif op == "release" and open_reservations:
            ledger += release_entries(open_reservations.pop(0))
        elif op == "commit" and open_reservations:
            held = open_reservations.pop(0)
            committed = min(amount, held)  # an order never commits more than its approval held
            ledger += commit_entries(held, committed)
            open_commitments.append(committed)
        elif op == "actual" and open_commitments:
            held = open_commitments.pop(0)
            ledger += actual_entries(held, min(amount, held))
        after = balances(budget, ledger)
        assert after.available >= 0
        assert after.available == budget - sum(e.amount for e in ledger)
        assert after.reserved == sum(open_reservations, D("0"))
        assert after.committed == sum(open_commitments, D("0"))
    releases = [e for e in ledger if e.kind == EntryKind.RELEASE]
    reserves = [e for e in ledger if e.kind == EntryKind.RESERVE]
    assert sum(-e.amount for e in releases) <= sum(e.amount for e in reserves)
