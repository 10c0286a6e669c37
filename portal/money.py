"""Money: Decimal amounts with a currency, half-up rounding, locale formatting.

Polish VAT (art. 106e ust. 11 of the VAT act) rounds half-up to the grosz, and so do we
everywhere: Python's default (half-even) is never used for money.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel.numbers import format_currency, get_currency_precision

CURRENCIES = ("PLN", "EUR")
CENT = Decimal("0.01")


def minor_unit(currency: str) -> Decimal:
    """The smallest amount of a currency: 0.01 for PLN and EUR."""
    return Decimal(1).scaleb(-get_currency_precision(currency))


def round_money(amount: Decimal, currency: str = "PLN") -> Decimal:
    """Round half-up to the currency's minor unit. Floats are refused (2.675 is 2.67499...)."""
    if isinstance(amount, float):
        raise TypeError("money is never a float")
    return Decimal(amount).quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


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


def format_money(amount: Decimal | None, currency: str, locale: str = "en") -> str:
    """`1 234,50 zł` in Polish, `PLN1,234.50` in English (Babel's data); half-up to the minor unit."""
    if amount is None:
        return ""
    return format_currency(round_money(amount, currency), currency, locale=locale)
