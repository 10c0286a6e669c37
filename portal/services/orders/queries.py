"""Reading purchase orders: the buyer's list and the supplier's (keyset, each view read from the
`purchase_orders` index that matches its filter and sort), one order for its page, its
timeline, its documents, its revisions' changes, and the CSV rows of a list.

The tenant filter scopes every read; the buyer's reads add the owner and the supplier's reads
the supplier explicitly, so a supplier never reads its customers' orders through the buyer's
list, nor a buyer the orders another buyer sent to a supplier it shares.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from functools import partial

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from portal.domain.orders import OPEN, TO_RECEIVE
from portal.extensions import db
from portal.models import AuditEvent, Requisition, RequisitionLine
from portal.models.order import OrderStatus, PurchaseOrder, PurchaseOrderDocument, PurchaseOrderLine
from portal.services.orders.actions import decode_changes
from portal.services.paging import LIST_PER_PAGE, Key, KeysetPage, Order, Segment, every_page, keyset

S = OrderStatus
VIEWS = ("all", "to_acknowledge", "to_receive", "received", "cancelled", "open")
SUPPLIER_VIEWS = ("to_acknowledge", "open", "all")

NEWEST = Order("orders", Key(PurchaseOrder.created_at, descending=True), Key(PurchaseOrder.id, descending=True))
# Orders to receive: the soonest delivery first, orders without a date after them.
BY_DELIVERY = Order("orders-delivery", segments=(
    Segment((Key(PurchaseOrder.delivery_date), Key(PurchaseOrder.id)),
            where=PurchaseOrder.delivery_date.isnot(None)),
    Segment((Key(PurchaseOrder.id),), where=PurchaseOrder.delivery_date.is_(None)),
))
MAX_SEARCH = 40


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _statuses(view: str) -> tuple[OrderStatus, ...] | None:
    return {
        "to_acknowledge": (S.ISSUED,),
        "to_receive": TO_RECEIVE,
        "received": (S.RECEIVED, S.CLOSED),
        "cancelled": (S.CANCELLED,),
        "open": OPEN,
    }.get(view)


def _by_status(statuses):
    """One condition per status (each its own index range), or None for every status."""
    if statuses is None:
        return None
    return [PurchaseOrder.status == status for status in statuses]


def _buyer_query(org_id: int, *, supplier_id: int | None, q: str, budget_id: int | None = None):
    stmt = (select(PurchaseOrder).where(PurchaseOrder.organization_id == org_id)
            .options(joinedload(PurchaseOrder.supplier)))
    if supplier_id is not None:
        stmt = stmt.where(PurchaseOrder.supplier_id == supplier_id)
    if budget_id is not None:  # the open commitments page links a budget's orders (helper F)
        stmt = stmt.where(PurchaseOrder.budget_id == budget_id)
    q = (q or "").strip()[:MAX_SEARCH]
    if q:
        stmt = stmt.where(PurchaseOrder.number.ilike(f"%{_escape_like(q)}%", escape="\\"))
    return stmt


def order_page(actor, *, view: str = "all", supplier_id: int | None = None, q: str = "",
               cursor: str | None = None, per_page: int = LIST_PER_PAGE, count: bool = True,
               budget_id: int | None = None) -> KeysetPage:
    """A page of the buying company's orders in `view` (all, to_acknowledge, to_receive,
    received, cancelled), newest first (to_receive: soonest delivery first), filtered by
    supplier and a search in the number. Raises BadCursor for a cursor it did not give out."""
    view = view if view in VIEWS else "all"
    stmt = _buyer_query(actor.organization_id, supplier_id=supplier_id, q=q, budget_id=budget_id)
    order = BY_DELIVERY if view == "to_receive" else NEWEST
    return keyset(stmt, order, cursor=cursor, per_page=per_page, count=count,
                  parts=_by_status(_statuses(view)))


def supplier_order_page(actor, *, view: str = "to_acknowledge", cursor: str | None = None,
                        per_page: int = LIST_PER_PAGE, count: bool = True) -> KeysetPage:
    """A page of the orders addressed to the supplier's company in `view` (to_acknowledge,
    open, all), newest first, with the buyer loaded."""
    view = view if view in SUPPLIER_VIEWS else "to_acknowledge"
    stmt = (select(PurchaseOrder).where(PurchaseOrder.supplier_id == actor.organization_id)
            .options(joinedload(PurchaseOrder.buyer)))
    return keyset(stmt, NEWEST, cursor=cursor, per_page=per_page, count=count,
                  parts=_by_status(_statuses(view)))


def export_rows(actor, *, view: str = "all", supplier_id: int | None = None, q: str = "",
                chunk: int = 500) -> Iterator[PurchaseOrder]:
    """Every order of a buyer's list view (for its CSV), read page by page on the list's index."""
    return every_page(partial(order_page, actor), chunk=chunk, view=view, supplier_id=supplier_id, q=q)


def supplier_export_rows(actor, *, view: str = "all", chunk: int = 500) -> Iterator[PurchaseOrder]:
    """Every order of a supplier's list view (for its CSV), read page by page on its index."""
    return every_page(partial(supplier_order_page, actor), chunk=chunk, view=view)


def to_acknowledge_count(actor, cap: int = 99) -> int:
    """How many orders wait for the supplier's acknowledgement (a badge), up to `cap` + 1."""
    from portal.services.paging import count_upto

    stmt = select(PurchaseOrder).where(PurchaseOrder.supplier_id == actor.organization_id,
                                       PurchaseOrder.status == S.ISSUED)
    return count_upto(stmt, cap, column=PurchaseOrder.id)


# ---------------------------------------------------------------- one order


def _one(order_id: int | None, *where):
    if order_id is None:
        return None
    return db.session.scalars(
        select(PurchaseOrder).where(PurchaseOrder.id == order_id, *where)
        .options(joinedload(PurchaseOrder.supplier), joinedload(PurchaseOrder.buyer),
                 joinedload(PurchaseOrder.link), joinedload(PurchaseOrder.issued_by),
                 joinedload(PurchaseOrder.acknowledged_by), joinedload(PurchaseOrder.rfq),
                 selectinload(PurchaseOrder.lines), selectinload(PurchaseOrder.documents))
    ).first()


def get_for_buyer(order_id: int | None, actor) -> PurchaseOrder | None:
    """The buyer's own order (None otherwise: the 404)."""
    return _one(order_id, PurchaseOrder.organization_id == actor.organization_id)


def get_for_supplier(order_id: int | None, actor) -> PurchaseOrder | None:
    """An order addressed to the supplier's company (None otherwise: the 404)."""
    return _one(order_id, PurchaseOrder.supplier_id == actor.organization_id)


def order_events(order: PurchaseOrder) -> list[AuditEvent]:
    """The order's audit trail, oldest first."""
    return list(db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.object_type == "PurchaseOrder", AuditEvent.object_id == order.id)
        .options(joinedload(AuditEvent.actor), joinedload(AuditEvent.on_behalf_of))
        .order_by(AuditEvent.created_at, AuditEvent.id)
    ).unique())


def source_requisitions(order: PurchaseOrder) -> list[Requisition]:
    """The requisitions the order's lines come from, by number."""
    ids = (select(RequisitionLine.requisition_id)
           .join(PurchaseOrderLine, PurchaseOrderLine.requisition_line_id == RequisitionLine.id)
           .where(PurchaseOrderLine.order_id == order.id))
    return list(db.session.scalars(select(Requisition).where(Requisition.id.in_(ids)).order_by(Requisition.number)))


def find_document(order: PurchaseOrder, document_id: int | None) -> PurchaseOrderDocument | None:
    """One stored PDF of `order` (None otherwise)."""
    if document_id is None:
        return None
    return db.session.scalars(select(PurchaseOrderDocument).where(
        PurchaseOrderDocument.id == document_id, PurchaseOrderDocument.order_id == order.id)).first()


def _typed(field: str, value: str):
    if not value:
        return None
    try:
        if field in ("quantity", "unit_price"):
            return Decimal(value)
        if field == "delivery_date":
            return date.fromisoformat(value)
    except (ArithmeticError, ValueError):
        return value
    return value


def revisions(order: PurchaseOrder) -> list[tuple[PurchaseOrderDocument, list[dict]]]:
    """The order's stored PDFs, newest revision first, each with its changes (values typed
    back: quantities and prices as Decimal, dates as dates, for the reader's formats)."""
    found = []
    for doc in sorted(order.documents, key=lambda d: -d.revision):
        changes = [{**c, "before": _typed(c.get("field", ""), c.get("before", "")),
                    "after": _typed(c.get("field", ""), c.get("after", ""))}
                   for c in decode_changes(doc.changes)]
        found.append((doc, changes))
    return found
