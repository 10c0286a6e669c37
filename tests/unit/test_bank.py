"""Bank accounts (portal/domain/bank.py): IBANs validated offline, shown in groups of four."""

import pytest

from portal.domain.bank import InvalidIban, bank_name, format_iban, iban_country, normalize_iban

PL = "PL61109010140000071219812874"
DE = "DE89370400440532013000"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (PL, PL),
        ("PL61 1090 1014 0000 0712 1981 2874", PL),
        ("pl61 1090 1014 0000 0712 1981 2874", PL),
        ("  PL61\t10901014000007121981 2874 ", PL),
        ("DE89 3704 0044 0532 0130 00", DE),
        ("GB82 WEST 1234 5698 7654 32", "GB82WEST12345698765432"),
    ],
)
def test_normalize_iban_accepts_spaces_and_lower_case(raw, expected):
    assert normalize_iban(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "Enter the IBAN."),
        ("   ", "Enter the IBAN."),
        (None, "Enter the IBAN."),
        ("PL61109010140000071219812875", "The IBAN's checksum is wrong."),
        ("PL62109010140000071219812874", "The IBAN's checksum is wrong."),
        ("PL6110901014000007121981287", "The IBAN has the wrong number of characters for its country."),
        ("DE8937040044053201300", "The IBAN has the wrong number of characters for its country."),
        ("XX61109010140000071219812874", "An IBAN starts with a country code, such as PL or DE."),
        ("61109010140000071219812874", "An IBAN starts with a country code, such as PL or DE."),
        ("PL61-1090-1014-0000-0712-1981-2874", "This is not a valid IBAN."),
    ],
)
def test_normalize_iban_refuses_with_a_message(raw, message):
    with pytest.raises(InvalidIban) as info:
        normalize_iban(raw)
    assert info.value.msg.text == message
    assert isinstance(info.value, ValueError)


def test_format_iban_groups_by_four():
    assert format_iban(PL) == "PL61 1090 1014 0000 0712 1981 2874"
    assert format_iban(DE) == "DE89 3704 0044 0532 0130 00"
    assert format_iban("pl61 1090 10140000") == "PL61 1090 1014 0000"
    assert format_iban("") == ""
    assert format_iban(None) == ""


def test_iban_country_and_bank_name():
    assert iban_country(" pl61 1090") == "PL"
    assert bank_name(PL)  # schwifty's registry knows Polish banks
    assert bank_name("PL61109010140000071219812875") is None
    assert bank_name("") is None
