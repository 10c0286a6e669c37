"""The test factories build a world of their own, without the demo seed."""

from __future__ import annotations

from decimal import Decimal

from portal.extensions import db
from portal.models import LinkStatus, OrgKind
from tests.factories import (
    acting_for,
    make_budget,
    make_category,
    make_cost_center,
    make_item,
    make_link,
    make_org,
    make_requisition,
    make_user,
)


def test_factories_build_a_buyer_a_supplier_and_a_submitted_requisition():
    buyer, supplier = make_org(), make_org(kind="supplier", currency="EUR", locale="en")
    assert (buyer.kind, supplier.kind) == (OrgKind.BUYER, OrgKind.SUPPLIER)
    link = make_link(buyer, supplier, status="blocked")
    assert link.status == LinkStatus.BLOCKED and link.currency == "PLN"
    approver = make_user(buyer, roles=["approver"], limit=10_000)
    requester = make_user(buyer, roles=["buyer"])
    assert approver.approval_limit == Decimal("10000") and requester.has_role("buyer")
    cc = make_cost_center(buyer, "IT", manager=approver)
    assert make_cost_center(buyer, "IT", name="Renamed") is cc and cc.name == "Renamed"
    category = make_category(buyer)
    item = make_item(buyer, price="12.50", category=category)
    budget = make_budget(cc, "50000")
    req = make_requisition(requester, cost_center=cc, category=category,
                           lines=[("Laptop", 2, "4000", "23"), item], submit=True)
    db.session.commit()
    with acting_for(buyer):
        assert req.status == "approved" and len(req.lines) == 2  # no policy: approved on submit
        assert req.gross_total == Decimal("9840.00") + Decimal("15.38")
    with acting_for(buyer):
        assert budget.amount == Decimal("50000") and budget.organization_id == buyer.id
