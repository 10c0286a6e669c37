"""Routing: the company's policy as the pure router sees it, and where a requisition goes."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from portal.domain.approval import Facts, LineFacts, Person, Plan, StepSpec, TaskStatus, route
from portal.domain.approval_coverage import Band, CostCenterFacts, uncovered_bands
from portal.domain.roles import Role
from portal.extensions import db
from portal.models import (
    ApprovalAssignment,
    ApprovalPolicy,
    ApprovalPolicyVersion,
    ApprovalStep,
    ApprovalTask,
    CostCenter,
    Requisition,
    User,
)


def policy_for(org_id: int) -> ApprovalPolicy | None:
    """The company's approval policy with its steps, their members, cost centres and
    categories (what routing reads), in one query (None until an admin saves one)."""
    return db.session.scalars(
        select(ApprovalPolicy)
        .where(ApprovalPolicy.organization_id == org_id)
        .options(joinedload(ApprovalPolicy.steps).options(
            joinedload(ApprovalStep.members), joinedload(ApprovalStep.cost_center),
            joinedload(ApprovalStep.category)))
    ).unique().first()


def policy_and_version(org_id: int) -> tuple[ApprovalPolicy | None, int | None]:
    """`policy_for` and, in the same query, the id of the policy's latest version (None when
    it has none yet: `policy_versions.current_version_id` writes the first)."""
    latest = (
        select(ApprovalPolicyVersion.id)
        .where(ApprovalPolicyVersion.policy_id == ApprovalPolicy.id)
        .order_by(ApprovalPolicyVersion.number.desc()).limit(1)
        .correlate(ApprovalPolicy).scalar_subquery()
    )
    row = db.session.execute(
        select(ApprovalPolicy, latest)
        .where(ApprovalPolicy.organization_id == org_id)
        .options(joinedload(ApprovalPolicy.steps).options(
            joinedload(ApprovalStep.members), joinedload(ApprovalStep.cost_center),
            joinedload(ApprovalStep.category)))
    ).unique().first()
    return (None, None) if row is None else (row[0], row[1])


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


def person(u: User) -> Person:
    """One user as routing sees them (roles as plain facts for the pure router)."""
    return Person(
        id=u.id, name=u.full_name, active=u.is_active,
        is_approver=Role.APPROVER in u.roles, is_admin=Role.ADMIN in u.roles,
        approval_limit=u.approval_limit if Role.APPROVER in u.roles else None,
    )


def company_users(org_id: int) -> list[User]:
    """The company's users with their roles (one query)."""
    return list(db.session.scalars(
        select(User).where(User.organization_id == org_id).options(joinedload(User.role_rows))
    ).unique())


def directory(org_id: int, users: list[User] | None = None) -> dict[int, Person]:
    """The company's users as routing sees them (`users`: `company_users`, already read)."""
    return {u.id: person(u) for u in (company_users(org_id) if users is None else users)}


def active_admins(org_id: int, *, besides: int | None = None) -> list[User]:
    """The company's active admins (except the user `besides`): who decides when nobody else may."""
    people = directory(org_id)
    ids = [p.id for p in people.values() if p.is_admin and p.active and p.id != besides]
    if not ids:
        return []
    return list(db.session.scalars(select(User).where(User.id.in_(ids)).order_by(User.id)))


def facts_for(req: Requisition, *, amount: Decimal | None = None) -> Facts:
    """What routing needs to know of a requisition, with the categories of its lines (a line
    has the category of its catalogue item; a free-text line has none)."""
    return Facts(
        amount=req.gross_total if amount is None else amount,
        currency=req.currency,
        cost_center_id=req.cost_center_id,
        category_id=req.category_id,
        requester_id=req.requester_id,
        cost_center_manager_id=req.cost_center.manager_id if req.cost_center else None,
        lines=tuple(
            LineFacts(position=line.position, description=line.description,
                      category_id=line.item.category_id,
                      category_code=line.item.category.code if line.item.category else None)
            for line in req.lines if line.item is not None and line.item.category_id is not None
        ),
    )


_LOAD = object()


def plan_for(org_id: int, facts: Facts, *, policy: ApprovalPolicy | None = _LOAD,  # type: ignore[assignment]
             users: list[User] | None = None) -> Plan:
    """Where a requisition with these facts would go (used on submit and by the preview), under
    the company's steps and its rule "a person decides once" (on without a saved policy).
    `policy`: the company's policy when the caller has already loaded it (`policy_for`);
    `users`: the company's users likewise (`company_users`)."""
    if policy is _LOAD:
        policy = policy_for(org_id)
    return route(_step_specs(policy), facts, directory(org_id, users),
                 decide_once=policy.decide_once if policy is not None else True)


def coverage(org_id: int, currency: str) -> list[Band]:
    """The amount bands of the company's policy that no approver with a sufficient limit
    covers (they go to the company admins), per step and, for manager steps, per cost centre."""
    centers = [
        CostCenterFacts(c.id, c.code, c.manager_id)
        for c in db.session.scalars(select(CostCenter).where(CostCenter.is_active.is_(True))
                                    .order_by(CostCenter.code))
    ]
    return uncovered_bands(_step_specs(policy_for(org_id)), directory(org_id), centers, currency)


def tasks_of(req: Requisition, round_: int | None = None) -> list[ApprovalTask]:
    """The requisition's approval tasks (of one round, or all), in order."""
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


def active_task(req: Requisition) -> ApprovalTask | None:
    """The pending task of the current round, if any."""
    for task in tasks_of(req, req.approval_round):
        if task.status == TaskStatus.PENDING:
            return task
    return None
