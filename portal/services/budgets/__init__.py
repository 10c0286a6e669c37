"""Budgets, by concern:

    admin.py    create, revise, close (admins only: the policy "budgets.manage")
    reading.py  balances (the budget row's counters), the budget of a requisition, its impact, burn chart
    posting.py  ledger postings: reserve at final approval, release, commit, actual
"""

from __future__ import annotations

from portal.services.budgets.admin import close_budget, create_budget, overlapping_budget, revise_budget
from portal.services.budgets.posting import (
    ReservationOutcome,
    actual_for,
    commit_for,
    entry_note,
    force_consume,
    recount,
    release_for,
    reservation_refusal,
    reserve_for_requisition,
    try_reserve,
)
from portal.services.budgets.reading import (
    REQUISITION,
    Impact,
    balances_for,
    balances_of,
    budget_and_reservation,
    budget_for,
    burn_series,
    impact,
    impacts_for,
    ledger_page,
    open_reservation,
    period_progress,
    requisition_budget_date,
)

__all__ = [
    "REQUISITION", "Impact", "ReservationOutcome", "actual_for", "balances_for", "balances_of",
    "budget_and_reservation", "budget_for", "burn_series", "close_budget", "commit_for", "create_budget", "entry_note",
    "force_consume", "impact", "impacts_for", "ledger_page", "open_reservation", "overlapping_budget",
    "period_progress", "recount", "release_for",
    "requisition_budget_date", "reservation_refusal", "reserve_for_requisition",
    "revise_budget", "try_reserve",
]
