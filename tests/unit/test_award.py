"""The comparison matrix and the award rules, from plain values (portal.domain.award)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from portal.domain import award as rules
from portal.domain.award import AwardProblem, LineIn, Offer, OfferLine, Source

D = Decimal


def lines():
    return [
        LineIn(1, 1, "Bolts M8", D("3"), "pcs", requisition_id=10),
        LineIn(2, 2, "Nuts M8", D("7"), "pcs", requisition_id=10, agreed_price=D("0.90")),
        LineIn(3, 3, "Washers", D("1.5"), "kg", requisition_id=20),
    ]


def offer(quote_id, supplier, prices, *, freight="0", other="0", valid=None):
    return Offer(quote_id, supplier, {
        line_id: OfferLine(D(price) if price is not None else None, lead_time_days=line_id * 2)
        for line_id, price in prices.items()
    }, freight=D(freight), other_charges=D(other), valid_until=valid)


def matrix():
    return rules.build_matrix("PLN", lines(), [
        offer(100, "Nordwind", {1: "1.005", 2: "0.95", 3: "12.3333"}, freight="10.00"),
        offer(200, "Polbud", {1: "1.005", 2: "1.00", 3: "12.00"}, other="5.50"),
        offer(300, "Partial", {1: "0.50", 2: None}),
    ])


def test_matrix_line_nets_round_half_up_to_the_cent():
    m = matrix()
    row1, row2, row3 = m.rows
    # 3 × 1.005 = 3.015 → 3.02 (half-up, never half-even's 3.02/3.01 drift)
    assert row1.cell(100).net == D("3.02")
    # 1.5 × 12.3333 = 18.49995 → 18.50
    assert row3.cell(100).net == D("18.50")
    assert row3.cell(200).net == D("18.00")
    assert row2.cell(100).net == D("6.65")


def test_matrix_supplier_totals_and_charges():
    m = matrix()
    nordwind, polbud, partial = m.columns
    assert nordwind.lines_total == D("3.02") + D("6.65") + D("18.50") == D("28.17")
    assert (nordwind.freight, nordwind.charges, nordwind.grand_total) == (D("10.00"), D("10.00"), D("38.17"))
    assert polbud.lines_total == D("3.02") + D("7.00") + D("18.00") == D("28.02")
    assert polbud.grand_total == D("33.52")
    assert partial.partial and partial.priced_lines == 1 and partial.lines_total == D("1.50")
    assert not nordwind.partial and not polbud.partial


def test_matrix_best_price_marks_ties_and_never_a_missing_cell():
    m = matrix()
    row1, row2, row3 = m.rows
    assert row1.best_price == D("0.50") and row1.best_quote_ids == (300,)
    assert row2.best_quote_ids == (100,)
    assert row2.cell(300).missing and not row2.cell(300).best
    assert row3.cell(300).missing and row3.best_quote_ids == (200,)
    tie = rules.build_matrix("PLN", lines()[:1], [offer(1, "A", {1: "2"}), offer(2, "B", {1: "2"})])
    assert tie.rows[0].best_quote_ids == (1, 2)


def test_matrix_cheapest_complete_supplier_ignores_partial_quotes():
    m = matrix()
    assert m.cheapest_complete == (200,)
    all_partial = rules.build_matrix("PLN", lines(), [offer(1, "A", {1: "1"})])
    assert all_partial.cheapest_complete == ()


def test_matrix_agreed_price_per_line():
    row2 = matrix().rows[1]
    assert row2.line.agreed_price == D("0.90") and row2.agreed_net == D("6.30")
    assert matrix().rows[0].agreed_net is None


def test_matrix_lead_time_and_validity_carried():
    m = rules.build_matrix("PLN", lines()[:1], [offer(1, "A", {1: "2"}, valid=date(2027, 1, 31))])
    assert m.rows[0].cell(1).lead_time_days == 2
    assert m.columns[0].valid_until == date(2027, 1, 31)


def test_matrix_zero_decimal_currency_rounds_to_units():
    m = rules.build_matrix("JPY", [LineIn(1, 1, "X", D("3"))], [offer(1, "A", {1: "10.5"})])
    assert m.rows[0].cell(1).net == D("32")


def test_default_choices_take_the_best_price_and_break_ties_to_the_cheapest_complete():
    m = matrix()
    assert m.default_choices() == {1: 300, 2: 100, 3: 200}
    tie = rules.build_matrix("PLN", lines()[:1], [offer(1, "A", {1: "2"}, freight="1"),
                                                  offer(2, "B", {1: "2"})])
    assert tie.default_choices() == {1: 2}


def test_award_per_line_groups_by_supplier():
    award = rules.check_award(matrix(), {1: 300, 2: 100, 3: 200})
    grouped = award.by_quote()
    assert {q: [a.row.line.id for a in g] for q, g in grouped.items()} == {300: [1], 100: [2], 200: [3]}
    # lines 1.50 + 6.65 + 18.00, plus Nordwind's freight 10.00 and Polbud's 5.50
    assert award.total("PLN") == D("41.65")


def test_award_reason_required_when_not_the_best_price():
    with pytest.raises(AwardProblem) as refused:
        rules.check_award(matrix(), {1: 100, 2: 100, 3: 100})
    assert set(refused.value.problems) == {1, 3}
    assert "say why" in str(refused.value.problems[1][0])
    award = rules.check_award(matrix(), {1: 100, 2: 100, 3: 100},
                              {1: "Single delivery", 3: "Faster delivery"})
    assert [a.reason for a in award.lines] == ["Single delivery", "", "Faster delivery"]


def test_award_reason_blank_does_not_count_and_is_bounded():
    with pytest.raises(AwardProblem):
        rules.check_award(matrix(), {1: 100, 2: 100, 3: 200}, {1: "   "})
    with pytest.raises(AwardProblem) as refused:
        rules.check_award(matrix(), {1: 100, 2: 100, 3: 200}, {1: "x" * 501})
    assert "At most" in str(refused.value.problems[1][0])


def test_award_only_from_a_quote_that_priced_the_line():
    with pytest.raises(AwardProblem) as refused:
        rules.check_award(matrix(), {1: 300, 2: 300, 3: 200}, {2: "because"})
    assert list(refused.value.problems) == [2]
    with pytest.raises(AwardProblem) as unknown:
        rules.check_award(matrix(), {1: 999, 2: 100, 3: 200}, {1: "x"})
    assert list(unknown.value.problems) == [1]


def test_award_every_priced_line_chosen_once():
    with pytest.raises(AwardProblem) as missing:
        rules.check_award(matrix(), {1: 300, 2: 100})
    assert list(missing.value.problems) == [3]
    with pytest.raises(AwardProblem) as twice:
        rules.check_award(matrix(), [(1, 300), (1, 100), (2, 100), (3, 200)])
    assert 1 in twice.value.problems
    with pytest.raises(AwardProblem) as foreign:
        rules.check_award(matrix(), {1: 300, 2: 100, 3: 200, 77: 100})
    assert None in foreign.value.problems


def test_award_line_nobody_priced_is_left_out():
    m = rules.build_matrix("PLN", lines()[:2], [offer(1, "A", {1: "2", 2: None})])
    award = rules.check_award(m, {1: 1})
    assert [a.row.line.id for a in award.lines] == [1]
    nothing = rules.build_matrix("PLN", lines()[:1], [offer(1, "A", {1: None})])
    with pytest.raises(AwardProblem) as refused:
        rules.check_award(nothing, {})
    assert None in refused.value.problems


def test_whole_award_gives_every_line_to_one_supplier():
    m = matrix()
    assert rules.whole_award(m, 200) == {1: 200, 2: 200, 3: 200}
    with pytest.raises(AwardProblem, match="did not quote every line"):
        rules.whole_award(m, 300)
    with pytest.raises(AwardProblem):
        rules.whole_award(m, 12345)
    reasons = rules.whole_reasons(m, 200, "One delivery")
    assert reasons == {1: "One delivery", 2: "One delivery"}
    award = rules.check_award(m, rules.whole_award(m, 200), reasons)
    assert award.total("PLN") == D("33.52") == m.column(200).grand_total


def test_budget_impact_reserve_or_release_to_the_cent():
    m = matrix()
    award = rules.check_award(m, {1: 300, 2: 100, 3: 200})
    sources = [Source(10, "REQ-1", D("20.00"), budget_id=5, available_before=D("100.00")),
               Source(20, "REQ-2", D("15.00"), budget_id=5, available_before=D("100.00"))]
    impact = rules.budget_impact("PLN", award, sources)
    req1, req2 = impact.rows
    # REQ-1: lines 1 (1.50, Partial) and 2 (6.65 + Nordwind's freight 10.00, all on REQ-1)
    assert req1.awarded == D("18.15") and req1.difference == D("-1.85")
    # REQ-2: line 3 (18.00 + Polbud's other charges 5.50)
    assert req2.awarded == D("23.50") and req2.difference == D("8.50")
    assert impact.awarded == award.total("PLN") == D("41.65")
    assert impact.difference == D("6.65")
    # one budget: both differences come off it
    assert req1.available_after == req2.available_after == D("93.35")
    assert not impact.exceeds


def test_budget_impact_charges_go_with_the_first_requisition_of_each_order():
    ls = [LineIn(1, 1, "A", D("1"), requisition_id=None), LineIn(2, 2, "B", D("1"), requisition_id=2),
          LineIn(3, 3, "C", D("1"), requisition_id=3)]
    m = rules.build_matrix("PLN", ls, [offer(9, "S", {1: "1", 2: "1", 3: "1"}, freight="10.00")])
    award = rules.check_award(m, {1: 9, 2: 9, 3: 9})
    impact = rules.budget_impact("PLN", award, [Source(i, f"R{i}", D("0")) for i in (2, 3)])
    assert [r.awarded for r in impact.rows] == [D("11.00"), D("1.00")]
    assert impact.untracked == D("1.00")
    assert impact.awarded + impact.untracked == award.total("PLN") == D("13.00")
    assert all(r.available_after is None for r in impact.rows)


def test_budget_impact_takes_over_the_estimates_of_part_of_a_requisition():
    ls = [LineIn(1, 1, "A", D("1"), requisition_id=7), LineIn(2, 2, "B", D("1"), requisition_id=7)]
    m = rules.build_matrix("PLN", ls, [offer(9, "S", {1: "30", 2: None})])
    award = rules.check_award(m, {1: 9})
    source = Source(7, "R7", D("100.00"), estimates={1: D("40.00"), 2: D("60.00")})
    (row,) = rules.budget_impact("PLN", award, [source]).rows
    assert (row.reserved, row.awarded, row.difference) == (D("40.00"), D("30.00"), D("-10.00"))
    whole = rules.check_award(rules.build_matrix("PLN", ls, [offer(9, "S", {1: "30", 2: "50"})]),
                              {1: 9, 2: 9})
    (row,) = rules.budget_impact("PLN", whole, [source]).rows
    assert (row.reserved, row.awarded) == (D("100.00"), D("80.00"))
    partly_elsewhere = Source(7, "R7", D("100.00"), estimates={1: D("40.00"), 2: D("60.00")}, whole=False)
    (row,) = rules.budget_impact("PLN", whole, [partly_elsewhere]).rows
    assert row.reserved == D("100.00")


def test_budget_impact_typed_lines_are_untracked_and_overrun_is_flagged():
    ls = [LineIn(1, 1, "A", D("2"), requisition_id=None), LineIn(2, 2, "B", D("1"), requisition_id=7)]
    m = rules.build_matrix("PLN", ls, [offer(9, "S", {1: "5", 2: "50.005"})])
    award = rules.check_award(m, {1: 9, 2: 9})
    impact = rules.budget_impact("PLN", award, [Source(7, "R7", D("40.00"), budget_id=1,
                                                        available_before=D("5.00"))])
    assert impact.untracked == D("10.00")
    assert impact.rows[0].awarded == D("50.01") and impact.rows[0].difference == D("10.01")
    assert impact.rows[0].available_after == D("-5.01") and impact.exceeds


def test_an_award_that_releases_never_reads_as_exceeding_an_overrun_budget():
    """A budget already below zero (an approved overrun) stays below zero after an award that
    gives part of the reservation back: the award asks for nothing, so it is not flagged."""
    ls = [LineIn(1, 1, "A", D("2"), requisition_id=7)]
    m = rules.build_matrix("PLN", ls, [offer(9, "S", {1: "10"})])
    award = rules.check_award(m, {1: 9})
    impact = rules.budget_impact("PLN", award, [Source(7, "R7", D("40.00"), budget_id=1,
                                                        available_before=D("-100.00"))])
    assert impact.rows[0].difference == D("-20.00")
    assert impact.rows[0].available_after == D("-80.00")
    assert not impact.exceeds
