"""The demo world's price agreements: Acme with Nordwind and Polbud, Globex with Nordwind.

Valid ones, one expired and one future per company, and tiers. Dates are relative to the day
the world is built. Idempotent: a company that already has agreements gets no more (the dates
would move, and the new ones would overlap the old).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from portal.domain.agreements import Tier
from portal.extensions import db
from portal.models import PriceAgreement, SupplierLink
from portal.services import agreements
from portal.services.agreements import AgreementFields

# (buyer, supplier, SKU, unit price, currency, from (days from today), to (None: no end),
#  supplier's part number, lead time days, tiers [(from quantity, unit price)])
AGREEMENTS = [
    ("acme", "nordwind", "MRO-LOZ-6204", "3.10", "EUR", -90, 270, "6204-2RS-NW", 10,
     [("100", "2.95"), ("500", "2.80")]),
    ("acme", "nordwind", "IT-STAC-USBC", "179.00", "EUR", -30, 335, "DOCK-USBC-100W", 14, []),
    ("acme", "nordwind", "IT-MON-27", "259.00", "EUR", 14, 379, "MON27-QHD-HA", 7, []),
    ("acme", "polbud", "MRO-OLEJ-HLP46", "299.00", "PLN", -60, 300, "HLP46-20L", 5,
     [("10", "289.00"), ("50", "275.00")]),
    ("acme", "polbud", "SRV-TRANSPORT", "195.00", "PLN", -400, -31, "TR-PAL-KRAJ", 2, []),
    ("acme", "polbud", "SRV-TRANSPORT", "205.00", "PLN", -30, None, "TR-PAL-KRAJ", 2, []),
    ("globex", "nordwind", "GX-DOCK-USBC", "175.00", "EUR", -45, 320, "DOCK-USBC-100W", 10,
     [("10", "168.00")]),
    ("globex", "nordwind", "GX-SRV-COURIER", "6.90", "EUR", -200, -10, "CR-DOM-PARCEL", 1, []),
    ("globex", "nordwind", "GX-SRV-COURIER", "7.20", "EUR", -9, None, "CR-DOM-PARCEL", 1, []),
    ("globex", "nordwind", "GX-MON-27", "265.00", "EUR", 30, 395, "MON27-QHD-HA", 7, []),
]


def seed_agreements(world) -> dict[str, list[PriceAgreement]]:
    """Add the demo agreements (run inside `tenancy.system()`); returns them per buyer key."""
    orgs, users = world["orgs"], world["users"]
    today = agreements.today()
    created: dict[str, list[PriceAgreement]] = {}
    done = {key: db.session.scalar(select(PriceAgreement.id).where(
        PriceAgreement.organization_id == orgs[key].id).limit(1)) is not None
        for key in ("acme", "globex")}
    for buyer, supplier, sku, price, currency, start, end, part, lead, tiers in AGREEMENTS:
        if done[buyer]:
            continue
        admin = users[f"admin@{buyer}.example"]
        link = db.session.scalar(select(SupplierLink).where(
            SupplierLink.organization_id == orgs[buyer].id,
            SupplierLink.supplier_id == orgs[supplier].id))
        agreement = agreements.create_agreement(admin, AgreementFields(
            link_id=link.id, item_sku=sku, unit_price=Decimal(price), currency=currency,
            valid_from=today + timedelta(days=start),
            valid_to=None if end is None else today + timedelta(days=end),
            tiers=[Tier(Decimal(q), Decimal(p)) for q, p in tiers],
            supplier_part_number=part, lead_time_days=lead,
        ))
        created.setdefault(buyer, []).append(agreement)
    db.session.flush()
    return created


# Price-list proposals (CSV uploads by suppliers): (buyer, supplier, note, rows, decisions by SKU:
# (accept, reason) or None to leave the line open). Prices as plain decimals; days from today.
PROPOSALS = [
    ("acme", "nordwind", "Cennik na nowy rok",
     [("MRO-LOZ-6204", "3.05", "EUR", 30, "6204-2RS-NW", "10"),
      ("IT-STAC-USBC", "172.50", "EUR", 30, "DOCK-USBC-100W", "12")], {}),
    ("acme", "polbud", "Aktualizacja cen oleju i transportu",
     [("MRO-OLEJ-HLP46", "285.00", "PLN", 10, "HLP46-20L", "5"),
      ("SRV-TRANSPORT", "235.00", "PLN", 20, "TR-PAL-KRAJ", "2")],
     {"MRO-OLEJ-HLP46": (True, ""),
      "SRV-TRANSPORT": (False, "Podwyżka ponad uzgodniony wskaźnik; prosimy o nową ofertę.")}),
]


def seed_proposals(world) -> None:
    """Price-list proposals: Nordwind's new prices for Acme still open (the buyer's admin decides
    them on Price agreements → Proposals), Polbud's decided line by line (one price accepted into
    an agreement, one rejected with a reason). Run inside `tenancy.system()`; skipped when Acme
    has proposals already."""
    from portal.models import PriceProposal
    from portal.services import price_proposals

    orgs, users = world["orgs"], world["users"]
    if db.session.scalar(select(PriceProposal.id).where(
            PriceProposal.organization_id == orgs["acme"].id).limit(1)) is not None:
        return
    today = agreements.today()
    header = "sku,unit_price,currency,valid_from,supplier_part_number,lead_time_days\r\n"
    for buyer, supplier, note, rows, decisions in PROPOSALS:
        link = db.session.scalar(select(SupplierLink).where(
            SupplierLink.organization_id == orgs[buyer].id, SupplierLink.supplier_id == orgs[supplier].id))
        text = header + "".join(
            f"{sku},{price},{currency},{(today + timedelta(days=days)).isoformat()},{part},{lead}\r\n"
            for sku, price, currency, days, part, lead in rows)
        proposal = price_proposals.propose(link, users[f"sales@{supplier}.example"],
                                           filename=f"cennik-{supplier}.csv", data=text.encode(), note=note)
        if decisions:
            by_sku = {line.sku: line.id for line in proposal.lines}
            price_proposals.decide(proposal, users[f"admin@{buyer}.example"],
                                   decisions={by_sku[sku]: d for sku, d in decisions.items()})
    db.session.flush()
