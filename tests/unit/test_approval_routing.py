"""Approval routing (portal/domain/approval.py) as a table of cases.

The policy is Acme's: step 1 the cost centre manager, always; step 2 from 10 000 the CFO;
step 3 for category IT from 50 000 two of three board members. Each case gives amount, cost
centre, category (and who asks) and the steps and approvers expected, in order.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from portal.domain.approval import (
    ApproverKind,
    Facts,
    Person,
    Quorum,
    StepSpec,
    TaskStatus,
    eligible,
    reason_message,
    route,
    step_applies,
    task_outcome,
)
from portal.money import Money

D = Decimal

# people: id -> Person
BUYER, BUYER2 = 1, 2
MANAGER_IT, MANAGER_ADM = 10, 11  # cost centre managers, approvers without a limit
LOW = 12  # an approver with a 10 000 limit, manager of PROD
CFO, CEO, COO = 20, 21, 22
ADMIN, ADMIN2 = 30, 31
SAFETY = 40  # named approver of the PROD-only step
RICH = 41  # an approver with a 100 000 limit
IDLE = 42  # an inactive approver without a limit

PEOPLE = {
    p.id: p
    for p in [
        Person(BUYER, "Bartosz Nowak"),
        Person(BUYER2, "Celina Wiśniewska"),
        Person(MANAGER_IT, "Igor Manager", is_approver=True),
        Person(MANAGER_ADM, "Alicja Manager", is_approver=True),
        Person(LOW, "Damian Zieliński", is_approver=True, approval_limit=D("10000")),
        Person(CFO, "Ewa Lewandowska", is_approver=True, approval_limit=D("250000")),
        Person(CEO, "Zofia Wójcik", is_approver=True),
        Person(COO, "Tomasz Kamiński", is_approver=True),
        Person(ADMIN, "Anna Kowalska", is_admin=True),
        Person(ADMIN2, "Adam Admin", is_admin=True, active=False),
        Person(SAFETY, "Stefan BHP", is_approver=True, approval_limit=D("30000")),
        Person(RICH, "Rafał Limit", is_approver=True, approval_limit=D("100000")),
        Person(IDLE, "Irena Nieaktywna", is_approver=True, active=False),
    ]
}

CC_IT, CC_ADM, CC_PROD = 100, 101, 102
MANAGERS = {CC_IT: MANAGER_IT, CC_ADM: MANAGER_ADM, CC_PROD: LOW}
CAT_IT, CAT_OFFICE = 200, 201

STEP_MANAGER = StepSpec(1, "Cost centre manager", ApproverKind.COST_CENTER_MANAGER, step_id=1)
STEP_CFO = StepSpec(2, "CFO approval", ApproverKind.USER, min_amount=D("10000"),
                    approver_user_id=CFO, step_id=2)
STEP_BOARD = StepSpec(3, "Board: IT investments", ApproverKind.GROUP, min_amount=D("50000"),
                      category_id=CAT_IT, category_code="IT", member_ids=(CFO, CEO, COO),
                      quorum=Quorum.N_OF_M, quorum_n=2, step_id=3)
ACME = [STEP_MANAGER, STEP_CFO, STEP_BOARD]
STEP_SAFETY = StepSpec(4, "Production safety", ApproverKind.USER, cost_center_id=CC_PROD,
                       cost_center_code="PROD", approver_user_id=SAFETY, step_id=4)
ACME_WITH_PROD = [*ACME, STEP_SAFETY]


def facts(amount, cc=CC_IT, category=None, requester=BUYER, manager="default") -> Facts:
    return Facts(
        amount=D(amount), currency="PLN", cost_center_id=cc, requester_id=requester,
        category_id=category,
        cost_center_manager_id=MANAGERS.get(cc) if manager == "default" else manager,
    )


def summary(plan):
    """[(step name, approver ids, required), ...] of a plan."""
    return [(t.name, set(t.approver_ids), t.required) for t in plan.tasks]


M1 = "Cost centre manager"
M2 = "CFO approval"
M3 = "Board: IT investments"
M4 = "Production safety"
BOARD = {CFO, CEO, COO}

# (id, steps, facts, expected [(step, approvers, required)])
CASES = [
    ("empty policy", [], facts("123456"), []),
    ("empty policy, zero amount", [], facts("0"), []),
    ("small, manager only", ACME, facts("500", category=CAT_IT), [(M1, {MANAGER_IT}, 1)]),
    ("zero amount still needs the manager", ACME, facts("0.00"), [(M1, {MANAGER_IT}, 1)]),
    ("9 999.99 is below the CFO threshold", ACME, facts("9999.99"), [(M1, {MANAGER_IT}, 1)]),
    ("exactly 10 000.00 reaches the CFO", ACME, facts("10000.00"),
     [(M1, {MANAGER_IT}, 1), (M2, {CFO}, 1)]),
    ("10 000.01", ACME, facts("10000.01"), [(M1, {MANAGER_IT}, 1), (M2, {CFO}, 1)]),
    ("IT 49 999.99 is below the board threshold", ACME, facts("49999.99", category=CAT_IT),
     [(M1, {MANAGER_IT}, 1), (M2, {CFO}, 1)]),
    ("IT exactly 50 000.00 reaches the board", ACME, facts("50000.00", category=CAT_IT),
     [(M1, {MANAGER_IT}, 1), (M2, {CFO}, 1), (M3, BOARD, 2)]),
    ("IT 120 000", ACME, facts("120000", category=CAT_IT),
     [(M1, {MANAGER_IT}, 1), (M2, {CFO}, 1), (M3, BOARD, 2)]),
    ("IT category but below any threshold", ACME, facts("4000", category=CAT_IT),
     [(M1, {MANAGER_IT}, 1)]),
    ("office 80 000 never goes to the board", ACME, facts("80000", category=CAT_OFFICE),
     [(M1, {MANAGER_IT}, 1), (M2, {CFO}, 1)]),
    ("no category, 80 000", ACME, facts("80000"), [(M1, {MANAGER_IT}, 1), (M2, {CFO}, 1)]),
    ("other cost centre, other manager", ACME, facts("700", cc=CC_ADM),
     [(M1, {MANAGER_ADM}, 1)]),
    ("cost-centre step applies to its cost centre", ACME_WITH_PROD, facts("700", cc=CC_PROD),
     [(M1, {LOW}, 1), (M4, {SAFETY}, 1)]),
    ("cost-centre step skips other cost centres", ACME_WITH_PROD, facts("700", cc=CC_ADM),
     [(M1, {MANAGER_ADM}, 1)]),
    ("board group shrinks when the CEO asks", ACME, facts("60000", category=CAT_IT, requester=CEO),
     [(M1, {MANAGER_IT}, 1), (M2, {CFO}, 1), (M3, {CFO, COO}, 2)]),
]


@pytest.mark.parametrize(("steps", "the_facts", "expected"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_routing_table(steps, the_facts, expected):
    plan = route(steps, the_facts, PEOPLE)
    assert plan.problem is None
    assert summary(plan) == expected
    assert [t.position for t in plan.tasks] == list(range(1, len(expected) + 1))
    assert not any(t.fallback for t in plan.tasks)


def test_positions_are_renumbered_and_steps_keep_their_rule():
    plan = route(ACME_WITH_PROD, facts("20000", cc=CC_PROD), PEOPLE)
    # step 1 falls back (LOW's limit is 10 000), step 2 CFO, step 3 skipped, step 4 safety
    assert [(t.position, t.step_id) for t in plan.tasks] == [(1, 1), (2, 2), (3, 4)]


def test_steps_are_routed_in_position_order_whatever_the_input_order():
    plan = route(list(reversed(ACME)), facts("60000", category=CAT_IT), PEOPLE)
    assert [t.name for t in plan.tasks] == [M1, M2, M3]


# ---------------------------------------------------------------- why: the stored reason


def test_reason_names_the_rule_and_the_condition_that_matched():
    plan = route(ACME, facts("60000", category=CAT_IT), PEOPLE)
    manager, cfo, board = (t.reason for t in plan.tasks)
    assert str(manager) == "Rule “Cost centre manager” applies to every requisition"
    # Amounts are typed (Money), formatted in the reader's locale when shown.
    assert "CFO approval" in str(cfo)
    assert cfo.params["amount"] == Money(Decimal("60000"), "PLN")
    assert cfo.params["threshold"] == Money(Decimal("10000"), "PLN")
    assert board.params["threshold"] == Money(Decimal("50000"), "PLN") and "category is IT" in str(board)


def test_reason_of_an_old_row_reads_like_a_new_one():
    """Rows stored before amounts were typed ("60,000.00" and a currency) still render."""
    old = reason_message("Rule “%(step)s”: amount %(amount)s %(currency)s ≥ %(threshold)s",
                         {"step": "CFO", "amount": "60,000.00", "currency": "PLN", "threshold": "10,000.00"})
    assert old.text == "Rule “%(step)s”: amount %(amount)s ≥ %(threshold)s"
    assert old.params == {"step": "CFO", "amount": Money(Decimal("60000.00"), "PLN"),
                          "threshold": Money(Decimal("10000.00"), "PLN")}


def test_reason_of_a_cost_centre_step_names_the_cost_centre():
    plan = route(ACME_WITH_PROD, facts("700", cc=CC_PROD), PEOPLE)
    assert "cost centre is PROD" in str(plan.tasks[1].reason)


# ---------------------------------------------------------------- segregation and eligibility


def test_requester_who_is_the_manager_goes_to_the_admins_and_the_reason_says_so():
    plan = route(ACME, facts("500", requester=MANAGER_IT), PEOPLE)
    (task,) = plan.tasks
    assert task.fallback
    assert set(task.approver_ids) == {ADMIN}  # ADMIN2 is inactive
    assert str(task.reason) == ("Rule “Cost centre manager” applies to every requisition; Igor "
                                "Manager raised the requisition, so the company admins decide")


def test_requester_is_never_among_the_approvers_of_any_task():
    for requester in PEOPLE:
        plan = route(ACME_WITH_PROD, facts("75000", category=CAT_IT, requester=requester), PEOPLE)
        for task in plan.tasks:
            assert requester not in task.approver_ids


def test_requester_in_the_group_shrinks_it_and_caps_the_quorum():
    all_three = replace(STEP_BOARD, quorum_n=3)
    plan = route([all_three], facts("60000", category=CAT_IT, requester=COO), PEOPLE)
    (task,) = plan.tasks
    assert set(task.approver_ids) == {CFO, CEO}
    assert task.required == 2  # 3 of 3 capped at the 2 who may decide


def test_group_quorum_all_needs_every_eligible_member():
    step = replace(STEP_BOARD, quorum=Quorum.ALL, quorum_n=None)
    plan = route([step], facts("60000", category=CAT_IT, requester=CEO), PEOPLE)
    assert plan.tasks[0].required == 2
    assert route([step], facts("60000", category=CAT_IT), PEOPLE).tasks[0].required == 3


def test_group_quorum_any_needs_one():
    step = replace(STEP_BOARD, quorum=Quorum.ANY, quorum_n=None)
    assert route([step], facts("60000", category=CAT_IT), PEOPLE).tasks[0].required == 1


def test_group_with_one_eligible_member_left_needs_that_one():
    people = {**PEOPLE, COO: replace(PEOPLE[COO], active=False)}
    plan = route([STEP_BOARD], facts("60000", category=CAT_IT, requester=CEO), people)
    (task,) = plan.tasks
    assert task.approver_ids == (CFO,)
    assert task.required == 1
    assert not task.fallback


def test_group_member_whose_limit_is_too_low_drops_out():
    people = {**PEOPLE, CFO: replace(PEOPLE[CFO], approval_limit=D("50000"))}
    plan = route([STEP_BOARD], facts("60000", category=CAT_IT), people)
    assert set(plan.tasks[0].approver_ids) == {CEO, COO}
    assert plan.tasks[0].required == 2


def test_manager_whose_limit_is_below_the_amount_is_not_eligible():
    plan = route(ACME, facts("12000", cc=CC_PROD), PEOPLE)  # LOW's limit is 10 000
    manager_task = plan.tasks[0]
    assert manager_task.fallback
    assert set(manager_task.approver_ids) == {ADMIN}
    # up to the limit the manager decides
    assert route(ACME, facts("10000.00", cc=CC_PROD), PEOPLE).tasks[0].approver_ids == (LOW,)


def test_named_user_whose_limit_is_below_the_amount_falls_back():
    plan = route([STEP_CFO], facts("300000"), PEOPLE)  # CFO's limit is 250 000
    assert plan.tasks[0].fallback
    assert set(plan.tasks[0].approver_ids) == {ADMIN}


APPROVER_LIMIT = StepSpec(1, "Any approver with a sufficient limit", ApproverKind.APPROVER_LIMIT,
                          min_amount=D("20000"), step_id=9)


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("20000", {MANAGER_IT, MANAGER_ADM, CFO, CEO, COO, SAFETY, RICH}),  # SAFETY: 30 000
        ("30000.00", {MANAGER_IT, MANAGER_ADM, CFO, CEO, COO, SAFETY, RICH}),
        ("30000.01", {MANAGER_IT, MANAGER_ADM, CFO, CEO, COO, RICH}),
        ("100000", {MANAGER_IT, MANAGER_ADM, CFO, CEO, COO, RICH}),
        ("250000.01", {MANAGER_IT, MANAGER_ADM, CEO, COO}),  # only approvers without a limit
    ],
)
def test_approver_limit_kind_picks_only_approvers_whose_limit_covers(amount, expected):
    """Approvers without a limit cover any amount; LOW (10 000) never qualifies here; inactive
    approvers and people without the approver role are never picked."""
    plan = route([APPROVER_LIMIT], facts(amount), PEOPLE)
    (task,) = plan.tasks
    assert set(task.approver_ids) == expected
    assert task.required == 1
    assert not task.fallback


def test_approver_limit_kind_never_picks_the_requester():
    plan = route([APPROVER_LIMIT], facts("20000", requester=RICH), PEOPLE)
    assert RICH not in plan.tasks[0].approver_ids


def test_inactive_named_approver_is_skipped_for_the_admins():
    people = {**PEOPLE, CFO: replace(PEOPLE[CFO], active=False)}
    plan = route(ACME, facts("15000"), people)
    assert plan.tasks[1].name == M2
    assert plan.tasks[1].fallback
    assert set(plan.tasks[1].approver_ids) == {ADMIN}


def test_unknown_or_deleted_named_approver_is_skipped_for_the_admins():
    step = replace(STEP_CFO, approver_user_id=999)
    plan = route([step], facts("15000"), PEOPLE)
    assert plan.tasks[0].fallback and set(plan.tasks[0].approver_ids) == {ADMIN}


def test_cost_centre_without_a_manager_goes_to_the_admins():
    plan = route(ACME, facts("100", manager=None), PEOPLE)
    assert plan.tasks[0].fallback and set(plan.tasks[0].approver_ids) == {ADMIN}


def test_fallback_admins_exclude_the_requester_and_need_only_one():
    people = {**PEOPLE, ADMIN2: replace(PEOPLE[ADMIN2], active=True)}
    plan = route([STEP_BOARD], facts("60000", category=CAT_IT, requester=ADMIN2),
                 {k: v for k, v in people.items() if k not in BOARD})
    (task,) = plan.tasks
    assert task.fallback
    assert task.approver_ids == (ADMIN,)
    assert task.quorum == Quorum.ANY and task.required == 1


def test_fallback_admin_whose_limit_is_too_low_is_not_routed_to():
    """An admin who is also an approver with a limit below the amount could never approve."""
    people = {
        **PEOPLE,
        ADMIN: replace(PEOPLE[ADMIN], is_approver=True, approval_limit=D("5000")),
        ADMIN2: replace(PEOPLE[ADMIN2], active=True),
    }
    plan = route(ACME, facts("7000", requester=MANAGER_IT), people)
    assert plan.tasks[0].approver_ids == (ADMIN2,)


def test_nobody_eligible_at_all_is_a_problem_naming_the_step():
    people = {pid: p for pid, p in PEOPLE.items() if not p.is_admin}
    plan = route(ACME, facts("500", requester=MANAGER_IT), people)
    assert plan.problem is not None
    assert "Cost centre manager" in str(plan.problem)


def test_nobody_eligible_in_a_later_step_is_a_problem_too():
    people = {pid: p for pid, p in PEOPLE.items() if not p.is_admin and pid != CFO}
    plan = route(ACME, facts("15000"), people)
    assert plan.problem is not None and "CFO approval" in str(plan.problem)


def test_the_only_admin_asking_is_a_problem_when_nobody_else_may_decide():
    people = {ADMIN: PEOPLE[ADMIN], BUYER: PEOPLE[BUYER]}
    plan = route([STEP_MANAGER], facts("100", requester=ADMIN, manager=ADMIN), people)
    assert plan.problem is not None


# ---------------------------------------------------------------- the building blocks


@pytest.mark.parametrize(
    ("threshold", "amount", "applies"),
    [(None, "0", True), ("10000", "9999.99", False), ("10000", "10000.00", True),
     ("10000", "10000", True), ("0", "0", True), ("50000.00", "49999.99", False)],
)
def test_threshold_is_at_or_above(threshold, amount, applies):
    step = StepSpec(1, "s", ApproverKind.USER, approver_user_id=CFO,
                    min_amount=D(threshold) if threshold else None)
    assert step_applies(step, facts(amount)) is applies


@pytest.mark.parametrize(
    ("person", "amount", "requester", "ok"),
    [
        (PEOPLE[CFO], "250000", BUYER, True),
        (PEOPLE[CFO], "250000.01", BUYER, False),
        (PEOPLE[CEO], "99999999", BUYER, True),
        (PEOPLE[CEO], "1", CEO, False),  # the requester
        (PEOPLE[IDLE], "1", BUYER, False),  # inactive
        (None, "1", BUYER, False),
    ],
)
def test_eligible(person, amount, requester, ok):
    assert eligible(person, facts(amount, requester=requester)) is ok


@pytest.mark.parametrize(
    ("required", "decisions", "outcome"),
    [
        (1, [None], TaskStatus.PENDING),
        (1, ["approve"], TaskStatus.APPROVED),
        (2, ["approve", None, None], TaskStatus.PENDING),
        (2, ["approve", "approve", None], TaskStatus.APPROVED),
        (2, ["approve", "reject", None], TaskStatus.REJECTED),
        (2, ["return", None, None], TaskStatus.RETURNED),
        (1, ["reject"], TaskStatus.REJECTED),
        (3, ["approve", "approve", None], TaskStatus.PENDING),
        (1, [], TaskStatus.PENDING),
    ],
)
def test_task_outcome(required, decisions, outcome):
    assert task_outcome(required, decisions) == outcome
