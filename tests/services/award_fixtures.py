"""Test data of the comparison and award tests: Acme's approved requisitions (with their budget
reservation), put on an RFQ, answered by three suppliers (Nordwind, Polbud and a third,
"Baltic Tools"), closed and ready to compare.

Rows are written through the models under `system` (the RFQ and quote services are written by
other hands at the same time); the budget reservation goes through the budget service, so the
ledger is the real one. Everything is committed; ids are returned, and objects read again by id.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from portal.domain.requisition import RequisitionStatus
from portal.domain.vat import line_net
from portal.extensions import db
from portal.models import Organization, Requisition, SupplierLink, User
from portal.models.base import utcnow
from portal.models.rfq import (
    InvitationStatus,
    Quote,
    QuoteLine,
    QuoteStatus,
    Rfq,
    RfqInvitation,
    RfqLine,
    RfqStatus,
)
from portal.services import budgets
from portal.tenancy import system
from tests.factories import (
    acting_for,
    make_budget,
    make_cost_center,
    make_link,
    make_org,
    make_requisition,
    make_user,
)

D = Decimal

# Six lines on two requisitions: (description, quantity, unit, estimated unit price, VAT rate).
LINES_A = [
    ("Śruby M8×40 ocynkowane", "500", "pcs", "0.42", "23"),
    ("Nakrętki M8 samokontrujące", "500", "pcs", "0.31", "23"),
    ("Podkładki M8 DIN 125", "1000", "pcs", "0.05", "23"),
]
LINES_B = [
    ("Rękawice robocze nitrylowe, rozm. 9", "120", "pair", "6.80", "23"),
    ("Okulary ochronne EN 166", "40", "pcs", "18.50", "8"),
    ("Taśma ostrzegawcza 50 mm × 100 m", "12", "roll", "16.00", "23"),
]
# Per supplier: unit price per line (None = not quoted), lead time, freight, other charges.
PRICES = {
    "Nordwind Supplies": (["0.39", "0.33", "0.045", "6.20", "17.90", "15.50"], 14, "120.00", "0"),
    "Polbud": (["0.41", "0.29", "0.048", "6.55", "16.40", "14.90"], 7, "0", "35.00"),
    "Baltic Tools": (["0.38", "0.30", None, "5.95", "19.00", None], 21, "80.00", "0"),
}


@dataclass
class Built:
    rfq_id: int
    org_id: int
    buyer_id: int
    admin_id: int
    budget_id: int
    cost_center_id: int
    requisition_ids: list[int]
    line_ids: list[int]
    quotes: dict[str, int] = field(default_factory=dict)       # supplier name -> quote id
    invitations: dict[str, int] = field(default_factory=dict)  # supplier name -> invitation id
    suppliers: dict[str, int] = field(default_factory=dict)    # supplier name -> org id
    links: dict[str, int] = field(default_factory=dict)        # supplier name -> link id


def _link(buyer: Organization, supplier: Organization) -> SupplierLink:
    with system(db.session):
        link = db.session.scalars(select(SupplierLink).where(
            SupplierLink.organization_id == buyer.id, SupplierLink.supplier_id == supplier.id)).first()
    return link or make_link(buyer, supplier)


def _third_supplier() -> Organization:
    with system(db.session):
        found = db.session.scalars(select(Organization).where(Organization.name == "Baltic Tools")).first()
    if found is not None:
        return found
    org = make_org("supplier", name="Baltic Tools", country="PL", locale="en")
    make_user(org, roles=["supplier_admin", "supplier_sales"], email="sales@baltic.example",
              full_name="Ola Bałtycka")
    return org


def approved_requisition(buyer: User, cost_center, lines, *, title: str) -> Requisition:
    """A requisition approved without the approval workflow (a fixture's shortcut), with its
    net total reserved on its budget through the budget service."""
    req = make_requisition(buyer, cost_center=cost_center, title=title,
                           lines=[(d, q, p, v) for d, q, _, p, v in lines])
    org = db.session.get(Organization, buyer.organization_id)
    with acting_for(org):
        for line, (_, _, unit, _, _) in zip(req.lines, lines, strict=True):
            line.unit = unit
        req.status = RequisitionStatus.APPROVED
        req.submitted_at = req.submitted_at or utcnow()
        budgets.reserve_for_requisition(req, buyer)
        db.session.flush()
    return req


def build_rfq(world, *, sealed: bool = False, opened: bool = True, status: str = "closed",
              budget_amount: str = "100000", policy: str = "block", suppliers=None,
              prices=None, title: str = "Elementy złączne i BHP — IV kwartał",
              deadline_passed: bool = True, cost_center_code: str = "AWD", repeat: int = 1) -> Built:
    """Acme's RFQ of six lines from two approved requisitions, answered by three suppliers
    (`prices` as PRICES), deadline passed, `status` closed (or open past its deadline), sealed
    and opened when asked; `repeat` repeats every line (and its prices) that many times.
    Committed; returns the ids."""
    prices = prices or PRICES
    acme = world.acme
    buyer, admin = world.user("buyer@acme"), world.user("admin@acme")
    cc = make_cost_center(acme, cost_center_code, name="Utrzymanie ruchu")
    with acting_for(acme):
        budget = budgets.budget_for(cc.id, date.today())
    if budget is None:
        budget = make_budget(cc, budget_amount, policy=policy, actor=admin)
    lines_a, lines_b = LINES_A * repeat, LINES_B * repeat
    req_a = approved_requisition(buyer, cc, lines_a, title="Elementy złączne")
    req_b = approved_requisition(buyer, cc, lines_b, title="Środki ochrony BHP")
    orgs = {"Nordwind Supplies": world.nordwind, "Polbud": world.polbud,
            "Baltic Tools": _third_supplier()}
    names = list(suppliers or prices)
    now = utcnow()
    deadline = now - timedelta(hours=2) if deadline_passed else now + timedelta(days=3)
    with system(db.session):
        number = f"TMP-{secrets.token_hex(6)}"
        rfq = Rfq(organization_id=acme.id, number=number, title=title, currency="PLN",
                  sealed=sealed, status=RfqStatus(status), deadline=deadline,
                  created_by_id=buyer.id, published_at=now - timedelta(days=5),
                  closed_at=deadline if status == "closed" else None,
                  opened_at=(deadline if sealed and opened else None),
                  opened_by_id=(buyer.id if sealed and opened else None),
                  delivery_address="ul. Składowa 12, 61-897 Poznań")
        db.session.add(rfq)
        db.session.flush()
        rfq.number = f"RFQ/2026/{rfq.id:05d}"
        rfq_lines = []
        position = 1
        for req, spec in ((req_a, lines_a), (req_b, lines_b)):
            for req_line, (description, quantity, unit, _, vat) in zip(req.lines, spec, strict=True):
                line = RfqLine(rfq_id=rfq.id, position=position, requisition_line_id=req_line.id,
                               description=description, quantity=D(quantity), unit=unit,
                               vat_rate=D(vat))
                db.session.add(line)
                rfq_lines.append(line)
                position += 1
            req.status = RequisitionStatus.SOURCING
        db.session.flush()
        built = Built(rfq.id, acme.id, buyer.id, admin.id, budget.id, cc.id, [req_a.id, req_b.id],
                      [ln.id for ln in rfq_lines])
        for name in names:
            supplier = orgs[name]
            link = _link(acme, supplier)
            sales = db.session.scalars(select(User).where(User.organization_id == supplier.id)
                                       .order_by(User.id)).first()
            invitation = RfqInvitation(organization_id=acme.id, supplier_id=supplier.id,
                                       rfq_id=rfq.id, link_id=link.id,
                                       status=InvitationStatus.QUOTED,
                                       responded_at=deadline - timedelta(days=1),
                                       rfq_status=rfq.status, rfq_deadline=rfq.deadline)
            db.session.add(invitation)
            db.session.flush()
            unit_prices, lead, freight, other = prices[name]
            unit_prices = unit_prices[:3] * repeat + unit_prices[3:] * repeat
            quote = Quote(organization_id=acme.id, supplier_id=supplier.id, rfq_id=rfq.id,
                          invitation_id=invitation.id, status=QuoteStatus.SUBMITTED,
                          supplier_reference=f"OF/{name[:3].upper()}/{rfq.id}", currency="PLN",
                          valid_until=date.today() + timedelta(days=30), freight=D(freight),
                          other_charges=D(other), revision=1,
                          submitted_at=deadline - timedelta(days=1, minutes=len(built.quotes)),
                          created_by_id=sales.id)
            db.session.add(quote)
            db.session.flush()
            nets = []
            for line, price in zip(rfq_lines, unit_prices, strict=True):
                net = line_net(line.quantity, D(price)) if price is not None else None
                nets.append(net or D(0))
                db.session.add(QuoteLine(quote_id=quote.id, rfq_line_id=line.id,
                                         unit_price=D(price) if price is not None else None,
                                         net=net, lead_time_days=lead if price is not None else None))
            quote.partial = any(p is None for p in unit_prices)
            quote.net_total = sum(nets, D("0.00")) + D(freight) + D(other)
            built.quotes[name] = quote.id
            built.invitations[name] = invitation.id
            built.suppliers[name] = supplier.id
            built.links[name] = link.id
        db.session.commit()
    return built


def load(model, obj_id):
    """Read a row again, past the tenant filter."""
    db.session.expire_all()
    with system(db.session):
        return db.session.scalars(select(model).where(model.id == obj_id)).one()


def deadline_of(built: Built) -> datetime:
    return load(Rfq, built.rfq_id).deadline
