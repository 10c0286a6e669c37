"""Deciding: one decision, the outcome of a step, the final approval (budget first), bulk approval."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.domain.approval import Facts, Quorum, TaskStatus, eligible, task_outcome
from portal.domain.messages import N_, Msg
from portal.domain.requisition import Action
from portal.errors import BudgetExceeded, InvalidTransition, PermissionDenied, ValidationProblem
from portal.extensions import db
from portal.models import ApprovalAssignment, ApprovalTask, Requisition
from portal.models.base import utcnow
from portal.money import Money
from portal.policies import enforce
from portal.policies.approvals import assignment_for, decision_refusal
from portal.services import audit, budgets
from portal.services.approvals.notices import (
    BUDGET_STEP_NAME,
    notify_active,
    requisition_link,
    task_title,
)
from portal.services.approvals.routing import active_admins, person, tasks_of
from portal.services.locks import lock_requisition, lock_requisition_id, locked_tasks, note_task
from portal.services.notifications import notify, recipients
from portal.services.requisitions import close_open_tasks, move

DECISIONS = ("approve", "reject", "return")
# The audit action of each decision (the past tense is not always verb + "d").
DECISION_EVENTS = {"approve": "approval.approved", "reject": "approval.rejected", "return": "approval.returned"}


def refusal(task: ApprovalTask, actor, *, delegators: list[int] | None = None):
    """Why `actor` may not decide `task` now (a DomainError to raise), or None when they may.

    The policy rule "approvals.decide" (portal.policies.approvals) is the one rule behind both
    the hidden buttons and the refused POST."""
    return decision_refusal(task, actor, delegators=delegators)


def can_decide(task: ApprovalTask, actor, *, delegators: list[int] | None = None) -> bool:
    """May `actor` decide `task` now (the inbox checks a page of tasks with one delegators query)?"""
    return refusal(task, actor, delegators=delegators) is None


def decide(task: ApprovalTask, actor, decision: str, comment: str = "") -> Requisition:
    """Record `actor`'s decision on `task` (approve, reject, return).

    Rules: the task must be the active one of a pending requisition; the actor must hold an
    undecided assignment on it, themselves or as an active delegate; the requester never
    decides (all through the policy "approvals.decide"); an approver whose limit is below the
    amount cannot approve; reject and return need a comment. The last needed approval of the
    last task approves the requisition. Raises ValidationProblem, PermissionDenied,
    InvalidTransition, BudgetExceeded.

    The requisition's row is locked first and the state read again under the lock: of two
    identical requests the second finds the step decided and is refused ("no longer open").
    """
    # By id: the lock's own read loads the requisition (task.requisition then costs nothing).
    req = lock_requisition_id(task.requisition_id) or lock_requisition(task.requisition)
    comment = (comment or "").strip()
    if decision not in DECISIONS:
        raise ValidationProblem(Msg(N_("Unknown decision.")))
    enforce(actor, "approvals.decide", task)
    assignment, on_behalf_of = assignment_for(task, actor)
    if decision in ("reject", "return") and not comment:
        raise ValidationProblem(Msg(N_("Say why in a comment when you reject or return.")))
    if len(comment) > 2000:
        raise ValidationProblem(Msg(N_("A comment may be at most 2000 characters.")))
    holder = person(assignment.user)
    # A budget-overrun step is decided by the budget owner whatever their approval limit.
    limit_applies = not assignment.escalated and task.kind != "budget"
    if decision == "approve" and limit_applies and not eligible(holder, _limit_facts(req)):
        raise PermissionDenied(Msg(N_("Your approval limit is below the amount of this requisition.")))
    now = utcnow()
    assignment.decision = decision
    assignment.decided_by_id = actor.id
    assignment.decided_at = now
    assignment.comment = comment
    audit.record(actor=actor, action=DECISION_EVENTS[decision], obj=req, comment=comment,
                 on_behalf_of=on_behalf_of, summary={"step": task_title(task), "round": task.round})
    outcome = task_outcome(task.required, [a.decision for a in task.assignments])
    if outcome == TaskStatus.PENDING:
        db.session.flush()
        return req
    task.status = outcome
    task.decided_at = now
    if outcome == TaskStatus.APPROVED:
        _step_approved(req, task, actor, now)
    else:
        _step_ended(req, actor, comment, on_behalf_of,
                    Action.REJECT if outcome == TaskStatus.REJECTED else Action.RETURN)
    db.session.flush()
    return req


def _limit_facts(req: Requisition) -> Facts:
    """What an approval limit is checked against (`eligible`: the amount and the requester),
    from the header alone: routing's lines and cost centre are not read."""
    return Facts(amount=req.gross_total, currency=req.currency, cost_center_id=req.cost_center_id,
                 requester_id=req.requester_id, category_id=req.category_id)


def _round_tasks(req: Requisition) -> list[ApprovalTask]:
    """This round's tasks in order: those `lock_requisition` read under the lock, with their
    assignments (no query), else one plain SELECT (`tasks_of` loads the approvers too, for
    pages)."""
    tasks = locked_tasks(req)
    if tasks is not None:
        return [t for t in tasks if t.round == req.approval_round]
    return list(db.session.scalars(
        select(ApprovalTask)
        .where(ApprovalTask.requisition_id == req.id, ApprovalTask.round == req.approval_round)
        .order_by(ApprovalTask.position)
    ))


def _step_approved(req: Requisition, task: ApprovalTask, actor, now) -> None:
    round_tasks = _round_tasks(req)
    following = [t for t in round_tasks if t.status == TaskStatus.WAITING]
    if not following:
        final_approval(req, actor=actor, round_tasks=round_tasks)
        return
    following[0].status = TaskStatus.PENDING
    following[0].activated_at = now
    # The requester and the next approvers in one read (held while notify_active tells them).
    people = recipients([req.requester_id, *(a.user_id for a in following[0].assignments)])
    notify(people[req.requester_id], N_("%(number)s: step “%(step)s” approved by %(name)s."),
           link=requisition_link(req), kind="approval.step", number=req.number,
           step=task_title(task), name=actor.full_name, flush=False)  # notify_active flushes
    notify_active(req, following[0])


def _step_ended(req: Requisition, actor, comment: str, on_behalf_of, action: Action) -> None:
    """A reject or a return ends this round: the budget reservation goes back."""
    move(req, action)
    if action == Action.REJECT:
        req.decided_at = utcnow()
    close_open_tasks(req)
    budgets.release_for(budgets.REQUISITION, req.id, actor, note=req.number)
    event, text, kind = (
        ("requisition.rejected", N_("%(number)s was rejected by %(name)s: %(comment)s"), "requisition.rejected")
        if action == Action.REJECT else
        ("requisition.returned", N_("%(number)s was returned to you by %(name)s: %(comment)s"),
         "requisition.returned")
    )
    audit.record(actor=actor, action=event, obj=req, comment=comment, on_behalf_of=on_behalf_of)
    notify(req.requester, text, link=requisition_link(req), kind=kind, number=req.number,
           name=actor.full_name, comment=comment)


def final_approval(req: Requisition, *, actor, reason: Msg | None = None,
                   round_tasks: list[ApprovalTask] | None = None) -> None:
    """The last step is approved: reserve the budget, then approve.

    Under a `block` budget an overrun raises BudgetExceeded and the decision is refused whole;
    under `escalate` an extra "budget overrun" step goes to the budget owner (or the admins)
    and the requisition stays pending until it is decided.
    """
    if round_tasks is None:
        round_tasks = _round_tasks(req)
    overrun_approved = any(t.kind == "budget" and t.status == TaskStatus.APPROVED for t in round_tasks)
    outcome = budgets.reserve_for_requisition(req, actor, overrun_approved=overrun_approved)
    if outcome == budgets.ReservationOutcome.NEEDS_ESCALATION:
        _add_budget_task(req, actor)
        return
    _finish_approved(req, actor=actor, reason=reason)


def _add_budget_task(req: Requisition, actor) -> None:
    budget = budgets.budget_for(req.cost_center_id, budgets.requisition_budget_date(req))
    owner = budget.owner if budget.owner is not None and budget.owner.is_active else None
    if owner is not None and owner.id != req.requester_id:
        approvers = [owner]
    else:
        approvers = active_admins(req.organization_id, besides=req.requester_id)
    if not approvers:
        raise BudgetExceeded(Msg(N_("The budget would be exceeded and nobody may approve the overrun.")))
    impact = budgets.impact(req)
    position = max((t.position for t in tasks_of(req, req.approval_round)), default=0) + 1
    reason = Msg(
        N_("Budget “%(budget)s” would be exceeded by %(over)s; its policy asks for an extra approval"),
        {"budget": budget.name, "over": Money(-impact.available_after, budget.currency)},
    ).to_json()
    task = ApprovalTask(
        organization_id=req.organization_id, requisition_id=req.id, round=req.approval_round,
        position=position, step_id=None, kind="budget", name=BUDGET_STEP_NAME,
        reason=reason["id"], reason_params=reason["params"],
        quorum=Quorum.ANY, required=1, status=TaskStatus.PENDING, activated_at=utcnow(),
    )
    task.assignments = [ApprovalAssignment(organization_id=req.organization_id, user_id=u.id) for u in approvers]
    db.session.add(task)
    note_task(task)
    db.session.flush()
    audit.record(actor=actor, action="budget.escalated", obj=req,
                 summary={"budget": budget.name, "to": [u.full_name for u in approvers]})
    notify_active(req)


def _finish_approved(req: Requisition, *, actor, reason: Msg | None) -> None:
    move(req, Action.APPROVE)
    req.decided_at = utcnow()
    close_open_tasks(req)
    audit.record(actor=actor, action="requisition.approved", obj=req,
                 summary={"reason": reason} if reason else None)
    requester = recipients([req.requester_id])[req.requester_id]  # without the roles
    notify(requester, N_("%(number)s “%(title)s” is approved."), link=requisition_link(req),
           kind="requisition.approved", number=req.number, title=req.title, flush=False)
    db.session.flush()  # the approval's one flush: reservation entry, events, notice, e-mail


def bulk_approve(task_ids: list[int], actor, *, comment: str = "", max_amount: Decimal) -> tuple[int, list[Msg]]:
    """Approve several tasks at once; only requisitions up to `max_amount` qualify.

    Returns (approved count, a message for each one refused, shown in the viewer's language).
    Each is decided by the same rules as a single decision, in its own savepoint.
    """
    done, refused = 0, []
    tasks = db.session.scalars(
        select(ApprovalTask).where(ApprovalTask.id.in_(task_ids))
        .options(selectinload(ApprovalTask.assignments))
    ).all()
    for task in tasks:
        req = task.requisition
        if req.gross_total > max_amount:
            refused.append(Msg(N_("%(number)s is above the bulk approval limit; open it to decide."),
                               {"number": req.number}))
            continue
        try:
            with db.session.begin_nested():
                decide(task, actor, "approve", comment)
            done += 1
        except (InvalidTransition, PermissionDenied, ValidationProblem, BudgetExceeded) as exc:
            refused.append(Msg("%(number)s: %(problem)s", {"number": req.number, "problem": exc.msg}))
    return done, refused
