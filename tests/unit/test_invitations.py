"""The one invitation-state rule (domain/invitations.py), for user and supplier invitations."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from portal.domain.invitations import InvitationState, expiry, is_open, state_of

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


@dataclass
class Inv:
    expires_at: datetime
    accepted_at: datetime | None = None
    revoked_at: datetime | None = None


@pytest.mark.parametrize(
    ("invitation", "state", "open_"),
    [
        (Inv(NOW + timedelta(days=1)), InvitationState.PENDING, True),
        (Inv(NOW), InvitationState.EXPIRED, True),  # the expiry instant itself is too late
        (Inv(NOW - timedelta(days=1)), InvitationState.EXPIRED, True),
        (Inv(NOW - timedelta(days=1), accepted_at=NOW), InvitationState.ACCEPTED, False),
        (Inv(NOW + timedelta(days=1), revoked_at=NOW), InvitationState.REVOKED, False),
        (Inv(NOW + timedelta(days=1), accepted_at=NOW, revoked_at=NOW), InvitationState.ACCEPTED,
         False),
    ],
)
def test_state_of_invitation_accepted_and_revoked_win_over_expiry(invitation, state, open_):
    assert state_of(invitation, NOW) == state
    assert is_open(invitation, NOW) is open_


def test_expiry_is_days_after_issue():
    assert expiry(NOW, 7) == datetime(2026, 12, 12, 12, 0, tzinfo=UTC)
