"""CSV downloads follow the reader's locale (issue 8, point 21): `;` and a decimal comma for a
Polish reader, `,` and a dot otherwise, UTF-8 with a BOM, every export through one writer that
guards cells against formula injection, the budget ledger's included."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.domain import csvfile
from portal.domain.budget import EntryKind, OverrunPolicy, PeriodKind
from portal.extensions import db
from portal.models import BudgetEntry, User
from portal.models.base import utcnow
from portal.services import budgets
from tests.conftest import as_system
from tests.kit import acting_for, build_kit, draft, services

D = Decimal
YEAR = utcnow().year


@pytest.fixture
def kit(app, world):
    return build_kit(app, world)


def set_locale(user, locale):
    with as_system():
        db.session.scalars(select(User).where(User.id == user.id)).one().locale = locale
        db.session.commit()


def rows_of(response, separator) -> list[list[str]]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    body = response.data.decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:]), delimiter=separator))


def ledger(kit, *, note="", source_label="REQ-2026-00001", actor=None):
    """A budget of IT with one reservation of 1 234,50 PLN."""
    with services(None), acting_for(kit.org):
        budget = budgets.create_budget(
            kit.admin, cost_center=kit.cc_it, name=f"IT {YEAR}", period_kind=PeriodKind.YEAR,
            starts_on=date(YEAR, 1, 1), ends_on=date(YEAR, 12, 31), amount=D("100000"),
            currency="PLN", overrun_policy=OverrunPolicy.BLOCK)
        db.session.add(BudgetEntry(
            organization_id=kit.org.id, budget_id=budget.id, kind=EntryKind.RESERVE,
            amount=D("1234.50"), source_type="Requisition", source_id=1,
            source_label=source_label, note=note, actor_id=(actor or kit.cfo).id))
        db.session.commit()
        return budget.id


# ---------------------------------------------------------------- the writer


def test_the_writer_puts_a_bom_first_and_guards_formulas():
    text = "".join(csvfile.write_csv(["a", "b"], [["=1+1", D("-1.50")], ["@x", "ok"]],
                                     separator=";", decimal_mark=","))
    assert text == "\ufeffa;b\r\n'=1+1;-1,50\r\n'@x;ok\r\n"


@pytest.mark.parametrize(("language", "dialect"), [("pl", (";", ",")), ("pl_PL", (";", ",")),
                                                   ("en", (",", ".")), (None, (",", "."))])
def test_the_dialect_follows_the_language(language, dialect):
    assert csvfile.dialect_for(language) == dialect


# ---------------------------------------------------------------- requisitions


def test_requisition_export_for_a_polish_reader(kit, login_as):
    set_locale(kit.buyer, "pl")
    with services(None), acting_for(kit.org):
        draft(kit, "1234.50", title="=HYPERLINK(\"http://evil\")")
        db.session.commit()
    rows = rows_of(login_as(kit.buyer).get("/requisitions/export", buffered=True), ";")
    assert len(rows[0]) == 15 and len(rows) == 2
    assert rows[1][1] == "'=HYPERLINK(\"http://evil\")"
    assert "1234,50" in rows[1] and "1234.50" not in rows[1]


def test_requisition_export_for_an_english_reader(kit, login_as):
    with services(None), acting_for(kit.org):
        draft(kit, "1234.50")
        db.session.commit()
    rows = rows_of(login_as(kit.buyer).get("/requisitions/export", buffered=True), ",")
    assert len(rows[0]) == 15 and "1234.50" in rows[1]


# ---------------------------------------------------------------- the budget ledger


def test_budget_ledger_for_a_polish_reader_reads_in_polish_excel(kit, login_as):
    budget_id = ledger(kit)
    set_locale(kit.admin, "pl")
    rows = rows_of(login_as(kit.admin).get(f"/budgets/{budget_id}/ledger.csv"), ";")
    header, entry = rows[0], dict(zip(rows[0], rows[1], strict=True))
    assert header[:5] == ["Data", "Operacja", "Kwota", "Waluta", "Dokument"]
    assert entry["Kwota"] == "1234,50" and entry["Waluta"] == "PLN"
    assert entry["Operacja"] == "Rezerwacja" and entry["Dokument"] == "REQ-2026-00001"
    assert entry["Data"][:4] == str(YEAR) and "T" not in entry["Data"]


def test_budget_ledger_for_an_english_reader(kit, login_as):
    budget_id = ledger(kit)
    rows = rows_of(login_as(kit.admin).get(f"/budgets/{budget_id}/ledger.csv"), ",")
    entry = dict(zip(rows[0], rows[1], strict=True))
    assert entry["Amount"] == "1234.50" and entry["Entry"] == "Reservation"


def test_budget_ledger_guards_against_formula_injection(kit, login_as):
    with as_system():
        cfo = db.session.get(User, kit.cfo.id)
        cfo.full_name = "@SUM(A1:A9)"
        db.session.commit()
    budget_id = ledger(kit, note="=HYPERLINK(\"http://evil\",\"x\")", source_label="+1-1")
    rows = rows_of(login_as(kit.admin).get(f"/budgets/{budget_id}/ledger.csv"), ",")
    cells = rows[1]
    assert "'=HYPERLINK(\"http://evil\",\"x\")" in cells
    assert "'+1-1" in cells and "'@SUM(A1:A9)" in cells
    assert not any(cell.startswith(("=", "+", "@")) for cell in cells)
