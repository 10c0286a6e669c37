"""Requisition rules: the state machine, line and document totals, numbering."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from enum import StrEnum

from portal.domain.messages import N_, Msg


class RequisitionStatus(StrEnum):
    DRAFT = "draft"
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    SOURCING = "sourcing"
    ORDERED = "ordered"
    CLOSED = "closed"


class Action(StrEnum):
    SUBMIT = "submit"
    APPROVE = "approve"
    REJECT = "reject"
    RETURN = "return"
    CANCEL = "cancel"
    ADMIN_CANCEL = "admin_cancel"


S = RequisitionStatus
# (from, action) -> to. Anything not listed is refused.
TRANSITIONS: dict[tuple[RequisitionStatus, Action], RequisitionStatus] = {
    (S.DRAFT, Action.SUBMIT): S.PENDING,
    (S.PENDING, Action.APPROVE): S.APPROVED,
    (S.PENDING, Action.REJECT): S.REJECTED,
    (S.PENDING, Action.RETURN): S.DRAFT,
    (S.DRAFT, Action.CANCEL): S.CANCELLED,
    (S.PENDING, Action.CANCEL): S.CANCELLED,
    (S.APPROVED, Action.ADMIN_CANCEL): S.CANCELLED,
}
EDITABLE = frozenset({S.DRAFT})
TERMINAL = frozenset({S.REJECTED, S.CANCELLED, S.CLOSED})


class TransitionRefused(Exception):
    """An action the requisition's status does not allow; `msg` is for the user."""

    def __init__(self, msg: Msg):
        super().__init__(str(msg))
        self.msg = msg


def next_status(status: RequisitionStatus, action: Action) -> RequisitionStatus:
    """The status after `action`, or TransitionRefused when the table has no such move."""
    try:
        return TRANSITIONS[(RequisitionStatus(status), Action(action))]
    except KeyError:
        raise TransitionRefused(
            Msg(
                N_("A %(status)s requisition cannot be changed this way (%(action)s)."),
                {"status": str(status), "action": str(action)},
            )
        ) from None


def allowed_actions(status: RequisitionStatus) -> set[Action]:
    return {action for (source, action) in TRANSITIONS if source == status}


CENT = Decimal("0.01")


def _half_up(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class LineTotals:
    net: Decimal
    vat: Decimal
    gross: Decimal


def line_totals(quantity: Decimal, unit_price: Decimal, vat_rate: Decimal) -> LineTotals:
    """Net = qty × price and VAT = net × rate, each rounded half-up to the grosz/cent.

    Document totals are sums of these rounded lines, so a printed document always adds up.
    The arithmetic runs with 60 significant digits: the default 28 would round a large product
    once before the half-up rounding to the grosz (a double rounding that can be off by 0.01).
    """
    with localcontext(prec=60):
        net = _half_up(Decimal(quantity) * Decimal(unit_price))
        vat = _half_up(net * Decimal(vat_rate) / Decimal(100))
        return LineTotals(net, vat, net + vat)


def document_totals(lines) -> LineTotals:
    """Sum already-rounded line totals."""
    net = sum((line.net for line in lines), Decimal("0.00"))
    vat = sum((line.vat for line in lines), Decimal("0.00"))
    return LineTotals(net, vat, net + vat)


def format_number(prefix: str, year: int, seq: int) -> str:
    """`REQ-2026-00042`."""
    return f"{prefix}-{year}-{seq:05d}"
