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
