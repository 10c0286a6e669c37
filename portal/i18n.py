"""Show things in the viewer's language: messages from pure code (the edge's half of
domain/messages), and every amount, number, date and unit, formatted at display time.

The language picks the translation catalogue ("en", "pl"); `format_locale` picks the
conventions numbers and dates are written by. English is an EU product's English, Ireland's
(CLDR en_IE): 5 Dec 2026, 15:35, 1,234.50 PLN. Polish: 5 gru 2026, 15:35, 1 234,50 zł. Every
template filter, message parameter and e-mail goes through the functions below, so one page
never mixes two ways of writing the same number.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from datetime import UTC, date, datetime, time, tzinfo
from decimal import Decimal
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, support
from babel.dates import (
    format_date,
    format_datetime,
    format_time,
    format_timedelta,
    get_datetime_format,
    get_time_format,
)
from babel.numbers import NumberPattern, format_compact_decimal, format_currency, format_decimal, parse_pattern
from flask import request
from flask_babel import get_locale, get_timezone, get_translations, gettext
from jinja2 import pass_context, pass_eval_context
from markupsafe import Markup

from portal.domain.catalog import UNITS
from portal.domain.messages import Msg
from portal.money import Money, format_money, money_pattern, round_places

# Language → the locale whose number and date conventions it is shown with.
FORMAT_LOCALES = {"en": "en_IE", "pl": "pl_PL"}
_UNIT_LABELS = dict(UNITS)


class Viewer(NamedTuple):
    """How the viewer reads numbers and dates: the formatting locale, its name, the time zone."""

    locale: Locale
    name: str
    tz: tzinfo


def format_locale(language: str | Locale | None = None) -> Locale:
    """The formatting locale of `language` (default: the viewer's): `en` → en_IE, `pl` → pl_PL."""
    return _format_locale_of(language or get_locale() or "en")


@lru_cache(maxsize=64)
def _format_locale_of(language: str | Locale) -> Locale:
    name = str(language)
    return _parsed(FORMAT_LOCALES.get(name.split("_")[0], name))


def viewer() -> Viewer:
    """The current viewer's formatting locale and time zone (flask_babel's, so `force_locale`
    and `refresh` apply)."""
    return _viewer_of(get_locale() or "en", get_timezone() or UTC)


@lru_cache(maxsize=64)
def _viewer_of(language: str | Locale, tz: tzinfo) -> Viewer:
    locale = _format_locale_of(language)
    return Viewer(locale, str(locale), tz)


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
    return _unit_price(value, currency, format_locale())


def _unit_price(value: Decimal | None, currency: str, locale: Locale) -> str:
    if value is None:
        return ""
    return format_currency(Decimal(value), currency, format=_unit_price_pattern(locale),
                           locale=locale, currency_digits=False)


@lru_cache(maxsize=32)
def _unit_price_pattern(locale: Locale) -> NumberPattern:
    return parse_pattern(money_pattern(locale).replace("0.00", "0.00##"))


def number(value: Decimal | int | None, *, places: int = 0, max_places: int | None = None,
           grouping: bool = True) -> str:
    """A plain number: `places` decimals at least, `max_places` at most (default: as many as
    `places`). `grouping=False` writes `10000,00` (what an input field shows)."""
    return _number(value, places, max_places, grouping, format_locale())


# Numbers already written, by (value, places, max_places, grouping, locale): a list page writes
# the same quantities (1, 2, 10, 0.5) hundreds of times, and Babel's writing costs ~8 µs each.
# The text depends on the number's value only (rounded to `max_places`), so 1.0 and 1.00 share an
# entry; a negative zero is written afresh (it equals 0 but may keep its sign). Emptied when full.
_WRITTEN: dict = {}
_WRITTEN_MAX = 4096


def _number(value, places: int, max_places: int | None, grouping: bool, locale: Locale) -> str:
    if value is None:
        return ""
    key = (value, places, max_places, grouping, locale)
    found = _WRITTEN.get(key)
    if found is not None and value != 0:
        return found
    max_places = places if max_places is None else max_places
    # Rounded half-up here: Babel would round half-even.
    text = format_decimal(round_places(Decimal(value), max_places),
                          format=_number_pattern(places, max_places, grouping), locale=locale)
    if value != 0:
        if len(_WRITTEN) >= _WRITTEN_MAX:
            _WRITTEN.clear()
        _WRITTEN[key] = text
    return text


@lru_cache(maxsize=64)
def _number_pattern(places: int, max_places: int, grouping: bool) -> NumberPattern:
    # Babel parses a pattern given as text on every call: each shape is parsed once.
    return parse_pattern(("#,##0" if grouping else "0") + ("." if max_places else "")
                         + "0" * places + "#" * (max_places - places))


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
    return _file_size(size, format_locale())


def _file_size(size: int | None, locale: Locale) -> str:
    if size is None:
        return ""
    if size < 1000:
        return f"{size} B"
    value, units = Decimal(size) / 1000, ["kB", "MB", "GB", "TB"]
    while value >= 1000 and len(units) > 1:
        value /= 1000
        units.pop(0)
    return f"{_number(value, 0, 1, True, locale)}\u00a0{units[0]}"


def quantity(value: Decimal | None) -> str:
    """`2`, `0,5`, `1 234,125`: no trailing zeros."""
    return _number(value, 0, 3, True, format_locale())


def day(value: date | datetime | None, fmt: str = "medium") -> str:
    """A date: `5 Dec 2026` / `5 gru 2026` (`fmt`: short, medium, long, full)."""
    return _day(value, fmt, viewer())


def _day(value: date | datetime | None, fmt: str, seen_by: Viewer) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        value = _local(value, seen_by.tz).date()
    return _day_text(value, fmt, seen_by.locale)


def _local(value: datetime, tz: tzinfo) -> datetime:
    """`value` (naive means UTC) in the time zone `tz`, as flask_babel's to_user_timezone."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(tz)
    normalize = getattr(tz, "normalize", None)  # pytz zones
    return normalize(value) if normalize else value


@lru_cache(maxsize=2048)
def _day_text(value: date, fmt: str, locale: Locale) -> str:
    # A list shows the same few days again and again (created, needed by): each is written once.
    return format_date(value, _unambiguous(fmt, locale), locale=locale)


def moment(value: datetime | None, fmt: str = "medium") -> str:
    """A point in time in the viewer's time zone: `5 Dec 2026, 15:35` (no seconds)."""
    return _moment(value, fmt, viewer())


def _moment(value: datetime | None, fmt: str, seen_by: Viewer) -> str:
    if value is None or value == "":
        return ""
    locale = seen_by.locale
    value = _local(value, seen_by.tz)
    fmt = _unambiguous(fmt, locale)
    if fmt not in ("short", "medium"):
        return format_datetime(value, fmt, tzinfo=value.tzinfo, locale=locale)
    if _minutes_only(locale):
        # An audit log or a timeline writes hundreds of moments: the date and the time of day
        # are each written once per process (cached), then joined.
        clock = _time_text(value.hour, value.minute, locale)
    else:
        clock = format_time(value, "short", tzinfo=value.tzinfo, locale=locale)
    return (_datetime_joiner(fmt, locale).replace("{0}", clock)
            .replace("{1}", _day_text(value.date(), fmt, locale)))


@lru_cache(maxsize=16)
def _datetime_joiner(fmt: str, locale: Locale) -> str:
    return get_datetime_format(fmt, locale=locale).replace("'", "")


@lru_cache(maxsize=16)
def _minutes_only(locale: Locale) -> bool:
    """Does the short time of `locale` show only hours, minutes and a day period (no seconds,
    no zone)? Then it depends on the hour and minute alone."""
    fields = re.sub(r"'[^']*'", "", get_time_format("short", locale=locale).pattern)
    return not set(fields) & set("sSAzZOvVXxGyYuUQqMLlwWdDFgEec")


@lru_cache(maxsize=4096)
def _time_text(hour: int, minute: int, locale: Locale) -> str:
    return format_time(time(hour, minute), "short", locale=locale)


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


# ---------------------------------------------------------------- templates
#
# A page formats hundreds of amounts and dates and translates dozens of strings. Looking the
# viewer's locale, time zone and catalogue up in the request context costs more than writing
# the value, so each render looks them up once (`template_context`) and the filters and
# `_()` read them from the template's context. Macros imported without context (their context
# holds only the globals) read the same values from the render under way (`_RENDER`, set by
# `template_context` and cleared at the start of every request), and look them up only
# outside any render.

_RENDER: ContextVar[dict | None] = ContextVar("portal_i18n_render", default=None)


def _seen_by(context) -> Viewer:
    found = context.get("viewer_formats")
    if found is None:
        render = _RENDER.get()
        found = viewer() if render is None else render["viewer_formats"]
    return found


@pass_context
def _money_filter(context, amount: Decimal | None, currency: str = "PLN") -> str:
    return format_money(amount, currency, _seen_by(context).name)


@pass_context
def _unit_price_filter(context, value: Decimal | None, currency: str = "PLN") -> str:
    return _unit_price(value, currency, _seen_by(context).locale)


@pass_context
def _quantity_filter(context, value: Decimal | None) -> str:
    return _number(value, 0, 3, True, _seen_by(context).locale)


@pass_context
def _number_filter(context, value, *, places: int = 0, max_places: int | None = None,
                   grouping: bool = True) -> str:
    return _number(value, places, max_places, grouping, _seen_by(context).locale)


@pass_context
def _day_filter(context, value, fmt: str = "medium") -> str:
    return _day(value, fmt, _seen_by(context))


@pass_context
def _moment_filter(context, value, fmt: str = "medium") -> str:
    return _moment(value, fmt, _seen_by(context))


@pass_context
def _file_size_filter(context, size: int | None) -> str:
    return _file_size(size, _seen_by(context).locale)


@pass_context
def _moment_in_filter(context, value, time_zone: str | None, fmt: str = "medium") -> str:
    """`|datetime_in(org.time_zone)`: a moment in a named zone (an RFQ deadline in the
    supplier's own), whatever the viewer's default; an unknown zone falls back to the viewer's."""
    seen_by = _seen_by(context)
    try:
        tz = ZoneInfo(time_zone) if time_zone else seen_by.tz
    except (ValueError, ZoneInfoNotFoundError):
        tz = seen_by.tz
    return _moment(value, fmt, Viewer(seen_by.locale, seen_by.name, tz))


@pass_context
def _duration_filter(context, delta) -> str:
    """`|duration`: how long a timedelta is, roughly ("3 days", "20 hours", "45 minutes")."""
    if delta is None:
        return ""
    return format_timedelta(delta, threshold=2, locale=_seen_by(context).locale)


def _jinja_gettext(translate_one):
    # What jinja2.ext's newstyle gettext does (autoescape, always a format string), bound to
    # one catalogue. A string without variables is translated and formatted once per render:
    # a list writes its row's labels ("Approve", "Reject") once per row. It needs the evaluation
    # context only (autoescape): a `pass_context` function called in a loop gets a context
    # derived for the loop's variables, built anew on every call (on a 50-row list, 400 `_()`
    # calls built 400 contexts).
    fixed: dict[str, Markup] = {}

    @pass_eval_context
    def gettext(__eval_ctx, __string: str, **variables) -> str:
        if not variables and __eval_ctx.autoescape:
            text = fixed.get(__string)
            if text is None:
                text = fixed[__string] = Markup(translate_one(__string)) % variables  # noqa: S704
            return text
        text = translate_one(__string)
        if __eval_ctx.autoescape:
            text = Markup(text)  # noqa: S704 - our catalogue; the variables are escaped by %
        return text % variables

    return gettext


def _jinja_ngettext(translate_plural):
    @pass_eval_context
    def ngettext(__eval_ctx, __singular: str, __plural: str, __num: int, **variables) -> str:
        variables.setdefault("num", __num)
        text = translate_plural(__singular, __plural, __num)
        if __eval_ctx.autoescape:
            text = Markup(text)  # noqa: S704 - our catalogue; the variables are escaped by %
        return text % variables

    return ngettext


def template_context() -> dict:
    """What every render gets: the viewer's language, formats and catalogue, looked up once
    (and kept as the render under way, for the macros imported without context). `_` is the
    render's gettext itself, not jinja2.ext's alias of it (which takes a derived context)."""
    catalogue = get_translations()
    gettext = _jinja_gettext(catalogue.ugettext)
    values = {
        "current_locale": str(get_locale() or "en"),
        "viewer_formats": viewer(),
        "gettext": gettext,
        "_": gettext,
        "ngettext": _jinja_ngettext(catalogue.ungettext),
    }
    _RENDER.set(values)
    return values


_FALLBACKS = {"gettext": lambda: _jinja_gettext(get_translations().ugettext),
              "_": lambda: _jinja_gettext(get_translations().ugettext),
              "ngettext": lambda: _jinja_ngettext(get_translations().ungettext)}


def _rendering(name: str):
    """The template global `name` (`_`, `gettext`, `ngettext`: what a macro imported without
    context calls): the render's own, else one bound to the current catalogue for this call
    (outside any render)."""
    @pass_eval_context
    def translate_in_render(__eval_ctx, *args, **variables):
        render = _RENDER.get()
        translate = _FALLBACKS[name]() if render is None else render[name]
        return translate(__eval_ctx, *args, **variables)

    return translate_in_render


class _WTFormsMessages:
    """WTForms' own messages (a field's default label, "Not a valid choice") in the current
    language. Flask-WTF reads WTForms' catalogue from disk again in every request that needs
    one message (every form with a hidden field does); this keeps one per language."""

    def ugettext(self, string: str) -> str:
        return _wtforms_catalogue(str(get_locale() or "en")).ugettext(string)

    def ungettext(self, singular: str, plural: str, n: int) -> str:
        return _wtforms_catalogue(str(get_locale() or "en")).ungettext(singular, plural, n)


@lru_cache(maxsize=8)
def _wtforms_catalogue(language: str) -> support.Translations:
    from wtforms.i18n import messages_path

    return support.Translations.load(messages_path(), [language], domain="wtforms")


_WTFORMS_MESSAGES = _WTFormsMessages()


def _start_request() -> None:
    _RENDER.set(None)  # no render of an earlier request is under way
    request.wtforms_translations = _WTFORMS_MESSAGES  # where Flask-WTF looks first


def install(app) -> None:
    """The formatting filters (`|money`, `|unit_price`, `|qty`, `|number`, `|date`,
    `|datetime`, `|unit`, `|file_size`), the per-render context, WTForms' messages."""
    filters = {
        "money": _money_filter, "unit_price": _unit_price_filter, "qty": _quantity_filter,
        "number": _number_filter, "date": _day_filter, "datetime": _moment_filter,
        "unit": unit_label, "file_size": _file_size_filter,
        "datetime_in": _moment_in_filter, "duration": _duration_filter,
    }
    for name, fn in filters.items():
        app.add_template_filter(fn, name)
    app.add_template_global(unit_label, "unit_label")
    app.context_processor(template_context)
    for name in _FALLBACKS:  # in place of Flask-Babel's and jinja2.ext's (babel.init_app)
        app.jinja_env.globals[name] = _rendering(name)
    app.before_request(_start_request)
