"""Cost-centre admin pages over HTTP."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import AuditEvent, CostCenter
from tests.conftest import as_system


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


def cost_center(org, code: str) -> CostCenter | None:
    db.session.expire_all()
    with as_system():
        return db.session.scalars(select(CostCenter).where(
            CostCenter.organization_id == org.id, CostCenter.code == code)).first()


def count() -> int:
    with as_system():
        return db.session.scalar(select(func.count(CostCenter.id)))


def actions(cc: CostCenter) -> list[str]:
    with as_system():
        return list(db.session.scalars(select(AuditEvent.action).where(
            AuditEvent.object_type == "CostCenter", AuditEvent.object_id == cc.id
        ).order_by(AuditEvent.id)))


def test_admin_sees_the_cost_centres_with_their_managers(world, admin):
    page = admin.get("/cost-centers/").text
    for text in ("ADM", "Administracja", "Dział IT", "Logistyka", "Damian Zieliński",
                 "Ewa Lewandowska"):
        assert text in page


@pytest.mark.parametrize("email", ["buyer@acme", "approver@acme", "cfo@acme", "sales@nordwind"])
def test_only_buyer_admins_manage_cost_centres(world, login_as, email):
    c = login_as(world.user(email))
    adm = cost_center(world.acme, "ADM")
    # Acme's cost centre is another organisation's for the supplier: 404 before the role check.
    named = 404 if email.startswith("sales@") else 403
    for url in ("/cost-centers/", "/cost-centers/new", f"/cost-centers/{adm.id}/edit"):
        assert c.get(url).status_code == (named if str(adm.id) in url else 403), url
    for url in ("/cost-centers/new", f"/cost-centers/{adm.id}/edit",
                f"/cost-centers/{adm.id}/deactivate", f"/cost-centers/{adm.id}/reactivate"):
        expected = named if str(adm.id) in url else 403
        assert c.post(url, data={"code": "X", "name": "Y"}).status_code == expected, url
    assert cost_center(world.acme, "ADM").is_active and cost_center(world.acme, "X") is None


def test_the_supplier_admin_is_refused_too(world, login_as):
    assert login_as(world.user("sales@polbud")).get("/cost-centers/").status_code == 403


def test_another_companys_cost_centre_is_not_found(world, login_as):
    c = login_as(world.user("admin@globex"))
    adm = cost_center(world.acme, "ADM")
    assert c.get(f"/cost-centers/{adm.id}/edit").status_code == 404
    assert c.post(f"/cost-centers/{adm.id}/edit",
                  data={"code": "ADM", "name": "Hacked"}).status_code == 404
    assert c.post(f"/cost-centers/{adm.id}/deactivate").status_code == 404
    assert cost_center(world.acme, "ADM").name == "Administracja"
    page = c.get("/cost-centers/").text
    assert "Warehouse" in page and "Administracja" not in page


def test_admin_adds_a_cost_centre(world, admin):
    approver = world.user("approver@acme")
    form = admin.get("/cost-centers/new").text
    assert "Damian Zieliński" in form and "Nikolay Dimitrov" not in form  # Acme's people only
    response = admin.post("/cost-centers/new", data={"code": "hr", "name": "Kadry",
                                                     "manager_id": str(approver.id)})
    assert response.status_code == 302
    hr = cost_center(world.acme, "HR")
    assert (hr.name, hr.manager_id, hr.is_active) == ("Kadry", approver.id, True)
    assert actions(hr) == ["cost_center.created"]
    assert "Kadry" in admin.get(response.headers["Location"]).text


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"code": "adm", "name": "Druga administracja"},
         "Another cost centre already has the code ADM."),
        ({"code": "", "name": "Bez kodu"}, "This field is required."),
        ({"code": "A B", "name": "Spacja"}, "Use letters, digits, dots, dashes and underscores"),
        ({"code": "QA", "name": ""}, "This field is required."),
        ({"code": "QA", "name": "Jakość", "manager_id": "999999"}, "Not a valid choice."),
    ],
)
def test_invalid_cost_centres_are_refused_with_422(world, admin, data, message):
    before = count()
    response = admin.post("/cost-centers/new", data=data)
    assert response.status_code == 422
    assert message in response.text
    assert count() == before


def test_a_manager_from_another_company_cannot_be_chosen(world, admin):
    response = admin.post("/cost-centers/new", data={
        "code": "QA", "name": "Jakość", "manager_id": str(world.user("approver@globex").id)})
    assert response.status_code == 422
    assert cost_center(world.acme, "QA") is None


def test_admin_edits_deactivates_and_reactivates(world, admin):
    log = cost_center(world.acme, "LOG")
    cfo = world.user("cfo@acme")
    page = admin.get(f"/cost-centers/{log.id}/edit").text
    assert 'value="LOG"' in page and "Logistyka" in page
    response = admin.post(f"/cost-centers/{log.id}/edit", data={
        "code": "LOG", "name": "Logistyka i magazyn", "manager_id": str(cfo.id)})
    assert response.status_code == 302
    log = cost_center(world.acme, "LOG")
    assert (log.name, log.manager_id) == ("Logistyka i magazyn", cfo.id)
    duplicate = admin.post(f"/cost-centers/{log.id}/edit", data={"code": "IT", "name": "X"})
    assert duplicate.status_code == 422
    assert admin.post(f"/cost-centers/{log.id}/deactivate").status_code == 302
    assert not cost_center(world.acme, "LOG").is_active
    assert admin.post(f"/cost-centers/{log.id}/deactivate").status_code == 403
    listing = admin.get("/cost-centers/").text
    assert "Reactivate" in listing
    assert admin.post(f"/cost-centers/{log.id}/reactivate").status_code == 302
    assert cost_center(world.acme, "LOG").is_active
    assert actions(log) == ["cost_center.created", "cost_center.updated",
                            "cost_center.deactivated", "cost_center.reactivated"]
