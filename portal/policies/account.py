"""Rules of the organisation itself: dashboard, account, users, invitations, profile, audit log."""

from __future__ import annotations

from portal.policies.core import org_admin, rule, same_org


@rule("dashboard.view")
def _dashboard(user, obj) -> bool:
    return True


@rule("account.manage")
def _account(user, obj) -> bool:
    return True


@rule("notifications.view")
def _notifications(user, obj) -> bool:
    return True


@rule("users.manage")
def _users_manage(user, obj) -> bool:
    """Admins manage their own organisation's users (buyer admin or supplier admin)."""
    return org_admin(user)


@rule("users.edit")
def _users_edit(user, obj) -> bool:
    return org_admin(user) and (obj is None or obj.organization_id == user.organization_id)


@rule("users.invite")
def _users_invite(user, obj) -> bool:
    """Admins invite people into their own organisation."""
    return org_admin(user)


@rule("users.deactivate")
def _users_deactivate(user, obj) -> bool:
    """Admins deactivate active users of their organisation (the service refuses yourself)."""
    return _users_edit(user, obj) and (obj is None or obj.is_active)


@rule("users.reactivate")
def _users_reactivate(user, obj) -> bool:
    return _users_edit(user, obj) and (obj is None or not obj.is_active)


@rule("org.edit")
def _org_edit(user, obj) -> bool:
    return org_admin(user)


@rule("audit.view")
def _audit_view(user, obj) -> bool:
    return org_admin(user)


def _invitation_open(obj) -> bool:
    return obj is None or (obj.accepted_at is None and obj.revoked_at is None)


@rule("invitations.revoke")
def _invitations_revoke(user, obj) -> bool:
    """An admin revokes an open (not accepted, not revoked) invitation of their organisation."""
    return org_admin(user) and same_org(user, obj) and _invitation_open(obj)


@rule("invitations.resend")
def _invitations_resend(user, obj) -> bool:
    """An open invitation, pending or expired, can be sent again with a fresh link."""
    return org_admin(user) and same_org(user, obj) and _invitation_open(obj)
