"""Budget pages: list with bars, detail with chart and ledger, create/revise/close, CSV."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from portal.domain.budget import OverrunPolicy, PeriodKind
from portal.extensions import db
from portal.models import Budget, BudgetRevision, CostCenter
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
    assert missing_reason.status_code == 303
    with as_org(world.acme):
        db.session.expire_all()
        assert db.session.scalars(select(Budget)).one().amount == Decimal("1500.00")
        assert db.session.scalar(select(func.count(BudgetRevision.id))) == 2
    too_large = client.post(f"/budgets/{b.id}/revise", data={
        "amount": "999999999999999", "overrun_policy": "warn", "reason": "Typo"}, follow_redirects=True)
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
    assert response.text.lstrip("\ufeff").startswith("date,kind,amount,currency,document")


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
