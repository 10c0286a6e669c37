"""Bulk files through the API: GET /exports/{name} answers the page's CSV export byte for byte
(same user, same filters), POST /imports/* run the pages' imports with their per-row report."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Budget, Item, PriceProposal, User
from portal.tenancy import system
from tests.api.conftest import ApiClient, make_token
from tests.security.conftest import sample  # noqa: F401 - the fixture

# (user, export name, API query, the page's export URL)
SAME_AS_THE_PAGE = [
    ("buyer@acme.example", "requisitions", "", "/requisitions/export"),
    ("admin@acme.example", "requisitions", "?scope=all&sort=number&dir=asc",
     "/requisitions/export?scope=all&sort=number&dir=asc"),
    ("admin@acme.example", "requisitions", "?scope=all&status=approved",
     "/requisitions/export?scope=all&status=approved"),
    ("admin@acme.example", "orders", "?view=all", "/orders/export?view=all"),
    ("admin@acme.example", "orders", "?view=to_receive&q=PO", "/orders/export?view=to_receive&q=PO"),
    ("admin@acme.example", "rfqs", "", "/rfqs/export"),
    ("admin@acme.example", "invoices", "?tab=all", "/invoices/export?tab=all"),
    ("admin@acme.example", "invoices", "", "/invoices/export"),
    ("sales@nordwind.example", "supplier-orders", "?view=all", "/supplier/orders/export?view=all"),
    ("sales@nordwind.example", "supplier-invoices", "?tab=all", "/supplier/invoices/export?tab=all"),
    ("sales@nordwind.example", "supplier-invoices", "", "/supplier/invoices/export"),
]


def _user(email: str) -> User:
    with system(db.session):
        return db.session.scalars(select(User).where(User.email == email)).one()


def client_for(app, email: str, scopes=None) -> ApiClient:
    _, raw = make_token(_user(email), **({"scopes": scopes} if scopes is not None else {}))
    return ApiClient(app, raw)


def page_export(app, sample, email: str, url: str):  # noqa: F811 - the fixture's value
    response = sample.login(app.test_client(), email).get(url, buffered=True)
    assert response.status_code == 200 and response.mimetype == "text/csv", (url, response.status_code)
    return response


def rows_of(data: bytes, separator: str = ",") -> list[list[str]]:
    text = data.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=separator))


@pytest.mark.parametrize(("email", "name", "query", "page_url"), SAME_AS_THE_PAGE)
def test_each_export_is_the_pages_export(app, sample, email, name, query, page_url):  # noqa: F811
    page = page_export(app, sample, email, page_url)
    answer = client_for(app, email).get(f"/exports/{name}{query}", status=200, buffered=True)
    assert answer.mimetype == "text/csv"
    assert answer.data == page.data
    assert answer.headers["Content-Disposition"] == page.headers["Content-Disposition"]
    assert answer.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in answer.headers  # the page's user for this request only, no session


def test_the_exports_carry_rows(app, sample):  # noqa: F811
    admin = client_for(app, "admin@acme.example")
    for name in ("orders", "rfqs", "requisitions"):
        query = "?scope=all" if name == "requisitions" else ""
        assert len(rows_of(admin.get(f"/exports/{name}{query}", status=200).data)) > 1, name
    assert len(rows_of(admin.get("/exports/invoices?tab=all", status=200).data)) > 1
    nordwind = client_for(app, "sales@nordwind.example")
    assert len(rows_of(nordwind.get("/exports/supplier-invoices?tab=all", status=200).data)) > 1


def test_the_budget_ledger_is_the_pages_and_another_orgs_budget_is_a_404(app, sample):  # noqa: F811
    budget_id = sample.ids["budget"]["acme"]
    page = page_export(app, sample, "admin@acme.example", f"/budgets/{budget_id}/ledger.csv")
    admin = client_for(app, "admin@acme.example")
    assert admin.get(f"/exports/budget-ledger?budget_id={budget_id}", status=200).data == page.data
    admin.get(f"/exports/budget-ledger?budget_id={sample.ids['budget']['globex']}", status=404)
    problem = admin.get("/exports/budget-ledger", status=422)
    assert problem["errors"][0]["field"] == "budget_id"


def test_filters_narrow_the_rows_as_on_the_page(app, sample):  # noqa: F811
    admin = client_for(app, "admin@acme.example")
    every = rows_of(admin.get("/exports/invoices?tab=all", status=200).data)
    supplier_id = sample.orgs["polbud"]
    some = rows_of(admin.get(f"/exports/invoices?tab=all&supplier_id={supplier_id}", status=200).data)
    page = page_export(app, sample, "admin@acme.example", f"/invoices/export?tab=all&supplier={supplier_id}")
    assert rows_of(page.data) == some
    assert len(some) < len(every)


@pytest.mark.parametrize(("query", "field"), [
    ("/exports/orders?tab=all", "tab"),                # another export's filter
    ("/exports/orders?colour=red", "colour"),          # nobody's filter
    ("/exports/orders?view=someday", "view"),          # not one of the views
    ("/exports/orders?supplier_id=abc", "supplier_id"),
    ("/exports/requisitions?amount_min=1e5", "amount_min"),
    ("/exports/requisitions?created_from=2026-13-45", "created_from"),
    ("/exports/invoices?q=" + "x" * 101, "q"),
])
def test_bad_filters_are_422_problems_naming_the_field(app, sample, query, field):  # noqa: F811
    problem = client_for(app, "admin@acme.example").get(query, status=422)
    assert field in {e["field"] for e in problem["errors"]}


def test_an_unknown_export_is_a_404_problem(app, sample):  # noqa: F811
    response = client_for(app, "admin@acme.example").get("/exports/secrets", status=404, check=False)
    assert response["status"] == 404


def test_scope_and_policy_are_the_pages(app, sample):  # noqa: F811
    narrow = client_for(app, "admin@acme.example", scopes=["orders:read"])
    narrow.get("/exports/orders", status=200)
    assert narrow.get("/exports/invoices", status=403)["detail"] == "The token lacks the scope 'invoices:read'."
    # A supplier has no buyer lists, a buyer no supplier lists: the pages' rules (403).
    client_for(app, "sales@nordwind.example").get("/exports/invoices", status=403)
    client_for(app, "admin@acme.example").get("/exports/supplier-orders", status=403)
    # "All requisitions" needs the right to see every requisition; requester_id needs scope=all.
    buyer = client_for(app, "buyer@acme.example")
    buyer.get("/exports/requisitions?scope=all", status=403)
    buyer.get("/exports/requisitions?requester_id=1", status=422)


def test_an_export_is_streamed(app, sample):  # noqa: F811
    response = client_for(app, "admin@acme.example").get("/exports/orders", status=200)
    assert "Content-Length" not in response.headers  # sent while the rows are read


# ---------------------------------------------------------------- imports

CATALOG = (
    "sku,name,unit,vat_rate,list_price,currency\r\n"
    "API-1,Cable tester,pcs,23,120.00,PLN\r\n"
    "API-2,Crimping tool,pcs,23,80.50,PLN\r\n"
)
CATALOG_WITH_BAD_ROWS = CATALOG + "API-3,,pcs,23,abc,PLN\r\n"
BUDGETS = "cost_center;year;period;index;amount;currency;policy;name;owner_email\n" \
          "IT;2031;year;;250 000,00;PLN;block;IT 2031;\n"


def _count(model, *where) -> int:
    with system(db.session):
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _post_csv(client: ApiClient, path: str, body: str, **kwargs):
    return client.post(path, data=body.encode(), headers={"Content-Type": "text/csv"}, **kwargs)


def test_a_catalog_import_reports_like_the_page_and_is_idempotent(app, world, api):
    admin = api("admin@acme.example")
    report = _post_csv(admin, "/imports/catalog", CATALOG, status=200, key="cat-1")
    assert report == {"status": "imported", "created": 2, "updated": 0, "unchanged": 0,
                      "rejected": 0, "errors": []}
    again = _post_csv(admin, "/imports/catalog", CATALOG, status=200, key="cat-1")
    assert again == report and admin.last.headers["Idempotent-Replayed"] == "true"
    assert _count(Item, Item.sku.in_(["API-1", "API-2"])) == 2
    # Run again under a new key: the rows now update nothing (unchanged).
    assert _post_csv(admin, "/imports/catalog", CATALOG, status=200)["unchanged"] == 2


def test_a_catalog_import_with_bad_rows_saves_the_good_ones_and_reports_the_bad(app, world, api):
    report = _post_csv(api("admin@acme.example"), "/imports/catalog", CATALOG_WITH_BAD_ROWS, status=200)
    assert report["status"] == "partial" and report["created"] == 2 and report["rejected"] == 1
    error = report["errors"][0]
    assert error["row"] == 4 and error["key"] == "API-3" and error["messages"]
    assert _count(Item, Item.sku == "API-3") == 0


def test_a_catalog_import_as_a_multipart_upload(app, world, api):
    admin = api("admin@acme.example")
    report = admin.post("/imports/catalog", data={"file": (io.BytesIO(CATALOG.encode()), "items.csv")},
                        content_type="multipart/form-data", status=200)
    assert report["created"] == 2


def test_a_file_refused_whole_is_a_422_and_too_large_a_413(app, world, api):
    admin = api("admin@acme.example")
    problem = _post_csv(admin, "/imports/catalog", "colour,size\r\nred,XL\r\n", status=422)
    assert problem["errors"][0]["field"] == "file"
    app.config["CATALOG_IMPORT_MAX_BYTES"] = 50
    try:
        _post_csv(admin, "/imports/catalog", CATALOG, status=413)
    finally:
        del app.config["CATALOG_IMPORT_MAX_BYTES"]
    admin.post("/imports/catalog", json={"sku": "x"}, status=415)
    assert _count(Item, Item.sku.like("API-%")) == 0


def test_imports_need_the_scope_and_the_pages_role(app, world, api):
    _post_csv(api("admin@acme.example", scopes=["catalog:read"]), "/imports/catalog", CATALOG, status=403)
    _post_csv(api("buyer@acme.example"), "/imports/catalog", CATALOG, status=403)
    _post_csv(api("buyer@acme.example"), "/imports/budgets", BUDGETS, status=403)
    _post_csv(api("admin@acme.example"), "/imports/catalog", CATALOG, status=428, key=False)


def test_a_budget_import(app, world, api):
    admin = api("admin@acme.example")
    report = _post_csv(admin, "/imports/budgets", BUDGETS, status=200)
    assert report["created"] == 1 and report["status"] == "imported"
    bad = _post_csv(admin, "/imports/budgets", BUDGETS.replace("IT;2031", "NOPE;2031"), status=200)
    assert bad["status"] == "nothing" and bad["errors"][0]["row"] == 2
    assert "NOPE" in bad["errors"][0]["messages"][0]
    assert _count(Budget, Budget.name == "IT 2031") == 1


def _link_id(world) -> int:
    from portal.models import SupplierLink

    with system(db.session):
        return db.session.scalars(select(SupplierLink.id).where(
            SupplierLink.organization_id == world.orgs["acme"].id,
            SupplierLink.supplier_id == world.orgs["nordwind"].id)).one()


def _an_acme_sku(world) -> str:
    with system(db.session):
        return db.session.scalars(select(Item.sku).where(
            Item.organization_id == world.orgs["acme"].id, Item.is_active.is_(True)).order_by(Item.id)).first()


def test_a_price_list_is_proposed_all_or_nothing(app, world, api):
    supplier = api("sales@nordwind.example")
    link_id, sku = _link_id(world), _an_acme_sku(world)
    good = f"sku,unit_price,currency,valid_from\r\n{sku},99.50,PLN,2031-01-01\r\n"
    bad = good + "NO-SUCH-SKU,10.00,PLN,2031-01-01\r\n"
    problem = _post_csv(supplier, f"/imports/agreements?customer_id={link_id}", bad, status=422)
    assert {"row": 3, "column": "sku"}.items() <= problem["errors"][0].items()
    assert _count(PriceProposal) == 0
    made = _post_csv(supplier, f"/imports/agreements?customer_id={link_id}&note=2031", good,
                     status=201, key="prices-1")
    assert made["lines"] == 1 and made["status"] == "open"
    _post_csv(supplier, f"/imports/agreements?customer_id={link_id}&note=2031", good,
              status=201, key="prices-1")
    assert _count(PriceProposal) == 1
    # Another organisation's link, or a buyer: nothing.
    _post_csv(supplier, f"/imports/agreements?customer_id={link_id + 10_000}", good, status=404)
    _post_csv(api("admin@acme.example"), f"/imports/agreements?customer_id={link_id}", good, status=403)
