"""RFQ rules: the state machine, the response deadline, when quotes are accepted, when the
buyer may see prices (the sealed opening) and when an RFQ may be closed early.

Pure Python: statuses are compared by their values ("draft", "open", …), the same strings as
`portal.models.rfq.RfqStatus` and `InvitationStatus`, so this module imports no model.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from portal.domain.messages import N_, Msg

DRAFT, OPEN, CLOSED, AWARDED, CANCELLED = "draft", "open", "closed", "awarded", "cancelled"
STATUSES = (DRAFT, OPEN, CLOSED, AWARDED, CANCELLED)
# An invitation counts as answered once the supplier submitted a quote or declined.
ANSWERED = frozenset({"quoted", "declined"})

# "Closing soon" on the buyer's list: an open RFQ whose deadline is this close.
CLOSING_SOON = timedelta(hours=48)
MAX_TITLE = 200
MAX_TEXT = 5000
MAX_LINES = 200
MAX_INVITATIONS = 50


class RfqAction(StrEnum):
    PUBLISH = "publish"
    CLOSE = "close"
    AWARD = "award"
    CANCEL = "cancel"


# (from, action) -> to. Anything not listed is refused.
TRANSITIONS: dict[tuple[str, RfqAction], str] = {
    (DRAFT, RfqAction.PUBLISH): OPEN,
    (OPEN, RfqAction.CLOSE): CLOSED,
    (CLOSED, RfqAction.AWARD): AWARDED,
    (DRAFT, RfqAction.CANCEL): CANCELLED,
    (OPEN, RfqAction.CANCEL): CANCELLED,
    (CLOSED, RfqAction.CANCEL): CANCELLED,
}
TERMINAL = frozenset({AWARDED, CANCELLED})

_REFUSALS = {
    RfqAction.PUBLISH: N_("Only a draft RFQ can be published; this one is %(status)s."),
    RfqAction.CLOSE: N_("Only an open RFQ can be closed; this one is %(status)s."),
    RfqAction.AWARD: N_("Only a closed RFQ can be awarded; this one is %(status)s."),
    RfqAction.CANCEL: N_("This RFQ is %(status)s and can no longer be cancelled."),
}


def _value(status) -> str:
    return getattr(status, "value", status)


STATUS_WORDS = {
    DRAFT: N_("draft"),
    OPEN: N_("open"),
    CLOSED: N_("closed"),
    AWARDED: N_("awarded"),
    CANCELLED: N_("cancelled"),
}


def status_word(status) -> Msg:
    """The RFQ status as a lower-case word inside a sentence (translated when shown)."""
    return Msg(STATUS_WORDS.get(_value(status), _value(status)))


class RfqProblem(Exception):
    """A rule refused the move or the input; `msg` is for the user, `field` names the input."""

    def __init__(self, msg: Msg, field: str | None = None):
        super().__init__(str(msg))
        self.msg = msg
        self.field = field


def next_status(status, action: RfqAction) -> str:
    """The status after `action`, or RfqProblem naming the current status."""
    found = TRANSITIONS.get((_value(status), RfqAction(action)))
    if found is None:
        raise RfqProblem(Msg(_REFUSALS[RfqAction(action)], {"status": status_word(status)}))
    return found


def allowed(status, action: RfqAction) -> bool:
    return (_value(status), RfqAction(action)) in TRANSITIONS


def editable(rfq) -> bool:
    """Lines, suppliers, files and the header change freely only while a draft; after publishing
    only through an amendment."""
    return _value(rfq.status) == DRAFT


def past_deadline(rfq, now: datetime) -> bool:
    return rfq.deadline is not None and now >= rfq.deadline


def accepting_quotes(rfq, now: datetime) -> bool:
    """Suppliers may submit or revise quotes: the RFQ is open and its deadline not reached. An
    open RFQ past its deadline reads as closed for quoting everywhere, whether or not `close`
    has recorded it yet."""
    return _value(rfq.status) == OPEN and rfq.deadline is not None and now < rfq.deadline


def buyer_sees_prices(rfq, now: datetime | None = None) -> bool:
    """The buyer may read quoted prices: the RFQ is not sealed, or its sealed quotes were
    opened (after the deadline or an early close, recorded with who opened them)."""
    return not rfq.sealed or rfq.opened_at is not None


def may_close_early(rfq, invitations) -> bool:
    """An open RFQ may close before its deadline once every invited supplier answered (quoted
    or declined): nobody is still working on a quote."""
    invitations = list(invitations)
    return (_value(rfq.status) == OPEN and bool(invitations)
            and all(_value(i.status) in ANSWERED for i in invitations))


def may_close(rfq, invitations, now: datetime) -> bool:
    """Closing for quotes: an open RFQ after its deadline, or early when everyone answered."""
    return _value(rfq.status) == OPEN and (past_deadline(rfq, now)
                                           or may_close_early(rfq, invitations))


def may_open(rfq, now: datetime) -> bool:
    """The sealed quotes may be opened: sealed and not opened yet, and closed (or open past its
    deadline: the deadline closes it for quoting, the opening records the close)."""
    if not rfq.sealed or rfq.opened_at is not None:
        return False
    status = _value(rfq.status)
    return status == CLOSED or (status == OPEN and past_deadline(rfq, now))


def awaiting_award(rfq, now: datetime) -> bool:
    """Quoting is over and the buyer has to decide: closed, or open past its deadline."""
    status = _value(rfq.status)
    return status == CLOSED or (status == OPEN and past_deadline(rfq, now))


def deadline_problem(deadline: datetime | None, now: datetime) -> Msg | None:
    """Why `deadline` cannot be an RFQ's response deadline, or None."""
    if deadline is None:
        return Msg(N_("Set the response deadline."))
    if deadline.tzinfo is None:
        raise ValueError("an RFQ deadline must be timezone-aware")
    if deadline <= now:
        return Msg(N_("The response deadline must be in the future: suppliers need time to "
                      "answer."))
    return None


def time_left(rfq, now: datetime) -> timedelta | None:
    """How long until the deadline (None without one, or once it passed)."""
    if rfq.deadline is None or now >= rfq.deadline:
        return None
    return rfq.deadline - now


def closing_soon(rfq, now: datetime) -> bool:
    left = time_left(rfq, now)
    return _value(rfq.status) == OPEN and left is not None and left <= CLOSING_SOON


def phase(rfq, now: datetime) -> str:
    """What the RFQ is to its reader now: its status, except an open RFQ past its deadline,
    which reads "deadline_passed" (no more quotes; waiting to be closed and opened)."""
    status = _value(rfq.status)
    if status == OPEN and past_deadline(rfq, now):
        return "deadline_passed"
    return status
