"""The RFQ rules (portal/domain/rfq.py): the state machine written out from DESIGN.md §3 "RFQ and
quotes", the deadline, sealed prices and the early close."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import product

import pytest

from portal.domain import rfq as rules
from portal.domain.rfq import RfqAction, RfqProblem

A = RfqAction
NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)

# draft ──publish──▶ open ──close──▶ closed ──award──▶ awarded; draft/open/closed ──cancel──▶ cancelled
SPEC = {
    ("draft", A.PUBLISH): "open",
    ("open", A.CLOSE): "closed",
    ("closed", A.AWARD): "awarded",
    ("draft", A.CANCEL): "cancelled",
    ("open", A.CANCEL): "cancelled",
    ("closed", A.CANCEL): "cancelled",
}


@dataclass
class R:
    status: str = "open"
    deadline: datetime | None = None
    sealed: bool = True
    opened_at: datetime | None = None


@dataclass
class Inv:
    status: str


def test_rfq_transition_table_is_the_spec():
    assert {(s, a): t for (s, a), t in rules.TRANSITIONS.items()} == SPEC


@pytest.mark.parametrize(("status", "action"), list(product(rules.STATUSES, list(A))))
def test_rfq_every_move_follows_the_table(status, action):
    if (status, action) in SPEC:
        assert rules.next_status(status, action) == SPEC[(status, action)]
        assert rules.allowed(status, action)
    else:
        with pytest.raises(RfqProblem) as refused:
            rules.next_status(status, action)
        assert refused.value.msg.params["status"].text == status
        assert not rules.allowed(status, action)


def test_rfq_terminal_states_allow_nothing():
    for status in rules.TERMINAL:
        assert not any(rules.allowed(status, a) for a in A)


def test_rfq_accepts_quotes_only_while_open_before_deadline():
    deadline = NOW + timedelta(hours=1)
    assert rules.accepting_quotes(R("open", deadline), NOW)
    assert not rules.accepting_quotes(R("open", deadline), deadline)
    assert not rules.accepting_quotes(R("open", deadline), deadline + timedelta(seconds=1))
    for status in ("draft", "closed", "awarded", "cancelled"):
        assert not rules.accepting_quotes(R(status, deadline), NOW)
    assert not rules.accepting_quotes(R("open", None), NOW)


def test_rfq_buyer_sees_prices_when_not_sealed_or_opened():
    assert rules.buyer_sees_prices(R(sealed=False), NOW)
    assert not rules.buyer_sees_prices(R(sealed=True), NOW)
    assert not rules.buyer_sees_prices(R("closed", NOW - timedelta(days=1), sealed=True), NOW)
    assert rules.buyer_sees_prices(R("closed", sealed=True, opened_at=NOW), NOW)


def test_rfq_may_close_early_once_everyone_answered():
    rfq = R("open", NOW + timedelta(days=3))
    assert rules.may_close_early(rfq, [Inv("quoted"), Inv("declined")])
    assert not rules.may_close_early(rfq, [Inv("quoted"), Inv("invited")])
    assert not rules.may_close_early(rfq, [])
    assert not rules.may_close_early(R("closed"), [Inv("quoted")])
    assert not rules.may_close(rfq, [Inv("invited")], NOW)
    assert rules.may_close(rfq, [Inv("invited")], rfq.deadline)
    assert rules.may_close(rfq, [Inv("quoted")], NOW)


def test_rfq_may_open_sealed_after_deadline_or_close():
    deadline = NOW + timedelta(hours=2)
    assert not rules.may_open(R("open", deadline), NOW)
    assert rules.may_open(R("open", deadline), deadline)
    assert rules.may_open(R("closed", deadline), NOW)
    assert not rules.may_open(R("closed", deadline, opened_at=NOW), NOW)
    assert not rules.may_open(R("closed", deadline, sealed=False), NOW)
    assert not rules.may_open(R("draft", deadline), deadline + timedelta(days=1))


def test_rfq_deadline_must_be_future_and_aware():
    assert rules.deadline_problem(NOW + timedelta(minutes=1), NOW) is None
    assert "future" in rules.deadline_problem(NOW, NOW).text
    assert "future" in rules.deadline_problem(NOW - timedelta(days=1), NOW).text
    assert rules.deadline_problem(None, NOW) is not None
    with pytest.raises(ValueError):
        rules.deadline_problem(datetime(2027, 1, 1), NOW)


def test_rfq_time_left_closing_soon_and_phase():
    rfq = R("open", NOW + timedelta(hours=47))
    assert rules.time_left(rfq, NOW) == timedelta(hours=47)
    assert rules.closing_soon(rfq, NOW)
    assert not rules.closing_soon(R("open", NOW + timedelta(hours=49)), NOW)
    assert rules.phase(rfq, NOW) == "open"
    assert rules.phase(rfq, rfq.deadline) == "deadline_passed"
    assert rules.time_left(rfq, rfq.deadline) is None
    assert rules.awaiting_award(rfq, rfq.deadline)
    assert rules.awaiting_award(R("closed"), NOW)
    assert not rules.awaiting_award(rfq, NOW)
    assert rules.phase(R("draft"), NOW) == "draft"


def test_rfq_editable_only_as_draft():
    assert rules.editable(R("draft"))
    assert not any(rules.editable(R(s)) for s in ("open", "closed", "awarded", "cancelled"))
