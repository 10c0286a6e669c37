"""Roles and what each kind of organisation may hold."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    BUYER = "buyer"
    APPROVER = "approver"
    ADMIN = "admin"
    SUPPLIER_ADMIN = "supplier_admin"
    SUPPLIER_SALES = "supplier_sales"


BUYER_ROLES = (Role.BUYER, Role.APPROVER, Role.ADMIN)
SUPPLIER_ROLES = (Role.SUPPLIER_ADMIN, Role.SUPPLIER_SALES)
ADMIN_ROLE = {"buyer": Role.ADMIN, "supplier": Role.SUPPLIER_ADMIN}


def roles_for_kind(kind: str) -> tuple[Role, ...]:
    """The roles a user of an organisation of this kind may hold."""
    return BUYER_ROLES if kind == "buyer" else SUPPLIER_ROLES


def parse_roles(kind: str, names) -> set[Role]:
    """Turn role names into roles valid for the organisation kind; raise ValueError otherwise."""
    allowed = {r.value: r for r in roles_for_kind(kind)}
    roles = set()
    for name in names:
        if name not in allowed:
            raise ValueError(f"unknown role: {name}")
        roles.add(allowed[name])
    if not roles:
        raise ValueError("a user needs at least one role")
    return roles
