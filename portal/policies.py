"""Who may do what: one module for views (decorator) and templates (`can(...)`).

A rule takes the user and an optional object and answers True or False. Object rules only ever
see objects already loaded through the tenant filter, so "another company's record" never reaches
them: that case is a 404 before any rule runs.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort
from flask_login import current_user

from portal.domain.roles import Role
from portal.models.org import LinkStatus, OrgKind

Rule = Callable[[object, object], bool]
RULES: dict[str, Rule] = {}


def rule(action: str):
    def register(fn: Rule) -> Rule:
        RULES[action] = fn
        return fn

    return register


def can(user, action: str, obj=None) -> bool:
    """True when `user` may do `action` (to `obj`). Unknown actions are refused."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    check = RULES.get(action)
    if check is None:
        raise KeyError(f"no policy rule for {action!r}")
    return bool(check(user, obj))


def require(action: str):
    """View decorator: 403 unless the signed-in user may do `action` (no object)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not can(current_user, action):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def authorize(action: str, obj=None) -> None:
    """Inside a view, after loading `obj` through the tenant filter: 403 unless allowed."""
    if not can(current_user, action, obj):
        abort(403)


def _is_buyer_org(user) -> bool:
    return user.organization.kind == OrgKind.BUYER


def _is_supplier_org(user) -> bool:
    return user.organization.kind == OrgKind.SUPPLIER


def _org_admin(user) -> bool:
    return user.has_role(Role.ADMIN) if _is_buyer_org(user) else user.has_role(Role.SUPPLIER_ADMIN)


@rule("dashboard.view")
def _dashboard(user, obj) -> bool:
    return True


@rule("account.manage")
def _account(user, obj) -> bool:
    return True


@rule("users.manage")
def _users_manage(user, obj) -> bool:
    """Admins manage their own organisation's users (buyer admin or supplier admin)."""
    return _org_admin(user)


@rule("users.edit")
def _users_edit(user, obj) -> bool:
    return _org_admin(user) and (obj is None or obj.organization_id == user.organization_id)


@rule("org.edit")
def _org_edit(user, obj) -> bool:
    return _org_admin(user)


@rule("audit.view")
def _audit_view(user, obj) -> bool:
    return _org_admin(user)


@rule("suppliers.view")
def _suppliers_view(user, obj) -> bool:
    """Buyers, approvers and admins of a buying company see its suppliers."""
    return _is_buyer_org(user)


@rule("suppliers.manage")
def _suppliers_manage(user, obj) -> bool:
    """Only a buying company's admin invites, blocks and unblocks suppliers."""
    return _is_buyer_org(user) and user.has_role(Role.ADMIN)


@rule("suppliers.block")
def _suppliers_block(user, obj) -> bool:
    return _suppliers_manage(user, obj) and (obj is None or obj.status == LinkStatus.ACTIVE)


@rule("suppliers.unblock")
def _suppliers_unblock(user, obj) -> bool:
    return _suppliers_manage(user, obj) and (obj is None or obj.status == LinkStatus.BLOCKED)


@rule("customers.view")
def _customers_view(user, obj) -> bool:
    """Supplier users see the buyers they are actively linked to."""
    return _is_supplier_org(user)


@rule("supplier_invitation.accept")
def _supplier_invitation_accept(user, obj) -> bool:
    """A signed-in supplier admin may accept a supplier invitation for their organisation."""
    return _is_supplier_org(user) and user.has_role(Role.SUPPLIER_ADMIN)


def install(app) -> None:
    """Make `can(action, obj)` available in templates, bound to the current user."""

    @app.context_processor
    def inject_can():
        return {"can": lambda action, obj=None: can(current_user, action, obj)}


def _same_org(user, obj) -> bool:
    return obj is None or obj.organization_id == user.organization_id


@rule("users.invite")
def _users_invite(user, obj) -> bool:
    """Admins invite people into their own organisation."""
    return _org_admin(user)


@rule("users.deactivate")
def _users_deactivate(user, obj) -> bool:
    """Admins deactivate active users of their organisation (the service refuses yourself)."""
    return _users_edit(user, obj) and (obj is None or obj.is_active)


@rule("users.reactivate")
def _users_reactivate(user, obj) -> bool:
    return _users_edit(user, obj) and (obj is None or not obj.is_active)


def _invitation_open(obj) -> bool:
    return obj is None or (obj.accepted_at is None and obj.revoked_at is None)


@rule("invitations.revoke")
def _invitations_revoke(user, obj) -> bool:
    """An admin revokes an open (not accepted, not revoked) invitation of their organisation."""
    return _org_admin(user) and _same_org(user, obj) and _invitation_open(obj)


@rule("invitations.resend")
def _invitations_resend(user, obj) -> bool:
    """An open invitation, pending or expired, can be sent again with a fresh link."""
    return _org_admin(user) and _same_org(user, obj) and _invitation_open(obj)


# ---------------------------------------------------------------- requisitions and approvals


def _buyer_with(user, *roles: Role) -> bool:
    return _is_buyer_org(user) and user.has_role(*roles)


@rule("requisitions.create")
def _req_create(user, obj) -> bool:
    """Buyers raise requisitions."""
    return _buyer_with(user, Role.BUYER)


@rule("requisitions.view_all")
def _req_view_all(user, obj) -> bool:
    """Approvers and admins see every requisition of the company."""
    return _buyer_with(user, Role.APPROVER, Role.ADMIN)


@rule("requisitions.view")
def _req_view(user, obj) -> bool:
    """The requester, and the company's approvers and admins."""
    if not _is_buyer_org(user):
        return False
    if obj is None:
        return user.has_role(Role.BUYER, Role.APPROVER, Role.ADMIN)
    return obj.requester_id == user.id or user.has_role(Role.APPROVER, Role.ADMIN)


def _own_draft(user, obj) -> bool:
    from portal.domain.requisition import RequisitionStatus

    return obj is not None and obj.requester_id == user.id and obj.status == RequisitionStatus.DRAFT


@rule("requisitions.edit")
def _req_edit(user, obj) -> bool:
    """Only the requester, only while it is a draft."""
    return _is_buyer_org(user) and (obj is None and user.has_role(Role.BUYER) or _own_draft(user, obj))


@rule("requisitions.submit")
def _req_submit(user, obj) -> bool:
    return _is_buyer_org(user) and _own_draft(user, obj)


@rule("requisitions.cancel")
def _req_cancel(user, obj) -> bool:
    """The requester cancels a draft or pending one; an admin cancels an approved one."""
    from portal.domain.requisition import RequisitionStatus

    if obj is None or not _is_buyer_org(user):
        return False
    if obj.status in (RequisitionStatus.DRAFT, RequisitionStatus.PENDING):
        return obj.requester_id == user.id
    return obj.status == RequisitionStatus.APPROVED and user.has_role(Role.ADMIN)


@rule("requisitions.duplicate")
def _req_duplicate(user, obj) -> bool:
    return _buyer_with(user, Role.BUYER) and (obj is None or _req_view(user, obj))


@rule("requisitions.comment")
def _req_comment(user, obj) -> bool:
    return _req_view(user, obj)


@rule("requisitions.attach")
def _req_attach(user, obj) -> bool:
    from portal.domain.requisition import RequisitionStatus

    return (
        _is_buyer_org(user)
        and obj is not None
        and obj.requester_id == user.id
        and obj.status in (RequisitionStatus.DRAFT, RequisitionStatus.PENDING)
    )


@rule("approvals.inbox")
def _approvals_inbox(user, obj) -> bool:
    """Approvers and admins (admins decide steps nobody else can)."""
    return _buyer_with(user, Role.APPROVER, Role.ADMIN)


@rule("approvals.decide")
def _approvals_decide(user, obj) -> bool:
    """The active task's assignee or their delegate; never the requester."""
    from portal.services.approvals import can_decide

    return _is_buyer_org(user) and (obj is None or can_decide(obj, user))


@rule("approvals.policy")
def _approvals_policy(user, obj) -> bool:
    """Company admins edit the approval policy."""
    return _buyer_with(user, Role.ADMIN)


@rule("delegations.manage")
def _delegations(user, obj) -> bool:
    return _buyer_with(user, Role.APPROVER, Role.ADMIN)


@rule("notifications.view")
def _notifications(user, obj) -> bool:
    return True


def _buyer_admin(user) -> bool:
    return _is_buyer_org(user) and user.has_role(Role.ADMIN)


@rule("catalog.view")
def _catalog_view(user, obj) -> bool:
    """Everyone in a buying company browses its catalog; suppliers never see it."""
    return _is_buyer_org(user)


@rule("catalog.manage")
def _catalog_manage(user, obj) -> bool:
    """A buying company's admin adds, edits and imports items and categories."""
    return _buyer_admin(user)


@rule("catalog.deactivate")
def _catalog_deactivate(user, obj) -> bool:
    """An active item or category can be deactivated by an admin."""
    return _buyer_admin(user) and (obj is None or obj.is_active)


@rule("catalog.reactivate")
def _catalog_reactivate(user, obj) -> bool:
    return _buyer_admin(user) and (obj is None or not obj.is_active)


@rule("cost_centers.manage")
def _cost_centers_manage(user, obj) -> bool:
    """A buying company's admin keeps its cost centres."""
    return _buyer_admin(user)


@rule("cost_centers.deactivate")
def _cost_centers_deactivate(user, obj) -> bool:
    return _buyer_admin(user) and (obj is None or obj.is_active)


@rule("cost_centers.reactivate")
def _cost_centers_reactivate(user, obj) -> bool:
    return _buyer_admin(user) and (obj is None or not obj.is_active)


def _own_supplier_invitation_open(user, obj) -> bool:
    return obj is None or (
        obj.organization_id == user.organization_id
        and obj.kind == "supplier"
        and obj.accepted_at is None
        and obj.revoked_at is None
    )


@rule("suppliers.edit_terms")
def _suppliers_edit_terms(user, obj) -> bool:
    """A buying company's admin renegotiates the terms of its own supplier links."""
    return _suppliers_manage(user, obj) and (
        obj is None or obj.organization_id == user.organization_id
    )


@rule("supplier_invitation.revoke")
def _supplier_invitation_revoke(user, obj) -> bool:
    """A buying company's admin withdraws its open (pending or expired) supplier invitation."""
    return _suppliers_manage(user, obj) and _own_supplier_invitation_open(user, obj)


@rule("supplier_invitation.resend")
def _supplier_invitation_resend(user, obj) -> bool:
    """An open supplier invitation, pending or expired, can be sent again with a fresh link."""
    return _suppliers_manage(user, obj) and _own_supplier_invitation_open(user, obj)


# ---------------------------------------------------------------- budgets


@rule("budgets.view")
def _budgets_view(user, obj) -> bool:
    """Admins and approvers follow budgets (approvers see the impact of their decisions)."""
    return _buyer_with(user, Role.ADMIN, Role.APPROVER)


@rule("budgets.manage")
def _budgets_manage(user, obj) -> bool:
    """Company admins create, revise, close and import budgets."""
    from portal.domain.budget import BudgetStatus

    return _buyer_with(user, Role.ADMIN) and (obj is None or obj.status == BudgetStatus.OPEN)
