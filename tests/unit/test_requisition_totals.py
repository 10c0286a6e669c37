"""Line and document totals (portal/domain/requisition.py): half-up to the grosz per line,
document totals as sums of the rounded lines."""

from decimal import ROUND_HALF_UP, Decimal, localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.domain.requisition import LineTotals, document_totals, line_totals

D = Decimal


@pytest.mark.parametrize(
    ("quantity", "price", "rate", "net", "vat"),
    [
        ("1", "100.00", "23", "100.00", "23.00"),
        # 0.005 rounds up (half-up), never to even
        ("1", "0.005", "0", "0.01", "0.00"),
        ("1", "0.015", "0", "0.02", "0.00"),
        ("1", "0.025", "0", "0.03", "0.00"),
        ("3", "0.3350", "23", "1.01", "0.23"),  # 1.005 -> 1.01; 1.01 * 23 % = 0.2323 -> 0.23
        ("1", "2.1700", "23", "2.17", "0.50"),  # 0.4991 -> 0.50
        ("1", "0.0200", "23", "0.02", "0.00"),  # 0.0046 -> 0.00
        ("1", "0.0300", "23", "0.03", "0.01"),  # 0.0069 -> 0.01
        ("0.5", "0.0100", "8", "0.01", "0.00"),  # 0.005 -> 0.01
        ("2.5", "19.99", "8", "49.98", "4.00"),  # 49.975 -> 49.98; 3.9984 -> 4.00
        ("0.001", "1.0000", "23", "0.00", "0.00"),
        ("7", "1.4150", "5", "9.91", "0.50"),  # 9.905 -> 9.91; 0.4955 -> 0.50
        ("12", "10.00", "0", "120.00", "0.00"),  # zero VAT
        ("1", "0", "23", "0.00", "0.00"),
    ],
)
def test_line_rounding_is_half_up_per_line(quantity, price, rate, net, vat):
    totals = line_totals(D(quantity), D(price), D(rate))
    assert totals == LineTotals(D(net), D(vat), D(net) + D(vat))
    assert totals.net.as_tuple().exponent == -2
    assert totals.vat.as_tuple().exponent == -2


def test_vat_is_computed_on_the_rounded_net():
    # net 0.005 * 3 = 0.015 -> 0.02; VAT 23 % of 0.02 = 0.0046 -> 0.00
    # (of the unrounded 0.015 it would be 0.00345)
    totals = line_totals(D("3"), D("0.0050"), D("23"))
    assert totals.net == D("0.02")
    assert totals.vat == D("0.00")


def test_document_totals_are_sums_of_rounded_lines_not_rounded_sums():
    # Three lines of 0.005 net each: the printed lines show 0.01 each, so the document shows 0.03
    # (rounding the exact sum 0.015 would give 0.02 and the document would not add up).
    lines = [line_totals(D("1"), D("0.0050"), D("23")) for _ in range(3)]
    totals = document_totals(lines)
    assert totals.net == D("0.03")
    assert totals.vat == D("0.00")
    assert totals.gross == D("0.03")


def test_document_totals_of_no_lines_are_zero():
    assert document_totals([]) == LineTotals(D("0.00"), D("0.00"), D("0.00"))


def test_mixed_vat_rates_add_up():
    lines = [
        line_totals(D("2"), D("1500.00"), D("23")),  # 3000.00 + 690.00
        line_totals(D("10"), D("12.49"), D("8")),  # 124.90 + 9.99 (9.992)
        line_totals(D("1"), D("100.00"), D("0")),  # 100.00 + 0
    ]
    totals = document_totals(lines)
    assert totals.net == D("3224.90")
    assert totals.vat == D("699.99")
    assert totals.gross == D("3924.89")


@pytest.mark.parametrize(
    ("quantity", "price", "rate", "net", "vat"),
    [
        ("999999.999", "999999.9999", "0", "999999998900.00", "0.00"),  # ...8900.0000001
        ("33333.333", "2999.9999", "8", "99999995.67", "7999999.65"),
        ("999999999.999", "99999.9999", "23", "99999999899900.00", "22999999976977.00"),
        # 30 significant digits: a 28-digit context would round twice and give .56
        ("327141446.723", "84749696412990.8224", "0", "27725138293880861331257.55", "0.00"),
    ],
)
def test_large_values_stay_exact(quantity, price, rate, net, vat):
    totals = line_totals(D(quantity), D(price), D(rate))
    assert totals == LineTotals(D(net), D(vat), D(net) + D(vat))


quantities = st.decimals(min_value=D("0.001"), max_value=D("999999999.999"), places=3)
prices = st.decimals(min_value=D("0"), max_value=D("99999999999999.9999"), places=4)
rates = st.sampled_from([D("23"), D("8"), D("5"), D("0")])


@settings(max_examples=300, deadline=None, database=None)
@given(quantities, prices, rates)
def test_line_totals_match_exact_arithmetic(quantity, price, rate):
    """Whatever the size, a line is the exact product rounded once, half-up, to the grosz."""
    with localcontext(prec=60):
        exact_net = (quantity * price).quantize(D("0.01"), rounding=ROUND_HALF_UP)
        exact_vat = (exact_net * rate / 100).quantize(D("0.01"), rounding=ROUND_HALF_UP)
    totals = line_totals(quantity, price, rate)
    assert (totals.net, totals.vat, totals.gross) == (exact_net, exact_vat, exact_net + exact_vat)


@settings(max_examples=200, deadline=None, database=None)
@given(st.lists(st.tuples(quantities, st.decimals(min_value=D("0"), max_value=D("99999"), places=4),
                          rates), max_size=15))
def test_document_total_is_the_sum_of_its_printed_lines(rows):
    lines = [line_totals(q, p, r) for q, p, r in rows]
    totals = document_totals(lines)
    assert totals.net == sum((li.net for li in lines), D("0"))
    assert totals.vat == sum((li.vat for li in lines), D("0"))
    assert totals.gross == totals.net + totals.vat == sum((li.gross for li in lines), D("0"))

