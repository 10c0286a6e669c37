"""Payment terms: when an invoice is due, and for how much, from its issue date.

Four kinds, each a rule a buyer and a supplier agree on the supplier link:

- `net`: N calendar days after the issue date ("net 30 days");
- `eom`: N days after the end of the issue month ("end of month + 30 days");
- `discount`: net N days, or p % off when paid within d days ("2/10 net 30", skonto);
- `instalments`: parts of the amount (percentages summing to 100 %) due N days after issue each.

Due dates are computed, never typed. Days are calendar days (the Polish civil code counts a
term in days so; art. 115's shift off a holiday is the payer's right, not a different due date
on the invoice). Amounts are rounded half-up to the currency's minor unit, the remainder of an
instalment split falling on the last instalment so the parts add up to the whole.

`PaymentTerms.to_json()` is what is stored (a JSON column on the supplier link and the
invitation); `from_json` reads it back and refuses anything that is not valid terms.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from portal.domain.messages import N_, Msg
from portal.money import round_money

MAX_DAYS = 365
MAX_INSTALMENTS = 12
PERCENT_PLACES = 2
HUNDRED = Decimal(100)


class TermsKind(StrEnum):
    NET = "net"
    END_OF_MONTH = "eom"
    DISCOUNT = "discount"
    INSTALMENTS = "instalments"


KIND_LABELS = {
    TermsKind.NET: N_("Net days from the invoice date"),
    TermsKind.END_OF_MONTH: N_("Days from the end of the invoice month"),
    TermsKind.DISCOUNT: N_("Net days with an early-payment discount"),
    TermsKind.INSTALMENTS: N_("Instalments"),
}


class InvalidTerms(ValueError):
    """Terms that cannot be agreed (out of range, not adding up) or stored data that is not
    terms; `msg` says why, for the user; `field` names the part at fault (`days`,
    `discount_percent`, `discount_days`, `instalments`) or is None."""

    def __init__(self, msg: Msg, field: str | None = None):
        super().__init__(str(msg))
        self.msg = msg
        self.field = field


def _refuse(text: str, field: str | None = None, **params) -> InvalidTerms:
    return InvalidTerms(Msg(text, params), field)


def _days(value: object, field: str = "days") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_DAYS:
        raise _refuse(N_("Payment terms must be between 0 and 365 days."), field)
    return value


def _percent(value: object, field: str) -> Decimal:
    """A percentage as a normalized Decimal (2.50 → 2.5, 50 → 50), at most 2 decimals."""
    if isinstance(value, float):
        raise TypeError("a percentage is never a float")
    if not isinstance(value, Decimal) or not value.is_finite():
        raise _refuse(N_("Enter a percentage such as 2 or 2,5."), field)
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -PERCENT_PLACES:
        raise _refuse(N_("A percentage has at most 2 decimal places."), field)
    normal = value.normalize()
    return normal.quantize(Decimal(1)) if normal == normal.to_integral_value() else normal


def _percent_param(value: Decimal) -> int | Decimal:
    # Shown as "50%" and "2.5%", not "50.00%".
    return int(value) if value == value.to_integral_value() else value


@dataclass(frozen=True)
class Instalment:
    """One part of the amount: `percent` of it, due `days` after the issue date."""

    percent: Decimal
    days: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "percent", _percent(self.percent, "instalments"))
        _days(self.days, "instalments")
        if self.percent <= 0 or self.percent > HUNDRED:
            raise _refuse(N_("Each instalment must be more than 0% and at most 100%."),
                          "instalments")


@dataclass(frozen=True)
class Due:
    """One payment of a schedule: the date, the amount and its share of the whole."""

    due_on: date
    amount: Decimal
    percent: Decimal


@dataclass(frozen=True)
class EarlyPayment:
    """Paying by `pay_by` earns `discount`: `amount` settles the invoice then."""

    pay_by: date
    discount: Decimal
    amount: Decimal


@dataclass(frozen=True)
class PaymentTerms:
    """Agreed payment terms; build with `net`, `end_of_month`, `early_discount` or
    `in_instalments` (each raises InvalidTerms for terms out of range).

    `days` is the net term (for instalments: the last instalment's days). For `discount`,
    `discount_percent` % off within `discount_days`. For `instalments`, the parts in order.
    """

    kind: TermsKind
    days: int = 30
    discount_percent: Decimal | None = None
    discount_days: int | None = None
    instalments: tuple[Instalment, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", TermsKind(self.kind))
        if self.kind == TermsKind.INSTALMENTS:
            self._check_instalments()
            object.__setattr__(self, "days", self.instalments[-1].days)
        else:
            _days(self.days)
            if self.instalments:
                raise _refuse(N_("Only instalment terms have instalments."))
        if self.kind == TermsKind.DISCOUNT:
            self._check_discount()
        elif self.discount_percent is not None or self.discount_days is not None:
            raise _refuse(N_("Only discount terms have a discount."))

    def _check_discount(self) -> None:
        percent = _percent(self.discount_percent, "discount_percent")
        if not 0 < percent < HUNDRED:
            raise _refuse(N_("Enter a discount of more than 0% and less than 100%."),
                          "discount_percent")
        object.__setattr__(self, "discount_percent", percent)
        within = self.discount_days
        if isinstance(within, bool) or not isinstance(within, int) or not 0 <= within < self.days:
            raise _refuse(
                N_("The discount period must be 0 days or more and shorter than the payment "
                   "term."),
                "discount_days",
            )

    def _check_instalments(self) -> None:
        parts = tuple(self.instalments)
        if not parts:
            raise _refuse(N_("Give at least one instalment."), "instalments")
        if len(parts) > MAX_INSTALMENTS:
            raise _refuse(N_("Terms may have at most 12 instalments."), "instalments")
        if any(not isinstance(p, Instalment) for p in parts):
            raise TypeError("instalments are Instalment objects")
        if any(b.days <= a.days for a, b in zip(parts, parts[1:], strict=False)):
            raise _refuse(N_("Each instalment is due later than the one before."), "instalments")
        if sum(p.percent for p in parts) != HUNDRED:
            raise _refuse(N_("The instalments must add up to 100%."), "instalments")
        object.__setattr__(self, "instalments", parts)

    # --- building ---------------------------------------------------------------------------

    @classmethod
    def net(cls, days: int) -> PaymentTerms:
        """Due `days` calendar days after the issue date."""
        return cls(TermsKind.NET, days)

    @classmethod
    def end_of_month(cls, days: int) -> PaymentTerms:
        """Due `days` after the last day of the issue month."""
        return cls(TermsKind.END_OF_MONTH, days)

    @classmethod
    def early_discount(cls, percent: Decimal, within_days: int, net_days: int) -> PaymentTerms:
        """Net `net_days`, or `percent` % off when paid within `within_days` (< net_days)."""
        return cls(TermsKind.DISCOUNT, net_days, discount_percent=percent,
                   discount_days=within_days)

    @classmethod
    def in_instalments(cls, parts: Iterable[tuple[Decimal, int] | Instalment]) -> PaymentTerms:
        """Instalments of (percent, days) in date order; the percentages add up to 100."""
        instalments = tuple(
            p if isinstance(p, Instalment) else Instalment(*p) for p in parts
        )
        return cls(TermsKind.INSTALMENTS, 0, instalments=instalments)

    # --- dates and amounts ------------------------------------------------------------------

    def due_date(self, issued: date) -> date:
        """The (last) due date of an invoice issued on `issued`."""
        if self.kind == TermsKind.END_OF_MONTH:
            return end_of_month(issued) + timedelta(days=self.days)
        return issued + timedelta(days=self.days)

    def discount_date(self, issued: date) -> date | None:
        """The last day the early-payment discount applies; None without a discount."""
        if self.kind != TermsKind.DISCOUNT:
            return None
        return issued + timedelta(days=self.discount_days)

    def early_payment(self, issued: date, amount: Decimal,
                      currency: str = "PLN") -> EarlyPayment | None:
        """Date, discount (half-up) and amount to pay early; None without a discount."""
        if self.kind != TermsKind.DISCOUNT:
            return None
        amount = round_money(amount, currency)
        discount = round_money(amount * self.discount_percent / HUNDRED, currency)
        return EarlyPayment(self.discount_date(issued), discount, amount - discount)

    def schedule(self, issued: date, amount: Decimal, currency: str = "PLN") -> tuple[Due, ...]:
        """What is due when: one payment, or one per instalment.

        Each instalment is its percentage of `amount` rounded half-up to the minor unit; the
        last takes the remainder, so the parts always add up to the (rounded) amount.
        """
        amount = round_money(amount, currency)
        if self.kind != TermsKind.INSTALMENTS:
            return (Due(self.due_date(issued), amount, HUNDRED),)
        dues = []
        rest = amount
        for part in self.instalments[:-1]:
            share = round_money(amount * part.percent / HUNDRED, currency)
            rest -= share
            dues.append(Due(issued + timedelta(days=part.days), share, part.percent))
        last = self.instalments[-1]
        dues.append(Due(issued + timedelta(days=last.days), rest, last.percent))
        return tuple(dues)

    # --- storing and showing ----------------------------------------------------------------

    def to_json(self) -> dict:
        """The stored form: `{"kind": "net", "days": 30}`; percentages as strings."""
        if self.kind == TermsKind.INSTALMENTS:
            return {
                "kind": self.kind.value,
                "instalments": [{"percent": str(p.percent), "days": p.days}
                                for p in self.instalments],
            }
        data = {"kind": self.kind.value, "days": self.days}
        if self.kind == TermsKind.DISCOUNT:
            data["discount_percent"] = str(self.discount_percent)
            data["discount_days"] = self.discount_days
        return data

    @classmethod
    def from_json(cls, data: object) -> PaymentTerms:
        """Terms from their stored form; InvalidTerms for anything else."""
        try:
            kind = TermsKind(data["kind"])
            if kind == TermsKind.INSTALMENTS:
                return cls.in_instalments(
                    (_stored_percent(p["percent"]), p["days"]) for p in data["instalments"]
                )
            if kind == TermsKind.DISCOUNT:
                return cls.early_discount(_stored_percent(data["discount_percent"]),
                                          data["discount_days"], data["days"])
            return cls(kind, data["days"])
        except InvalidTerms:
            raise
        except (KeyError, TypeError, ValueError, InvalidOperation):
            raise _refuse(N_("These are not payment terms.")) from None

    def label(self) -> Msg:
        """A short description for people: "net 30 days", "2% discount within 10 days, …"."""
        if self.kind == TermsKind.NET:
            return Msg(N_("net %(days)s days"), {"days": self.days})
        if self.kind == TermsKind.END_OF_MONTH:
            return Msg(N_("end of month + %(days)s days"), {"days": self.days})
        if self.kind == TermsKind.DISCOUNT:
            return Msg(
                N_("%(percent)s%% discount within %(discount_days)s days, net %(days)s days"),
                {"percent": _percent_param(self.discount_percent),
                 "discount_days": self.discount_days, "days": self.days},
            )
        # A list joined by commas in every language: the parts are translated, the joint not.
        parts = {
            f"p{i}": Msg(N_("%(percent)s%% after %(days)s days"),
                         {"percent": _percent_param(p.percent), "days": p.days})
            for i, p in enumerate(self.instalments)
        }
        joined = Msg(", ".join(f"%({key})s" for key in parts), parts)
        return Msg(N_("in instalments: %(parts)s"), {"parts": joined})


def _stored_percent(value: object) -> Decimal:
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise TypeError("a stored percentage is a string")
    return Decimal(value)


NET_30 = PaymentTerms.net(30)


def end_of_month(day: date) -> date:
    """The last day of `day`'s month (29 February in a leap year)."""
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


_PAIR = r"(\d+(?:[.,]\d+)?)\s*%?\s*/\s*(\d+)"
_INSTALMENTS = re.compile(rf"\s*{_PAIR}(?:\s*[;,]\s*{_PAIR})*\s*[;,]?\s*", re.ASCII)


def parse_instalments(text: str) -> tuple[Instalment, ...]:
    """Instalments typed as `percent/days` pairs: `50/30, 50/60` or `33,33/30; 66,67/60`.

    Days are whole, so a comma after them separates pairs; a comma inside a percentage is a
    Polish decimal comma. Raises InvalidTerms for anything else; the sum is checked by the terms.
    """
    text = text or ""
    if len(text) > 500 or not _INSTALMENTS.fullmatch(text):
        raise _refuse(N_("Write each instalment as percent/days, e.g. 50/30, 50/60."),
                      "instalments")
    return tuple(
        Instalment(Decimal(percent.replace(",", ".")), int(days))
        for percent, days in re.findall(_PAIR, text, re.ASCII)
    )


def format_instalments(parts: Iterable[Instalment]) -> str:
    """`50/30, 50/60`: what `parse_instalments` reads."""
    return ", ".join(f"{p.percent}/{p.days}" for p in parts)
