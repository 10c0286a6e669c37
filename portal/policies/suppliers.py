"""Rules of supplier links, supplier invitations, and the supplier's view of its customers."""

from __future__ import annotations

from portal.domain.messages import N_
from portal.domain.roles import Role
from portal.models.org import LinkStatus
from portal.policies.core import is_buyer_org, is_supplier_org, refuse, rule


@rule("suppliers.view")
def _suppliers_view(user, obj) -> bool:
    """Buyers, approvers and admins of a buying company see its suppliers."""
    return is_buyer_org(user)


@rule("suppliers.manage")
def _suppliers_manage(user, obj):
    """Only a buying company's admin invites, blocks and unblocks suppliers."""
    if is_buyer_org(user) and user.has_role(Role.ADMIN):
        return True
    return refuse(N_("Only your company's admin can manage suppliers."))


def _manages(user, obj) -> bool:
    return _suppliers_manage(user, obj) is True


@rule("suppliers.block")
def _suppliers_block(user, obj) -> bool:
    return _manages(user, obj) and (obj is None or obj.status == LinkStatus.ACTIVE)


@rule("suppliers.unblock")
def _suppliers_unblock(user, obj) -> bool:
    return _manages(user, obj) and (obj is None or obj.status == LinkStatus.BLOCKED)


@rule("suppliers.edit_terms")
def _suppliers_edit_terms(user, obj) -> bool:
    """A buying company's admin renegotiates the terms of its own supplier links."""
    return _manages(user, obj) and (obj is None or obj.organization_id == user.organization_id)


@rule("customers.view")
def _customers_view(user, obj) -> bool:
    """Supplier users see the buyers they are actively linked to."""
    return is_supplier_org(user)


def _own_supplier_invitation_open(user, obj) -> bool:
    return obj is None or (
        obj.organization_id == user.organization_id
        and obj.kind == "supplier"
        and obj.accepted_at is None
        and obj.revoked_at is None
    )


@rule("supplier_invitation.send")
def _supplier_invitation_send(user, obj):
    """A buying company's admin invites a supplier."""
    if _manages(user, obj):
        return True
    return refuse(N_("Only your company's admin can invite suppliers."))


@rule("supplier_invitation.revoke")
def _supplier_invitation_revoke(user, obj) -> bool:
    """A buying company's admin withdraws its open (pending or expired) supplier invitation."""
    return _manages(user, obj) and _own_supplier_invitation_open(user, obj)


@rule("supplier_invitation.resend")
def _supplier_invitation_resend(user, obj) -> bool:
    """An open supplier invitation, pending or expired, can be sent again with a fresh link."""
    return _manages(user, obj) and _own_supplier_invitation_open(user, obj)


@rule("supplier_invitation.accept", any_tenant=True)
def _supplier_invitation_accept(user, obj) -> bool:
    """A signed-in supplier admin may accept a supplier invitation for their organisation."""
    return is_supplier_org(user) and user.has_role(Role.SUPPLIER_ADMIN)
