"""Rules of price agreements (the buyer's; a supplier reads its own through `customers.view`)."""

from __future__ import annotations

from portal.domain import agreements as rules
from portal.models.base import utcnow
from portal.policies.core import buyer_admin, is_buyer_org, rule


@rule("agreements.view")
def _agreements_view(user, obj) -> bool:
    """Everyone in a buying company sees the prices it agreed (they show in the catalog)."""
    return is_buyer_org(user)


@rule("agreements.manage")
def _agreements_manage(user, obj) -> bool:
    """A buying company's admin negotiates prices, as it keeps the catalog and the suppliers'
    terms: a requester never sets the price of their own requisition."""
    return buyer_admin(user)


@rule("agreements.end")
def _agreements_end(user, obj) -> bool:
    """An admin ends an agreement that applies today (a future one has its dates changed)."""
    return buyer_admin(user) and (obj is None or rules.state_on(obj, utcnow().date()) == "valid")
