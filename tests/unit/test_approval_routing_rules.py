"""The routing rules of issue 8 (portal/domain/approval.py, approval_coverage.py):

- a step with a category applies when the header *or any line* is in it, and says which line;
- a step that falls to the admins says why (whose limit is too low, who is missing);
- one person decides once per requisition (a company setting): a later step that would go to
  someone already deciding an earlier one goes to the next eligible approver, and says so;
- the policy's amount bands that no approver with a sufficient limit covers.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from portal.domain.approval import LineFacts, StepSpec, route, step_applies
from portal.domain.approval_coverage import CostCenterFacts, uncovered_bands
from portal.money import Money
from tests.unit.test_approval_routing import (
    ACME,
    ADMIN,
    ADMIN2,
    BOARD,
    CAT_IT,
    CAT_OFFICE,
    CC_ADM,
    CC_IT,
    CC_PROD,
    CEO,
    CFO,
    COO,
    LOW,
    M1,
    M2,
    M3,
    MANAGER_IT,
    PEOPLE,
    STEP_BOARD,
    STEP_CFO,
    STEP_MANAGER,
    facts,
    summary,
)

D = Decimal
LAPTOP = LineFacts(position=2, description="Laptop", category_id=CAT_IT, category_code="IT")
PAPER = LineFacts(position=1, description="Papier A4", category_id=CAT_OFFICE, category_code="OFFICE")
FREE = LineFacts(position=3, description="Montaż", category_id=None)


def with_lines(the_facts, *lines):
    return replace(the_facts, lines=tuple(lines))


# ---------------------------------------------------------------- point 1: line categories


def test_board_rule_applies_to_a_line_in_it_without_a_header_category():
    """The issue's bypass: 60 000 PLN, cost centre IT, no header category, a laptop line."""
    the_facts = with_lines(facts("60000"), PAPER, LAPTOP, FREE)
    plan = route(ACME, the_facts, PEOPLE)
    assert [t.name for t in plan.tasks] == [M1, M2, M3]
    board = plan.tasks[2].reason
    assert "category is IT (line 2 “Laptop”)" in str(board)


def test_a_long_line_text_is_shortened_in_the_reason():
    long_line = replace(LAPTOP, description="Laptop " + "x" * 290)
    reason = str(route(ACME, with_lines(facts("60000"), long_line), PEOPLE).tasks[2].reason)
    assert "(line 2 “Laptop " + "x" * 32 + "…”)" in reason


def test_header_category_wins_in_the_reason():
    plan = route(ACME, with_lines(facts("60000", category=CAT_IT), LAPTOP), PEOPLE)
    assert "category is IT;" not in str(plan.tasks[2].reason)
    assert str(plan.tasks[2].reason).endswith("category is IT")


def test_lines_in_other_categories_do_not_reach_the_board():
    assert [t.name for t in route(ACME, with_lines(facts("60000"), PAPER, FREE), PEOPLE).tasks] == [M1, M2]
    assert not step_applies(STEP_BOARD, with_lines(facts("60000", category=CAT_OFFICE), PAPER))
    assert step_applies(STEP_BOARD, with_lines(facts("60000", category=CAT_OFFICE), LAPTOP))


# ---------------------------------------------------------------- point 2: the fallback says why


def test_manager_whose_limit_is_too_low_falls_back_and_the_reason_says_why():
    """The issue's scenario: CFO threshold raised to 15 000, 12 000 PLN for a cost centre whose
    manager may approve up to 10 000: only the admin approves, and the reason says why."""
    steps = [STEP_MANAGER, replace(STEP_CFO, min_amount=D("15000"))]
    plan = route(steps, facts("12000", cc=CC_PROD), PEOPLE)
    (task,) = plan.tasks
    assert task.fallback and task.approver_ids == (ADMIN,)
    reason = task.reason
    assert str(reason) == (
        "Rule “Cost centre manager” applies to every requisition; Damian Zieliński may approve "
        "up to 10000 PLN, less than 12000 PLN, so the company admins decide")
    why = reason.params["why"]
    assert why.params["limit"] == Money(D("10000"), "PLN")
    assert why.params["amount"] == Money(D("12000"), "PLN")


def test_fallback_reasons_name_the_cause():
    cases = [
        (route(ACME, facts("100", manager=None), PEOPLE), "cost centre has no manager"),
        (route(ACME, facts("500", requester=MANAGER_IT), PEOPLE),
         "Igor Manager raised the requisition"),
        (route([replace(STEP_CFO, approver_user_id=999)], facts("15000"), PEOPLE),
         "no approver is named"),
        (route([STEP_CFO], facts("15000"), {**PEOPLE, CFO: replace(PEOPLE[CFO], active=False)}),
         "Ewa Lewandowska is deactivated"),
        (route([replace(STEP_BOARD, member_ids=(LOW, CFO))], facts("300000", category=CAT_IT), PEOPLE),
         "no group member may approve 300000 PLN"),
    ]
    for plan, cause in cases:
        task = plan.tasks[0]
        assert task.fallback
        assert f"{cause}, so the company admins decide" in str(task.reason), str(task.reason)


# ---------------------------------------------------------------- point 25: decide once


def test_cfo_managing_the_cost_centre_decides_once_and_the_admins_take_the_cfo_step():
    plan = route(ACME, facts("12000", cc=CC_ADM, manager=CFO), PEOPLE, decide_once=True)
    assert summary(plan) == [(M1, {CFO}, 1), (M2, {ADMIN}, 1)]
    second = plan.tasks[1]
    assert second.fallback  # the admins step in: shown as such
    assert str(second.reason).endswith(
        "Ewa Lewandowska already decides on step “Cost centre manager” and a person decides once "
        "per requisition, so the company admins decide")


def test_decide_once_is_a_setting():
    plan = route(ACME, facts("12000", cc=CC_ADM, manager=CFO), PEOPLE, decide_once=False)
    assert summary(plan) == [(M1, {CFO}, 1), (M2, {CFO}, 1)]


def test_board_member_who_decided_an_earlier_step_leaves_the_group_and_the_quorum_follows():
    plan = route(ACME, with_lines(facts("60000"), LAPTOP), PEOPLE, decide_once=True)
    assert summary(plan) == [(M1, {MANAGER_IT}, 1), (M2, {CFO}, 1), (M3, {CEO, COO}, 2)]
    assert ("Ewa Lewandowska already decides on step “CFO approval”, so the other eligible "
            "approvers decide") in str(plan.tasks[2].reason)
    off = route(ACME, with_lines(facts("60000"), LAPTOP), PEOPLE, decide_once=False)
    assert summary(off)[2] == (M3, BOARD, 2)


def test_when_nobody_else_may_decide_the_same_person_decides_again_and_the_reason_says_so():
    people = {pid: p for pid, p in PEOPLE.items() if not p.is_admin}
    plan = route(ACME, facts("12000", cc=CC_ADM, manager=CFO), people, decide_once=True)
    assert plan.problem is None
    assert summary(plan) == [(M1, {CFO}, 1), (M2, {CFO}, 1)]
    assert str(plan.tasks[1].reason).endswith(
        "Ewa Lewandowska already decides on step “Cost centre manager”, but nobody else may "
        "decide, so the same person decides again")


def test_admins_who_took_an_earlier_step_are_not_picked_again_unless_nobody_else_may():
    people = {**PEOPLE, ADMIN2: replace(PEOPLE[ADMIN2], active=True)}
    # The requester manages the cost centre (step 1 falls back) and the CFO step has nobody.
    steps = [STEP_MANAGER, replace(STEP_CFO, approver_user_id=999)]
    plan = route(steps, facts("15000", requester=MANAGER_IT), people, decide_once=True)
    assert [set(t.approver_ids) for t in plan.tasks] == [{ADMIN, ADMIN2}, {ADMIN, ADMIN2}]
    assert "the same people decide again" in str(plan.tasks[1].reason)


def test_an_approver_limit_step_skips_whoever_decided_before():
    step = StepSpec(2, "Any approver", approver_kind="approver_limit", min_amount=D("20000"))
    plan = route([STEP_MANAGER, step], facts("20000"), PEOPLE, decide_once=True)
    assert MANAGER_IT in plan.tasks[0].approver_ids
    assert MANAGER_IT not in plan.tasks[1].approver_ids


# ---------------------------------------------------------------- point 2: coverage of the policy


CENTERS = [
    CostCenterFacts(CC_IT, "IT", MANAGER_IT),
    CostCenterFacts(CC_ADM, "ADM", None),
    CostCenterFacts(CC_PROD, "PROD", LOW),
]


def bands(steps, people=PEOPLE):
    return [(b.step, b.cost_center, b.above) for b in uncovered_bands(steps, people, CENTERS, "PLN")]


def test_policy_coverage_lists_the_bands_that_fall_to_the_admins():
    assert bands(ACME) == [
        (M1, "ADM", None),  # no manager: always the admins
        (M1, "PROD", D("10000")),  # LOW may approve up to 10 000
        (M2, None, D("250000")),  # the CFO's limit
    ]


def test_coverage_message_names_the_limit_and_the_person():
    gap = next(b for b in uncovered_bands(ACME, PEOPLE, CENTERS, "PLN") if b.cost_center == "PROD")
    assert str(gap.message) == (
        "Step “Cost centre manager”, cost centre PROD: requisitions above 10000 PLN go to the "
        "company admins (Damian Zieliński may approve up to 10000 PLN)")


def test_a_threshold_above_the_limit_makes_the_whole_step_fall_back():
    step = replace(STEP_CFO, min_amount=D("300000"))
    (gap,) = uncovered_bands([step], PEOPLE, CENTERS, "PLN")
    assert gap.above is None
    assert "every requisition it applies to goes to the company admins" in str(gap.message)


def test_a_group_is_covered_up_to_its_highest_limit_and_unlimited_members_cover_all():
    assert bands([STEP_BOARD]) == []
    capped = replace(STEP_BOARD, member_ids=(LOW, CFO))
    assert bands([capped]) == [(M3, None, D("250000"))]


def test_a_cost_centre_step_is_checked_for_its_own_cost_centre_only():
    step = replace(STEP_MANAGER, cost_center_id=CC_IT, cost_center_code="IT")
    assert bands([step]) == []
