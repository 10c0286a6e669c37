"""Approval workflow, by concern:

    routing.py     the policy as the router sees it; where a requisition goes; its tasks
    submit.py      submitting a draft: this round's tasks
    notices.py     what the workflow tells people; decision links (Link, built at the edge)
    decisions.py   one decision, a step's outcome, final approval with the budget, bulk approval
    tokens.py      deciding from the e-mail (single-use, expiring links)
    delegation.py  delegating one's approvals for a period
    reminders.py   reminders and escalation (a scheduled job)
    queries.py     read-only queries behind the approval pages

Who may decide is a policy rule (portal.policies.approvals); nothing here needs a request.
"""

from __future__ import annotations

from portal.policies.approvals import assignment_for, delegators_of
from portal.services.approvals.decisions import (
    DECISIONS,
    bulk_approve,
    can_decide,
    close_open_tasks,
    decide,
    final_approval,
    refusal,
)
from portal.services.approvals.delegation import create_delegation, revoke_delegation
from portal.services.approvals.notices import DECISION_LINK_HOURS, decision_link, notify_active
from portal.services.approvals.queries import inbox_query
from portal.services.approvals.reminders import send_reminders
from portal.services.approvals.routing import (
    active_task,
    directory,
    facts_for,
    plan_for,
    policy_for,
    tasks_of,
)
from portal.services.approvals.submit import submit
from portal.services.approvals.tokens import (
    decide_by_token,
    decision_token_open,
    find_decision_token,
    load_decision_token,
    token_refusal,
)

__all__ = [
    "DECISIONS", "DECISION_LINK_HOURS", "active_task", "assignment_for", "bulk_approve",
    "can_decide", "close_open_tasks", "create_delegation", "decide", "decide_by_token",
    "decision_link", "decision_token_open", "delegators_of", "directory", "facts_for",
    "final_approval", "find_decision_token", "inbox_query", "load_decision_token",
    "notify_active", "plan_for", "policy_for", "refusal", "revoke_delegation", "send_reminders",
    "submit", "tasks_of", "token_refusal",
]
