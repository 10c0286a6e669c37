"""The requisition state machine (portal/domain/requisition.py), exhaustively.

The expected table is written out here from DESIGN.md §3 "Requisition", independently of the
code's TRANSITIONS, so a change to the code's table must be a deliberate change to this spec.
"""

from itertools import product

import pytest

from portal.domain.requisition import (
    EDITABLE,
    TERMINAL,
    TRANSITIONS,
    Action,
    RequisitionStatus,
    TransitionRefused,
    allowed_actions,
    format_number,
    next_status,
)

S, A = RequisitionStatus, Action

# draft ──submit──▶ pending ──approve──▶ approved; pending ──reject──▶ rejected;
# pending ──return──▶ draft; draft/pending ──cancel (requester)──▶ cancelled;
# approved ──cancel (admin)──▶ cancelled; approved ──(on an RFQ)──▶ sourcing ──(RFQ cancelled)──▶
# approved; approved/sourcing ──(orders issued)──▶ ordered ──(all received)──▶ closed.
SPEC = {
    (S.DRAFT, A.SUBMIT): S.PENDING,
    (S.DRAFT, A.CANCEL): S.CANCELLED,
    (S.PENDING, A.APPROVE): S.APPROVED,
    (S.PENDING, A.REJECT): S.REJECTED,
    (S.PENDING, A.RETURN): S.DRAFT,
    (S.PENDING, A.CANCEL): S.CANCELLED,
    (S.APPROVED, A.ADMIN_CANCEL): S.CANCELLED,
    (S.APPROVED, A.SOURCE): S.SOURCING,
    (S.SOURCING, A.UNSOURCE): S.APPROVED,
    (S.ORDERED, A.UNSOURCE): S.APPROVED,
    (S.APPROVED, A.ORDER): S.ORDERED,
    (S.SOURCING, A.ORDER): S.ORDERED,
    (S.ORDERED, A.CLOSE): S.CLOSED,
}
PAIRS = list(product(RequisitionStatus, Action))
LEGAL = [pair for pair in PAIRS if pair in SPEC]
ILLEGAL = [pair for pair in PAIRS if pair not in SPEC]


def _id(pair) -> str:
    return f"{pair[0].value}-{pair[1].value}"


def test_the_code_table_is_the_design_table():
    assert TRANSITIONS == SPEC


def test_the_pairs_cover_every_status_and_action():
    assert len(PAIRS) == len(RequisitionStatus) * len(Action)
    assert len(LEGAL) == len(SPEC)
    assert len(LEGAL) + len(ILLEGAL) == len(PAIRS)


@pytest.mark.parametrize("pair", LEGAL, ids=_id)
def test_every_legal_move_gives_the_designed_status(pair):
    status, action = pair
    assert next_status(status, action) == SPEC[pair]


@pytest.mark.parametrize("pair", ILLEGAL, ids=_id)
def test_every_other_move_is_refused_with_a_message(pair):
    status, action = pair
    with pytest.raises(TransitionRefused) as refused:
        next_status(status, action)
    # The message names the status and the action, so the user knows what was refused.
    text = str(refused.value.msg)
    assert status.value in text
    assert action.value in text


@pytest.mark.parametrize("pair", PAIRS, ids=_id)
def test_plain_strings_are_accepted_like_the_enums(pair):
    """Statuses read back from the database or a form arrive as strings."""
    status, action = pair
    if pair in SPEC:
        assert next_status(status.value, action.value) == SPEC[pair]
    else:
        with pytest.raises(TransitionRefused):
            next_status(status.value, action.value)


@pytest.mark.parametrize("status", list(RequisitionStatus), ids=str)
def test_allowed_actions_agree_with_the_table(status):
    assert allowed_actions(status) == {a for (s, a) in SPEC if s == status}


def test_terminal_statuses_allow_nothing():
    for status in TERMINAL:
        assert allowed_actions(status) == set()
    assert {S.REJECTED, S.CANCELLED} <= TERMINAL


def test_only_drafts_are_editable():
    assert {S.DRAFT} == EDITABLE


def test_every_status_is_reachable_from_draft():
    reached, frontier = {S.DRAFT}, [S.DRAFT]
    while frontier:
        status = frontier.pop()
        for action in allowed_actions(status):
            target = next_status(status, action)
            if target not in reached:
                reached.add(target)
                frontier.append(target)
    assert reached == set(RequisitionStatus)


@pytest.mark.parametrize(
    ("prefix", "year", "seq", "expected"),
    [
        ("REQ", 2026, 1, "REQ-2026-00001"),
        ("REQ", 2026, 42, "REQ-2026-00042"),
        ("REQ", 2027, 99999, "REQ-2027-99999"),
        ("REQ", 2026, 100000, "REQ-2026-100000"),  # wider, never truncated
    ],
)
def test_format_number(prefix, year, seq, expected):
    assert format_number(prefix, year, seq) == expected
