"""Goods receipt rules (portal/domain/receiving.py): quantities, over-receipt, rejections with a
reason, the receipt date, which orders receive, and the order's status after a receipt."""

from datetime import date
from decimal import Decimal as D

import pytest

from portal.domain import receiving as rules
from portal.domain.receiving import LineState, ReceiptLineInput, ReceiptRefused

TODAY = date(2026, 12, 5)


def _lines(*specs):
    """(ordered, accepted) per line, ids 1, 2, …"""
    return [LineState(i, i, f"Item {i}", D(o), D(a), "pcs") for i, (o, a) in enumerate(specs, 1)]


def _refused(lines, entries, **kwargs) -> list:
    with pytest.raises(ReceiptRefused) as caught:
        rules.check_receipt(lines, entries, **kwargs)
    return [(p.line_id, p.field, p.msg.text, p.msg.params) for p in caught.value.problems]


def test_receipt_partial_quantities_are_kept_and_empty_lines_dropped():
    lines = _lines(("10", "0"), ("5", "0"))
    kept = rules.check_receipt(lines, {1: ReceiptLineInput(D("4")), 2: ReceiptLineInput()})
    assert list(kept) == [1] and kept[1].accepted == D("4")


def test_receipt_over_receipt_is_refused_naming_the_line_and_the_open_quantity():
    lines = _lines(("10", "7"))
    [(line_id, field, text, params)] = _refused(lines, {1: ReceiptLineInput(D("4"))})
    assert (line_id, field) == (1, "quantity")
    assert "still open" in text and params["open"] == D("3") and params["accepted"] == D("4")
    assert params["position"] == 1 and str(params["open"]) == "3"


def test_receipt_excess_rejected_at_the_door_is_not_an_over_receipt():
    lines = _lines(("10", "7"))
    kept = rules.check_receipt(lines, {1: ReceiptLineInput(D("5"), D("2"), "Za dużo")})
    assert kept[1].accepted == D("3")


def test_receipt_exactly_the_open_quantity_is_accepted():
    assert rules.check_receipt(_lines(("2.5", "1.25")), {1: ReceiptLineInput(D("1.25"))})


def test_receipt_rejection_needs_a_reason_and_at_most_what_arrived():
    lines = _lines(("10", "0"))
    problems = _refused(lines, {1: ReceiptLineInput(D("3"), D("1"), "  ")})
    assert [(p[0], p[1]) for p in problems] == [(1, "reject_reason")]
    problems = _refused(lines, {1: ReceiptLineInput(D("3"), D("4"), "Uszkodzone")})
    assert [(p[0], p[1]) for p in problems] == [(1, "rejected_quantity")]
    assert problems[0][3]["received"] == D("3")


def test_receipt_negative_quantities_are_refused():
    problems = _refused(_lines(("10", "0")), {1: ReceiptLineInput(D("-1"))})
    assert problems[0][:2] == (1, "quantity") and "negative" in problems[0][2]
    problems = _refused(_lines(("10", "0")), {1: ReceiptLineInput(D("1"), D("-1"), "x")})
    assert problems[0][:2] == (1, "rejected_quantity")


def test_receipt_with_nothing_received_is_refused():
    [(line_id, field, text, _)] = _refused(_lines(("10", "0")), {1: ReceiptLineInput()})
    assert line_id is None and field is None and "at least one line" in text


def test_receipt_every_problem_is_reported_at_once():
    lines = _lines(("10", "9"), ("5", "0"))
    problems = _refused(lines, {1: ReceiptLineInput(D("2")), 2: ReceiptLineInput(D("1"), D("1"))})
    assert {(p[0], p[1]) for p in problems} == {(1, "quantity"), (2, "reject_reason")}


def test_receipt_a_line_of_another_order_is_refused():
    problems = _refused(_lines(("10", "0")), {99: ReceiptLineInput(D("1"))})
    assert problems[0][0] is None and "not on this order" in problems[0][2]


def test_receipt_note_is_limited():
    problems = _refused(_lines(("10", "0")), {1: ReceiptLineInput(D("1"))}, note="x" * 2001)
    assert problems[0][1] == "note"


@pytest.mark.parametrize("status", ["issued", "acknowledged", "partially_received"])
def test_receipt_orders_on_their_way_receive(status):
    assert rules.receivable(status) is None


@pytest.mark.parametrize("status, words", [("received", "fully received"), ("closed", "closed"),
                                           ("cancelled", "cancelled")])
def test_receipt_finished_orders_refuse_with_a_message(status, words):
    assert words in rules.receivable(status).text


def test_receipt_date_is_given_not_future_not_before_the_order():
    assert rules.check_date(TODAY, today=TODAY) is None
    assert "Enter the date" in rules.check_date(None, today=TODAY).text
    assert "future" in rules.check_date(date(2026, 12, 6), today=TODAY).text
    refused = rules.check_date(date(2026, 11, 1), today=TODAY, issued_on=date(2026, 11, 20))
    assert refused.params == {"date": date(2026, 11, 20)}


def test_receipt_status_after_partial_full_and_wholly_rejected_delivery():
    lines = _lines(("10", "0"), ("5", "0"))
    after = rules.after_receipt(lines, {1: ReceiptLineInput(D("4"))})
    assert rules.status_after("acknowledged", after) == "partially_received"
    after = rules.after_receipt(after, {1: ReceiptLineInput(D("6")), 2: ReceiptLineInput(D("5"))})
    assert rules.status_after("partially_received", after) == "received"
    assert rules.fully_received(after)
    rejected = rules.after_receipt(lines, {1: ReceiptLineInput(D("4"), D("4"), "Zniszczone")})
    assert rules.status_after("acknowledged", rejected) == "acknowledged"
    assert not rules.fully_received(rejected)


def test_receipt_inputs_from_a_form_with_empty_fields_are_decimals():
    entry = ReceiptLineInput(None, 0, None)
    assert entry.quantity == D(0) and isinstance(entry.rejected_quantity, D) and entry.reject_reason == ""
    problems = _refused(_lines(("10", "0")), {1: ReceiptLineInput(None, D("1"), "x")})
    assert problems[0][3] == {"received": 0}
