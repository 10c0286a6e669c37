"""Tax identifiers: Polish NIP and EU VAT IDs, checked offline with python-stdnum."""

from __future__ import annotations

from stdnum import exceptions as stdnum_exceptions
from stdnum.eu import vat as eu_vat
from stdnum.pl import nip

from portal.domain.messages import N_, Msg

EU_COUNTRIES = {
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE",
    "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
}


class InvalidTaxId(ValueError):
    """The tax ID is not valid for the country; `msg` is the message for the user."""

    def __init__(self, msg: Msg):
        super().__init__(str(msg))
        self.msg = msg


def normalize_tax_id(value: str, country: str) -> str:
    """Validate and return the compact form: `5261040828` for a Polish NIP, `DE136695976` else.

    A Polish company may enter its NIP with or without the PL prefix and with dashes.
    Raises InvalidTaxId with a message fit for the user.
    """
    raw = (value or "").strip().upper()
    country = (country or "").upper()
    if not raw:
        raise InvalidTaxId(Msg(N_("Enter the tax ID.")))
    try:
        if country == "PL":
            compact = nip.compact(raw.removeprefix("PL"))
            return nip.validate(compact)
        if country in EU_COUNTRIES:
            code = "EL" if country == "GR" else country
            if country == "GR" and raw.startswith("GR"):
                # People type the ISO code; Greek VAT IDs carry EL.
                raw = "EL" + raw[2:]
            candidate = raw if raw[:2].isalpha() else code + raw
            compact = eu_vat.validate(candidate)
            if compact[:2] != code:
                raise InvalidTaxId(Msg(N_("The VAT ID must start with %(code)s."), {"code": code}))
            return compact
    except stdnum_exceptions.ValidationError as exc:
        if country == "PL":
            raise InvalidTaxId(Msg(N_("This is not a valid NIP."))) from exc
        raise InvalidTaxId(Msg(N_("This is not a valid VAT ID."))) from exc
    if len(raw) < 4:
        raise InvalidTaxId(Msg(N_("This is not a valid tax ID.")))
    return raw


def format_tax_id(value: str, country: str) -> str:
    """Show a NIP as 526-104-08-28; other IDs as stored."""
    if country == "PL" and value and value.isdigit():
        return nip.format(value)
    return value
