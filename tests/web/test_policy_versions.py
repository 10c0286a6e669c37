"""Approval policy versions: every edit is a numbered version (who, when, what changed), a
requisition keeps the version it was routed by, the policy page shows the history and a
version's page the diff."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import delete, select

from portal.domain.approval import ApproverKind
from portal.extensions import db
from portal.models import ApprovalPolicyVersion, AuditEvent, Requisition
from portal.money import format_money
from portal.services import approval_policy, approvals, policy_versions
from tests.conftest import as_system
from tests.kit import HX, acting_for, build_kit, draft, rows, services

D = Decimal


@pytest.fixture
def kit(app, world):
    return build_kit(app, world)


@pytest.fixture
def admin(kit, login_as):
    return login_as(kit.admin)


def versions(kit) -> list[ApprovalPolicyVersion]:
    db.session.expire_all()
    with as_system():
        return list(db.session.scalars(
            select(ApprovalPolicyVersion).where(ApprovalPolicyVersion.organization_id == kit.org.id)
            .order_by(ApprovalPolicyVersion.number)))


def step_named(kit, name):
    (step,) = [s for s in approvals.policy_for(kit.org.id).steps if s.name == name]
    return step


def pln(amount) -> str:
    return format_money(D(amount), "PLN", "en")


def cfo_form(kit, **fields):
    data = {"name": "CFO approval", "min_amount": "15 000,00", "cost_center": "", "category": "",
            "approver_kind": "user", "approver_user": str(kit.cfo.id), "quorum": "any",
            "quorum_n": ""}
    return {**data, **fields}


def test_policy_edit_creates_a_version_with_who_when_and_before_after(kit, admin):
    before = versions(kit)
    assert [v.number for v in before] == list(range(1, len(before) + 1))  # no gaps
    with acting_for(kit.org):
        cfo_step = step_named(kit, "CFO approval")
    response = admin.post(f"/approvals/policy/steps/{cfo_step.id}/edit", data=cfo_form(kit))
    assert response.status_code == 302
    after = versions(kit)
    assert len(after) == len(before) + 1
    latest = after[-1]
    assert latest.number == before[-1].number + 1 and latest.created_by_id == kit.admin.id
    assert latest.created_at is not None
    assert [(c["kind"], c["field"], c["before"], c["after"], c["step"]) for c in latest.changes] == [
        ("step_changed", "min_amount", "10000.00", "15000.00", "CFO approval")]
    cfo = next(s for s in latest.snapshot["steps"] if s["name"] == "CFO approval")
    assert cfo["approver"] == "Ewa Lewandowska" and cfo["approver_user_id"] == kit.cfo.id
    # The audit event carries the same change, before and after, and the version number.
    with as_system():
        event = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "policy.step_changed").order_by(AuditEvent.id.desc())).first()
    assert event.summary["version"] == latest.number
    assert set(event.summary["changes"]) == {"min_amount"}


def test_policy_save_without_a_change_makes_no_version(kit, admin):
    count = len(versions(kit))
    with acting_for(kit.org):
        cfo_step = step_named(kit, "CFO approval")
    admin.post(f"/approvals/policy/steps/{cfo_step.id}/edit", data=cfo_form(kit, min_amount="10000"))
    assert len(versions(kit)) == count


def test_policy_versions_cover_settings_moves_and_removals(kit, admin):
    start = versions(kit)[-1].number
    with acting_for(kit.org):
        board = step_named(kit, "Board: IT investments")
        manager = step_named(kit, "Cost centre manager")
    admin.post("/approvals/policy/settings", data={"reminder_hours": "48", "escalation_hours": "72",
                                                   "escalation_user": str(kit.admin.id),
                                                   "decide_once": "y"})
    admin.post(f"/approvals/policy/steps/{board.id}/move", data={"direction": "up"})
    admin.post(f"/approvals/policy/steps/{manager.id}/delete")
    made = [v for v in versions(kit) if v.number > start]
    kinds = [[(c["kind"], c["field"]) for c in v.changes] for v in made]
    assert kinds[0] == [("setting", "reminder_hours")]
    assert ("step_moved", "position") in kinds[1]
    assert kinds[2] == [("step_removed", None)]
    assert [v.number for v in made] == [start + 1, start + 2, start + 3]


def test_a_policy_that_predates_versions_gets_its_state_as_version_one(kit, app):
    with as_system():
        db.session.execute(delete(ApprovalPolicyVersion).where(
            ApprovalPolicyVersion.organization_id == kit.org.id))
        db.session.commit()
    with services(app), acting_for(kit.org):
        cfo_step = step_named(kit, "CFO approval")
        approval_policy.save_step(kit.admin, cfo_step, name="CFO", approver_kind=ApproverKind.USER,
                                  min_amount=D("10000"), approver_user=kit.cfo)
        db.session.commit()
    first, second = versions(kit)
    assert (first.number, first.created_by_id, first.changes) == (1, None, [])
    assert [s["name"] for s in first.snapshot["steps"]][1] == "CFO approval"
    assert second.changes[0]["before"] == "CFO approval" and second.changes[0]["after"] == "CFO"


def test_a_requisition_keeps_the_version_it_was_routed_by(kit, app):
    with services(app), acting_for(kit.org):
        first = draft(kit, "12000")
        approvals.submit(first, kit.buyer)
        routed_by = first.policy_version_id
        assert routed_by == policy_versions.latest(kit.policy.id).id
        approval_policy.save_step(kit.admin, step_named(kit, "CFO approval"), name="CFO approval",
                                  approver_kind=ApproverKind.USER, min_amount=D("20000"),
                                  approver_user=kit.cfo)
        second = draft(kit, "12000")
        approvals.submit(second, kit.buyer)
        db.session.commit()
        first_id, second_id = first.id, second.id
    with as_system():
        db.session.expire_all()
        first, second = (db.session.get(Requisition, i) for i in (first_id, second_id))
        assert first.policy_version_id == routed_by
        assert second.policy_version_id != routed_by
        assert db.session.get(ApprovalPolicyVersion, second.policy_version_id).number == \
            db.session.get(ApprovalPolicyVersion, routed_by).number + 1


def test_policy_page_shows_the_history_and_a_version_shows_its_diff(kit, admin):
    with acting_for(kit.org):
        cfo_step = step_named(kit, "CFO approval")
    admin.post(f"/approvals/policy/steps/{cfo_step.id}/edit", data=cfo_form(kit))
    page = admin.get("/approvals/policy").text
    latest = versions(kit)[-1]
    assert rows(page, "version-row") >= 2
    assert f"Version {latest.number}" in page and "in force" in page
    assert "Anna Kowalska" in page  # who saved it
    assert f"{pln('10000')}</del> → <ins>{pln('15000')}" in page
    diff = admin.get(f"/approvals/policy/versions/{latest.id}")
    assert diff.status_code == 200
    assert rows(diff.text, "change-row") == 1
    assert "Step “CFO approval”: Amount at or above" in diff.text
    assert pln("10000") in diff.text and pln("15000") in diff.text
    assert rows(diff.text, "snapshot-step") == 3 and 'rel="prev"' in diff.text


def test_moving_a_step_with_htmx_refreshes_the_history_too(kit, admin):
    with acting_for(kit.org):
        board = step_named(kit, "Board: IT investments")
    response = admin.post(f"/approvals/policy/steps/{board.id}/move", data={"direction": "up"},
                          headers=HX)
    assert 'id="steps"' in response.text and 'id="history" ' in response.text
    assert 'hx-swap-oob="true"' in response.text and "<html" not in response.text
    assert "Step “Board: IT investments” moved" in response.text


def test_another_companys_policy_version_is_404(kit, login_as, world):
    latest = versions(kit)[-1]
    other = login_as(world.user("admin@globex"))
    assert other.get(f"/approvals/policy/versions/{latest.id}").status_code == 404
    for user in (kit.buyer, kit.cfo):
        assert login_as(user).get(f"/approvals/policy/versions/{latest.id}").status_code == 403


def test_the_requisition_page_names_the_version_it_was_routed_by(kit, app, login_as):
    with services(app), acting_for(kit.org):
        req = draft(kit, "12000")
        approvals.submit(req, kit.buyer)
        db.session.commit()
        req_id, version = req.id, policy_versions.latest(kit.policy.id)
        version_id, number = version.id, version.number
    admin_view = login_as(kit.admin).get(f"/requisitions/{req_id}").text
    assert f"Routed by approval policy version {number}." in admin_view
    assert f'href="/approvals/policy/versions/{version_id}"' in admin_view
    buyer_view = login_as(kit.buyer).get(f"/requisitions/{req_id}").text
    assert f"Routed by approval policy version {number}." in buyer_view
    assert "/approvals/policy/versions/" not in buyer_view


def test_a_version_counts_what_it_routed_up_to_a_cap(kit, app, login_as, monkeypatch):
    """A version may route hundreds of thousands of requisitions: the page counts a bounded
    walk of the index and says "N or more" past it."""
    with services(app), acting_for(kit.org):
        for _ in range(3):
            approvals.submit(draft(kit, "12000"), kit.buyer)
        db.session.commit()
        version_id = policy_versions.latest(kit.policy.id).id
    admin = login_as(kit.admin)
    assert "3 requisitions were routed by this version." in \
        admin.get(f"/approvals/policy/versions/{version_id}").text
    monkeypatch.setattr(policy_versions, "ROUTED_CAP", 2)
    assert "2 or more requisitions were routed by this version." in \
        admin.get(f"/approvals/policy/versions/{version_id}").text
