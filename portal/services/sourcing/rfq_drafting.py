"""Drafting the buyer's RFQs: from approved requisition lines or typed lines, the header,
suppliers (active links only) and files, and the helpers the lifecycle shares (the clock, the
state moves, telling the invited suppliers, requisitions moving to and from sourcing).

Part of `portal.services.sourcing.rfqs` (which re-exports it); the caller commits.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.domain import rfq as rules
from portal.domain.labels import requisition_status_word
from portal.domain.messages import N_, Link, Msg
from portal.domain.requisition import Action, RequisitionStatus, format_number
from portal.domain.rfq import RfqAction, RfqProblem
from portal.errors import InvalidTransition
from portal.extensions import db
from portal.models import Item, LinkStatus, Requisition, RequisitionLine, SupplierLink
from portal.models.rfq import (
    InvitationStatus,
    Rfq,
    RfqAttachment,
    RfqInvitation,
    RfqLine,
    RfqStatus,
)
from portal.money import is_currency
from portal.policies import enforce
from portal.services import audit, clock, requisitions
from portal.services.catalog import FieldProblem
from portal.services.locks import lock_requisition
from portal.services.notifications import notify_organization

# The supplier's page of an RFQ (B's supplier portal): where the suppliers' notifications lead.
SUPPLIER_RFQ = "supplier.rfq"
MAX_ATTACHMENTS = 20
DEFAULT_TIME_ZONE = "Europe/Warsaw"


def _now(now: datetime | None) -> datetime:
    return now or clock.now()


def _refused(exc: RfqProblem) -> InvalidTransition:
    return InvalidTransition(exc.msg)


def _move(rfq: Rfq, action: RfqAction) -> None:
    try:
        rfq.status = RfqStatus(rules.next_status(rfq.status, action))
    except RfqProblem as exc:
        raise _refused(exc) from exc


def mirror_on_invitations(rfq: Rfq, invitations=None) -> None:
    """Copy the RFQ's status and deadline onto each of its invitations (the supplier's lists
    read them there, from an index of their own). Call after every change of either;
    `invitations`: all of the RFQ's, when the caller has them loaded already."""
    for invitation in rfq.invitations if invitations is None else invitations:
        invitation.rfq_status = rfq.status
        invitation.rfq_deadline = rfq.deadline


def _supplier_link(rfq: Rfq) -> Link:
    return Link(SUPPLIER_RFQ, {"rfq_id": rfq.id})


def _tell_suppliers(rfq: Rfq, text: str, invitations=None, **params) -> None:
    """Notify the users of each invited supplier (never naming another supplier)."""
    for invitation in invitations if invitations is not None else rfq.invitations:
        notify_organization(invitation.supplier_id, text, link=_supplier_link(rfq), kind="rfq",
                            number=rfq.number, title=rfq.title,
                            buyer=rfq_buyer_name(rfq), **params)


def rfq_buyer_name(rfq: Rfq) -> str:
    from portal.models import Organization

    org = db.session.get(Organization, rfq.organization_id)
    return org.name if org is not None else ""


# --- checks ------------------------------------------------------------------------------------


def _text(value: str | None, field: str, *, required: bool = False, limit: int = rules.MAX_TEXT,
          missing: str = N_("This field is required.")) -> str:
    value = (value or "").strip()
    if required and not value:
        raise FieldProblem(Msg(missing), field)
    if len(value) > limit:
        raise FieldProblem(Msg(N_("At most %(max)s characters."), {"max": limit}), field)
    return value


def _check_header(*, title, currency, description, delivery_address, needed_by, today) -> dict:
    values = {
        "title": _text(title, "title", required=True, limit=rules.MAX_TITLE,
                       missing=N_("Enter a title.")),
        "description": _text(description, "description"),
        "delivery_address": _text(delivery_address, "delivery_address", limit=1000),
    }
    if not is_currency(currency):
        raise FieldProblem(Msg(N_("Choose a currency from the list.")), "currency")
    if needed_by is not None and needed_by < today:
        raise FieldProblem(Msg(N_("The needed-by date cannot be in the past.")), "needed_by")
    return {**values, "currency": currency, "needed_by": needed_by}


def _check_line(*, description, quantity, vat_rate) -> None:
    if not description:
        raise FieldProblem(Msg(N_("Describe what you ask a price for.")), "description")
    if len(description) > 300:
        raise FieldProblem(Msg(N_("At most %(max)s characters."), {"max": 300}), "description")
    if quantity is None or not quantity.is_finite() or quantity <= 0:
        raise FieldProblem(Msg(N_("The quantity must be greater than zero.")), "quantity")
    if quantity.normalize().as_tuple().exponent < -3:
        raise FieldProblem(Msg(N_("The quantity may have at most 3 decimal places.")), "quantity")
    if quantity >= Decimal("1000000000"):
        raise FieldProblem(Msg(N_("The quantity is too large.")), "quantity")
    if vat_rate not in requisitions.VAT_RATES:
        raise FieldProblem(Msg(N_("Choose a VAT rate of 23, 8, 5 or 0 %.")), "vat_rate")


def _approved_lines(actor, line_ids) -> list[RequisitionLine]:
    """The requisition lines asked for, each of an approved requisition of the actor's company,
    in requisition and line order; FieldProblem otherwise."""
    ids = list(dict.fromkeys(int(i) for i in line_ids))
    if not ids:
        return []
    lines = list(db.session.scalars(
        select(RequisitionLine).join(RequisitionLine.requisition)
        .where(RequisitionLine.id.in_(ids), Requisition.organization_id == actor.organization_id)
        .options(joinedload(RequisitionLine.requisition))
        .order_by(Requisition.id, RequisitionLine.position)
    ).unique())
    if len(lines) != len(ids):
        raise FieldProblem(Msg(N_("Choose lines of your company's approved requisitions.")),
                           "requisition_line_ids")
    for req in {line.requisition for line in lines}:
        lock_requisition(req, tasks=False)
        if req.status != RequisitionStatus.APPROVED:
            raise FieldProblem(Msg(N_(
                "%(number)s is %(status)s: only lines of approved requisitions can be put out "
                "for quotes."), {"number": req.number,
                                 "status": requisition_status_word(req.status)}),
                "requisition_line_ids")
    return lines


def _source(req: Requisition, actor, rfq: Rfq) -> None:
    requisitions.move(req, Action.SOURCE)
    audit.record(actor=actor, action="requisition.sourcing", obj=req,
                 summary={"rfq": rfq.number})


def _unsource(req: Requisition, actor, rfq: Rfq, *, why: str) -> None:
    if req.status == RequisitionStatus.SOURCING:
        requisitions.move(req, Action.UNSOURCE)
        audit.record(actor=actor, action="requisition.unsourced", obj=req,
                     summary={"rfq": rfq.number, "why": why})


def source_requisitions(rfq: Rfq) -> list[Requisition]:
    """The requisitions whose lines are on `rfq`, by number."""
    ids = {line.requisition_line.requisition_id for line in rfq.lines
           if line.requisition_line is not None}
    if not ids:
        return []
    return list(db.session.scalars(
        select(Requisition).where(Requisition.id.in_(ids)).order_by(Requisition.id)))


# --- drafting ----------------------------------------------------------------------------------


def create_rfq(actor, *, title: str, currency: str | None = None, description: str = "",
               sealed: bool = True, allow_partial: bool = False, delivery_address: str = "",
               needed_by: date | None = None, requisition_line_ids=(),
               now: datetime | None = None) -> Rfq:
    """A draft RFQ numbered RFQ-<year>-<seq>, with a line per requisition line asked for (each
    kept linked to it). Those lines must be of approved requisitions of the actor's company;
    the requisitions move to `sourcing`. The currency defaults to the requisitions' (when they
    agree) or the company's. Raises PermissionDenied, FieldProblem; nothing is written then."""
    from portal.services.numbering import next_sequence

    enforce(actor, "rfqs.create")
    now = _now(now)
    lines = _approved_lines(actor, requisition_line_ids)
    currencies = {line.requisition.currency for line in lines}
    if currency is None:
        currency = currencies.pop() if len(currencies) == 1 else actor.organization.currency
    header = _check_header(title=title, currency=currency, description=description,
                           delivery_address=delivery_address, needed_by=needed_by,
                           today=now.date())
    if needed_by is None and lines:
        dates = [line.requisition.needed_by for line in lines if line.requisition.needed_by]
        header["needed_by"] = min(dates) if dates else None
    seq = next_sequence(actor.organization_id, "RFQ", now.year)
    rfq = Rfq(organization_id=actor.organization_id, number=format_number("RFQ", now.year, seq),
              status=RfqStatus.DRAFT, sealed=bool(sealed), allow_partial=bool(allow_partial),
              time_zone=actor.organization.time_zone or DEFAULT_TIME_ZONE,
              created_by_id=actor.id, **header)
    db.session.add(rfq)
    for position, line in enumerate(lines, start=1):
        rfq.lines.append(RfqLine(position=position, requisition_line_id=line.id,
                                 item_id=line.item_id, description=line.description,
                                 quantity=line.quantity, unit=line.unit or "pcs",
                                 vat_rate=line.vat_rate))
    db.session.flush()
    audit.record(actor=actor, action="rfq.created", obj=rfq,
                 summary={"number": rfq.number, "lines": len(lines)})
    for req in dict.fromkeys(line.requisition for line in lines):
        _source(req, actor, rfq)
    db.session.flush()
    return rfq


def update_rfq(rfq: Rfq, actor, *, title: str, currency: str, description: str = "",
               sealed: bool = True, allow_partial: bool = False, delivery_address: str = "",
               needed_by: date | None = None, now: datetime | None = None) -> Rfq:
    """Change a draft's header. Raises InvalidTransition once published, FieldProblem."""
    enforce(actor, "rfqs.edit", rfq)
    header = _check_header(title=title, currency=currency, description=description,
                           delivery_address=delivery_address, needed_by=needed_by,
                           today=_now(now).date())
    header.update(sealed=bool(sealed), allow_partial=bool(allow_partial))
    changes = {key: (getattr(rfq, key), value) for key, value in header.items()
               if getattr(rfq, key) != value}
    for key, value in header.items():
        setattr(rfq, key, value)
    if changes:
        audit.record(actor=actor, action="rfq.updated", obj=rfq, changes=changes)
    db.session.flush()
    return rfq


def add_line(rfq: Rfq, actor, *, description: str, quantity: Decimal, unit: str = "pcs",
             item: Item | None = None, vat_rate: Decimal = Decimal("23"), notes: str = "",
             requisition_line_id: int | None = None) -> RfqLine:
    """Add a typed line (or one more approved requisition line, `requisition_line_id`) to a
    draft. Raises InvalidTransition once published, FieldProblem for bad input."""
    enforce(actor, "rfqs.edit", rfq)
    if len(rfq.lines) >= rules.MAX_LINES:
        raise FieldProblem(Msg(N_("An RFQ may have at most %(n)s lines."), {"n": rules.MAX_LINES}), "")
    source = None
    if requisition_line_id is not None:
        if any(li.requisition_line_id == requisition_line_id for li in rfq.lines):
            raise FieldProblem(Msg(N_("This requisition line is already on the RFQ.")),
                               "requisition_line_ids")
        source = _approved_lines(actor, [requisition_line_id])[0]
        item, description, quantity = source.item, source.description, source.quantity
        unit, vat_rate = source.unit, source.vat_rate
    description = " ".join((description or (item.name if item else "")).split())
    quantity = Decimal(quantity) if quantity is not None else None
    vat_rate = Decimal(vat_rate) if vat_rate is not None else None
    _check_line(description=description, quantity=quantity, vat_rate=vat_rate)
    line = RfqLine(position=max((li.position for li in rfq.lines), default=0) + 1,
                   requisition_line_id=source.id if source else None,
                   item_id=item.id if item else None, description=description,
                   quantity=quantity, unit=((unit or "").strip() or "pcs")[:20],
                   vat_rate=vat_rate, notes=_text(notes, "notes"))
    rfq.lines.append(line)
    db.session.flush()
    audit.record(actor=actor, action="rfq.updated", obj=rfq,
                 summary={"line_added": description})
    if source is not None and source.requisition.status == RequisitionStatus.APPROVED:
        _source(source.requisition, actor, rfq)
    return line


def remove_line(rfq: Rfq, actor, line: RfqLine) -> None:
    """Take a line off a draft; a requisition none of whose lines remain goes back to approved."""
    enforce(actor, "rfqs.edit", rfq)
    if line.rfq_id != rfq.id:
        raise FieldProblem(Msg(N_("This line belongs to another RFQ.")), "")
    source = line.requisition_line.requisition if line.requisition_line is not None else None
    rfq.lines.remove(line)
    for position, remaining in enumerate(rfq.lines, start=1):
        remaining.position = position
    db.session.flush()
    audit.record(actor=actor, action="rfq.updated", obj=rfq,
                 summary={"line_removed": line.description})
    if source is not None and not any(
            li.requisition_line is not None and li.requisition_line.requisition_id == source.id
            for li in rfq.lines):
        lock_requisition(source, tasks=False)
        _unsource(source, actor, rfq, why="line_removed")
    db.session.flush()


def invite(rfq: Rfq, actor, link: SupplierLink | None) -> RfqInvitation:
    """Invite the supplier of one of the company's ACTIVE links to a draft. Raises
    InvalidTransition once published, FieldProblem for another company's, an inactive or an
    already invited link."""
    enforce(actor, "rfqs.edit", rfq)
    if link is None or link.organization_id != rfq.organization_id:
        raise FieldProblem(Msg(N_("Choose one of your suppliers.")), "link_id")
    if link.status != LinkStatus.ACTIVE:
        raise FieldProblem(Msg(N_(
            "Only active suppliers can be invited: %(name)s is not active."),
            {"name": link.supplier.name}), "link_id")
    if any(i.supplier_id == link.supplier_id for i in rfq.invitations):
        raise FieldProblem(Msg(N_("%(name)s is already invited."), {"name": link.supplier.name}),
                           "link_id")
    if len(rfq.invitations) >= rules.MAX_INVITATIONS:
        raise FieldProblem(Msg(N_("An RFQ may go to at most %(n)s suppliers."),
                               {"n": rules.MAX_INVITATIONS}), "link_id")
    invitation = RfqInvitation(organization_id=rfq.organization_id, supplier_id=link.supplier_id,
                               link_id=link.id, status=InvitationStatus.INVITED,
                               rfq_status=rfq.status or RfqStatus.DRAFT, rfq_deadline=rfq.deadline)
    rfq.invitations.append(invitation)
    db.session.flush()
    audit.record(actor=actor, action="rfq.supplier_invited", obj=rfq,
                 summary={"supplier": link.supplier.name})
    return invitation


def uninvite(rfq: Rfq, actor, invitation: RfqInvitation) -> None:
    """Take a supplier off a draft (it was never told of it)."""
    enforce(actor, "rfqs.edit", rfq)
    if invitation.rfq_id != rfq.id:
        raise FieldProblem(Msg(N_("This supplier is not invited to this RFQ.")), "")
    name = invitation.supplier.name
    rfq.invitations.remove(invitation)
    db.session.flush()
    audit.record(actor=actor, action="rfq.supplier_removed", obj=rfq, summary={"supplier": name})


def add_attachment(rfq: Rfq, actor, *, filename: str, content_type: str,
                   data: bytes) -> RfqAttachment:
    """Attach a drawing or specification to a draft: the requisition attachments' types and
    size limit. Every invited supplier downloads it."""
    enforce(actor, "rfqs.edit", rfq)
    problem = requisitions.attachment_problem(filename, content_type, len(data))
    if problem:
        raise FieldProblem(problem, "file")
    if len(rfq.attachments) >= MAX_ATTACHMENTS:
        raise FieldProblem(Msg(N_("An RFQ may have at most %(n)s files."),
                               {"n": MAX_ATTACHMENTS}), "file")
    safe_name = filename.replace("/", "_").replace("\\", "_").strip()[:200]
    extension = safe_name.lower()[safe_name.rfind("."):]
    attachment = RfqAttachment(filename=safe_name,
                               content_type=requisitions.ALLOWED_ATTACHMENT_TYPES[extension],
                               size=len(data), data=data, uploaded_by_id=actor.id)
    rfq.attachments.append(attachment)
    db.session.flush()
    audit.record(actor=actor, action="rfq.file_attached", obj=rfq, summary={"file": safe_name})
    return attachment
