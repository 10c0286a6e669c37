"""Approval policies (editable rules), the tasks they create, delegations and email decisions."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    event,
    inspect,
    text,
)
from sqlalchemy import false as sql_false
from sqlalchemy import true as sql_true
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from portal.domain.approval import ApproverKind, Quorum, TaskStatus
from portal.extensions import db
from portal.models.base import Timestamped
from portal.models.catalog import Category, CostCenter
from portal.models.org import enum_column
from portal.models.requisition import Requisition
from portal.models.types import Amount, UTCDateTime
from portal.models.user import User
from portal.tenancy import TenantOwned


class ApprovalPolicy(Timestamped, TenantOwned, db.Model):
    """A company's approval settings: reminder and escalation periods, escalation user, and
    the routing rules (header category required, one person decides once)."""

    __tablename__ = "approval_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    reminder_hours: Mapped[int] = mapped_column(default=24)
    escalation_hours: Mapped[int] = mapped_column(default=72)
    escalation_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    # Routing rules: a requisition must name its category to be submitted; a person decides
    # at most one step of a requisition (segregation of duties; on unless the company says not).
    category_required: Mapped[bool] = mapped_column(default=False, server_default=sql_false())
    decide_once: Mapped[bool] = mapped_column(default=True, server_default=sql_true())

    escalation_user: Mapped[User | None] = relationship()
    steps: Mapped[list[ApprovalStep]] = relationship(
        back_populates="policy", cascade="all, delete-orphan", order_by="ApprovalStep.position"
    )

    __table_args__ = (
        UniqueConstraint("organization_id"),
        CheckConstraint("reminder_hours > 0 AND escalation_hours > 0", name="periods"),
    )


class ApprovalStep(TenantOwned, db.Model):
    """One row of the policy table: when it applies, and who approves."""

    __tablename__ = "approval_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("approval_policies.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column()
    name: Mapped[str] = mapped_column(String(120))
    min_amount: Mapped[Decimal | None] = mapped_column(Amount(), nullable=True)
    cost_center_id: Mapped[int | None] = mapped_column(ForeignKey("cost_centers.id"), nullable=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), nullable=True)
    approver_kind: Mapped[ApproverKind] = mapped_column(enum_column(ApproverKind))
    approver_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    quorum: Mapped[Quorum] = mapped_column(enum_column(Quorum), default=Quorum.ANY)
    quorum_n: Mapped[int | None] = mapped_column(nullable=True)

    policy: Mapped[ApprovalPolicy] = relationship(back_populates="steps")
    cost_center: Mapped[CostCenter | None] = relationship()
    category: Mapped[Category | None] = relationship()
    approver_user: Mapped[User | None] = relationship()
    members: Mapped[list[ApprovalStepMember]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )

    __table_args__ = (CheckConstraint("min_amount IS NULL OR min_amount >= 0", name="min_amount"),)


class ApprovalStepMember(TenantOwned, db.Model):
    """A member of a step's approver group."""

    __tablename__ = "approval_step_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("approval_steps.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    user: Mapped[User] = relationship()


class ApprovalTask(Timestamped, TenantOwned, db.Model):
    """A materialised step of one approval round of a requisition, with why it was routed."""

    __tablename__ = "approval_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    requisition_id: Mapped[int] = mapped_column(
        ForeignKey("requisitions.id", ondelete="CASCADE"), index=True
    )
    round: Mapped[int] = mapped_column()
    position: Mapped[int] = mapped_column()
    step_id: Mapped[int | None] = mapped_column(ForeignKey("approval_steps.id"), nullable=True)
    name: Mapped[str] = mapped_column(String(120))
    # "step" (from the policy) or "budget" (an extra approval of a budget overrun).
    kind: Mapped[str] = mapped_column(String(10), default="step")
    reason: Mapped[str] = mapped_column(Text)
    reason_params: Mapped[dict] = mapped_column(db.JSON, default=dict)
    quorum: Mapped[Quorum] = mapped_column(enum_column(Quorum))
    required: Mapped[int] = mapped_column(default=1)
    status: Mapped[TaskStatus] = mapped_column(enum_column(TaskStatus), index=True)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    requisition: Mapped[Requisition] = relationship()
    assignments: Mapped[list[ApprovalAssignment]] = relationship(
        back_populates="task", cascade="all, delete-orphan", order_by="ApprovalAssignment.id"
    )

    __table_args__ = (
        Index("ix_approval_tasks_req_round", "requisition_id", "round", "position"),
        # The company's longest-waiting steps (the admin's dashboard), oldest first.
        Index("ix_approval_tasks_org_status_activated", "organization_id", "status", "activated_at", "id"),
    )


class ApprovalAssignment(TenantOwned, db.Model):
    """One approver's share of a task and their decision."""

    __tablename__ = "approval_assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("approval_tasks.id", ondelete="CASCADE"), index=True)
    # Indexed by ix_approval_assignments_user_decided (user_id first) below.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decision: Mapped[str | None] = mapped_column(String(10), nullable=True)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    comment: Mapped[str] = mapped_column(Text, default="")
    escalated: Mapped[bool] = mapped_column(default=False)
    # The task's activated_at while this assignment awaits a decision on the active (pending)
    # task, NULL otherwise: the inbox's sort key, kept on the assignment so the inbox reads its
    # page in order from one index (never sorting all of an approver's open tasks). Kept in
    # step by `sync_activation` at every flush; nothing else writes it.
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    task: Mapped[ApprovalTask] = relationship(back_populates="assignments")
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    __table_args__ = (
        # The inbox, its badge and the approver's dashboard: a user's open assignments of active
        # tasks, oldest activation first (services.approvals.queries). Partial: decided
        # assignments and waiting steps are not in it.
        Index("ix_approval_assignments_user_activated", "user_id", "activated_at", "task_id",
              sqlite_where=text("activated_at IS NOT NULL"),
              postgresql_where=text("activated_at IS NOT NULL")),
        # "one decision per person per task": the tasks a user already decided.
        Index("ix_approval_assignments_decider", "decided_by_id", "task_id"),
        # An approver's latest decisions (the dashboard), newest first.
        Index("ix_approval_assignments_user_decided", "user_id", "decided_at", "id"),
    )


def _activation_of(assignment: ApprovalAssignment, task: ApprovalTask | None) -> datetime | None:
    if task is None or assignment.decision is not None or task.status != TaskStatus.PENDING:
        return None
    return task.activated_at


def _changed(obj, *names: str) -> bool:
    attrs = inspect(obj).attrs
    return any(attrs[name].history.has_changes() for name in names)


def sync_activation(session: Session) -> None:
    """Give every assignment the session is about to write, or whose task's status or
    activation it is about to write, its `activated_at` (the task's while the assignment is
    open and the task pending, else NULL). Runs before every flush, so whichever service
    activates, decides, closes, escalates or reassigns, the inbox index follows; a caller that
    changes a task's activated_at inside its own before_flush (the demo's back-dating) calls
    it again."""
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, ApprovalTask):
            if obj in session.new or _changed(obj, "status", "activated_at"):
                for assignment in obj.assignments:
                    value = _activation_of(assignment, obj)
                    if assignment.activated_at != value:
                        assignment.activated_at = value
        elif isinstance(obj, ApprovalAssignment):
            value = _activation_of(obj, obj.task)
            if obj.activated_at != value:
                obj.activated_at = value


@event.listens_for(Session, "before_flush")
def _sync_activation(session: Session, _context, _instances) -> None:
    sync_activation(session)


class Delegation(Timestamped, TenantOwned, db.Model):
    """`user` lets `delegate` decide their approval tasks from `starts_on` to `ends_on`."""

    __tablename__ = "delegations"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    delegate_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    delegate: Mapped[User] = relationship(foreign_keys=[delegate_id])

    __table_args__ = (CheckConstraint("ends_on >= starts_on", name="period"),)


class DecisionToken(Timestamped, TenantOwned, db.Model):
    """A signed, expiring, single-use link from a notification email to decide one assignment."""

    __tablename__ = "decision_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(
        ForeignKey("approval_assignments.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    assignment: Mapped[ApprovalAssignment] = relationship()
