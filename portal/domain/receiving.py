"""Goods receipt rules: what a delivery may record against a purchase order, and the order's
status after it.

A receipt records per order line the quantity that arrived and the part of it refused at the
door (damaged, wrong item), with a reason. What is kept (`accepted` = received − rejected) counts
against the order: never more than is still open (ordered − accepted so far), so an order can
never be over-received. Rejected goods do not count: the supplier still owes them.

Pure rules over plain values (no models): the service reads the order's lines into `LineState`s
and the form's inputs into `ReceiptLineInput`s.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from portal.domain.messages import N_, Msg

ZERO = Decimal(0)
NOTE_MAX = 2000
REASON_MAX = 500

# Order statuses (the values of portal.models.order.OrderStatus; the domain imports no models).
ISSUED = "issued"
ACKNOWLEDGED = "acknowledged"
PARTIALLY_RECEIVED = "partially_received"
RECEIVED = "received"
# Goods may arrive before the supplier has acknowledged the order: a warehouse takes them in
# rather than send the truck back, so an issued order receives too.
RECEIVABLE = frozenset({ISSUED, ACKNOWLEDGED, PARTIALLY_RECEIVED})

_REFUSED = {
    RECEIVED: N_("This order is fully received: there is nothing left to receive."),
    "closed": N_("This order is closed: no more goods can be received on it."),
    "cancelled": N_("This order is cancelled: goods cannot be received on it."),
}


@dataclass(frozen=True)
class LineState:
    """An order line as it stands: ordered and accepted so far."""

    line_id: int
    position: int
    description: str
    ordered: Decimal
    accepted: Decimal = ZERO
    unit: str = "pcs"

    @property
    def open(self) -> Decimal:
        """What the supplier still owes on this line."""
        return max(self.ordered - self.accepted, ZERO)


@dataclass(frozen=True)
class ReceiptLineInput:
    """What one order line's delivery brought: received, of it rejected, and why."""

    quantity: Decimal = ZERO
    rejected_quantity: Decimal = ZERO
    reject_reason: str = ""

    def __post_init__(self):
        # A form's empty field arrives as None or 0: the rules compute in Decimal only.
        for name in ("quantity", "rejected_quantity"):
            object.__setattr__(self, name, Decimal(getattr(self, name) or 0))
        object.__setattr__(self, "reject_reason", self.reject_reason or "")

    @property
    def accepted(self) -> Decimal:
        return self.quantity - self.rejected_quantity

    @property
    def empty(self) -> bool:
        return not self.quantity and not self.rejected_quantity


@dataclass(frozen=True)
class Problem:
    """One broken rule: the line (None for the whole receipt), the field, and the message."""

    line_id: int | None
    field: str | None
    msg: Msg


class ReceiptRefused(ValueError):
    """The receipt breaks one or more rules; `problems` says each, beside its field."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(str(p.msg) for p in problems))
        self.problems = problems


def receivable(status: str) -> Msg | None:
    """None when an order in `status` may receive goods, else why not."""
    if str(status) in RECEIVABLE:
        return None
    return Msg(_REFUSED.get(str(status), N_("This order cannot receive goods in its state.")))


def check_date(received_on: date | None, *, today: date, issued_on: date | None = None) -> Msg | None:
    """The receipt's date: given, not in the future, not before the order was issued."""
    if received_on is None:
        return Msg(N_("Enter the date the goods arrived."))
    if received_on > today:
        return Msg(N_("The goods cannot arrive in the future: enter today's date or an earlier one."))
    if issued_on is not None and received_on < issued_on:
        return Msg(N_("The order was issued on %(date)s: goods cannot be received before that."),
                   {"date": issued_on})
    return None


def plain(quantity: Decimal) -> Decimal | int:
    """A quantity for a message: a whole number as an int (reads 5, not 5.00)."""
    quantity = Decimal(quantity)
    if quantity == quantity.to_integral_value():
        return int(quantity)
    return quantity.normalize()


def line_problems(line: LineState, entry: ReceiptLineInput) -> list[Problem]:
    """What is wrong with one line's entry (an empty list when nothing)."""
    problems = []
    if entry.quantity < 0:
        problems.append(Problem(line.line_id, "quantity",
                                Msg(N_("The received quantity cannot be negative."))))
    if entry.rejected_quantity < 0:
        problems.append(Problem(line.line_id, "rejected_quantity",
                                Msg(N_("The rejected quantity cannot be negative."))))
    elif entry.rejected_quantity > max(entry.quantity, ZERO):
        problems.append(Problem(line.line_id, "rejected_quantity", Msg(
            N_("At most the received quantity (%(received)s) can be rejected."),
            {"received": plain(max(entry.quantity, ZERO))})))
    if entry.rejected_quantity > 0 and not entry.reject_reason.strip():
        problems.append(Problem(line.line_id, "reject_reason",
                                Msg(N_("Say why the goods were rejected."))))
    if len(entry.reject_reason) > REASON_MAX:
        problems.append(Problem(line.line_id, "reject_reason",
                                Msg(N_("At most %(max)s characters."), {"max": REASON_MAX})))
    if not problems and entry.accepted > line.open:
        problems.append(Problem(line.line_id, "quantity", Msg(
            N_("Line %(position)s: only %(open)s still open, %(accepted)s cannot be accepted. "
               "Reject the excess or correct the quantity."),
            {"position": line.position, "open": plain(line.open), "accepted": plain(entry.accepted)})))
    return problems


def check_receipt(lines: Iterable[LineState], entries: Mapping[int, ReceiptLineInput], *,
                  note: str = "") -> dict[int, ReceiptLineInput]:
    """The entries worth recording (lines with a quantity), after every rule holds.

    Raises ReceiptRefused with each problem: an entry for a line not on the order, a negative
    quantity, a rejection above what arrived or without a reason, more accepted than is still
    open (over-receipt), or nothing received at all.
    """
    by_id = {line.line_id: line for line in lines}
    problems: list[Problem] = []
    kept: dict[int, ReceiptLineInput] = {}
    for line_id, entry in entries.items():
        line = by_id.get(line_id)
        if line is None:
            problems.append(Problem(None, None, Msg(N_("A line of the receipt is not on this order."))))
            continue
        found = line_problems(line, entry)
        problems.extend(found)
        if not found and not entry.empty:
            kept[line_id] = entry
    if len(note) > NOTE_MAX:
        problems.append(Problem(None, "note", Msg(N_("At most %(max)s characters."), {"max": NOTE_MAX})))
    if not problems and not kept:
        problems.append(Problem(None, None, Msg(N_("Enter the quantity received on at least one line."))))
    if problems:
        raise ReceiptRefused(problems)
    return kept


def after_receipt(lines: Iterable[LineState], entries: Mapping[int, ReceiptLineInput]) -> list[LineState]:
    """The lines with the receipt's accepted quantities added."""
    return [
        LineState(line.line_id, line.position, line.description, line.ordered,
                  line.accepted + (entries[line.line_id].accepted if line.line_id in entries else ZERO),
                  line.unit)
        for line in lines
    ]


def status_after(status: str, lines: Iterable[LineState]) -> str:
    """The order's status given its lines after a receipt: received when every line is fully
    accepted, partially received once anything is, else as it was (a delivery wholly rejected
    leaves the order waiting for goods)."""
    lines = list(lines)
    if lines and all(line.open == 0 for line in lines):
        return RECEIVED
    if any(line.accepted > 0 for line in lines):
        return PARTIALLY_RECEIVED
    return str(status)


def fully_received(lines: Iterable[LineState]) -> bool:
    """Every line accepted in full (a requisition whose order lines all are is done)."""
    return all(line.open == 0 for line in lines)
