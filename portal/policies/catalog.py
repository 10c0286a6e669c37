"""Rules of the catalog (items, categories) and of cost centres."""

from __future__ import annotations

from portal.policies.core import buyer_admin, is_buyer_org, rule


@rule("catalog.view")
def _catalog_view(user, obj) -> bool:
    """Everyone in a buying company browses its catalog; suppliers never see it."""
    return is_buyer_org(user)


@rule("catalog.manage")
def _catalog_manage(user, obj) -> bool:
    """A buying company's admin adds, edits and imports items and categories."""
    return buyer_admin(user)


@rule("catalog.deactivate")
def _catalog_deactivate(user, obj) -> bool:
    """An active item or category can be deactivated by an admin."""
    return buyer_admin(user) and (obj is None or obj.is_active)


@rule("catalog.reactivate")
def _catalog_reactivate(user, obj) -> bool:
    return buyer_admin(user) and (obj is None or not obj.is_active)


@rule("cost_centers.manage")
def _cost_centers_manage(user, obj) -> bool:
    """A buying company's admin keeps its cost centres."""
    return buyer_admin(user)


@rule("cost_centers.deactivate")
def _cost_centers_deactivate(user, obj) -> bool:
    return buyer_admin(user) and (obj is None or obj.is_active)


@rule("cost_centers.reactivate")
def _cost_centers_reactivate(user, obj) -> bool:
    return buyer_admin(user) and (obj is None or not obj.is_active)
