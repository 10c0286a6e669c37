"""Price agreement rules: validity, tiers, which agreement applies, overlaps."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import pytest

from portal.domain import agreements as rules
from portal.domain.agreements import AgreementProblem, Tier

D = Decimal
DAY = date(2026, 12, 5)


@dataclass
class Agreement:
    unit_price: Decimal
    valid_from: date
    valid_to: date | None = None
    currency: str = "PLN"
    tiers: list[Tier] = field(default_factory=list)
    id: int = 0

    @property
    def tier_list(self):
        return self.tiers


def test_is_valid_on_includes_both_ends():
    a = Agreement(D("10"), date(2026, 12, 1), date(2026, 12, 5))
    assert rules.is_valid_on(a, date(2026, 12, 1))
    assert rules.is_valid_on(a, date(2026, 12, 5))
    assert not rules.is_valid_on(a, date(2026, 11, 30))
    assert not rules.is_valid_on(a, date(2026, 12, 6))
    assert rules.is_valid_on(Agreement(D("1"), date(2020, 1, 1)), date(2099, 1, 1))


def test_state_on_names_future_valid_and_expired():
    a = Agreement(D("10"), date(2026, 12, 1), date(2026, 12, 31))
    assert rules.state_on(a, date(2026, 11, 1)) == "future"
    assert rules.state_on(a, DAY) == "valid"
    assert rules.state_on(a, date(2027, 1, 1)) == "expired"


def test_price_for_picks_the_highest_tier_the_quantity_reaches():
    a = Agreement(D("10.00"), DAY, tiers=[Tier(D("100"), D("8.50")), Tier(D("10"), D("9.25"))])
    assert rules.price_for(a, D("1")) == D("10.00")
    assert rules.price_for(a, D("9.999")) == D("10.00")
    assert rules.price_for(a, D("10")) == D("9.25")
    assert rules.price_for(a, D("99")) == D("9.25")
    assert rules.price_for(a, D("100")) == D("8.50")
    assert rules.price_for(a, D("5000")) == D("8.50")


def test_applicable_takes_the_cheapest_valid_agreement_in_the_currency():
    cheap_expired = Agreement(D("5"), date(2026, 1, 1), date(2026, 6, 30), id=1)
    valid = Agreement(D("12"), date(2026, 1, 1), id=2)
    cheaper = Agreement(D("11"), date(2026, 11, 1), id=3, tiers=[Tier(D("50"), D("9"))])
    euro = Agreement(D("2"), date(2026, 1, 1), currency="EUR", id=4)
    future = Agreement(D("1"), date(2027, 1, 1), id=5)
    found = [cheap_expired, valid, cheaper, euro, future]
    assert rules.applicable(found, DAY, currency="PLN") is cheaper
    assert rules.applicable(found, DAY) is euro
    assert rules.applicable(found, DAY, D("50"), "PLN") is cheaper
    assert rules.applicable([cheap_expired, future], DAY) is None
    assert rules.applicable([], DAY) is None


def test_applicable_breaks_ties_by_start_then_id():
    later = Agreement(D("10"), date(2026, 6, 1), id=1)
    earlier = Agreement(D("10"), date(2026, 1, 1), id=2)
    assert rules.applicable([later, earlier], DAY) is earlier


@pytest.mark.parametrize(("a", "b", "expected"), [
    ((date(2026, 1, 1), date(2026, 1, 31)), (date(2026, 2, 1), None), False),
    ((date(2026, 1, 1), date(2026, 1, 31)), (date(2026, 1, 31), None), True),
    ((date(2026, 1, 1), None), (date(2030, 1, 1), date(2030, 2, 1)), True),
    ((date(2026, 3, 1), date(2026, 3, 2)), (date(2026, 1, 1), date(2026, 2, 28)), False),
    ((date(2026, 1, 1), None), (date(2025, 1, 1), None), True),
])
def test_overlaps(a, b, expected):
    assert rules.overlaps(*a, *b) is expected
    assert rules.overlaps(*b, *a) is expected


@pytest.mark.parametrize("price", [D("0"), D("-1"), D("0.00001"), D("1e14"), None, D("NaN")])
def test_check_price_refuses_zero_negative_and_unreadable(price):
    with pytest.raises(AgreementProblem):
        rules.check_price(price)


def test_check_price_takes_four_places():
    assert rules.check_price(D("0.0001")) == D("0.0001")


@pytest.mark.parametrize("tiers", [
    [Tier(D("1"), D("5"))],  # from 1 is the base price
    [Tier(D("10"), D("5")), Tier(D("10"), D("4"))],  # not ascending
    [Tier(D("10"), D("5")), Tier(D("5"), D("4"))],
    [Tier(D("10"), D("0"))],
    [Tier(None, D("4"))],
    [Tier(D("10"), None)],
    [Tier(D("10.0001"), D("4"))],
    [Tier(D(str(10 + i)), D("4")) for i in range(rules.MAX_TIERS + 1)],
])
def test_check_tiers_refuses_bad_tiers(tiers):
    with pytest.raises(AgreementProblem) as caught:
        rules.check_tiers(tiers, D("6"))
    assert caught.value.field == "tiers"


def test_check_tiers_keeps_ascending_tiers():
    tiers = [Tier(D("10"), D("5")), Tier(D("100"), D("4.5"))]
    assert rules.check_tiers(tiers, D("6")) == tiers


def test_check_dates():
    rules.check_dates(DAY, None)
    rules.check_dates(DAY, DAY)
    with pytest.raises(AgreementProblem, match="before the start"):
        rules.check_dates(DAY, date(2026, 12, 4))
    with pytest.raises(AgreementProblem):
        rules.check_dates(None, None)


def test_end_day_is_today_for_a_running_agreement():
    assert rules.end_day(Agreement(D("1"), date(2026, 1, 1)), DAY) == DAY
    assert rules.end_day(Agreement(D("1"), DAY, date(2027, 1, 1)), DAY) == DAY
    with pytest.raises(AgreementProblem, match="not started"):
        rules.end_day(Agreement(D("1"), date(2027, 1, 1)), DAY)
    with pytest.raises(AgreementProblem, match="already ended"):
        rules.end_day(Agreement(D("1"), date(2026, 1, 1), DAY), DAY)


def test_tier_json_round_trip_is_exact():
    tier = Tier(D("12.5"), D("0.1001"))
    assert Tier.from_json(tier.to_json()) == tier
    assert tier.to_json() == ["12.5", "0.1001"]
