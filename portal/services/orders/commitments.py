"""Open commitments: what the company's open budgets have committed to purchase orders, per cost
centre, and how many of those orders are still to be delivered.

The amounts come from the budget rows' counters (kept by every ledger posting, see
portal/services/budgets/posting.py), never from summing the ledger; the open orders are counted
per budget up to a cap, one statement for the page, each count an index range
(`ix_purchase_orders_budget_status`). The list pages by keyset on `ix_budgets_org_status_starts`.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from portal.domain.budget import BudgetStatus
from portal.extensions import db
from portal.models import Budget
from portal.models.order import OrderStatus, PurchaseOrder
from portal.services.dashboard import COUNT_CAP, Count, capped_counts
from portal.services.paging import LIST_PER_PAGE, Key, KeysetPage, Order, keyset

# Orders the supplier still has to deliver (in full or in part): their commitment is open.
OPEN_ORDERS = (OrderStatus.ISSUED, OrderStatus.ACKNOWLEDGED, OrderStatus.PARTIALLY_RECEIVED)
LATEST = Order("latest", Key(Budget.starts_on, descending=True), Key(Budget.id, descending=True))


def _committed():
    return (select(Budget)
            .where(Budget.status == BudgetStatus.OPEN, Budget.committed > 0)
            .options(joinedload(Budget.cost_center)))


def commitment_page(*, cursor: str | None = None, per_page: int = LIST_PER_PAGE) -> KeysetPage:
    """Open budgets holding commitments, latest period first (the current organisation's, by
    the tenant filter). Raises BadCursor for a cursor this list did not give out."""
    return keyset(_committed(), LATEST, cursor=cursor, per_page=per_page)


def open_order_counts(budgets: list[Budget], cap: int = COUNT_CAP) -> dict[int, Count]:
    """Per budget, its orders still to be delivered, each count stopping at `cap` ("99+"), in one
    statement."""
    if not budgets:
        return {}
    counted = capped_counts({
        str(b.id): select(PurchaseOrder.id).where(PurchaseOrder.budget_id == b.id,
                                                  PurchaseOrder.status.in_(OPEN_ORDERS))
        for b in budgets
    }, cap)
    return {b.id: counted[str(b.id)] for b in budgets}


def totals() -> list[tuple[str, Decimal, Decimal]]:
    """(currency, committed, reserved) over every open budget of the company (a handful of rows
    per cost centre: budgets are few), for the page's summary."""
    rows = db.session.execute(
        select(Budget.currency, func.sum(Budget.committed), func.sum(Budget.reserved))
        .where(Budget.status == BudgetStatus.OPEN)
        .group_by(Budget.currency).order_by(Budget.currency)
    ).all()
    return [(currency, Decimal(committed or 0), Decimal(reserved or 0))
            for currency, committed, reserved in rows if committed or reserved]
