"""The PDF of a purchase order: rendered once per revision, stored, served from storage.

`store_document` renders the order's current revision (in the buyer's language and time zone,
whoever issues it) and keeps the bytes with their size and SHA-256 in a
`PurchaseOrderDocument`, a child of the order: the buyer writes it, both parties read it. Every
download serves those stored bytes (`latest_document`, `document_bytes`), so the PDF a
supplier acknowledged reads the same forever, even after the buyer's address or a translation
changes.

The PDF carries both parties (legal name, address, NIP or VAT ID), the number, revision, issue
date, delivery address and date, the payment terms in words, every line (position,
description, supplier's part number, quantity, unit, unit price, VAT rate, net, gross), the
VAT summary per code and the totals (`portal.domain.orders.order_totals`, the invoice way),
the notes, and "Page X of Y" with the table header repeated on every page.

Services never commit: the caller's transaction keeps the document with the order.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date
from zoneinfo import ZoneInfo

from sqlalchemy import select

from portal.domain.orders import FREIGHT_CODE, order_totals
from portal.domain.vat import VAT_CODES, line_vat
from portal.extensions import db
from portal.i18n import translate
from portal.models.base import utcnow
from portal.models.order import PurchaseOrder, PurchaseOrderDocument
from portal.pdf import render_pdf

TEMPLATE = "pdf/purchase_order.html"


def vat_labels(short: bool = False) -> dict[str, str]:
    """VAT codes as the document's reader reads them (called while rendering, in its language):
    "23%", "exempt (zw)"; `short`: the lines table's "23%" or, for the codes that charge no
    VAT, the code ("zw")."""
    return {code.code: code.code if short and not code.taxed else translate(code.label) for code in VAT_CODES}


def document_filename(order: PurchaseOrder, revision: int | None = None) -> str:
    """`PO-2026-00001-r0.pdf`: the number with `/` as `-`, the revision."""
    revision = order.revision if revision is None else revision
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", order.number or "PO").strip("-") or "PO"
    return f"{stem}-r{revision}.pdf"


def _issue_day(order: PurchaseOrder) -> date:
    """The day the order was issued, in the buyer's time zone."""
    moment = order.issued_at or order.created_at or utcnow()
    if moment.tzinfo is None:  # stored as UTC
        moment = moment.replace(tzinfo=UTC)
    try:
        zone = ZoneInfo(order.buyer.time_zone or "Europe/Warsaw")
    except (KeyError, ValueError):
        zone = ZoneInfo("Europe/Warsaw")
    return moment.astimezone(zone).date()


def _delivery_address(order: PurchaseOrder) -> str:
    if (order.delivery_address or "").strip():
        return order.delivery_address.strip()
    buyer = order.buyer
    return f"{buyer.legal_name}\n{buyer.address_line}\n{buyer.postal_code} {buyer.city}"


def _reference(order: PurchaseOrder) -> str:
    """The RFQ the order was awarded from and the supplier's quote number, when there are."""
    parts = []
    if order.rfq is not None:
        parts.append(order.rfq.number)
    if order.quote is not None and order.quote.supplier_reference:
        parts.append(order.quote.supplier_reference)
    return " · ".join(parts)


def order_context(order: PurchaseOrder) -> dict:
    """What the PO template is given (the values; the words are translated in the template)."""
    lines = list(order.lines)
    summary = order_totals(((line.vat_code, line.net) for line in lines),
                           freight=order.freight or 0, currency=order.currency)
    freight_vat = line_vat(order.freight, FREIGHT_CODE, order.currency) if order.freight else 0
    return {
        "order": order,
        "buyer": order.buyer,
        "supplier": order.supplier,
        "lines": lines,
        "summary": summary,
        "issued_on": _issue_day(order),
        "issued_by": order.issued_by,
        "delivery_address": _delivery_address(order),
        "reference": _reference(order),
        "vat_labels": vat_labels,
        "freight_code": FREIGHT_CODE,
        "freight_gross": (order.freight or 0) + freight_vat,
    }


def render_order_pdf(order: PurchaseOrder) -> bytes:
    """The PDF of the order as it is now, in the buying organisation's language."""
    buyer = order.buyer
    context = order_context(order)
    return render_pdf(TEMPLATE, locale=buyer.locale or "en", time_zone=buyer.time_zone or None, **context)


def store_document(order: PurchaseOrder, actor, *, changes: str = "") -> PurchaseOrderDocument:
    """Render the order's current revision and store it. A revision is rendered once: when its
    document exists already, that one is returned unchanged."""
    existing = db.session.scalar(select(PurchaseOrderDocument).where(
        PurchaseOrderDocument.order_id == order.id, PurchaseOrderDocument.revision == order.revision))
    if existing is not None:
        return existing
    data = render_order_pdf(order)
    document = PurchaseOrderDocument(
        order=order,
        revision=order.revision,
        filename=document_filename(order),
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        changes=changes or "",
        data=data,
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(document)
    db.session.flush()
    return document


def latest_document(order: PurchaseOrder) -> PurchaseOrderDocument | None:
    """The stored PDF of the order's latest revision (None before any was stored)."""
    return db.session.scalar(
        select(PurchaseOrderDocument)
        .where(PurchaseOrderDocument.order_id == order.id)
        .order_by(PurchaseOrderDocument.revision.desc())
        .limit(1)
    )


def document_bytes(document: PurchaseOrderDocument) -> bytes:
    """The stored bytes of `document`, exactly as rendered at issue."""
    return document.data
