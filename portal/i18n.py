"""Show things in the viewer's language: messages from pure code (the edge's half of
domain/messages), and every amount, number, date and unit, formatted at display time.

The language picks the translation catalogue ("en", "pl"); `format_locale` picks the
conventions numbers and dates are written by. English is an EU product's English, Ireland's
(CLDR en_IE): 5 Dec 2026, 15:35, 1,234.50 PLN. Polish: 5 gru 2026, 15:35, 1 234,50 zł. Every
template filter, message parameter and e-mail goes through the functions below, so one page
never mixes two ways of writing the same number.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

from babel import Locale
from babel.dates import format_date, format_datetime, format_time, get_datetime_format
from babel.numbers import format_compact_decimal, format_currency, format_decimal
from flask_babel import get_locale, gettext, to_user_timezone

from portal.domain.catalog import UNITS
from portal.domain.messages import Msg
from portal.money import Money, format_money, money_pattern, round_places

# Language → the locale whose number and date conventions it is shown with.
FORMAT_LOCALES = {"en": "en_IE", "pl": "pl_PL"}
_UNIT_LABELS = dict(UNITS)


def format_locale(language: str | None = None) -> Locale:
    """The formatting locale of `language` (default: the viewer's): `en` → en_IE, `pl` → pl_PL."""
    name = str(language or get_locale() or "en")
    return _parsed(FORMAT_LOCALES.get(name.split("_")[0], name))


@lru_cache(maxsize=32)
def _parsed(name: str) -> Locale:
    # Parsing a locale costs more than formatting the number it is asked for, and a list page
    # formats hundreds: a Locale is immutable, so each is parsed once per process.
    return Locale.parse(name)


def money(amount: Decimal | None, currency: str = "PLN") -> str:
    """`1 234,50 zł` / `1,234.50 PLN`, rounded half-up to the currency's minor unit."""
    return format_money(amount, currency, str(format_locale()))


def unit_price(value: Decimal | None, currency: str = "PLN") -> str:
    """A unit price as it was given: two decimals at least, four at most (`0,335 zł`)."""
    if value is None:
        return ""
    locale = format_locale()
    pattern = money_pattern(locale).replace("0.00", "0.00##")
    return format_currency(Decimal(value), currency, format=pattern, locale=locale,
                           currency_digits=False)


def number(value: Decimal | int | None, *, places: int = 0, max_places: int | None = None,
           grouping: bool = True) -> str:
    """A plain number: `places` decimals at least, `max_places` at most (default: as many as
    `places`). `grouping=False` writes `10000,00` (what an input field shows)."""
    if value is None:
        return ""
    max_places = places if max_places is None else max_places
    pattern = ("#,##0" if grouping else "0") + ("." if max_places else "") + "0" * places \
        + "#" * (max_places - places)
    # Rounded half-up here: Babel would round half-even.
    return format_decimal(round_places(Decimal(value), max_places), format=pattern,
                          locale=format_locale())


def compact_number(value: Decimal | int | None, fraction_digits: int = 1) -> str:
    """A short number for a narrow space (a chart axis on a phone): `60K` / `60 tys.`"""
    if value is None:
        return ""
    return format_compact_decimal(value, locale=format_locale(), fraction_digits=fraction_digits)


def input_number(value: Decimal, places: int) -> str:
    """A number as a form field shows it: the viewer's decimal mark and `places` decimals.
    Grouped only where the group separator is a space (`10 000,00`), which the field's parser
    skips; English reads `10000.00`, as its `,` would be taken for a decimal comma."""
    grouping = format_locale().number_symbols["latn"]["group"].isspace()
    return number(value, places=places, grouping=grouping)


def file_size(size: int | None) -> str:
    """`812 B`, `12,5 kB`, `1,2 MB` (decimal units, as Jinja's filesizeformat, in the viewer's
    number format)."""
    if size is None:
        return ""
    if size < 1000:
        return f"{size} B"
    value, units = Decimal(size) / 1000, ["kB", "MB", "GB", "TB"]
    while value >= 1000 and len(units) > 1:
        value /= 1000
        units.pop(0)
    return f"{number(value, max_places=1)}\u00a0{units[0]}"


def quantity(value: Decimal | None) -> str:
    """`2`, `0,5`, `1 234,125`: no trailing zeros."""
    return number(value, max_places=3)


def day(value: date | datetime | None, fmt: str = "medium") -> str:
    """A date: `5 Dec 2026` / `5 gru 2026` (`fmt`: short, medium, long, full)."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        value = to_user_timezone(value).date()
    return _day_text(value, fmt, format_locale())


@lru_cache(maxsize=2048)
def _day_text(value: date, fmt: str, locale: Locale) -> str:
    # A list shows the same few days again and again (created, needed by): each is written once.
    return format_date(value, _unambiguous(fmt, locale), locale=locale)


def moment(value: datetime | None, fmt: str = "medium") -> str:
    """A point in time in the viewer's time zone: `5 Dec 2026, 15:35` (no seconds)."""
    if value is None or value == "":
        return ""
    locale = format_locale()
    value = to_user_timezone(value)
    fmt = _unambiguous(fmt, locale)
    if fmt not in ("short", "medium"):
        return format_datetime(value, fmt, tzinfo=value.tzinfo, locale=locale)
    pattern = get_datetime_format(fmt, locale=locale)
    return (pattern.replace("'", "")
            .replace("{0}", format_time(value, "short", tzinfo=value.tzinfo, locale=locale))
            .replace("{1}", format_date(value, fmt, locale=locale)))


def _unambiguous(fmt: str, locale: Locale) -> str:
    """English short dates are all digits (06/09/2026), which half the English-reading world
    reads as June and the other half as September: English writes the month's name (6 Sept
    2026) even where a page asks for the short form. Polish short dates (6.09.2026) are clear."""
    return "medium" if fmt == "short" and locale.language == "en" else fmt


def unit_label(code: str | None) -> str:
    """A unit code (`pcs`) as the viewer reads it (`szt.`); an unknown code as it is."""
    if not code:
        return ""
    label = _UNIT_LABELS.get(code)
    return gettext(label) if label else code


def format_param(value):
    """One message parameter written the current locale's way."""
    if isinstance(value, Money):
        return money(value.amount, value.currency)
    if isinstance(value, Decimal):
        return number(value, places=2, max_places=4)
    if isinstance(value, datetime):
        return moment(value)
    if isinstance(value, date):
        return day(value)
    if isinstance(value, Msg):
        return translate(value)
    return value


def translate(msg: Msg | str | dict | None) -> str:
    """Translate a domain message (or its stored JSON form) into the current language."""
    if msg is None:
        return ""
    if isinstance(msg, dict):
        msg = Msg.from_json(msg)
    if isinstance(msg, Msg):
        if not msg.text:
            return ""
        params = {key: format_param(value) for key, value in msg.params.items()}
        return gettext(msg.text, **params)
    return gettext(msg)
