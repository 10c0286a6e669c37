"""Pickers of people who approve (a step's person and group, the escalation user, a budget
owner, a cost centre's manager) offer only approvers and admins, say why the others are
missing, and the services refuse a buyer sent anyway."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.domain.budget import OverrunPolicy
from portal.domain.roles import Role
from portal.errors import ValidationProblem
from portal.extensions import db
from portal.models import ApprovalStep, User
from portal.services import budgets
from tests.conftest import as_system
from tests.kit import acting_for, build_kit, services

D = Decimal


@pytest.fixture
def kit(app, world):
    return build_kit(app, world)


@pytest.fixture
def admin(kit, login_as):
    return login_as(kit.admin)


def buyers_only(kit) -> list[User]:
    """Active people of Acme who are neither approvers nor admins."""
    with as_system():
        people = db.session.scalars(select(User).where(User.organization_id == kit.org.id)).all()
        return [u for u in people if u.is_active and not u.has_role(Role.APPROVER, Role.ADMIN)]


def option(user) -> str:
    return f'value="{user.id}"'


def test_step_pickers_offer_only_approvers_and_admins_and_say_why(kit, admin):
    left_out = buyers_only(kit)
    assert kit.buyer in left_out and len(left_out) >= 2
    html = admin.get("/approvals/policy/steps/new").text
    person = html.split('name="approver_user"')[1].split("</select>")[0]
    members = {int(v) for v in re.findall(r'<input[^>]*name="members"[^>]*value="(\d+)"', html)}
    for user in left_out:
        assert option(user) not in person and user.id not in members, user.email
    for user in (kit.cfo, kit.ceo, kit.manager, kit.admin):
        assert option(user) in person and user.id in members
    note = html.split('data-testid="picker-note"')[1].split("</p>")[0]
    assert (f"Only users with the approver or admin role are listed; {len(left_out)} buyers are not."
            in note)
    assert 'href="/admin/users"' in note


def test_a_buyer_sent_as_a_group_member_is_refused(kit, admin):
    response = admin.post("/approvals/policy/steps/new", data={
        "name": "Komisja", "min_amount": "", "cost_center": "", "category": "",
        "approver_kind": "group", "approver_user": "", "quorum": "any", "quorum_n": "",
        "members": [str(kit.ceo.id), str(kit.buyer.id)]})
    assert response.status_code == 422
    assert "Bartosz Nowak is not an approver or an admin, so cannot approve." in response.text
    with as_system():
        assert db.session.scalar(select(ApprovalStep).where(ApprovalStep.name == "Komisja")) is None


def test_a_buyer_as_escalation_user_is_refused(kit, admin):
    response = admin.post("/approvals/policy/settings", data={
        "reminder_hours": "24", "escalation_hours": "72", "escalation_user": str(kit.buyer.id),
        "decide_once": "y"})
    assert response.status_code == 422
    assert "cannot take escalated approvals" in response.text


def test_budget_owner_picker_offers_only_approvers_and_admins(kit, admin):
    left_out = buyers_only(kit)
    html = admin.get("/budgets/new").text
    owner_select = html.split('name="owner_id"')[1].split("</select>")[0]
    for user in left_out:
        assert option(user) not in owner_select
    assert option(kit.cfo) in owner_select and option(kit.admin) in owner_select
    assert f"{len(left_out)} buyers are not." in html


def test_a_buyer_as_budget_owner_is_refused(kit, app):
    with services(app), acting_for(kit.org), pytest.raises(ValidationProblem) as refused:
        budgets.create_budget(kit.admin, cost_center=kit.cc_it, name="IT 2031", period_kind="year",
                              starts_on=date(2031, 1, 1),
                              ends_on=date(2031, 12, 31), amount=D("1000"),
                              currency="PLN", overrun_policy=OverrunPolicy.ESCALATE,
                              owner=kit.buyer)
    assert "approver or an admin" in str(refused.value.message)


def test_cost_centre_manager_picker_offers_only_approvers_and_admins(kit, admin):
    left_out = buyers_only(kit)
    html = admin.get(f"/cost-centers/{kit.cc_it.id}/edit").text
    manager_select = html.split('name="manager_id"')[1].split("</select>")[0]
    for user in left_out:
        assert option(user) not in manager_select
    assert option(kit.manager) in manager_select
    assert f"{len(left_out)} buyers are not." in html
