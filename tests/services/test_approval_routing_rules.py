"""Submitting under the routing rules of issue 8: line categories, the header category a
company may require, why a step fell to the admins, and one person deciding once."""

from __future__ import annotations

from decimal import Decimal

import pytest

from portal.domain.approval import ApproverKind, reason_message
from portal.errors import ValidationProblem
from portal.extensions import db
from portal.services import approval_policy, approvals
from tests.factories import make_requisition
from tests.kit import acme_kit, acting_for, draft, services, submitted

D = Decimal


@pytest.fixture
def kit(app, world):
    with services(app):
        built = acme_kit(world)
        with acting_for(world.acme):
            yield built


def _settings(kit, **rules):
    approval_policy.update_settings(kit.admin, reminder_hours=24, escalation_hours=72,
                                    escalation_user=kit.admin, **rules)


def _reasons(req):
    return [str(reason_message(t.reason, t.reason_params)) for t in approvals.tasks_of(req)]


def _route(req):
    return [(t.name, {a.user for a in t.assignments}) for t in approvals.tasks_of(req)]


def test_a_laptop_line_sends_an_it_purchase_to_the_board_without_a_header_category(kit):
    """Issue 8 point 1: 60 000 PLN, cost centre IT, no category, one line a catalogue laptop."""
    req = make_requisition(kit.buyer, cost_center=kit.cc_it, title="Stanowiska",
                           lines=[("Biurka", "1", "50000", "0"), kit.laptop])
    assert req.category_id is None and req.gross_total >= D("50000")
    approvals.submit(req, kit.buyer)
    assert [name for name, _ in _route(req)] == [
        "Cost centre manager", "CFO approval", "Board: IT investments"]
    assert "category is IT (line 2 “Laptop 14\"”)" in _reasons(req)[2]


def test_the_board_is_not_asked_when_no_line_is_in_it(kit):
    req = make_requisition(kit.buyer, cost_center=kit.cc_it,
                           lines=[("Biurka", "1", "60000", "0"), kit.paper])
    approvals.submit(req, kit.buyer)
    assert "Board: IT investments" not in [name for name, _ in _route(req)]


def test_a_company_may_require_the_header_category(kit):
    _settings(kit, category_required=True)
    req = draft(kit, "500")
    with pytest.raises(ValidationProblem) as refused:
        approvals.submit(req, kit.buyer)
    assert "Category" in str(refused.value.message)
    req.category = kit.cat_office
    approvals.submit(req, kit.buyer)
    assert approvals.tasks_of(req)


def test_the_header_category_is_optional_by_default(kit):
    assert kit.policy.category_required is False
    assert approvals.tasks_of(submitted(kit, "500"))


def test_a_manager_whose_limit_is_too_low_falls_to_the_admin_and_the_reason_says_why(kit):
    """Issue 8 point 2: CFO threshold 15 000, 12 000 PLN for a cost centre whose manager may
    approve up to 10 000: only the admin decides, and the reason says it fell back and why."""
    cfo_step = next(s for s in kit.policy.steps if s.name == "CFO approval")
    approval_policy.save_step(kit.admin, cfo_step, name=cfo_step.name,
                              approver_kind=ApproverKind.USER, min_amount=D("15000"),
                              approver_user=kit.cfo)
    req = submitted(kit, "12000", cost_center=kit.cc_prod)
    assert _route(req) == [("Cost centre manager", {kit.admin})]
    (reason,) = _reasons(req)
    assert reason == ("Rule “Cost centre manager” applies to every requisition; Damian Zieliński "
                      "may approve up to 10000.00 PLN, less than 12000.00 PLN, so the company "
                      "admins decide")


def test_the_cfo_managing_the_cost_centre_decides_once_by_default(kit):
    """Issue 8 point 25: the CFO manages ADM; her own step goes to the admins instead."""
    assert kit.policy.decide_once is True
    kit.cc_adm.manager = kit.cfo
    db.session.flush()
    req = submitted(kit, "12000", cost_center=kit.cc_adm)
    assert _route(req) == [("Cost centre manager", {kit.cfo}), ("CFO approval", {kit.admin})]
    assert "Ewa Lewandowska already decides on step “Cost centre manager”" in _reasons(req)[1]


def test_deciding_twice_may_be_allowed_by_the_company(kit):
    _settings(kit, decide_once=False)
    kit.cc_adm.manager = kit.cfo
    db.session.flush()
    req = submitted(kit, "12000", cost_center=kit.cc_adm)
    assert _route(req) == [("Cost centre manager", {kit.cfo}), ("CFO approval", {kit.cfo})]


def test_the_board_leaves_out_the_cfo_who_approved_the_cfo_step(kit):
    req = submitted(kit, "60000", category=kit.cat_it)
    board = approvals.tasks_of(req)[2]
    assert {a.user for a in board.assignments} == {kit.ceo, kit.coo}
    assert board.required == 2


def test_settings_keep_the_routing_rules_when_not_given(kit):
    _settings(kit, category_required=True, decide_once=False)
    _settings(kit)
    policy = approvals.policy_for(kit.org.id)
    assert (policy.category_required, policy.decide_once) == (True, False)


def test_coverage_lists_the_bands_that_fall_to_the_admins(kit):
    bands = {(b.step, b.cost_center, b.above) for b in approval_policy.coverage(kit.admin)}
    assert ("Cost centre manager", "PROD", D("10000")) in bands  # approver@acme: 10 000
    assert ("CFO approval", None, D("250000")) in bands
    assert not [b for b in bands if b[1] in ("IT", "ADM")]  # Igor Kierownik: no limit
