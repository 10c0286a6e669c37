"""Approval policy versions: every saved edit of the policy is a numbered version, and a
requisition keeps the version it was routed by.

The editing services (`portal.services.approval_policy`) take a snapshot before they change
anything and call `record` after, in the same transaction; the diff is the pure
`portal.domain.policy_versions.diff`.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.domain.policy_versions import Change, diff
from portal.extensions import db
from portal.models import ApprovalPolicy, ApprovalPolicyVersion, Requisition
from portal.services.paging import count_upto

# Columns of ApprovalPolicy that are bookkeeping, not settings an admin chose.
_NOT_SETTINGS = {"id", "organization_id", "created_at", "updated_at", "escalation_user_id"}


def _plain(value):
    if isinstance(value, Decimal):  # as the column stores it, whether read or just typed
        return str(value.quantize(Decimal("0.01")))
    if hasattr(value, "value"):  # enums
        return value.value
    return value


def snapshot(policy: ApprovalPolicy | None) -> dict:
    """The policy as plain JSON data: its settings and its steps, with people, cost centres
    and categories by name (and id) as they are now."""
    if policy is None:
        return {"settings": {}, "steps": []}
    settings = {
        column.key: _plain(getattr(policy, column.key))
        for column in ApprovalPolicy.__mapper__.column_attrs
        if column.key not in _NOT_SETTINGS
    }
    settings["escalation_user"] = policy.escalation_user.full_name if policy.escalation_user else None
    steps = []
    for step in sorted(policy.steps, key=lambda s: s.position):
        members = sorted(step.members, key=lambda m: m.user.full_name)
        steps.append({
            "id": step.id,
            "position": step.position,
            "name": step.name,
            "min_amount": _plain(step.min_amount),
            "cost_center": step.cost_center.code if step.cost_center else None,
            "cost_center_id": step.cost_center_id,
            "category": step.category.name if step.category else None,
            "category_id": step.category_id,
            "approver_kind": _plain(step.approver_kind),
            "approver": step.approver_user.full_name if step.approver_user else None,
            "approver_user_id": step.approver_user_id,
            "members": [m.user.full_name for m in members],
            "member_ids": [m.user_id for m in members],
            "quorum": _plain(step.quorum) if _plain(step.approver_kind) == "group" else None,
            "quorum_n": step.quorum_n,
        })
    return {"settings": settings, "steps": steps}


def latest(policy_id: int) -> ApprovalPolicyVersion | None:
    return db.session.scalars(
        select(ApprovalPolicyVersion).where(ApprovalPolicyVersion.policy_id == policy_id)
        .order_by(ApprovalPolicyVersion.number.desc()).limit(1)
    ).first()


def _lock(policy: ApprovalPolicy) -> None:
    # Two admins saving at once must not both take number n+1: the policy row is the lock
    # (PostgreSQL; SQLite writes one transaction at a time anyway).
    db.session.execute(
        select(ApprovalPolicy.id).where(ApprovalPolicy.id == policy.id).with_for_update()
    )


def _add(policy: ApprovalPolicy, number: int, actor, data: dict, changes: list[Change]):
    version = ApprovalPolicyVersion(
        organization_id=policy.organization_id, policy_id=policy.id, number=number,
        created_by_id=actor.id if actor is not None else None, snapshot=data,
        changes=[c.to_json() for c in changes],
    )
    db.session.add(version)
    db.session.flush()
    return version


def record(actor, policy: ApprovalPolicy, before: dict | None) -> ApprovalPolicyVersion | None:
    """After an edit of `policy` (flushed): a new version when the policy now differs from its
    latest version, with what changed. Returns it, or None when nothing changed.

    `before` is the snapshot taken before the edit; when the policy has no version yet (it
    predates versioning), that state becomes version 1, by nobody, so the first edit has a
    "before". Pass None for a policy created by this very edit.
    """
    _lock(policy)
    # The edit set foreign keys (cost_center_id, user_id...): read the names they point to now.
    for step in policy.steps:
        db.session.expire(step, ["cost_center", "category", "approver_user"])
        for member in step.members:
            db.session.expire(member, ["user"])
    db.session.expire(policy, ["escalation_user"])
    after = snapshot(policy)
    last = latest(policy.id)
    if last is None and before is not None:
        last = _add(policy, 1, None, before, [])
    previous = last.snapshot if last is not None else None
    changes = diff(previous, after)
    if not changes:
        return None
    return _add(policy, (last.number if last else 0) + 1, actor, after, changes)


def current_version_id(org_id: int, *, policy: ApprovalPolicy | None = None) -> int | None:
    """The id of the version routing uses now (its latest), written first when the policy
    predates versioning; None when the company has no policy. `policy`: the company's policy
    when the caller has already loaded it."""
    if policy is None:
        policy = db.session.scalars(
            select(ApprovalPolicy).where(ApprovalPolicy.organization_id == org_id)
        ).first()
    if policy is None:
        return None
    last = latest(policy.id)
    if last is None:
        _lock(policy)
        last = _add(policy, 1, None, snapshot(policy), [])
    return last.id


def history(policy: ApprovalPolicy | None, limit: int = 50) -> list[ApprovalPolicyVersion]:
    """The latest versions, newest first, with who saved them."""
    if policy is None:
        return []
    return list(db.session.scalars(
        select(ApprovalPolicyVersion).where(ApprovalPolicyVersion.policy_id == policy.id)
        .options(joinedload(ApprovalPolicyVersion.created_by))
        .order_by(ApprovalPolicyVersion.number.desc()).limit(limit)
    ))


def get_version(version_id: int) -> ApprovalPolicyVersion | None:
    """A version of the current company's policy (tenant-scoped), or None."""
    return db.session.scalars(
        select(ApprovalPolicyVersion).where(ApprovalPolicyVersion.id == version_id)
        .options(joinedload(ApprovalPolicyVersion.created_by))
    ).first()


def changes_of(version: ApprovalPolicyVersion) -> list[Change]:
    """What this version changed from the one before it."""
    return [Change.from_json(c) for c in version.changes or []]


def neighbours(version: ApprovalPolicyVersion) -> tuple[int | None, int | None]:
    """Ids of the previous and the next version, for links between them."""
    def one(cond, order):
        return db.session.scalar(
            select(ApprovalPolicyVersion.id)
            .where(ApprovalPolicyVersion.policy_id == version.policy_id, cond).order_by(order).limit(1)
        )
    return (one(ApprovalPolicyVersion.number < version.number, ApprovalPolicyVersion.number.desc()),
            one(ApprovalPolicyVersion.number > version.number, ApprovalPolicyVersion.number))


# A version may route hundreds of thousands of requisitions: count on the index up to here.
ROUTED_CAP = 1000


def routed_count(version: ApprovalPolicyVersion) -> int:
    """How many requisitions were last routed by this version, counted no further than
    ROUTED_CAP + 1 along `ix_requisitions_policy_version_id` (the page says "1000 or more")."""
    return count_upto(select(Requisition.id).where(Requisition.policy_version_id == version.id),
                      ROUTED_CAP)
