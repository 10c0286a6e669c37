"""Template filters of the requisition pages: unit prices with up to 4 decimals, quantities
and VAT rates in the reader's locale (|money rounds to the cent, which a unit price must not)."""

from __future__ import annotations

from decimal import Decimal

from babel import Locale
from babel.numbers import format_currency, format_decimal
from flask_babel import get_locale

from portal.blueprints.requisitions import bp
from portal.domain.catalog import format_rate


def _locale() -> Locale:
    return Locale.parse(str(get_locale() or "en"))


@bp.app_template_filter("unit_price")
def unit_price(value: Decimal | None, currency: str = "PLN") -> str:
    """`0,335 zł`, `12,50 zł`: two decimals at least, four at most, as the price was given."""
    if value is None:
        return ""
    locale = _locale()
    pattern = locale.currency_formats["standard"].pattern.replace("0.00", "0.00##")
    return format_currency(Decimal(value), currency, format=pattern, locale=locale,
                           currency_digits=False)


@bp.app_template_filter("qty")
def quantity(value: Decimal | None) -> str:
    """`2`, `0,5`, `1 234,125`: no trailing zeros."""
    if value is None:
        return ""
    return format_decimal(Decimal(value), format="#,##0.###", locale=_locale())


@bp.app_template_filter("vat_rate")
def vat_rate(value: Decimal | None) -> str:
    return f"{format_rate(value)} %" if value is not None else ""
