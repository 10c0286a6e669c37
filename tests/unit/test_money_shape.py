"""The fast money formatter (a shape read once per locale and currency) writes exactly what
Babel's pattern engine writes, for every currency and both formatting locales."""

from __future__ import annotations

from decimal import Decimal

import pytest
from babel import Locale
from babel.numbers import format_currency

from portal.money import COMMON_CURRENCIES, format_money, money_pattern, round_money

VALUES = ("0", "0.01", "-0.01", "5", "999.999", "1234.5", "-1234.5", "12345678.9",
          "999999999999.99", "-1000000")


@pytest.mark.parametrize("locale", ["en_IE", "pl_PL", "de_DE", "fr_FR"])
@pytest.mark.parametrize("currency", [*COMMON_CURRENCIES, "JPY", "BHD", "KWD"])
def test_fast_money_is_babels_money(locale, currency):
    for text in VALUES:
        value = round_money(Decimal(text), currency)
        babel = format_currency(value, currency, format=money_pattern(locale),
                                locale=Locale.parse(locale), currency_digits=True)
        assert format_money(Decimal(text), currency, locale) == babel, (locale, currency, text)
