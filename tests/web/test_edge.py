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
from sqlalchemy import func, select
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
from portal.extensions import db
from portal.htmx import with_flash
from portal.models import CostCenter
from portal.tenancy import bound, scope_for, system
from tests.factories import make_cost_center, make_org, make_user


def _cost_centres(org) -> int:
    with system(db.session):
        return db.session.scalar(
            select(func.count(CostCenter.id)).where(CostCenter.organization_id == org.id))


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
