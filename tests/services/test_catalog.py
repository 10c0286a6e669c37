"""Catalog, category, cost-centre and CSV-import services."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from portal.domain import catalog as rules
from portal.errors import InvalidTransition, ValidationProblem
from portal.extensions import db
from portal.models import AuditEvent, Category, CostCenter, Item, LinkStatus, SupplierLink
from portal.services import catalog, catalog_import, cost_centers, users
from portal.services.catalog import FieldProblem, ItemFields
from portal.services.catalog_import import import_items_csv
from portal.services.demo import seed_demo
from tests.conftest import as_org, as_system

D = Decimal
HEADER = "sku;name;description;unit;category_code;vat_rate;list_price;currency;preferred_supplier_tax_id"


def csv_file(*rows: str) -> bytes:
    return ("\ufeff" + "\r\n".join([HEADER, *rows]) + "\r\n").encode("utf-8")


def item_by_sku(sku: str) -> Item | None:
    db.session.expire_all()
    return db.session.scalars(select(Item).where(Item.sku == sku)).first()


def events(action: str, obj=None) -> list[AuditEvent]:
    stmt = select(AuditEvent).where(AuditEvent.action == action)
    if obj is not None:
        stmt = stmt.where(AuditEvent.object_type == type(obj).__name__,
                          AuditEvent.object_id == obj.id)
    return list(db.session.scalars(stmt))


def category(code: str) -> Category:
    return db.session.scalars(select(Category).where(Category.code == code)).one()


@pytest.fixture
def acme(world):
    """Acme's session scope and its admin."""
    with as_org(world.acme):
        yield world.user("admin@acme")


# --- demo catalog -------------------------------------------------------------------------------


def test_demo_catalog_is_complete_valid_and_idempotent(world):
    with as_system():
        counts = {org: db.session.scalar(select(func.count(Item.id)).where(
            Item.organization_id == world.orgs[org].id)) for org in ("acme", "globex")}
        assert counts["acme"] >= 50 and counts["globex"] >= 12
        seed_demo()
        db.session.flush()
        again = {org: db.session.scalar(select(func.count(Item.id)).where(
            Item.organization_id == world.orgs[org].id)) for org in ("acme", "globex")}
        assert again == counts
        assert db.session.scalar(select(func.count(CostCenter.id))) == 7
        items = list(db.session.scalars(select(Item)))
    assert all(item.unit in rules.UNIT_CODES for item in items)
    assert all(item.default_vat_rate in rules.VAT_RATES for item in items)
    assert all(rules.check_sku(item.sku) is None for item in items)
    acme_items = [i for i in items if i.organization_id == world.acme.id]
    assert sum(not i.is_active for i in acme_items) == 2
    assert {i.preferred_supplier_id for i in acme_items} >= {world.polbud.id, world.nordwind.id}
    assert {i.currency for i in acme_items} == {"PLN"}
    assert {i.currency for i in items if i.organization_id == world.globex.id} == {"EUR"}


def test_demo_cost_centres_are_mostly_managed_by_the_approver(world):
    with as_org(world.acme):
        managers = {cc.code: cc.manager.email for cc in cost_centers.active_cost_centers()}
    assert list(managers).count("ADM") == 1
    assert sum(email == "approver@acme.example" for email in managers.values()) >= 3


# --- items --------------------------------------------------------------------------------------


def test_create_item_records_an_event(world, acme):
    office = category("OFFICE")
    item = catalog.create_item(world.acme, ItemFields(
        sku=" NEW-1 ", name="  Zszywacz   biurowy ", unit="pcs", category_id=office.id,
        default_vat_rate=D("8"), list_price=D("24.9"), currency="PLN",
        preferred_supplier_id=world.polbud.id,
    ), actor=acme)
    assert (item.sku, item.name, item.organization_id) == ("NEW-1", "Zszywacz biurowy", world.acme.id)
    assert item.name_search == "zszywacz biurowy"
    [event] = events("item.created", item)
    assert event.actor_id == acme.id


def test_sku_is_unique_per_company_ignoring_case(world, acme):
    with pytest.raises(FieldProblem) as caught:
        catalog.create_item(world.acme, ItemFields(sku="biu-pap-a4", name="Kopia"), actor=acme)
    assert caught.value.field == "sku"
    assert str(caught.value.message) == "Another item already has the SKU biu-pap-a4."
    # Another company may use the same SKU.
    with as_org(world.globex):
        item = catalog.create_item(world.globex, ItemFields(sku="BIU-PAP-A4", name="Paper",
                                                            currency="EUR"),
                                   actor=world.user("admin@globex"))
    assert item.organization_id == world.globex.id


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "  "}, "name"),
        ({"unit": "bucket"}, "unit"),
        ({"default_vat_rate": D("7")}, "default_vat_rate"),
        ({"list_price": D("-1")}, "list_price"),
        ({"list_price": D("1.00001")}, "list_price"),
        ({"currency": "XXX"}, "currency"),
        ({"sku": "A B"}, "sku"),
    ],
)
def test_invalid_item_fields_are_refused(world, acme, changes, field):
    data = ItemFields(sku="X-1", name="Rzecz")
    for key, value in changes.items():
        setattr(data, key, value)
    with pytest.raises(FieldProblem) as caught:
        catalog.create_item(world.acme, data, actor=acme)
    assert caught.value.field == field
    assert item_by_sku("X-1") is None


def test_category_and_supplier_must_be_the_companys_and_active(world, acme):
    with as_org(world.globex):
        globex_it = category("IT")
    with pytest.raises(FieldProblem) as caught:
        catalog.create_item(world.acme, ItemFields(sku="X-1", name="Rzecz",
                                                   category_id=globex_it.id), actor=acme)
    assert caught.value.field == "category_id"
    catalog.deactivate_category(category("SERV"), actor=acme)
    with pytest.raises(FieldProblem):
        catalog.create_item(world.acme, ItemFields(sku="X-1", name="Rzecz",
                                                   category_id=category("SERV").id), actor=acme)
    # An item keeps its since-deactivated category when edited.
    serwis = item_by_sku("SRV-SERWIS-H")
    data = ItemFields(sku=serwis.sku, name="Serwis maszyn", category_id=serwis.category_id,
                      list_price=serwis.list_price)
    catalog.update_item(serwis, data, actor=acme)
    assert serwis.name == "Serwis maszyn"

    # Polbud is not Globex's supplier.
    with as_org(world.globex), pytest.raises(FieldProblem) as caught:
        catalog.create_item(world.globex, ItemFields(
            sku="X-2", name="Thing", currency="EUR", preferred_supplier_id=world.polbud.id,
        ), actor=world.user("admin@globex"))
    assert caught.value.field == "preferred_supplier_id"
    link = db.session.scalars(select(SupplierLink).where(
        SupplierLink.supplier_id == world.polbud.id)).one()
    link.status = LinkStatus.BLOCKED
    with pytest.raises(FieldProblem):
        catalog.create_item(world.acme, ItemFields(sku="X-3", name="Rzecz",
                                                   preferred_supplier_id=world.polbud.id),
                            actor=acme)
    assert [s.name for s in catalog.active_suppliers(world.acme)] == ["Nordwind Supplies"]


def test_update_records_the_changes_and_the_active_flag(world, acme):
    item = item_by_sku("BIU-PAP-A4")
    data = ItemFields(sku="BIU-PAP-A4", name=item.name, description=item.description,
                      unit=item.unit, category_id=item.category_id, default_vat_rate=D("23"),
                      list_price=D("19.50"), currency="PLN", is_active=False)
    catalog.update_item(item, data, actor=acme)
    [updated] = events("item.updated", item)
    assert updated.summary["changes"] == {"list_price": ["18.9000", "19.50"]}
    assert len(events("item.deactivated", item)) == 1
    assert item_by_sku("BIU-PAP-A4").is_active is False


def test_deactivate_and_reactivate(world, acme):
    item = item_by_sku("IT-MYS-BT")
    catalog.deactivate_item(item, actor=acme)
    with pytest.raises(InvalidTransition):
        catalog.deactivate_item(item, actor=acme)
    catalog.reactivate_item(item, actor=acme)
    with pytest.raises(InvalidTransition):
        catalog.reactivate_item(item, actor=acme)
    assert [e.action for e in catalog.item_events(item)] == [
        "item.created", "item.deactivated", "item.reactivated"]


# --- search -------------------------------------------------------------------------------------


def skus(found) -> list[str]:
    return [item.sku for item in found]


def test_search_by_sku_prefix_exact_first(world, acme):
    assert skus(catalog.search_items("it-lap")) == ["IT-LAP-14", "IT-LAP-16"]
    catalog.create_item(world.acme, ItemFields(sku="IT-LAP", name="Torba na laptopa"), actor=acme)
    assert skus(catalog.search_items("IT-LAP"))[0] == "IT-LAP"
    assert catalog.search_items("LAP-14") == []  # SKUs match from their beginning only


@pytest.mark.parametrize("query", ["krzesło", "KRZESŁO", "krzeslo", "Krzes"])
def test_search_by_name_ignores_case_and_accents(world, acme, query):
    assert skus(catalog.search_items(query)) == ["BIU-KRZ-ERG"]
    assert skus(catalog.search_items(query, active_only=False)) == ["BIU-KRZ-ERG", "BIU-KRZ-KONF"]


def test_search_with_non_ascii_capitals(world, acme):
    # Folded names sort alike on both databases: "łożysko…" before "smar…".
    assert skus(catalog.search_items("ŁOŻYSKO")) == ["MRO-LOZ-6204", "MRO-SMAR-LT43"]
    assert skus(catalog.search_items("ŁT-43")) == ["MRO-SMAR-LT43"]


def test_search_limits_escapes_and_stays_in_the_company(world, acme):
    assert len(catalog.search_items("a", limit=3)) == 3
    assert len(catalog.search_items("a", limit=0)) == 1
    assert catalog.search_items("a", limit=1000) == catalog.search_items("a", limit=50)
    assert catalog.search_items("   ") == []
    assert skus(catalog.search_items("%")) == ["BIU-MLEKO"]  # "Mleko UHT 3,2%": a literal %
    assert catalog.search_items("_") == []
    found = catalog.search_items("laptop")
    assert found and all(item.organization_id == world.acme.id for item in found)
    assert found[0].category is not None  # loaded with the item
    with as_org(world.globex):
        assert skus(catalog.search_items("laptop")) == ["GX-LAP-14"]


def test_list_items_filters_and_pages(world, acme):
    it = category("IT")
    page = catalog.list_items(category_id=it.id, per_page=5)
    assert page.total == 13 and len(page.items) == 5
    assert all(item.category_id == it.id and item.is_active for item in page.items)
    assert catalog.list_items(category_id=it.id, status="all").total == 14
    assert skus(catalog.list_items(status="inactive").items) == ["BIU-KRZ-KONF", "IT-MON-24"]
    assert skus(catalog.list_items(query="krzesło", status="all").items) == [
        "BIU-KRZ-ERG", "BIU-KRZ-KONF"]


# --- categories ---------------------------------------------------------------------------------


def test_categories_codes_are_upper_case_and_unique(world, acme):
    new = catalog.create_category(world.acme, code=" chem ", name="Chemia", actor=acme)
    assert new.code == "CHEM"
    with pytest.raises(FieldProblem) as caught:
        catalog.create_category(world.acme, code="Chem", name="Inna", actor=acme)
    assert caught.value.field == "code"
    with pytest.raises(FieldProblem):
        catalog.update_category(new, code="IT", name="Chemia", actor=acme)
    catalog.update_category(new, code="CHEM-1", name="Chemia przemysłowa", actor=acme)
    assert events("category.updated", new)[0].summary["changes"]["code"] == ["CHEM", "CHEM-1"]
    catalog.deactivate_category(new, actor=acme)
    with pytest.raises(InvalidTransition):
        catalog.deactivate_category(new, actor=acme)
    catalog.reactivate_category(new, actor=acme)
    assert [c.code for c in catalog.list_categories(active_only=True)] == [
        "CHEM-1", "IT", "MRO", "OFFICE", "PROD", "SERV"]


# --- cost centres -------------------------------------------------------------------------------


def test_cost_centre_lifecycle(world, acme):
    approver = world.user("approver@acme")
    cc = cost_centers.create_cost_center(world.acme, code="hr", name="Kadry",
                                         manager_id=approver.id, actor=acme)
    assert (cc.code, cc.manager_id) == ("HR", approver.id)
    with pytest.raises(FieldProblem) as caught:
        cost_centers.create_cost_center(world.acme, code="HR", name="Inne", manager_id=None,
                                        actor=acme)
    assert caught.value.field == "code"
    with pytest.raises(FieldProblem) as caught:  # a Globex user cannot manage Acme's money
        cost_centers.create_cost_center(world.acme, code="QA", name="Jakość",
                                        manager_id=world.user("approver@globex").id, actor=acme)
    assert caught.value.field == "manager_id"
    cost_centers.update_cost_center(cc, code="HR", name="Kadry i płace",
                                    manager_id=world.user("cfo@acme").id, actor=acme)
    [event] = events("cost_center.updated", cc)
    assert set(event.summary["changes"]) == {"name", "manager_id"}
    cost_centers.deactivate_cost_center(cc, actor=acme)
    with pytest.raises(InvalidTransition):
        cost_centers.deactivate_cost_center(cc, actor=acme)
    assert "HR" not in [c.code for c in cost_centers.active_cost_centers()]
    cost_centers.reactivate_cost_center(cc, actor=acme)
    assert [e.action for e in db.session.scalars(select(AuditEvent).where(
        AuditEvent.object_type == "CostCenter", AuditEvent.object_id == cc.id
    ).order_by(AuditEvent.id))] == ["cost_center.created", "cost_center.updated",
                                    "cost_center.deactivated", "cost_center.reactivated"]


def test_a_deactivated_manager_may_stay_but_not_be_chosen(world, acme):
    buyer2 = world.user("buyer2@acme")
    cc = cost_centers.create_cost_center(world.acme, code="QA", name="Jakość",
                                         manager_id=buyer2.id, actor=acme)
    users.deactivate(buyer2, actor=acme)
    cost_centers.update_cost_center(cc, code="QA", name="Kontrola jakości",
                                    manager_id=buyer2.id, actor=acme)
    with pytest.raises(FieldProblem):
        cost_centers.create_cost_center(world.acme, code="QA2", name="Jakość 2",
                                        manager_id=buyer2.id, actor=acme)
    assert buyer2 not in cost_centers.eligible_managers(world.acme)


# --- CSV import ---------------------------------------------------------------------------------


def test_import_creates_updates_and_reports_bad_rows(world, acme):
    data = csv_file(
        "NEW-1;Taśma pakowa brązowa 48 mm;;szt.;PROD;23;7,90;;5270391800",
        "biu-pap-a4;Papier ksero A4 80 g/m², ryza;;;;;19,20;;",
        "NEW-2;;;;;;;;",
        "NEW-3;Klej;;;NOPE;;;;",
        "IT-MYS-BT;Mysz;;;IT;23;-5;;",
        "NEW-4;Rękawice;;para;MRO;8;12,34567;;DE298765435",
        "NEW-5;Nieznany dostawca;;;;;1;;PL1234563218",
        "NEW-1;Duplikat;;;;;;;",
        "NEW-6;Lina;;mb;PROD;5;3;EUR;PL527-039-18-00",
    )
    mouse_before = item_by_sku("IT-MYS-BT").list_price
    report = import_items_csv(world.acme, data, actor=acme)
    assert (report.created, report.updated, report.unchanged, report.rejected) == (2, 1, 0, 6)
    assert [(e.row, e.sku) for e in report.errors] == [
        (4, "NEW-2"), (5, "NEW-3"), (6, "IT-MYS-BT"), (7, "NEW-4"), (8, "NEW-5"), (9, "NEW-1")]
    reasons = {e.sku: " ".join(str(m) for m in e.messages) for e in report.errors}
    assert reasons["NEW-2"] == "The name is missing."
    assert reasons["NEW-3"] == "Unknown category NOPE."
    assert reasons["IT-MYS-BT"] == "The price cannot be negative."
    assert reasons["NEW-4"] == "A price has at most 4 decimal places."
    assert reasons["NEW-5"] == "No active supplier of yours has the tax ID PL1234563218."

    tape = item_by_sku("NEW-1")
    assert (tape.unit, tape.list_price, tape.currency, tape.preferred_supplier_id) == (
        "pcs", D("7.9000"), "PLN", world.polbud.id)
    rope = item_by_sku("NEW-6")
    assert (rope.unit, rope.default_vat_rate, rope.currency, rope.preferred_supplier_id) == (
        "m", D("5.00"), "EUR", world.polbud.id)
    paper = item_by_sku("BIU-PAP-A4")
    assert paper.list_price == D("19.2000") and paper.unit == "ream"  # empty cells keep values
    assert item_by_sku("IT-MYS-BT").list_price == mouse_before
    for sku in ("NEW-2", "NEW-3", "NEW-4", "NEW-5"):
        assert item_by_sku(sku) is None
    [imported] = events("catalog.imported")
    assert imported.summary == {"created": 2, "updated": 1, "unchanged": 0, "rejected": 6}
    assert len([e for e in events("item.created") if e.summary.get("source") == "csv"]) == 2


def test_importing_the_same_file_twice_changes_nothing(world, acme):
    data = csv_file("NEW-1;Taśma;;;PROD;23;7,90;;")
    assert import_items_csv(world.acme, data, actor=acme).created == 1
    report = import_items_csv(world.acme, data, actor=acme)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 1)
    assert len(events("item.updated")) == 0


def test_a_row_failing_in_the_database_saves_nothing_of_itself(world, acme, monkeypatch):
    original = catalog_import.insert_item

    def flaky(org, fields, **kwargs):
        item = original(org, fields, **kwargs)
        if fields.sku == "BOOM":
            raise ValidationProblem("simulated failure after the row was written")
        return item

    monkeypatch.setattr(catalog_import, "insert_item", flaky)
    report = import_items_csv(world.acme, csv_file("OK-1;Jeden;;;;;;;", "BOOM;Dwa;;;;;;;",
                                                   "OK-2;Trzy;;;;;;;"), actor=acme)
    assert (report.created, report.rejected) == (2, 1)
    assert report.errors[0].row == 3
    db.session.commit()
    assert item_by_sku("BOOM") is None
    assert [e.summary["sku"] for e in events("item.created") if e.summary.get("source") == "csv"
            ] == ["OK-1", "OK-2"]


def test_the_import_is_one_transaction(world, acme):
    """Per-row savepoints nest in the import's transaction, on SQLite too: a rollback of the
    user action leaves nothing behind."""
    import_items_csv(world.acme, csv_file("OK-1;Jeden;;;;;;;", "OK-2;Dwa;;;;;;;"), actor=acme)
    db.session.rollback()
    assert item_by_sku("OK-1") is None and item_by_sku("OK-2") is None
    assert events("catalog.imported") == []


@pytest.mark.parametrize(
    ("data", "kwargs", "message"),
    [
        (csv_file("A;B;;;;;;;") + b" " * 100, {"max_bytes": 100}, "larger than 100 B"),
        (csv_file("A;B;;;;;;;", "C;D;;;;;;;"), {"max_rows": 1}, "more than 1 rows"),
        (b"name;price\nx;1\n", {}, "Unknown column"),
    ],
)
def test_whole_file_problems_write_nothing(world, acme, data, kwargs, message):
    with pytest.raises(ValidationProblem) as caught:
        import_items_csv(world.acme, data, actor=acme, **kwargs)
    assert message in str(caught.value.message)
    assert events("catalog.imported") == []
