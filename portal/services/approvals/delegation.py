"""Delegation: a user lets a colleague decide their approval tasks for a period."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from portal.domain.messages import N_, Link, Msg
from portal.errors import InvalidTransition, PermissionDenied, ValidationProblem
from portal.extensions import db
from portal.models import Delegation, User
from portal.models.base import utcnow
from portal.policies import check
from portal.services import audit
from portal.services.notifications import notify


def create_delegation(actor, delegate: User | None, starts_on: date, ends_on: date,
                      *, today: date | None = None) -> Delegation:
    """`actor` lets `delegate` decide their approval tasks within the period.

    The delegate must be an active colleague who may decide approvals (the policy
    "delegations.receive"); the period must not be over, last at most a year, nor overlap
    another of the actor's delegations. Raises ValidationProblem."""
    today = today or utcnow().date()
    if delegate is None or not delegate.is_active:
        raise ValidationProblem(Msg(N_("Choose an active colleague as your delegate.")))
    if delegate.id == actor.id:
        raise ValidationProblem(Msg(N_("You cannot delegate to yourself.")))
    not_eligible = check(delegate, "delegations.receive")
    if not_eligible is not None:
        raise ValidationProblem(not_eligible.msg)
    if ends_on < starts_on:
        raise ValidationProblem(Msg(N_("The delegation must end on or after its first day.")))
    if ends_on < today:
        raise ValidationProblem(Msg(N_("The delegation period is already over.")))
    if (ends_on - starts_on).days > 366:
        raise ValidationProblem(Msg(N_("A delegation may last at most a year.")))
    overlapping = db.session.scalar(
        select(Delegation.id).where(
            Delegation.user_id == actor.id, Delegation.revoked_at.is_(None),
            Delegation.starts_on <= ends_on, Delegation.ends_on >= starts_on,
        )
    )
    if overlapping:
        raise ValidationProblem(Msg(N_("You already have a delegation in that period.")))
    delegation = Delegation(organization_id=actor.organization_id, user_id=actor.id,
                            delegate_id=delegate.id, starts_on=starts_on, ends_on=ends_on)
    db.session.add(delegation)
    db.session.flush()
    audit.record(actor=actor, action="delegation.created", obj=delegation,
                 summary={"delegate": delegate.full_name, "from": starts_on, "to": ends_on})
    notify(delegate, N_("%(name)s delegated their approvals to you from %(start)s to %(end)s."),
           link=Link("approvals.inbox"), kind="delegation", name=actor.full_name,
           start=starts_on, end=ends_on)
    return delegation


def revoke_delegation(delegation: Delegation, actor) -> None:
    """End a delegation early; only the person who delegated can. Raises PermissionDenied,
    InvalidTransition (already ended)."""
    if delegation.user_id != actor.id:
        raise PermissionDenied(Msg(N_("Only the person who delegated can end a delegation.")))
    if delegation.revoked_at is not None:
        raise InvalidTransition(Msg(N_("This delegation has already ended.")))
    delegation.revoked_at = utcnow()
    audit.record(actor=actor, action="delegation.revoked", obj=delegation)
    db.session.flush()
