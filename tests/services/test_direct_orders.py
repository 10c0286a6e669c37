"""Orders straight from price agreements: coverage per line (validity, tiers, currency), one
order per supplier at the agreed prices, refusals."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.domain.agreements import Tier
from portal.domain.budget import OverrunPolicy, PeriodKind
from portal.domain.requisition import RequisitionStatus
from portal.errors import InvalidTransition, PermissionDenied, ValidationProblem
from portal.extensions import db
from portal.models import SupplierLink
from portal.models.base import utcnow
from portal.models.order import OrderSource
from portal.services import agreements, approvals, budgets, requisitions
from portal.services.agreements import AgreementFields
from portal.services.orders.direct import agreement_coverage, orders_from_agreements
from portal.tenancy import system
from tests.factories import company_today, make_item, make_link, make_org
from tests.kit import acme_kit, acting_for, approve_all, services

D = Decimal
TODAY = company_today()  # the agreements are valid on the buyer's days


@pytest.fixture(autouse=True)
def _quick_pdf(monkeypatch):
    from portal.services.orders import documents

    monkeypatch.setattr(documents, "render_order_pdf", lambda order: b"%PDF-1.7 " + order.number.encode())


@pytest.fixture
def kit(app, world):
    with services(app):
        kit = acme_kit(world, board=False)
        with acting_for(kit.org):
            yield kit


def polbud(world) -> SupplierLink:
    with system(db.session):
        return db.session.scalars(select(SupplierLink).where(
            SupplierLink.organization_id == world.acme.id, SupplierLink.supplier_id == world.polbud.id)).one()


def agree(kit, link, item, price, *, tiers=(), valid_from=None, valid_to=None, currency="PLN", lead=None):
    return agreements.create_agreement(kit.admin, AgreementFields(
        unit_price=D(price), currency=currency, valid_from=valid_from or TODAY - timedelta(days=10),
        valid_to=valid_to, tiers=[Tier(D(q), D(p)) for q, p in tiers], supplier_part_number="SP-1",
        lead_time_days=lead, link_id=link.id, item_sku=item.sku))


def requisition(kit, lines, *, approve=True):
    req = requisitions.create_requisition(kit.buyer, title="Z katalogu", cost_center=kit.cc_it)
    for item, quantity in lines:
        if isinstance(item, str):
            requisitions.add_line(req, kit.buyer, description=item, quantity=D(quantity),
                                  unit_price=D("10"), vat_rate=D("23"))
        else:
            requisitions.add_line(req, kit.buyer, item=item, quantity=D(quantity))
    if approve:
        approvals.submit(req, kit.buyer)
        approve_all(req)
    return req


def test_direct_coverage_per_line_with_tiers_and_validity(kit, world):
    agree(kit, polbud(world), kit.laptop, "4000", tiers=[("10", "3800")])
    agree(kit, polbud(world), kit.paper, "20", valid_to=TODAY - timedelta(days=1))
    req = requisition(kit, [(kit.laptop, "12"), (kit.paper, "5"), ("Free text", "1")], approve=False)
    coverage = agreement_coverage(req)
    assert [c.unit_price for c in coverage.lines] == [D("3800"), None, None]
    assert not coverage.complete
    assert [ln.description for ln in coverage.missing][1] == "Free text"


def test_direct_one_order_per_supplier_at_agreed_prices(kit, world):
    b = budgets.create_budget(kit.admin, cost_center=kit.cc_it, name="IT", period_kind=PeriodKind.YEAR,
                              starts_on=date(utcnow().year, 1, 1), ends_on=date(utcnow().year, 12, 31),
                              amount=D("100000"), currency="PLN", overrun_policy=OverrunPolicy.BLOCK)
    other = make_link(world.acme, make_org("supplier", name="Aaa Papier"))
    agree(kit, polbud(world), kit.laptop, "4500", lead=14)
    agree(kit, other, kit.paper, "19.5")
    req = requisition(kit, [(kit.laptop, "2"), (kit.paper, "10")])
    reserved = req.net_total
    assert budgets.balances_of(b).reserved == reserved
    orders = orders_from_agreements(req, kit.buyer)
    assert [o.supplier_id for o in orders] == [other.supplier_id, world.polbud.id]  # by supplier name
    paper, laptop = orders
    assert all(o.source == OrderSource.AGREEMENT for o in orders)
    assert [(ln.unit_price, ln.quantity, ln.supplier_part_number) for ln in laptop.lines] == [
        (D("4500"), D("2"), "SP-1")]
    # The lead time counts from today where the buyer is.
    assert laptop.lines[0].delivery_date == company_today() + timedelta(days=14)
    assert paper.net_total == D("195.00") and laptop.net_total == D("9000.00")
    assert req.status == RequisitionStatus.ORDERED
    balances = budgets.balances_of(b)
    assert (balances.reserved, balances.committed) == (D("0.00"), D("9195.00"))


def test_direct_refuses_a_line_without_an_agreement_and_writes_nothing(kit, world):
    agree(kit, polbud(world), kit.laptop, "4500")
    req = requisition(kit, [(kit.laptop, "1"), ("Krzesło", "2")])
    with pytest.raises(ValidationProblem, match="Line 2"):
        orders_from_agreements(req, kit.buyer)
    assert req.status == RequisitionStatus.APPROVED


def test_direct_refuses_another_currency_or_a_blocked_supplier(kit, world):
    agreement = agree(kit, polbud(world), kit.laptop, "1000", currency="EUR")
    req = requisition(kit, [(kit.laptop, "1")])
    assert not agreement_coverage(req).complete
    with system(db.session):
        agreement.link.status = "blocked"
        db.session.flush()
    assert not agreement_coverage(req).complete


def test_direct_only_for_approved_requisitions_and_buyers(kit, world):
    agree(kit, polbud(world), kit.laptop, "4500")
    draft = requisition(kit, [(kit.laptop, "1")], approve=False)
    with pytest.raises(InvalidTransition):
        orders_from_agreements(draft, kit.buyer)
    approved = requisition(kit, [(kit.laptop, "1")])
    with pytest.raises(PermissionDenied):
        orders_from_agreements(approved, kit.approver)
    make_item(kit.org, "UNUSED")
