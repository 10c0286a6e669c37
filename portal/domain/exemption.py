"""The legal basis of a VAT exemption: what an invoice with exempt (`zw`) lines must name.

Art. 106e ust. 1 pkt 19 of the VAT act: an invoice of an exempt supply states "the provision of
the act or of an act issued under it on which the taxpayer applies the exemption, the provision
of Directive 2006/112/EC that exempts the supply, or another legal basis". KSeF FA(3) keeps the
three apart (`Adnotacje/Zwolnienie`: `P_19A`, `P_19B`, `P_19C`), so the supplier chooses the
kind (`ExemptionBasisKind`) and types the provision as it is to be printed, in Polish, as
accountants write it ("art. 43 ust. 1 pkt 37 ustawy o VAT"). `COMMON_PROVISIONS` are the usual
ones, offered as suggestions; any other text is as good.

The text is one line of at most 256 characters (FA(3)'s `TZnakowy`); control characters are
refused (they cannot be printed nor carried by XML), runs of spaces collapsed.

Pure: no Flask, no database. Messages are `Msg`s, translated where they are shown.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from portal.domain.messages import N_, Msg
from portal.domain.vat import VAT_CODES, vat_code

# FA(3) P_19A/B/C are `TZnakowy`: an xsd:token of 1 to 256 characters.
MAX_BASIS = 256
VAT_CODE_NAMES = frozenset(code.code for code in VAT_CODES)
_SPACES = re.compile(r" {2,}")
# Unicode categories refused in the text: controls, surrogates, private use, line and
# paragraph separators (a one-line legal reference has none of them).
_REFUSED_CATEGORIES = frozenset({"Cc", "Cs", "Co", "Zl", "Zp"})


class ExemptionBasisKind(StrEnum):
    ACT = "ustawa"  # the VAT act or an act issued under it: FA(3) P_19A
    DIRECTIVE = "dyrektywa"  # Council Directive 2006/112/EC: P_19B
    OTHER = "inna"  # another legal basis: P_19C


KINDS: tuple[str, ...] = tuple(kind.value for kind in ExemptionBasisKind)
# The choice as the draft offers it.
KIND_LABELS: dict[str, str] = {
    ExemptionBasisKind.ACT: N_("Polish VAT act (or an act issued under it)"),
    ExemptionBasisKind.DIRECTIVE: N_("Council Directive 2006/112/EC"),
    ExemptionBasisKind.OTHER: N_("Other legal basis"),
}
# The kind as the invoice prints it, in the invoice's language, beside the provision.
KIND_PRINTED: dict[str, str] = {
    ExemptionBasisKind.ACT: N_("provision of the Polish VAT act or of an act issued under it"),
    ExemptionBasisKind.DIRECTIVE: N_("provision of Council Directive 2006/112/EC"),
    ExemptionBasisKind.OTHER: N_("other legal basis"),
}


@dataclass(frozen=True)
class Provision:
    """A usual exemption basis: its kind, the text as printed, what it exempts (a label)."""

    kind: str
    text: str
    label: str


COMMON_PROVISIONS: tuple[Provision, ...] = (
    Provision(ExemptionBasisKind.ACT, "art. 113 ust. 1 ustawy o VAT",
              N_("small business: sales below the yearly limit")),
    Provision(ExemptionBasisKind.ACT, "art. 113 ust. 9 ustawy o VAT",
              N_("small business starting in the year")),
    Provision(ExemptionBasisKind.ACT, "art. 43 ust. 1 pkt 2 ustawy o VAT",
              N_("used goods bought without deducting VAT")),
    Provision(ExemptionBasisKind.ACT, "art. 43 ust. 1 pkt 10 ustawy o VAT", N_("supply of buildings")),
    Provision(ExemptionBasisKind.ACT, "art. 43 ust. 1 pkt 18 ustawy o VAT", N_("medical care")),
    Provision(ExemptionBasisKind.ACT, "art. 43 ust. 1 pkt 26 ustawy o VAT", N_("education")),
    Provision(ExemptionBasisKind.ACT, "art. 43 ust. 1 pkt 29 ustawy o VAT", N_("vocational training")),
    Provision(ExemptionBasisKind.ACT, "art. 43 ust. 1 pkt 36 ustawy o VAT", N_("residential letting")),
    Provision(ExemptionBasisKind.ACT, "art. 43 ust. 1 pkt 37 ustawy o VAT", N_("insurance")),
    Provision(ExemptionBasisKind.ACT, "art. 43 ust. 1 pkt 38 ustawy o VAT", N_("loans and credit")),
    Provision(ExemptionBasisKind.DIRECTIVE, "art. 132 ust. 1 lit. i dyrektywy 2006/112/WE",
              N_("education and vocational training")),
    Provision(ExemptionBasisKind.DIRECTIVE, "art. 135 ust. 1 lit. a dyrektywy 2006/112/WE", N_("insurance")),
)


def clean_basis(text: str | None) -> str:
    """The provision as stored: stripped, runs of spaces made one (refused characters are
    `basis_problem`'s to report, not removed here)."""
    return _SPACES.sub(" ", (text or "").strip())


def clean_kind(kind: str | None) -> str | None:
    """The kind as stored: one of `KINDS` (lower case), None for nothing chosen."""
    value = (kind or "").strip().lower()
    return value or None


def _refused(text: str) -> bool:
    return any(unicodedata.category(ch) in _REFUSED_CATEGORIES or ch in "\ufffe\uffff" for ch in text)


def basis_problem(kind: str | None, text: str | None, *, required: bool) -> tuple[Msg, str] | None:
    """Why the basis (`kind`, `text`) cannot be kept, with the field to show it beside
    ("exemption_basis_kind" or "exemption_basis"); None when it can.

    `required`: the invoice has an exempt line, so both the kind and the text must be given.
    Without one, only a malformed basis is a problem (an unknown kind, refused characters, too
    long); a blank or half-filled one is simply not kept (`stored_basis`).
    """
    kind, cleaned = clean_kind(kind), clean_basis(text)
    if kind is not None and kind not in KINDS:
        return Msg(N_("Choose the kind of legal basis of the VAT exemption.")), "exemption_basis_kind"
    if _refused(text or ""):
        return (Msg(N_("The legal basis of the VAT exemption must be one line of plain text "
                       "(no control characters).")), "exemption_basis")
    if len(cleaned) > MAX_BASIS:
        return (Msg(N_("The legal basis of the VAT exemption has at most %(num)s characters."),
                    {"num": MAX_BASIS}), "exemption_basis")
    # The provision first: the draft offers the kind preselected, the text is what is missing.
    if required and not cleaned:
        return (Msg(N_("Enter the legal basis of the VAT exemption (for example art. 43 ust. 1 pkt 37 "
                       "ustawy o VAT): an invoice with exempt (zw) lines must state it.")), "exemption_basis")
    if required and kind is None:
        return (Msg(N_("Choose the kind of legal basis of the VAT exemption (Polish act, EU directive "
                       "or other): an invoice with exempt (zw) lines must state it.")), "exemption_basis_kind")
    return None


def stored_basis(kind: str | None, text: str | None) -> tuple[str | None, str]:
    """(kind, text) as an invoice keeps them: both, or (None, "") when either is missing or the
    basis is malformed (`basis_problem`)."""
    kind, cleaned = clean_kind(kind), clean_basis(text)
    if not cleaned or kind is None or basis_problem(kind, text, required=False) is not None:
        return None, ""
    return kind, cleaned


def has_exempt_lines(codes) -> bool:
    """True when any of the VAT codes is exempt (`zw`): the invoice then states a basis."""
    return any(vat_code(code).exempt for code in codes if code in VAT_CODE_NAMES)
