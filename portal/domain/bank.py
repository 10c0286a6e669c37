"""Bank accounts: IBANs checked offline with schwifty (country, length, structure, checksum)."""

from __future__ import annotations

from schwifty import IBAN
from schwifty import exceptions as iban_errors

from portal.domain.messages import N_, Msg


class InvalidIban(ValueError):
    """The text is not a valid IBAN; `msg` is the message for the user."""

    def __init__(self, msg: Msg):
        super().__init__(str(msg))
        self.msg = msg


def _iban(text: str) -> IBAN:
    raw = "".join((text or "").split()).upper()
    if not raw:
        raise InvalidIban(Msg(N_("Enter the IBAN.")))
    if not raw[:2].isalpha():
        raise InvalidIban(Msg(N_("An IBAN starts with a country code, such as PL or DE.")))
    try:
        # The country's national (BBAN) checksum is not verified: schwifty knows it for a few
        # countries only, and the IBAN's own checksum already catches a mistyped digit.
        return IBAN(raw)
    except iban_errors.InvalidCountryCode as exc:
        raise InvalidIban(Msg(N_("An IBAN starts with a country code, such as PL or DE."))) from exc
    except iban_errors.InvalidLength as exc:
        raise InvalidIban(Msg(N_("The IBAN has the wrong number of characters for its country."))) from exc
    except iban_errors.InvalidChecksumDigits as exc:
        raise InvalidIban(Msg(N_("The IBAN's checksum is wrong."))) from exc
    except iban_errors.SchwiftyException as exc:
        raise InvalidIban(Msg(N_("This is not a valid IBAN."))) from exc


def normalize_iban(text: str) -> str:
    """Validate and return the compact form (`PL61109010140000071219812874`).

    Spaces are dropped and letters upper-cased; raises InvalidIban with a message fit for the user.
    """
    return _iban(text).compact


def format_iban(iban: str) -> str:
    """The IBAN in groups of four (`PL61 1090 1014 0000 0712 1981 2874`), as printed on invoices.

    Grouping only: a stored value is shown as it is even if it no longer validates.
    """
    compact = "".join((iban or "").split()).upper()
    return " ".join(compact[i:i + 4] for i in range(0, len(compact), 4))


def iban_country(iban: str) -> str:
    """The country code of an IBAN (`PL`)."""
    return "".join((iban or "").split()).upper()[:2]


def bank_name(iban: str) -> str | None:
    """The bank's name from schwifty's registry for a valid IBAN, None when unknown."""
    try:
        name = _iban(iban).bank_name
    except (InvalidIban, iban_errors.SchwiftyException):
        return None
    return name or None
