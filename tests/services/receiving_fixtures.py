"""Purchase orders to receive goods on, for the receiving and dashboard tests.

`make_order(world, lines=...)` builds, as Acme, a requisition (moved on to `ordered`, as issuing
its order would) and an acknowledged order to Polbud whose lines are linked to the
requisition's lines; it returns plain ids (`Made`) so page tests can commit and read again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from portal.domain.requisition import RequisitionStatus
from portal.domain.vat import line_net, vat_at_rate
from portal.extensions import db
from portal.models import Requisition, SupplierLink
from portal.models.base import utcnow
from portal.models.order import OrderSource, OrderStatus, PurchaseOrder, PurchaseOrderLine
from portal.tenancy import system
from tests.factories import acting_for, make_cost_center, make_requisition

D = Decimal
_numbers = iter(range(90001, 100000))  # past what a demo world numbered


@dataclass
class Made:
    order_id: int
    requisition_id: int
    line_ids: list[int]
    number: str


def link_to(buyer, supplier) -> SupplierLink:
    with system(db.session):
        return db.session.scalars(select(SupplierLink).where(
            SupplierLink.organization_id == buyer.id, SupplierLink.supplier_id == supplier.id)).one()


def make_order(world, *, lines=(("Papier A4", "10", "20.00"), ("Toner", "5", "300.00")),
               status: OrderStatus = OrderStatus.ACKNOWLEDGED, buyer=None, supplier=None,
               delivery_date: date | None = None, issued_days_ago: int = 3,
               requisition_status: RequisitionStatus = RequisitionStatus.ORDERED,
               requester=None) -> Made:
    """An order of `buyer` (Acme) to `supplier` (Polbud), one order line per requisition line."""
    buyer = buyer or world.acme
    supplier = supplier or world.polbud
    requester = requester or (world.user("buyer@acme") if buyer is world.acme else
                              world.user("buyer@globex"))
    link = link_to(buyer, supplier)
    cost_center = make_cost_center(buyer, f"RCV-{next(_numbers)}", name="Magazyn")
    req = make_requisition(requester, cost_center=cost_center, title="Materiały biurowe",
                           lines=[(d, q, p, "23") for d, q, p in lines])
    with system(db.session):
        db.session.get(Requisition, req.id).status = requisition_status
        db.session.flush()
    with acting_for(buyer):
        number = f"PO/2026/{next(_numbers):05d}"
        order = PurchaseOrder(
            organization_id=buyer.id, supplier_id=supplier.id, number=number, link_id=link.id,
            source=OrderSource.AGREEMENT, status=status, currency=link.currency,
            payment_terms=link.payment_terms, delivery_address="ul. Magazynowa 1, Warszawa",
            delivery_date=delivery_date or (date.today() + timedelta(days=7)),
            issued_at=utcnow() - timedelta(days=issued_days_ago), issued_by_id=requester.id,
        )
        net_total = vat_total = D(0)
        for position, (req_line, (description, quantity, price)) in enumerate(
                zip(req.lines, lines, strict=True), 1):
            net = line_net(D(quantity), D(price))
            vat = vat_at_rate(net, D("23"))
            order.lines.append(PurchaseOrderLine(
                position=position, requisition_line_id=req_line.id, description=description,
                quantity=D(quantity), unit="pcs", unit_price=D(price), vat_code="23",
                vat_rate=D("23"), net=net, vat=vat, gross=net + vat))
            net_total += net
            vat_total += vat
        order.net_total, order.vat_total, order.gross_total = net_total, vat_total, net_total + vat_total
        db.session.add(order)
        db.session.flush()
        made = Made(order.id, req.id, [line.id for line in order.lines], order.number)
    db.session.commit()
    return made
