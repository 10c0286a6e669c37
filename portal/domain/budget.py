"""Budget arithmetic: a ledger of reservations, commitments and actuals against an amount.

Pure functions over plain values, so the ledger rules are tested without a database:
available = amount − reserved − committed − actual, where each bucket is the sum of its
entries (a release is a negative reservation; a commitment converts a reservation; an actual
converts a commitment).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from portal.domain.messages import N_, Msg
from portal.money import Money, round_places

ZERO = Decimal("0.00")


class OverrunPolicy(StrEnum):
    BLOCK = "block"
    WARN = "warn"
    ESCALATE = "escalate"


class PeriodKind(StrEnum):
    YEAR = "year"
    QUARTER = "quarter"
    MONTH = "month"


class EntryKind(StrEnum):
    RESERVE = "reserve"
    RELEASE = "release"
    COMMIT = "commit"
    ACTUAL = "actual"


class BudgetStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True)
class Entry:
    kind: EntryKind
    amount: Decimal  # signed


@dataclass(frozen=True)
class Balances:
    amount: Decimal
    reserved: Decimal
    committed: Decimal
    actual: Decimal

    @property
    def consumed(self) -> Decimal:
        return self.reserved + self.committed + self.actual

    @property
    def available(self) -> Decimal:
        return self.amount - self.consumed

    @property
    def used_ratio(self) -> Decimal:
        if self.amount <= 0:
            return Decimal(1) if self.consumed > 0 else Decimal(0)
        return self.consumed / self.amount

    @property
    def used_percent(self) -> int:
        return int(round_places(self.used_ratio * 100, 0))

    @property
    def level(self) -> str:
        """`ok`, `warn` above 80 % and `over` above 100 % used."""
        if self.used_ratio > 1:
            return "over"
        if self.used_ratio > Decimal("0.8"):
            return "warn"
        return "ok"


def bucket_of(kind: EntryKind) -> str:
    return {
        EntryKind.RESERVE: "reserved",
        EntryKind.RELEASE: "reserved",
        EntryKind.COMMIT: "committed",
        EntryKind.ACTUAL: "actual",
    }[EntryKind(kind)]


def balances(amount: Decimal, entries) -> Balances:
    """Sum the ledger into its buckets."""
    sums = {"reserved": ZERO, "committed": ZERO, "actual": ZERO}
    for entry in entries:
        sums[bucket_of(entry.kind)] += entry.amount
    return Balances(amount=amount, **sums)


def reservation_entries(amount: Decimal) -> list[Entry]:
    return [Entry(EntryKind.RESERVE, amount)]


def release_entries(open_reservation: Decimal) -> list[Entry]:
    """Give back what is still reserved for a source document."""
    return [Entry(EntryKind.RELEASE, -open_reservation)] if open_reservation > 0 else []


def commit_entries(open_reservation: Decimal, amount: Decimal) -> list[Entry]:
    """An order converts the reservation of its requisition into a commitment of its own amount."""
    entries = release_entries(open_reservation)
    entries.append(Entry(EntryKind.COMMIT, amount))
    return entries


def actual_entries(open_commitment: Decimal, amount: Decimal) -> list[Entry]:
    """An approved invoice converts the order's commitment into an actual of its own amount."""
    entries = [Entry(EntryKind.COMMIT, -open_commitment)] if open_commitment > 0 else []
    entries.append(Entry(EntryKind.ACTUAL, amount))
    return entries


def shortfall_message(available: Decimal, requested: Decimal, currency: str) -> Msg:
    return Msg(
        N_("The budget does not cover this: %(requested)s requested, %(available)s available, "
           "%(shortfall)s short."),
        {"requested": Money(requested, currency), "available": Money(available, currency),
         "shortfall": Money(requested - available, currency)},
    )


def period_bounds(kind: PeriodKind, year: int, index: int = 1) -> tuple[date, date]:
    """First and last day of a year, a quarter (index 1-4) or a month (index 1-12)."""
    kind = PeriodKind(kind)
    if kind == PeriodKind.YEAR:
        return date(year, 1, 1), date(year, 12, 31)
    if kind == PeriodKind.QUARTER:
        if not 1 <= index <= 4:
            raise ValueError("quarter must be 1 to 4")
        first_month = 3 * (index - 1) + 1
        last_month = first_month + 2
        return date(year, first_month, 1), date(year, last_month, calendar.monthrange(year, last_month)[1])
    if not 1 <= index <= 12:
        raise ValueError("month must be 1 to 12")
    return date(year, index, 1), date(year, index, calendar.monthrange(year, index)[1])


def periods_overlap(a_start: date, a_end: date, b_start: date, b_end: date) -> bool:
    return a_start <= b_end and b_start <= a_end


def percent(part: Decimal, whole: Decimal) -> Decimal:
    """A share in percent with one decimal, for bars; 0 when the whole is not positive."""
    if whole <= 0:
        return Decimal("0.0")
    return round_places(Decimal(100) * part / whole, 1)


@dataclass(frozen=True)
class BarSegment:
    kind: str
    amount: Decimal
    percent: Decimal
    offset: Decimal = Decimal("0")


def bar(b: Balances) -> list[BarSegment]:
    """Segments of a budget bar (actual, committed, reserved, available), scaled to the larger of
    the budget and what is consumed, so an overrun still fits the bar."""
    scale = max(b.amount, b.consumed, Decimal("0.01"))
    segments = []
    offset = Decimal("0")
    for kind, value in (("actual", b.actual), ("committed", b.committed), ("reserved", b.reserved),
                        ("available", b.available)):
        share = percent(max(value, ZERO), scale)
        segments.append(BarSegment(kind, value, share, offset))
        offset += share
    return segments
