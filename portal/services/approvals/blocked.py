"""Approvals the budget would refuse, foreseen before the click, and the next step: asking the
budget's owner to raise it.

The approval that would be refused is the one that completes the last step: `final_approval`
then reserves the budget, and under a `block` policy an overrun is refused whole. The check here
asks the budgets service the same question without writing (`budgets.reservation_refusal`, the
rule `reserve_for_requisition` applies), so the page and the POST never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from portal.domain.approval import TaskStatus, task_outcome
from portal.domain.messages import N_, Msg
from portal.errors import ValidationProblem
from portal.extensions import db
from portal.models import ApprovalTask, AuditEvent, Budget, Requisition, User
from portal.money import Money
from portal.policies import enforce
from portal.services import audit, budgets
from portal.services.approvals.notices import requisition_link
from portal.services.approvals.routing import active_admins
from portal.services.notifications import notify

RAISE_REQUESTED = "budget.raise_requested"


@dataclass(frozen=True)
class BudgetBlock:
    """Approving the task now would be refused by the budget: why, which budget, who may raise
    it (its owner, or the company admins when it has none) and whether someone already asked
    in this approval round (when, and who)."""

    message: Msg
    budget: Budget
    owners: list[User]
    requested_at: datetime | None = None
    requested_by: str | None = None

    @property
    def requested(self) -> bool:
        return self.requested_at is not None


def _completes(task: ApprovalTask) -> bool:
    """Would one more approval complete the task (the quorum reached)?"""
    decisions = [a.decision for a in task.assignments]
    if None not in decisions:
        return False
    decisions[decisions.index(None)] = "approve"
    return task_outcome(task.required, decisions) == TaskStatus.APPROVED


def _refusal(task: ApprovalTask, round_tasks: list, impact: budgets.Impact) -> Msg | None:
    """The budget's refusal of approving `task` now (the last approval of the last step), or None."""
    if task.status != TaskStatus.PENDING or not _completes(task):
        return None
    others = [t for t in round_tasks if t.id != task.id]
    if any(t.status == TaskStatus.WAITING for t in others):
        return None
    # As in final_approval: an approved budget-overrun step (this one, once approved) lets it pass.
    overrun_approved = task.kind == "budget" or any(
        t.kind == "budget" and t.status == TaskStatus.APPROVED for t in others
    )
    return budgets.reservation_refusal(task.requisition, impact.budget,
                                       reserved_already=impact.reserved_already,
                                       overrun_approved=overrun_approved)


def _owners(budget: Budget, requester_id: int, admins: dict) -> list[User]:
    owner = budget.owner
    if owner is not None and owner.is_active and owner.id != requester_id:
        return [owner]
    if budget.organization_id not in admins:
        admins[budget.organization_id] = active_admins(budget.organization_id)
    return [u for u in admins[budget.organization_id] if u.id != requester_id]


def _requests(req_ids: list[int]) -> dict[tuple[int, int], AuditEvent]:
    """The latest raise request of each requisition and round (one query)."""
    found: dict[tuple[int, int], AuditEvent] = {}
    if not req_ids:
        return found
    for event in db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.object_type == "Requisition", AuditEvent.object_id.in_(req_ids),
               AuditEvent.action == RAISE_REQUESTED)
        .order_by(AuditEvent.id)
    ):
        found[(event.object_id, (event.summary or {}).get("round"))] = event
    return found


def budget_blocks(tasks: list[ApprovalTask], impacts: dict | None = None) -> dict[int, BudgetBlock]:
    """task id -> BudgetBlock, for the tasks whose approval the budget would refuse now.

    For a page of tasks in a fixed number of queries: `impacts` (from `budgets.impacts_for`, the
    inbox has them already) or computed here; the tasks of each requisition's current round and
    the raise requests are one query each."""
    if not tasks:
        return {}
    reqs = [t.requisition for t in tasks]
    impacts = impacts if impacts is not None else budgets.impacts_for(reqs)
    candidates = [t for t in tasks if (impacts.get(t.requisition_id) is not None
                                       and impacts[t.requisition_id].budget is not None)]
    if not candidates:
        return {}
    req_ids = [t.requisition_id for t in candidates]
    by_req: dict[int, list] = {}
    for other in db.session.scalars(
        select(ApprovalTask).join(Requisition, Requisition.id == ApprovalTask.requisition_id)
        .where(ApprovalTask.requisition_id.in_(req_ids),
               ApprovalTask.round == Requisition.approval_round)
    ):
        by_req.setdefault(other.requisition_id, []).append(other)
    blocks: dict[int, BudgetBlock] = {}
    refused = {}
    for task in candidates:
        message = _refusal(task, by_req.get(task.requisition_id, []), impacts[task.requisition_id])
        if message is not None:
            refused[task.id] = (task, message)
    if not refused:
        return {}
    requests = _requests([task.requisition_id for task, _m in refused.values()])
    admins: dict = {}
    for task_id, (task, message) in refused.items():
        req = task.requisition
        budget = impacts[req.id].budget
        event = requests.get((req.id, req.approval_round))
        blocks[task_id] = BudgetBlock(
            message=message, budget=budget, owners=_owners(budget, req.requester_id, admins),
            requested_at=event.created_at if event else None,
            requested_by=event.actor.full_name if event and event.actor else None,
        )
    return blocks


def budget_block(task: ApprovalTask, impact: budgets.Impact | None = None) -> BudgetBlock | None:
    """`budget_blocks` of one task (the requisition page, the decision page)."""
    impacts = {task.requisition_id: impact} if impact is not None else None
    return budget_blocks([task], impacts).get(task.id)


def request_budget_raise(task: ApprovalTask, actor) -> bool:
    """Ask the owner of the budget that blocks approving `task` (the admins when it has none)
    to raise it. Only someone who may decide the task asks; once per requisition and approval
    round: a repeated request (a re-post, a colleague) notifies nobody again and returns False.
    Raises PermissionDenied, ValidationProblem (nothing blocks the approval)."""
    enforce(actor, "approvals.decide", task)
    block = budget_block(task)
    if block is None:
        raise ValidationProblem(Msg(N_("The budget does not block this approval.")))
    if block.requested:
        return False
    req = task.requisition
    impact = budgets.impact(req)
    over = -impact.available_after if impact.available_after is not None else None
    audit.record(actor=actor, action=RAISE_REQUESTED, obj=req,
                 summary={"budget": block.budget.name, "round": req.approval_round,
                          "to": [u.full_name for u in block.owners]})
    if over is not None and over > 0:
        text = Msg(N_("%(name)s asks you to raise budget “%(budget)s”: approving %(number)s "
                      "needs %(over)s more."), {"over": Money(over, block.budget.currency)})
    else:
        text = Msg(N_("%(name)s asks you to look at budget “%(budget)s”: it blocks approving "
                      "%(number)s."))
    for owner in block.owners:
        if owner.id != actor.id:
            notify(owner, text, link=requisition_link(req), kind=RAISE_REQUESTED,
                   name=actor.full_name, budget=block.budget.name, number=req.number)
    db.session.flush()
    return True
