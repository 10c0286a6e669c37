"""Purchase order rules: the state machine, who makes each move, totals by VAT code, numbers.

    issued ─ acknowledge ─▶ acknowledged ─ receive ─▶ partially_received ─ receive ─▶ received ─ close ─▶ closed
       │  ▲                    │                                                    ▲
       │  └──── revise ────────┘ (a numbered revision the supplier acknowledges again)
       └─ cancel (issued or acknowledged: before any delivery) ─▶ cancelled

The supplier acknowledges the current revision or proposes another delivery date; the buyer
accepts the proposal (a revision with the new date, agreed by the supplier who proposed it) or
refuses it (the order stays as it was), cancels, revises and closes. Receiving (goods receipts)
moves an order to partially received or received.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from portal.domain.messages import N_, Msg
from portal.domain.vat import VatSummary, line_net, line_vat, totals_by_code, vat_code


class OrderStatus(StrEnum):
    # The same values as portal.models.order.OrderStatus (the domain imports no models).
    ISSUED = "issued"
    ACKNOWLEDGED = "acknowledged"
    PARTIALLY_RECEIVED = "partially_received"
    RECEIVED = "received"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class Action(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    PROPOSE_DATE = "propose_date"
    ACCEPT_PROPOSAL = "accept_proposal"
    REFUSE_PROPOSAL = "refuse_proposal"
    CANCEL = "cancel"
    REVISE = "revise"
    RECEIVE_PART = "receive_part"  # a receipt that leaves something to deliver
    RECEIVE_ALL = "receive_all"    # a receipt after which every line is delivered
    CLOSE = "close"


class Party(StrEnum):
    BUYER = "buyer"
    SUPPLIER = "supplier"


S, A = OrderStatus, Action
# (from, action) -> to. Anything not listed is refused.
TRANSITIONS: dict[tuple[OrderStatus, Action], OrderStatus] = {
    (S.ISSUED, A.ACKNOWLEDGE): S.ACKNOWLEDGED,
    (S.ISSUED, A.PROPOSE_DATE): S.ISSUED,
    (S.ACKNOWLEDGED, A.PROPOSE_DATE): S.ACKNOWLEDGED,
    # The supplier proposed the date: the revision that carries it is the one it agreed to.
    (S.ISSUED, A.ACCEPT_PROPOSAL): S.ACKNOWLEDGED,
    (S.ACKNOWLEDGED, A.ACCEPT_PROPOSAL): S.ACKNOWLEDGED,
    (S.ISSUED, A.REFUSE_PROPOSAL): S.ISSUED,
    (S.ACKNOWLEDGED, A.REFUSE_PROPOSAL): S.ACKNOWLEDGED,
    (S.ISSUED, A.CANCEL): S.CANCELLED,
    (S.ACKNOWLEDGED, A.CANCEL): S.CANCELLED,
    (S.ISSUED, A.REVISE): S.ISSUED,
    (S.ACKNOWLEDGED, A.REVISE): S.ISSUED,
    # Goods may arrive before the supplier clicked "acknowledge": the delivery says enough.
    (S.ISSUED, A.RECEIVE_PART): S.PARTIALLY_RECEIVED,
    (S.ACKNOWLEDGED, A.RECEIVE_PART): S.PARTIALLY_RECEIVED,
    (S.PARTIALLY_RECEIVED, A.RECEIVE_PART): S.PARTIALLY_RECEIVED,
    (S.ISSUED, A.RECEIVE_ALL): S.RECEIVED,
    (S.ACKNOWLEDGED, A.RECEIVE_ALL): S.RECEIVED,
    (S.PARTIALLY_RECEIVED, A.RECEIVE_ALL): S.RECEIVED,
    (S.RECEIVED, A.CLOSE): S.CLOSED,
}
MOVERS: dict[Action, Party] = {
    A.ACKNOWLEDGE: Party.SUPPLIER,
    A.PROPOSE_DATE: Party.SUPPLIER,
    A.ACCEPT_PROPOSAL: Party.BUYER,
    A.REFUSE_PROPOSAL: Party.BUYER,
    A.CANCEL: Party.BUYER,
    A.REVISE: Party.BUYER,
    A.RECEIVE_PART: Party.BUYER,
    A.RECEIVE_ALL: Party.BUYER,
    A.CLOSE: Party.BUYER,
}
# Before any delivery: what cancel and revise need.
OPEN_FOR_CHANGE = frozenset({S.ISSUED, S.ACKNOWLEDGED})
# Orders still to be delivered (the buyer's "to receive" list).
TO_RECEIVE = (S.ACKNOWLEDGED, S.PARTIALLY_RECEIVED)
# Orders the supplier still works on.
OPEN = (S.ISSUED, S.ACKNOWLEDGED, S.PARTIALLY_RECEIVED)
TERMINAL = frozenset({S.CLOSED, S.CANCELLED})

REFUSALS: dict[Action, str] = {
    A.ACKNOWLEDGE: N_("Only an order waiting for acknowledgement can be acknowledged; this one is %(status)s."),
    A.PROPOSE_DATE: N_("Another delivery date can be proposed only before delivery; this order is %(status)s."),
    A.ACCEPT_PROPOSAL: N_("This order is %(status)s: a proposed date can no longer be accepted."),
    A.REFUSE_PROPOSAL: N_("This order is %(status)s: a proposed date can no longer be refused."),
    A.CANCEL: N_("Only an order nothing has been delivered for can be cancelled; this one is %(status)s."),
    A.REVISE: N_("Only an order nothing has been delivered for can be revised; this one is %(status)s."),
    A.RECEIVE_PART: N_("Goods cannot be received for an order that is %(status)s."),
    A.RECEIVE_ALL: N_("Goods cannot be received for an order that is %(status)s."),
    A.CLOSE: N_("Only a fully received order can be closed; this one is %(status)s."),
}


# The status as a word inside a sentence ("this one is cancelled"), and as a label with its
# badge colour for lists and pills (the edge translates them when it shows them).
STATUS_WORDS = {
    S.ISSUED: N_("waiting for acknowledgement"),
    S.ACKNOWLEDGED: N_("acknowledged"),
    S.PARTIALLY_RECEIVED: N_("partially received"),
    S.RECEIVED: N_("received"),
    S.CLOSED: N_("closed"),
    S.CANCELLED: N_("cancelled"),
}
STATUS_LABELS = {
    S.ISSUED: (N_("Issued"), "warn"),
    S.ACKNOWLEDGED: (N_("Acknowledged"), "ok"),
    S.PARTIALLY_RECEIVED: (N_("Partially received"), "info"),
    S.RECEIVED: (N_("Received"), "ok"),
    S.CLOSED: (N_("Closed"), "neutral"),
    S.CANCELLED: (N_("Cancelled"), "muted"),
}


def status_word(status) -> Msg:
    """The order status as a lower-case word in a sentence."""
    return Msg(STATUS_WORDS.get(OrderStatus(status), str(status)))


class OrderRefused(Exception):
    """A move the order's status does not allow; `msg` is for the user (status as a code)."""

    def __init__(self, msg: Msg):
        super().__init__(str(msg))
        self.msg = msg


def refused(status, action: Action) -> Msg:
    """The message for a move `status` does not allow (`status` as its code: the service puts
    the reader's word in)."""
    return Msg(REFUSALS[Action(action)], {"status": str(status)})


def next_status(status, action: Action) -> OrderStatus:
    """The status after `action`, or OrderRefused when the table has no such move."""
    try:
        return TRANSITIONS[(OrderStatus(status), Action(action))]
    except KeyError:
        raise OrderRefused(refused(status, action)) from None


def allows(status, action: Action) -> bool:
    return (OrderStatus(status), Action(action)) in TRANSITIONS


def allowed_actions(status, party: Party | None = None) -> set[Action]:
    """The moves the table allows from `status` (only `party`'s when given)."""
    return {a for (s, a) in TRANSITIONS if s == OrderStatus(status)
            and (party is None or MOVERS[a] == party)}


def after_receipt(status, *, everything_received: bool) -> OrderStatus:
    """The status after a goods receipt: received when every line is delivered, else
    partially received. OrderRefused for a closed, cancelled or already received order."""
    return next_status(status, A.RECEIVE_ALL if everything_received else A.RECEIVE_PART)


def needs_acknowledgement(status, revision: int, acknowledged_revision: int | None) -> bool:
    """Is the supplier asked to acknowledge (the current revision not acknowledged yet)?"""
    return OrderStatus(status) == S.ISSUED and acknowledged_revision != revision


# ---------------------------------------------------------------- totals


# Freight and other charges carried onto an order have no VAT code of their own.
FREIGHT_CODE = "23"


@dataclass(frozen=True)
class LineAmounts:
    net: Decimal
    vat: Decimal
    gross: Decimal
    rate: Decimal


def line_amounts(quantity: Decimal, unit_price: Decimal, code: str, currency: str = "PLN") -> LineAmounts:
    """One line: net = quantity × unit price rounded half-up; its VAT at the code's rate (shown
    per line; the document's VAT is computed per code by `order_totals`)."""
    net = line_net(quantity, unit_price, currency)
    vat = line_vat(net, code, currency)
    return LineAmounts(net, vat, net + vat, vat_code(code).rate)


def order_totals(lines: Iterable[tuple[str, Decimal]], *, freight: Decimal = Decimal(0),
                 currency: str = "PLN") -> VatSummary:
    """Totals of an order the invoice way: (code, rounded net) per line, plus the freight at
    23 %; per code the nets are summed and the VAT computed once, rounded half-up."""
    pairs = list(lines)
    if freight:
        pairs.append((FREIGHT_CODE, freight))
    return totals_by_code(pairs, currency)


# ---------------------------------------------------------------- numbers


NUMBER_KIND = "PO"


def format_number(year: int, seq: int) -> str:
    """`PO/2026/00001`: five digits at least, more when needed (never cut)."""
    if seq < 1:
        raise ValueError("an order number starts at 1")
    return f"PO/{year}/{seq:05d}"


# ---------------------------------------------------------------- input checks


MAX_LINES = 300
MAX_NOTE = 2000


def line_problem(quantity, unit_price, description: str, code: str) -> Msg | None:
    """Why an order line cannot be written, or None."""
    if not (description or "").strip():
        return Msg(N_("Every line needs a description."))
    if quantity is None or quantity <= 0:
        return Msg(N_("A quantity must be more than zero."))
    if unit_price is None or unit_price <= 0:
        return Msg(N_("A unit price must be more than zero."))
    try:
        vat_code(code)
    except ValueError:
        return Msg(N_("Unknown VAT code: %(code)s."), {"code": str(code)})
    return None
