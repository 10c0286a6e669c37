"""Roles (portal/domain/roles.py), no app needed."""

import pytest

from portal.domain.roles import Role, parse_roles, roles_for_kind


def test_parse_roles_returns_roles_valid_for_the_kind():
    assert parse_roles("buyer", ["buyer", "approver"]) == {Role.BUYER, Role.APPROVER}
    assert parse_roles("supplier", ["supplier_sales"]) == {Role.SUPPLIER_SALES}


def test_parse_roles_ignores_duplicates():
    assert parse_roles("buyer", ["admin", "admin"]) == {Role.ADMIN}


@pytest.mark.parametrize(
    ("kind", "names"),
    [("buyer", ["owner"]), ("buyer", ["supplier_admin"]), ("supplier", ["admin"]),
     ("supplier", ["buyer", "supplier_sales"]), ("buyer", ["Admin"]), ("buyer", [""])],
)
def test_parse_roles_refuses_unknown_roles_or_roles_of_the_other_kind(kind, names):
    with pytest.raises(ValueError, match="unknown role"):
        parse_roles(kind, names)


@pytest.mark.parametrize("kind", ["buyer", "supplier"])
def test_parse_roles_needs_at_least_one_role(kind):
    with pytest.raises(ValueError, match="at least one role"):
        parse_roles(kind, [])


def test_roles_for_kind():
    assert roles_for_kind("buyer") == (Role.BUYER, Role.APPROVER, Role.ADMIN)
    assert roles_for_kind("supplier") == (Role.SUPPLIER_ADMIN, Role.SUPPLIER_SALES)
