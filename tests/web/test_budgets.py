"""Budget pages: list with bars, detail with chart and ledger, create/revise/close, CSV."""

import re
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from portal.domain.budget import EntryKind, OverrunPolicy, PeriodKind
from portal.extensions import db
from portal.models import Budget, BudgetEntry, BudgetRevision, CostCenter
from portal.models.base import utcnow
from portal.services import budgets
from tests.conftest import as_org, as_system

YEAR = utcnow().year


@pytest.fixture(autouse=True)
def english(world):
    """Acme's people read Polish; these tests check the English texts."""
    with as_system():
        for user in world.users.values():
            user.locale = "en"
        db.session.commit()


@pytest.fixture
def centers(world):
    made = {}
    for org, code in ((world.acme, "WEB"), (world.globex, "GWEB")):
        with as_org(org):
            cc = CostCenter(organization_id=org.id, code=code, name=f"{code} centre")
            db.session.add(cc)
            db.session.commit()
            made[code] = cc
    return made


def _budget(world, org, admin_email, cc, amount="1000.00", policy=OverrunPolicy.BLOCK):
    with as_org(org):
        b = budgets.create_budget(world.user(admin_email), cost_center=cc, name=f"{cc.code} {YEAR}",
                                  period_kind=PeriodKind.YEAR, starts_on=date(YEAR, 1, 1),
                                  ends_on=date(YEAR, 12, 31), amount=Decimal(amount),
                                  currency=org.currency, overrun_policy=policy)
        db.session.commit()
        return b


def test_budgets_list_shows_bars_only_of_own_company(world, centers, login_as):
    _budget(world, world.acme, "admin@acme", centers["WEB"])
    _budget(world, world.globex, "admin@globex", centers["GWEB"])
    page = login_as(world.user("admin@acme")).get("/budgets/")
    assert page.status_code == 200
    assert "WEB " in page.text and "GWEB" not in page.text
    assert 'class="budget-bar' in page.text


def test_budgets_pages_are_for_admins_and_approvers(world, centers, login_as):
    b = _budget(world, world.acme, "admin@acme", centers["WEB"])
    assert login_as(world.user("buyer@acme")).get("/budgets/").status_code == 403
    assert login_as(world.user("approver@acme")).get(f"/budgets/{b.id}").status_code == 200
    assert login_as(world.user("approver@acme")).get("/budgets/new").status_code == 403
    assert login_as(world.user("sales@nordwind")).get("/budgets/").status_code == 403


def test_budget_of_another_company_is_404(world, centers, login_as):
    b = _budget(world, world.acme, "admin@acme", centers["WEB"])
    client = login_as(world.user("admin@globex"))
    assert client.get(f"/budgets/{b.id}").status_code == 404
    assert client.get(f"/budgets/{b.id}/ledger.csv").status_code == 404
    assert client.post(f"/budgets/{b.id}/close").status_code == 404


def test_budget_create_from_the_form(world, centers, login_as):
    client = login_as(world.user("admin@acme"))
    response = client.post("/budgets/new", data={
        "cost_center_id": centers["WEB"].id, "name": "", "period_kind": "quarter", "year": YEAR, "index": 2,
        "amount": "12500.50", "currency": "PLN", "overrun_policy": "warn", "owner_id": 0,
    })
    assert response.status_code == 302
    with as_org(world.acme):
        b = db.session.scalars(select(Budget)).one()
        assert (b.starts_on, b.ends_on, b.amount) == (date(YEAR, 4, 1), date(YEAR, 6, 30), Decimal("12500.50"))
    detail = client.get(response.headers["Location"])
    assert "burn-chart" in detail.text and "12" in detail.text


@pytest.mark.parametrize(("field", "value", "message"), [
    ("amount", "-5", "cannot be negative"),
    # Over what NUMERIC(14, 2) holds: the form names the limit (no 500, nothing saved).
    ("amount", "999999999999999", "The amount is too large: enter at most 999,999,999,999.99."),
    ("amount", "1000000000000", "enter at most 999,999,999,999.99"),
    ("amount", "1e12", "Enter an amount such as 1 234,50 or 1234.50."),
    ("amount", "12.345", "Use at most 2 decimal places."),
    ("amount", "", "Enter the budget amount."),
    ("index", "13", ""),
    ("currency", "XXX", "Choose a currency from the list."),
])
def test_budget_create_refuses_bad_input(world, centers, login_as, field, value, message):
    data = {"cost_center_id": centers["WEB"].id, "name": "X", "period_kind": "month", "year": YEAR, "index": 1,
            "amount": "100", "currency": "PLN", "overrun_policy": "block", "owner_id": 0}
    data[field] = value
    response = login_as(world.user("admin@acme")).post("/budgets/new", data=data)
    assert response.status_code == 422
    assert message in response.text
    with as_org(world.acme):
        assert db.session.scalar(select(func.count(Budget.id))) == 0


def test_budget_overlap_is_refused_on_the_form(world, centers, login_as):
    _budget(world, world.acme, "admin@acme", centers["WEB"])
    response = login_as(world.user("admin@acme")).post("/budgets/new", data={
        "cost_center_id": centers["WEB"].id, "name": "Q1", "period_kind": "quarter", "year": YEAR, "index": 1,
        "amount": "100", "currency": "PLN", "overrun_policy": "block", "owner_id": 0})
    assert response.status_code == 422
    assert "already has the budget" in response.text


def test_budget_revise_keeps_who_and_why_and_close(world, centers, login_as):
    b = _budget(world, world.acme, "admin@acme", centers["WEB"])
    client = login_as(world.user("admin@acme"))
    assert client.post(f"/budgets/{b.id}/revise", data={"amount": "1500.00", "overrun_policy": "warn",
                                                        "reason": "New line opened"}).status_code == 302
    missing_reason = client.post(f"/budgets/{b.id}/revise", data={"amount": "1.00", "overrun_policy": "warn",
                                                                  "reason": ""})
    assert missing_reason.status_code == 422
    with as_org(world.acme):
        db.session.expire_all()
        assert db.session.scalars(select(Budget)).one().amount == Decimal("1500.00")
        assert db.session.scalar(select(func.count(BudgetRevision.id))) == 2
    too_large = client.post(f"/budgets/{b.id}/revise", data={
        "amount": "999999999999999", "overrun_policy": "warn", "reason": "Typo"})
    assert "The amount is too large: enter at most 999,999,999,999.99." in too_large.text
    with as_org(world.acme):
        db.session.expire_all()
        assert db.session.scalars(select(Budget)).one().amount == Decimal("1500.00")
    page = client.get(f"/budgets/{b.id}")
    assert "New line opened" in page.text
    assert client.post(f"/budgets/{b.id}/close", data={"reason": "Year end"}).status_code == 302
    # a closed budget cannot be closed or revised again: the buttons are gone and a crafted POST is refused
    assert "Close budget" not in client.get(f"/budgets/{b.id}").text
    assert client.post(f"/budgets/{b.id}/close").status_code == 403


def test_budget_ledger_csv(world, centers, login_as):
    b = _budget(world, world.acme, "admin@acme", centers["WEB"])
    response = login_as(world.user("approver@acme")).get(f"/budgets/{b.id}/ledger.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.text.lstrip("\ufeff").startswith("Date,Entry,Amount,Currency,Document")


def test_budget_import_reports_bad_rows_and_keeps_good_ones(world, centers, login_as):
    from io import BytesIO

    csv_text = (
        "\ufeffcost_center;year;period;index;amount;currency;policy;name;owner_email\n"
        f"WEB;{YEAR};year;;12 500,50;PLN;block;Web {YEAR};\n"
        f"NOPE;{YEAR};year;;100;PLN;block;Bad centre;\n"
        f"WEB;{YEAR};quarter;1;-5;PLN;block;Negative;\n"
    )
    response = login_as(world.user("admin@acme")).post(
        "/budgets/import", data={"file": (BytesIO(csv_text.encode()), "budgets.csv")},
        content_type="multipart/form-data")
    assert response.status_code == 200
    assert "Unknown cost centre" in response.text and "cannot be negative" in response.text
    with as_org(world.acme):
        assert db.session.scalars(select(Budget.amount)).all() == [Decimal("12500.50")]


# ---------------------------------------------------------------- revision errors (issue 8, point 10)

HX = {"HX-Request": "true"}


def _revise_panel(html: str) -> str:
    """The revision panel of the detail page (or of its htmx fragment)."""
    match = re.search(r'<details[^>]*data-testid="revise-panel".*?</details>', html, re.S)
    assert match, "no revision panel"
    return match.group(0)


@pytest.mark.parametrize("headers", [{}, HX], ids=["page", "htmx"])
def test_budget_revise_with_empty_fields_names_each_field_once_and_keeps_the_panel_open(
        world, centers, login_as, headers):
    b = _budget(world, world.acme, "admin@acme", centers["WEB"])
    client = login_as(world.user("admin@acme"))
    response = client.post(f"/budgets/{b.id}/revise", headers=headers,
                           data={"amount": "", "overrun_policy": "warn", "reason": ""})
    assert response.status_code == 422
    panel = _revise_panel(response.text)
    assert re.search(r'<details[^>]*\bopen\b', panel), "the panel closed"
    # Each message once, beside its own field; no anonymous "This field is required."
    assert "This field is required." not in response.text
    assert response.text.count("Enter the budget amount.") == 1
    assert response.text.count("Say why the budget changes.") == 1
    assert re.search(r'id="amount-error"[^>]*>\s*Enter the budget amount\.', panel)
    assert re.search(r'id="reason-error"[^>]*>\s*Say why the budget changes\.', panel)
    if headers:
        assert "<html" not in response.text
    # Nothing was flashed for later: the next page shows no error message either.
    assert "flash-error" not in client.get(f"/budgets/{b.id}").text
    with as_org(world.acme):
        assert db.session.scalar(select(func.count(BudgetRevision.id))) == 1


def test_budget_revise_errors_keep_what_was_typed(world, centers, login_as):
    b = _budget(world, world.acme, "admin@acme", centers["WEB"])
    client = login_as(world.user("admin@acme"))
    response = client.post(f"/budgets/{b.id}/revise",
                           data={"amount": "1500,50", "overrun_policy": "escalate", "reason": "   "})
    assert response.status_code == 422
    panel = _revise_panel(response.text)
    assert re.search(r'<input[^>]*id="amount"[^>]*value="1500,50"', panel)
    assert re.search(r'<option[^>]*selected[^>]*value="escalate"|<option[^>]*value="escalate"[^>]*selected', panel)
    typed = client.post(f"/budgets/{b.id}/revise",
                        data={"amount": "12.345", "overrun_policy": "warn", "reason": "Second half of the year"})
    assert typed.status_code == 422
    assert "Second half of the year</textarea>" in _revise_panel(typed.text)
    assert typed.text.count("Use at most 2 decimal places.") == 1


def test_budget_revise_refused_by_the_rules_shows_once_in_the_panel(world, centers, login_as):
    b = _budget(world, world.acme, "admin@acme", centers["WEB"])
    client = login_as(world.user("admin@acme"))
    too_large = client.post(f"/budgets/{b.id}/revise", data={
        "amount": "999999999999999", "overrun_policy": "warn", "reason": "Typo"})
    assert too_large.status_code == 422
    assert too_large.text.count("The amount is too large: enter at most 999,999,999,999.99.") == 1
    assert "Typo</textarea>" in _revise_panel(too_large.text)


def test_budget_revise_below_what_is_used_is_refused_in_the_panel(world, centers, login_as):
    b = _budget(world, world.acme, "admin@acme", centers["WEB"])
    with as_org(world.acme):
        assert budgets.try_reserve(b, Decimal("400.00"))
        db.session.commit()
    client = login_as(world.user("admin@acme"))
    response = client.post(f"/budgets/{b.id}/revise", headers=HX,
                           data={"amount": "1.00", "overrun_policy": "warn", "reason": "Cut"})
    assert response.status_code == 422
    assert response.text.count("The budget cannot go below what is already used") == 1
    assert "error" not in response.headers.get("HX-Trigger", "")
    assert "Cut</textarea>" in _revise_panel(response.text)


# ---------------------------------------------------------------- the detail page's chart (issue 8, point 12)


def _attrs(tag: str) -> dict:
    return dict(re.findall(r'([\w:-]+)="([^"]*)"', tag))


def test_budget_chart_has_axes_dates_today_and_a_legend_drawn_like_its_lines(world, centers, login_as):
    b = _budget(world, world.acme, "admin@acme", centers["WEB"], amount="58000.00")
    with as_org(world.acme):
        assert budgets.try_reserve(b, Decimal("100.00"))
        db.session.commit()
    page = login_as(world.user("admin@acme")).get(f"/budgets/{b.id}")
    assert page.status_code == 200
    html = page.text
    wide = re.search(r'<svg[^>]*class="burn-chart burn-wide".*?</svg>', html, re.S).group(0)
    assert re.search(r'class="axis axis-y"', wide) and re.search(r'class="axis axis-x"', wide)
    # Values on the y axis (grouped, no decimals) and the period's dates on the x axis.
    assert re.search(r"<text[^>]*>\s*0\s*</text>", wide)
    assert re.search(r"<text[^>]*>\s*\d{1,3}(,\d{3})+\s*</text>", wide)
    assert re.search(r"<text[^>]*>\s*1 Jan\s*</text>", wide) and re.search(r"<text[^>]*>\s*31 Dec\s*</text>", wide)
    assert 'data-testid="today-marker"' in wide and "Today" in wide
    assert 'style="' not in html.split("<main", 1)[1]
    # Every series in the legend is drawn with the stroke, dash and marker of its line.
    legend = re.search(r'<ul class="chart-legend".*?</ul>', html, re.S).group(0)
    for key in ("consumed", "plan", "budget"):
        line = _attrs(re.search(rf'<(?:polyline|line)[^>]*data-series="{key}"[^>]*>', wide).group(0))
        swatch = _attrs(re.search(rf'<line[^>]*data-key="{key}"[^>]*>', legend).group(0))
        for attr in ("stroke", "stroke-dasharray", "stroke-width"):
            assert swatch.get(attr) == line.get(attr), (key, attr)
    assert 'data-marker="circle"' in legend and 'data-marker="circle"' in wide


def test_budget_chart_over_budget_legend_follows_the_red_line(world, centers, login_as):
    b = _budget(world, world.acme, "admin@acme", centers["WEB"], amount="100.00", policy=OverrunPolicy.WARN)
    with as_org(world.acme):
        db.session.add(BudgetEntry(organization_id=b.organization_id, budget_id=b.id, kind=EntryKind.RESERVE,
                                   amount=Decimal("150.00"), source_type="Manual", source_id=0,
                                   source_label="X", overrun=True))
        db.session.commit()
    html = login_as(world.user("admin@acme")).get(f"/budgets/{b.id}").text
    line = _attrs(re.search(r'<polyline[^>]*data-series="consumed"[^>]*>', html).group(0))
    legend = re.search(r'<ul class="chart-legend".*?</ul>', html, re.S).group(0)
    swatch = _attrs(re.search(r'<line[^>]*data-key="consumed"[^>]*>', legend).group(0))
    assert line["stroke"] == swatch["stroke"]
    assert line["stroke"] != "#1d4ed8"


def test_budget_pages_print_the_chart(app):
    css = (app.static_folder + "/css/app.css")
    with open(css, encoding="utf-8") as handle:
        text = handle.read()
    budget_block = text[text.index("/* Budget pages: tiles, burn chart, print"):]
    assert "@media print" in budget_block and ".burn-wide" in budget_block


def test_budget_revise_with_htmx_swaps_the_page_block_and_says_so(world, centers, login_as):
    b = _budget(world, world.acme, "admin@acme", centers["WEB"])
    response = login_as(world.user("admin@acme")).post(
        f"/budgets/{b.id}/revise", headers=HX, data={"amount": "2500.00", "overrun_policy": "warn",
                                                     "reason": "More licences"})
    assert response.status_code == 200
    assert "<html" not in response.text and 'id="detail"' in response.text
    assert "Budget revised." in response.headers["HX-Trigger"]
    assert "More licences" in response.text
    panel = _revise_panel(response.text)
    assert not re.search(r"<details[^>]*\bopen\b", panel)
    assert 'value="2500.00"' in panel


def test_budget_new_form_explains_the_default_name_readably(world, centers, login_as):
    page = login_as(world.user("admin@acme")).get("/budgets/new")
    assert re.search(r"by the cost centre(&#39;|')s code and the year, e\.g\. “IT 2026”", page.text)
