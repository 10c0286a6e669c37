"""Approval workflow: routing on submit, decisions, delegation, reminders and escalation."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import selectinload

from portal.domain.approval import (
    OPEN_TASK,
    Facts,
    Person,
    Plan,
    Quorum,
    StepSpec,
    TaskStatus,
    eligible,
    route,
    task_outcome,
)
from portal.domain.messages import N_
from portal.domain.requisition import Action, RequisitionStatus
from portal.domain.roles import Role
from portal.errors import BudgetExceeded, InvalidTransition, PermissionDenied, ValidationProblem
from portal.extensions import db
from portal.i18n import translate
from portal.models import (
    ApprovalAssignment,
    ApprovalPolicy,
    ApprovalTask,
    DecisionToken,
    Delegation,
    Requisition,
    User,
)
from portal.models.base import utcnow
from portal.services import audit, budgets
from portal.services.notifications import notify
from portal.services.requisitions import move
from portal.services.tokens import hash_token, new_token

DECISIONS = ("approve", "reject", "return")
DECISION_LINK_HOURS = 72


# ---------------------------------------------------------------- routing


def policy_for(org_id: int) -> ApprovalPolicy | None:
    return db.session.scalars(
        select(ApprovalPolicy)
        .where(ApprovalPolicy.organization_id == org_id)
        .options(selectinload(ApprovalPolicy.steps))
    ).first()


def _step_specs(policy: ApprovalPolicy | None) -> list[StepSpec]:
    if policy is None:
        return []
    return [
        StepSpec(
            position=s.position, name=s.name, approver_kind=s.approver_kind,
            min_amount=s.min_amount, cost_center_id=s.cost_center_id,
            cost_center_code=s.cost_center.code if s.cost_center else None,
            category_id=s.category_id, category_code=s.category.code if s.category else None,
            approver_user_id=s.approver_user_id, member_ids=tuple(m.user_id for m in s.members),
            quorum=s.quorum, quorum_n=s.quorum_n, step_id=s.id,
        )
        for s in policy.steps
    ]


def directory(org_id: int) -> dict[int, Person]:
    """The company's users as routing sees them."""
    users = db.session.scalars(select(User).where(User.organization_id == org_id)).all()
    return {
        u.id: Person(
            id=u.id, name=u.full_name, active=u.is_active,
            is_approver=Role.APPROVER in u.roles, is_admin=Role.ADMIN in u.roles,
            approval_limit=u.approval_limit if Role.APPROVER in u.roles else None,
        )
        for u in users
    }


def facts_for(req: Requisition, *, amount: Decimal | None = None) -> Facts:
    return Facts(
        amount=req.gross_total if amount is None else amount,
        currency=req.currency,
        cost_center_id=req.cost_center_id,
        category_id=req.category_id,
        requester_id=req.requester_id,
        cost_center_manager_id=req.cost_center.manager_id if req.cost_center else None,
    )


def plan_for(org_id: int, facts: Facts) -> Plan:
    """Where a requisition with these facts would go (used on submit and by the preview)."""
    return route(_step_specs(policy_for(org_id)), facts, directory(org_id))


def submit(req: Requisition, actor) -> Requisition:
    """Submit a draft: route it, create this round's tasks, notify the first approvers.

    A requisition with no lines, or that no one can approve, is refused. Resubmitting after a
    return starts a new round from the first step. When no policy step applies, it is approved
    at once and the timeline says why.
    """
    if req.requester_id != actor.id:
        raise PermissionDenied(_l("Only the requester can submit this requisition."))
    if req.status != RequisitionStatus.DRAFT:
        raise InvalidTransition(_l("Only a draft can be submitted."))
    if not req.lines:
        raise ValidationProblem(_l("Add at least one line before submitting."))
    if not req.cost_center.is_active:
        raise ValidationProblem(_l("This cost centre is no longer active."))
    plan = plan_for(req.organization_id, facts_for(req))
    if plan.problem is not None:
        raise ValidationProblem(translate(plan.problem))
    move(req, Action.SUBMIT)
    req.approval_round += 1
    req.submitted_at = utcnow()
    req.decided_at = None
    audit.record(actor=actor, action="requisition.submitted", obj=req,
                 summary={"round": req.approval_round, "gross": str(req.gross_total)})
    if not plan.tasks:
        _final_approval(req, actor=None, reason=N_("No approval rule applies: approved on submit."))
        return req
    now = utcnow()
    for planned in plan.tasks:
        task = ApprovalTask(
            organization_id=req.organization_id, requisition_id=req.id, round=req.approval_round,
            position=planned.position, step_id=planned.step_id, name=planned.name,
            reason=planned.reason.text, reason_params=planned.reason.params,
            quorum=planned.quorum, required=planned.required,
            status=TaskStatus.PENDING if planned.position == 1 else TaskStatus.WAITING,
            activated_at=now if planned.position == 1 else None,
        )
        task.assignments = [
            ApprovalAssignment(organization_id=req.organization_id, user_id=uid)
            for uid in planned.approver_ids
        ]
        db.session.add(task)
    db.session.flush()
    _notify_active(req)
    return req


def tasks_of(req: Requisition, round_: int | None = None) -> list[ApprovalTask]:
    query = (
        select(ApprovalTask)
        .where(ApprovalTask.requisition_id == req.id)
        .options(selectinload(ApprovalTask.assignments).joinedload(ApprovalAssignment.user),
                 selectinload(ApprovalTask.assignments).joinedload(ApprovalAssignment.decided_by))
        .order_by(ApprovalTask.round, ApprovalTask.position)
    )
    if round_ is not None:
        query = query.where(ApprovalTask.round == round_)
    return list(db.session.scalars(query))


def _active_task(req: Requisition) -> ApprovalTask | None:
    for task in tasks_of(req, req.approval_round):
        if task.status == TaskStatus.PENDING:
            return task
    return None


def _decision_link(assignment: ApprovalAssignment) -> str:
    token, digest = new_token()
    db.session.add(DecisionToken(
        organization_id=assignment.organization_id, assignment_id=assignment.id, token_hash=digest,
        expires_at=utcnow() + timedelta(hours=DECISION_LINK_HOURS),
    ))
    return url_for("approvals.email_decision", token=token)


def _notify_active(req: Requisition) -> None:
    task = _active_task(req)
    if task is None:
        return
    link = url_for("requisitions.detail", requisition_id=req.id)
    for assignment in task.assignments:
        if assignment.decision is None:
            decide_link = _decision_link(assignment)
            notify(
                assignment.user,
                N_("%(number)s “%(title)s” (%(amount)s %(currency)s) awaits your approval: %(step)s"),
                link=link, kind="approval.requested",
                email_extra_link=decide_link,
                number=req.number, title=req.title, amount=req.gross_total,
                currency=req.currency, step=task.name,
            )


# ---------------------------------------------------------------- deciding


def _delegators_select(actor, on: date | None = None):
    on = on or utcnow().date()
    return select(Delegation.user_id).where(
        Delegation.delegate_id == actor.id, Delegation.revoked_at.is_(None),
        Delegation.starts_on <= on, Delegation.ends_on >= on,
    )


def delegators_of(actor, on: date | None = None) -> list[int]:
    """Ids of users who delegated their approvals to `actor` for the day `on`."""
    return list(db.session.scalars(_delegators_select(actor, on)))


def assignment_for(
    task: ApprovalTask, actor, *, delegators: list[int] | None = None
) -> tuple[ApprovalAssignment | None, User | None]:
    """The undecided assignment `actor` may decide on `task`: their own, or (as delegate) one of
    a user who delegated to them today. Returns (assignment, on_behalf_of).

    `delegators` (from `delegators_of`) saves a query per task when a list is checked."""
    open_ = [a for a in task.assignments if a.decision is None]
    for a in open_:
        if a.user_id == actor.id:
            return a, None
    delegators = set(delegators_of(actor) if delegators is None else delegators)
    for a in open_:
        if a.user_id in delegators:
            return a, a.user
    return None, None


def refusal(task: ApprovalTask, actor, *, delegators: list[int] | None = None):
    """Why `actor` may not decide `task` now (a DomainError to raise), or None when they may.

    The one rule behind both the hidden buttons (`can_decide`) and the refused POST (`decide`):
    the task must be the active one of a pending requisition, the requester never decides, the
    actor must hold an undecided assignment on it, themselves or as an active delegate, and a
    person decides a task once: a quorum of "two of three" is two people, even when one of them
    also stands in for a third.
    """
    if task.status != TaskStatus.PENDING or task.requisition.status != RequisitionStatus.PENDING:
        return InvalidTransition(_l("This approval step is no longer open."))
    if actor.id == task.requisition.requester_id:
        return PermissionDenied(_l("You cannot decide on your own requisition."))
    if any(a.decided_by_id == actor.id for a in task.assignments):
        return PermissionDenied(_l("You have already decided on this step."))
    assignment, _ = assignment_for(task, actor, delegators=delegators)
    if assignment is None:
        return PermissionDenied(_l("This approval step is not assigned to you."))
    return None


def can_decide(task: ApprovalTask, actor, *, delegators: list[int] | None = None) -> bool:
    return refusal(task, actor, delegators=delegators) is None


def decide(task: ApprovalTask, actor, decision: str, comment: str = "") -> Requisition:
    """Record `actor`'s decision on `task` (approve, reject, return).

    Rules: the task must be the active one of a pending requisition; the actor must hold an
    undecided assignment on it, themselves or as an active delegate; the requester never
    decides; an approver whose limit is below the amount cannot approve; reject and return need
    a comment. The last needed approval of the last task approves the requisition.
    """
    req = task.requisition
    comment = (comment or "").strip()
    if decision not in DECISIONS:
        raise ValidationProblem(_l("Unknown decision."))
    problem = refusal(task, actor)
    if problem is not None:
        raise problem
    assignment, on_behalf_of = assignment_for(task, actor)
    if decision in ("reject", "return") and not comment:
        raise ValidationProblem(_l("Say why in a comment when you reject or return."))
    if len(comment) > 2000:
        raise ValidationProblem(_l("A comment may be at most 2000 characters."))
    people = directory(req.organization_id)
    holder = people.get(assignment.user_id)
    # A budget-overrun step is decided by the budget owner whatever their approval limit.
    limit_applies = not assignment.escalated and task.kind != "budget"
    if decision == "approve" and limit_applies and not eligible(holder, facts_for(req)):
        raise PermissionDenied(_l("Your approval limit is below the amount of this requisition."))
    now = utcnow()
    assignment.decision = decision
    assignment.decided_by_id = actor.id
    assignment.decided_at = now
    assignment.comment = comment
    audit.record(actor=actor, action=f"approval.{decision}d" if decision != "return" else "approval.returned",
                 obj=req, comment=comment, on_behalf_of=on_behalf_of,
                 summary={"step": task.name, "round": task.round})
    outcome = task_outcome(task.required, [a.decision for a in task.assignments])
    requester = req.requester
    link = url_for("requisitions.detail", requisition_id=req.id)
    if outcome == TaskStatus.PENDING:
        db.session.flush()
        return req
    task.status = outcome
    task.decided_at = now
    if outcome == TaskStatus.APPROVED:
        following = [t for t in tasks_of(req, req.approval_round) if t.status == TaskStatus.WAITING]
        if following:
            following[0].status = TaskStatus.PENDING
            following[0].activated_at = now
            db.session.flush()
            notify(requester, N_("%(number)s: step “%(step)s” approved by %(name)s."), link=link,
                   kind="approval.step", number=req.number, step=task.name, name=actor.full_name)
            _notify_active(req)
        else:
            _final_approval(req, actor=actor)
    elif outcome == TaskStatus.REJECTED:
        move(req, Action.REJECT)
        req.decided_at = now
        close_open_tasks(req)
        budgets.release_for(budgets.REQUISITION, req.id, actor, note=req.number)
        audit.record(actor=actor, action="requisition.rejected", obj=req, comment=comment,
                     on_behalf_of=on_behalf_of)
        notify(requester, N_("%(number)s was rejected by %(name)s: %(comment)s"), link=link,
               kind="requisition.rejected", number=req.number, name=actor.full_name, comment=comment)
    else:
        move(req, Action.RETURN)
        close_open_tasks(req)
        budgets.release_for(budgets.REQUISITION, req.id, actor, note=req.number)
        audit.record(actor=actor, action="requisition.returned", obj=req, comment=comment,
                     on_behalf_of=on_behalf_of)
        notify(requester, N_("%(number)s was returned to you by %(name)s: %(comment)s"), link=link,
               kind="requisition.returned", number=req.number, name=actor.full_name, comment=comment)
    db.session.flush()
    return req


def _final_approval(req: Requisition, *, actor, reason: str | None = None) -> None:
    """The last step is approved: reserve the budget, then approve.

    Under a `block` budget an overrun raises BudgetExceeded and the decision is refused whole;
    under `escalate` an extra "budget overrun" step goes to the budget owner (or the admins)
    and the requisition stays pending until it is decided.
    """
    overrun_approved = any(
        t.kind == "budget" and t.status == TaskStatus.APPROVED for t in tasks_of(req, req.approval_round)
    )
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
        approvers = [
            u for u in db.session.scalars(select(User).where(User.organization_id == req.organization_id))
            if Role.ADMIN in u.roles and u.is_active and u.id != req.requester_id
        ]
    if not approvers:
        raise BudgetExceeded(_l("The budget would be exceeded and nobody may approve the overrun."))
    impact = budgets.impact(req)
    position = max((t.position for t in tasks_of(req, req.approval_round)), default=0) + 1
    task = ApprovalTask(
        organization_id=req.organization_id, requisition_id=req.id, round=req.approval_round,
        position=position, step_id=None, kind="budget", name=str(_l("Budget overrun")),
        reason=N_("Budget “%(budget)s” would be exceeded by %(over)s %(currency)s; its policy asks for an extra "
                  "approval"),
        reason_params={"budget": budget.name, "over": f"{-impact.available_after:,.2f}",
                       "currency": budget.currency},
        quorum=Quorum.ANY, required=1, status=TaskStatus.PENDING, activated_at=utcnow(),
    )
    task.assignments = [ApprovalAssignment(organization_id=req.organization_id, user_id=u.id) for u in approvers]
    db.session.add(task)
    db.session.flush()
    audit.record(actor=actor, action="budget.escalated", obj=req,
                 summary={"budget": budget.name, "to": [u.full_name for u in approvers]})
    _notify_active(req)


def _finish_approved(req: Requisition, *, actor, reason: str | None) -> None:
    move(req, Action.APPROVE)
    req.decided_at = utcnow()
    close_open_tasks(req)
    audit.record(actor=actor, action="requisition.approved", obj=req,
                 comment=translate(reason) if reason else "")
    notify(req.requester, N_("%(number)s “%(title)s” is approved."),
           link=url_for("requisitions.detail", requisition_id=req.id), kind="requisition.approved",
           number=req.number, title=req.title)
    db.session.flush()


def close_open_tasks(req: Requisition) -> None:
    """Cancel the tasks still waiting or pending (the requisition left the approval flow)."""
    now = utcnow()
    for task in tasks_of(req):
        if task.status in OPEN_TASK:
            task.status = TaskStatus.CANCELLED
            task.decided_at = now


def bulk_approve(task_ids: list[int], actor, *, comment: str = "", max_amount: Decimal) -> tuple[int, list[str]]:
    """Approve several tasks at once; only requisitions up to `max_amount` qualify.

    Returns (approved count, messages for the ones refused). Each is decided by the same rules
    as a single decision.
    """
    done, refused = 0, []
    tasks = db.session.scalars(
        select(ApprovalTask).where(ApprovalTask.id.in_(task_ids))
        .options(selectinload(ApprovalTask.assignments))
    ).all()
    for task in tasks:
        req = task.requisition
        if req.gross_total > max_amount:
            refused.append(translate(_l("%(number)s is above the bulk approval limit; open it to decide.",
                                        number=req.number)))
            continue
        try:
            with db.session.begin_nested():
                decide(task, actor, "approve", comment)
            done += 1
        except (InvalidTransition, PermissionDenied, ValidationProblem) as exc:
            refused.append(f"{req.number}: {exc.message}")
    return done, refused


def inbox_query(actor):
    """Pending tasks the actor may decide (own or delegated), oldest first.

    The delegations are a subquery, so counting the inbox (the nav badge) is one query."""
    return (
        select(ApprovalTask)
        .join(ApprovalTask.requisition)
        .where(
            ApprovalTask.status == TaskStatus.PENDING,
            Requisition.status == RequisitionStatus.PENDING,
            Requisition.requester_id != actor.id,
            ApprovalTask.id.in_(
                select(ApprovalAssignment.task_id).where(
                    ApprovalAssignment.decision.is_(None),
                    or_(ApprovalAssignment.user_id == actor.id,
                        ApprovalAssignment.user_id.in_(_delegators_select(actor))),
                )
            ),
            # one decision per person per task (see `refusal`)
            ApprovalTask.id.not_in(
                select(ApprovalAssignment.task_id)
                .where(ApprovalAssignment.decided_by_id == actor.id)
            ),
        )
        .order_by(ApprovalTask.activated_at, ApprovalTask.id)
    )


# ---------------------------------------------------------------- email decisions


def load_decision_token(token: str) -> DecisionToken | None:
    """The decision link of the current organisation, used or not; None when unknown here.

    The link page is reached signed in (the tenant filter applies), so a token of another
    company is simply not found."""
    return db.session.scalars(
        select(DecisionToken).where(DecisionToken.token_hash == hash_token(token))
    ).first()


def decision_token_open(row: DecisionToken, *, now: datetime | None = None) -> bool:
    """Not used yet and not expired."""
    return row.used_at is None and row.expires_at > (now or utcnow())


def find_decision_token(token: str) -> DecisionToken | None:
    """An unused, unexpired decision link of the current organisation, or None."""
    row = load_decision_token(token)
    if row is None or not decision_token_open(row):
        return None
    return row


def token_refusal(row: DecisionToken, actor):
    """Why `actor` may not decide with this link now (a DomainError), or None.

    The link must be unused and unexpired, opened by the person it was sent to (or their
    delegate today), and its task still open to the actor."""
    if not decision_token_open(row):
        return InvalidTransition(_l("This approval link has expired or was already used."))
    addressee = row.assignment.user_id
    if actor.id != addressee and addressee not in delegators_of(actor):
        return PermissionDenied(_l("This approval link was sent to someone else."))
    return refusal(row.assignment.task, actor)


def decide_by_token(token: str, actor, decision: str, comment: str = "") -> Requisition:
    """Decide from an email link: single use, expiring, and only by the assignee (or their
    delegate) signed in as themselves. A refused decision rolls back with the rest of the
    transaction, so the link still works for a corrected attempt."""
    row = load_decision_token(token)
    if row is None:
        raise InvalidTransition(_l("This approval link has expired or was already used."))
    problem = token_refusal(row, actor)
    if problem is not None:
        raise problem
    row.used_at = utcnow()
    return decide(row.assignment.task, actor, decision, comment)


# ---------------------------------------------------------------- delegation


def create_delegation(actor, delegate: User | None, starts_on: date, ends_on: date,
                      *, today: date | None = None) -> Delegation:
    """`actor` lets `delegate` decide their approval tasks within the period."""
    today = today or utcnow().date()
    if delegate is None or not delegate.is_active:
        raise ValidationProblem(_l("Choose an active colleague as your delegate."))
    if delegate.id == actor.id:
        raise ValidationProblem(_l("You cannot delegate to yourself."))
    if not delegate.has_role(Role.APPROVER, Role.ADMIN):
        raise ValidationProblem(_l("Your delegate must be an approver or an admin."))
    if ends_on < starts_on:
        raise ValidationProblem(_l("The delegation must end on or after its first day."))
    if ends_on < today:
        raise ValidationProblem(_l("The delegation period is already over."))
    if (ends_on - starts_on).days > 366:
        raise ValidationProblem(_l("A delegation may last at most a year."))
    overlapping = db.session.scalar(
        select(Delegation.id).where(
            Delegation.user_id == actor.id, Delegation.revoked_at.is_(None),
            Delegation.starts_on <= ends_on, Delegation.ends_on >= starts_on,
        )
    )
    if overlapping:
        raise ValidationProblem(_l("You already have a delegation in that period."))
    delegation = Delegation(organization_id=actor.organization_id, user_id=actor.id,
                            delegate_id=delegate.id, starts_on=starts_on, ends_on=ends_on)
    db.session.add(delegation)
    db.session.flush()
    audit.record(actor=actor, action="delegation.created", obj=delegation,
                 summary={"delegate": delegate.full_name, "from": str(starts_on), "to": str(ends_on)})
    notify(delegate, N_("%(name)s delegated their approvals to you from %(start)s to %(end)s."),
           link=url_for("approvals.inbox"), kind="delegation", name=actor.full_name,
           start=str(starts_on), end=str(ends_on))
    return delegation


def revoke_delegation(delegation: Delegation, actor) -> None:
    if delegation.user_id != actor.id:
        raise PermissionDenied(_l("Only the person who delegated can end a delegation."))
    if delegation.revoked_at is not None:
        raise InvalidTransition(_l("This delegation has already ended."))
    delegation.revoked_at = utcnow()
    audit.record(actor=actor, action="delegation.revoked", obj=delegation)
    db.session.flush()


# ---------------------------------------------------------------- reminders and escalation


def send_reminders(org_id: int, *, now: datetime | None = None) -> dict:
    """Re-notify approvers of tasks pending longer than the reminder period (once per period),
    and escalate tasks pending longer than the escalation period to the escalation user (or
    the admins), once. Idempotent: running it twice at once sends nothing twice."""
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
        link = url_for("requisitions.detail", requisition_id=req.id)
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
                         summary={"step": task.name, "to": [u.full_name for u in targets]})
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
        candidates = [
            u for u in db.session.scalars(select(User).where(User.organization_id == req.organization_id))
            if Role.ADMIN in u.roles and u.is_active
        ]
    return [u for u in candidates if u.id not in already and u.id != req.requester_id]
