"""VAT codes as data, and VAT totals per code.

The codes of a Polish invoice: the rates 23, 8, 5 and 0 %, and three codes that charge no VAT
for different reasons, each printed differently: `zw` exempt (art. 43 of the VAT act), `np` not
subject to Polish VAT (e.g. a service taxed where the customer is), `oo` reverse charge (the
buyer accounts for the VAT). An invoice shows its net, VAT and gross per code.

Totals follow art. 106e ust. 11: per code, the net is the sum of the lines' nets (each rounded
half-up to the grosz), the VAT is computed once from that sum and rounded half-up, and the
gross is net + VAT. `totals_by_line` is the other method (each line's VAT rounded, then
summed), which requisitions use for their estimates so that every line adds up on its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, localcontext

from portal.domain.messages import N_
from portal.money import round_money

ZERO = Decimal(0)
HUNDRED = Decimal(100)


class UnknownVatCode(ValueError):
    """A VAT code (or rate) that is not in the table."""


@dataclass(frozen=True)
class VatCode:
    """One VAT code: what is stored on a line (`code`), its label and the rate it applies.

    `rate` is a percentage (23 for 23 %); zw, np and oo apply 0. The flags say why no VAT is
    charged, which decides the note an invoice must carry.
    """

    code: str
    label: str
    rate: Decimal
    exempt: bool = False
    not_subject: bool = False
    reverse_charge: bool = False

    @property
    def taxed(self) -> bool:
        """True for the percentage rates (0 % included: a taxed supply at a zero rate)."""
        return not (self.exempt or self.not_subject or self.reverse_charge)

    def __str__(self) -> str:
        return self.code


VAT_CODES: tuple[VatCode, ...] = (
    VatCode("23", N_("23%"), Decimal(23)),
    VatCode("8", N_("8%"), Decimal(8)),
    VatCode("5", N_("5%"), Decimal(5)),
    VatCode("0", N_("0%"), ZERO),
    VatCode("zw", N_("exempt (zw)"), ZERO, exempt=True),
    VatCode("np", N_("not subject to VAT (np)"), ZERO, not_subject=True),
    VatCode("oo", N_("reverse charge (oo)"), ZERO, reverse_charge=True),
)
# The percentage rates, highest first: what a line that stores a rate (not a code) may hold.
TAXED_RATES: tuple[Decimal, ...] = tuple(c.rate for c in VAT_CODES if c.taxed)
_BY_CODE = {c.code: c for c in VAT_CODES}
_ORDER = {c.code: i for i, c in enumerate(VAT_CODES)}
DEFAULT_CODE = "23"


def vat_code(code: str | VatCode) -> VatCode:
    """The VatCode for a stored code (`"23"`, `"zw"`); UnknownVatCode for anything else."""
    if isinstance(code, VatCode):
        return code
    found = _BY_CODE.get(code) if isinstance(code, str) else None
    if found is None:
        raise UnknownVatCode(f"unknown VAT code: {code!r}")
    return found


def code_for_rate(rate: Decimal) -> VatCode:
    """The taxed code of a numeric rate (23.00 → `23`); UnknownVatCode if there is none.

    For lines that store a rate, not a code (requisitions, catalog items): 0 means 0 %, never
    exempt, which a rate cannot say.
    """
    for code in VAT_CODES:
        if code.taxed and code.rate == rate:
            return code
    raise UnknownVatCode(f"no VAT code for the rate {rate!r}")


def line_net(quantity: Decimal, unit_price: Decimal, currency: str = "PLN") -> Decimal:
    """Quantity × unit price, rounded half-up to the currency's minor unit.

    The product is exact (60 significant digits): the default 28 would round a large product
    once before the rounding to the grosz, a double rounding that can be off by 0.01.
    """
    _no_float(quantity, unit_price)
    with localcontext(prec=60):
        return round_money(Decimal(quantity) * Decimal(unit_price), currency)


def vat_at_rate(net: Decimal, rate: Decimal, currency: str = "PLN") -> Decimal:
    """`net` × `rate` % (a rate of 23 is 23 %), rounded half-up to the currency's minor unit."""
    _no_float(net, rate)
    with localcontext(prec=60):
        return round_money(Decimal(net) * Decimal(rate) / HUNDRED, currency)


def line_vat(net: Decimal, code: str | VatCode, currency: str = "PLN") -> Decimal:
    """The VAT of one rounded net amount at a code's rate, rounded half-up."""
    return vat_at_rate(net, vat_code(code).rate, currency)


@dataclass(frozen=True)
class VatTotal:
    """Net, VAT and gross of all lines of one code."""

    code: VatCode
    net: Decimal
    vat: Decimal

    @property
    def gross(self) -> Decimal:
        return self.net + self.vat


@dataclass(frozen=True)
class VatSummary:
    """The per-code rows (in the order of VAT_CODES, only codes that occur) and the totals."""

    per_code: tuple[VatTotal, ...]
    net: Decimal
    vat: Decimal

    @property
    def gross(self) -> Decimal:
        return self.net + self.vat


def _no_float(*values) -> None:
    if any(isinstance(v, float) for v in values):
        raise TypeError("money is never a float")


def _nets_by_code(lines, currency: str) -> dict[str, list[Decimal]]:
    nets: dict[str, list[Decimal]] = {}
    for code, net in lines:
        _no_float(net)
        nets.setdefault(vat_code(code).code, []).append(round_money(net, currency))
    return nets


def _summary(rows: list[VatTotal], currency: str) -> VatSummary:
    rows.sort(key=lambda row: _ORDER[row.code.code])
    zero = round_money(ZERO, currency)
    return VatSummary(
        tuple(rows),
        sum((row.net for row in rows), zero),
        sum((row.vat for row in rows), zero),
    )


def totals_by_code(
    lines: Iterable[tuple[str | VatCode, Decimal]], currency: str = "PLN"
) -> VatSummary:
    """VAT totals the invoice way (art. 106e ust. 11): VAT once per code, from summed nets.

    `lines` are (code, net) pairs; each net is rounded half-up to the minor unit first, the
    rounded nets of a code are summed, and the code's VAT is that sum × rate, rounded half-up.
    Raises UnknownVatCode for a code not in the table, TypeError for a float.
    """
    zero = round_money(ZERO, currency)
    rows = [
        VatTotal(vat_code(code), net, line_vat(net, code, currency))
        for code, net in (
            (code, sum(nets, zero)) for code, nets in _nets_by_code(lines, currency).items()
        )
    ]
    return _summary(rows, currency)


def totals_by_line(
    lines: Iterable[tuple[str | VatCode, Decimal]], currency: str = "PLN"
) -> VatSummary:
    """VAT totals the per-line way: each line's VAT rounded half-up, then summed per code.

    The same input and output as `totals_by_code`; the VAT may differ from it by a few grosze.
    """
    zero = round_money(ZERO, currency)
    rows = [
        VatTotal(
            vat_code(code),
            sum(nets, zero),
            sum((line_vat(net, code, currency) for net in nets), zero),
        )
        for code, nets in _nets_by_code(lines, currency).items()
    ]
    return _summary(rows, currency)
