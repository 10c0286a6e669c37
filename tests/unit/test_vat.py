"""VAT codes as data and totals per code (portal/domain/vat.py). No app needed."""

from decimal import ROUND_HALF_UP, localcontext
from decimal import Decimal as D

import pytest

from portal.domain.vat import (
    VAT_CODES,
    UnknownVatCode,
    code_for_rate,
    line_net,
    line_vat,
    totals_by_code,
    totals_by_line,
    vat_code,
)


def test_the_codes_in_order_with_rates_and_flags():
    table = [(c.code, c.rate, c.exempt, c.not_subject, c.reverse_charge) for c in VAT_CODES]
    assert table == [
        ("23", D("23"), False, False, False),
        ("8", D("8"), False, False, False),
        ("5", D("5"), False, False, False),
        ("0", D("0"), False, False, False),
        ("zw", D("0"), True, False, False),
        ("np", D("0"), False, True, False),
        ("oo", D("0"), False, False, True),
    ]
    assert [c.label for c in VAT_CODES] == [
        "23%", "8%", "5%", "0%", "exempt (zw)", "not subject to VAT (np)", "reverse charge (oo)",
    ]
    assert all(c.code == str(c) for c in VAT_CODES)


def test_only_the_percentage_codes_are_taxed():
    assert [c.code for c in VAT_CODES if c.taxed] == ["23", "8", "5", "0"]


@pytest.mark.parametrize("code", ["23", "zw", "oo", "np", "0"])
def test_vat_code_looks_codes_up(code):
    assert vat_code(code).code == code
    assert vat_code(vat_code(code)) is vat_code(code)


@pytest.mark.parametrize("code", ["22", "ZW", "", None, "7", "23.5"])
def test_vat_code_refuses_unknown_codes(code):
    with pytest.raises(UnknownVatCode):
        vat_code(code)


@pytest.mark.parametrize(("rate", "code"), [("23", "23"), ("23.00", "23"), ("8.0", "8"),
                                            ("5", "5"), ("0", "0"), ("0.00", "0")])
def test_code_for_rate_maps_a_numeric_rate_to_its_code(rate, code):
    assert code_for_rate(D(rate)).code == code


def test_code_for_rate_refuses_a_rate_we_do_not_know():
    with pytest.raises(UnknownVatCode):
        code_for_rate(D("22"))


@pytest.mark.parametrize(
    ("quantity", "price", "net"),
    [("1", "0.005", "0.01"), ("3", "0.3333", "1.00"), ("2.5", "1.99", "4.98"),
     ("0.333", "0.015", "0.00"), ("999999999.999", "99999999999999.9999", None)],
)
def test_line_net_is_rounded_half_up(quantity, price, net):
    result = line_net(D(quantity), D(price))
    if net is None:  # no double rounding with many digits: exact product, then half-up
        with localcontext(prec=60):
            net = (D(quantity) * D(price)).quantize(D("0.01"), rounding=ROUND_HALF_UP)
        assert result == net
    else:
        assert result == D(net)


@pytest.mark.parametrize(
    ("net", "code", "vat"),
    [("100.00", "23", "23.00"), ("0.02", "23", "0.00"), ("0.03", "23", "0.01"),
     ("10.50", "5", "0.53"), ("100.00", "zw", "0.00"), ("100.00", "oo", "0.00"),
     ("-10.50", "5", "-0.53")],
)
def test_line_vat_rounds_half_up(net, code, vat):
    assert line_vat(D(net), code) == D(vat)


def rows(summary):
    return [(t.code.code, str(t.net), str(t.vat), str(t.gross)) for t in summary.per_code]


def test_totals_by_code_sum_nets_then_compute_vat_once_per_code():
    # Three lines at 23 % of 0.02 each: per line 0.00 VAT; per code 0.06 × 23 % = 0.0138 → 0.01.
    lines = [("23", D("0.02"))] * 3
    summary = totals_by_code(lines)
    assert rows(summary) == [("23", "0.06", "0.01", "0.07")]
    assert (summary.net, summary.vat, summary.gross) == (D("0.06"), D("0.01"), D("0.07"))
    by_line = totals_by_line(lines)
    assert rows(by_line) == [("23", "0.06", "0.00", "0.06")]


def test_totals_by_code_round_each_line_net_first():
    # 0.005 and 0.005 each round to 0.01: the code's net is 0.02, not round(0.010) = 0.01.
    summary = totals_by_code([("8", D("0.005")), ("8", D("0.005"))])
    assert rows(summary) == [("8", "0.02", "0.00", "0.02")]


def test_totals_by_code_mixed_codes_in_the_table_order():
    lines = [
        ("zw", D("50.00")),
        ("23", D("100.00")),
        ("5", D("10.10")),
        ("23", D("0.99")),
        ("oo", D("1000.00")),
        ("8", D("12.345")),
        ("np", D("7.00")),
        ("0", D("3.00")),
    ]
    summary = totals_by_code(lines)
    assert rows(summary) == [
        ("23", "100.99", "23.23", "124.22"),  # 23.2277 → 23.23
        ("8", "12.35", "0.99", "13.34"),  # 12.345 → 12.35; 0.988 → 0.99
        ("5", "10.10", "0.51", "10.61"),  # 0.505 → 0.51 half-up (half-even would say 0.50)
        ("0", "3.00", "0.00", "3.00"),
        ("zw", "50.00", "0.00", "50.00"),
        ("np", "7.00", "0.00", "7.00"),
        ("oo", "1000.00", "0.00", "1000.00"),
    ]
    assert summary.net == D("1183.44")
    assert summary.vat == D("24.73")
    assert summary.gross == summary.net + summary.vat == D("1208.17")


def test_totals_accept_code_objects_and_negative_lines():
    summary = totals_by_code([(vat_code("23"), D("100.00")), ("23", D("-40.00"))])
    assert rows(summary) == [("23", "60.00", "13.80", "73.80")]


def test_totals_of_no_lines_are_zero():
    summary = totals_by_code([])
    assert summary.per_code == () and (summary.net, summary.vat, summary.gross) == (
        D("0.00"), D("0.00"), D("0.00"))


def test_totals_round_to_the_currency_minor_unit():
    summary = totals_by_code([("23", D("100.4")), ("23", D("0.4"))], currency="JPY")
    assert rows(summary) == [("23", "100", "23", "123")]  # 100 + 0 yen; 23 yen VAT


def test_totals_refuse_an_unknown_code_and_floats():
    with pytest.raises(UnknownVatCode):
        totals_by_code([("22", D("1"))])
    with pytest.raises(TypeError):
        totals_by_code([("23", 1.5)])


def test_per_line_method_sums_rounded_line_vat_per_code():
    lines = [("23", D("0.03")), ("23", D("0.03")), ("8", D("0.07")), ("8", D("0.06"))]
    assert rows(totals_by_line(lines)) == [("23", "0.06", "0.02", "0.08"),
                                           ("8", "0.13", "0.01", "0.14")]
    assert rows(totals_by_code(lines)) == [("23", "0.06", "0.01", "0.07"),
                                           ("8", "0.13", "0.01", "0.14")]


def test_taxed_rates_are_what_requisitions_and_the_catalog_accept():
    from portal.domain import catalog
    from portal.domain.vat import TAXED_RATES

    assert TAXED_RATES == (D("23"), D("8"), D("5"), D("0")) == catalog.VAT_RATES
