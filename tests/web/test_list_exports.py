"""The CSV exports of the catalog, price agreements, budgets, suppliers and the audit log (issue
12): each list page links its export with the page's filters; the file is the filtered list
(every row, streamed), of the signed-in user's company only, formula-safe, in the reader's
dialect."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime

import pytest
from sqlalchemy import select

from portal.blueprints.admin import audit_export
from portal.blueprints.catalog import views as catalog_views
from portal.extensions import db
from portal.models import AuditEvent, Item, Organization, PriceAgreement, User
from portal.services import catalog
from portal.tenancy import system
from tests.factories import acting_for, make_item
from tests.security.conftest import SECRET, sample  # noqa: F401 - the fixture

ADMIN, BUYER, APPROVER, GLOBEX = ("admin@acme.example", "buyer@acme.example", "approver@acme.example",
                                  "admin@globex.example")
SUPPLIER = "sales@nordwind.example"
# list page -> its export (the same filters)
EXPORTS = {
    "/catalog/": "/catalog/export",
    "/agreements/": "/agreements/export",
    "/budgets/": "/budgets/export",
    "/suppliers/": "/suppliers/export",
    "/admin/audit": "/admin/audit/export",
}


@pytest.fixture(autouse=True)
def english(sample):  # noqa: F811 - the fixture's value
    """The signed-in users read English (the demo world's Acme admin reads Polish)."""
    set_locale(sample, (ADMIN, BUYER, APPROVER, GLOBEX, SUPPLIER), "en")


def set_locale(sample, emails, locale: str) -> None:  # noqa: F811
    with system(db.session):
        for email in emails:
            db.session.get(User, sample.user_ids[email]).locale = locale
        db.session.commit()


def get(app, sample, email: str, url: str):  # noqa: F811
    return sample.login(app.test_client(), email).get(url, buffered=True)


def rows_of(response, separator: str = ",") -> list[list[str]]:
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    text = response.data.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=separator))


def export(app, sample, email: str, url: str, separator: str = ","):  # noqa: F811
    return rows_of(get(app, sample, email, url), separator)


def column(rows: list[list[str]], name: str) -> list[str]:
    at = rows[0].index(name)
    return [row[at] for row in rows[1:]]


def _nordwind(sample) -> str:  # noqa: F811
    return _one(select(Organization.name).where(Organization.id == sample.orgs["nordwind"]))


def _one(query):
    with system(db.session):
        return db.session.execute(query).scalars().first()


# ---------------------------------------------------------------- the pages' links


@pytest.mark.parametrize(("page", "target"), [
    ("/catalog/?q=a&status=all", "/catalog/export?q=a&amp;status=all"),
    ("/agreements/?state=valid", "/agreements/export?state=valid"),
    ("/budgets/?status=all", "/budgets/export?status=all"),
    ("/suppliers/?status=active", "/suppliers/export?status=active"),
    ("/admin/audit?object_type=Item", "/admin/audit/export?object_type=Item"),
])
def test_each_list_links_its_export_with_the_pages_filters(app, sample, page, target):  # noqa: F811
    response = get(app, sample, ADMIN, page)
    assert response.status_code == 200
    link = re.search(r'<a href="([^"]+)" class="small-link" data-testid="export"( download)?>', response.text)
    assert link is not None, page
    assert link.group(1) == target


def test_the_audit_export_link_leaves_out_a_filter_the_page_did_not_apply(app, sample):  # noqa: F811
    response = get(app, sample, ADMIN, "/admin/audit?date_from=2026-13-45")
    assert response.status_code == 422
    assert 'href="/admin/audit/export"' in response.text


# ---------------------------------------------------------------- every export: the company's rows only


@pytest.mark.parametrize("url", EXPORTS.values())
def test_an_export_shows_the_companys_rows_and_nothing_of_another(app, sample, url):  # noqa: F811
    for email, own, other in ((ADMIN, "acme", "globex"), (GLOBEX, "globex", "acme")):
        response = get(app, sample, email, url)
        rows = rows_of(response)
        assert len(rows) > 1, (email, url)
        body = response.data.decode("utf-8")
        leaked = sorted(w for w in sample.forbidden_text(own) if w in body)
        assert not leaked, (email, url, leaked)
        assert SECRET[other] not in body
    assert "Content-Length" not in response.headers  # streamed


def test_the_exports_carry_the_sample_marks_of_the_own_company(app, sample):  # noqa: F811
    mark = SECRET["acme"]
    assert any(mark in name for name in column(export(app, sample, ADMIN, "/catalog/export"), "Name"))
    assert any(mark in name for name in column(export(app, sample, ADMIN, "/budgets/export"), "Budget"))
    audit = export(app, sample, ADMIN, "/admin/audit/export")
    assert any(mark in text for text in column(audit, "Object"))


# ---------------------------------------------------------------- catalog


def test_the_catalog_export_is_the_filtered_list(app, sample):  # noqa: F811
    rows = export(app, sample, ADMIN, "/catalog/export")
    assert rows[0] == ["SKU", "Name", "Category code", "Category", "Unit", "VAT %", "List price", "Currency",
                       "Agreed price", "Agreed price currency", "Agreed with", "Preferred supplier", "Status"]
    skus = column(rows, "SKU")
    assert skus == sorted(skus)  # as the list: by SKU
    assert set(column(rows, "Status")) == {"Active"}
    sku = skus[0]
    some = export(app, sample, ADMIN, f"/catalog/export?q={sku}")
    assert sku in column(some, "SKU") and len(some) < len(rows)
    # The sample agreement (with Nordwind, valid today) is the item's agreed price.
    agreement = _one(select(PriceAgreement).where(PriceAgreement.id == sample.ids["agreement"]["acme"]))
    item_sku = _one(select(Item.sku).where(Item.id == agreement.item_id))
    line = dict(zip(rows[0], next(r for r in rows[1:] if r[0] == item_sku), strict=True))
    assert line["Agreed with"] == _nordwind(sample)
    assert line["Agreed price"] and line["Agreed price currency"]


def test_only_catalog_managers_export_inactive_items(app, sample):  # noqa: F811
    with system(db.session):
        org = db.session.get(User, sample.user_ids[ADMIN]).organization
        make_item(org, "ZZ-OLD-1", name="Retired chair", active=False)
        db.session.commit()
    inactive = export(app, sample, ADMIN, "/catalog/export?status=inactive")
    assert "ZZ-OLD-1" in column(inactive, "SKU")
    assert set(column(inactive, "Status")) == {"Inactive"}
    # A buyer's list is the active items, whatever the address asks (as the page).
    assert "ZZ-OLD-1" not in column(export(app, sample, BUYER, "/catalog/export?status=inactive"), "SKU")


def test_a_formula_in_a_cell_is_neutralised(app, sample):  # noqa: F811
    with system(db.session):
        org = db.session.get(User, sample.user_ids[ADMIN]).organization
        with acting_for(org):
            make_item(org, "XL-1", name='=HYPERLINK("http://evil.example","click")')
        db.session.commit()
    rows = export(app, sample, ADMIN, "/catalog/export?q=XL-1")
    assert column(rows, "Name") == ['\'=HYPERLINK("http://evil.example","click")']


# ---------------------------------------------------------------- agreements


def test_the_agreement_export_is_the_filtered_list(app, sample):  # noqa: F811
    rows = export(app, sample, ADMIN, "/agreements/export")
    assert rows[0] == ["Supplier", "SKU", "Item", "Supplier's part number", "Unit price", "Currency",
                       "Quantity tiers", "Valid from", "Valid to", "Lead time (days)", "Status"]
    assert len(rows) > 1
    valid = export(app, sample, ADMIN, "/agreements/export?state=valid")
    assert set(column(valid, "Status")) == {"Valid"}
    expired = export(app, sample, ADMIN, "/agreements/export?state=expired")
    assert set(column(expired, "Status")) <= {"Expired"}
    link = sample.ids["link"]["acme-nordwind"]
    nordwind = export(app, sample, ADMIN, f"/agreements/export?link={link}")
    assert len(nordwind) > 1 and set(column(nordwind, "Supplier")) == {_nordwind(sample)}
    assert len(nordwind) < len(rows)
    for day in column(rows, "Valid from"):
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", day)


def test_another_companys_supplier_link_is_a_404(app, sample):  # noqa: F811
    link = sample.ids["link"]["globex-nordwind"]
    assert get(app, sample, ADMIN, f"/agreements/export?link={link}").status_code == 404


# ---------------------------------------------------------------- budgets


def test_the_budget_export_is_the_filtered_list_for_a_polish_reader(app, sample):  # noqa: F811
    set_locale(sample, [ADMIN], "pl")
    rows = export(app, sample, ADMIN, "/budgets/export", separator=";")
    assert len(rows[0]) == 13 and len(rows) > 1
    amount = rows[1][8]
    assert re.fullmatch(r"-?\d+(,\d+)?", amount), amount  # a decimal comma, no grouping
    assert export(app, sample, ADMIN, "/budgets/export?status=closed", separator=";") == rows[:1]
    assert len(export(app, sample, ADMIN, "/budgets/export?status=all", separator=";")) >= len(rows)
    assert export(app, sample, ADMIN, "/budgets/export?year=2001", separator=";") == rows[:1]


def test_a_buyer_has_no_budget_export(app, sample):  # noqa: F811
    assert get(app, sample, BUYER, "/budgets/export").status_code == 403


# ---------------------------------------------------------------- suppliers


def test_the_supplier_export_is_the_filtered_list(app, sample):  # noqa: F811
    rows = export(app, sample, ADMIN, "/suppliers/export")
    assert rows[0] == ["Name", "Legal name", "Tax ID", "Country", "Status", "Payment terms", "Invoicing",
                       "Currency", "Credit limit"]
    names = column(rows, "Name")
    assert "Blockt Logistics" in names and "Solo Trade" not in names  # Solo supplies Globex only
    blocked = export(app, sample, ADMIN, "/suppliers/export?status=blocked")
    assert column(blocked, "Name") == ["Blockt Logistics"]
    assert column(blocked, "Status") == ["Blocked"]
    found = export(app, sample, ADMIN, "/suppliers/export?q=blockt")
    assert column(found, "Name") == ["Blockt Logistics"]


# ---------------------------------------------------------------- audit log


def test_the_audit_export_is_the_filtered_log(app, sample):  # noqa: F811
    rows = export(app, sample, ADMIN, "/admin/audit/export")
    assert rows[0] == ["Time", "Who", "On behalf of", "Action", "Object type", "Object", "Object ID", "Details"]
    with system(db.session):
        org_id = sample.orgs["acme"]
        total = db.session.scalar(select(db.func.count()).select_from(AuditEvent)
                                  .where(AuditEvent.organization_id == org_id))
    assert len(rows) - 1 == total  # every event, over several chunks or one
    times = column(rows, "Time")
    assert all(datetime.fromisoformat(t).tzinfo is not None for t in times)  # ISO 8601 with offset
    assert times == sorted(times, key=datetime.fromisoformat, reverse=True)  # newest first
    items = export(app, sample, ADMIN, "/admin/audit/export?object_type=Item")
    assert set(column(items, "Object type")) == {"Catalog item"} and 1 < len(items) < len(rows)
    admin_id = sample.user_ids[ADMIN]
    own = export(app, sample, ADMIN, f"/admin/audit/export?actor={admin_id}")
    assert set(column(own, "Who")) == {_one(select(User.full_name).where(User.id == admin_id))}


def test_the_audit_export_names_the_changes(app, sample):  # noqa: F811
    with system(db.session):
        admin = db.session.get(User, sample.user_ids[ADMIN])
        item = db.session.get(Item, sample.ids["item"]["acme"])
        with acting_for(admin.organization):
            catalog.update_item(item, catalog.ItemFields(
                sku=item.sku, name="Renamed chair", description=item.description, unit=item.unit,
                category_id=item.category_id,
                default_vat_rate=item.default_vat_rate, list_price=item.list_price,
                currency=item.currency, preferred_supplier_id=item.preferred_supplier_id), actor=admin)
        db.session.commit()
    rows = export(app, sample, ADMIN, "/admin/audit/export?object_type=Item")
    newest = dict(zip(rows[0], rows[1], strict=True))
    assert newest["Object"] == "Renamed chair" and newest["Who"] == admin.full_name
    assert newest["Details"].startswith("Name: ") and newest["Details"].endswith(" → Renamed chair")


def test_an_unreadable_audit_filter_is_a_422_not_the_whole_log(app, sample):  # noqa: F811
    response = get(app, sample, ADMIN, "/admin/audit/export?date_from=2026-13-45")
    assert response.status_code == 422 and response.mimetype != "text/csv"


def test_the_audit_export_is_the_org_admins(app, sample):  # noqa: F811
    assert get(app, sample, BUYER, "/admin/audit/export").status_code == 403
    assert get(app, sample, APPROVER, "/admin/audit/export").status_code == 403
    rows = export(app, sample, SUPPLIER, "/admin/audit/export")  # a supplier admin: its own log
    assert len(rows) > 1


def test_chunk_boundaries_lose_and_repeat_no_row(app, sample, monkeypatch):  # noqa: F811
    whole = {url: export(app, sample, ADMIN, url) for url in ("/admin/audit/export", "/catalog/export?status=all")}
    monkeypatch.setattr(audit_export, "EXPORT_CHUNK", 7)
    monkeypatch.setattr(catalog_views, "EXPORT_CHUNK", 3)
    for url, rows in whole.items():
        assert len(rows) > 8, url
        assert export(app, sample, ADMIN, url) == rows, url


def test_a_log_too_long_for_one_file_is_refused_with_a_message_and_the_page(app, sample, monkeypatch):  # noqa: F811
    """A download of millions of events would be cut off by the web worker's time limit half
    written: above audit_log.EXPORT_LIMIT events the export answers with the audit page and a
    message to export it period by period (the API with a 422 problem); below, the file."""
    from portal.services import audit_log

    rows = export(app, sample, ADMIN, "/admin/audit/export")
    monkeypatch.setattr(audit_log, "EXPORT_LIMIT", len(rows) - 2)
    client = sample.login(app.test_client(), ADMIN)
    refused = client.get("/admin/audit/export", headers={"Referer": "http://localhost/admin/audit"})
    assert refused.status_code == 302 and refused.headers["Location"].endswith("/admin/audit")
    page = client.get("/admin/audit")
    assert f"More than {len(rows) - 2} events match" in page.text
    monkeypatch.setattr(audit_log, "EXPORT_LIMIT", len(rows) - 1)
    assert export(app, sample, ADMIN, "/admin/audit/export") == rows
