"""Purchase orders built straight from the models (no issue service), for the PDF tests and
the sample renders: a buyer and a supplier of the demo world, lines with every VAT code."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import select

from portal.domain.orders import line_amounts, order_totals
from portal.extensions import db
from portal.models import Organization, SupplierLink
from portal.models.order import OrderSource, PurchaseOrder, PurchaseOrderLine

D = Decimal
ISSUED_AT = datetime(2026, 12, 4, 23, 30, tzinfo=UTC)  # 5 Dec 2026 in Warsaw (UTC+1) and Sofia
UNITS = ("pcs", "kg", "m", "h", "box")
CODES = ("23", "23", "8", "5", "0", "zw", "23")
WORDS = ("Śruba nierdzewna M8×40 ze łbem sześciokątnym", "Żarówka LED 9 W, ciepła biel",
         "Kabel YDY 3×2,5 mm² (zwój 100 m)", "Rękawice robocze nitrylowe, rozmiar 10",
         "Ołówek stolarski, grafit twardy", "Usługa montażu regałów magazynowych",
         "Papier ksero A4 80 g/m², ryza 500 ark.", "Taśma pakowa brązowa 48 mm × 66 m")


def description(i: int) -> str:
    """A distinct description for line `i` (the tests find every line by it)."""
    return f"{WORDS[i % len(WORDS)]} — poz. {i:03d}"


def make_order(buyer: Organization, supplier: Organization, *, lines: int = 25, number: str = "PO/2026/00001",
               revision: int = 0, notes: str = "", freight: Decimal = D("0"), issued_by=None) -> PurchaseOrder:
    """An issued order of `buyer` to `supplier` with `lines` lines; the caller binds the session
    to the buyer (as_org) and commits when it wants."""
    link = db.session.scalar(select(SupplierLink).where(
        SupplierLink.organization_id == buyer.id, SupplierLink.supplier_id == supplier.id))
    assert link is not None, "the demo world links these two"
    currency = link.currency
    order = PurchaseOrder(
        organization_id=buyer.id, supplier_id=supplier.id, link=link, number=number,
        source=OrderSource.RFQ, currency=currency, payment_terms=link.payment_terms,
        delivery_address=f"{buyer.legal_name}\nMagazyn centralny, brama 3\n{buyer.address_line}\n"
                         f"{buyer.postal_code} {buyer.city}",
        delivery_date=date(2026, 12, 18), notes=notes, freight=freight, revision=revision,
        issued_at=ISSUED_AT, issued_by_id=issued_by.id if issued_by else None,
    )
    for i in range(1, lines + 1):
        code = CODES[i % len(CODES)]
        quantity = D(i % 17 + 1) * (D("0.5") if i % 5 == 0 else D(1))
        unit_price = D("1.2345") * (i % 23 + 1) * (100 if i % 9 == 0 else 1)
        amounts = line_amounts(quantity, unit_price, code, currency)
        order.lines.append(PurchaseOrderLine(
            position=i, description=description(i), supplier_part_number=f"NW-{1000 + i}" if i % 3 else "",
            quantity=quantity, unit=UNITS[i % len(UNITS)], unit_price=unit_price, vat_code=code,
            vat_rate=amounts.rate, net=amounts.net, vat=amounts.vat, gross=amounts.gross,
        ))
    totals = order_totals(((ln.vat_code, ln.net) for ln in order.lines), freight=freight, currency=currency)
    order.net_total, order.vat_total, order.gross_total = totals.net, totals.vat, totals.gross
    db.session.add(order)
    db.session.flush()
    return order
