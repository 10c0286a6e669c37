"""What an API token may touch: read or write per area.

A scope is `"<area>:read"` or `"<area>:write"`; write includes read. Every API operation names
the one scope it needs (`x-scope` in the OpenAPI document); the token's user must also be allowed
the action by the same policies as the pages.
"""

from __future__ import annotations

# area -> what it covers (the pages' menu words)
AREAS: dict[str, str] = {
    "catalog": "catalog items, price agreements, catalog and agreement imports",
    "requisitions": "requisitions, budgets, budget imports",
    "orders": "RFQs, quotes, purchase orders, receipts",
    "invoices": "invoices, credit notes, payments",
    "suppliers": "supplier links and customers",
    "webhooks": "webhook endpoints and their deliveries",
}
READ, WRITE = "read", "write"
ALL_SCOPES: tuple[str, ...] = tuple(f"{area}:{level}" for area in AREAS for level in (READ, WRITE))


def scope(area: str, write: bool = False) -> str:
    if area not in AREAS:
        raise KeyError(f"unknown API area {area!r}")
    return f"{area}:{WRITE if write else READ}"


def grants(scopes, needed: str) -> bool:
    """Do the token's `scopes` allow `needed`? `x:write` grants `x:read` too."""
    held = set(scopes or ())
    if needed in held:
        return True
    area, _, level = needed.partition(":")
    return level == READ and f"{area}:{WRITE}" in held


def clean(scopes) -> list[str]:
    """The known scopes among `scopes`, in the canonical order, without duplicates."""
    wanted = set(scopes or ())
    return [s for s in ALL_SCOPES if s in wanted]
