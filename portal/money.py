"""Money: Decimal amounts with a currency, half-up rounding, currencies, locale formatting.

Polish VAT (art. 106e ust. 11 of the VAT act) rounds half-up to the grosz, and so do we
everywhere: Python's default (half-even) is never used for money. `round_money` is the one
rounding of an amount; `round_places` the one rounding of anything else with a fixed number of
decimals (quantities, unit prices, percentages). Currencies are ISO 4217 codes in current use,
from Babel's CLDR data, not a fixed list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from functools import cache, lru_cache

from babel import Locale
from babel.core import get_global
from babel.numbers import (
    NumberPattern,
    format_currency,
    get_currency_name,
    get_currency_precision,
    get_territory_currencies,
    list_currencies,
    parse_pattern,
)

CENT = Decimal("0.01")
# Shown first in currency pickers: the ones our buyers and suppliers use most.
COMMON_CURRENCIES = ("PLN", "EUR", "USD", "GBP", "CHF", "CZK", "SEK", "NOK", "DKK", "HUF")


@cache
def currencies() -> frozenset[str]:
    """ISO 4217 codes of the currencies legal tender somewhere today (Babel's CLDR data).

    Withdrawn codes (DEM, PLZ) and funds or metals (XAU, XDR) are not among them. Computed once
    per process.
    """
    today = date.today()  # noqa: DTZ011 - a calendar day, in no time zone
    found: set[str] = set()
    for territory in get_global("territory_currencies"):
        found.update(get_territory_currencies(territory, today, tender=True))
    return frozenset(found & list_currencies())


def is_currency(code: object) -> bool:
    """True for a current ISO 4217 code in upper case (`PLN`), False for anything else."""
    return isinstance(code, str) and code in currencies()


def currency_codes() -> list[str]:
    """Every valid code, the common ones first (in `COMMON_CURRENCIES` order), then A to Z."""
    common = [c for c in COMMON_CURRENCIES if c in currencies()]
    return common + sorted(currencies() - set(common))


def currency_label(code: str, locale: str = "en") -> str:
    """`PLN – Polish Zloty` in English, `PLN – złoty polski` in Polish."""
    return f"{code} – {get_currency_name(code, locale=locale)}"


def currency_choices(locale: str = "en") -> list[tuple[str, str]]:
    """(code, label) pairs for a select: the common currencies first, labelled in `locale`."""
    return [(code, currency_label(code, locale)) for code in currency_codes()]


def places_of(currency: str) -> int:
    """Decimal places of a currency's minor unit: 2 for PLN and EUR, 0 for JPY."""
    return get_currency_precision(currency)


def minor_unit(currency: str) -> Decimal:
    """The smallest amount of a currency: 0.01 for PLN and EUR."""
    return Decimal(1).scaleb(-get_currency_precision(currency))


def round_places(value: Decimal, places: int) -> Decimal:
    """Round half-up to `places` decimals (a quantity to 3, a unit price to 4, a share to 1).

    Floats are refused (2.675 is 2.67499...). Runs with 60 significant digits: the default 28
    would round a large product once before this rounding (a double rounding, off by one unit).
    """
    if isinstance(value, float):
        raise TypeError("money is never a float")
    with localcontext(prec=60):
        return Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def round_money(amount: Decimal, currency: str = "PLN") -> Decimal:
    """Round half-up to the currency's minor unit: the one rounding of every amount.

    Floats are refused (2.675 is 2.67499...).
    """
    return round_places(amount, places_of(currency))


def to_decimal(value: object) -> Decimal:
    """Parse a user or database value into a Decimal; refuse floats, which are never exact."""
    if isinstance(value, float):
        raise TypeError("money is never a float")
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value).strip().replace("\xa0", "").replace(" ", "").replace(",", "."))
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"not an amount: {value!r}") from exc


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount in one currency."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount, float):
            raise TypeError("money is never a float")
        object.__setattr__(self, "amount", Decimal(self.amount))

    def rounded(self) -> Money:
        return Money(round_money(self.amount, self.currency), self.currency)

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money) or other.currency != self.currency:
            raise ValueError("cannot combine amounts in different currencies")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def format(self, locale: str = "en") -> str:
        return format_money(self.amount, self.currency, locale)


# One way to write an amount per language. Polish is CLDR's (`1 234,50 zł`, `1 234,50 €`).
# English puts the ISO code after the amount in every currency (`1,234.50 PLN`, `1,234.50 EUR`),
# as EU documents in English do; CLDR's English would mix `PLN1,234.50` with `€1,234.50`.
_MONEY_PATTERNS = {"en": "#,##0.00\u00a0¤¤"}


def money_pattern(locale: str | Locale) -> str:
    """The CLDR number pattern amounts are written with in `locale`."""
    locale = Locale.parse(locale)
    return _MONEY_PATTERNS.get(locale.language) or locale.currency_formats["standard"].pattern


def format_money(amount: Decimal | None, currency: str, locale: str = "en") -> str:
    """`1 234,50 zł` in Polish, `1,234.50 PLN` in English; half-up to the minor unit.

    Views and messages call `portal.i18n.money`, which passes the viewer's formatting locale.
    """
    if amount is None:
        return ""
    amount = round_money(amount, currency)
    shape = _money_shape(str(locale), currency)
    if shape is None:
        parsed, pattern = _money_format(str(locale))
        return format_currency(amount, currency, format=pattern, locale=parsed,
                               currency_digits=True)
    return _shaped(amount, shape)


def _shaped(amount: Decimal, shape: tuple) -> str:
    digits, group, decimal, plus, minus = shape
    text = f"{abs(amount):,.{digits}f}".translate({44: "\0", 46: "\1"})
    text = text.replace("\0", group).replace("\1", decimal)
    prefix, suffix = minus if amount < 0 else plus
    return f"{prefix}{text}{suffix}"


@lru_cache(maxsize=256)
def _money_shape(locale: str, currency: str) -> tuple | None:
    """How `locale` writes `currency` (decimals, separators, what goes before and after), read
    once from Babel's own output so a list page formats its amounts without Babel's pattern
    engine (a third of the page's time); None (use Babel) if the shape does not reproduce
    Babel's output exactly."""
    parsed, pattern = _money_format(locale)
    digits = get_currency_precision(currency)

    def babel(value: Decimal) -> str:
        return format_currency(value, currency, format=pattern, locale=parsed,
                               currency_digits=True)

    sample = Decimal("1111111.1111111")
    sample = round_money(sample, currency)
    sides = []
    for value in (sample, -sample):
        text = babel(value)
        start, end = text.find("1"), len(text) - text[::-1].find("1")
        sides.append((text[:start], text[end:], text[start:end]))
    body = sides[0][2]
    group = body[1] if len(body) > 1 and body[1] != "1" else ""
    decimal = ""
    if digits:
        decimal = body[-(digits + 1)]
    shape = (digits, group, decimal, sides[0][:2], sides[1][:2])
    for check in ("0", "5", "1234.5", "-1234.5", "999999999.99", "-0.01", "1000000"):
        value = round_money(Decimal(check), currency)
        if _shaped(value, shape) != babel(value):
            return None
    return shape


@lru_cache(maxsize=32)
def _money_format(locale: str) -> tuple[Locale, NumberPattern]:
    # Parsed once per locale: parsing the locale and the pattern cost three times the
    # formatting itself, on every amount of a list page.
    return Locale.parse(locale), parse_pattern(money_pattern(locale))
