"""Approval policy versions: what changed between two snapshots of a policy.

A snapshot is plain JSON data, taken when an admin saves the policy (`snapshot` in
`portal.services.policy_versions`)::

    {"settings": {"reminder_hours": 24, "escalation_hours": 72, "escalation_user": "Anna"},
     "steps": [{"id": 3, "position": 1, "name": "CFO", "min_amount": "10000.00",
                "cost_center": "IT", "category": None, "approver_kind": "user",
                "approver": "Ewa", "members": [], "quorum": "any", "quorum_n": None, ...}]}

People, cost centres and categories are kept by their name as of then (and by id beside it),
so an old version reads the same after a rename. Steps are matched by their id: a renamed step
is a change, not a removal and an addition.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The step fields a person reads, in the order the diff lists them. The ids kept beside the
# names (`approver_user_id`, `member_ids`, ...) are for machines and are not compared.
STEP_FIELDS = (
    "name", "min_amount", "cost_center", "category", "approver_kind", "approver", "members",
    "quorum", "quorum_n",
)


class ChangeKind:
    SETTING = "setting"
    STEP_ADDED = "step_added"
    STEP_REMOVED = "step_removed"
    STEP_CHANGED = "step_changed"
    STEP_MOVED = "step_moved"


@dataclass(frozen=True)
class Change:
    """One difference: a setting, or a field of a step (`step` is its name after the change,
    or before it for a removed step)."""

    kind: str
    field: str | None = None
    before: Any = None
    after: Any = None
    step: str | None = None

    def to_json(self) -> dict:
        return {"kind": self.kind, "field": self.field, "before": self.before,
                "after": self.after, "step": self.step}

    @classmethod
    def from_json(cls, data: dict) -> Change:
        return cls(kind=data["kind"], field=data.get("field"), before=data.get("before"),
                   after=data.get("after"), step=data.get("step"))


EMPTY = {"settings": {}, "steps": []}


def _steps_by_id(snapshot: dict) -> dict[int, dict]:
    return {step["id"]: step for step in (snapshot or EMPTY).get("steps", [])}


def diff(before: dict | None, after: dict | None) -> list[Change]:
    """The changes from `before` to `after` (either may be None: an empty policy).

    Settings first (in `after`'s key order, then keys only `before` had), then steps in their
    new order: added, changed field by field, moved; removed steps last.
    """
    before, after = before or EMPTY, after or EMPTY
    changes: list[Change] = []
    old_settings, new_settings = before.get("settings", {}), after.get("settings", {})
    keys = list(new_settings) + [k for k in old_settings if k not in new_settings]
    for key in keys:
        if old_settings.get(key) != new_settings.get(key):
            changes.append(Change(ChangeKind.SETTING, key, old_settings.get(key), new_settings.get(key)))
    old_steps, new_steps = _steps_by_id(before), _steps_by_id(after)
    # A step moved when its place among the steps both versions share changed; the steps after
    # an added or removed one change their number only, which is no move of theirs.
    shared = [i for i in old_steps if i in new_steps]
    old_rank = {i: r for r, i in enumerate(sorted(shared, key=lambda i: old_steps[i]["position"]))}
    new_rank = {i: r for r, i in enumerate(sorted(shared, key=lambda i: new_steps[i]["position"]))}
    for step_id, step in sorted(new_steps.items(), key=lambda item: item[1]["position"]):
        old = old_steps.get(step_id)
        if old is None:
            changes.append(Change(ChangeKind.STEP_ADDED, step=step["name"], after=step["position"]))
            continue
        for name in STEP_FIELDS:
            if old.get(name) != step.get(name):
                changes.append(Change(ChangeKind.STEP_CHANGED, name, old.get(name), step.get(name),
                                      step=step["name"]))
        if old_rank[step_id] != new_rank[step_id]:
            changes.append(Change(ChangeKind.STEP_MOVED, "position", old["position"],
                                  step["position"], step=step["name"]))
    for step_id, old in sorted(old_steps.items(), key=lambda item: item[1]["position"]):
        if step_id not in new_steps:
            changes.append(Change(ChangeKind.STEP_REMOVED, step=old["name"], before=old["position"]))
    return changes


def field_changes(changes: list[Change]) -> dict[str, list]:
    """The changes as the audit log stores them: `{field: [before, after]}` (a step's field is
    named `<step>: <field>`; an added or removed step is `step` with its name before/after)."""
    out: dict[str, list] = {}
    for change in changes:
        if change.kind == ChangeKind.SETTING:
            out[change.field] = [change.before, change.after]
        elif change.kind == ChangeKind.STEP_ADDED:
            out["step"] = [None, change.step]
        elif change.kind == ChangeKind.STEP_REMOVED:
            out["step"] = [change.step, None]
        else:
            out[change.field] = [change.before, change.after]
    return out
