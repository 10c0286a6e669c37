"""The routing rules on the pages (issue 8, points 1, 2 and 25): the policy editor warns about
amounts no approver covers, the preview says why a step falls to the admins, the two routing
settings are saved from the editor, and the requisition form marks a required category."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.domain.approval import ApproverKind
from portal.domain.requisition import RequisitionStatus
from portal.extensions import db
from portal.models import ApprovalPolicy, Requisition
from portal.services import approval_policy
from tests.conftest import as_system
from tests.kit import HX, as_acme, build_kit, make_draft

D = Decimal


@pytest.fixture
def kit(app, world):
    return build_kit(app, world)


@pytest.fixture
def admin(kit, login_as):
    return login_as(kit.admin)


def _text(response) -> str:
    return " ".join(response.text.split())


def _policy(kit) -> ApprovalPolicy:
    db.session.expire_all()
    with as_system():
        return db.session.scalars(select(ApprovalPolicy).where(
            ApprovalPolicy.organization_id == kit.org.id)).one()


def test_policy_page_warns_about_amounts_no_approver_covers(kit, admin):
    text = _text(admin.get("/approvals/policy"))
    assert "Amounts no approver covers" in text
    # PROD's manager (approver@acme) may approve up to 10 000; the CFO up to 250 000.
    assert ("Step “Cost centre manager”, cost centre PROD: requisitions above 10,000.00 PLN go "
            "to the company admins (Damian Zieliński may approve up to 10,000.00 PLN)") in text
    assert "Step “CFO approval”: requisitions above 250,000.00 PLN go to the company admins" in text
    assert "cost centre IT:" not in text  # its manager has no limit


def test_preview_says_why_a_step_falls_to_the_admin(kit, app, admin):
    """The issue's scenario: CFO threshold 15 000, 12 000 PLN for a cost centre whose manager
    may approve up to 10 000: only the admin approves, and the preview says why."""
    with as_acme(app, kit):
        step = next(s for s in approval_policy.get_or_create_policy(kit.admin).steps
                    if s.name == "CFO approval")
        approval_policy.save_step(kit.admin, step, name=step.name, approver_kind=ApproverKind.USER,
                                  min_amount=D("15000"), approver_user=kit.cfo)
    response = admin.get("/approvals/policy/preview", headers=HX, query_string={
        "amount": "12000", "cost_center": kit.cc_prod.id, "category": ""})
    text = _text(response)
    assert response.status_code == 200
    assert "<strong>Cost centre manager</strong> — Anna Kowalska" in text
    assert "CFO approval" not in text.split("Amounts no approver covers")[0]
    assert ("Damian Zieliński may approve up to 10,000.00 PLN, less than 12,000.00 PLN, so the "
            "company admins decide") in text
    assert 'data-testid="preview-coverage"' in text and "cost centre PROD" in text


def test_routing_settings_are_saved_from_the_editor(kit, admin):
    page = _text(admin.get("/approvals/policy"))
    assert "A person decides once per requisition" in page
    response = admin.post("/approvals/policy/settings", data={
        "reminder_hours": "24", "escalation_hours": "72", "escalation_user": "",
        "category_required": "y"})  # decide_once left unticked
    assert response.status_code in (302, 303)
    policy = _policy(kit)
    assert (policy.category_required, policy.decide_once) == (True, False)
    page = admin.get("/approvals/policy").text
    boxes = {found.group(1): tag for tag in re.findall(r"<input[^>]*>", page)
             if (found := re.search(r'name="(category_required|decide_once)"', tag))}
    assert "checked" in boxes["category_required"] and "checked" not in boxes["decide_once"]


def test_requisition_form_requires_the_category_when_the_company_does(kit, app, login_as):
    buyer = login_as(kit.buyer)
    assert "Optional. Some approval rules depend on it." in buyer.get("/requisitions/new").text
    with as_acme(app, kit):
        approval_policy.update_settings(kit.admin, reminder_hours=24, escalation_hours=72,
                                        escalation_user=None, category_required=True)
    text = _text(buyer.get("/requisitions/new"))
    assert "Required by your company: approval rules depend on it." in text
    response = buyer.post("/requisitions/new", data={
        "title": "Laptopy", "cost_center_id": kit.cc_it.id, "category_id": "", "currency": "PLN"})
    assert response.status_code == 422
    assert "Choose a category: your company requires one." in response.text


def test_submit_without_the_required_category_is_refused_naming_the_field(kit, app, login_as):
    with as_acme(app, kit):
        approval_policy.update_settings(kit.admin, reminder_hours=24, escalation_hours=72,
                                        escalation_user=None, category_required=True)
    req_id = make_draft(app, kit.buyer, kit.cc_it)
    buyer = login_as(kit.buyer)
    response = buyer.post(f"/requisitions/{req_id}/submit", follow_redirects=True)
    assert "Choose the requisition&#39;s Category before submitting" in response.text
    with as_system():
        assert db.session.get(Requisition, req_id).status == RequisitionStatus.DRAFT
