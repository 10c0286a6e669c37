"""Shared form fields (portal/blueprints/fields.py): parsing, limits from the column type,
messages that name the limit."""

from decimal import Decimal as D

import pytest
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms.validators import InputRequired, NumberRange, Optional

from portal.blueprints.fields import (
    CurrencyField,
    DayField,
    DaysField,
    MoneyField,
    PercentField,
    QuantityField,
    UnitPriceField,
    WholeNumberField,
    coerce_decimal,
    column_limits,
    parse_number,
)
from portal.blueprints.params import MAX_ID, coerce_id
from portal.models.types import Amount, Exact, Quantity, UnitPrice


class Form(FlaskForm):
    class Meta:
        csrf = False

    amount = MoneyField("Amount", [Optional()])
    quantity = QuantityField("Quantity", [Optional()])
    price = UnitPriceField("Price", [Optional()])
    percent = PercentField("Percent", [Optional()])
    days = DaysField("Days", [Optional()])
    required = MoneyField("Required", [InputRequired("Enter it.")], positive=True)
    currency = CurrencyField("Currency", [Optional()])
    hours = WholeNumberField("Hours", [Optional(), NumberRange(1, 720)])
    day = DayField("Day", [Optional()])


def check(app, locale="en", **data):
    data.setdefault("required", "1")
    data.setdefault("currency", "PLN")
    with app.test_request_context(headers={"Accept-Language": locale}):
        from flask_babel import refresh

        refresh()
        form = Form(formdata=MultiDict(data))
        form.validate()
        return form


def test_column_limits_come_from_the_column_type():
    assert column_limits(Amount()) == (D("999999999999.99"), 2)
    assert column_limits(Quantity()) == (D("999999999.999"), 3)
    assert column_limits(UnitPrice()) == (D("99999999999999.9999"), 4)
    assert column_limits(Exact(5, 2)) == (D("999.99"), 2)


@pytest.mark.parametrize(
    ("text", "value"),
    [("1234.50", "1234.50"), ("1 234,50", "1234.50"), ("1\xa0234,5", "1234.5"),
     ("1\u202f234", "1234"), (" 7 ", "7"), ("-3,25", "-3.25"), ("+2", "2")],
)
def test_parse_number_reads_polish_and_english(text, value):
    assert parse_number(text) == D(value)


@pytest.mark.parametrize(
    "text", ["1e5", "1E5", "NaN", "nan", "inf", "-Infinity", "1.2.3", "1,234.50", "12abc", "0x10",
             ".5", "5.", "", "1" * 41, "١٢", "١٢٣", "1_000", "sNaN", "1e30", "１２", "1\x002"],
)
def test_parse_number_refuses_floats_exponents_and_garbage(text):
    assert parse_number(text) is None


@pytest.mark.parametrize(
    ("field", "text", "value"),
    [("amount", "1 234,50", "1234.50"), ("amount", "999999999999.99", "999999999999.99"),
     ("amount", "0", "0"), ("quantity", "0,001", "0.001"), ("quantity", "999999999.999", None),
     ("price", "99999999999999.9999", None), ("percent", "2,5", "2.5"), ("percent", "100", None),
     ("days", "365", None)],
)
def test_values_within_the_column_are_accepted(app, field, text, value):
    form = check(app, **{field: text})
    assert form.errors == {}
    assert getattr(form, field).data == (D(value) if value else D(text.replace(",", ".")))


def test_days_are_ints(app):
    form = check(app, days="30")
    assert form.days.data == 30 and isinstance(form.days.data, int)


@pytest.mark.parametrize(
    ("field", "text", "message"),
    [
        ("amount", "999999999999999",
         "The amount is too large: enter at most 999,999,999,999.99."),
        ("amount", "1000000000000", "at most 999,999,999,999.99"),
        ("amount", "1.005", "Use at most 2 decimal places."),
        ("amount", "-1", "Enter an amount of 0 or more."),
        ("amount", "1e15", "Enter an amount such as 1 234,50 or 1234.50."),
        ("amount", "NaN", "Enter an amount such as"),
        ("amount", "Infinity", "Enter an amount such as"),
        ("quantity", "0", "The quantity must be greater than zero."),
        ("quantity", "1000000000", "The quantity is too large: enter at most 999,999,999.999."),
        ("quantity", "1.0001", "Use at most 3 decimal places."),
        ("quantity", "abc", "Enter a number such as 12,5 or 12.5."),
        ("price", "100000000000000", "enter at most 99,999,999,999,999.9999"),
        ("price", "1.00001", "Use at most 4 decimal places."),
        ("price", "-0.01", "The price cannot be negative."),
        ("percent", "100.01", "Enter a percentage of at most 100."),
        ("percent", "2.555", "Use at most 2 decimal places."),
        ("days", "366", "Enter at most 365 days."),
        ("days", "1.5", "Enter a whole number."),
        ("required", "0", "Enter an amount greater than zero."),
        ("required", "", "Enter it."),
        ("currency", "XXX", "Choose a currency from the list."),
        ("currency", "DEM", "Choose a currency from the list."),
        # Point 11: whatever the typo, the message says the real limit.
        ("amount", "1e30", "Enter an amount such as 1 234,50 or 1234.50. "
                           "Accepted: 0 to 999,999,999,999.99."),
        ("amount", "1_000", "Accepted: 0 to 999,999,999,999.99."),
        ("amount", "sNaN", "Accepted: 0 to 999,999,999,999.99."),
        ("quantity", "1e3", "Accepted: more than 0, up to 999,999,999.999."),
        ("percent", "NaN", "Accepted: 0 to 100."),
        ("days", "١٢", "Accepted: 0 to 365."),
        ("hours", "١٢٣", "Enter a whole number."),
        ("hours", "1_000", "Enter a whole number."),
        ("hours", "99999999999999999999", "Enter a whole number."),
        ("hours", "721", "Number must be between 1 and 720."),
        ("day", "2026-13-45", "Enter a date such as 2026-12-31."),
        ("day", "9999-12-31", "Enter a date from"),
        ("day", "0001-01-01", "Enter a date from"),
    ],
)
def test_out_of_limits_values_get_one_message_naming_the_limit(app, field, text, message):
    form = check(app, **{field: text})
    errors = form.errors[field]
    assert len(errors) == 1
    assert message in errors[0]


def test_messages_name_the_limit_in_polish(app):
    form = check(app, "pl", amount="999999999999999", quantity="1,0001")
    assert form.errors["amount"] == [
        "Kwota jest za duża: wpisz najwyżej 999\xa0999\xa0999\xa0999,99."
    ]
    assert form.errors["quantity"] == ["Podaj najwyżej 3 miejsca po przecinku."]


def test_currency_choices_are_iso_codes_common_first_named_in_the_viewer_language(app):
    with app.test_request_context(headers={"Accept-Language": "pl"}):
        form = Form(formdata=MultiDict({"currency": "CHF", "required": "1"}))
        assert form.validate() and form.currency.data == "CHF"
        choices = [(c.value, c.label) for c in form.currency.iter_choices()]
    assert choices[0] == ("PLN", "PLN – złoty polski")
    assert [v for v, _ in choices[:5]] == ["PLN", "EUR", "USD", "GBP", "CHF"]
    assert len(choices) > 100


def test_shown_values_are_padded_for_money_and_kept_for_quantities(app):
    with app.test_request_context():
        form = Form(formdata=None, data={"amount": D("12.5"), "quantity": D("2.000"),
                                         "price": D("3"), "percent": D("23.00")})
        assert form.amount._value() == "12.50"
        assert form.quantity._value() == "2"
        assert form.price._value() == "3.00"
        assert form.percent._value() == "23"


def test_a_float_is_refused_as_data(app):
    with app.test_request_context(), pytest.raises(TypeError):
        Form(formdata=None, data={"amount": 1.5})


def test_whole_numbers_are_ascii_digits(app):
    form = check(app, hours=" 12 ")
    assert form.errors == {} and form.hours.data == 12


@pytest.mark.parametrize("text", ["", "abc", "sNaN", "NaN", "1e3", "Infinity", None])
def test_a_decimal_choice_that_is_no_number_is_a_value_error(text):
    with pytest.raises(ValueError):
        coerce_decimal(text)


def test_a_decimal_choice_reads_like_a_typed_number():
    assert coerce_decimal("23") == D("23") and coerce_decimal("5,5") == D("5.5")
    assert coerce_decimal(D("8")) == D("8")


@pytest.mark.parametrize("text", ["99999999999999999999", str(MAX_ID + 1), "-1", "١٢", "1_0",
                                  "1e3", "abc", " "])
def test_an_id_beyond_what_a_column_holds_is_a_value_error(text):
    with pytest.raises(ValueError):
        coerce_id(text)


def test_an_id_is_ascii_digits_up_to_the_largest_key():
    assert coerce_id("") is None and coerce_id(None) is None
    assert coerce_id("12") == 12 and coerce_id(str(MAX_ID)) == MAX_ID and coerce_id(7) == 7


def test_an_empty_optional_day_is_no_error(app):
    form = check(app, day="")
    assert form.errors == {} and form.day.data is None
