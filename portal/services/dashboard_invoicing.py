"""The buyer's invoicing widgets on the dashboard (approvers and admins): invoices to approve
(issued, the soonest due first; a mismatched one only for an admin, who alone may approve it)
and overdue invoices (open, due before today in the company's time zone, the longest overdue
first).

Like the sourcing widgets, every read is bounded by its index range (`ix_invoices_org_status_due`):
each widget's first `RECENT` rows, and counts capped at `COUNT_CAP` ("99+"); both widgets cost
one statement, for a company with a million invoices as for the demo.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date

from sqlalchemy import bindparam, func, or_, select, union_all
from sqlalchemy.orm import joinedload

from portal.extensions import db
from portal.models.invoice import Invoice, InvoiceKind, InvoiceStatus, MatchStatus
from portal.services.clock import today_for
from portal.services.dashboard import COUNT_CAP, RECENT, Count, capped_counts
from portal.services.invoicing import queries
from portal.services.invoicing.queries import LIST_DEFERRED


@dataclass
class Widget:
    """A widget's first rows and how many there are in all (capped)."""

    rows: list
    count: Count

    @property
    def more(self) -> bool:
        return self.count.more or self.count.value > len(self.rows)


OPEN = (InvoiceStatus.ISSUED, InvoiceStatus.DISPUTED, InvoiceStatus.APPROVED, InvoiceStatus.PARTIALLY_PAID)


def _to_approve_where(org, *, mismatched: bool) -> list:
    where = [Invoice.organization_id == org, Invoice.status == InvoiceStatus.ISSUED,
             Invoice.due_date.isnot(None), Invoice.kind == InvoiceKind.INVOICE]
    if not mismatched:
        where.append(or_(Invoice.match_status.is_(None), Invoice.match_status != MatchStatus.MISMATCHED))
    return where


def _overdue_where(org, today, status) -> list:
    return [Invoice.organization_id == org, Invoice.status == status, Invoice.due_date < today,
            Invoice.kind == InvoiceKind.INVOICE]


@functools.lru_cache(maxsize=8)
def _statement(limit: int, cap: int, *, mismatched: bool):
    """Both widgets in one statement, built once (`org` and `today` are bound parameters): the
    first `limit` invoices of each index range (to approve: issued by due date; overdue: each
    open status by due date) with their suppliers, and on every row the two counts, each
    walking at most cap + 1 entries per range (uncorrelated: computed once)."""
    org, today = bindparam("org"), bindparam("today", type_=Invoice.due_date.type)
    approve = _to_approve_where(org, mismatched=mismatched)
    overdue = [_overdue_where(org, today, status) for status in OPEN]

    def first(where, n):
        return select(select(Invoice.id).where(*where).order_by(Invoice.due_date, Invoice.id).limit(n)
                      .subquery().c.id)

    def counted(parts):
        walked = union_all(*[select(select(Invoice.id).where(*where).limit(cap + 1).subquery().c.id)
                             for where in parts]).subquery()
        return select(func.count()).select_from(walked).scalar_subquery()

    ids = union_all(first(approve, limit), *[first(where, limit) for where in overdue])
    return (select(Invoice, counted([approve]).label("to_approve"), counted(overdue).label("overdue"))
            .where(Invoice.id.in_(ids)).options(joinedload(Invoice.supplier), *LIST_DEFERRED))


def _widget(rows: list, total: int, limit: int, cap: int) -> Widget:
    rows = sorted(rows, key=lambda inv: (inv.due_date, inv.id))[:limit]
    return Widget(rows, Count(min(total, cap), total > cap))


def buyer_invoicing(actor, *, today: date | None = None, limit: int = RECENT) -> dict:
    """{"to_approve": Widget, "overdue": Widget, "today": date} for a buyer company's
    approver or admin (rows of `Invoice`, with the supplier loaded), in one statement."""
    from portal.policies import can

    today = today or today_for(actor.organization)
    admin = can(actor, "invoices.override_match")
    found = db.session.execute(_statement(limit, COUNT_CAP, mismatched=admin),
                               {"org": actor.organization_id, "today": today}).unique().all()
    invoices = [row[0] for row in found]
    to_approve_total = found[0].to_approve if found else 0
    overdue_total = found[0].overdue if found else 0
    approvable = [inv for inv in invoices if inv.status == InvoiceStatus.ISSUED and inv.due_date is not None
                  and (admin or inv.match_status != MatchStatus.MISMATCHED)]
    late = [inv for inv in invoices if inv.status in OPEN and inv.due_date is not None and inv.due_date < today]
    return {"to_approve": _widget(approvable, to_approve_total, limit, COUNT_CAP),
            "overdue": _widget(late, overdue_total, limit, COUNT_CAP), "today": today}


__all__ = ["Widget", "buyer_invoicing"]


# ---------------------------------------------------------------- the supplier's widget

WIDGET_ROWS = 5


def supplier_invoicing(user) -> dict:
    """The supplier dashboard's invoice widget: the first drafts to issue, and how many drafts
    and overdue invoices there are (capped, "99+"): two bounded statements whatever the volume."""
    today = today_for(user.organization)
    drafts = queries.supplier_invoice_page(tab="drafts", per_page=WIDGET_ROWS, count=False, today=today)
    parts = {**queries.count_queries("supplier", "drafts", today=today),
             **queries.count_queries("supplier", "overdue", today=today)}
    counted = capped_counts(parts)
    totals = {}
    for key in ("drafts", "overdue"):
        mine = [c for name, c in counted.items() if name.partition(".")[0] == key]
        value = sum(c.value for c in mine)
        totals[key] = Count(min(value, COUNT_CAP), value > COUNT_CAP or any(c.more for c in mine))
    return {"drafts": drafts.items, "draft_count": totals["drafts"], "overdue_count": totals["overdue"]}
