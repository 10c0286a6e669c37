"""Price agreements: which agreed price applies to an item on a day and for a quantity.

Pure Python. An agreement is a unit price a buyer negotiated with one supplier for one catalog
item, in one currency, valid from a day to a day (or open-ended), optionally with quantity
tiers: from `min_qty` on, the tier's unit price applies instead of the base price. Messages are
`Msg`s, translated by whoever shows them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Protocol

from portal.domain.messages import N_, Msg

PRICE_PLACES = 4
QTY_PLACES = 3
# UnitPrice is NUMERIC(18, 4), Quantity NUMERIC(12, 3).
PRICE_MAX = Decimal(10) ** 14
QTY_MAX = Decimal(10) ** 9
MAX_TIERS = 5
LEAD_TIME_MAX = 999
PART_NUMBER_MAX = 60


class AgreementProblem(ValueError):
    """A rule an agreement's values break; `field` names the form field it belongs to."""

    def __init__(self, msg: Msg, field: str | None = None):
        super().__init__(str(msg))
        self.msg = msg
        self.field = field


@dataclass(frozen=True)
class Tier:
    """From `min_qty` units on, each unit costs `unit_price`."""

    min_qty: Decimal
    unit_price: Decimal

    def to_json(self) -> list[str]:
        # Strings: JSON numbers would come back as floats.
        return [str(self.min_qty), str(self.unit_price)]

    @classmethod
    def from_json(cls, value) -> Tier:
        qty, price = value
        return cls(Decimal(qty), Decimal(price))


class Priced(Protocol):
    """What the rules read of an agreement (a model row or a plain test object)."""

    unit_price: Decimal
    currency: str
    valid_from: date
    valid_to: date | None

    @property
    def tier_list(self) -> list[Tier]: ...


def _places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def check_price(value, field: str = "unit_price") -> Decimal:
    """A unit price: more than zero, at most 4 decimal places, fits the column."""
    if not isinstance(value, Decimal) or not value.is_finite():
        raise AgreementProblem(Msg(N_("Enter the price.")), field)
    if value <= 0:
        raise AgreementProblem(Msg(N_("The price must be more than zero.")), field)
    if value >= PRICE_MAX:
        raise AgreementProblem(Msg(N_("The price is too large.")), field)
    if _places(value) > PRICE_PLACES:
        raise AgreementProblem(
            Msg(N_("A price has at most %(places)s decimal places."), {"places": PRICE_PLACES}), field)
    return value


def check_tiers(tiers: list[Tier], base_price: Decimal) -> list[Tier]:
    """Tiers sorted by quantity: each minimum quantity above 1 and above the previous one, each
    price more than zero. Raises AgreementProblem (field `tiers`) otherwise."""
    if len(tiers) > MAX_TIERS:
        raise AgreementProblem(Msg(N_("At most %(max)s quantity tiers."), {"max": MAX_TIERS}), "tiers")
    previous = Decimal(1)
    for tier in tiers:
        qty = tier.min_qty
        if not isinstance(qty, Decimal) or not qty.is_finite() or qty >= QTY_MAX:
            raise AgreementProblem(Msg(N_("Enter the quantity from which a tier applies.")), "tiers")
        if _places(qty) > QTY_PLACES:
            raise AgreementProblem(
                Msg(N_("A quantity has at most %(places)s decimal places."), {"places": QTY_PLACES}),
                "tiers")
        if qty <= previous:
            raise AgreementProblem(Msg(N_(
                "Tier quantities must be more than 1 and go up from tier to tier.")), "tiers")
        check_price(tier.unit_price, "tiers")
        previous = qty
    return list(tiers)


def check_dates(valid_from: date | None, valid_to: date | None) -> None:
    """A start day, and an end day (if any) not before it."""
    if valid_from is None:
        raise AgreementProblem(Msg(N_("Enter the first day of validity.")), "valid_from")
    if valid_to is not None and valid_to < valid_from:
        raise AgreementProblem(Msg(N_("The end cannot be before the start.")), "valid_to")


def check_lead_time(days: int | None) -> None:
    if days is not None and not 0 <= days <= LEAD_TIME_MAX:
        raise AgreementProblem(
            Msg(N_("Enter a lead time from 0 to %(max)s days."), {"max": LEAD_TIME_MAX}),
            "lead_time_days")


def is_valid_on(agreement: Priced, day: date) -> bool:
    """Does the agreement apply on `day` (both ends inclusive)?"""
    return agreement.valid_from <= day and (agreement.valid_to is None or day <= agreement.valid_to)


def state_on(agreement: Priced, day: date) -> str:
    """`future`, `valid` or `expired` on `day`."""
    if day < agreement.valid_from:
        return "future"
    if agreement.valid_to is not None and agreement.valid_to < day:
        return "expired"
    return "valid"


def price_for(agreement: Priced, quantity: Decimal = Decimal(1)) -> Decimal:
    """The unit price for `quantity`: the tier with the highest minimum the quantity reaches,
    else the base price."""
    price = agreement.unit_price
    for tier in sorted(agreement.tier_list, key=lambda t: t.min_qty):
        if quantity >= tier.min_qty:
            price = tier.unit_price
    return price


def overlaps(a_from: date, a_to: date | None, b_from: date, b_to: date | None) -> bool:
    """Do two validity periods (open-ended when the end is None) share a day?"""
    return (a_to is None or b_from <= a_to) and (b_to is None or a_from <= b_to)


def applicable(agreements, day: date, quantity: Decimal = Decimal(1), currency: str | None = None):
    """The agreement that applies for an item on `day` and `quantity`: among those valid that
    day (in `currency` when given), the lowest unit price for the quantity; equal prices go to
    the agreement that started first, then the lowest id. None when none applies."""
    best, best_key = None, None
    for agreement in agreements:
        if not is_valid_on(agreement, day):
            continue
        if currency is not None and agreement.currency != currency:
            continue
        key = (price_for(agreement, quantity), agreement.valid_from, getattr(agreement, "id", 0) or 0)
        if best_key is None or key < best_key:
            best, best_key = agreement, key
    return best


def end_day(agreement: Priced, today: date) -> date:
    """The last day of an agreement ended `today`: it still applies today. Raises
    AgreementProblem when it has not started (change its dates instead) or has already ended."""
    if today < agreement.valid_from:
        raise AgreementProblem(Msg(N_(
            "This agreement has not started yet: change its dates instead of ending it.")))
    if agreement.valid_to is not None and agreement.valid_to <= today:
        raise AgreementProblem(Msg(N_("This agreement has already ended.")))
    return today
