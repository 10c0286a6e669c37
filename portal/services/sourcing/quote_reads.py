"""Reading quotes: the buyer's sealed-aware reads, and the supplier's own RFQs and quote.

The buyer reads quotes only through `responses` (who answered and when: never a price, so it
is safe before a sealed opening) and `submitted_quotes` (the prices: never a draft, refused
while the RFQ is sealed and not opened). The supplier reads what the tenant filter shows it
(its own invitation and quote of each RFQ it is invited to) through the functions below, which
also hide an RFQ that is still a draft.

Reads rely on the session's tenant scope; nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from portal.domain import rfq as rules
from portal.domain.messages import N_, Msg
from portal.errors import PermissionDenied
from portal.extensions import db
from portal.models import (
    Organization,
    Quote,
    QuoteRevision,
    Rfq,
    RfqInvitation,
    RfqQuestion,
)
from portal.models.rfq import InvitationStatus, QuoteStatus, RfqStatus
from portal.services import clock
from portal.services.paging import LIST_PER_PAGE, Key, KeysetPage, Order, keyset

# Quotes the buyer may read the prices of (a draft never; a withdrawn one is no offer).
BUYER_READABLE = (QuoteStatus.SUBMITTED, QuoteStatus.AWARDED, QuoteStatus.LOST)
SUPPLIER_TABS = ("to_answer", "answered", "closed")


class SealedQuotes(PermissionDenied):
    """The prices of a sealed RFQ read before it was opened."""


# ---------------------------------------------------------------- the buyer's reads


@dataclass(frozen=True)
class Response:
    """One invited supplier's answer as the buyer may always see it: no price."""

    invitation_id: int
    supplier_id: int
    supplier_name: str
    status: InvitationStatus
    responded_at: datetime | None
    revisions: int
    decline_reason: str = ""
    seen_amendment: int = 0
    first_viewed_at: datetime | None = None


def responses(rfq: Rfq) -> list[Response]:
    """Per invitation of `rfq` (in invitation order): the supplier's name, the invitation's
    status (invited, quoted, declined, awarded, lost), when it answered and how many revisions
    it submitted. Never a price, never a draft's existence: safe before a sealed opening.
    Two queries, however many suppliers."""
    invitations = db.session.scalars(
        select(RfqInvitation).where(RfqInvitation.rfq_id == rfq.id)
        .options(joinedload(RfqInvitation.supplier)).order_by(RfqInvitation.id)).all()
    revisions = dict(db.session.execute(
        select(Quote.invitation_id, Quote.revision).where(
            Quote.rfq_id == rfq.id, Quote.status != QuoteStatus.DRAFT)).all())
    return [
        Response(
            invitation_id=inv.id, supplier_id=inv.supplier_id, supplier_name=inv.supplier.name,
            status=inv.status, responded_at=inv.responded_at,
            revisions=revisions.get(inv.id, 0), decline_reason=inv.decline_reason or "",
            seen_amendment=inv.seen_amendment, first_viewed_at=inv.first_viewed_at)
        for inv in invitations
    ]


def submitted_quotes(rfq: Rfq, *, now: datetime | None = None) -> list[Quote]:
    """The quotes of `rfq` the buyer may compare: submitted, awarded or lost (never a draft),
    with their lines, attachments and supplier loaded, in the order they were first submitted.

    Raises SealedQuotes (a PermissionDenied) while the RFQ is sealed and not opened."""
    now = now or clock.now()
    if not rules.buyer_sees_prices(rfq, now):
        raise SealedQuotes(Msg(N_(
            "The quotes of a sealed RFQ stay closed until they are opened after the deadline.")))
    return list(db.session.scalars(
        select(Quote).where(Quote.rfq_id == rfq.id, Quote.status.in_(BUYER_READABLE))
        .options(joinedload(Quote.supplier), selectinload(Quote.lines),
                 selectinload(Quote.attachments))
        .order_by(Quote.submitted_at, Quote.id)))


# ---------------------------------------------------------------- the supplier's reads


def _published():
    return Rfq.status != RfqStatus.DRAFT


def invitation_for(rfq_id: int, *, supplier_id: int | None = None) -> RfqInvitation | None:
    """The signed-in supplier's own invitation to RFQ `rfq_id` (the tenant filter shows a
    supplier only its own), with the RFQ and the buyer loaded; None when it is not invited, the
    RFQ is still a draft, or there is no such RFQ (the view's 404). `supplier_id` narrows it to
    one supplier when the session reads for the buyer."""
    query = (select(RfqInvitation).join(RfqInvitation.rfq)
             .where(RfqInvitation.rfq_id == rfq_id, _published())
             .options(contains_eager(RfqInvitation.rfq),
                      joinedload(RfqInvitation.link).joinedload(_link_buyer())))
    if supplier_id is not None:
        query = query.where(RfqInvitation.supplier_id == supplier_id)
    return db.session.scalars(query).first()


def quote_of(invitation: RfqInvitation) -> Quote | None:
    """The supplier's quote answering `invitation` (draft or submitted), or None."""
    return db.session.scalars(
        select(Quote).where(Quote.invitation_id == invitation.id)
        .options(selectinload(Quote.lines), selectinload(Quote.attachments),
                 selectinload(Quote.revisions))).first()


def own_questions(rfq: Rfq) -> list[RfqQuestion]:
    """The questions the signed-in supplier asked about `rfq` (the filter shows it only its
    own), oldest first, with their published answers."""
    return list(db.session.scalars(
        select(RfqQuestion).where(RfqQuestion.rfq_id == rfq.id)
        .options(joinedload(RfqQuestion.clarification), joinedload(RfqQuestion.asked_by))
        .order_by(RfqQuestion.created_at, RfqQuestion.id)))


def revision_of(quote: Quote, revision_id: int) -> QuoteRevision | None:
    """A submitted revision of `quote`, or None."""
    return db.session.scalars(select(QuoteRevision).where(
        QuoteRevision.id == revision_id, QuoteRevision.quote_id == quote.id)).first()


# The supplier's lists read the RFQ's status and deadline from its copy on each invitation
# (kept in step by the sourcing services), never through the RFQ: one supplier's invitations
# in index order, the RFQ and buyer looked up for the page's rows only.
SOONEST = Order("supplier-rfqs-deadline", Key(RfqInvitation.rfq_deadline), Key(RfqInvitation.id))
NEWEST = Order("supplier-rfqs-newest", Key(RfqInvitation.created_at, descending=True),
               Key(RfqInvitation.id, descending=True))


def _open_now(now: datetime):
    return and_(RfqInvitation.rfq_status == RfqStatus.OPEN, RfqInvitation.rfq_deadline > now)


def _tab_filter(query, tab: str, now: datetime):
    """`query` narrowed to one tab; with the parts (conditions sharing no rows, each one range
    of an index) its list is read from, or None to read it in one walk."""
    invited = RfqInvitation.status == InvitationStatus.INVITED
    answered = RfqInvitation.status.in_([InvitationStatus.QUOTED, InvitationStatus.DECLINED])
    if tab == "to_answer":  # ix_rfq_invitations_supplier_status_rfq_deadline
        return query.where(invited, _open_now(now)), None
    if tab == "answered":  # ix_rfq_invitations_supplier_rfq_status_created, per RFQ status
        return query.where(answered), [RfqInvitation.rfq_status == RfqStatus.OPEN,
                                       RfqInvitation.rfq_status == RfqStatus.CLOSED]
    # Decided, cancelled or missed: most of a supplier's history, newest first
    # (ix_rfq_invitations_supplier_created).
    return query.where(RfqInvitation.rfq_status != RfqStatus.DRAFT, or_(
        RfqInvitation.status.in_([InvitationStatus.AWARDED, InvitationStatus.LOST]),
        RfqInvitation.rfq_status.in_([RfqStatus.AWARDED, RfqStatus.CANCELLED]),
        and_(invited, ~_open_now(now)),
    )), None


def supplier_rfq_page(supplier_id: int, *, tab: str = "to_answer", cursor: str | None = None,
                      per_page: int = LIST_PER_PAGE, now: datetime | None = None,
                      count: bool = True) -> KeysetPage:
    """A page of the supplier's invitations (with RFQ and buyer) for one tab: `to_answer`
    (open, not yet quoted or declined, soonest deadline first), `answered` (quoted or declined,
    not yet decided) or `closed` (decided, cancelled, or missed), newest first. Read from the
    `rfq_invitations (supplier_id, …, id)` indexes (the RFQ's status and deadline are copied on
    each invitation); the RFQ is loaded for the page's rows only. Raises BadCursor."""
    now = now or clock.now()
    tab = tab if tab in SUPPLIER_TABS else "to_answer"
    query = (select(RfqInvitation).where(RfqInvitation.supplier_id == supplier_id)
             .options(joinedload(RfqInvitation.rfq, innerjoin=True),
                      joinedload(RfqInvitation.link).joinedload(_link_buyer())))
    query, parts = _tab_filter(query, tab, now)
    order = SOONEST if tab == "to_answer" else NEWEST
    return keyset(query, order, cursor=cursor, per_page=per_page, count=count, parts=parts)


def _link_buyer():
    from portal.models import SupplierLink

    return SupplierLink.buyer


def tab_counts(supplier_id: int, *, now: datetime | None = None, cap: int = 99) -> dict[str, int]:
    """How many RFQs wait in the "to answer" tab (bounded: a badge, not a report)."""
    from portal.services.paging import count_upto

    now = now or clock.now()
    query, _ = _tab_filter(select(RfqInvitation).where(RfqInvitation.supplier_id == supplier_id),
                           "to_answer", now)
    return {"to_answer": count_upto(query, cap, column=RfqInvitation.id)}


def buyer_of(invitation: RfqInvitation) -> Organization:
    return invitation.link.buyer


def quote_states(invitations) -> dict[int, Quote]:
    """The supplier's quote per invitation of a list page (one query): to show "draft saved"
    or the revision beside each RFQ. Looked up by (RFQ, supplier), the unique key of both an
    invitation and its quote: `quotes` has no index on `invitation_id`, and by it the planner
    read every quote of the supplier (9 ms at 1M requisitions, 0.06 ms this way)."""
    invitations = list(invitations)
    if not invitations:
        return {}
    suppliers = sorted({inv.supplier_id for inv in invitations})
    rfq_ids = sorted({inv.rfq_id for inv in invitations})
    return {q.invitation_id: q for q in db.session.scalars(
        select(Quote).where(Quote.supplier_id.in_(suppliers), Quote.rfq_id.in_(rfq_ids)))}


def snapshot_values(snapshot: dict) -> dict:
    """A revision's snapshot (exact strings) with its numbers and days typed back, to show."""
    from datetime import date
    from decimal import Decimal

    def number(value):
        return None if value in (None, "") else Decimal(value)

    def day(value):
        return None if not value else date.fromisoformat(value)

    shown = dict(snapshot)
    for key in ("freight", "other_charges", "net_total"):
        shown[key] = number(snapshot.get(key)) or Decimal("0.00")
    shown["valid_until"] = day(snapshot.get("valid_until"))
    shown["lines"] = [{**line, "quantity": number(line.get("quantity")),
                       "unit_price": number(line.get("unit_price")), "net": number(line.get("net")),
                       "delivery_date": day(line.get("delivery_date"))}
                      for line in snapshot.get("lines", [])]
    shown.setdefault("attachments", [])
    return shown
