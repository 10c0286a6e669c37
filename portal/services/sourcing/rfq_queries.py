"""Reading the buyer's RFQs: the list (keyset on the `rfqs` indexes), one RFQ for its pages,
its timeline, questions waiting for an answer, and the approved requisitions an RFQ can be
made from. Reads rely on the session's tenant scope and add the owner explicitly, so a
supplier invited to an RFQ never reads it through these (its pages use the quotes service).
"""

from __future__ import annotations

from datetime import datetime
from functools import partial

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from portal.domain import rfq as rules
from portal.domain.requisition import RequisitionStatus
from portal.extensions import db
from portal.models import AuditEvent, Requisition, RequisitionLine
from portal.models.rfq import (
    InvitationStatus,
    Rfq,
    RfqInvitation,
    RfqLine,
    RfqQuestion,
    RfqStatus,
)
from portal.services import clock
from portal.services.paging import LIST_PER_PAGE, Key, KeysetPage, Order, every_page, keyset
from portal.tenancy.scope import current_scope

VIEWS = ("all", "drafts", "open", "closing_soon", "awaiting_award", "awarded", "cancelled")
NEWEST = Order("rfqs", Key(Rfq.created_at, descending=True), Key(Rfq.id, descending=True))
BY_DEADLINE = Order("rfqs-deadline", Key(Rfq.deadline), Key(Rfq.id))
# How many approved requisitions the "new RFQ" page offers (newest first).
OFFERED_REQUISITIONS = 30


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _owner_id() -> int | None:
    scope = current_scope(db.session)
    return scope.org_id if scope is not None else None


def get_for_buyer(rfq_id: int | None) -> Rfq | None:
    """The current organisation's own RFQ (not one it is invited to), with its lines,
    invitations (and their suppliers), files and clarifications; None otherwise (the 404)."""
    if rfq_id is None:
        return None
    stmt = select(Rfq).where(Rfq.id == rfq_id).options(
        selectinload(Rfq.lines).joinedload(RfqLine.requisition_line)
        .joinedload(RequisitionLine.requisition),
        selectinload(Rfq.invitations).joinedload(RfqInvitation.supplier),
        selectinload(Rfq.invitations).joinedload(RfqInvitation.link),
        selectinload(Rfq.attachments), selectinload(Rfq.clarifications),
        joinedload(Rfq.created_by), joinedload(Rfq.opened_by),
    )
    owner = _owner_id()
    if owner is not None:
        stmt = stmt.where(Rfq.organization_id == owner)
    return db.session.scalars(stmt).first()


def _view_query(stmt, view: str, now: datetime):
    """(query, order, parts) of a list view; each reads one range of an `rfqs` index."""
    if view == "drafts":
        return stmt.where(Rfq.status == RfqStatus.DRAFT), NEWEST, None
    if view == "open":
        return (stmt.where(Rfq.status == RfqStatus.OPEN, Rfq.deadline > now), BY_DEADLINE, None)
    if view == "closing_soon":
        return (stmt.where(Rfq.status == RfqStatus.OPEN, Rfq.deadline > now,
                           Rfq.deadline <= now + rules.CLOSING_SOON), BY_DEADLINE, None)
    if view == "awaiting_award":
        parts = [Rfq.status == RfqStatus.CLOSED,
                 and_(Rfq.status == RfqStatus.OPEN, Rfq.deadline <= now)]
        return stmt.where(or_(*parts)), BY_DEADLINE, parts
    if view == "awarded":
        return stmt.where(Rfq.status == RfqStatus.AWARDED), NEWEST, None
    if view == "cancelled":
        return stmt.where(Rfq.status == RfqStatus.CANCELLED), NEWEST, None
    return stmt, NEWEST, None


def rfq_page(actor, *, view: str = "all", q: str = "", supplier_id: int | None = None,
             cursor: str | None = None, per_page: int = LIST_PER_PAGE,
             now: datetime | None = None, count: bool = True) -> KeysetPage:
    """A page of the actor's company's RFQs in one of `VIEWS`: all and drafts, awarded,
    cancelled newest first; open (deadline ahead) and closing soon (within 48 h) by deadline;
    awaiting award (closed, or open past the deadline) by deadline. `q` searches the number
    and title; `supplier_id` keeps the RFQs that supplier is invited to. Raises BadCursor for
    a cursor this list did not give out."""
    now = now or clock.now()
    view = view if view in VIEWS else "all"
    stmt = select(Rfq).where(Rfq.organization_id == actor.organization_id)
    q = (q or "").strip()
    if q:
        pattern = f"%{_escape_like(q.lower())}%"
        stmt = stmt.where(or_(func.lower(Rfq.number).like(pattern, escape="\\"),
                              func.lower(Rfq.title).like(pattern, escape="\\")))
    if supplier_id is not None:
        stmt = stmt.where(Rfq.id.in_(select(RfqInvitation.rfq_id).where(
            RfqInvitation.organization_id == actor.organization_id,
            RfqInvitation.supplier_id == supplier_id)))
    stmt, order, parts = _view_query(stmt, view, now)
    return keyset(stmt, order, cursor=cursor, per_page=per_page, count=count, parts=parts)


def export_rows(actor, *, view: str = "all", q: str = "", supplier_id: int | None = None,
                now: datetime | None = None, chunk: int = 500):
    """Every RFQ of a list view (for its CSV), read page by page on the list's index, each with
    its (invited, answered) counts (one query per page)."""
    pages = every_page(partial(rfq_page, actor), chunk=chunk, view=view, q=q, supplier_id=supplier_id,
                       now=now)
    batch: list = []
    for rfq in pages:
        batch.append(rfq)
        if len(batch) == chunk:
            yield from _with_counts(batch)
            batch = []
    yield from _with_counts(batch)


def _with_counts(rfqs: list):
    counts = response_counts(rfqs)
    for rfq in rfqs:
        yield rfq, counts.get(rfq.id, (0, 0))


def response_counts(rfqs) -> dict[int, tuple[int, int]]:
    """rfq id -> (suppliers invited, of them answered: quoted or declined), one query for a
    page of RFQs (no names, no prices)."""
    ids = [r.id for r in rfqs]
    if not ids:
        return {}
    answered = func.sum(func.cast(RfqInvitation.status.in_(
        [InvitationStatus.QUOTED, InvitationStatus.DECLINED, InvitationStatus.AWARDED,
         InvitationStatus.LOST]), db.Integer))
    rows = db.session.execute(
        select(RfqInvitation.rfq_id, func.count(), answered)
        .where(RfqInvitation.rfq_id.in_(ids)).group_by(RfqInvitation.rfq_id))
    return {rfq_id: (invited, int(done or 0)) for rfq_id, invited, done in rows}


def rfq_events(rfq: Rfq) -> list[AuditEvent]:
    """The RFQ's audit trail, oldest first."""
    return list(db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.object_type == "Rfq", AuditEvent.object_id == rfq.id)
        .options(joinedload(AuditEvent.actor), joinedload(AuditEvent.on_behalf_of))
        .order_by(AuditEvent.created_at, AuditEvent.id)
    ).unique())


def open_questions(rfq: Rfq) -> list[RfqQuestion]:
    """Suppliers' questions waiting for an answer, oldest first (the buyer sees who asked)."""
    return list(db.session.scalars(
        select(RfqQuestion).where(RfqQuestion.rfq_id == rfq.id,
                                  RfqQuestion.organization_id == rfq.organization_id,
                                  RfqQuestion.clarification_id.is_(None))
        .options(joinedload(RfqQuestion.supplier), joinedload(RfqQuestion.asked_by))
        .order_by(RfqQuestion.created_at, RfqQuestion.id)
    ).unique())


def find_question(rfq: Rfq, question_id: int) -> RfqQuestion | None:
    return db.session.scalars(select(RfqQuestion).where(
        RfqQuestion.id == question_id, RfqQuestion.rfq_id == rfq.id,
        RfqQuestion.organization_id == rfq.organization_id)).first()


def approved_requisitions(actor, *, requisition_id: int | None = None,
                          limit: int = OFFERED_REQUISITIONS) -> list[Requisition]:
    """The company's approved requisitions (newest first, at most `limit`, and the one asked
    for by id when it is approved) with their lines: what a new RFQ is made from."""
    base = select(Requisition).where(Requisition.organization_id == actor.organization_id,
                                     Requisition.status == RequisitionStatus.APPROVED)
    ids = list(db.session.scalars(
        base.with_only_columns(Requisition.id)
        .order_by(Requisition.created_at.desc(), Requisition.id.desc()).limit(limit)))
    if requisition_id is not None and requisition_id not in ids:
        wanted = db.session.scalar(base.with_only_columns(Requisition.id)
                                   .where(Requisition.id == requisition_id))
        if wanted is not None:
            ids.insert(0, wanted)
    if not ids:
        return []
    found = {r.id: r for r in db.session.scalars(
        select(Requisition).where(Requisition.id.in_(ids))
        .options(selectinload(Requisition.lines), joinedload(Requisition.cost_center))).unique()}
    return [found[i] for i in ids if i in found]
