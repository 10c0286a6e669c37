"""Amounts, numbers, dates and units in the viewer's locale (issue 8, points 7-9): a Polish page
writes `60 000,00 zł` and `5 gru 2026`, an English one `60,000.00 PLN` and `5 Dec 2026, 15:35`
(en_IE), one money format per language everywhere (filters, messages, inputs)."""

from __future__ import annotations

import ast
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from portal import i18n
from portal.domain.messages import N_, Msg
from portal.extensions import db
from portal.models import ApprovalStep, User
from portal.money import Money
from tests.conftest import as_system
from tests.kit import HX, acting_for, build_kit, draft, services, text_of

D = Decimal
NB = "\xa0"  # Babel separates groups and the currency with a no-break space


@pytest.fixture
def kit(app, world):
    return build_kit(app, world)


def set_locale(user, locale):
    with as_system():
        db.session.scalars(select(User).where(User.id == user.id)).one().locale = locale
        db.session.commit()


def preview(client, amount, kit):
    return client.get("/approvals/policy/preview", headers=HX, query_string={
        "amount": amount, "cost_center": kit.cc_it.id, "category": kit.cat_it.id}).text


# ---------------------------------------------------------------- one format per language


@pytest.mark.parametrize(("language", "expected"), [
    ("pl", ("60" + NB + "000,00" + NB + "zł", "60" + NB + "000,00" + NB + "€", "5 gru 2026",
            "5 gru 2026, 15:35", "5 grudnia 2026")),
    ("en", ("60,000.00" + NB + "PLN", "60,000.00" + NB + "EUR", "5 Dec 2026",
            "5 Dec 2026, 15:35", "5 December 2026")),
])
def test_i18n_formats_the_viewers_way(app, language, expected):
    moment = datetime(2026, 12, 5, 14, 35, 59, tzinfo=UTC)  # 15:35 in Warsaw
    with app.test_request_context(), force_locale(language):
        assert (i18n.money(D("60000"), "PLN"), i18n.money(D("60000"), "EUR"),
                i18n.day(date(2026, 12, 5)), i18n.moment(moment),
                i18n.day(date(2026, 12, 5), "long")) == expected


@pytest.mark.parametrize(("language", "expected"), [
    ("en", ("6 Sept 2026", "6 Sept 2026, 17:35")),
    ("pl", ("6.09.2026", "6.09.2026, 17:35")),
])
def test_short_dates_name_the_month_in_english(app, language, expected):
    """06/09/2026 reads as June to some English readers and as September to others."""
    moment = datetime(2026, 9, 6, 15, 35, tzinfo=UTC)  # 17:35 in Warsaw
    with app.test_request_context(), force_locale(language):
        assert (i18n.day(date(2026, 9, 6), "short"), i18n.moment(moment, "short")) == expected


def test_message_parameters_use_the_same_money_format_as_the_filters(app):
    msg = Msg(N_("Rule “%(step)s”: amount %(amount)s ≥ %(threshold)s"),
              {"step": "CFO", "amount": Money(D("93320.1"), "PLN"),
               "threshold": Money(D("50000"), "PLN")})
    with app.test_request_context(), force_locale("en"):
        assert i18n.translate(msg) == f"Rule “CFO”: amount 93,320.10{NB}PLN ≥ 50,000.00{NB}PLN"
        assert i18n.translate(Msg("%(d)s", {"d": date(2026, 12, 5)})) == "5 Dec 2026"


def test_notifications_stored_with_a_bare_amount_read_as_money(app):
    """A row written before amounts were typed: "%(amount)s %(currency)s" with a Decimal."""
    stored = {"id": "%(number)s (%(amount)s %(currency)s) awaits your approval: %(step)s",
              "params": {"number": "REQ-1", "amount": {"$t": "decimal", "v": "1234.5"},
                         "currency": "PLN", "step": "CFO"}}
    msg = Msg.from_json(stored)
    assert msg.params["amount"] == Money(D("1234.5"), "PLN") and "currency" not in msg.params
    with app.test_request_context(), force_locale("pl"):
        assert i18n.translate(msg).startswith(f"REQ-1 (1{NB}234,50{NB}zł)")


def test_no_view_formats_numbers_or_dates_itself():
    """Babel's formatting functions are called in portal/i18n.py and portal/money.py only: every
    other module goes through them, so no page mixes two ways of writing a number."""
    allowed = {Path("portal/i18n.py"), Path("portal/money.py")}
    names = {"format_date", "format_datetime", "format_time", "format_decimal", "format_currency",
             "format_number", "format_percent"}
    offenders = []
    for path in Path("portal").rglob("*.py"):
        if path in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module in ("flask_babel", "babel.numbers",
                                                                   "babel.dates"):
                offenders += [f"{path}: {a.name}" for a in node.names if a.name in names]
    assert offenders == []


# ---------------------------------------------------------------- pages


def test_policy_preview_in_polish_writes_amounts_the_polish_way(kit, login_as):
    set_locale(kit.admin, "pl")
    text = preview(login_as(kit.admin), "60000", kit)
    assert f"60{NB}000,00{NB}zł" in text and f"50{NB}000,00{NB}zł" in text
    assert not re.search(r"\d,\d{3}\.\d\d", text) and "PLN" not in text


def test_policy_preview_in_english_writes_one_money_format(kit, login_as):
    text = preview(login_as(kit.admin), "60000", kit)
    assert f"60,000.00{NB}PLN" in text and f"50,000.00{NB}PLN" in text
    assert "PLN60" not in text and "PLN50" not in text


def test_step_editor_shows_amounts_in_the_viewers_locale_and_reads_both_back(kit, login_as):
    with as_system():
        step = db.session.scalars(select(ApprovalStep).where(
            ApprovalStep.organization_id == kit.org.id, ApprovalStep.name == "CFO approval")).one()
        step_id = step.id
    url = f"/approvals/policy/steps/{step_id}/edit"
    english = login_as(kit.admin).get(url).text
    assert 'value="10000.00"' in english
    set_locale(kit.admin, "pl")
    client = login_as(kit.admin)
    assert f'value="10{NB}000,00"' in client.get(url).text
    for typed, stored in ((f"20{NB}000,50", D("20000.50")), ("30000.00", D("30000"))):
        response = client.post(url, data={
            "name": "CFO approval", "min_amount": typed, "cost_center": "", "category": "",
            "approver_kind": "approver_limit", "approver_user": "", "quorum": "any",
            "quorum_n": ""})
        assert response.status_code == 302, text_of(response.text)
        with as_system():
            db.session.expire_all()
            assert db.session.get(ApprovalStep, step_id).min_amount == stored


def test_requisition_page_in_english_writes_dates_the_irish_way(kit, login_as):
    with services(None), acting_for(kit.org):
        req = draft(kit, "1234.50")
        req.needed_by = date(2026, 12, 5)
        db.session.commit()
        req_id = req.id
    html = login_as(kit.buyer).get(f"/requisitions/{req_id}").text
    assert "5 Dec 2026" in html and "Dec 5, 2026" not in html
    assert f"1,234.50{NB}PLN" in html and "PLN1,234.50" not in html
    assert not re.search(r"\b\d{1,2}:\d\d\s?[AP]M\b", html)


# ---------------------------------------------------------------- units


def test_catalog_search_results_show_unit_labels_in_polish(kit, login_as):
    set_locale(kit.buyer, "pl")
    with services(None), acting_for(kit.org):
        req_id = draft(kit, "10").id
        db.session.commit()
    response = login_as(kit.buyer).get(f"/requisitions/{req_id}/catalog",
                                       query_string={"q": "T-LAPTOP"}, headers=HX)
    assert response.status_code == 200
    text = text_of(response.text)
    assert "Laptop" in text and "/ szt." in text and "/ pcs" not in text


def test_file_sizes_are_written_the_viewers_way(app):
    with app.test_request_context(), force_locale("pl"):
        assert [i18n.file_size(n) for n in (812, 12_500, 1_240_000)] == [
            "812 B", f"12,5{NB}kB", f"1,2{NB}MB"]
    with app.test_request_context(), force_locale("en"):
        assert i18n.file_size(12_500) == f"12.5{NB}kB"


# ---------------------------------------------------------------- the file input


@pytest.mark.parametrize("url", ["/catalog/import", "/budgets/import"])
def test_file_inputs_are_a_styled_translated_control(kit, login_as, url):
    html = login_as(kit.admin).get(url).text
    picker = re.search(r'<div class="file-picker" data-file-picker>(.*?)</div>', html, re.S)
    assert picker, "no file picker on the page"
    inner = picker.group(1)
    # Still the real input (keyboard, screen readers, no JavaScript), described by the name shown.
    assert re.search(r'<input[^>]*class="file-input"[^>]*type="file"|<input[^>]*type="file"'
                     r'[^>]*class="file-input"', inner)
    assert 'aria-describedby="file-chosen' in inner
    assert ">Choose a file</label>" in inner and "data-file-chosen" in inner
    assert ">No file chosen</span>" in inner


def test_units_read_as_labels_wherever_they_are_shown(app):
    from portal.labels import change_value

    with app.test_request_context(), force_locale("pl"):
        assert [i18n.unit_label(code) for code in ("pcs", "ream", "m2", "odd", None)] == [
            "szt.", "ryza", "m²", "odd", ""]
        assert change_value("unit", "pcs") == "szt."  # an item's audit trail
