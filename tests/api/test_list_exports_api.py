"""GET /exports/{catalog,agreements,budgets,suppliers,audit-log} (issue 12): the same bytes as
the page's Export CSV link for the same user and filters; each export's scope and the page's
rule; bad filters are 422 problems naming the field."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import User
from portal.tenancy import system
from tests.api.test_files_api import client_for, page_export, rows_of
from tests.factories import make_item
from tests.security.conftest import SECRET, sample  # noqa: F401 - the fixture

ADMIN = "admin@acme.example"


@pytest.fixture(autouse=True)
def english(sample):  # noqa: F811 - the fixture's value
    """Acme's admin reads English here (the demo world's reads Polish): `,` and `.`."""
    set_locale("en")


def set_locale(locale: str) -> None:
    with system(db.session):
        db.session.scalars(select(User).where(User.email == ADMIN)).one().locale = locale
        db.session.commit()

# (user, export name, API query, the page's export URL)
SAME_AS_THE_PAGE = [
    (ADMIN, "catalog", "", "/catalog/export"),
    (ADMIN, "catalog", "?status=all&q=IT", "/catalog/export?status=all&q=IT"),
    ("buyer@acme.example", "catalog", "?status=inactive", "/catalog/export?status=inactive"),
    (ADMIN, "agreements", "", "/agreements/export"),
    (ADMIN, "agreements", "?state=valid", "/agreements/export?state=valid"),
    (ADMIN, "budgets", "", "/budgets/export"),
    (ADMIN, "budgets", "?status=all&year=2026", "/budgets/export?status=all&year=2026"),
    ("approver@acme.example", "budgets", "?status=closed", "/budgets/export?status=closed"),
    (ADMIN, "suppliers", "", "/suppliers/export"),
    (ADMIN, "suppliers", "?status=blocked&q=blo", "/suppliers/export?status=blocked&q=blo"),
    (ADMIN, "audit-log", "", "/admin/audit/export"),
    (ADMIN, "audit-log", "?object_type=Item", "/admin/audit/export?object_type=Item"),
    (ADMIN, "audit-log", "?date_from=2000-01-01&date_to=2000-12-31",
     "/admin/audit/export?date_from=2000-01-01&date_to=2000-12-31"),
    ("sales@nordwind.example", "audit-log", "", "/admin/audit/export"),
    ("admin@globex.example", "catalog", "", "/catalog/export"),
]


@pytest.mark.parametrize(("email", "name", "query", "page_url"), SAME_AS_THE_PAGE)
def test_each_export_is_the_pages_export(app, sample, email, name, query, page_url):  # noqa: F811
    client = client_for(app, email)  # first: making the token is an event of the audit log
    page = page_export(app, sample, email, page_url)
    answer = client.get(f"/exports/{name}{query}", status=200, buffered=True)
    assert answer.mimetype == "text/csv"
    assert answer.data == page.data
    assert answer.headers["Content-Disposition"] == page.headers["Content-Disposition"]
    assert "Set-Cookie" not in answer.headers


def test_a_polish_users_export_is_the_pages_too(app, sample):  # noqa: F811
    set_locale("pl")
    client = client_for(app, ADMIN)
    for name, url in (("budgets", "/budgets/export"), ("agreements", "/agreements/export"),
                      ("audit-log", "/admin/audit/export")):
        page = page_export(app, sample, ADMIN, url)
        answer = client.get(f"/exports/{name}", status=200, buffered=True)
        assert answer.data == page.data
        assert len(rows_of(answer.data, ";")[0]) > 5


def test_the_user_ids_of_a_filter_and_the_link_of_another_company(app, sample):  # noqa: F811
    admin = client_for(app, ADMIN)
    link = sample.ids["link"]["globex-nordwind"]
    assert admin.get(f"/exports/agreements?link_id={link}", status=404)["status"] == 404
    own = sample.ids["link"]["acme-nordwind"]
    assert (admin.get(f"/exports/agreements?link_id={own}", status=200, buffered=True).data
            == page_export(app, sample, ADMIN, f"/agreements/export?link={own}").data)
    # Another company's person acted on nothing of Acme's: no rows, nothing shown.
    stranger = sample.user_ids["admin@globex.example"]
    assert len(rows_of(admin.get(f"/exports/audit-log?actor_id={stranger}", status=200).data)) == 1


@pytest.mark.parametrize("name", ["catalog", "agreements", "budgets", "suppliers", "audit-log"])
def test_no_export_shows_another_companys_rows(app, sample, name):  # noqa: F811
    for email, own in ((ADMIN, "acme"), ("admin@globex.example", "globex")):
        body = client_for(app, email).get(f"/exports/{name}", status=200).data.decode("utf-8")
        leaked = sorted(w for w in sample.forbidden_text(own) if w in body)
        assert not leaked, (email, name, leaked)


def test_a_formula_cell_is_neutralised_in_the_api_export_too(app, sample):  # noqa: F811
    with system(db.session):
        org = db.session.scalars(select(User).where(User.email == ADMIN)).one().organization
        make_item(org, "XL-2", name="@SUM(A1:A9)")
        db.session.commit()
    rows = rows_of(client_for(app, ADMIN).get("/exports/catalog?q=XL-2", status=200).data)
    assert [row[rows[0].index("Name")] for row in rows[1:]] == ["'@SUM(A1:A9)"]


@pytest.mark.parametrize(("query", "field"), [
    ("/exports/catalog?status=gone", "status"),
    ("/exports/catalog?category_id=0", "category_id"),
    ("/exports/catalog?tab=all", "tab"),                       # another export's filter
    ("/exports/agreements?state=someday", "state"),
    ("/exports/agreements?q=x", "q"),
    ("/exports/budgets?year=1999", "year"),
    ("/exports/budgets?status=half", "status"),
    ("/exports/suppliers?status=friendly", "status"),
    ("/exports/suppliers?q=" + "x" * 101, "q"),
    ("/exports/audit-log?object_type=Secret", "object_type"),
    ("/exports/audit-log?date_from=2026-13-45", "date_from"),
    ("/exports/audit-log?date_from=2026-02-01&date_to=2026-01-31", "date_to"),
    ("/exports/audit-log?actor_id=abc", "actor_id"),
])
def test_bad_filters_are_422_problems_naming_the_field(app, sample, query, field):  # noqa: F811
    problem = client_for(app, ADMIN).get(query, status=422)
    assert field in {e["field"] for e in problem["errors"]}


def test_an_audit_log_too_long_for_one_file_is_a_422_problem(app, sample, monkeypatch):  # noqa: F811
    from portal.services import audit_log

    monkeypatch.setattr(audit_log, "EXPORT_LIMIT", 1)
    problem = client_for(app, ADMIN).get("/exports/audit-log", status=422)
    assert "More than 1 events match" in problem["detail"]
    monkeypatch.setattr(audit_log, "EXPORT_LIMIT", 100_000)
    client_for(app, ADMIN).get("/exports/audit-log", status=200)


def test_scopes_and_rules_are_the_pages(app, sample):  # noqa: F811
    catalog_only = client_for(app, ADMIN, scopes=["catalog:read"])
    catalog_only.get("/exports/catalog", status=200)
    catalog_only.get("/exports/agreements", status=200)
    assert catalog_only.get("/exports/budgets", status=403)["detail"] == \
        "The token lacks the scope 'requisitions:read'."
    assert catalog_only.get("/exports/suppliers", status=403)["detail"] == \
        "The token lacks the scope 'suppliers:read'."
    assert catalog_only.get("/exports/audit-log", status=403)["detail"] == \
        "The token lacks the scope 'webhooks:read'."
    client_for(app, ADMIN, scopes=["webhooks:read"]).get("/exports/audit-log", status=200)
    # The audit log is the organisation admin's, whatever the token's scopes; budgets the
    # admins' and approvers'; a supplier has none of the buyer's lists.
    buyer = client_for(app, "buyer@acme.example")
    buyer.get("/exports/audit-log", status=403)
    buyer.get("/exports/budgets", status=403)
    client_for(app, "approver@acme.example").get("/exports/audit-log", status=403)
    supplier = client_for(app, "sales@nordwind.example")
    for name in ("catalog", "agreements", "budgets", "suppliers"):
        supplier.get(f"/exports/{name}", status=403)
    assert SECRET["acme"] not in supplier.get("/exports/audit-log", status=200).data.decode("utf-8")


def test_the_new_exports_are_streamed_and_documented(app, sample):  # noqa: F811
    admin = client_for(app, ADMIN)
    for name in ("catalog", "agreements", "budgets", "suppliers", "audit-log"):
        assert "Content-Length" not in admin.get(f"/exports/{name}", status=200).headers
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    operation = next(item["get"] for path, item in document["paths"].items() if "/exports/" in path)
    assert operation["x-scopes"]["audit-log"] == "webhooks:read"
    assert operation["x-scopes"]["agreements"] == "catalog:read"
    names = {p["name"] for p in operation["parameters"] if p["in"] == "query"}
    assert {"category_id", "link_id", "state", "year", "object_type", "actor_id", "date_from",
            "date_to"} <= names
