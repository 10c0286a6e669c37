"""The rule registry and the checks every caller shares: `can`, `check`, `enforce`.

A rule takes the actor and an optional object and answers True (allowed), False (refused for
lack of a role: a generic 403), or a `DomainError` saying why this object refuses this actor
(`InvalidTransition` for a state that does not allow the move, `PermissionDenied` with the
rule's own words). Object rules only ever see objects loaded through the tenant filter, so
another company's record never reaches them: that case is a 404 before any rule runs.

This module knows nothing of requests: services pass their explicit actor to `enforce`; the
views' decorators and the templates' `can(...)` are in `portal.policies.web`.
"""

from __future__ import annotations

from collections.abc import Callable

from portal.domain.messages import N_, Msg
from portal.domain.roles import Role
from portal.errors import DomainError, NotFound, PermissionDenied
from portal.models.org import OrgKind

Rule = Callable[[object, object], "bool | DomainError"]
RULES: dict[str, Rule] = {}
# Rules whose object deliberately belongs to another organisation (an invitation the invitee
# accepts): the only ones that see a foreign object.
ANY_TENANT: set[str] = set()

NOT_ALLOWED = Msg(N_("Your role does not allow this. Ask your company admin."))
NOT_HERE = Msg(N_("There is nothing here, or it belongs to another company."))


def rule(action: str, *, any_tenant: bool = False):
    """Register `fn` as the rule for `action` (one rule per action).

    `any_tenant=True` only for a rule about an object of another organisation on purpose."""

    def register(fn: Rule) -> Rule:
        if action in RULES:
            raise ValueError(f"two policy rules for {action!r}")
        RULES[action] = fn
        if any_tenant:
            ANY_TENANT.add(action)
        return fn

    return register


def is_party(user, obj) -> bool:
    """Is `obj` the user's organisation's, or addressed to it (the supplier of a shared document)?

    Objects without an owner (none of a tenant) are everyone's to ask about."""
    owner = getattr(obj, "organization_id", None)
    if owner is None or owner == user.organization_id:
        return True
    return getattr(obj, "supplier_id", None) == user.organization_id


def check(user, action: str, obj=None) -> DomainError | None:
    """None when `user` may do `action` (to `obj`), else the error that says why not.

    Anonymous and deactivated users are refused everything; an unknown action is a
    programming error (KeyError), never a silent refusal. Another organisation's object is
    NotFound before any role is looked at (it answers 404, never 403, so nobody learns that it
    exists)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return PermissionDenied(NOT_ALLOWED)
    rule_fn = RULES.get(action)
    if rule_fn is None:
        raise KeyError(f"no policy rule for {action!r}")
    if obj is not None and action not in ANY_TENANT and not is_party(user, obj):
        return NotFound(NOT_HERE)
    verdict = rule_fn(user, obj)
    if isinstance(verdict, DomainError):
        return verdict
    return None if verdict else PermissionDenied(NOT_ALLOWED)


def can(user, action: str, obj=None) -> bool:
    """True when `user` may do `action` (to `obj`). Unknown actions raise KeyError."""
    return check(user, action, obj) is None


def enforce(actor, action: str, obj=None) -> None:
    """The services' one authorization call: raise the rule's refusal unless `actor` may.

    Raises PermissionDenied (a missing role or relation) or InvalidTransition (the object's
    state does not allow the action), with the rule's message."""
    refusal = check(actor, action, obj)
    if refusal is not None:
        raise refusal


def refuse(text: str, params: dict | None = None, *, kind: type[DomainError] = PermissionDenied):
    """A rule's refusal with its own words (a message id and its parameters)."""
    return kind(Msg(text, params or {}))


# ---------------------------------------------------------------- who the actor is


def is_buyer_org(user) -> bool:
    return user.organization.kind == OrgKind.BUYER


def is_supplier_org(user) -> bool:
    return user.organization.kind == OrgKind.SUPPLIER


def org_admin(user) -> bool:
    """The admin of the user's own organisation (buyer admin or supplier admin)."""
    return user.has_role(Role.ADMIN) if is_buyer_org(user) else user.has_role(Role.SUPPLIER_ADMIN)


def buyer_with(user, *roles: Role) -> bool:
    return is_buyer_org(user) and user.has_role(*roles)


def buyer_admin(user) -> bool:
    return buyer_with(user, Role.ADMIN)


def same_org(user, obj) -> bool:
    """The object is the user's own organisation's (not only addressed to it)."""
    return obj is None or obj.organization_id == user.organization_id
