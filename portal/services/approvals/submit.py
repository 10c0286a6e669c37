"""Submitting a draft: route it, create this round's tasks, tell the first approvers."""

from __future__ import annotations

from portal.domain.approval import TaskStatus
from portal.domain.messages import N_, Msg
from portal.domain.requisition import Action
from portal.errors import ValidationProblem
from portal.extensions import db
from portal.models import ApprovalAssignment, ApprovalTask, Requisition
from portal.models.base import utcnow
from portal.money import Money
from portal.policies import enforce
from portal.services import audit, policy_versions
from portal.services.approvals.decisions import final_approval
from portal.services.approvals.notices import notify_active
from portal.services.approvals.routing import company_users, facts_for, plan_for, policy_and_version
from portal.services.locks import lock_requisition, note_task
from portal.services.requisitions import move


def submit(req: Requisition, actor) -> Requisition:
    """Submit a draft: route it, create this round's tasks, notify the first approvers.

    Only the requester submits, only a draft (the policy "requisitions.submit", from the
    transition table). A requisition with no lines, or that no one can approve, is refused
    (ValidationProblem), and so is one without a category when the company requires it.
    Resubmitting after a return starts a new round from the first step.
    When no policy step applies, it is approved at once and the timeline says why.
    Under the requisition's row lock: a second Submit finds it no longer a draft.
    """
    lock_requisition(req, tasks=False, contents=True)  # with its lines and cost centre
    enforce(actor, "requisitions.submit", req)
    if not req.lines:
        raise ValidationProblem(Msg(N_("Add at least one line before submitting.")))
    if not req.cost_center.is_active:
        raise ValidationProblem(Msg(N_("This cost centre is no longer active.")))
    policy, version_id = policy_and_version(req.organization_id)
    if policy is not None and policy.category_required and req.category_id is None:
        raise ValidationProblem(Msg(N_("Choose the requisition's Category before submitting: "
                                       "your company requires it.")))
    # The users stay in the session while their tasks are made: the approvers told below are
    # not read again.
    users = company_users(req.organization_id)
    plan = plan_for(req.organization_id, facts_for(req), policy=policy, users=users)
    if plan.problem is not None:
        raise ValidationProblem(plan.problem)
    if policy is not None and version_id is None:
        # A policy from before versioning: its first version is written now (before the
        # changes below, which its query would otherwise flush in a second UPDATE).
        version_id = policy_versions.current_version_id(req.organization_id, policy=policy)
    move(req, Action.SUBMIT)
    req.approval_round += 1
    req.submitted_at = utcnow()
    req.policy_version_id = version_id
    req.decided_at = None
    audit.record(actor=actor, action="requisition.submitted", obj=req,
                 summary={"round": req.approval_round, "gross": Money(req.gross_total, req.currency)})
    if not plan.tasks:
        final_approval(req, actor=None, reason=Msg(N_("No approval rule applies: approved on submit.")))
        return req
    now = utcnow()
    active = None
    for planned in plan.tasks:
        reason = planned.reason.to_json()
        task = ApprovalTask(
            organization_id=req.organization_id, requisition_id=req.id, round=req.approval_round,
            position=planned.position, step_id=planned.step_id, name=planned.name,
            reason=reason["id"], reason_params=reason["params"],
            quorum=planned.quorum, required=planned.required,
            status=TaskStatus.PENDING if planned.position == 1 else TaskStatus.WAITING,
            activated_at=now if planned.position == 1 else None,
        )
        task.assignments = [
            ApprovalAssignment(organization_id=req.organization_id, user_id=uid)
            for uid in planned.approver_ids
        ]
        db.session.add(task)
        note_task(task)
        active = task if planned.position == 1 else active
    # The first step's approvers are told; its flush writes the tasks, their assignments, the
    # decision links, notices and e-mails at once.
    notify_active(req, active)
    return req
