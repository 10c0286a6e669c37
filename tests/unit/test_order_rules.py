"""Purchase order rules: every status × action, who moves what, totals by VAT code, numbers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from portal.domain import orders as rules
from portal.domain.orders import Action, OrderRefused, OrderStatus, Party
from portal.models.order import OrderStatus as StoredStatus

D = Decimal
S, A = OrderStatus, Action

# The spec, written out: (status, action) -> status. Every other pair is refused.
SPEC = {
    (S.ISSUED, A.ACKNOWLEDGE): S.ACKNOWLEDGED,
    (S.ISSUED, A.PROPOSE_DATE): S.ISSUED,
    (S.ACKNOWLEDGED, A.PROPOSE_DATE): S.ACKNOWLEDGED,
    (S.ISSUED, A.ACCEPT_PROPOSAL): S.ACKNOWLEDGED,
    (S.ACKNOWLEDGED, A.ACCEPT_PROPOSAL): S.ACKNOWLEDGED,
    (S.ISSUED, A.REFUSE_PROPOSAL): S.ISSUED,
    (S.ACKNOWLEDGED, A.REFUSE_PROPOSAL): S.ACKNOWLEDGED,
    (S.ISSUED, A.CANCEL): S.CANCELLED,
    (S.ACKNOWLEDGED, A.CANCEL): S.CANCELLED,
    (S.ISSUED, A.REVISE): S.ISSUED,
    (S.ACKNOWLEDGED, A.REVISE): S.ISSUED,
    (S.ISSUED, A.RECEIVE_PART): S.PARTIALLY_RECEIVED,
    (S.ACKNOWLEDGED, A.RECEIVE_PART): S.PARTIALLY_RECEIVED,
    (S.PARTIALLY_RECEIVED, A.RECEIVE_PART): S.PARTIALLY_RECEIVED,
    (S.ISSUED, A.RECEIVE_ALL): S.RECEIVED,
    (S.ACKNOWLEDGED, A.RECEIVE_ALL): S.RECEIVED,
    (S.PARTIALLY_RECEIVED, A.RECEIVE_ALL): S.RECEIVED,
    (S.RECEIVED, A.CLOSE): S.CLOSED,
}


def test_order_statuses_match_the_stored_ones():
    assert [s.value for s in OrderStatus] == [s.value for s in StoredStatus]


@pytest.mark.parametrize("status", list(OrderStatus))
@pytest.mark.parametrize("action", list(Action))
def test_order_every_status_and_action(status, action):
    expected = SPEC.get((status, action))
    if expected is None:
        with pytest.raises(OrderRefused) as refused:
            rules.next_status(status, action)
        assert refused.value.msg.params == {"status": status.value}
        assert not rules.allows(status, action)
    else:
        assert rules.next_status(status, action) == expected
        assert rules.allows(status, action)


def test_order_table_is_the_spec():
    assert rules.TRANSITIONS == SPEC


def test_order_supplier_acknowledges_and_proposes_the_buyer_does_the_rest():
    assert rules.allowed_actions(S.ISSUED, Party.SUPPLIER) == {A.ACKNOWLEDGE, A.PROPOSE_DATE}
    assert rules.allowed_actions(S.ACKNOWLEDGED, Party.SUPPLIER) == {A.PROPOSE_DATE}
    assert rules.allowed_actions(S.ISSUED, Party.BUYER) == {
        A.ACCEPT_PROPOSAL, A.REFUSE_PROPOSAL, A.CANCEL, A.REVISE, A.RECEIVE_PART, A.RECEIVE_ALL}
    assert rules.allowed_actions(S.RECEIVED, Party.SUPPLIER) == set()
    assert all(party in Party for party in rules.MOVERS.values())
    assert set(rules.MOVERS) == set(Action)


def test_order_nothing_moves_out_of_closed_or_cancelled():
    for status in rules.TERMINAL:
        assert rules.allowed_actions(status) == set()


def test_order_receipt_moves_to_partial_or_full():
    assert rules.after_receipt(S.ACKNOWLEDGED, everything_received=False) == S.PARTIALLY_RECEIVED
    assert rules.after_receipt(S.PARTIALLY_RECEIVED, everything_received=True) == S.RECEIVED
    with pytest.raises(OrderRefused):
        rules.after_receipt(S.CANCELLED, everything_received=True)


def test_order_needs_acknowledgement_of_the_current_revision():
    assert rules.needs_acknowledgement(S.ISSUED, 0, None)
    assert rules.needs_acknowledgement(S.ISSUED, 2, 1)
    assert not rules.needs_acknowledgement(S.ACKNOWLEDGED, 2, 2)


# ---------------------------------------------------------------- totals


def test_order_line_net_rounds_half_up_and_vat_per_line():
    line = rules.line_amounts(D("3"), D("0.0150"), "23")
    assert line.net == D("0.05")  # 0.045 -> 0.05 (half-up, not half-even)
    assert line.vat == D("0.01")
    assert line.gross == D("0.06")
    assert line.rate == D("23")


def test_order_totals_by_vat_code_compute_vat_once_per_code():
    # Three 23 % lines of 0.05: per line 0.01 VAT each (0.03); per code 0.15 × 23 % = 0.0345 -> 0.03.
    nets = [("23", D("0.05")), ("23", D("0.05")), ("23", D("0.05")), ("8", D("10.00")), ("zw", D("7.00"))]
    totals = rules.order_totals(nets)
    by_code = {row.code.code: row for row in totals.per_code}
    assert by_code["23"].net == D("0.15") and by_code["23"].vat == D("0.03")
    assert by_code["8"].vat == D("0.80")
    assert by_code["zw"].vat == D("0.00")
    assert totals.net == D("17.15") and totals.vat == D("0.83") and totals.gross == D("17.98")
    assert [row.code.code for row in totals.per_code] == ["23", "8", "zw"]


def test_order_totals_carry_the_freight_at_23_percent():
    totals = rules.order_totals([("8", D("100.00"))], freight=D("50.00"))
    assert totals.net == D("150.00")
    assert totals.vat == D("8.00") + D("11.50")


def test_order_totals_per_code_differ_from_the_sum_of_rounded_lines():
    nets = [("23", D("0.02"))] * 10
    per_line = sum(rules.line_amounts(D("1"), D("0.02"), "23").vat for _ in range(10))
    assert per_line == D("0.00")
    assert rules.order_totals(nets).vat == D("0.05")  # 0.20 × 23 % = 0.046


def test_order_money_is_never_a_float():
    with pytest.raises(TypeError):
        rules.line_amounts(1.5, D("2"), "23")


# ---------------------------------------------------------------- numbers


@pytest.mark.parametrize(("seq", "number"), [
    (1, "PO/2026/00001"), (42, "PO/2026/00042"), (99999, "PO/2026/99999"),
    (100000, "PO/2026/100000"), (1234567, "PO/2026/1234567"),
])
def test_order_number_format_widens_and_never_truncates(seq, number):
    assert rules.format_number(2026, seq) == number


def test_order_number_starts_at_one():
    with pytest.raises(ValueError):
        rules.format_number(2026, 0)


def test_order_line_problems():
    assert rules.line_problem(D("1"), D("1"), "Paper", "23") is None
    assert rules.line_problem(D("0"), D("1"), "Paper", "23") is not None
    assert rules.line_problem(D("1"), D("-1"), "Paper", "23") is not None
    assert rules.line_problem(D("1"), D("1"), " ", "23") is not None
    assert "xx" in str(rules.line_problem(D("1"), D("1"), "Paper", "xx"))
