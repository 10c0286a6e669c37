"""Import budgets from CSV: each good row creates a budget, each bad row is reported and saves
nothing of itself (a savepoint per row); the whole import is one user action."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from portal.domain.budget import OverrunPolicy, PeriodKind, period_bounds
from portal.domain.csvfile import CsvProblem, parse_decimal, read_rows
from portal.domain.messages import N_, Msg
from portal.errors import DomainError, ValidationProblem
from portal.extensions import db
from portal.models import CostCenter, User
from portal.services.budgets import create_budget

COLUMNS = ("cost_center", "year", "period", "index", "amount", "currency", "policy", "name", "owner_email")
REQUIRED = ("cost_center", "year", "amount", "currency")
SAMPLE = (
    "cost_center;year;period;index;amount;currency;policy;name;owner_email\n"
    "IT;2026;year;;250 000,00;PLN;block;IT 2026;\n"
    "PROD;2026;quarter;1;80 000,00;PLN;warn;Produkcja Q1;\n"
)
MAX_BYTES = 2 * 1024 * 1024


@dataclass
class ImportResult:
    created: int = 0
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # (row number, cost centre, reason)


def _row_budget(actor, row: dict[str, str]) -> dict:
    code = row.get("cost_center", "")
    cost_center = db.session.scalars(select(CostCenter).where(CostCenter.code == code)).first()
    if cost_center is None:
        raise ValidationProblem(Msg(N_("Unknown cost centre “%(code)s”."), {"code": code}))
    try:
        year = int(row.get("year", ""))
        index = int(row.get("index") or 1)
    except ValueError as exc:
        raise ValidationProblem(Msg(N_("Year and index must be whole numbers."))) from exc
    if not 2000 <= year <= 2100:  # as the budget form; a 20-digit year overflows date()
        raise ValidationProblem(Msg(N_("The year must be a whole number from %(low)s to %(high)s."),
                                    {"low": 2000, "high": 2100}))
    try:
        kind = PeriodKind(row.get("period") or "year")
        policy = OverrunPolicy(row.get("policy") or "block")
    except ValueError as exc:
        raise ValidationProblem(
            Msg(N_("Period must be year, quarter or month; policy block, warn or escalate."))
        ) from exc
    try:
        starts_on, ends_on = period_bounds(kind, year, index)
    except ValueError as exc:
        raise ValidationProblem(Msg(N_("The quarter or month number is out of range."))) from exc
    try:
        amount = parse_decimal(row.get("amount", ""))
    except ValueError as exc:
        raise ValidationProblem(Msg(N_("“%(value)s” is not an amount."), {"value": row.get("amount")})) from exc
    owner = None
    if row.get("owner_email"):
        owner = db.session.scalars(select(User).where(User.email == row["owner_email"].lower())).first()
        if owner is None:
            raise ValidationProblem(Msg(N_("No user with the email %(email)s."), {"email": row["owner_email"]}))
    return dict(cost_center=cost_center, name=row.get("name", ""), period_kind=kind, starts_on=starts_on,
                ends_on=ends_on, amount=amount, currency=row.get("currency", "").upper(),
                overrun_policy=policy, owner=owner)


def import_budgets(actor, data: bytes) -> ImportResult:
    """Create a budget per valid row; report each invalid one with its reason."""
    if len(data) > MAX_BYTES:
        raise ValidationProblem(Msg(N_("The file is larger than 2 MB.")))
    try:
        rows = read_rows(data, required=REQUIRED, max_rows=2000)
    except CsvProblem as exc:
        raise ValidationProblem(exc.msg) from exc
    result = ImportResult()
    for number, row in enumerate(rows, start=2):
        try:
            with db.session.begin_nested():
                create_budget(actor, **_row_budget(actor, row))
            result.created += 1
        except DomainError as exc:
            result.errors.append((number, row.get("cost_center", ""), str(exc.message)))
    return result
