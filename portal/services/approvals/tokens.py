"""Deciding from the e-mail: single-use, expiring decision links."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from portal.domain.messages import N_, Msg
from portal.errors import InvalidTransition, PermissionDenied
from portal.extensions import db
from portal.models import DecisionToken, Requisition
from portal.models.base import utcnow
from portal.policies.approvals import decision_refusal, delegators_of
from portal.services.approvals.decisions import decide
from portal.services.tokens import hash_token

LINK_GONE = N_("This approval link has expired or was already used.")


def load_decision_token(token: str) -> DecisionToken | None:
    """The decision link of the current organisation, used or not; None when unknown here.

    The link page is reached signed in (the tenant filter applies), so a token of another
    company is simply not found."""
    return db.session.scalars(
        select(DecisionToken).where(DecisionToken.token_hash == hash_token(token))
    ).first()


def decision_token_open(row: DecisionToken, *, now: datetime | None = None) -> bool:
    """Not used yet and not expired."""
    return row.used_at is None and row.expires_at > (now or utcnow())


def find_decision_token(token: str) -> DecisionToken | None:
    """An unused, unexpired decision link of the current organisation, or None."""
    row = load_decision_token(token)
    if row is None or not decision_token_open(row):
        return None
    return row


def token_refusal(row: DecisionToken, actor):
    """Why `actor` may not decide with this link now (a DomainError), or None.

    The link must be unused and unexpired, opened by the person it was sent to (or their
    delegate today), and its task still open to the actor."""
    if not decision_token_open(row):
        return InvalidTransition(Msg(LINK_GONE))
    addressee = row.assignment.user_id
    if actor.id != addressee and addressee not in delegators_of(actor):
        return PermissionDenied(Msg(N_("This approval link was sent to someone else.")))
    return decision_refusal(row.assignment.task, actor)


def decide_by_token(token: str, actor, decision: str, comment: str = "") -> Requisition:
    """Decide from an email link: single use, expiring, and only by the assignee (or their
    delegate) signed in as themselves. A refused decision rolls back with the rest of the
    transaction, so the link still works for a corrected attempt."""
    row = load_decision_token(token)
    if row is None:
        raise InvalidTransition(Msg(LINK_GONE))
    problem = token_refusal(row, actor)
    if problem is not None:
        raise problem
    row.used_at = utcnow()
    return decide(row.assignment.task, actor, decision, comment)
