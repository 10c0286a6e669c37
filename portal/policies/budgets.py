"""Rules of budgets."""

from __future__ import annotations

from portal.domain.budget import BudgetStatus
from portal.domain.messages import N_
from portal.domain.roles import Role
from portal.policies.core import buyer_with, refuse, rule


@rule("budgets.view")
def _budgets_view(user, obj) -> bool:
    """Admins and approvers follow budgets (approvers see the impact of their decisions)."""
    return buyer_with(user, Role.ADMIN, Role.APPROVER)


@rule("budgets.manage")
def _budgets_manage(user, obj):
    """Company admins create, revise, close and import budgets; a closed one is final."""
    if not buyer_with(user, Role.ADMIN):
        return refuse(N_("Only company admins manage budgets."))
    return obj is None or obj.status == BudgetStatus.OPEN
