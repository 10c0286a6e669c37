"""What the workflow tells people: the notifications of each step, with links the edge builds.

Links are `Link(endpoint, params)`: the service names the page, the edge (a page or the
e-mail built from BASE_URL) turns it into a URL. Nothing here needs a request.
"""

from __future__ import annotations

from datetime import timedelta

from portal.domain.messages import N_, Link, Msg
from portal.extensions import db
from portal.models import ApprovalAssignment, ApprovalTask, DecisionToken, Requisition
from portal.models.base import utcnow
from portal.money import Money
from portal.services.approvals.routing import active_task
from portal.services.notifications import notify, recipients
from portal.services.tokens import new_token

DECISION_LINK_HOURS = 72
# The extra step a budget overrun adds is named by the portal, not by an admin: its name is a
# message id, shown in each reader's language (see `task_title`).
BUDGET_STEP_NAME = N_("Budget overrun")


def requisition_link(req: Requisition) -> Link:
    """The requisition's page."""
    return Link("requisitions.detail", {"requisition_id": req.id})


def task_title(task: ApprovalTask) -> Msg | str:
    """The step's name as a message parameter: an admin's own words, or the portal's (translated)."""
    return Msg(task.name) if task.kind == "budget" else task.name


def decision_link(assignment: ApprovalAssignment) -> Link:
    """A new single-use, expiring link that decides `assignment` from an e-mail."""
    token, digest = new_token()
    # By the relationship: an assignment made in this flush (a submit's) needs no id yet.
    db.session.add(DecisionToken(
        organization_id=assignment.organization_id, assignment=assignment, token_hash=digest,
        expires_at=utcnow() + timedelta(hours=DECISION_LINK_HOURS),
    ))
    return Link("approvals.email_decision", {"token": token})


def notify_active(req: Requisition, task: ApprovalTask | None = None) -> None:
    """Ask the approvers of the active step for their decision (with a one-click e-mail link).
    `task`: the active step when the caller has just activated it (else it is looked up)."""
    task = task if task is not None else active_task(req)
    if task is None:
        return
    people = recipients(a.user_id for a in task.assignments if a.decision is None)
    for assignment in task.assignments:
        if assignment.decision is None:
            notify(
                people[assignment.user_id],
                N_("%(number)s “%(title)s” (%(amount)s) awaits your approval: %(step)s"),
                link=requisition_link(req), kind="approval.requested",
                email_extra_link=decision_link(assignment),
                number=req.number, title=req.title, amount=Money(req.gross_total, req.currency),
                step=task_title(task), flush=False,
            )
    db.session.flush()  # every approver's notice, e-mail and decision link in one flush
