"""Reminders and escalation of steps that wait too long (a scheduled job; no request needed)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import selectinload

from portal.domain.approval import TaskStatus
from portal.domain.messages import N_
from portal.domain.requisition import RequisitionStatus
from portal.extensions import db
from portal.models import ApprovalAssignment, ApprovalPolicy, ApprovalTask, Requisition, User
from portal.models.base import utcnow
from portal.services import audit
from portal.services.approvals.notices import requisition_link, task_title
from portal.services.approvals.routing import active_admins, policy_for
from portal.services.notifications import notify


def send_reminders(org_id: int, *, now: datetime | None = None) -> dict:
    """Re-notify approvers of tasks pending longer than the reminder period (once per period),
    and escalate tasks pending longer than the escalation period to the escalation user (or
    the admins), once. Idempotent: running it twice at once sends nothing twice.

    Runs inside the organisation's bound scope; needs no request (links are `Link`s)."""
    now = now or utcnow()
    policy = policy_for(org_id)
    if policy is None:
        return {"reminded": 0, "escalated": 0}
    remind_before = now - timedelta(hours=policy.reminder_hours)
    escalate_before = now - timedelta(hours=policy.escalation_hours)
    tasks = db.session.scalars(
        select(ApprovalTask)
        .join(ApprovalTask.requisition)
        .where(ApprovalTask.status == TaskStatus.PENDING,
               Requisition.status == RequisitionStatus.PENDING,
               ApprovalTask.activated_at <= remind_before,
               # Escalation is due on its own clock, even right after a reminder.
               or_(ApprovalTask.reminded_at.is_(None), ApprovalTask.reminded_at <= remind_before,
                   and_(ApprovalTask.escalated_at.is_(None),
                        ApprovalTask.activated_at <= escalate_before)))
        .options(selectinload(ApprovalTask.assignments))
        .order_by(ApprovalTask.id)
    ).all()
    reminded = escalated = 0
    for task in tasks:
        req = task.requisition
        link = requisition_link(req)
        if task.escalated_at is None and task.activated_at <= escalate_before:
            targets = _escalation_targets(policy, req, task)
            for user in targets:
                task.assignments.append(ApprovalAssignment(
                    organization_id=req.organization_id, user_id=user.id, escalated=True))
            task.escalated_at = now
            db.session.flush()
            for user in targets:
                notify(user, N_("Escalated to you: %(number)s “%(title)s” has waited %(hours)s hours for approval."),
                       link=link, kind="approval.escalated", number=req.number, title=req.title,
                       hours=policy.escalation_hours)
            audit.record(actor=None, action="approval.escalated", obj=req,
                         summary={"step": task_title(task), "to": [u.full_name for u in targets]})
            escalated += 1
        if task.reminded_at is not None and task.reminded_at > remind_before:
            continue  # reminded within the period: only the escalation was due
        for assignment in task.assignments:
            if assignment.decision is None and not assignment.escalated:
                notify(assignment.user, N_("Reminder: %(number)s “%(title)s” awaits your approval."),
                       link=link, kind="approval.reminder", number=req.number, title=req.title)
        task.reminded_at = now
        reminded += 1
    db.session.flush()
    return {"reminded": reminded, "escalated": escalated}


def _escalation_targets(policy: ApprovalPolicy, req: Requisition, task: ApprovalTask) -> list[User]:
    already = {a.user_id for a in task.assignments}
    if policy.escalation_user is not None and policy.escalation_user.is_active:
        candidates = [policy.escalation_user]
    else:
        candidates = active_admins(req.organization_id)
    return [u for u in candidates if u.id not in already and u.id != req.requester_id]
