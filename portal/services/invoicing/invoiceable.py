"""What a supplier may still invoice: order lines received and not yet invoiced (or drafted).

Invoiced quantity of an order line = the quantities of its lines on issued invoices (any status
but draft) minus the quantities credited back at the invoice line's own unit price (goods
returned or not delivered: a credit note that cancels quantity, not a price correction).
Drafted = the quantities on the supplier's drafts. Open = accepted (received minus rejected)
minus invoiced minus drafted, never below zero.

Every read goes through the tenant filter of the bound scope (the supplier reads the orders
addressed to it and its own invoices; the buyer its own orders and the invoices addressed to it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import case, func, select, type_coerce
from sqlalchemy.orm import aliased

from portal.domain.vat import totals_by_code
from portal.extensions import db
from portal.models.invoice import Invoice, InvoiceKind, InvoiceLine, InvoiceStatus
from portal.models.order import OrderStatus, PurchaseOrder, PurchaseOrderLine
from portal.models.org import SupplierLink
from portal.models.types import Quantity

ZERO = Decimal(0)
# The invoiceable orders a page lists at most (newest first).
INVOICEABLE_LIMIT = 100


@dataclass
class OpenLine:
    """An order line with what was received (accepted), invoiced, drafted and is still open."""

    order_line: PurchaseOrderLine
    received: Decimal
    invoiced: Decimal
    drafted: Decimal
    open_quantity: Decimal


def _quantity_rows(order_line_ids: Iterable[int], *, exclude_invoice_id: int | None = None):
    """(order line id, invoiced, drafted) sums for the given order lines, in one statement."""
    ids = sorted({int(i) for i in order_line_ids if i is not None})
    if not ids:
        return []
    corrected = aliased(InvoiceLine)
    is_draft = Invoice.status == InvoiceStatus.DRAFT
    # A credit-note line returns quantity when it credits at the corrected line's own price.
    signed = case(
        (Invoice.kind == InvoiceKind.INVOICE, InvoiceLine.quantity),
        (corrected.unit_price == InvoiceLine.unit_price, -InvoiceLine.quantity),
        else_=ZERO,
    )
    query = (
        select(
            InvoiceLine.order_line_id,
            type_coerce(func.coalesce(func.sum(case((is_draft, ZERO), else_=signed)), ZERO), Quantity()),
            type_coerce(func.coalesce(func.sum(case((is_draft, InvoiceLine.quantity), else_=ZERO)), ZERO),
                        Quantity()),
        )
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .outerjoin(corrected, corrected.id == InvoiceLine.corrects_line_id)
        .where(InvoiceLine.order_line_id.in_(ids))
        .group_by(InvoiceLine.order_line_id)
    )
    if exclude_invoice_id is not None:
        query = query.where(Invoice.id != exclude_invoice_id)
    return db.session.execute(query).all()


def quantities(order_line_ids: Iterable[int], *,
               exclude_invoice_id: int | None = None) -> dict[int, tuple[Decimal, Decimal]]:
    """{order line id: (invoiced, drafted)}; lines never invoiced are absent.
    `exclude_invoice_id`: leave one invoice out (the draft being issued or edited)."""
    return {row[0]: (Decimal(row[1]), Decimal(row[2]))
            for row in _quantity_rows(order_line_ids, exclude_invoice_id=exclude_invoice_id)}


def invoiced_quantities(order_line_ids: Iterable[int], *,
                        include_drafts: bool = False) -> dict[int, Decimal]:
    """{order line id: quantity invoiced} (issued invoice lines minus quantity credited back);
    with `include_drafts` the drafts' quantities are added. Every id asked for is in the answer."""
    ids = [int(i) for i in order_line_ids if i is not None]
    found = quantities(ids)
    return {i: found.get(i, (ZERO, ZERO))[0] + (found.get(i, (ZERO, ZERO))[1] if include_drafts else ZERO)
            for i in ids}


def open_lines(order_ids: Iterable[int], *, exclude_invoice_id: int | None = None) -> list[OpenLine]:
    """Every line of the given orders (cancelled orders left out) with its received, invoiced,
    drafted and open quantities, by order then position."""
    ids = sorted({int(i) for i in order_ids})
    if not ids:
        return []
    lines = list(db.session.scalars(
        select(PurchaseOrderLine)
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.order_id)
        .where(PurchaseOrderLine.order_id.in_(ids), PurchaseOrder.status != OrderStatus.CANCELLED)
        .order_by(PurchaseOrder.id, PurchaseOrderLine.position, PurchaseOrderLine.id)
    ))
    sums = quantities([line.id for line in lines], exclude_invoice_id=exclude_invoice_id)
    result = []
    for line in lines:
        invoiced, drafted = sums.get(line.id, (ZERO, ZERO))
        received = Decimal(line.received_quantity or 0)
        result.append(OpenLine(line, received, invoiced, drafted, max(received - invoiced - drafted, ZERO)))
    return result


def _open_quantity_exists():
    """SQL: the order has a line with accepted quantity beyond what is invoiced and drafted."""
    line = aliased(PurchaseOrderLine)
    corrected = aliased(InvoiceLine)
    signed = case(
        (Invoice.kind == InvoiceKind.INVOICE, InvoiceLine.quantity),
        (corrected.unit_price == InvoiceLine.unit_price, -InvoiceLine.quantity),
        else_=ZERO,
    )
    taken = (
        select(func.coalesce(func.sum(signed), ZERO))
        .select_from(InvoiceLine)
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .outerjoin(corrected, corrected.id == InvoiceLine.corrects_line_id)
        .where(InvoiceLine.order_line_id == line.id)
        .scalar_subquery()
    )
    return (
        select(line.id)
        .where(line.order_id == PurchaseOrder.id, line.received_quantity > 0,
               line.received_quantity > taken)
        .exists()
    )


def invoiceable_orders(link: SupplierLink, *, limit: int = INVOICEABLE_LIMIT,
                       number: str = "") -> list[PurchaseOrder]:
    """The buyer's orders to this supplier (over `link`) with something received and not yet
    invoiced or drafted, newest first, at most `limit`; with `number`, those whose number
    contains it (any case)."""
    query = (select(PurchaseOrder)
             .where(PurchaseOrder.organization_id == link.organization_id,
                    PurchaseOrder.supplier_id == link.supplier_id,
                    PurchaseOrder.status != OrderStatus.CANCELLED,
                    _open_quantity_exists()))
    if number:
        query = query.where(PurchaseOrder.number.icontains(number, autoescape=True))
    return list(db.session.scalars(
        query.order_by(PurchaseOrder.created_at.desc(), PurchaseOrder.id.desc()).limit(limit)))


def has_open_quantity(order: PurchaseOrder) -> bool:
    """True when something received on `order` is not yet invoiced or drafted (the supplier's
    order page shows "Invoice what was received")."""
    if order.status == OrderStatus.CANCELLED:
        return False
    return any(line.open_quantity > 0 for line in open_lines([order.id]))




# ---------------------------------------------------------------- credit notes' VAT per code


def credited_lines(original_id: int, *, before_id: int | None = None) -> list[InvoiceLine]:
    """The lines of the credit notes of invoice `original_id` (only those issued before the
    credit note `before_id`, when given), by credit note."""
    query = (select(InvoiceLine).join(Invoice, Invoice.id == InvoiceLine.invoice_id)
             .where(Invoice.corrects_id == original_id, Invoice.kind == InvoiceKind.CREDIT_NOTE,
                    Invoice.status != InvoiceStatus.DRAFT)
             .order_by(InvoiceLine.invoice_id, InvoiceLine.position))
    if before_id is not None:
        query = query.where(Invoice.id < before_id)
    return list(db.session.scalars(query))


def credit_vat(original: Invoice, nets: Iterable[tuple[str, Decimal]], *,
               before_id: int | None = None) -> dict[str, Decimal]:
    """The VAT per code of a credit note of `original` whose lines are (code, net) pairs.

    Computed the invoice way from its nets, except that a code the note credits to its end (the
    credit notes so far plus this one take the whole net of the code) takes exactly the VAT that
    remains of the code: a whole correction always brings the invoice to zero, never a grosz
    over or under. Earlier notes of a code never exhaust it, so their own VAT is their
    `totals_by_code` VAT.
    """
    currency = original.currency
    nets = list(nets)
    own = {row.code.code: row.vat for row in totals_by_code(nets, currency).per_code}
    invoiced = {row.code.code: (row.net, row.vat) for row in totals_by_code(
        ((line.vat_code, line.net) for line in original.lines), currency).per_code}
    by_note: dict[int, list[InvoiceLine]] = {}
    for line in credited_lines(original.id, before_id=before_id):
        by_note.setdefault(line.invoice_id, []).append(line)
    net_before: dict[str, Decimal] = {}
    vat_before: dict[str, Decimal] = {}
    for note_lines in by_note.values():
        for row in totals_by_code(((ln.vat_code, ln.net) for ln in note_lines), currency).per_code:
            net_before[row.code.code] = net_before.get(row.code.code, ZERO) + row.net
            vat_before[row.code.code] = vat_before.get(row.code.code, ZERO) + row.vat
    net_now: dict[str, Decimal] = {}
    for code, net in nets:
        net_now[str(code)] = net_now.get(str(code), ZERO) + net
    for code, net in net_now.items():
        if code in invoiced and net_before.get(code, ZERO) + net == invoiced[code][0]:
            own[code] = invoiced[code][1] - vat_before.get(code, ZERO)
    return own


def credit_vat_by_code(note: Invoice) -> dict[str, Decimal]:
    """The VAT per code a stored credit note was issued with (for its PDF and KSeF XML):
    `credit_vat` of its lines against the credit notes issued before it."""
    original = note.corrects
    return credit_vat(original, ((line.vat_code, line.net) for line in note.lines), before_id=note.id)
