"""What needs a user's attention, by role. Each later feature adds its own widgets here."""

from __future__ import annotations

from sqlalchemy import func, select

from portal.domain.roles import Role
from portal.extensions import db
from portal.models import Invitation, LinkStatus, SupplierLink, User
from portal.models.base import utcnow


def admin_summary(actor) -> dict:
    """Counts for a company admin: users, pending invitations, suppliers by link status."""
    users = db.session.execute(
        select(User.is_active_flag, func.count(User.id)).group_by(User.is_active_flag)
    ).all()
    by_active = {active: count for active, count in users}
    pending = db.session.scalar(
        select(func.count(Invitation.id)).where(
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > utcnow(),
        )
    )
    return {
        "active_users": by_active.get(True, 0),
        "inactive_users": by_active.get(False, 0),
        "pending_invitations": pending,
    }


def supplier_counts(actor) -> dict:
    """Suppliers of a buying company by link status."""
    rows = db.session.execute(
        select(SupplierLink.status, func.count(SupplierLink.id))
        .where(SupplierLink.organization_id == actor.organization_id)
        .group_by(SupplierLink.status)
    ).all()
    return {str(status): count for status, count in rows}


def customers(actor) -> list[SupplierLink]:
    """The buying companies a supplier is actively linked to."""
    return list(
        db.session.scalars(
            select(SupplierLink)
            .where(SupplierLink.supplier_id == actor.organization_id, SupplierLink.status == LinkStatus.ACTIVE)
            .order_by(SupplierLink.created_at)
        )
    )


def widgets_for(actor) -> list[str]:
    """Which dashboard sections the user sees, in order."""
    if actor.organization.is_supplier:
        return ["customers"] + (["admin"] if actor.has_role(Role.SUPPLIER_ADMIN) else [])
    sections = []
    if actor.has_role(Role.BUYER):
        sections.append("buyer")
    if actor.has_role(Role.APPROVER):
        sections.append("approver")
    if actor.has_role(Role.ADMIN):
        sections.append("admin")
    return sections
