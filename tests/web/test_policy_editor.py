"""The approval policy editor (/approvals/policy): the readable table of steps, adding,
editing, moving and deleting steps, the reminder settings, and the routing preview."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import ApprovalPolicy, ApprovalStep, AuditEvent
from portal.money import format_money
from tests.conftest import as_system
from tests.kit import HX, build_kit, rows

D = Decimal


@pytest.fixture
def kit(app, world):
    return build_kit(app, world)


@pytest.fixture
def admin(kit, login_as):
    return login_as(kit.admin)


def steps(kit) -> list[ApprovalStep]:
    db.session.expire_all()
    with as_system():
        return list(db.session.scalars(
            select(ApprovalStep).where(ApprovalStep.organization_id == kit.org.id)
            .order_by(ApprovalStep.position)))


def step_named(kit, name) -> ApprovalStep:
    (step,) = [s for s in steps(kit) if s.name == name]
    return step


def audit_actions(kit) -> list[str]:
    with as_system():
        return list(db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.organization_id == kit.org.id,
                                            AuditEvent.action.like("policy.%"))
            .order_by(AuditEvent.id)))


def pln(amount, *, spaced: bool = False) -> str:
    """`12,000.00 PLN` as the page writes it (a no-break space), or with a plain space for text
    whose whitespace was collapsed (`spaced=True`)."""
    text = format_money(D(amount), "PLN", "en")
    return text.replace("\xa0", " ") if spaced else text


def step_form(**fields):
    data = {"name": "Dyrektor finansowy", "min_amount": "", "cost_center": "", "category": "",
            "approver_kind": "user", "approver_user": "", "quorum": "any", "quorum_n": ""}
    data.update(fields)
    return data


# ---------------------------------------------------------------- the table


def test_the_policy_reads_as_a_table_of_steps(kit, admin):
    page = admin.get("/approvals/policy")
    assert page.status_code == 200
    html = page.text
    assert rows(html, "step-row") == 3
    first, second, board = (html.index(n) for n in
                            ("Cost centre manager", "CFO approval", "Board: IT investments"))
    assert first < second < board
    assert "always" in html
    assert f"amount ≥ {pln('10000')}" in html and f"amount ≥ {pln('50000')}" in html
    assert "category IT" in html
    assert "Ewa Lewandowska" in html
    assert "2 of 3: Ewa Lewandowska, Zofia Wójcik, Tomasz Kamiński" in html


def test_only_admins_edit_the_policy(kit, login_as):
    for user in (kit.buyer, kit.manager, kit.cfo):
        client = login_as(user)
        assert client.get("/approvals/policy").status_code == 403
        assert client.post("/approvals/policy/steps/new", data=step_form()).status_code == 403
        assert 'href="/approvals/policy"' not in client.get("/").text
    assert 'href="/approvals/policy"' in login_as(kit.admin).get("/").text


def test_another_companys_steps_are_404(kit, login_as, world):
    step = steps(kit)[0]
    other = login_as(world.user("admin@globex"))
    assert other.get(f"/approvals/policy/steps/{step.id}/edit").status_code == 404
    assert other.post(f"/approvals/policy/steps/{step.id}/delete").status_code == 404
    assert other.post(f"/approvals/policy/steps/{step.id}/move",
                      data={"direction": "down"}).status_code == 404
    assert len(steps(kit)) == 3
    assert rows(other.get("/approvals/policy").text, "step-row") == 0


# ---------------------------------------------------------------- adding and editing


def test_add_a_step_with_a_threshold_typed_the_polish_way(kit, admin):
    response = admin.post("/approvals/policy/steps/new", data=step_form(
        name="Zarząd", min_amount="250 000,00", cost_center=str(kit.cc_prod.id),
        approver_user=str(kit.ceo.id)))
    assert response.status_code == 302
    added = steps(kit)[-1]
    assert (added.name, added.position, added.min_amount) == ("Zarząd", 4, D("250000.00"))
    assert added.cost_center_id == kit.cc_prod.id and added.approver_user_id == kit.ceo.id
    assert audit_actions(kit)[-1] == "policy.step_added"
    html = admin.get("/approvals/policy").text
    assert "Step “Zarząd” added." in html and f"amount ≥ {pln('250000')}" in html
    assert "cost centre PROD" in html and "Zofia Wójcik" in html


def test_add_a_group_step_with_a_quorum(kit, admin):
    response = admin.post("/approvals/policy/steps/new", data=step_form(
        name="Komisja", approver_kind="group", quorum="n_of_m", quorum_n="2",
        members=[str(kit.ceo.id), str(kit.coo.id), str(kit.manager.id)]))
    assert response.status_code == 302
    added = steps(kit)[-1]
    assert added.quorum == "n_of_m" and added.quorum_n == 2
    members = sorted(m.user_id for m in added.members)
    assert members == sorted([kit.ceo.id, kit.coo.id, kit.manager.id])


@pytest.mark.parametrize("fields, message", [
    ({"name": ""}, "Name the step."),
    ({"approver_user": ""}, "Choose the user who approves this step."),
    ({"min_amount": "100.555", "approver_kind": "approver_limit"}, "at most 2 decimal places"),
    ({"min_amount": "1000000000000", "approver_kind": "approver_limit"},
     "at most 999,999,999,999.99"),
    ({"min_amount": "-5", "approver_kind": "approver_limit"}, "0 or more"),
    ({"approver_kind": "group", "members": ["CEO"]}, "A group needs at least two members."),
    ({"approver_kind": "group", "quorum": "n_of_m", "quorum_n": "3", "members": ["CEO", "COO"]},
     "how many of the 2 members"),
    ({"approver_kind": "nobody"}, "Not a valid choice"),
])
def test_invalid_steps_are_422_and_save_nothing(kit, admin, fields, message):
    ids = {"CEO": str(kit.ceo.id), "COO": str(kit.coo.id)}
    if "members" in fields:
        fields = {**fields, "members": [ids[m] for m in fields["members"]]}
    response = admin.post("/approvals/policy/steps/new", data=step_form(**fields))
    assert response.status_code == 422 and message in response.text
    assert len(steps(kit)) == 3 and audit_actions(kit).count("policy.step_added") == 3


def test_a_member_of_another_company_is_refused(kit, admin, world):
    stranger = world.user("approver@globex")
    response = admin.post("/approvals/policy/steps/new", data=step_form(
        approver_kind="group", members=[str(kit.ceo.id), str(stranger.id)]))
    assert response.status_code == 422 and len(steps(kit)) == 3


def test_edit_a_step(kit, admin):
    cfo_step = step_named(kit, "CFO approval")
    form = admin.get(f"/approvals/policy/steps/{cfo_step.id}/edit")
    assert form.status_code == 200
    assert 'value="CFO approval"' in form.text and 'value="10000.00"' in form.text
    response = admin.post(f"/approvals/policy/steps/{cfo_step.id}/edit", data=step_form(
        name="CFO", min_amount="20000", approver_kind="approver_limit"))
    assert response.status_code == 302
    changed = step_named(kit, "CFO")
    assert changed.position == 2 and changed.min_amount == D("20000")
    assert changed.approver_kind == "approver_limit" and changed.approver_user_id is None
    assert audit_actions(kit)[-1] == "policy.step_changed"
    assert "Any approver whose limit covers the amount" in admin.get("/approvals/policy").text


# ---------------------------------------------------------------- order and removal


def test_move_a_step_up_and_down(kit, admin):
    board = step_named(kit, "Board: IT investments")
    response = admin.post(f"/approvals/policy/steps/{board.id}/move", data={"direction": "up"})
    assert response.status_code == 302
    assert [s.name for s in steps(kit)] == ["Cost centre manager", "Board: IT investments",
                                            "CFO approval"]
    fragment = admin.post(f"/approvals/policy/steps/{board.id}/move", data={"direction": "up"},
                          headers=HX)
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert 'id="steps"' in fragment.text and "moved" in json.loads(fragment.headers["HX-Trigger"])[
        "flash"]["message"]
    assert [s.name for s in steps(kit)][0] == "Board: IT investments"
    # Already first: nothing changes.
    admin.post(f"/approvals/policy/steps/{board.id}/move", data={"direction": "up"})
    assert [s.position for s in steps(kit)] == [1, 2, 3]
    assert steps(kit)[0].name == "Board: IT investments"
    assert admin.post(f"/approvals/policy/steps/{board.id}/move",
                      data={"direction": "sideways"}).status_code == 400


def test_delete_a_step_renumbers_the_rest(kit, admin):
    cfo_step = step_named(kit, "CFO approval")
    response = admin.post(f"/approvals/policy/steps/{cfo_step.id}/delete", headers=HX)
    assert response.status_code == 200 and rows(response.text, "step-row") == 2
    assert [(s.position, s.name) for s in steps(kit)] == [(1, "Cost centre manager"),
                                                         (2, "Board: IT investments")]
    assert audit_actions(kit)[-1] == "policy.step_removed"


# ---------------------------------------------------------------- settings


def test_settings_are_saved(kit, admin):
    response = admin.post("/approvals/policy/settings", data={
        "reminder_hours": "12", "escalation_hours": "48", "escalation_user": str(kit.cfo.id)})
    assert response.status_code == 302
    with as_system():
        policy = db.session.scalars(select(ApprovalPolicy).where(
            ApprovalPolicy.organization_id == kit.org.id)).one()
        assert (policy.reminder_hours, policy.escalation_hours) == (12, 48)
        assert policy.escalation_user_id == kit.cfo.id


@pytest.mark.parametrize("data, message", [
    ({"reminder_hours": "48", "escalation_hours": "24"}, "Escalation must come after"),
    ({"reminder_hours": "0", "escalation_hours": "24"}, "Enter 1 to 720 hours."),
    ({"reminder_hours": "", "escalation_hours": "24"}, "Enter a number of hours."),
])
def test_invalid_settings_are_422(kit, admin, data, message):
    response = admin.post("/approvals/policy/settings", data={**data, "escalation_user": ""})
    assert response.status_code == 422 and message in response.text
    with as_system():
        policy = db.session.scalars(select(ApprovalPolicy).where(
            ApprovalPolicy.organization_id == kit.org.id)).one()
        assert (policy.reminder_hours, policy.escalation_hours) == (24, 72)


# ---------------------------------------------------------------- preview


def preview(client, amount, cost_center, category=None):
    return client.get("/approvals/policy/preview", headers=HX, query_string={
        "amount": amount, "cost_center": cost_center.id,
        "category": category.id if category else ""})


def test_preview_lists_where_a_requisition_would_go_and_why(kit, admin):
    fragment = preview(admin, "12 000", kit.cc_it)
    assert fragment.status_code == 200 and "<html" not in fragment.text
    text = " ".join(fragment.text.split())
    assert f"A requisition of {pln('12000', spaced=True)} for cost centre IT would go to:" in text
    assert "<strong>Cost centre manager</strong> — Igor Kierownik" in text
    assert "<strong>CFO approval</strong> — Ewa Lewandowska" in text
    assert "Board" not in text
    assert "applies to every requisition" in text and f"≥ {pln('10000', spaced=True)}" in text


def test_preview_of_a_large_it_purchase_includes_the_board_quorum(kit, admin):
    text = " ".join(preview(admin, "60000", kit.cc_it, kit.cat_it).text.split())
    assert "category IT" in text
    # The CFO approves the CFO step; a person decides once per requisition (the default).
    assert ("<strong>Board: IT investments</strong> — All 2: Zofia Wójcik, Tomasz Kamiński") in text
    assert "Ewa Lewandowska already decides on step “CFO approval”" in text


def test_preview_says_when_nothing_applies(kit, admin):
    for step in steps(kit):
        admin.post(f"/approvals/policy/steps/{step.id}/delete")
    text = preview(admin, "500", kit.cc_it).text
    assert "approved without approval" in text


def test_preview_refuses_bad_input(kit, admin):
    response = admin.get("/approvals/policy/preview", headers=HX,
                         query_string={"amount": "abc", "cost_center": kit.cc_it.id})
    assert response.status_code == 422 and "Enter an amount" in response.text
    whole = admin.get("/approvals/policy/preview",
                      query_string={"amount": "500", "cost_center": kit.cc_it.id})
    assert whole.status_code == 200 and "<html" in whole.text and "would go to:" in whole.text
