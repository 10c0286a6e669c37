"""The pure diff between two approval policy versions (portal.domain.policy_versions)."""

from __future__ import annotations

from portal.domain.policy_versions import Change, ChangeKind, diff, field_changes


def step(id_, position, name, **fields):
    base = {"id": id_, "position": position, "name": name, "min_amount": None, "cost_center": None,
            "category": None, "approver_kind": "cost_center_manager", "approver": None,
            "members": [], "quorum": None, "quorum_n": None}
    return {**base, **fields}


def policy(*steps, **settings):
    return {"settings": {"reminder_hours": 24, "escalation_hours": 72, "escalation_user": None,
                         **settings}, "steps": list(steps)}


MANAGER = step(1, 1, "Cost centre manager")
CFO = step(2, 2, "CFO approval", approver_kind="user", approver="Ewa Lewandowska",
           min_amount="10000.00")
BOARD = step(3, 3, "Board", approver_kind="group", members=["Ewa", "Zofia", "Tomasz"],
             quorum="n_of_m", quorum_n=2, min_amount="50000.00", category="IT")


def test_policy_diff_of_equal_versions_is_empty():
    assert diff(policy(MANAGER, CFO), policy(MANAGER, CFO)) == []


def test_policy_diff_names_a_changed_setting_before_and_after():
    assert diff(policy(MANAGER), policy(MANAGER, reminder_hours=48, escalation_user="Anna")) == [
        Change(ChangeKind.SETTING, "reminder_hours", 24, 48),
        Change(ChangeKind.SETTING, "escalation_user", None, "Anna"),
    ]


def test_policy_diff_lists_each_changed_field_of_a_step():
    changed = {**CFO, "min_amount": "15000.00", "name": "CFO"}
    assert diff(policy(MANAGER, CFO), policy(MANAGER, changed)) == [
        Change(ChangeKind.STEP_CHANGED, "name", "CFO approval", "CFO", step="CFO"),
        Change(ChangeKind.STEP_CHANGED, "min_amount", "10000.00", "15000.00", step="CFO"),
    ]


def test_policy_diff_of_group_members():
    smaller = {**BOARD, "members": ["Ewa", "Zofia"], "quorum_n": 1}
    changes = diff(policy(BOARD), policy(smaller))
    assert [(c.field, c.before, c.after) for c in changes] == [
        ("members", ["Ewa", "Zofia", "Tomasz"], ["Ewa", "Zofia"]), ("quorum_n", 2, 1)]


def test_policy_diff_of_an_added_and_a_removed_step():
    assert diff(policy(MANAGER, CFO), policy(MANAGER, BOARD)) == [
        Change(ChangeKind.STEP_ADDED, step="Board", after=3),
        Change(ChangeKind.STEP_REMOVED, step="CFO approval", before=2),
    ]


def test_policy_diff_removal_renumbers_without_reporting_moves():
    after = policy({**CFO, "position": 1}, {**BOARD, "position": 2})
    assert diff(policy(MANAGER, CFO, BOARD), after) == [
        Change(ChangeKind.STEP_REMOVED, step="Cost centre manager", before=1)]


def test_policy_diff_of_a_swap_reports_both_moves():
    after = policy({**CFO, "position": 1}, {**MANAGER, "position": 2})
    assert diff(policy(MANAGER, CFO), after) == [
        Change(ChangeKind.STEP_MOVED, "position", 2, 1, step="CFO approval"),
        Change(ChangeKind.STEP_MOVED, "position", 1, 2, step="Cost centre manager"),
    ]


def test_policy_diff_from_nothing_adds_every_step():
    assert [c.kind for c in diff(None, policy(MANAGER, CFO)) if c.kind != ChangeKind.SETTING] == [
        ChangeKind.STEP_ADDED, ChangeKind.STEP_ADDED]


def test_policy_changes_round_trip_as_json_and_flatten_for_the_audit_log():
    changes = diff(policy(MANAGER, CFO), policy(MANAGER, {**CFO, "min_amount": "15000.00"},
                                                 reminder_hours=12))
    assert [Change.from_json(c.to_json()) for c in changes] == changes
    assert field_changes(changes) == {"reminder_hours": [24, 12],
                                      "min_amount": ["10000.00", "15000.00"]}
