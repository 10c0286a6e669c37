"""Catalog pages over HTTP: browse and search (htmx), item and category admin, CSV import."""

from __future__ import annotations

import re
from contextlib import contextmanager
from decimal import Decimal
from io import BytesIO

import pytest
from sqlalchemy import event, func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from portal.extensions import db
from portal.models import AuditEvent, Category, Item, Organization, OrgKind
from portal.services import catalog
from portal.services.catalog import ItemFields
from tests.conftest import as_system, csrf_token_from

HTMX = {"HX-Request": "true"}
HEADER = "sku;name;description;unit;category_code;vat_rate;list_price;currency;preferred_supplier_tax_id"


def item(sku: str) -> Item | None:
    db.session.expire_all()
    with as_system():
        return db.session.scalars(select(Item).where(Item.sku == sku)).first()


def acme_item(world, sku: str) -> Item:
    found = item(sku)
    assert found.organization_id == world.acme.id
    return found


def acme_category(world, code: str) -> Category:
    db.session.expire_all()
    with as_system():
        return db.session.scalars(select(Category).where(
            Category.organization_id == world.acme.id, Category.code == code)).one()


def count_items() -> int:
    with as_system():
        return db.session.scalar(select(func.count(Item.id)))


def skus_in(html: str) -> list[str]:
    return re.findall(r'class="sku">([^<]+)</a>', html)


def item_form(world, **overrides) -> dict:
    data = {
        "sku": "BIU-ZSZYW",
        "name": "Zszywacz biurowy do 30 kartek",
        "description": "Metalowy",
        "unit": "pcs",
        "category_id": str(acme_category(world, "OFFICE").id),
        "default_vat_rate": "23",
        "list_price": "24,90",
        "currency": "PLN",
        "preferred_supplier_id": str(world.polbud.id),
        "is_active": "y",
    }
    data.update(overrides)
    return data


@pytest.fixture(autouse=True)
def english(world):
    """Acme's people read Polish; these tests check the English texts."""
    with as_system():
        for user in world.users.values():
            user.locale = "en"
        db.session.commit()


@pytest.fixture
def admin(world, login_as):
    return login_as(world.user("admin@acme"))


@pytest.fixture
def buyer(world, login_as):
    return login_as(world.user("buyer@acme"))


# --- access ------------------------------------------------------------------------------------


def test_everyone_in_a_buying_company_browses_the_catalog(world, login_as):
    for email in ("buyer@acme", "approver@acme", "admin@acme"):
        response = login_as(world.user(email)).get("/catalog/")
        assert response.status_code == 200, email
        assert "BIU-KRZ-ERG" in response.text
        assert ('data-testid="new-item"' in response.text) == (email == "admin@acme")


def test_the_nav_links_the_catalog_and_cost_centres_for_the_right_people(world, login_as):
    buyer_page = login_as(world.user("buyer@acme")).get("/").text
    admin_page = login_as(world.user("admin@acme")).get("/").text
    supplier_page = login_as(world.user("sales@nordwind")).get("/").text
    assert 'href="/catalog/"' in buyer_page and 'href="/cost-centers/"' not in buyer_page
    assert 'href="/catalog/"' in admin_page and 'href="/cost-centers/"' in admin_page
    assert 'href="/catalog/"' not in supplier_page


def test_anonymous_visitors_are_sent_to_sign_in(client, world):
    response = client.get("/catalog/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("email", ["buyer@acme", "approver@acme", "sales@nordwind"])
def test_only_admins_manage_the_catalog(world, login_as, email):
    c = login_as(world.user(email))
    some = acme_item(world, "BIU-PAP-A4")
    office = acme_category(world, "OFFICE")
    gets = ["/catalog/new", f"/catalog/{some.id}/edit", "/catalog/import",
            "/catalog/import/sample.csv", "/catalog/categories", "/catalog/categories/new",
            f"/catalog/categories/{office.id}/edit"]
    posts = ["/catalog/new", f"/catalog/{some.id}/edit", f"/catalog/{some.id}/deactivate",
             f"/catalog/{some.id}/reactivate", "/catalog/import", "/catalog/categories/new",
             f"/catalog/categories/{office.id}/deactivate"]
    # A supplier is refused Acme's objects as not found (404 before any role check).
    foreign = 404 if email.startswith("sales@") else 403

    def expected(url):
        return foreign if str(some.id) in url or str(office.id) in url.split("categories/")[-1] else 403

    for url in gets:
        assert c.get(url).status_code == expected(url), url
    for url in posts:
        assert c.post(url, data=item_form(world)).status_code == expected(url), url
    assert item("BIU-ZSZYW") is None and acme_item(world, "BIU-PAP-A4").is_active


def test_suppliers_never_see_a_buyers_catalog(world, login_as):
    c = login_as(world.user("sales@polbud"))
    assert c.get("/catalog/").status_code == 403
    assert c.get(f"/catalog/{acme_item(world, 'BIU-PAP-A4').id}").status_code == 404
    assert c.get("/catalog/?q=krzes", headers=HTMX).status_code == 403


def test_another_companys_items_and_categories_are_not_found(world, login_as):
    c = login_as(world.user("admin@globex"))
    some = acme_item(world, "BIU-PAP-A4")
    office = acme_category(world, "OFFICE")
    assert c.get(f"/catalog/{some.id}").status_code == 404
    assert c.get(f"/catalog/{some.id}/edit").status_code == 404
    assert c.post(f"/catalog/{some.id}/edit", data=item_form(world)).status_code == 404
    assert c.post(f"/catalog/{some.id}/deactivate").status_code == 404
    assert c.get(f"/catalog/categories/{office.id}/edit").status_code == 404
    assert c.post(f"/catalog/categories/{office.id}/deactivate").status_code == 404
    assert acme_item(world, "BIU-PAP-A4").is_active
    listing = c.get("/catalog/?status=all").text
    assert "BIU-PAP-A4" not in listing and "GX-PAPER-A4" in listing


# --- list and search ---------------------------------------------------------------------------


def test_htmx_search_returns_only_the_results_block(world, buyer):
    response = buyer.get("/catalog/?q=krzesło", headers=HTMX)
    assert response.status_code == 200
    assert "<html" not in response.text
    assert response.text.lstrip().startswith('<div id="results">')
    assert skus_in(response.text) == ["BIU-KRZ-ERG"]  # the inactive chair is not offered
    assert "HX-Request" in response.headers["Vary"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [("it-lap", ["IT-LAP-14", "IT-LAP-16"]), ("KRZESŁO", ["BIU-KRZ-ERG"]),
     ("krzeslo", ["BIU-KRZ-ERG"]), ("łożysko", ["MRO-LOZ-6204", "MRO-SMAR-LT43"]),
     ("nothing-like-this", [])],
)
def test_search_by_sku_prefix_or_name(world, buyer, query, expected):
    response = buyer.get("/catalog/", query_string={"q": query}, headers=HTMX)
    assert sorted(skus_in(response.text)) == expected
    if not expected:
        assert "No items match" in response.text


def test_a_full_load_renders_the_whole_page_with_the_search_box(world, buyer):
    response = buyer.get("/catalog/?q=krzesło")
    assert "<html" in response.text
    assert 'hx-trigger="keyup changed delay:300ms, search"' in response.text
    assert 'value="krzesło"' in response.text
    assert skus_in(response.text) == ["BIU-KRZ-ERG"]
    # The back button (htmx history restore) needs the whole page too.
    restore = buyer.get("/catalog/?q=krzesło", headers={**HTMX, "HX-History-Restore-Request": "true"})
    assert "<html" in restore.text


def test_category_and_status_filters(world, admin, buyer):
    it = acme_category(world, "IT")
    listing = admin.get(f"/catalog/?category={it.id}&status=all", headers=HTMX).text
    assert len(skus_in(listing)) == 14 and "IT-MON-24" in listing
    inactive = admin.get("/catalog/?status=inactive", headers=HTMX).text
    assert skus_in(inactive) == ["BIU-KRZ-KONF", "IT-MON-24"]
    # Buyers see what they may order, whatever the URL says.
    assert "IT-MON-24" not in buyer.get("/catalog/?status=inactive").text


def test_pagination_keeps_the_filters(world, admin):
    first = admin.get("/catalog/?q=a&status=all").text
    assert len(skus_in(first)) == 25
    next_url = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    assert "q=a" in next_url and "status=all" in next_url and "cursor=" in next_url
    second = admin.get(next_url, headers=HTMX).text
    assert "<html" not in second
    assert len(skus_in(second)) >= 1 and not set(skus_in(second)) & set(skus_in(first))
    assert skus_in(first) + skus_in(second) == sorted(skus_in(first) + skus_in(second))
    # An old page-number link is the first page, as on the requisition lists.
    assert skus_in(admin.get("/catalog/?q=a&status=all&page=999").text) == skus_in(first)


@contextmanager
def counting_queries():
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def test_the_list_page_runs_the_same_number_of_queries_for_5_or_40_items(app, world, admin):
    def add(numbers):
        # A category and a supplier of its own per item: a lazy load per row would show.
        with as_system():
            for n in numbers:
                category = catalog.create_category(world.acme, code=f"QQ{n}", name=f"Kat {n}",
                                                   actor=None)
                supplier = Organization(kind=OrgKind.SUPPLIER, name=f"Dostawca {n}",
                                        legal_name=f"Dostawca {n} sp. z o.o.", tax_id=f"QQ{n}",
                                        country="PL", currency="PLN")
                db.session.add(supplier)
                db.session.flush()
                catalog.insert_item(world.acme, ItemFields(
                    sku=f"QQ-{n:03d}", name=f"Pozycja testowa {n}", category_id=category.id,
                    preferred_supplier_id=supplier.id, list_price=Decimal("1.50"),
                ), actor=None)
            db.session.commit()

    add(range(5))
    app.config["PAGE_SIZE"] = 50
    try:
        with counting_queries() as few:
            page = admin.get("/catalog/?q=qq-").text
        assert len(skus_in(page)) == 5
        add(range(5, 40))
        with counting_queries() as many:
            page = admin.get("/catalog/?q=qq-").text
        assert len(skus_in(page)) == 40
    finally:
        app.config["PAGE_SIZE"] = 25
    assert len(many) == len(few), many


# --- item admin ---------------------------------------------------------------------------------


def test_admin_adds_an_item(world, admin):
    form_page = admin.get("/catalog/new").text
    assert 'name="list_price"' in form_page and "Polbud" in form_page
    assert 'option selected value="PLN"' in form_page or 'value="PLN" selected' in form_page
    response = admin.post("/catalog/new", data=item_form(world))
    assert response.status_code == 302
    new = item("BIU-ZSZYW")
    assert response.headers["Location"].endswith(f"/catalog/{new.id}")
    assert (new.organization_id, new.list_price, new.default_vat_rate, new.currency) == (
        world.acme.id, Decimal("24.9000"), Decimal("23.00"), "PLN")
    assert new.preferred_supplier_id == world.polbud.id
    detail = admin.get(response.headers["Location"]).text
    assert "Zszywacz biurowy do 30 kartek" in detail and "added the catalog item" in detail


def test_the_supplier_select_offers_only_active_linked_suppliers(world, login_as):
    page = login_as(world.user("admin@globex")).get("/catalog/new").text
    assert "Nordwind Supplies" in page and "Polbud" not in page


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"sku": "biu-pap-a4"}, "Another item already has the SKU biu-pap-a4."),
        ({"name": ""}, "This field is required."),
        ({"list_price": "-5"}, "The price cannot be negative."),
        ({"list_price": "12,34567"}, "A price has at most 4 decimal places."),
        ({"list_price": "12 zł"}, "is not a price; write e.g. 12.50 or 12,50."),
        ({"list_price": "1e3"}, "is not a price"),
        ({"default_vat_rate": "7"}, "Not a valid choice."),
        ({"unit": "bucket"}, "Not a valid choice."),
        ({"currency": "XXX"}, "Choose a currency from the list."),
        ({"sku": "A B"}, "A SKU cannot contain spaces"),
    ],
)
def test_invalid_items_are_refused_with_422_and_nothing_saved(world, admin, overrides, message):
    before = count_items()
    response = admin.post("/catalog/new", data=item_form(world, **overrides))
    assert response.status_code == 422
    assert message in response.text
    assert 'aria-invalid="true"' in response.text
    assert count_items() == before


def test_another_companys_category_cannot_be_chosen(world, admin):
    with as_system():
        globex_it = db.session.scalars(select(Category).where(
            Category.organization_id == world.globex.id, Category.code == "IT")).one()
    response = admin.post("/catalog/new", data=item_form(world, category_id=str(globex_it.id)))
    assert response.status_code == 422
    assert item("BIU-ZSZYW") is None


def test_admin_edits_an_item(world, admin):
    paper = acme_item(world, "BIU-PAP-A4")
    page = admin.get(f"/catalog/{paper.id}/edit").text
    assert 'value="18.90"' in page and 'value="BIU-PAP-A4"' in page
    response = admin.post(f"/catalog/{paper.id}/edit", data=item_form(
        world, sku="BIU-PAP-A4", name="Papier A4 premium", list_price="21.5",
        category_id=str(paper.category_id), preferred_supplier_id="", unit="ream"))
    assert response.status_code == 302
    paper = acme_item(world, "BIU-PAP-A4")
    assert (paper.name, paper.list_price, paper.preferred_supplier_id) == (
        "Papier A4 premium", Decimal("21.5000"), None)
    with as_system():
        [updated] = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "item.updated", AuditEvent.object_id == paper.id)).all()
    assert set(updated.summary["changes"]) == {"name", "description", "list_price"}


def test_edit_keeps_the_sku_unique(world, admin):
    paper = acme_item(world, "BIU-PAP-A4")
    response = admin.post(f"/catalog/{paper.id}/edit", data=item_form(world, sku="IT-LAP-14"))
    assert response.status_code == 422
    assert "Another item already has the SKU IT-LAP-14." in response.text
    assert acme_item(world, "BIU-PAP-A4").name != "Zszywacz biurowy do 30 kartek"


def test_deactivate_and_reactivate_an_item(world, admin, buyer):
    mouse = acme_item(world, "IT-MYS-BT")
    assert "Deactivate" in admin.get(f"/catalog/{mouse.id}").text
    assert "Deactivate" not in buyer.get(f"/catalog/{mouse.id}").text
    response = admin.post(f"/catalog/{mouse.id}/deactivate")
    assert response.status_code == 302
    assert not acme_item(world, "IT-MYS-BT").is_active
    page = admin.get(f"/catalog/{mouse.id}").text
    assert "Reactivate" in page and "deactivated the catalog item" in page
    assert "IT-MYS-BT" not in buyer.get("/catalog/?q=mysz").text
    assert admin.post(f"/catalog/{mouse.id}/deactivate").status_code == 403
    assert admin.post(f"/catalog/{mouse.id}/reactivate").status_code == 302
    assert acme_item(world, "IT-MYS-BT").is_active


def test_deactivate_needs_the_csrf_token(app, world, admin):
    mouse = acme_item(world, "IT-MYS-BT")
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        assert admin.post(f"/catalog/{mouse.id}/deactivate").status_code == 400
        token = csrf_token_from(admin.get(f"/catalog/{mouse.id}").text)
        response = admin.post(f"/catalog/{mouse.id}/deactivate", data={"csrf_token": token})
        assert response.status_code == 302
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert not acme_item(world, "IT-MYS-BT").is_active


# --- categories ---------------------------------------------------------------------------------


def test_category_admin(world, admin):
    assert "Materiały biurowe" in admin.get("/catalog/categories").text
    assert admin.post("/catalog/categories/new", data={"code": "chem", "name": "Chemia"}
                      ).status_code == 302
    chem = acme_category(world, "CHEM")
    duplicate = admin.post("/catalog/categories/new", data={"code": "CHEM", "name": "Inna"})
    assert duplicate.status_code == 422
    assert "Another category already has the code CHEM." in duplicate.text
    assert admin.post(f"/catalog/categories/{chem.id}/edit",
                      data={"code": "CHEM", "name": "Chemia techniczna"}).status_code == 302
    assert acme_category(world, "CHEM").name == "Chemia techniczna"
    assert admin.post(f"/catalog/categories/{chem.id}/deactivate").status_code == 302
    assert not acme_category(world, "CHEM").is_active
    # An inactive category is not offered for new items.
    assert "Chemia techniczna" not in admin.get("/catalog/new").text
    assert admin.post(f"/catalog/categories/{chem.id}/reactivate").status_code == 302
    assert "Chemia techniczna" in admin.get("/catalog/new").text


# --- CSV import ---------------------------------------------------------------------------------


def upload(client, data: bytes, filename: str = "katalog.csv"):
    # Encoded in memory: the test client would spool a large body to a temporary file that it
    # never closes (a ResourceWarning, fatal under filterwarnings=error).
    boundary, body = encode_multipart({"file": FileStorage(BytesIO(data), filename)})
    return client.post("/catalog/import", data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")


def test_import_page_documents_the_format(world, admin):
    page = admin.get("/catalog/import").text
    for column in ("sku", "name", "category_code", "vat_rate", "list_price",
                   "preferred_supplier_tax_id"):
        assert f"<code>{column}</code>" in page
    assert 'href="/catalog/import/sample.csv"' in page
    sample = admin.get("/catalog/import/sample.csv")
    assert sample.status_code == 200 and sample.mimetype == "text/csv"
    assert sample.data.startswith("\ufeffsku;name;".encode())  # Acme is Polish: semicolons
    assert "18,90" in sample.data.decode("utf-8-sig")


def test_import_with_semicolons_decimal_commas_bom_and_bad_rows(world, admin):
    data = ("\ufeff" + "\r\n".join([
        HEADER,
        "NEW-1;Taśma pakowa 48 mm;;szt.;PROD;23;7,90;;5270391800",
        "BIU-PAP-A4;Papier ksero A4 80 g/m²;;;;;19,20;;",
        "NEW-2;;;;;;;;",
        "NEW-3;Klej;;;NOPE;;;;",
        "NEW-4;Rękawice;;;MRO;7;-1;;",
        "NEW-1;Duplikat;;;;;;;",
    ]) + "\r\n").encode("utf-8")
    response = upload(admin, data)
    assert response.status_code == 200
    html = response.text
    assert re.search(r'data-testid="created">1<', html)
    assert re.search(r'data-testid="updated">1<', html)
    assert re.search(r'data-testid="rejected">4<', html)
    table = html[html.index('data-testid="import-errors"'):]
    assert re.findall(r'<td class="num">(\d+)</td>', table) == ["4", "5", "6", "7"]
    for reason in ("The name is missing.", "Unknown category NOPE.",
                   "VAT rate “7” is not one of 23, 8, 5 or 0.", "The price cannot be negative.",
                   "SKU NEW-1 already appears on row 2 of this file."):
        assert reason in table
    assert item("NEW-1").list_price == Decimal("7.9000")
    assert item("BIU-PAP-A4").list_price == Decimal("19.2000")
    assert item("NEW-2") is None and item("NEW-3") is None and item("NEW-4") is None


def test_a_comma_file_without_bom_imports_too(world, admin):
    response = upload(admin, b"sku,name,list_price\nNEW-9,Linijka 30 cm,3.49\n")
    assert re.search(r'data-testid="created">1<', response.text)
    assert item("NEW-9").list_price == Decimal("3.4900")


def test_a_file_over_the_size_limit_is_refused(world, admin):
    data = (HEADER + "\r\n").encode() + b"X" * (2 * 1024 * 1024)
    response = upload(admin, data)
    assert response.status_code == 422
    assert "The file is larger than 2 MB" in response.text
    with as_system():
        assert db.session.scalar(select(func.count(AuditEvent.id)).where(
            AuditEvent.action == "catalog.imported")) == 0


def test_too_many_rows_are_refused(app, world, admin):
    app.config["CATALOG_IMPORT_MAX_ROWS"] = 3
    try:
        rows = [f"R-{n};Pozycja {n};;;;;;;" for n in range(4)]
        response = upload(admin, "\n".join([HEADER, *rows]).encode())
    finally:
        del app.config["CATALOG_IMPORT_MAX_ROWS"]
    assert response.status_code == 422
    assert "The file has more than 3 rows." in response.text
    assert item("R-0") is None


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"PK\x03\x04...", "katalog.xlsx", "Upload a .csv file"),
        (b"PK\x03\x04...", "katalog.csv", "spreadsheet workbook, not a CSV file"),
        ("sku;name\nA;Krzesło\n".encode("cp1250"), "katalog.csv", "not UTF-8"),
        (b"nazwa;cena\nA;1\n", "katalog.csv", "Unknown column(s): nazwa, cena."),
    ],
)
def test_files_that_are_not_catalog_csv_are_refused(world, admin, data, filename, message):
    before = count_items()
    response = upload(admin, data, filename)
    assert response.status_code == 422
    assert message in response.text
    assert count_items() == before


def test_import_without_a_file(world, admin):
    response = admin.post("/catalog/import", data={}, content_type="multipart/form-data")
    assert response.status_code == 422 and "Choose a file." in response.text
