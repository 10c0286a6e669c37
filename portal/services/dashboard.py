"""What needs a user's attention, by role: what waits on whom and since when, and what happened
lately. Each later feature adds its own widgets here.

Every query is bounded (a LIMIT, or a count capped at `COUNT_CAP`) and goes through an index
(requester, assignee, supplier, audit object), so a dashboard costs the same for a company with
a million requisitions as for the demo world.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Float, bindparam, case, cast, func, literal, select, union_all
from sqlalchemy.orm import joinedload

from portal.domain.approval import TaskStatus
from portal.domain.requisition import RequisitionStatus
from portal.extensions import db
from portal.models import (
    ApprovalAssignment,
    ApprovalTask,
    AuditEvent,
    Invitation,
    LinkStatus,
    Organization,
    Requisition,
    SupplierLink,
    User,
)
from portal.models.base import utcnow
from portal.policies import can
from portal.services import suppliers as supplier_service
from portal.services.approvals import queries as approval_queries

# The statuses a buyer follows on the dashboard, in the order of the counters.
BUYER_STATUSES = (
    RequisitionStatus.DRAFT,
    RequisitionStatus.PENDING,
    RequisitionStatus.APPROVED,
    RequisitionStatus.REJECTED,
)
RECENT = 5
ACTIVITY = 8
# Counts stop here: "99+" tells as much as an exact 12 345, and costs no scan of a big table.
COUNT_CAP = 99
# The buyer's activity feed reads the events of his latest requisitions only.
ACTIVITY_DOCUMENTS = 20


@dataclass(frozen=True)
class Count:
    """A count that stopped at `COUNT_CAP`: `more` says there are more than `value`."""

    value: int
    more: bool = False

    def __bool__(self) -> bool:
        return self.value > 0

    def __str__(self) -> str:
        return f"{self.value}+" if self.more else str(self.value)


@dataclass(frozen=True)
class PendingRow:
    """A requisition of the buyer that waits on approvers: who and since when."""

    requisition: Requisition
    names: tuple[str, ...]
    step: str
    since: datetime | None


def capped_counts(queries: dict[str, object], cap: int | None = None, *,
                  params: dict | None = None) -> dict[str, Count]:
    """How many rows each named query returns, as a `Count` capped at `cap`, in one statement
    (each part reads at most cap + 1 rows of its index)."""
    cap = COUNT_CAP if cap is None else cap
    return counted_rows(db.session.execute(capped_statement(queries, cap), params), queries, cap)


def capped_statement(queries: dict[str, object], cap: int):
    parts = [select(literal(name).label("name")).select_from(query.limit(cap + 1).subquery())
             for name, query in queries.items()]
    merged = union_all(*parts).subquery()
    return select(merged.c.name, func.count()).group_by(merged.c.name)


def counted_rows(rows, names, cap: int) -> dict[str, Count]:
    found = dict(rows.all())
    return {name: Count(min(found.get(name, 0), cap), found.get(name, 0) > cap) for name in names}


_ADMIN_COUNTS = ("active_users", "inactive_users", "pending_invitations")
_SUPPLIER_COUNTS = tuple(status.value for status in (LinkStatus.ACTIVE, LinkStatus.BLOCKED))


@functools.lru_cache(maxsize=4)
def _admin_statements(cap: int) -> dict:
    """The admin's counts, built once: the organisation (`org`) and the time (`now`) are bound
    parameters."""
    users = select(User.id).where(User.organization_id == bindparam("org"))
    pending = select(Invitation.id).where(
        Invitation.accepted_at.is_(None),
        Invitation.revoked_at.is_(None),
        Invitation.expires_at > bindparam("now", type_=Invitation.expires_at.type),
    )
    links = select(SupplierLink.id).where(SupplierLink.organization_id == bindparam("org"))
    return {
        "admin": capped_statement({
            "active_users": users.where(User.is_active_flag.is_(True)),
            "inactive_users": users.where(User.is_active_flag.is_(False)),
            "pending_invitations": pending,
        }, cap),
        "suppliers": capped_statement({
            status.value: links.where(SupplierLink.status == status)
            for status in (LinkStatus.ACTIVE, LinkStatus.BLOCKED)
        }, cap),
    }


def admin_summary(actor) -> dict:
    """Counts for a company admin: users by active flag, pending invitations (capped), in one
    statement."""
    rows = db.session.execute(_admin_statements(COUNT_CAP)["admin"],
                              {"org": actor.organization_id, "now": utcnow()})
    return counted_rows(rows, _ADMIN_COUNTS, COUNT_CAP)


def supplier_counts(actor) -> dict:
    """Suppliers of a buying company by link status (capped counts, one statement)."""
    rows = db.session.execute(_admin_statements(COUNT_CAP)["suppliers"],
                              {"org": actor.organization_id})
    return counted_rows(rows, _SUPPLIER_COUNTS, COUNT_CAP)


def customers(actor, *, limit: int = 10) -> list[SupplierLink]:
    """The buying companies a supplier works for (active links; a blocked customer is on the
    customers page, not among those to work for), newest link first."""
    return list(
        db.session.scalars(
            select(SupplierLink)
            .where(SupplierLink.supplier_id == actor.organization_id,
                   SupplierLink.status == LinkStatus.ACTIVE)
            .options(joinedload(SupplierLink.buyer))
            .order_by(SupplierLink.created_at.desc(), SupplierLink.id.desc())
            .limit(limit)
        )
    )


# The buyer's widgets run on every buyer's dashboard: their statements are built once, the
# buyer a bound parameter (`actor`); the tenant filter is added per scope (portal/tenancy).

@functools.lru_cache(maxsize=4)
def _buyer_statements(cap: int) -> dict:
    actor = bindparam("actor")
    mine = Requisition.requester_id == actor
    status_queries = {status.value: select(Requisition.id).where(mine, Requisition.status == status)
                      for status in BUYER_STATUSES}
    return {
        "counts": capped_statement(status_queries, cap),
        "recent": select(Requisition).where(mine)
        .order_by(Requisition.created_at.desc(), Requisition.id.desc()).limit(RECENT),
        "pending": select(Requisition).where(mine, Requisition.status == RequisitionStatus.PENDING)
        .order_by(Requisition.submitted_at, Requisition.id).limit(RECENT),
        "latest": select(Requisition.id).where(mine)
        .order_by(Requisition.created_at.desc(), Requisition.id.desc()).limit(ACTIVITY_DOCUMENTS),
    }


def _status_counts(actor) -> dict[str, Count]:
    """The buyer's requisitions per followed status, each capped, in one statement."""
    rows = db.session.execute(_buyer_statements(COUNT_CAP)["counts"], {"actor": actor.id})
    return counted_rows(rows, [status.value for status in BUYER_STATUSES], COUNT_CAP)


def buyer_summary(actor) -> dict:
    """The buyer's own requisitions: capped counts by status, the latest few, the pending ones
    with whom they wait on and since when, and what others did to them lately."""
    counts = _status_counts(actor)
    statements, params = _buyer_statements(COUNT_CAP), {"actor": actor.id}
    recent = db.session.scalars(statements["recent"], params).all()
    pending = list(db.session.scalars(statements["pending"], params))
    waits = approval_queries.waiting_on([r.id for r in pending])
    waiting = [
        PendingRow(requisition=r, names=waits[r.id].names, step=waits[r.id].step,
                   since=waits[r.id].since)
        for r in pending if r.id in waits
    ]
    return {
        "counts": [(status.value, counts[status.value]) for status in BUYER_STATUSES],
        "total": sum(c.value for c in counts.values()),
        "recent": list(recent),
        "waiting": waiting,
        "more_waiting": counts[RequisitionStatus.PENDING.value].value > len(pending),
        "activity": buyer_activity(actor),
    }


def buyer_activity(actor, *, limit: int = ACTIVITY) -> list[tuple[AuditEvent, Requisition]]:
    """What other people did lately to the buyer's latest requisitions (approved, returned,
    rejected, cancelled by an admin...), newest first: (event, requisition) pairs."""
    ids = list(db.session.scalars(_buyer_statements(COUNT_CAP)["latest"], {"actor": actor.id}))
    if not ids:
        return []
    events = list(db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.object_type == "Requisition", AuditEvent.object_id.in_(ids),
               AuditEvent.actor_id.is_distinct_from(actor.id))
        .options(joinedload(AuditEvent.actor), joinedload(AuditEvent.on_behalf_of))
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .limit(limit)
    ))
    docs = {r.id: r for r in db.session.scalars(
        select(Requisition).where(Requisition.id.in_({e.object_id for e in events})))}
    return [(e, docs[e.object_id]) for e in events if e.object_id in docs]


def approver_summary(actor) -> dict:
    """What awaits the approver (a capped count and the oldest few with their age) and the
    approver's own latest decisions."""
    # The first page of the inbox, RECENT long, read by index range as the inbox reads it.
    found, top = approval_queries.inbox_top(actor, RECENT, count_cap=COUNT_CAP)
    return {
        "count": Count(min(found, COUNT_CAP), found > COUNT_CAP),
        "top": top,
        "decided": recent_decisions(actor),
    }


@functools.lru_cache(maxsize=4)
def _decisions_statement(limit: int):
    return (
        select(ApprovalAssignment)
        # decided_at IS NOT NULL (set with the decision) bounds the index range: PostgreSQL
        # puts NULLs first in a descending walk, so without it the walk passes every open
        # assignment of the approver before the first decision.
        .where(ApprovalAssignment.user_id == bindparam("actor"),
               ApprovalAssignment.decided_at.is_not(None),
               ApprovalAssignment.decision.is_not(None))
        .options(joinedload(ApprovalAssignment.task).joinedload(ApprovalTask.requisition),
                 approval_queries.person(ApprovalAssignment.decided_by))
        .order_by(ApprovalAssignment.decided_at.desc(), ApprovalAssignment.id.desc())
        .limit(limit)
    )


def recent_decisions(actor, *, limit: int = RECENT) -> list[ApprovalAssignment]:
    """The approver's latest decisions (his own assignments), newest first."""
    return list(db.session.scalars(_decisions_statement(limit), {"actor": actor.id}))


@functools.lru_cache(maxsize=4)
def _oldest_steps_statement(limit: int):
    return (
        select(ApprovalTask)
        .join(ApprovalTask.requisition)
        .where(ApprovalTask.status == TaskStatus.PENDING,
               Requisition.status == RequisitionStatus.PENDING)
        .options(joinedload(ApprovalTask.requisition))
        .order_by(ApprovalTask.activated_at, ApprovalTask.id)
        .limit(limit)
    )


def oldest_open_steps(actor, *, limit: int = RECENT) -> list[PendingRow]:
    """For an admin: the company's approval steps that have waited longest, on whom."""
    tasks = list(db.session.scalars(_oldest_steps_statement(limit)))
    waits = approval_queries.waiting_on([t.requisition_id for t in tasks])
    rows, seen = [], set()
    for task in tasks:
        wait = waits.get(task.requisition_id)
        if wait is None or task.requisition_id in seen:
            continue
        seen.add(task.requisition_id)
        rows.append(PendingRow(requisition=task.requisition, names=wait.names, step=wait.step,
                               since=wait.since))
    return rows


def supplier_activity(actor, *, limit: int = ACTIVITY) -> list[tuple[AuditEvent, str | None]]:
    """What happened lately on what the supplier's active customers share with it (links,
    terms, blocking and unblocking), newest first: (event, customer name) pairs, people named on
    both sides."""
    active = select(SupplierLink.organization_id).where(
        SupplierLink.supplier_id == actor.organization_id, SupplierLink.status == LinkStatus.ACTIVE)
    events = list(db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.supplier_id == actor.organization_id,
               AuditEvent.organization_id.in_(active))
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .limit(limit)
    ))
    # The buyer's people are outside the supplier's tenant: name them the way the shared
    # timeline of a customer link does.
    supplier_service._attach_actors(events)
    names = dict(db.session.execute(
        select(Organization.id, Organization.name)
        .where(Organization.id.in_({e.organization_id for e in events}))
    ).all())
    return [(e, names.get(e.organization_id)) for e in events]


def widgets_for(actor) -> list[str]:
    """Which dashboard sections the user sees, in order."""
    if actor.organization.is_supplier:
        # RFQs to answer and orders to acknowledge (portal/services/dashboard_sourcing.py), then
        # invoices: drafts to issue and overdue ones (portal/blueprints/supplier/invoices.py).
        admin = ["admin"] if can(actor, "users.manage") else []
        return ["supplier_sourcing", "supplier_invoicing", "customers", *admin]
    sections = []
    if can(actor, "requisitions.create"):
        sections.append("buyer")
    # Orders to receive and RFQs awaiting award, for those who buy (buyers and admins).
    if can(actor, "orders.issue"):
        sections.append("sourcing")
    # Admins decide the steps nobody else can, so they see the inbox widget too.
    if can(actor, "approvals.inbox"):
        sections.append("approver")
    if can(actor, "users.manage"):
        sections.append("admin")
    return sections


def budget_watch(actor, *, limit: int = 6) -> list[tuple]:
    """Open budgets current today, most used first: every budget for an admin, the budgets of
    the cost centres a manager runs for a cost-centre manager. Returns (budget, balances, bar).

    Ranked in SQL on the budget rows' counters and cut at `limit`: no budget is loaded to be
    sorted away, and no ledger is summed."""
    from portal.domain.budget import bar
    from portal.services.budgets import balances_for

    query = _budget_watch_statement(limit, every=can(actor, "budgets.manage"))
    found = list(db.session.scalars(query, {"today": utcnow().date(), "actor": actor.id}))
    balances = balances_for(found)
    return [(b, balances[b.id], bar(balances[b.id])) for b in found]


@functools.lru_cache(maxsize=8)
def _budget_watch_statement(limit: int, *, every: bool):
    """`budget_watch`'s statement, built once: `today` and (unless `every`) the manager
    `actor` are bound parameters."""
    from portal.domain.budget import BudgetStatus
    from portal.models import Budget, CostCenter

    today = bindparam("today", type_=Budget.starts_on.type)
    used = Budget.reserved + Budget.committed + Budget.spent
    # Balances.used_ratio: used / amount; a budget of 0 is full once anything is used.
    # Floats only to order the rows (SQLite stores both columns scaled alike): never money.
    ratio = case((Budget.amount > 0, cast(used, Float) / cast(Budget.amount, Float)),
                 (used > 0, literal(1.0, Float)), else_=literal(0.0, Float))
    query = (
        select(Budget)
        .where(Budget.status == BudgetStatus.OPEN, Budget.starts_on <= today, Budget.ends_on >= today)
        .options(joinedload(Budget.cost_center))
        .order_by(ratio.desc(), Budget.id)
        .limit(limit)
    )
    if not every:
        query = query.where(Budget.cost_center_id.in_(
            select(CostCenter.id).where(CostCenter.manager_id == bindparam("actor"))))
    return query


def manages_cost_centers(actor) -> bool:
    from portal.models import CostCenter

    return db.session.scalar(select(CostCenter.id).where(CostCenter.manager_id == actor.id).limit(1)) is not None
