"""What needs a user's attention, by role. Each later feature adds its own widgets here."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from portal.domain.requisition import RequisitionStatus
from portal.extensions import db
from portal.models import Invitation, LinkStatus, Requisition, SupplierLink, User
from portal.models.base import utcnow
from portal.policies import can
from portal.services.approvals import queries as approval_queries

# The statuses a buyer follows on the dashboard, in the order of the counters.
BUYER_STATUSES = (
    RequisitionStatus.DRAFT,
    RequisitionStatus.PENDING,
    RequisitionStatus.APPROVED,
    RequisitionStatus.REJECTED,
)
RECENT = 5


def admin_summary(actor) -> dict:
    """Counts for a company admin: users, pending invitations, suppliers by link status."""
    users = db.session.execute(
        select(User.is_active_flag, func.count(User.id)).group_by(User.is_active_flag)
    ).all()
    by_active = {active: count for active, count in users}
    pending = db.session.scalar(
        select(func.count(Invitation.id)).where(
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > utcnow(),
        )
    )
    return {
        "active_users": by_active.get(True, 0),
        "inactive_users": by_active.get(False, 0),
        "pending_invitations": pending,
    }


def supplier_counts(actor) -> dict:
    """Suppliers of a buying company by link status."""
    rows = db.session.execute(
        select(SupplierLink.status, func.count(SupplierLink.id))
        .where(SupplierLink.organization_id == actor.organization_id)
        .group_by(SupplierLink.status)
    ).all()
    return {str(status): count for status, count in rows}


def customers(actor) -> list[SupplierLink]:
    """The buying companies a supplier is actively linked to."""
    return list(
        db.session.scalars(
            select(SupplierLink)
            .where(SupplierLink.supplier_id == actor.organization_id,
                   SupplierLink.status == LinkStatus.ACTIVE)
            .order_by(SupplierLink.created_at)
        )
    )


def buyer_summary(actor) -> dict:
    """The buyer's own requisitions: counts by status and the most recent few (two queries)."""
    rows = db.session.execute(
        select(Requisition.status, func.count(Requisition.id))
        .where(Requisition.requester_id == actor.id)
        .group_by(Requisition.status)
    ).all()
    counts = {str(status): count for status, count in rows}
    recent = db.session.scalars(
        select(Requisition)
        .where(Requisition.requester_id == actor.id)
        .order_by(Requisition.created_at.desc(), Requisition.id.desc())
        .limit(RECENT)
    ).all()
    return {
        "counts": [(status.value, counts.get(status.value, 0)) for status in BUYER_STATUSES],
        "total": sum(counts.values()),
        "recent": list(recent),
    }


def approver_summary(actor) -> dict:
    """What awaits the approver: how many tasks, and the oldest few with their age."""
    return {
        "count": approval_queries.inbox_count(actor),
        "top": approval_queries.inbox_top(actor, RECENT),
    }


def widgets_for(actor) -> list[str]:
    """Which dashboard sections the user sees, in order."""
    if actor.organization.is_supplier:
        return ["customers"] + (["admin"] if can(actor, "users.manage") else [])
    sections = []
    if can(actor, "requisitions.create"):
        sections.append("buyer")
    # Admins decide the steps nobody else can, so they see the inbox widget too.
    if can(actor, "approvals.inbox"):
        sections.append("approver")
    if can(actor, "users.manage"):
        sections.append("admin")
    return sections


def budget_watch(actor, *, limit: int = 6) -> list[tuple]:
    """Open budgets current today, most used first: every budget for an admin, the budgets of
    the cost centres a manager runs for a cost-centre manager. Returns (budget, balances, bar)."""
    from portal.domain.budget import BudgetStatus, bar
    from portal.models import Budget, CostCenter
    from portal.services.budgets import balances_for

    today = utcnow().date()
    query = (
        select(Budget)
        .join(Budget.cost_center)
        .where(Budget.status == BudgetStatus.OPEN, Budget.starts_on <= today, Budget.ends_on >= today)
        .options(joinedload(Budget.cost_center))
    )
    if not can(actor, "budgets.manage"):
        query = query.where(CostCenter.manager_id == actor.id)
    found = list(db.session.scalars(query))
    balances = balances_for(found)
    ranked = sorted(found, key=lambda b: balances[b.id].used_ratio, reverse=True)[:limit]
    return [(b, balances[b.id], bar(balances[b.id])) for b in ranked]


def manages_cost_centers(actor) -> bool:
    from portal.models import CostCenter

    return db.session.scalar(select(CostCenter.id).where(CostCenter.manager_id == actor.id).limit(1)) is not None
