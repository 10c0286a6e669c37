"""Read-only queries behind the approval pages: the inbox, the policy table, delegations, and
the people an admin or approver may choose from. Each list loads what its page shows in a
fixed number of queries, whatever the number of rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select, union_all
from sqlalchemy.orm import joinedload, lazyload, selectinload

from portal.domain.approval import Plan, TaskStatus
from portal.domain.requisition import RequisitionStatus
from portal.extensions import db
from portal.models import (
    ApprovalAssignment,
    ApprovalPolicy,
    ApprovalStep,
    ApprovalStepMember,
    ApprovalTask,
    Category,
    CostCenter,
    Delegation,
    Requisition,
    User,
)
from portal.models.base import utcnow
from portal.policies import can
from portal.policies.approvals import assignment_for, delegators_of, delegators_select
from portal.services import badges
from portal.services.approvals.blocked import BudgetBlock, budget_blocks
from portal.services.approvals.routing import facts_for, plan_for
from portal.services.budgets import Impact, impacts_for
from portal.services.paging import Page, paginate

DEFAULT_REMINDER_HOURS = 24


@dataclass(frozen=True)
class InboxRow:
    """One task awaiting the actor, as the inbox shows it."""

    task: ApprovalTask
    on_behalf_of: User | None
    bulk_ok: bool
    overdue: bool
    impact: Impact | None = None
    # Approving now would be refused by the budget (services.approvals.blocked).
    block: BudgetBlock | None = None

    @property
    def requisition(self) -> Requisition:
        return self.task.requisition


def person(relationship):
    """Load a user for showing a name: without the roles and organisation a user row would
    otherwise load (one statement each per list)."""
    return joinedload(relationship).options(lazyload(User.role_rows), lazyload(User.organization))


def _inbox_options(query):
    return query.options(
        selectinload(ApprovalTask.requisition).options(
            person(Requisition.requester), joinedload(Requisition.cost_center)
        ),
        selectinload(ApprovalTask.assignments).options(person(ApprovalAssignment.user)),
    )


def _reminder_hours(org_id: int) -> int:
    hours = db.session.scalar(
        select(ApprovalPolicy.reminder_hours).where(ApprovalPolicy.organization_id == org_id)
    )
    return hours or DEFAULT_REMINDER_HOURS


def inbox_rows(actor, tasks, *, bulk_max: Decimal, now: datetime | None = None,
               budgets: bool = True) -> list[InboxRow]:
    """Decorate loaded inbox tasks: on whose behalf the actor decides, whether the task may be
    approved in bulk, and whether it waits longer than the reminder period; with `budgets`,
    each requisition's budget impact and a refusal the budget would give."""
    if not tasks:
        return []
    now = now or utcnow()
    delegators = delegators_of(actor)
    late = now - timedelta(hours=_reminder_hours(actor.organization_id))
    impacts = impacts_for([task.requisition for task in tasks]) if budgets else {}
    blocks = budget_blocks(list(tasks), impacts) if budgets else {}
    rows = []
    for task in tasks:
        _assignment, on_behalf_of = assignment_for(task, actor, delegators=delegators)
        block = blocks.get(task.id)
        rows.append(InboxRow(
            task=task,
            on_behalf_of=on_behalf_of,
            bulk_ok=block is None and task.requisition.gross_total <= bulk_max,
            overdue=task.activated_at is not None and task.activated_at <= late,
            impact=impacts.get(task.requisition_id),
            block=block,
        ))
    return rows


def inbox_query(actor):
    """Pending tasks the actor may decide (own or delegated), oldest first.

    The tasks come from the actor's open assignments: two lookups of the assignment index
    `ix_approval_assignments_user_open` (own; delegators'), joined by UNION ALL, never an
    `user OR delegators` condition that scans every assignment of the company. Counting the
    inbox (the nav badge) is one query."""
    still_open = ApprovalAssignment.decision.is_(None)
    own = select(ApprovalAssignment.task_id).where(
        ApprovalAssignment.user_id == actor.id, still_open)
    delegated = select(ApprovalAssignment.task_id).where(
        ApprovalAssignment.user_id.in_(delegators_select(actor)), still_open)
    return (
        select(ApprovalTask)
        .join(ApprovalTask.requisition)
        .where(
            ApprovalTask.id.in_(union_all(own, delegated)),
            ApprovalTask.status == TaskStatus.PENDING,
            Requisition.status == RequisitionStatus.PENDING,
            Requisition.requester_id != actor.id,
            # one decision per person per task (see portal.policies.approvals.decision_refusal),
            # through the index on the decider. NOT EXISTS, not NOT IN: PostgreSQL plans
            # NOT IN (subquery) as a subplan per row once the subquery outgrows work_mem
            # (97 s at 100 000 requisitions); NOT EXISTS is an anti-join.
            ~select(ApprovalAssignment.id).where(
                ApprovalAssignment.task_id == ApprovalTask.id,
                ApprovalAssignment.decided_by_id == actor.id,
            ).exists(),
        )
        .order_by(ApprovalTask.activated_at, ApprovalTask.id)
    )


def inbox_page(actor, *, page: int, per_page: int, bulk_max: Decimal) -> tuple[Page, list]:
    """A page of the actor's inbox (oldest first) and its rows."""
    pagination = paginate(_inbox_options(inbox_query(actor)), page=page, per_page=per_page)
    return pagination, inbox_rows(actor, pagination.items, bulk_max=bulk_max)


def inbox_count(actor) -> int:
    """How many tasks await the actor (the nav badge, the inbox's total after a decision),
    counted up to `badges.CAP` + 1: more shows as "99+"."""
    return badges.capped(inbox_query(actor).order_by(None))


def inbox_top(actor, limit: int = 5) -> list[InboxRow]:
    """The oldest tasks awaiting the actor (the dashboard widget)."""
    tasks = db.session.scalars(_inbox_options(inbox_query(actor)).limit(limit)).all()
    return inbox_rows(actor, tasks, bulk_max=Decimal(0), budgets=False)


def load_task(task_id: int) -> ApprovalTask | None:
    """A task of the current organisation (another company's id is simply not found)."""
    return db.session.scalars(
        select(ApprovalTask)
        .where(ApprovalTask.id == task_id)
        .options(
            selectinload(ApprovalTask.assignments).joinedload(ApprovalAssignment.user),
            joinedload(ApprovalTask.requisition),
        )
    ).first()


def load_inbox_row(actor, task: ApprovalTask, *, bulk_max: Decimal) -> InboxRow:
    return inbox_rows(actor, [task], bulk_max=bulk_max)[0]


# ---------------------------------------------------------------- the policy table


def policy_table(org_id: int) -> tuple[ApprovalPolicy | None, list[ApprovalStep]]:
    """The company's policy (None until an admin saves something) and its steps in order,
    with their cost centres, categories and approvers loaded."""
    policy = db.session.scalars(
        select(ApprovalPolicy)
        .where(ApprovalPolicy.organization_id == org_id)
        .options(
            joinedload(ApprovalPolicy.escalation_user),
            selectinload(ApprovalPolicy.steps).options(
                joinedload(ApprovalStep.cost_center),
                joinedload(ApprovalStep.category),
                joinedload(ApprovalStep.approver_user),
                selectinload(ApprovalStep.members).joinedload(ApprovalStepMember.user),
            ),
        )
    ).first()
    return policy, (list(policy.steps) if policy else [])


def load_step(step_id: int) -> ApprovalStep | None:
    return db.session.scalars(
        select(ApprovalStep)
        .where(ApprovalStep.id == step_id)
        .options(selectinload(ApprovalStep.members), joinedload(ApprovalStep.policy))
    ).first()


def active_users(org_id: int) -> list[User]:
    """Everyone of the company who can sign in, by name."""
    return list(db.session.scalars(
        select(User)
        .where(User.organization_id == org_id, User.is_active_flag.is_(True))
        .order_by(User.full_name, User.id)
    ))


def possible_delegates(actor) -> list[User]:
    """Active approvers and admins of the actor's company, except the actor."""
    return [
        u for u in active_users(actor.organization_id)
        if u.id != actor.id and can(u, "delegations.receive")
    ]


def users_by_ids(ids) -> list[User]:
    """Users of the current organisation with these ids (unknown ids are left out)."""
    ids = [i for i in ids if i is not None]
    if not ids:
        return []
    return list(db.session.scalars(select(User).where(User.id.in_(ids)).order_by(User.full_name)
                                   .options(lazyload(User.role_rows))))


def cost_centers(*, active_only: bool = True) -> list[CostCenter]:
    query = select(CostCenter).order_by(CostCenter.code)
    if active_only:
        query = query.where(CostCenter.is_active.is_(True))
    return list(db.session.scalars(query))


def categories(*, active_only: bool = True) -> list[Category]:
    query = select(Category).order_by(Category.name)
    if active_only:
        query = query.where(Category.is_active.is_(True))
    return list(db.session.scalars(query))


# ---------------------------------------------------------------- delegations


@dataclass(frozen=True)
class DelegationLists:
    current: list[Delegation]
    upcoming: list[Delegation]
    past: list[Delegation]
    to_me: list[Delegation]


def delegation_state(delegation: Delegation, today: date) -> str:
    """current, upcoming or past (ended, or revoked)."""
    if delegation.revoked_at is not None or delegation.ends_on < today:
        return "past"
    if delegation.starts_on > today:
        return "upcoming"
    return "current"


def delegations_for(actor, *, today: date | None = None, past_limit: int = 10) -> DelegationLists:
    """The actor's own delegations (current, upcoming, the latest past ones) and the current or
    upcoming ones given to the actor."""
    today = today or utcnow().date()
    mine = db.session.scalars(
        select(Delegation)
        .where(Delegation.user_id == actor.id)
        .options(joinedload(Delegation.delegate))
        .order_by(Delegation.starts_on.desc(), Delegation.id.desc())
        .limit(100)
    ).all()
    to_me = db.session.scalars(
        select(Delegation)
        .where(Delegation.delegate_id == actor.id, Delegation.revoked_at.is_(None),
               Delegation.ends_on >= today)
        .options(joinedload(Delegation.user))
        .order_by(Delegation.starts_on, Delegation.id)
    ).all()
    by_state: dict[str, list[Delegation]] = {"current": [], "upcoming": [], "past": []}
    for delegation in mine:
        by_state[delegation_state(delegation, today)].append(delegation)
    return DelegationLists(
        current=by_state["current"],
        upcoming=sorted(by_state["upcoming"], key=lambda d: (d.starts_on, d.id)),
        past=by_state["past"][:past_limit],
        to_me=list(to_me),
    )


def acting_for(actor, *, today: date | None = None) -> list[Delegation]:
    """The delegations that let the actor decide for a colleague today."""
    today = today or utcnow().date()
    return list(db.session.scalars(
        select(Delegation)
        .where(Delegation.delegate_id == actor.id, Delegation.revoked_at.is_(None),
               Delegation.starts_on <= today, Delegation.ends_on >= today)
        .options(person(Delegation.user))
        .order_by(Delegation.starts_on, Delegation.id)
    ))


def load_delegation(delegation_id: int) -> Delegation | None:
    return db.session.scalars(select(Delegation).where(Delegation.id == delegation_id)).first()


# ---------------------------------------------------------------- who a requisition waits on


@dataclass(frozen=True)
class Waiting:
    """Who a pending requisition waits on (the undecided approvers of its active step, by name)
    and since when (the step's activation)."""

    names: tuple[str, ...]
    since: datetime | None
    step: str


def waiting_on(requisition_ids) -> dict[int, Waiting]:
    """requisition id -> Waiting, for those of `requisition_ids` that are pending, in one query
    (lists, the requisition page, dashboards). Others are left out."""
    ids = sorted({i for i in requisition_ids if i is not None})
    if not ids:
        return {}
    rows = db.session.execute(
        select(ApprovalTask.requisition_id, ApprovalTask.activated_at, ApprovalTask.name,
               User.full_name)
        .join(Requisition, Requisition.id == ApprovalTask.requisition_id)
        .join(ApprovalAssignment, ApprovalAssignment.task_id == ApprovalTask.id)
        .join(User, User.id == ApprovalAssignment.user_id)
        .where(ApprovalTask.requisition_id.in_(ids),
               ApprovalTask.status == TaskStatus.PENDING,
               ApprovalTask.round == Requisition.approval_round,
               Requisition.status == RequisitionStatus.PENDING,
               ApprovalAssignment.decision.is_(None))
        .order_by(ApprovalTask.requisition_id, User.full_name, User.id)
    ).all()
    found: dict[int, Waiting] = {}
    for req_id, since, step, name in rows:
        known = found.get(req_id)
        names = (*known.names, name) if known else (name,)
        found[req_id] = Waiting(names=names, since=since, step=step)
    return found


def waiting_on_task(task: ApprovalTask | None) -> Waiting | None:
    """`waiting_on` for one requisition whose active task is already loaded with its
    assignments and their users (the requisition page): the same answer, no query."""
    if task is None or task.status != TaskStatus.PENDING:
        return None
    if task.requisition.status != RequisitionStatus.PENDING:
        return None
    people = sorted((a.user for a in task.assignments if a.decision is None),
                    key=lambda user: (user.full_name, user.id))
    if not people:
        return None
    return Waiting(names=tuple(u.full_name for u in people), since=task.activated_at,
                   step=task.name)


# ---------------------------------------------------------------- the expected route of a draft


@dataclass(frozen=True)
class ExpectedRoute:
    """Where a draft would go if submitted now: the routing plan (steps, reasons, a problem that
    would refuse the submission) and the approvers' names by step position."""

    plan: Plan
    names: dict[int, list[str]]


def expected_route(req: Requisition) -> ExpectedRoute:
    """The route `req` would take if submitted now, from the same routing entry point as
    submitting (so the requester sees what the admin's preview shows). Read-only."""
    plan = plan_for(req.organization_id, facts_for(req))
    people = {u.id: u.full_name for u in users_by_ids(
        {uid for planned in plan.tasks for uid in planned.approver_ids})}
    names = {planned.position: [people[uid] for uid in planned.approver_ids if uid in people]
             for planned in plan.tasks}
    return ExpectedRoute(plan=plan, names=names)
