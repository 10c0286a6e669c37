"""Tax identifiers: Polish NIP and EU VAT IDs (portal/domain/taxid.py), no app needed."""

import pytest

from portal.domain.taxid import InvalidTaxId, format_tax_id, normalize_tax_id


@pytest.mark.parametrize(
    "raw",
    ["5261040828", "PL5261040828", "pl5261040828", "526-104-08-28", "PL 526-104-08-28",
     " 526 104 08 28 "],
)
def test_normalize_tax_id_accepts_nip_with_or_without_prefix_and_dashes(raw):
    assert normalize_tax_id(raw, "PL") == "5261040828"


@pytest.mark.parametrize("raw", ["5261040829", "526104082", "1234567890", "PL52610408281"])
def test_normalize_tax_id_refuses_bad_nip(raw):
    with pytest.raises(InvalidTaxId) as info:
        normalize_tax_id(raw, "PL")
    assert info.value.msg.text == "This is not a valid NIP."


def test_normalize_tax_id_refuses_foreign_vat_id_for_polish_company():
    with pytest.raises(InvalidTaxId) as info:
        normalize_tax_id("DE136695976", "PL")
    assert info.value.msg.text == "This is not a valid NIP."


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("DE136695976", "DE", "DE136695976"),
        ("136695976", "DE", "DE136695976"),
        ("de 136 695 976", "de", "DE136695976"),
        ("BG175074752", "BG", "BG175074752"),
        ("175074752", "BG", "BG175074752"),
        ("FR40303265045", "FR", "FR40303265045"),
        ("40303265045", "FR", "FR40303265045"),
        ("ATU13585627", "AT", "ATU13585627"),
        ("NL004495445B01", "NL", "NL004495445B01"),
    ],
)
def test_normalize_tax_id_accepts_eu_vat_ids(raw, country, expected):
    assert normalize_tax_id(raw, country) == expected


@pytest.mark.parametrize("raw", ["094259216", "EL094259216", "EL 094 259 216", "GR094259216"])
def test_normalize_tax_id_uses_el_for_greece(raw):
    # Greek VAT IDs carry the prefix EL, not the ISO country code GR.
    assert normalize_tax_id(raw, "GR") == "EL094259216"


@pytest.mark.parametrize(
    ("raw", "country"),
    [("DE136695977", "DE"), ("BG175074753", "BG"), ("FR40303265046", "FR"), ("12", "DE"),
     ("EL094259217", "GR")],
)
def test_normalize_tax_id_refuses_bad_vat_ids(raw, country):
    with pytest.raises(InvalidTaxId) as info:
        normalize_tax_id(raw, country)
    assert info.value.msg.text == "This is not a valid VAT ID."


@pytest.mark.parametrize(
    ("raw", "country", "code"),
    [("FR40303265045", "DE", "DE"), ("DE136695976", "BG", "BG"), ("DE136695976", "GR", "EL")],
)
def test_normalize_tax_id_refuses_valid_id_of_another_country(raw, country, code):
    with pytest.raises(InvalidTaxId) as info:
        normalize_tax_id(raw, country)
    assert info.value.msg.text == "The VAT ID must start with %(code)s."
    assert str(info.value.msg) == f"The VAT ID must start with {code}."


@pytest.mark.parametrize("raw", ["", "   ", None])
def test_normalize_tax_id_asks_for_a_value(raw):
    with pytest.raises(InvalidTaxId) as info:
        normalize_tax_id(raw, "PL")
    assert info.value.msg.text == "Enter the tax ID."


def test_normalize_tax_id_outside_the_eu_keeps_the_value_but_needs_four_characters():
    assert normalize_tax_id(" 12-3456789 ", "US") == "12-3456789"
    with pytest.raises(InvalidTaxId):
        normalize_tax_id("123", "US")


def test_format_tax_id_groups_a_nip_and_leaves_vat_ids_alone():
    assert format_tax_id("5261040828", "PL") == "526-104-08-28"
    assert format_tax_id("DE136695976", "DE") == "DE136695976"
    assert format_tax_id("", "PL") == ""
