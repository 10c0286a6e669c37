"""Rules of the approval workflow: the inbox, deciding a task, the policy, delegations.

Deciding is an object rule with relations the database holds (assignments, today's
delegations): `decision_refusal` is the one rule behind both the hidden buttons and the
refused POST, and the services call it through `enforce(actor, "approvals.decide", task)`.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from portal.domain.approval import TaskStatus
from portal.domain.messages import N_, Msg
from portal.domain.requisition import RequisitionStatus
from portal.domain.roles import Role
from portal.errors import InvalidTransition
from portal.extensions import db
from portal.models import Delegation
from portal.models.base import utcnow
from portal.policies.core import buyer_with, is_buyer_org, refuse, rule


def delegators_select(actor, on: date | None = None):
    """The ids of users who delegated their approvals to `actor` for the day `on` (a subquery)."""
    on = on or utcnow().date()
    return select(Delegation.user_id).where(
        Delegation.delegate_id == actor.id, Delegation.revoked_at.is_(None),
        Delegation.starts_on <= on, Delegation.ends_on >= on,
    )


def delegators_of(actor, on: date | None = None) -> list[int]:
    """Ids of users who delegated their approvals to `actor` for the day `on`."""
    return list(db.session.scalars(delegators_select(actor, on)))


def assignment_for(task, actor, *, delegators: list[int] | None = None):
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


def decision_refusal(task, actor, *, delegators: list[int] | None = None):
    """Why `actor` may not decide `task` now (a DomainError), or None when they may.

    The task must be the active one of a pending requisition, the requester never decides, the
    actor must hold an undecided assignment on it, themselves or as an active delegate, and a
    person decides a task once: a quorum of "two of three" is two people, even when one of them
    also stands in for a third.
    """
    if task.status != TaskStatus.PENDING or task.requisition.status != RequisitionStatus.PENDING:
        return InvalidTransition(Msg(N_("This approval step is no longer open.")))
    if actor.id == task.requisition.requester_id:
        return refuse(N_("You cannot decide on your own requisition."))
    if any(a.decided_by_id == actor.id for a in task.assignments):
        return refuse(N_("You have already decided on this step."))
    assignment, _ = assignment_for(task, actor, delegators=delegators)
    if assignment is None:
        return refuse(N_("This approval step is not assigned to you."))
    return None


@rule("approvals.inbox")
def _approvals_inbox(user, obj) -> bool:
    """Approvers and admins (admins decide steps nobody else can)."""
    return buyer_with(user, Role.APPROVER, Role.ADMIN)


@rule("approvals.decide")
def _approvals_decide(user, obj):
    """The active task's assignee or their delegate; never the requester."""
    if not is_buyer_org(user):
        return False
    return True if obj is None else (decision_refusal(obj, user) or True)


@rule("approvals.policy")
def _approvals_policy(user, obj):
    """Company admins edit the approval policy."""
    if buyer_with(user, Role.ADMIN):
        return True
    return refuse(N_("Only company admins change the approval policy."))


@rule("approvals.assignee")
def _approvals_assignee(user, obj):
    """Who may be named to approve (a step's person or group, the escalation user, a budget
    owner, a cost centre's manager): an active approver or admin; a buyer never sees the inbox."""
    if is_buyer_org(user) and user.has_role(Role.APPROVER, Role.ADMIN):
        return True
    return refuse(N_("Only approvers and admins can be asked to approve."))


@rule("delegations.manage")
def _delegations(user, obj) -> bool:
    return buyer_with(user, Role.APPROVER, Role.ADMIN)


@rule("delegations.receive")
def _delegations_receive(user, obj):
    """Only an approver or an admin can stand in for a colleague's approvals."""
    if user.has_role(Role.APPROVER, Role.ADMIN):
        return True
    return refuse(N_("Your delegate must be an approver or an admin."))
