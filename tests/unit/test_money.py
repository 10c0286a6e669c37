"""Money (portal/money.py): half-up rounding, no floats, locale formatting. No app needed."""

from decimal import Decimal

import pytest

from portal.money import Money, format_money, minor_unit, round_money, to_decimal


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("0.005", "0.01"),
        ("2.675", "2.68"),  # the float 2.675 is 2.67499..., which is why floats are refused
        ("0.015", "0.02"),
        ("0.025", "0.03"),  # half-even would give 0.02
        ("-0.005", "-0.01"),
        ("1.004", "1.00"),
        ("10", "10.00"),
    ],
)
def test_round_money_rounds_half_up_to_the_grosz(amount, expected):
    result = round_money(Decimal(amount))
    assert result == Decimal(expected)
    assert str(result) == expected


def test_round_money_refuses_floats():
    with pytest.raises(TypeError):
        round_money(2.675)


def test_minor_unit():
    assert minor_unit("PLN") == Decimal("0.01")
    assert minor_unit("EUR") == Decimal("0.01")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1234.50", "1234.50"), ("1\xa0234,50", "1234.50"), (" 1 234,5 ", "1234.5"), (7, "7"),
     (Decimal("0.1"), "0.1")],
)
def test_to_decimal_parses_user_input(value, expected):
    assert to_decimal(value) == Decimal(expected)


def test_to_decimal_refuses_floats_and_garbage():
    with pytest.raises(TypeError):
        to_decimal(0.1)
    with pytest.raises(ValueError, match="not an amount"):
        to_decimal("ten zloty")


def test_money_is_exact_and_refuses_floats():
    total = Money(Decimal("0.1"), "PLN") + Money(Decimal("0.2"), "PLN")
    assert total == Money(Decimal("0.3"), "PLN")
    assert (total - Money(Decimal("0.3"), "PLN")).amount == 0
    assert -Money(Decimal("5"), "EUR") == Money(Decimal("-5"), "EUR")
    with pytest.raises(TypeError):
        Money(0.1, "PLN")


def test_money_refuses_mixing_currencies():
    with pytest.raises(ValueError, match="different currencies"):
        Money(Decimal("1"), "PLN") + Money(Decimal("1"), "EUR")
    with pytest.raises(ValueError, match="different currencies"):
        Money(Decimal("1"), "PLN") - Money(Decimal("1"), "EUR")


def test_money_rounded_is_half_up():
    assert Money(Decimal("2.675"), "PLN").rounded() == Money(Decimal("2.68"), "PLN")


def test_format_money_in_polish_uses_non_breaking_spaces():
    assert format_money(Decimal("1234.5"), "PLN", "pl") == "1\xa0234,50\xa0zł"
    assert format_money(Decimal("1234567.89"), "PLN", "pl") == "1\xa0234\xa0567,89\xa0zł"
    assert format_money(Decimal("1234.5"), "EUR", "pl") == "1\xa0234,50\xa0€"
    assert Money(Decimal("0.005"), "PLN").format("pl") == "0,01\xa0zł"


def test_format_money_in_english():
    assert format_money(Decimal("1234.5"), "PLN", "en") == "PLN1,234.50"
    assert format_money(Decimal("1234567.891"), "EUR", "en") == "€1,234,567.89"


def test_format_money_rounds_half_up_and_shows_nothing_for_none():
    assert format_money(Decimal("2.675"), "EUR", "en") == "€2.68"
    assert format_money(None, "PLN", "pl") == ""
