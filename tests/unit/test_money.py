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


def test_format_money_in_english_is_one_way_in_every_currency():
    # The ISO code after the amount, whatever the currency (CLDR's en: "PLN1,234.50", "€1,234.50").
    assert format_money(Decimal("1234.5"), "PLN", "en") == "1,234.50\xa0PLN"
    assert format_money(Decimal("1234567.891"), "EUR", "en_IE") == "1,234,567.89\xa0EUR"
    assert format_money(Decimal("1234.5"), "JPY", "en_IE") == "1,235\xa0JPY"


def test_format_money_rounds_half_up_and_shows_nothing_for_none():
    assert format_money(Decimal("2.675"), "EUR", "en") == "2.68\xa0EUR"
    assert format_money(None, "PLN", "pl") == ""


# --- one rounding, currencies from ISO 4217 ---------------------------------------------------

from portal.money import (  # noqa: E402
    COMMON_CURRENCIES,
    currencies,
    currency_choices,
    currency_codes,
    is_currency,
    places_of,
    round_places,
)


@pytest.mark.parametrize(
    ("value", "places", "expected"),
    [("1.0005", 3, "1.001"), ("12.34565", 4, "12.3457"), ("12.5", 0, "13"), ("-0.05", 1, "-0.1"),
     ("99.95", 1, "100.0")],
)
def test_round_places_is_half_up(value, places, expected):
    assert str(round_places(Decimal(value), places)) == expected


def test_round_places_does_not_round_twice_on_large_products():
    # 28 significant digits would round the product before the half-up to the grosz.
    assert round_places(Decimal("99999999999999999999999999.995"), 2) == Decimal(
        "100000000000000000000000000.00"
    )
    with pytest.raises(TypeError):
        round_places(1.5, 2)


def test_round_money_uses_the_currency_minor_unit():
    assert places_of("JPY") == 0 and places_of("PLN") == 2 and places_of("BHD") == 3
    assert round_money(Decimal("1234.5"), "JPY") == Decimal("1235")
    assert round_money(Decimal("1.0005"), "BHD") == Decimal("1.001")
    assert minor_unit("JPY") == Decimal("1")


def test_currencies_are_current_iso_codes():
    codes = currencies()
    assert {"PLN", "EUR", "USD", "GBP", "CHF", "CZK", "SEK", "JPY"} <= codes
    # Withdrawn currencies, precious metals and funds are not currencies one invoices in.
    assert not {"DEM", "PLZ", "XAU", "XDR", "USN"} & codes
    assert all(len(code) == 3 and code.isupper() for code in codes)


@pytest.mark.parametrize("code", ["PLN", "EUR", "USD", "CHF"])
def test_is_currency_accepts_current_codes(code):
    assert is_currency(code)


@pytest.mark.parametrize("code", ["pln", "XXX", "DEM", "", None, "PLNX", 985])
def test_is_currency_refuses_anything_else(code):
    assert not is_currency(code)


def test_currency_choices_put_the_common_ones_first_with_localized_names():
    codes = currency_codes()
    assert codes[: len(COMMON_CURRENCIES)] == list(COMMON_CURRENCIES)
    rest = codes[len(COMMON_CURRENCIES):]
    assert rest == sorted(rest) and len(set(codes)) == len(codes) == len(currencies())
    polish = dict(currency_choices("pl"))
    english = dict(currency_choices("en"))
    assert polish["PLN"] == "PLN – złoty polski"
    assert english["PLN"] == "PLN – Polish Zloty"
    assert english["CHF"] == "CHF – Swiss Franc"
