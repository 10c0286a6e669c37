"""The sourcing widgets of the dashboards (portal/services/dashboard.py shows them).

Buyer (buyers and admins): orders to receive (acknowledged or partially received, soonest
delivery first, late ones marked) and RFQs awaiting award (closed, or open past their deadline,
not yet awarded, longest waiting first). Supplier: RFQs to answer (open invitations not yet
quoted or declined, soonest deadline first, with the time left) and orders to acknowledge
(oldest first).

What a widget lists is a working set, not history (an order leaves it when received, an RFQ when
awarded, an invitation when answered): each widget reads its first `RECENT` rows in one
statement; only a widget that is full is counted, and the counts of a dashboard stop at
`COUNT_CAP` ("99+") and share one statement. A dashboard costs the same few statements for a
company with a million orders as for the demo.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, bindparam, select, union_all
from sqlalchemy.orm import contains_eager, joinedload

from portal.extensions import db
from portal.models.order import OrderStatus, PurchaseOrder
from portal.models.org import LinkStatus, SupplierLink
from portal.models.rfq import InvitationStatus, Quote, QuoteStatus, Rfq, RfqInvitation, RfqStatus
from portal.services import clock
from portal.services.clock import today_for
from portal.services.dashboard import COUNT_CAP, RECENT, Count, capped_statement, counted_rows

TO_RECEIVE = (OrderStatus.ACKNOWLEDGED, OrderStatus.PARTIALLY_RECEIVED)


@dataclass
class Widget:
    """A widget's first rows and how many there are in all (capped)."""

    rows: list
    count: Count

    @property
    def more(self) -> bool:
        return self.count.more or self.count.value > len(self.rows)


@dataclass(frozen=True)
class ToReceive:
    order: PurchaseOrder
    late: bool


@dataclass(frozen=True)
class ToAnswer:
    invitation: RfqInvitation
    rfq: Rfq
    draft: bool  # a quote is started (saved, not submitted)


def _counted_widgets(widgets: dict[str, Widget], parts: dict[str, dict], params: dict,
                     limit: int) -> None:
    """Count the widgets that are full (`limit` rows: there may be more), all in one statement;
    a widget with fewer rows has as many as it shows. `parts` per widget: its disjoint index
    ranges (name -> query), summed."""
    full = {name for name, widget in widgets.items() if len(widget.rows) >= limit}
    for name in set(widgets) - full:
        widgets[name].count = Count(len(widgets[name].rows))
    if not full:
        return
    queries = {f"{name}.{part}": query for name in sorted(full) for part, query in parts[name].items()}
    counts = counted_rows(db.session.execute(capped_statement(queries, COUNT_CAP), params),
                          list(queries), COUNT_CAP)
    for name in full:
        mine = [c for key, c in counts.items() if key.startswith(f"{name}.")]
        total = sum(c.value for c in mine)
        widgets[name].count = Count(min(total, COUNT_CAP), total > COUNT_CAP or any(c.more for c in mine))


def _first_rows(model, ranges, order, limit: int):
    """The first `limit` rows of `model` by `order` among several index ranges: each range
    (condition, its order in the index) gives its own first `limit` ids, and only those are
    sorted. A single statement over all the ranges (an IN or an OR) would sort every row of
    them, which grows with the company's history."""
    firsts = [select(model.id).where(where).order_by(*by).limit(limit).subquery() for where, by in ranges]
    ids = union_all(*(select(first.c.id) for first in firsts))
    return select(model).where(model.id.in_(ids)).order_by(*order).limit(limit)


# ---------------------------------------------------------------- the buyer


@functools.lru_cache(maxsize=4)
def _buyer_statements(limit: int) -> dict:
    """Built once; the company (`org`) and the moment (`now`) are bound parameters."""
    org, now = bindparam("org"), bindparam("now", type_=Rfq.deadline.type)
    closed = and_(Rfq.organization_id == org, Rfq.status == RfqStatus.CLOSED)
    expired = and_(Rfq.organization_id == org, Rfq.status == RfqStatus.OPEN, Rfq.deadline <= now)
    dated, undated = PurchaseOrder.delivery_date.is_not(None), PurchaseOrder.delivery_date.is_(None)
    return {
        # Soonest delivery first, orders without a date last: the first rows of each status, dated
        # and undated (ix_purchase_orders_org_status_delivery), merged.
        "to_receive": _first_rows(
            PurchaseOrder,
            [(and_(PurchaseOrder.organization_id == org, PurchaseOrder.status == s, when), order)
             for s in TO_RECEIVE
             for when, order in ((dated, (PurchaseOrder.delivery_date, PurchaseOrder.id)),
                                 (undated, (PurchaseOrder.id,)))],
            (undated, PurchaseOrder.delivery_date, PurchaseOrder.id), limit)
        .options(joinedload(PurchaseOrder.supplier)),
        "awaiting_award": _first_rows(
            Rfq, [(closed, (Rfq.deadline, Rfq.id)), (expired, (Rfq.deadline, Rfq.id))],
            (Rfq.deadline, Rfq.id), limit),
        # One index range each (ix_purchase_orders_org_status_*, ix_rfqs_org_status_deadline).
        "parts": {
            "to_receive": {s.value: select(PurchaseOrder.id).where(
                PurchaseOrder.organization_id == org, PurchaseOrder.status == s) for s in TO_RECEIVE},
            "awaiting_award": {"closed": select(Rfq.id).where(closed),
                               "expired": select(Rfq.id).where(expired)},
        },
    }


def buyer_sourcing(actor, *, now: datetime | None = None, limit: int = RECENT) -> dict[str, Widget]:
    """The buyer's widgets: `to_receive` (rows of `ToReceive`: `late` when the delivery date has
    passed in the company's time zone) and `awaiting_award` (rows of `Rfq`)."""
    statements = _buyer_statements(limit)
    now = now or clock.now()
    params = {"org": actor.organization_id, "now": now}
    today = today_for(actor.organization, now)
    orders = db.session.scalars(statements["to_receive"], params).unique().all()
    widgets = {
        "to_receive": Widget([ToReceive(o, o.delivery_date is not None and o.delivery_date < today)
                              for o in orders], Count(0)),
        "awaiting_award": Widget(list(db.session.scalars(statements["awaiting_award"], params)), Count(0)),
    }
    _counted_widgets(widgets, statements["parts"], params, limit)
    return widgets


# ---------------------------------------------------------------- the supplier


@functools.lru_cache(maxsize=4)
def _supplier_statements(limit: int) -> dict:
    supplier, now = bindparam("supplier"), bindparam("now", type_=Rfq.deadline.type)
    # A buyer that blocked the supplier is no customer to work for: its RFQs and orders are
    # read on their pages, never offered here as work to do (answering is refused).
    active = SupplierLink.status == LinkStatus.ACTIVE
    waiting = (select(RfqInvitation)
               .join(SupplierLink, SupplierLink.id == RfqInvitation.link_id)
               .where(RfqInvitation.supplier_id == supplier,
                      RfqInvitation.status == InvitationStatus.INVITED,
                      # the RFQ's status and deadline as copied on the invitation: read from
                      # ix_rfq_invitations_supplier_status_rfq_deadline, in its order
                      RfqInvitation.rfq_status == RfqStatus.OPEN, RfqInvitation.rfq_deadline > now,
                      active))
    issued = (select(PurchaseOrder).join(SupplierLink, SupplierLink.id == PurchaseOrder.link_id)
              .where(PurchaseOrder.supplier_id == supplier,
                     PurchaseOrder.status == OrderStatus.ISSUED, active))
    return {
        "to_answer": waiting.join(RfqInvitation.rfq).options(
            contains_eager(RfqInvitation.rfq),
            joinedload(RfqInvitation.link).joinedload(SupplierLink.buyer),
            # a draft quote started on it (one per RFQ and supplier)
        ).add_columns(select(Quote.id).where(
            Quote.rfq_id == RfqInvitation.rfq_id, Quote.supplier_id == supplier,
            Quote.status == QuoteStatus.DRAFT).limit(1).scalar_subquery())
        .order_by(RfqInvitation.rfq_deadline, RfqInvitation.id).limit(limit),
        # ix_purchase_orders_supplier_status_created: waiting longest first.
        "to_acknowledge": issued.options(joinedload(PurchaseOrder.buyer))
        .order_by(PurchaseOrder.created_at, PurchaseOrder.id).limit(limit),
        "parts": {
            "to_answer": {"invited": waiting.with_only_columns(RfqInvitation.id)},
            "to_acknowledge": {"issued": issued.with_only_columns(PurchaseOrder.id)},
        },
    }


def supplier_sourcing(actor, *, now: datetime | None = None, limit: int = RECENT) -> dict:
    """The supplier's widgets: `to_answer` (rows of `ToAnswer`, soonest deadline first) and
    `to_acknowledge` (rows of `PurchaseOrder`, oldest first), and `now` (for the time left)."""
    statements = _supplier_statements(limit)
    now = now or clock.now()
    params = {"supplier": actor.organization_id, "now": now}
    invitations = db.session.execute(statements["to_answer"], params).unique().all()
    widgets = {
        "to_answer": Widget([ToAnswer(inv, inv.rfq, draft is not None) for inv, draft in invitations],
                            Count(0)),
        "to_acknowledge": Widget(
            list(db.session.scalars(statements["to_acknowledge"], params).unique()), Count(0)),
    }
    _counted_widgets(widgets, statements["parts"], params, limit)
    return {**widgets, "now": now}


__all__ = ["Widget", "buyer_sourcing", "supplier_sourcing"]
