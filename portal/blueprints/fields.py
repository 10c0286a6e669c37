"""Form fields shared by every blueprint: amounts, quantities, unit prices, percentages,
currencies and payment terms.

A number typed by a person is read the Polish or the English way (`1 234,50`, `1234.50`); never
as a float, and never in exponent notation, NaN or infinity. Each numeric field's limits come
from the column it fills (`portal.models.types`: an `Amount` is NUMERIC(14, 2), so at most
999 999 999 999.99 with two decimals), and the messages name the limit in the viewer's language.
The services check again: a form only catches early what a person can fix beside the field.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from flask_babel import get_locale
from flask_babel.speaklater import LazyString
from markupsafe import Markup, escape
from wtforms import DateField, Field, IntegerField, SelectField
from wtforms.fields.choices import Choice, SelectChoice
from wtforms.validators import StopValidation
from wtforms.widgets import Select, TextInput
from wtforms.widgets.core import Button, Input, clean_key

from portal.domain.messages import N_, Msg
from portal.i18n import input_number, translate
from portal.models.types import Amount, Exact, Quantity, UnitPrice
from portal.money import currency_choices, is_currency

# Digits with an optional sign and one decimal separator; spaces (also no-break and narrow
# no-break, as Babel writes Polish numbers) may group thousands. No exponent, no NaN.
_NUMBER = re.compile(r"^[+-]?[0-9]+(?:[.,][0-9]+)?$")
_WHOLE = re.compile(r"^[+-]?[0-9]{1,12}$")
_GROUPING = re.compile(r"[ \u00a0\u202f]")
MAX_INPUT = 40


def column_limits(column: Exact) -> tuple[Decimal, int]:
    """The largest value a NUMERIC(p, s) column holds and its decimal places: (10^(p-s) − 10^-s, s)."""
    return column.max_value, column.scale


def parse_number(text: str) -> Decimal | None:
    """`1 234,50` or `1234.50` as a Decimal; None for anything else (`1e5`, `NaN`, `1.2.3`)."""
    text = _GROUPING.sub("", (text or "").strip())
    if len(text) > MAX_INPUT or not _NUMBER.match(text):
        return None
    return Decimal(text.replace(",", "."))


def coerce_decimal(value) -> Decimal:
    """A select's value as a Decimal (the `coerce` of a choice of rates): read like a typed
    number, so "", "sNaN" or "1e3" is a ValueError (WTForms: "Not a valid choice"), never a
    `decimal.InvalidOperation`."""
    if isinstance(value, Decimal) and value.is_finite():
        return value
    number = parse_number(str(value)) if isinstance(value, str | int) else None
    if number is None:
        raise ValueError(value)
    return number


def _shown(value: Decimal) -> int | Decimal:
    # A limit reads "100", not "100.00"; "999,999,999,999.99" keeps its decimals.
    return int(value) if value == value.to_integral_value() else value


def _places_of(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


class DecimalInput(Field):
    """A decimal number typed by a person, limited by the column it fills.

    `column`: the `Exact` column type (limits and places). `minimum` (default 0) or `positive`
    (strictly above 0); `maximum` (default: what the column holds). `min_message` /
    `max_message` replace the default wording (a message id; `%(min)s`/`%(max)s` are filled in).
    `min_places` pads what is shown (a price reads 12.50, a quantity 2).
    """

    widget = TextInput()
    column: Exact = Amount()
    invalid_message = N_("Enter a number such as 1 234,50 or 1234.50.")
    places_message = N_("Use at most %(places)s decimal places.")
    whole_message = N_("Enter a whole number.")
    too_small_message = N_("Enter %(min)s or more.")
    not_positive_message = N_("Enter a number greater than zero.")
    too_large_message = N_("Enter at most %(max)s.")
    default_min_places = 0

    def __init__(self, label=None, validators=None, *, column: Exact | None = None,
                 minimum: Decimal | None = Decimal(0), positive: bool = False,
                 maximum: Decimal | None = None, places: int | None = None,
                 min_message: str | None = None, max_message: str | None = None,
                 min_places: int | None = None, **kwargs):
        kwargs.setdefault("render_kw", {"inputmode": "decimal", "autocomplete": "off"})
        super().__init__(label, validators, **kwargs)
        column = column if column is not None else self.column
        column_max, column_places = column_limits(column)
        self.maximum = column_max if maximum is None else min(maximum, column_max)
        self.places = column_places if places is None else min(places, column_places)
        self.minimum = minimum
        self.positive = positive
        self.min_message = min_message
        self.max_message = max_message
        self.min_places = self.default_min_places if min_places is None else min_places

    def process_formdata(self, valuelist):
        if not valuelist or not str(valuelist[0]).strip():
            self.data = None
            return
        self.data = parse_number(str(valuelist[0]))
        if self.data is None:
            raise ValueError(f"{translate(Msg(self.invalid_message))} {translate(self.accepted())}")

    def process_data(self, value):
        # A float would carry binary noise into an exact column: refuse it at the source.
        if isinstance(value, float):
            raise TypeError("a form number is never a float")
        self.data = value

    def pre_validate(self, form):
        if self.data is None or self.process_errors:
            return
        problem = self.problem(self.data)
        if problem is not None:
            raise StopValidation(translate(problem))

    def accepted(self) -> Msg:
        """The range the field takes, said after "enter a number such as…": someone who typed
        `1e30` or `NaN` learns the real limit, in their own number format."""
        if self.positive:
            return Msg(N_("Accepted: more than 0, up to %(max)s."), {"max": _shown(self.maximum)})
        if self.minimum is None:
            return Msg(N_("Accepted: up to %(max)s."), {"max": _shown(self.maximum)})
        return Msg(N_("Accepted: %(min)s to %(max)s."),
                   {"min": _shown(self.minimum), "max": _shown(self.maximum)})

    def problem(self, value: Decimal) -> Msg | None:
        """Why `value` does not fit (places, minimum, maximum), or None."""
        if _places_of(value) > self.places:
            if self.places == 0:
                return Msg(self.whole_message)
            return Msg(self.places_message, {"places": self.places})
        if self.positive and value <= 0:
            return Msg(self.min_message or self.not_positive_message)
        if self.minimum is not None and value < self.minimum:
            return Msg(self.min_message or self.too_small_message, {"min": _shown(self.minimum)})
        if value > self.maximum:
            return Msg(self.max_message or self.too_large_message, {"max": _shown(self.maximum)})
        return None

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        value = Decimal(self.data)
        return input_number(value, max(self.min_places, _places_of(value)))


class MoneyField(DecimalInput):
    """An amount of money: an `Amount` column, NUMERIC(14, 2), 0 or more by default."""

    column = Amount()
    invalid_message = N_("Enter an amount such as 1 234,50 or 1234.50.")
    too_small_message = N_("Enter an amount of %(min)s or more.")
    not_positive_message = N_("Enter an amount greater than zero.")
    too_large_message = N_("The amount is too large: enter at most %(max)s.")
    default_min_places = 2


class UnitPriceField(DecimalInput):
    """A unit price: a `UnitPrice` column, NUMERIC(18, 4)."""

    column = UnitPrice()
    invalid_message = N_("Enter a price such as 12,50 or 12.50.")
    too_small_message = N_("The price cannot be negative.")
    too_large_message = N_("The price is too large: enter at most %(max)s.")
    default_min_places = 2


class QuantityField(DecimalInput):
    """A quantity: a `Quantity` column, NUMERIC(12, 3), greater than zero by default."""

    column = Quantity()
    invalid_message = N_("Enter a number such as 12,5 or 12.5.")
    not_positive_message = N_("The quantity must be greater than zero.")
    too_large_message = N_("The quantity is too large: enter at most %(max)s.")

    def __init__(self, *args, positive: bool = True, **kwargs):
        super().__init__(*args, positive=positive, **kwargs)


class PercentField(DecimalInput):
    """A percentage, 0 to 100 with two decimals (a VAT rate column is NUMERIC(5, 2))."""

    column = Exact(5, 2)
    invalid_message = N_("Enter a percentage such as 2 or 2,5.")
    too_large_message = N_("Enter a percentage of at most %(max)s.")

    def __init__(self, *args, maximum: Decimal | None = Decimal(100), **kwargs):
        super().__init__(*args, maximum=maximum, **kwargs)


class DaysField(DecimalInput):
    """A number of days, 0 to `maximum` (365 by default); its data is an int."""

    invalid_message = N_("Enter a number of days such as 30.")
    too_large_message = N_("Enter at most %(max)s days.")

    def __init__(self, *args, maximum: int = 365, **kwargs):
        kwargs.setdefault("render_kw", {"inputmode": "numeric", "autocomplete": "off"})
        super().__init__(*args, column=Exact(9, 0), maximum=Decimal(maximum), **kwargs)

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None and _places_of(self.data) == 0:
            self.data = int(self.data)

    def problem(self, value) -> Msg | None:
        return super().problem(Decimal(value))

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else str(self.data)


class WholeNumberField(IntegerField):
    """A whole number typed by a person (hours, a year, a hidden id): ASCII digits with an
    optional sign, as for every number the portal reads. Python's `int()` would also take
    "١٢٣", "1_000" and 20-digit values that no column holds; limits come from the validators
    (`NumberRange`), which then see a real number."""

    def process_formdata(self, valuelist):
        if not valuelist or not str(valuelist[0]).strip():
            self.data = None
            return
        text = str(valuelist[0]).strip()
        if not _WHOLE.match(text):
            self.data = None
            raise ValueError(translate(Msg(N_("Enter a whole number."))))
        self.data = int(text)

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation  # one message: not also "must be between" for a None


# The days a person means: a filter's "to" day plus one, or a day shifted by a time zone, stays
# a valid date (year 1 or 9999 would overflow Python's date).
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2999, 12, 31)


class DayField(DateField):
    """A day from the browser's date picker (YYYY-MM-DD) between FIRST_DAY and LAST_DAY, with
    our own messages."""

    def process_formdata(self, valuelist):
        if not valuelist or not " ".join(valuelist).strip():
            self.data = None  # empty: InputRequired or Optional decide
            return
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(translate(Msg(N_("Enter a date such as 2026-12-31.")))) from None
        if self.data is not None and not FIRST_DAY <= self.data <= LAST_DAY:
            self.data = None
            raise ValueError(translate(Msg(N_("Enter a date from %(first)s to %(last)s."),
                                           {"first": FIRST_DAY, "last": LAST_DAY})))

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation  # one message, not also "This field is required"


class CurrencyField(SelectField):
    """An ISO 4217 currency in current use: the common ones first, named in the viewer's
    language; anything else is refused."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, choices=self._choices, **kwargs)

    @staticmethod
    def _choices():
        return [SelectChoice(code, name)
                for code, name in currency_choices(str(get_locale() or "en"))]

    def pre_validate(self, form):
        if not is_currency(self.data):
            raise StopValidation(translate(Msg(N_("Choose a currency from the list."))))


def html_attributes(**kwargs) -> Markup:
    """WTForms' `html_params` without its `Markup.format` per attribute (several times
    faster, the same text): sorted by name, escaped, `True` a bare name, `False` left out."""
    parts = []
    for key, value in sorted(kwargs.items()):
        name = escape(clean_key(key))
        if value is True:
            parts.append(name)
        elif value is not False:
            parts.append(f'{name}="{str(escape(value)).replace(chr(34), "&quot;")}"')
    return Markup(" ".join(parts))  # noqa: S704 - every name and value escaped above


def install() -> None:
    """Every input and button widget writes its attributes with `html_attributes`: WTForms
    keeps its attribute writer as a class attribute of these widgets for replacing it. A form
    of eight fields spent more on it than on everything else it renders."""
    Input.html_params = staticmethod(html_attributes)
    Button.html_params = staticmethod(html_attributes)


class FastSelect(Select):
    """WTForms' select widget, the same markup written in one pass. WTForms builds every
    option through its generic attribute writer, which made a list page's filter selects
    (a few dozen options) cost more than the rest of its form; options with their own
    attributes, option groups and multiple selects are left to WTForms."""

    def __call__(self, field, **kwargs):
        if self.multiple or field.has_groups():
            return super().__call__(field, **kwargs)
        choices = list(field.iter_choices())
        if any(not isinstance(choice, Choice) or choice.render_kw for choice in choices):
            return super().__call__(field, **kwargs)
        kwargs.setdefault("id", field.id)
        flags = getattr(field, "flags", {})
        for k in dir(flags):
            if k in self.validation_attrs and k not in kwargs:
                kwargs[k] = getattr(flags, k)
        html = [f"<select {html_attributes(name=field.name, **kwargs)}>"]
        for value, label, selected, _attrs in choices:
            if isinstance(value, bool):
                value = str(value)
            if isinstance(label, LazyString):
                label = str(label)  # translated once, not at each look
            shown = escape(label or value)
            html.append(f'<option selected value="{escape(value)}">{shown}</option>' if selected
                        else f'<option value="{escape(value)}">{shown}</option>')
        html.append("</select>")
        return Markup("".join(html))  # noqa: S704 - every value and label escaped above
