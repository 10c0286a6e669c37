"""Payment terms (portal/domain/terms.py): due dates for every kind, discounts, instalment
splits, validation, the stored JSON and the label. No app needed."""

from datetime import date
from decimal import Decimal as D

import pytest

from portal.domain.terms import (
    Due,
    EarlyPayment,
    Instalment,
    InvalidTerms,
    PaymentTerms,
    TermsKind,
    format_instalments,
    parse_instalments,
)

d = date.fromisoformat


@pytest.mark.parametrize(
    ("days", "issued", "due"),
    [
        (30, "2026-12-05", "2027-01-04"),
        (0, "2026-12-05", "2026-12-05"),
        (1, "2027-12-31", "2028-01-01"),
        (30, "2028-01-31", "2028-03-01"),  # leap year: February has 29 days
        (30, "2027-01-31", "2027-03-02"),
        (29, "2028-02-01", "2028-03-01"),
        (365, "2028-01-01", "2028-12-31"),  # 2028 has 366 days
        (14, "2026-02-20", "2026-03-06"),
    ],
)
def test_net_days_count_calendar_days_from_the_issue_date(days, issued, due):
    terms = PaymentTerms.net(days)
    assert terms.kind == TermsKind.NET
    assert terms.due_date(d(issued)) == d(due)
    assert terms.discount_date(d(issued)) is None


@pytest.mark.parametrize(
    ("days", "issued", "due"),
    [
        (30, "2028-01-31", "2028-03-01"),  # end of January + 30 in a leap year
        (30, "2028-01-01", "2028-03-01"),  # any day of the month: the same basis
        (30, "2027-01-15", "2027-03-02"),
        (0, "2028-02-10", "2028-02-29"),  # end of a leap February
        (0, "2027-02-10", "2027-02-28"),
        (0, "2026-12-31", "2026-12-31"),
        (15, "2026-12-05", "2027-01-15"),  # across the year
        (60, "2026-11-30", "2027-01-29"),
        (10, "2026-04-30", "2026-05-10"),
    ],
)
def test_end_of_month_counts_from_the_last_day_of_the_issue_month(days, issued, due):
    terms = PaymentTerms.end_of_month(days)
    assert terms.kind == TermsKind.END_OF_MONTH
    assert terms.due_date(d(issued)) == d(due)


@pytest.mark.parametrize(
    ("percent", "within", "net", "issued", "discount_by", "due"),
    [
        ("2", 10, 30, "2026-12-05", "2026-12-15", "2027-01-04"),
        ("2", 10, 30, "2028-02-20", "2028-03-01", "2028-03-21"),
        ("1.5", 0, 14, "2026-12-05", "2026-12-05", "2026-12-19"),
        ("3", 7, 60, "2027-12-28", "2028-01-04", "2028-02-26"),
    ],
)
def test_early_payment_discount_dates(percent, within, net, issued, discount_by, due):
    terms = PaymentTerms.early_discount(D(percent), within, net)
    assert terms.kind == TermsKind.DISCOUNT
    assert terms.discount_date(d(issued)) == d(discount_by)
    assert terms.due_date(d(issued)) == d(due)


@pytest.mark.parametrize(
    ("percent", "gross", "discount", "to_pay"),
    [
        ("2", "1000.00", "20.00", "980.00"),
        ("2", "1230.25", "24.61", "1205.64"),  # 24.605 → 24.61 half-up
        ("1.5", "0.33", "0.00", "0.33"),  # 0.00495 → 0.00
        ("2.5", "10.10", "0.25", "9.85"),  # 0.2525 → 0.25
        ("2", "-100.00", "-2.00", "-98.00"),  # a credit note
    ],
)
def test_early_payment_amount_is_rounded_half_up(percent, gross, discount, to_pay):
    terms = PaymentTerms.early_discount(D(percent), 10, 30)
    early = terms.early_payment(d("2026-12-05"), D(gross))
    assert early == EarlyPayment(d("2026-12-15"), D(discount), D(to_pay))


def test_no_early_payment_without_a_discount():
    assert PaymentTerms.net(30).early_payment(d("2026-12-05"), D("100")) is None


@pytest.mark.parametrize(
    ("parts", "issued", "amount", "expected"),
    [
        ([("50", 30), ("50", 60)], "2026-12-05", "1000.00",
         [("2027-01-04", "500.00"), ("2027-02-03", "500.00")]),
        # a third of 100.00 is 33.33 twice; the remainder (33.34) goes on the last
        ([("33.33", 30), ("33.33", 60), ("33.34", 90)], "2028-01-31", "100.00",
         [("2028-03-01", "33.33"), ("2028-03-31", "33.33"), ("2028-04-30", "33.34")]),
        ([("33.33", 0), ("66.67", 30)], "2026-12-05", "0.10",
         [("2026-12-05", "0.03"), ("2027-01-04", "0.07")]),
        # 10 % of 0.05 is 0.005 → 0.01 half-up; the last takes 0.04
        ([("10", 7), ("90", 14)], "2026-12-05", "0.05",
         [("2026-12-12", "0.01"), ("2026-12-19", "0.04")]),
        ([("25", 30), ("25", 60), ("25", 90), ("25", 120)], "2026-12-05", "999.99",
         [("2027-01-04", "250.00"), ("2027-02-03", "250.00"), ("2027-03-05", "250.00"),
          ("2027-04-04", "249.99")]),
    ],
)
def test_instalments_split_half_up_with_the_remainder_last(parts, issued, amount, expected):
    terms = PaymentTerms.in_instalments([(D(p), days) for p, days in parts])
    assert terms.kind == TermsKind.INSTALMENTS
    schedule = terms.schedule(d(issued), D(amount))
    assert [(str(due.due_on), str(due.amount)) for due in schedule] == expected
    assert sum(due.amount for due in schedule) == D(amount)
    assert [due.percent for due in schedule] == [D(p) for p, _ in parts]
    assert terms.due_date(d(issued)) == d(expected[-1][0])


def test_schedule_of_single_payment_kinds_is_one_due():
    assert PaymentTerms.end_of_month(30).schedule(d("2028-01-31"), D("123.456")) == (
        Due(d("2028-03-01"), D("123.46"), D("100")),
    )


def test_schedule_rounds_to_the_currency_minor_unit():
    terms = PaymentTerms.in_instalments([(D("50"), 30), (D("50"), 60)])
    assert [x.amount for x in terms.schedule(d("2026-12-05"), D("1001"), "JPY")] == [
        D("501"), D("500")]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: PaymentTerms.net(-1), "between 0 and 365 days"),
        (lambda: PaymentTerms.net(366), "between 0 and 365 days"),
        (lambda: PaymentTerms.end_of_month(400), "between 0 and 365 days"),
        (lambda: PaymentTerms.early_discount(D("0"), 10, 30), "discount"),
        (lambda: PaymentTerms.early_discount(D("100"), 10, 30), "discount"),
        (lambda: PaymentTerms.early_discount(D("2.555"), 10, 30), "decimal places"),
        (lambda: PaymentTerms.early_discount(D("2"), 30, 30), "shorter"),
        (lambda: PaymentTerms.early_discount(D("2"), -1, 30), "shorter"),
        (lambda: PaymentTerms.in_instalments([(D("50"), 30), (D("40"), 60)]), "100%"),
        (lambda: PaymentTerms.in_instalments([(D("50"), 60), (D("50"), 30)]), "later"),
        (lambda: PaymentTerms.in_instalments([(D("50"), 30), (D("50"), 30)]), "later"),
        (lambda: PaymentTerms.in_instalments([(D("0"), 30), (D("100"), 60)]), "more than 0"),
        (lambda: PaymentTerms.in_instalments([(D("50"), 30), (D("50"), 400)]), "365"),
        (lambda: PaymentTerms.in_instalments([]), "at least one"),
        (lambda: PaymentTerms.in_instalments([(D("1"), i) for i in range(13)]), "at most 12"),
        (lambda: PaymentTerms.in_instalments([(D("NaN"), 30)]), "percentage"),
        (lambda: PaymentTerms.net(True), "between 0 and 365 days"),
    ],
)
def test_invalid_terms_are_refused_with_a_message(build, message):
    with pytest.raises(InvalidTerms) as caught:
        build()
    assert message in str(caught.value.msg)


def test_floats_are_refused():
    with pytest.raises(TypeError):
        PaymentTerms.early_discount(2.0, 10, 30)


@pytest.mark.parametrize(
    ("terms", "stored"),
    [
        (PaymentTerms.net(30), {"kind": "net", "days": 30}),
        (PaymentTerms.end_of_month(15), {"kind": "eom", "days": 15}),
        (PaymentTerms.early_discount(D("2"), 10, 30),
         {"kind": "discount", "days": 30, "discount_percent": "2", "discount_days": 10}),
        (PaymentTerms.in_instalments([(D("33.33"), 30), (D("66.67"), 60)]),
         {"kind": "instalments",
          "instalments": [{"percent": "33.33", "days": 30}, {"percent": "66.67", "days": 60}]}),
    ],
)
def test_json_round_trip(terms, stored):
    assert terms.to_json() == stored
    assert PaymentTerms.from_json(stored) == terms
    assert PaymentTerms.from_json(terms.to_json()) == terms


@pytest.mark.parametrize(
    "stored",
    [None, {}, {"kind": "weekly", "days": 7}, {"kind": "net"}, {"kind": "net", "days": "x"},
     {"kind": "net", "days": 400}, {"kind": "instalments", "instalments": [{"percent": "50"}]},
     {"kind": "discount", "days": 30, "discount_percent": 2.5, "discount_days": 10}],
)
def test_from_json_refuses_what_is_not_terms(stored):
    with pytest.raises(InvalidTerms):
        PaymentTerms.from_json(stored)


def test_equal_terms_are_equal_whatever_the_decimal_spelling():
    assert PaymentTerms.early_discount(D("2.0"), 10, 30) == PaymentTerms.early_discount(
        D("2"), 10, 30)
    assert PaymentTerms.early_discount(D("2.50"), 10, 30).to_json()["discount_percent"] == "2.5"


def test_days_of_instalment_terms_are_the_last_instalment():
    terms = PaymentTerms.in_instalments([(D("50"), 14), (D("50"), 45)])
    assert terms.days == 45
    assert terms.instalments == (Instalment(D("50"), 14), Instalment(D("50"), 45))


@pytest.mark.parametrize(
    ("terms", "english"),
    [
        (PaymentTerms.net(30), "net 30 days"),
        (PaymentTerms.end_of_month(15), "end of month + 15 days"),
        (PaymentTerms.early_discount(D("2"), 10, 30), "2% discount within 10 days, net 30 days"),
        (PaymentTerms.early_discount(D("2.5"), 10, 30),
         "2.5% discount within 10 days, net 30 days"),
        (PaymentTerms.in_instalments([(D("50"), 30), (D("50"), 60)]),
         "in instalments: 50% after 30 days, 50% after 60 days"),
    ],
)
def test_label_is_a_message(terms, english):
    assert str(terms.label()) == english


@pytest.mark.parametrize(
    ("text", "parts"),
    [("50/30, 50/60", [("50", 30), ("50", 60)]),
     (" 33,33 / 30 ; 33,33/60;33,34/90 ", [("33.33", 30), ("33.33", 60), ("33.34", 90)]),
     ("100/0", [("100", 0)]), ("50/30,50/60", [("50", 30), ("50", 60)]),
     ("33,33/30,66,67/60", [("33.33", 30), ("66.67", 60)]), ("50 % / 30", [("50", 30)])],
)
def test_parse_instalments(text, parts):
    assert parse_instalments(text) == tuple(Instalment(D(p), days) for p, days in parts)


@pytest.mark.parametrize("text", ["", "50", "50/x", "fifty/30", "50/30/1", "1e2/30", "50/-1"])
def test_parse_instalments_refuses_garbage(text):
    with pytest.raises(InvalidTerms):
        parse_instalments(text)


def test_format_instalments_is_what_parse_reads():
    parts = parse_instalments("33.33/30, 66.67/60")
    assert format_instalments(parts) == "33.33/30, 66.67/60"
    assert parse_instalments(format_instalments(parts)) == parts


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: PaymentTerms.net(400), "days"),
        (lambda: PaymentTerms.early_discount(D("0"), 10, 30), "discount_percent"),
        (lambda: PaymentTerms.early_discount(D("2"), 40, 30), "discount_days"),
        (lambda: PaymentTerms.in_instalments([(D("50"), 30)]), "instalments"),
        (lambda: parse_instalments("x"), "instalments"),
    ],
)
def test_invalid_terms_name_the_part_at_fault(build, field):
    with pytest.raises(InvalidTerms) as caught:
        build()
    assert caught.value.field == field
