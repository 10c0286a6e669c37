"""RFQs for the quote tests: built through the buyer's services (portal/services/sourcing/rfqs.py)
with an injected clock: T0 publishes, DEADLINE is a week later, BEFORE/AFTER stand either side.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from portal.extensions import db
from portal.models import Rfq, SupplierLink
from tests.conftest import as_org

D = Decimal
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
DEADLINE = T0 + timedelta(days=7)
BEFORE = T0 + timedelta(days=1)
AFTER = DEADLINE + timedelta(hours=1)
LINES = (
    ("Łożysko kulkowe 6204-2RS", D("100"), "pcs"),
    ("Smar litowy EP2, wiadro 18 kg", D("4"), "pcs"),
    ("Pas klinowy SPZ 1250", D("12.5"), "m"),
)


def link_of(buyer, supplier) -> SupplierLink:
    return db.session.scalars(select(SupplierLink).where(
        SupplierLink.organization_id == buyer.id, SupplierLink.supplier_id == supplier.id)).one()


def published_rfq(world, *, buyer: str = "buyer@acme", suppliers=("nordwind", "polbud"),
                  sealed: bool = True, allow_partial: bool = False, lines: int = 3,
                  files: int = 0, title: str = "Łożyska i smary na I kwartał",
                  deadline: datetime = DEADLINE, publish: bool = True) -> Rfq:
    """An RFQ of `buyer`'s company, published at T0 to `suppliers` (committed); its id."""
    from portal.services.sourcing import rfqs

    actor = world.user(buyer)
    with as_org(actor.organization):
        rfq = rfqs.create_rfq(actor, title=title, sealed=sealed, allow_partial=allow_partial,
                              description="Dostawa do magazynu głównego, paleta EUR.",
                              delivery_address="ul. Przemysłowa 12, 61-001 Poznań", now=T0)
        for description, quantity, unit in LINES[:lines]:
            rfqs.add_line(rfq, actor, description=description, quantity=quantity, unit=unit)
        for key in suppliers:
            rfqs.invite(rfq, actor, link_of(actor.organization, getattr(world, key)))
        for n in range(files):
            rfqs.add_attachment(rfq, actor, filename=f"rysunek-{n + 1}.pdf",
                                content_type="application/pdf", data=b"%PDF-1.4 drawing")
        if publish:
            rfqs.publish(rfq, actor, deadline=deadline, now=T0)
        db.session.commit()
        rfq_id = rfq.id
    return rfq_id


def amend(world, rfq_id: int, *, buyer: str = "buyer@acme", now: datetime = BEFORE) -> None:
    from portal.services.sourcing import rfqs

    actor = world.user(buyer)
    with as_org(actor.organization):
        rfq = db.session.get(Rfq, rfq_id)
        rfqs.amend(rfq, actor, note="Zmiana ilości smaru na 6 wiader.", now=now)
        db.session.commit()


def open_sealed(world, rfq_id: int, *, buyer: str = "buyer@acme", now: datetime = AFTER) -> None:
    from portal.services.sourcing import rfqs

    actor = world.user(buyer)
    with as_org(actor.organization):
        rfq = db.session.get(Rfq, rfq_id)
        rfqs.open_quotes(rfq, actor, now=now)
        db.session.commit()
