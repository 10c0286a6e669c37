"""Bringing suppliers in.

A buying company's admin invites a supplier company by email with proposed terms
(`Invitation`, kind "supplier", owned by the buyer; only the token's hash is stored). The
invitee opens the emailed link and either registers a new supplier organisation with its first
user, or, signed in as a supplier admin, accepts for an existing one. Either way the link goes
live with the proposed terms and the buyer's timeline records "supplier.linked".

    sending.py   the buyer's side: invite, list, revoke, resend
    joining.py   the invitee's side: register a new supplier, or accept for an existing one
                 (the deliberate cross-tenant reads and writes are confined there)
"""

from __future__ import annotations

from portal.domain.invitations import InvitationState
from portal.services.invitations import state_of
from portal.services.supplier_invitations.joining import (
    JoinMode,
    accept_for_organization,
    find_by_token,
    join_mode,
    register_supplier,
)
from portal.services.supplier_invitations.sending import (
    KIND,
    SUPPLIER_ROLES,
    get_invitation,
    invite_supplier,
    open_invitations,
    resend_invitation,
    revoke_invitation,
)

__all__ = [
    "KIND", "SUPPLIER_ROLES", "InvitationState", "JoinMode", "accept_for_organization",
    "find_by_token", "get_invitation", "invite_supplier", "join_mode", "open_invitations",
    "register_supplier", "resend_invitation", "revoke_invitation", "state_of",
]
