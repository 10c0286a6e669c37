"""Read-only queries behind the approval pages: the inbox, the policy table, delegations, and
the people an admin or approver may choose from. Each list loads what its page shows in a
fixed number of queries, whatever the number of rows."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.orm import aliased, joinedload, lazyload, selectinload

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
from portal.policies.approvals import assignment_for, delegators_of
from portal.services import badges
from portal.services.approvals.blocked import BudgetBlock, budget_blocks
from portal.services.approvals.routing import facts_for, plan_for
from portal.services.budgets import Impact, impacts_for
from portal.services.paging import Key, KeysetPage, Order, count_upto, keyset

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
        joinedload(ApprovalTask.requisition).options(
            person(Requisition.requester), joinedload(Requisition.cost_center)
        ),
        selectinload(ApprovalTask.assignments).options(person(ApprovalAssignment.user)),
    )


def _reminder_hours(org_id: int) -> int:
    hours = db.session.scalar(_reminder_statement(), {"org": org_id})
    return hours or DEFAULT_REMINDER_HOURS


@functools.cache
def _reminder_statement():
    return select(ApprovalPolicy.reminder_hours).where(
        ApprovalPolicy.organization_id == bindparam("org"))


def inbox_rows(actor, tasks, *, bulk_max: Decimal, now: datetime | None = None,
               budgets: bool = True, delegators: list[int] | None = None) -> list[InboxRow]:
    """Decorate loaded inbox tasks: on whose behalf the actor decides, whether the task may be
    approved in bulk, and whether it waits longer than the reminder period; with `budgets`,
    each requisition's budget impact and a refusal the budget would give. `delegators` (from
    `delegators_of`) saves its query when the caller has it."""
    if not tasks:
        return []
    now = now or utcnow()
    if delegators is None:
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


# The inbox's order, oldest activation first: the assignment's copy of its task's activated_at
# (ApprovalAssignment.activated_at, NULL unless open on a pending task), then the task. Both
# are read from the partial index ix_approval_assignments_user_activated; the listed rows are
# the tasks, which hold the same values (`path`).
INBOX_ORDER = Order("inbox", Key(ApprovalAssignment.activated_at, path="activated_at"),
                    Key(ApprovalAssignment.task_id, path="id"))


def _inbox_base():
    """Tasks through the open assignments of active steps (`activated_at` set), which the actor
    may decide: not the actor's own requisition, no decision of the actor on the task yet.
    Without the condition on whose assignments: `_inbox_parts` adds it.

    "Undecided, the task pending, the requisition pending" is what a set `activated_at` means
    (`portal.models.approval.sync_activation`; a requisition that leaves "pending" has its open
    tasks cancelled), so it is not asked again: PostgreSQL would multiply the selectivities of
    the repeated conditions, expect a handful of rows and sort them all instead of walking the
    index in order up to the page.

    The actor is the bound parameter `actor` (see `_inbox`)."""
    actor = bindparam("actor")
    decided = aliased(ApprovalAssignment)
    return (
        select(ApprovalTask)
        .join(ApprovalAssignment, ApprovalAssignment.task_id == ApprovalTask.id)
        .join(ApprovalTask.requisition)
        .where(
            ApprovalAssignment.activated_at.is_not(None),
            Requisition.requester_id != actor,
            # one decision per person per task (see portal.policies.approvals.decision_refusal),
            # through the index on the decider. NOT EXISTS, not NOT IN: PostgreSQL plans
            # NOT IN (subquery) as a subplan per row once the subquery outgrows work_mem
            # (97 s at 100 000 requisitions); NOT EXISTS is an anti-join.
            ~select(decided.id).where(
                decided.task_id == ApprovalTask.id, decided.decided_by_id == actor,
            ).exists(),
        )
    )


def _inbox_parts(people: int) -> list:
    """One condition per person whose open assignments the actor decides (the actor, then each
    delegator: bound parameters `person_0`, `person_1`, ...), each one range of the assignment
    index. A task held by two of them (the actor and a delegator in one approver group) belongs
    to the first one only, so the parts share no task and the merged pages and counts list it
    once."""
    person = [bindparam(f"person_{i}") for i in range(people)]
    parts = []
    for i in range(people):
        condition = ApprovalAssignment.user_id == person[i]
        if i:
            earlier = aliased(ApprovalAssignment)
            condition = and_(condition, ~select(earlier.id).where(
                earlier.task_id == ApprovalAssignment.task_id,
                earlier.user_id.in_(person[:i]),
                earlier.activated_at.is_not(None),
            ).exists())
        parts.append(condition)
    return parts


@dataclass(frozen=True)
class _Inbox:
    """The inbox's statements for a number of people (the actor and their delegators), built
    once per number, and the values of their parameters for one actor (`_inbox`)."""

    base: object  # _inbox_base()
    listed: object  # the base with the loads of the listed tasks
    parts: tuple
    params: dict


@functools.lru_cache(maxsize=16)
def _inbox_statements(people: int) -> tuple:
    base = _inbox_base()
    return base, _inbox_options(base), tuple(_inbox_parts(people))


def _inbox(actor, delegators: list[int]) -> _Inbox:
    people = list(dict.fromkeys([actor.id, *delegators]))
    base, listed, parts = _inbox_statements(len(people))
    params = {"actor": actor.id, **{f"person_{i}": user_id for i, user_id in enumerate(people)}}
    return _Inbox(base=base, listed=listed, parts=parts, params=params)


def inbox_query(actor):
    """All pending tasks the actor may decide (own or delegated), oldest first, in one
    statement (tests and one-off reads; the pages read `inbox_page`, by index range)."""
    inbox = _inbox(actor, delegators_of(actor))
    return inbox.base.where(or_(*inbox.parts)).order_by(
        ApprovalAssignment.activated_at, ApprovalAssignment.task_id).params(inbox.params)


def inbox_page(actor, *, cursor: str | None, per_page: int, bulk_max: Decimal,
               count_cap: int = badges.CAP) -> tuple[KeysetPage, list[InboxRow]]:
    """A page of the actor's inbox, oldest first, and its rows (keyset: `cursor` from the
    previous page, BadCursor for one the inbox did not give out).

    Each person the actor decides for is one range of the assignment index read up to a page
    (`_inbox_parts`), merged in order; the total is counted up to `count_cap` + 1 (as the
    badge), so a page costs the same for 10 or 100 000 open tasks."""
    delegators = delegators_of(actor)
    inbox = _inbox(actor, delegators)
    page = keyset(inbox.listed, INBOX_ORDER, cursor=cursor, per_page=per_page,
                  count_cap=count_cap, parts=list(inbox.parts), params=inbox.params)
    return page, inbox_rows(actor, page.items, bulk_max=bulk_max, delegators=delegators)


def _inbox_count(actor, delegators: list[int], cap: int) -> int:
    """The inbox's tasks counted up to cap + 1, each person's index range walked in order."""
    inbox = _inbox(actor, delegators)
    return count_upto(inbox.base, cap, column=ApprovalAssignment.task_id, parts=list(inbox.parts),
                      keys=INBOX_ORDER.segments[0].keys, params=inbox.params)


def inbox_count(actor) -> int:
    """How many tasks await the actor (the nav badge, the inbox's total after a decision),
    counted up to `badges.CAP` + 1: more shows as "99+"."""
    return _inbox_count(actor, delegators_of(actor), badges.CAP)


def inbox_top(actor, limit: int = 5, *, count_cap: int = badges.CAP) -> tuple[int, list[InboxRow]]:
    """The oldest tasks awaiting the actor (the dashboard widget: the inbox's first page,
    `limit` long, without budgets) and how many there are, counted up to `count_cap` + 1."""
    delegators = delegators_of(actor)
    inbox = _inbox(actor, delegators)
    page = keyset(inbox.listed, INBOX_ORDER, per_page=limit, count=False, parts=list(inbox.parts),
                  params=inbox.params)
    rows = inbox_rows(actor, page.items, bulk_max=Decimal(0), budgets=False, delegators=delegators)
    return _inbox_count(actor, delegators, count_cap), rows


def load_task(task_id: int) -> ApprovalTask | None:
    """A task of the current organisation (another company's id is simply not found), with its
    requisition and assignments in one statement: the view's check sees one state of them (two
    reads could straddle a concurrent decision's commit: the task still open, its assignment
    already decided)."""
    return db.session.scalars(
        select(ApprovalTask)
        .where(ApprovalTask.id == task_id)
        .options(
            joinedload(ApprovalTask.assignments).joinedload(ApprovalAssignment.user),
            joinedload(ApprovalTask.requisition),
        )
    ).unique().first()


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
    return list(db.session.scalars(_acting_for_statement(),
                                   {"actor": actor.id, "today": today}))


@functools.cache
def _acting_for_statement():
    """`acting_for`'s statement, built once (every inbox runs it)."""
    today = bindparam("today", type_=Delegation.starts_on.type)
    return (
        select(Delegation)
        .where(Delegation.delegate_id == bindparam("actor"), Delegation.revoked_at.is_(None),
               Delegation.starts_on <= today, Delegation.ends_on >= today)
        .options(person(Delegation.user))
        .order_by(Delegation.starts_on, Delegation.id)
    )


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
    rows = db.session.execute(_waiting_statement(), {"ids": ids}).all()
    found: dict[int, Waiting] = {}
    for req_id, since, step, name in rows:
        known = found.get(req_id)
        names = (*known.names, name) if known else (name,)
        found[req_id] = Waiting(names=names, since=since, step=step)
    return found


@functools.cache
def _waiting_statement():
    """`waiting_on`'s statement, built once: every list and dashboard runs it."""
    return (
        select(ApprovalTask.requisition_id, ApprovalTask.activated_at, ApprovalTask.name,
               User.full_name)
        .join(Requisition, Requisition.id == ApprovalTask.requisition_id)
        .join(ApprovalAssignment, ApprovalAssignment.task_id == ApprovalTask.id)
        .join(User, User.id == ApprovalAssignment.user_id)
        .where(ApprovalTask.requisition_id.in_(bindparam("ids", expanding=True)),
               ApprovalTask.status == TaskStatus.PENDING,
               ApprovalTask.round == Requisition.approval_round,
               Requisition.status == RequisitionStatus.PENDING,
               ApprovalAssignment.decision.is_(None))
        .order_by(ApprovalTask.requisition_id, User.full_name, User.id)
    )


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
