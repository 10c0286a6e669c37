"""The one pattern at the HTTP edge (portal/blueprints/edge.py, portal/htmx.py): a unit of work
per action, actor(), load_or_404(), csv_response() and the htmx success message."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal

import pytest
from flask import make_response
from flask_babel import force_locale
from flask_login import login_user
from sqlalchemy import func, literal, select
from werkzeug.exceptions import NotFound

from portal.blueprints.edge import (
    actor,
    csv_cell,
    csv_response,
    load_or_404,
    show_problem,
    unit_of_work,
)
from portal.errors import InvalidTransition, ValidationProblem
from portal.extensions import PREPARED, db
from portal.htmx import with_flash
from portal.models import CostCenter
from portal.tenancy import bound, scope_for, system
from tests.factories import make_cost_center, make_org, make_user
from tests.kit import count_queries


def _cost_centres(org) -> int:
    return _cost_centres_of(org.id)


def _cost_centres_of(org_id: int) -> int:
    with system(db.session):
        return db.session.scalar(
            select(func.count(CostCenter.id)).where(CostCenter.organization_id == org_id))


def _body(response) -> str:
    return response.get_data(as_text=True)


def _rows(response, delimiter: str) -> list[list[str]]:
    text = _body(response)
    assert text.startswith("\ufeff"), "UTF-8 with a BOM, so Excel reads Polish letters"
    return list(csv.reader(io.StringIO(text[1:]), delimiter=delimiter))


# ---------------------------------------------------------------- unit of work


def test_unit_of_work_commits_once_at_the_end():
    org = make_org()
    db.session.commit()
    with unit_of_work():
        make_cost_center(org, "NEW")
    db.session.rollback()  # nothing left to undo: it was committed
    assert _cost_centres(org) == 1


@pytest.mark.parametrize("error", [InvalidTransition("No."), ValidationProblem("No."),
                                   RuntimeError("bug")])
def test_unit_of_work_rolls_back_on_a_domain_error_and_leaves_nothing_written(error):
    org = make_org()
    db.session.commit()
    with pytest.raises(type(error)), unit_of_work():
        make_cost_center(org, "GONE")  # flushed, then refused
        raise error
    assert _cost_centres(org) == 0


def test_a_successful_response_with_uncommitted_writes_is_an_error_in_tests(app):
    org = make_org()
    db.session.commit()
    with app.test_request_context("/"):
        make_cost_center(org, "FORGOT")  # a view that flushed but never committed
        with pytest.raises(RuntimeError, match="unit_of_work"):
            app.process_response(make_response("ok"))
    assert _cost_centres(org) == 0


# ---------------------------------------------------------------- read-only requests


def _in_autocommit(connection, _statement, _context) -> bool:
    """Whether a statement ran outside a transaction (the driver connection in autocommit:
    psycopg's `autocommit`, sqlite3's `isolation_level` None)."""
    driver = connection.connection.driver_connection
    psycopg = type(driver).__module__.startswith("psycopg")
    return driver.autocommit if psycopg else driver.isolation_level is None


def test_a_get_reads_outside_a_transaction_on_postgresql_and_a_post_writes_in_one(world, login_as):
    client = login_as(world.user("buyer@acme"))
    db.session.remove()
    on_postgresql = db.engine.dialect.name == "postgresql"
    with count_queries(_in_autocommit) as seen:
        assert client.get("/requisitions/").status_code == 200
    assert seen and set(seen) == {on_postgresql}  # SQLite's reads begin no transaction anyway
    with count_queries(_in_autocommit) as seen:
        page = client.get("/notifications/")
        assert page.status_code == 200
        assert client.post("/notifications/read").status_code in (200, 302, 303)
    assert False in seen  # the POST's statements run in its unit of work


def _sign_in_afresh(user) -> None:
    """`user` signed in on a request whose session holds nothing yet (as a real request's)."""
    user_id = user.id
    db.session.commit()
    db.session.remove()
    with system(db.session):
        login_user(db.session.get(type(user), user_id))
    db.session.commit()  # ends the load's transaction: the request's reads start afresh


def test_a_write_in_a_get_outside_a_unit_of_work_is_refused(app, world):
    acme, before = world.acme.id, _cost_centres(world.acme)
    with app.test_request_context("/requisitions/"):
        _sign_in_afresh(world.user("buyer@acme"))
        app.preprocess_request()
        with pytest.raises(RuntimeError, match="read-only request"):
            make_cost_center(actor().organization, "SNEAKY")
            db.session.flush()
        db.session.rollback()
    assert _cost_centres_of(acme) == before


def test_a_unit_of_work_in_a_get_commits_in_a_transaction_of_its_own(app, world):
    acme, before = world.acme.id, _cost_centres(world.acme)
    with app.test_request_context("/requisitions/"):
        _sign_in_afresh(world.user("buyer@acme"))
        app.preprocess_request()
        with count_queries(_in_autocommit) as seen, unit_of_work():
            make_cost_center(actor().organization, "RECORDED")
    assert seen and not any(seen)
    assert _cost_centres_of(acme) == before + 1


def _table_and_prepared(_connection, statement, context) -> tuple[str, bool]:
    """(the table of the first column selected, marked PREPARED) of a statement."""
    table = statement.split()[1].split(".")[0] if statement.startswith("SELECT") else statement[:20]
    return table, bool(context.execution_options.get("prepared"))


def test_only_the_lookups_by_key_are_prepared_statements(world, login_as):
    from tests.api.conftest import ApiClient, make_token

    client = login_as(world.user("buyer@acme"))
    _, raw = make_token(world.user("buyer@acme"))
    db.session.remove()
    with count_queries(_table_and_prepared) as seen:
        assert client.get("/requisitions/").status_code == 200
        ApiClient(client.application, raw).get("/orders", status=200)
    assert {table for table, marked in seen if marked} == {"users", "api_tokens"}
    assert ("requisitions", False) in seen and ("purchase_orders", False) in seen  # lists plan anew


def test_on_postgresql_a_marked_statement_is_prepared_and_no_other(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("server-side prepared statements are PostgreSQL's")
    with db.engine.connect() as connection:
        for _ in range(6):  # psycopg on its own would prepare a statement run five times
            connection.execute(select(literal(1).label("plain_statement")))
            connection.execute(select(literal(2).label("marked_statement")).execution_options(**PREPARED))
        prepared = connection.exec_driver_sql("SELECT statement FROM pg_prepared_statements").scalars().all()
    assert any("marked_statement" in statement for statement in prepared)
    assert not any("plain_statement" in statement for statement in prepared)


# ---------------------------------------------------------------- actor and load_or_404


def test_actor_is_the_signed_in_user_object(app):
    org = make_org()
    user = make_user(org, roles=["buyer"])
    db.session.commit()
    with app.test_request_context("/"):
        login_user(user)
        assert actor() is user


def test_load_or_404_finds_only_the_current_organisations_rows():
    mine, theirs = make_org(), make_org()
    cc = make_cost_center(mine, "MINE")
    other = make_cost_center(theirs, "THEIRS")
    mine_id, other_id = cc.id, other.id
    db.session.commit()
    with bound(db.session, scope_for(db.session, mine)):
        assert load_or_404(CostCenter, mine_id).code == "MINE"
        with pytest.raises(NotFound):
            load_or_404(CostCenter, other_id)  # another company's row: 404, not 403
        with pytest.raises(NotFound):
            load_or_404(CostCenter, mine_id, code="OTHER")  # extra criteria narrow it
        with pytest.raises(NotFound):
            load_or_404(CostCenter, 999_999)


def test_show_problem_puts_the_message_beside_its_field():
    class Field:
        errors: list = []

    class Form:
        code = Field()
        form_errors: list = []

    problem = ValidationProblem("Taken.")
    problem.field = "code"
    form = Form()
    show_problem(form, problem)
    show_problem(form, ValidationProblem("General."))
    assert form.code.errors == ["Taken."] and form.form_errors == ["General."]


# ---------------------------------------------------------------- CSV


@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://evil\",\"x\")", "+1+1", "-2", "@SUM(A1)",
                                  "\tlead", "\rlead"])
def test_csv_cells_that_a_spreadsheet_would_run_get_an_apostrophe(text):
    assert csv_cell(text) == "'" + text


def test_csv_numbers_and_dates_are_not_taken_for_formulas():
    assert csv_cell(Decimal("-12.50")) == "-12.50"
    assert csv_cell(Decimal("-12.50"), ",") == "-12,50"
    assert csv_cell(date(2026, 12, 24)) == "2026-12-24"
    assert csv_cell(None) == "" and csv_cell(3) == "3"


def test_csv_response_for_a_polish_reader_uses_semicolons_and_a_decimal_comma(app):
    with app.test_request_context("/"), force_locale("pl"):
        response = csv_response("x.csv", ["Nazwa", "Kwota"],
                                [["Papier; A4", Decimal("1234.50")], ["=HYPERLINK(1)", None]])
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="x.csv"'
    assert _rows(response, ";") == [["Nazwa", "Kwota"], ["Papier; A4", "1234,50"],
                                     ["'=HYPERLINK(1)", ""]]


def test_csv_response_for_an_english_reader_uses_commas_and_a_decimal_point(app):
    with app.test_request_context("/"), force_locale("en"):
        response = csv_response("x.csv", ["Name", "Amount"], [["Paper, A4", Decimal("1234.50")]])
    assert _body(response).startswith("\ufeffName,Amount\r\n")
    assert _rows(response, ",") == [["Name", "Amount"], ["Paper, A4", "1234.50"]]


def test_csv_response_streams_a_generator_inside_the_request(app):
    def rows():
        for n in range(450):
            yield [f"row {n}", Decimal(n)]

    with app.test_request_context("/"), force_locale("en"):
        response = csv_response("x.csv", ["Name", "Amount"], rows(), stream=True)
        assert response.is_streamed
        found = _rows(response, ",")
    assert len(found) == 451 and found[-1] == ["row 449", "449"]


# ---------------------------------------------------------------- htmx


def test_with_flash_sends_the_success_message_as_an_hx_trigger_event(app):
    with app.test_request_context("/"):
        response = with_flash("<tr></tr>", "Saved.", events={"approvals-changed": True})
    assert response.status_code == 200 and _body(response) == "<tr></tr>"
    assert json.loads(response.headers["HX-Trigger"]) == {
        "flash": {"message": "Saved.", "category": "success"}, "approvals-changed": True,
    }
