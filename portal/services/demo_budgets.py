"""Demo budgets: Acme's and Globex's cost centres for the current year, one comfortable, one
near its limit (block), one over it (warn), one escalating; the seeded approvals post to them.

`seed_budgets` runs before the demo requisitions (their approvals reserve against these);
`finish_budgets` runs after them and brings the IT budget near its limit with a revision.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_UP, Decimal

from sqlalchemy import select

from portal.domain.budget import BudgetStatus, OverrunPolicy, PeriodKind
from portal.extensions import db
from portal.models import Budget, BudgetRevision, CostCenter
from portal.models.base import utcnow
from portal.services import budgets

# (organisation, cost centre, amount, policy, owner email or None, name)
BUDGETS = [
    ("acme", "ADM", "60000", OverrunPolicy.BLOCK, None, "Administracja {year}"),
    ("acme", "IT", "400000", OverrunPolicy.BLOCK, "cfo@acme.example", "IT {year}"),
    ("acme", "PROD", "3000", OverrunPolicy.WARN, None, "Produkcja — materiały pomocnicze {year}"),
    ("acme", "LOG", "45000", OverrunPolicy.ESCALATE, "cfo@acme.example", "Logistyka {year}"),
    ("globex", "SALES", "60000", OverrunPolicy.BLOCK, None, "Sales {year}"),
    ("globex", "ADM", "15000", OverrunPolicy.WARN, None, "Administration {year}"),
]
NEAR_LIMIT = Decimal("0.92")


def _cost_center(org, code: str) -> CostCenter | None:
    return db.session.scalars(
        select(CostCenter).where(CostCenter.organization_id == org.id, CostCenter.code == code)
    ).first()


def seed_budgets(world: dict) -> list[Budget]:
    """Create this year's demo budgets that do not exist yet (idempotent)."""
    year = utcnow().year
    made = []
    for org_key, code, amount, policy, owner_email, name in BUDGETS:
        org = world["orgs"][org_key]
        cost_center = _cost_center(org, code)
        if cost_center is None:
            continue
        start, end = date(year, 1, 1), date(year, 12, 31)
        if budgets.overlapping_budget(cost_center.id, start, end) is not None:
            continue
        admin = world["users"][f"admin@{org_key}.example"]
        owner = world["users"].get(owner_email) if owner_email else None
        made.append(budgets.create_budget(
            admin, cost_center=cost_center, name=name.format(year=year), period_kind=PeriodKind.YEAR,
            starts_on=start, ends_on=end, amount=Decimal(amount), currency=org.currency,
            overrun_policy=policy, owner=owner,
        ))
    db.session.flush()
    # The budgets were set at the start of the year.
    set_on = max(utcnow() - timedelta(days=300), utcnow().replace(month=1, day=2))
    for budget in made:
        budget.created_at = set_on
    for revision in db.session.scalars(
        select(BudgetRevision).where(BudgetRevision.budget_id.in_([b.id for b in made]))
    ):
        revision.created_at = set_on
    return made


def finish_budgets(world: dict, created: list[Budget]) -> None:
    """After the demo approvals: revise Acme's IT budget down so it stands near its limit."""
    it = next((b for b in created if b.name.startswith("IT ") and b.status == BudgetStatus.OPEN), None)
    if it is None:
        return
    db.session.refresh(it)
    if it.consumed <= 0:
        return
    target = (it.consumed / NEAR_LIMIT / 1000).quantize(Decimal("1"), rounding=ROUND_UP) * 1000
    if target < it.amount:
        budgets.revise_budget(it, world["users"]["admin@acme.example"], amount=target,
                              reason="Budżet IT obniżony po przeglądzie prognozy na IV kwartał.")
    db.session.flush()
