"""The credit limit on the pages that issue orders: the award and the order from agreements are
refused over a supplier's limit with the limit and the exposure named; a buyer admin issues with
a reason, a buyer is told to ask an admin."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from portal.extensions import db
from portal.models import AuditEvent, Item, Requisition, SupplierLink, User
from portal.models.order import PurchaseOrder
from portal.services import agreements
from portal.services.agreements import AgreementFields
from portal.tenancy import system
from tests.conftest import as_org, as_system, csrf_token_from
from tests.factories import make_cost_center, make_requisition
from tests.services.award_fixtures import build_rfq

D = Decimal


@pytest.fixture(autouse=True)
def _english(world):
    with as_system():
        db.session.execute(update(User).values(locale="en"))
        db.session.commit()


@pytest.fixture(autouse=True)
def _quick_pdf(monkeypatch):
    from portal.services.orders import documents

    monkeypatch.setattr(documents, "render_order_pdf", lambda order: b"%PDF-1.7 " + order.number.encode())


def set_limit(world, supplier: str, limit: str | None):
    with system(db.session):
        db.session.execute(update(SupplierLink).where(
            SupplierLink.organization_id == world.acme.id,
            SupplierLink.supplier_id == getattr(world, supplier).id).values(
                credit_limit=D(limit) if limit is not None else None))
        db.session.commit()


def orders_of(**where) -> list[PurchaseOrder]:
    db.session.expire_all()
    with system(db.session):
        return list(db.session.scalars(select(PurchaseOrder).filter_by(**where)))


# ---------------------------------------------------------------- award


def test_award_over_the_limit_is_refused_then_an_admin_gives_a_reason(world, login_as):
    built = build_rfq(world)
    set_limit(world, "polbud", "10")
    award = {"whole": built.quotes["Polbud"], "reason-all": "One supplier for the lot"}

    buyer = login_as(world.user("buyer@acme"))
    refused = buyer.post(f"/rfqs/{built.rfq_id}/award", data=award)
    assert refused.status_code == 422
    assert 'data-testid="credit-problem"' in refused.text
    assert "over the credit limit of 10.00" in refused.text and "Polbud" in refused.text
    assert 'data-testid="credit-ask-admin"' in refused.text
    assert 'name="credit_override_reason"' not in refused.text
    assert orders_of(rfq_id=built.rfq_id) == []

    admin = login_as(world.user("admin@acme"))
    asked = admin.post(f"/rfqs/{built.rfq_id}/award", data=award)
    assert asked.status_code == 422
    assert 'name="credit_override_reason"' in asked.text
    # The award chosen stays selected in the page shown again.
    assert 'value="One supplier for the lot"' in asked.text
    blank = admin.post(f"/rfqs/{built.rfq_id}/award", data={**award, "credit_override_reason": "  "})
    assert blank.status_code == 422
    done = admin.post(f"/rfqs/{built.rfq_id}/award",
                      data={**award, "credit_override_reason": "Plant shutdown next week"})
    assert done.status_code == 302
    (made,) = orders_of(rfq_id=built.rfq_id)
    assert made.credit_override_reason == "Plant shutdown next week"
    page = admin.get(f"/orders/{made.id}").text
    assert "issued the order over the credit limit" in page


def test_award_within_the_limit_shows_nothing_about_it(world, login_as):
    built = build_rfq(world)
    set_limit(world, "polbud", "1000000")
    sent = login_as(world.user("buyer@acme")).post(
        f"/rfqs/{built.rfq_id}/award", data={"whole": built.quotes["Polbud"], "reason-all": "One lot"})
    assert sent.status_code == 302
    (made,) = orders_of(rfq_id=built.rfq_id)
    assert made.credit_override_reason == ""


# ---------------------------------------------------------------- from agreements


def agreed_requisition(world, price: str) -> int:
    with as_system():
        item = db.session.scalars(select(Item).where(Item.organization_id == world.acme.id,
                                                     Item.is_active.is_(True)).order_by(Item.id)).first()
    cc = make_cost_center(world.acme, "CREDIT", name="Zakupy")
    req = make_requisition(world.user("buyer@acme"), cost_center=cc, lines=[item])
    with as_org(world.acme):
        if agreements.agreed_price(item, "PLN") is None:
            agreements.create_agreement(world.user("admin@acme"), AgreementFields(
                unit_price=D(price), currency="PLN", valid_from=agreements.today(),
                link_id=_link_id(world), item_sku=item.sku))
        db.session.commit()
    with as_system():
        from portal.domain.requisition import RequisitionStatus

        db.session.get(Requisition, req.id).status = RequisitionStatus.APPROVED
        db.session.commit()
    return req.id


def _link_id(world) -> int:
    with system(db.session):
        return db.session.scalar(select(SupplierLink.id).where(
            SupplierLink.organization_id == world.acme.id, SupplierLink.supplier_id == world.polbud.id))


def _form(client, req_id) -> dict:
    page = client.get(f"/orders/from-requisition/{req_id}").text
    submission = page.split('name="submission_token"')[1].split('value="')[1].split('"')[0]
    return {"csrf_token": csrf_token_from(page), "submission_token": submission}


def test_order_from_agreements_over_the_limit(world, login_as):
    req_id = agreed_requisition(world, "12.50")
    set_limit(world, "polbud", "0")
    buyer = login_as(world.user("buyer@acme"))
    refused = buyer.post(f"/orders/from-requisition/{req_id}", data=_form(buyer, req_id))
    assert refused.status_code == 422
    assert "over the credit limit of 0.00" in refused.text
    assert 'data-testid="credit-ask-admin"' in refused.text
    assert orders_of() == []

    admin = login_as(world.user("admin@acme"))
    data = _form(admin, req_id)
    asked = admin.post(f"/orders/from-requisition/{req_id}", data=data)
    assert asked.status_code == 422
    assert 'name="credit_override_reason"' in asked.text
    # The form shown again carries the same, still unused, submission token.
    assert data["submission_token"] in asked.text
    done = admin.post(f"/orders/from-requisition/{req_id}",
                      data={**data, "credit_override_reason": "Urgent repair"})
    assert done.status_code == 302
    (made,) = orders_of()
    assert made.credit_override_reason == "Urgent repair"
    with system(db.session):
        assert db.session.scalar(select(func.count(AuditEvent.id)).where(
            AuditEvent.action == "order.credit_override", AuditEvent.object_id == made.id)) == 1
    # Sent again: acts once.
    again = admin.post(f"/orders/from-requisition/{req_id}",
                       data={**data, "credit_override_reason": "Urgent repair"})
    assert again.status_code in (302, 303)
    assert len(orders_of()) == 1


# ---------------------------------------------------------------- the supplier page


def test_the_supplier_page_shows_what_is_owed_or_on_order_against_the_limit(world, login_as):
    from portal.models.order import OrderSource
    from portal.services.orders.issue import OrderLineInput, issue_order

    set_limit(world, "polbud", "1000")
    with as_org(world.acme):
        link = db.session.scalars(select(SupplierLink).where(SupplierLink.supplier_id == world.polbud.id)).one()
        issue_order(world.user("buyer@acme"), link=link, source=OrderSource.RFQ,
                    lines=[OrderLineInput("Cement", D(1), "pcs", D("100.00"), "23")])
        db.session.commit()
        link_id = link.id
    page = login_as(world.user("admin@acme")).get(f"/suppliers/{link_id}").text
    assert 'data-testid="credit-exposure"' in page and "123.00" in page
    set_limit(world, "polbud", None)
    assert 'data-testid="credit-exposure"' not in login_as(world.user("admin@acme")).get(f"/suppliers/{link_id}").text


# ---------------------------------------------------------------- revising an order


def test_a_revision_over_the_limit_asks_the_admin_for_a_reason(world, login_as):
    from portal.models.order import OrderSource
    from portal.services.orders.issue import OrderLineInput, issue_order

    set_limit(world, "polbud", "200")
    with as_org(world.acme):
        link = db.session.scalars(select(SupplierLink).where(SupplierLink.supplier_id == world.polbud.id)).one()
        made = issue_order(world.user("buyer@acme"), link=link, source=OrderSource.RFQ,
                           lines=[OrderLineInput("Cement", D(1), "pcs", D("100.00"), "23")])
        db.session.commit()
        order_id, line_id = made.id, made.lines[0].id
    admin = login_as(world.user("admin@acme"))
    page = admin.get(f"/orders/{order_id}/revise").text
    data = {"csrf_token": csrf_token_from(page), f"qty_{line_id}": "2", f"price_{line_id}": "100.00"}
    asked = admin.post(f"/orders/{order_id}/revise", data=data)
    assert asked.status_code == 422
    assert 'data-testid="credit-problem"' in asked.text and 'name="credit_override_reason"' in asked.text
    assert 'value="2"' in asked.text  # the revision typed stays in the form
    done = admin.post(f"/orders/{order_id}/revise", data={**data, "credit_override_reason": "Double batch"})
    assert done.status_code == 302
    (revised,) = orders_of(id=order_id)
    assert revised.revision == 1 and revised.credit_override_reason == "Double batch"
