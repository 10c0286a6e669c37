"""Where an invitation stands, for every kind (a person joining a company, a supplier company
joining a buyer): one rule, so the admin pages, the landing page and the services agree.

An invitation is open until it is accepted or revoked; an open one past its expiry is expired
(its link no longer works, but it can be sent again with a fresh link).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol


class InvitationState(StrEnum):
    PENDING = "pending"
    EXPIRED = "expired"
    ACCEPTED = "accepted"
    REVOKED = "revoked"


# Open: the admin may still resend or revoke it.
OPEN_STATES = frozenset({InvitationState.PENDING, InvitationState.EXPIRED})


class Dated(Protocol):
    accepted_at: datetime | None
    revoked_at: datetime | None
    expires_at: datetime


def state_of(invitation: Dated, now: datetime) -> InvitationState:
    """The invitation's state at `now`: accepted and revoked are final and win over expiry."""
    if invitation.accepted_at is not None:
        return InvitationState.ACCEPTED
    if invitation.revoked_at is not None:
        return InvitationState.REVOKED
    if invitation.expires_at <= now:
        return InvitationState.EXPIRED
    return InvitationState.PENDING


def is_open(invitation: Dated, now: datetime) -> bool:
    """Neither accepted nor revoked (an expired invitation is still open: it can be resent)."""
    return state_of(invitation, now) in OPEN_STATES


def expiry(now: datetime, days: int) -> datetime:
    """When a link issued at `now` for `days` days stops working."""
    return now + timedelta(days=days)
