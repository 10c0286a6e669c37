"""Requisition rules: the state machine, line and document totals, numbering."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from portal.domain.messages import N_, Msg
from portal.domain.vat import line_net, vat_at_rate


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
    # Sourcing moves, made by the RFQ and order services (never by hand):
    SOURCE = "source"        # lines put on an RFQ
    UNSOURCE = "unsource"    # that RFQ cancelled (or the lines taken off it) before any order
    ORDER = "order"          # purchase orders issued for its lines (from an award or agreements)
    CLOSE = "close"          # every ordered line received


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
    (S.APPROVED, Action.SOURCE): S.SOURCING,
    (S.SOURCING, Action.UNSOURCE): S.APPROVED,
    (S.ORDERED, Action.UNSOURCE): S.APPROVED,  # every order of it cancelled before delivery
    (S.APPROVED, Action.ORDER): S.ORDERED,
    (S.SOURCING, Action.ORDER): S.ORDERED,
    (S.ORDERED, Action.CLOSE): S.CLOSED,
}
# The moves the sourcing services make as RFQs and orders progress (tested with them).
SOURCING_MOVES = frozenset({Action.SOURCE, Action.UNSOURCE, Action.ORDER, Action.CLOSE})
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
        raise TransitionRefused(refused_transition(status, action)) from None


class Party(StrEnum):
    """How an actor stands to a requisition, for the moves made by hand."""

    REQUESTER = "requester"
    ADMIN = "admin"


# Who makes each move by hand; approve, reject and return are made through approval tasks
# (portal.policies.approvals), never directly.
MOVERS: dict[Action, Party] = {
    Action.SUBMIT: Party.REQUESTER,
    Action.CANCEL: Party.REQUESTER,
    Action.ADMIN_CANCEL: Party.ADMIN,
}
# What the actor hears when the status allows the move but they are not the one to make it.
NOT_THE_MOVER: dict[Action, str] = {
    Action.SUBMIT: N_("Only the requester can submit this requisition."),
    Action.CANCEL: N_("Only the requester can cancel this requisition."),
    Action.ADMIN_CANCEL: N_("Only an admin can cancel an approved requisition."),
}
# The cancel rule, whole: the requester cancels a draft or pending requisition, an admin an
# approved one (releasing its budget). Both moves lead to CANCELLED in TRANSITIONS.
CANCEL_MOVES = (Action.CANCEL, Action.ADMIN_CANCEL)


def allowed_actions(status: RequisitionStatus, parties=None) -> set[Action]:
    """The moves the table allows from `status`; with `parties`, only those these parties make.

    `parties` is the set of `Party` the actor is to the requisition (requester, admin, both).
    """
    actions = {action for (source, action) in TRANSITIONS if source == status}
    if parties is None:
        return actions
    return {action for action in actions if MOVERS.get(action) in set(parties)}


def cancel_move(status: RequisitionStatus) -> Action | None:
    """The cancel move the table allows from `status` (whoever makes it), or None."""
    return next((a for a in CANCEL_MOVES if a in allowed_actions(status)), None)


def refused_transition(status, action: Action) -> Msg:
    """The table's message for a move `status` does not allow."""
    return Msg(
        N_("A %(status)s requisition cannot be changed this way (%(action)s)."),
        {"status": str(status), "action": str(action)},
    )


@dataclass(frozen=True)
class LineTotals:
    net: Decimal
    vat: Decimal
    gross: Decimal


def line_totals(quantity: Decimal, unit_price: Decimal, vat_rate: Decimal) -> LineTotals:
    """Net = qty × price and VAT = net × rate, each rounded half-up to the grosz/cent.

    Document totals are sums of these rounded lines (the per-line method of domain/vat.py), so
    a printed requisition always adds up. The product is exact: see `vat.line_net`.
    """
    net = line_net(quantity, unit_price)
    vat = vat_at_rate(net, vat_rate)
    return LineTotals(net, vat, net + vat)


def document_totals(lines) -> LineTotals:
    """Sum already-rounded line totals."""
    net = sum((line.net for line in lines), Decimal("0.00"))
    vat = sum((line.vat for line in lines), Decimal("0.00"))
    return LineTotals(net, vat, net + vat)


def format_number(prefix: str, year: int, seq: int) -> str:
    """`REQ-2026-00042`."""
    return f"{prefix}-{year}-{seq:05d}"
