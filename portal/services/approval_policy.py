"""The approval policy table a company admin edits: ordered steps, conditions, approvers."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select, update

from portal.domain.approval import ApproverKind, Facts, Plan, Quorum
from portal.domain.approval_coverage import Band
from portal.domain.messages import N_, Msg
from portal.domain.policy_versions import field_changes
from portal.errors import ValidationProblem
from portal.extensions import db
from portal.models import (
    ApprovalPolicy,
    ApprovalPolicyVersion,
    ApprovalStep,
    ApprovalStepMember,
    ApprovalTask,
    Category,
    CostCenter,
    User,
)
from portal.money import Money
from portal.policies import can, enforce
from portal.services import audit, policy_versions
from portal.services.approvals import plan_for, policy_for, routing


def _require_admin(actor) -> None:
    enforce(actor, "approvals.policy")


def get_or_create_policy(actor) -> ApprovalPolicy:
    """The actor's company policy, created empty on first use."""
    return _begin(actor)[0]


def _begin(actor) -> tuple[ApprovalPolicy, dict | None]:
    """The policy about to be edited and a snapshot of it before the edit (None when this edit
    creates it)."""
    policy = policy_for(actor.organization_id)
    if policy is None:
        policy = ApprovalPolicy(organization_id=actor.organization_id)
        db.session.add(policy)
        db.session.flush()
        return policy, None
    return policy, policy_versions.snapshot(policy)


def _finish(actor, policy: ApprovalPolicy, before: dict | None, action: str, summary: dict) -> None:
    """Record the new version (when anything changed) and its audit event with the changes,
    before and after, in the same transaction."""
    db.session.flush()
    version = policy_versions.record(actor, policy, before)
    changes = _audit_changes(version, actor.organization.currency)
    if version is not None:
        summary = {**summary, "version": version.number, "version_id": version.id}
    audit.record(actor=actor, action=action, obj=policy, summary=summary, changes=changes)


def _audit_changes(version: ApprovalPolicyVersion | None, currency: str) -> dict:
    if version is None:
        return {}
    changes = field_changes(policy_versions.changes_of(version))
    if "min_amount" in changes:  # an amount is shown in the reader's format
        changes["min_amount"] = [Money(Decimal(v), currency) if v is not None else None
                                 for v in changes["min_amount"]]
    return {key: tuple(pair) for key, pair in changes.items()}


def may_approve(user: User) -> bool:
    """May `user` be named as an approver (a step's person, a group member, the escalation
    user, a budget owner)? The rule "approvals.assignee": approvers and admins."""
    return can(user, "approvals.assignee")


def approver_choices(users: list[User]) -> tuple[list[User], int]:
    """Of `users` (a picker's active users), those who may approve, and how many are left out
    (buyers without the approver or admin role), so the page can say why they are missing."""
    fit = [u for u in users if may_approve(u)]
    return fit, len(users) - len(fit)


def update_settings(
    actor, *, reminder_hours: int, escalation_hours: int, escalation_user: User | None,
    category_required: bool | None = None, decide_once: bool | None = None,
) -> ApprovalPolicy:
    """Reminder and escalation periods (hours) and who receives escalations (None: the admins);
    the routing rules when given (None keeps them): the header category required on submit,
    one person decides once per requisition."""
    _require_admin(actor)
    if not 1 <= reminder_hours <= 24 * 30 or not 1 <= escalation_hours <= 24 * 60:
        raise ValidationProblem(Msg(N_("Enter reminder and escalation periods in hours (1 to 720).")))
    if escalation_hours < reminder_hours:
        raise ValidationProblem(Msg(N_("Escalation must come after the first reminder.")))
    if escalation_user is not None and not escalation_user.is_active:
        raise ValidationProblem(Msg(N_("The escalation user must be active.")))
    if escalation_user is not None and not may_approve(escalation_user):
        raise ValidationProblem(Msg(N_("%(name)s is not an approver or an admin, so cannot take escalated approvals."),
                                    {"name": escalation_user.full_name}))
    policy, before = _begin(actor)
    policy.reminder_hours = reminder_hours
    policy.escalation_hours = escalation_hours
    policy.escalation_user_id = escalation_user.id if escalation_user else None
    if category_required is not None:
        policy.category_required = category_required
    if decide_once is not None:
        policy.decide_once = decide_once
    _finish(actor, policy, before, "policy.settings_changed",
            {"reminder_hours": reminder_hours, "escalation_hours": escalation_hours,
             "category_required": policy.category_required, "decide_once": policy.decide_once})
    return policy


def _check_step(*, name, approver_kind, min_amount, approver_user, members, quorum, quorum_n) -> None:
    if not name or not name.strip():
        raise ValidationProblem(Msg(N_("Name the step.")))
    if min_amount is not None and min_amount < 0:
        raise ValidationProblem(Msg(N_("The threshold cannot be negative.")))
    if approver_kind == ApproverKind.USER and approver_user is None:
        raise ValidationProblem(Msg(N_("Choose the user who approves this step.")))
    if approver_kind == ApproverKind.GROUP:
        if len(members) < 2:
            raise ValidationProblem(Msg(N_("A group needs at least two members.")))
        if quorum == Quorum.N_OF_M and not (quorum_n and 1 <= quorum_n <= len(members)):
            raise ValidationProblem(Msg(N_("Choose how many of the %(m)s members must approve."), {"m": len(members)}))
    for person in [approver_user, *members]:
        if person is not None and not person.is_active:
            raise ValidationProblem(Msg(N_("%(name)s is deactivated."), {"name": person.full_name}))
        if person is not None and not may_approve(person):
            raise ValidationProblem(Msg(N_("%(name)s is not an approver or an admin, so cannot approve."),
                                        {"name": person.full_name}))


def save_step(
    actor,
    step: ApprovalStep | None,
    *,
    name: str,
    approver_kind: ApproverKind,
    min_amount: Decimal | None = None,
    cost_center: CostCenter | None = None,
    category: Category | None = None,
    approver_user: User | None = None,
    members: list[User] | None = None,
    quorum: Quorum = Quorum.ANY,
    quorum_n: int | None = None,
) -> ApprovalStep:
    """Add a step at the end (step=None) or change one. Takes effect for the next submission;
    requisitions already in approval keep the tasks they were routed to."""
    _require_admin(actor)
    approver_kind = ApproverKind(approver_kind)
    quorum = Quorum(quorum) if approver_kind == ApproverKind.GROUP else Quorum.ANY
    members = members or []
    _check_step(name=name, approver_kind=approver_kind, min_amount=min_amount, approver_user=approver_user,
                members=members, quorum=quorum, quorum_n=quorum_n)
    policy, before = _begin(actor)
    created = step is None
    if created:
        step = ApprovalStep(organization_id=actor.organization_id,
                            position=max((s.position for s in policy.steps), default=0) + 1)
        policy.steps.append(step)
    step.name = name.strip()
    step.approver_kind = approver_kind
    step.min_amount = min_amount
    step.cost_center_id = cost_center.id if cost_center else None
    step.category_id = category.id if category else None
    step.approver_user_id = approver_user.id if approver_kind == ApproverKind.USER and approver_user else None
    step.quorum = quorum
    step.quorum_n = quorum_n if quorum == Quorum.N_OF_M else None
    step.members = [
        ApprovalStepMember(organization_id=actor.organization_id, user_id=m.id)
        for m in (members if approver_kind == ApproverKind.GROUP else [])
    ]
    _finish(actor, policy, before, "policy.step_added" if created else "policy.step_changed",
            {"step": step.name, "position": step.position})
    return step


def delete_step(actor, step: ApprovalStep) -> None:
    """Remove a step. Tasks it created keep their name and reason (the history reads the same)
    and lose only the link to the rule, which would otherwise break the foreign key."""
    _require_admin(actor)
    policy, before = _begin(actor)
    name = step.name
    db.session.execute(
        update(ApprovalTask).where(ApprovalTask.step_id == step.id).values(step_id=None)
        .execution_options(synchronize_session="fetch")
    )
    policy.steps.remove(step)
    for position, remaining in enumerate(policy.steps, start=1):
        remaining.position = position
    _finish(actor, policy, before, "policy.step_removed", {"step": name})


def move_step(actor, step: ApprovalStep, direction: int) -> None:
    """Move a step one place up (-1) or down (+1)."""
    _require_admin(actor)
    policy, before = _begin(actor)
    steps = list(policy.steps)
    index = steps.index(step)
    target = index + direction
    if not 0 <= target < len(steps):
        return
    steps[index].position, steps[target].position = steps[target].position, steps[index].position
    policy.steps.sort(key=lambda s: s.position)
    _finish(actor, policy, before, "policy.step_moved", {"step": step.name})


def preview(actor, *, amount: Decimal, cost_center: CostCenter, category: Category | None) -> Plan:
    """Where a requisition of `amount` for `cost_center` (and `category`) raised by someone
    other than the approvers would go now."""
    facts = Facts(amount=amount, currency=actor.organization.currency, cost_center_id=cost_center.id,
                  category_id=category.id if category else None, requester_id=-1,
                  cost_center_manager_id=cost_center.manager_id)
    return plan_for(actor.organization_id, facts)


def coverage(actor) -> list[Band]:
    """The amounts of the policy that no approver with a sufficient limit covers, which go to
    the company admins: the editor and its preview warn about them."""
    _require_admin(actor)
    return routing.coverage(actor.organization_id, actor.organization.currency)


def users_by_id(org_id: int, ids) -> dict[int, User]:
    ids = list(ids)
    if not ids:
        return {}
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))}
