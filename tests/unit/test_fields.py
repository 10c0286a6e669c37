"""Shared form fields (portal/blueprints/fields.py): parsing, limits from the column type,
messages that name the limit."""

from decimal import Decimal as D

import pytest
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms.validators import InputRequired, Optional

from portal.blueprints.fields import (
    CurrencyField,
    DaysField,
    MoneyField,
    PercentField,
    QuantityField,
    UnitPriceField,
    column_limits,
    parse_number,
)
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
             ".5", "5.", "", "1" * 41, "١٢"],
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
