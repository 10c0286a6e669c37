"""Catalog rules and the CSV import format (pure Python, no app)."""

from decimal import Decimal

import pytest

from portal.domain import catalog as rules
from portal.domain.catalog import CatalogRow, CsvFileProblem, RowError, parse_catalog_csv

HEADER = "sku;name;description;unit;category_code;vat_rate;list_price;currency;preferred_supplier_tax_id"


def polish_file(*rows: str, bom: bool = True) -> bytes:
    text = "\r\n".join([HEADER, *rows]) + "\r\n"
    return (("\ufeff" if bom else "") + text).encode("utf-8")


def texts(error: RowError) -> list[str]:
    return [m.text for m in error.messages]


def test_semicolons_decimal_commas_and_bom_are_read():
    parsed = parse_catalog_csv(polish_file(
        "BIU-KRZ;Krzesło obrotowe;Czarne;szt.;office;23;1 234,5;pln;527-039-18-00",
    ))
    assert parsed.delimiter == ";"
    assert parsed.errors == []
    assert parsed.rows == [CatalogRow(
        row=2, sku="BIU-KRZ", name="Krzesło obrotowe", description="Czarne", unit="pcs",
        category_code="OFFICE", vat_rate=Decimal("23"), list_price=Decimal("1234.5"),
        currency="PLN", supplier_tax_id="5270391800",
    )]


def test_commas_and_dots_without_bom_are_read():
    data = b"sku,name,list_price,vat_rate\nA-1,\"Paper, A4\",12.50,8%\n"
    parsed = parse_catalog_csv(data)
    assert parsed.delimiter == ","
    assert parsed.rows == [CatalogRow(row=2, sku="A-1", name="Paper, A4",
                                      list_price=Decimal("12.50"), vat_rate=Decimal("8"))]


def test_empty_cells_and_missing_columns_mean_not_given():
    parsed = parse_catalog_csv(b"sku;name;unit;list_price\nA-1;Paper;;\n")
    row = parsed.rows[0]
    assert (row.unit, row.list_price, row.vat_rate, row.category_code) == (None, None, None, None)


def test_a_bad_row_lists_every_reason_and_good_rows_survive():
    parsed = parse_catalog_csv(polish_file(
        "OK-1;Papier;;ryza;;23;18,90;PLN;",
        "BAD-1;;;bucket;;7;-3;XYZ;",
        "BAD-2;Taśma;;;;;12,34567;;",
        "BAD-3;Klej;;;;;12,5zł;;",
        ";Bez SKU;;;;;;;",
    ))
    assert [r.sku for r in parsed.rows] == ["OK-1"]
    by_sku = {e.sku: e for e in parsed.errors}
    assert [e.row for e in parsed.errors] == [3, 4, 5, 6]
    assert texts(by_sku["BAD-1"]) == [
        "The name is missing.",
        "Unknown unit “%(unit)s”.",
        "VAT rate “%(value)s” is not one of 23, 8, 5 or 0.",
        "The price cannot be negative.",
        "Currency %(currency)s is not an ISO 4217 code in use.",
    ]
    assert texts(by_sku["BAD-2"]) == ["A price has at most %(places)s decimal places."]
    assert texts(by_sku["BAD-3"]) == ["“%(value)s” is not a price; write e.g. 12.50 or 12,50."]
    assert texts(by_sku[""]) == ["Enter the SKU."]


def test_a_sku_repeated_in_the_file_is_refused_on_its_later_rows():
    parsed = parse_catalog_csv(polish_file("A-1;Pierwszy;;;;;;;", "a-1;Drugi;;;;;;;"))
    assert [r.name for r in parsed.rows] == ["Pierwszy"]
    [error] = parsed.errors
    assert error.row == 3
    assert str(error.messages[0]) == "SKU a-1 already appears on row 2 of this file."


def test_blank_lines_are_skipped_but_keep_row_numbers():
    parsed = parse_catalog_csv(polish_file("A-1;Jeden;;;;;;;", ";;;;;;;;", "A-2;Dwa;;;;;;;", ""))
    assert [(r.row, r.sku) for r in parsed.rows] == [(2, "A-1"), (4, "A-2")]


def test_a_row_with_more_values_than_columns_is_refused():
    parsed = parse_catalog_csv(b"sku,name\nA-1,Paper,12,50\n")
    assert parsed.rows == []
    assert "more values than the header" in parsed.errors[0].messages[0].text


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "The file is empty."),
        (b"\xef\xbb\xbf\r\n", "The file is empty."),
        (b"name;price\nPaper;1\n", "Unknown column(s)"),
        (b"sku;description\nA;B\n", "must be the header"),
        (b"sku;name;name\nA;B;C\n", "appears twice"),
        ("sku;name\nA;Krzesło\n".encode("cp1250"), "not UTF-8"),
        (b"PK\x03\x04rest-of-a-zip", "workbook"),
        (b"sku\x00name", "not a text file"),
    ],
)
def test_unusable_files_are_refused_as_a_whole(data, expected):
    with pytest.raises(CsvFileProblem) as caught:
        parse_catalog_csv(data)
    assert expected in caught.value.msg.text


def test_too_many_rows_refuse_the_file():
    rows = [f"S-{n};Item {n};;;;;;;" for n in range(11)]
    with pytest.raises(CsvFileProblem) as caught:
        parse_catalog_csv(polish_file(*rows), max_rows=10)
    assert str(caught.value.msg) == "The file has more than 10 rows. Split it into smaller files."
    assert len(parse_catalog_csv(polish_file(*rows[:10]), max_rows=10).rows) == 10


@pytest.mark.parametrize(
    ("text", "value"),
    [("12,50", Decimal("12.50")), ("12.5", Decimal("12.5")), ("1 234,5678", Decimal("1234.5678")),
     ("1\u00a0000", Decimal("1000")), ("0", Decimal("0")), ("", None), ("  ", None)],
)
def test_prices_are_read_with_comma_or_dot(text, value):
    assert rules.parse_price(text) == value


@pytest.mark.parametrize("text", ["1.234,50", "1,234.50", "12,", "abc", "1e3", "NaN", "€5"])
def test_ill_formed_prices_are_refused(text):
    with pytest.raises(rules.PriceProblem):
        rules.parse_price(text)


def test_price_limits():
    with pytest.raises(rules.PriceProblem, match="decimal places"):
        rules.check_price(Decimal("0.00001"))
    with pytest.raises(rules.PriceProblem, match="too large"):
        rules.check_price(Decimal("100000000000000"))
    assert rules.check_price(Decimal("99999999999999.9999")) == Decimal("99999999999999.9999")
    assert rules.check_price(Decimal("12.50000")) == Decimal("12.5")


@pytest.mark.parametrize(("text", "rate"), [("23", 23), ("8 %", 8), ("5,00", 5), ("0", 0)])
def test_vat_rates(text, rate):
    assert rules.parse_vat_rate(text) == Decimal(rate)


@pytest.mark.parametrize("text", ["22", "0.23", "zw", "7"])
def test_other_vat_rates_are_refused(text):
    with pytest.raises(rules.PriceProblem):
        rules.parse_vat_rate(text)


def test_units_accept_codes_and_polish_abbreviations():
    assert rules.normalize_unit("PCS") == "pcs"
    assert rules.normalize_unit("szt.") == "pcs"
    assert rules.normalize_unit("kpl") == "set"
    assert rules.normalize_unit("bucket") is None


def test_search_folding_ignores_case_and_polish_accents():
    assert rules.fold_for_search("Krzesło BIUROWE") == "krzeslo biurowe"
    assert rules.fold_for_search("ŁOŻYSKO ŚRUBA ĆMA") == "lozysko sruba cma"
    assert rules.fold_for_search("krzesło") in rules.fold_for_search("Krzesło obrotowe")


def test_sku_and_code_rules():
    assert rules.check_sku("BIU-PAP/A4.1") is None
    assert rules.check_sku("") is not None
    assert rules.check_sku("A B") is not None
    assert rules.check_sku("A;B") is not None
    assert rules.check_sku("X" * 41) is not None
    assert rules.check_code("OFFICE") is None
    assert rules.check_code("OF FICE") is not None


def test_format_rate():
    assert rules.format_rate(Decimal("23.00")) == "23"
    assert rules.format_rate(Decimal("5.50")) == "5.5"
    assert rules.format_rate(Decimal("0.00")) == "0"


@pytest.mark.parametrize("polish", [True, False])
def test_the_sample_file_imports_cleanly(polish):
    data = rules.sample_csv(polish=polish)
    assert data.startswith("\ufeff".encode())
    parsed = parse_catalog_csv(data)
    assert parsed.delimiter == (";" if polish else ",")
    assert parsed.errors == []
    assert [r.list_price for r in parsed.rows] == [Decimal("18.90"), Decimal("59.00"),
                                                   Decimal("180")]
