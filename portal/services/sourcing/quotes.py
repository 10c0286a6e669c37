"""Supplier quotes: a supplier answers an RFQ it is invited to.

One quote per supplier and RFQ (`start_quote` returns the one there is). The supplier saves it
as a draft as often as it likes (the buyer never reads a draft), submits it, and revises it
until the deadline: every submission is kept as a `QuoteRevision` with its values as exact
strings. It may instead decline with a reason, confirm its quote after the buyer amended the
RFQ, and ask clarification questions. Everything refuses after the deadline with a message
naming it, and every refusal happens before anything changes (the caller rolls back anyway).

The buyer's reads (`responses`, `submitted_quotes`) and the supplier's reads are in
`quote_reads.py` and re-exported here. Writes take the actor explicitly and flush; the caller
commits. Times come from the business clock (portal/services/clock.py) (`now=None` → `clock.now()`).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select

from portal.domain.messages import N_, Msg
from portal.errors import InvalidTransition, ValidationProblem
from portal.extensions import db
from portal.models import Quote, QuoteAttachment, QuoteLine, QuoteRevision, Rfq, RfqInvitation, RfqQuestion
from portal.models.rfq import InvitationStatus, QuoteStatus
from portal.policies import enforce
from portal.services import audit, clock
from portal.services.requisitions import (
    ALLOWED_ATTACHMENT_TYPES,
    MAX_AMOUNT,
    MAX_ATTACHMENTS,
    attachment_problem,
)
from portal.services.sourcing.quote_checks import (  # noqa: F401  (re-exported: forms and tests use them)
    MAX_ALTERNATIVE,
    MAX_CHARGES_NOTE,
    MAX_LEAD_TIME,
    MAX_LINE_NOTE,
    MAX_NOTES,
    MAX_QUESTION,
    MAX_REASON,
    MAX_REFERENCE,
    QuoteLineInput,
    QuoteProblem,
    charge,
    deadline_day,
    line_values,
    require_accepting,
    tell_buyer,
    text_of,
)
from portal.services.sourcing.quote_reads import (  # noqa: F401  (the module's public reads)
    Response,
    SealedQuotes,
    invitation_for,
    own_questions,
    quote_of,
    responses,
    revision_of,
    submitted_quotes,
    supplier_rfq_page,
    tab_counts,
)

# ---------------------------------------------------------------- starting and drafting


def start_quote(invitation: RfqInvitation, actor, *, now: datetime | None = None) -> Quote:
    """The supplier's quote for `invitation`: the existing one (one per supplier and RFQ), or a
    new draft with an empty line per RFQ line. Refused after the deadline."""
    enforce(actor, "quotes.edit", invitation)
    existing = quote_of(invitation)
    if existing is not None:
        return existing
    rfq = invitation.rfq
    require_accepting(rfq, now or clock.now())
    quote = Quote(
        organization_id=rfq.organization_id, supplier_id=invitation.supplier_id, rfq_id=rfq.id,
        invitation_id=invitation.id, currency=rfq.currency, created_by_id=actor.id,
        amendment=rfq.amendment, status=QuoteStatus.DRAFT,
    )
    for rfq_line in rfq.lines:
        quote.lines.append(QuoteLine(rfq_line_id=rfq_line.id))
    db.session.add(quote)
    db.session.flush()
    return quote


def _apply(quote: Quote, *, supplier_reference, valid_until, notes, freight, other_charges,
           charges_note, lines, now: datetime) -> Quote:
    """Check every value first, then write them all (a refusal changes nothing)."""
    rfq = quote.rfq
    today = now.date()
    header = {
        "supplier_reference": text_of(supplier_reference, MAX_REFERENCE, "supplier_reference",
                                    N_("Your quote number")),
        "notes": text_of(notes, MAX_NOTES, "notes", N_("The notes")),
        "charges_note": text_of(charges_note, MAX_CHARGES_NOTE, "charges_note",
                              N_("The note on charges")),
        "freight": charge(freight, "freight"),
        "other_charges": charge(other_charges, "other_charges"),
        "valid_until": valid_until,
    }
    rfq_lines = {line.id: line for line in rfq.lines}
    unknown = set(lines or {}) - set(rfq_lines)
    if unknown:
        raise QuoteProblem(Msg(N_("The quote names a line this RFQ does not have.")), "lines")
    values = {line_id: line_values(rfq_lines[line_id], given, today, quote.currency)
              for line_id, given in (lines or {}).items()}
    for key, value in header.items():
        setattr(quote, key, value)
    by_rfq_line = {line.rfq_line_id: line for line in quote.lines}
    for line_id in rfq_lines:
        if line_id not in by_rfq_line:  # a line the buyer added by an amendment
            by_rfq_line[line_id] = QuoteLine(rfq_line_id=line_id)
            quote.lines.append(by_rfq_line[line_id])
    for line_id, given_values in values.items():
        for key, value in given_values.items():
            setattr(by_rfq_line[line_id], key, value)
    total = sum((line.net for line in quote.lines if line.net is not None), Decimal("0.00"))
    total += quote.freight + quote.other_charges
    if total > MAX_AMOUNT:
        raise QuoteProblem(Msg(N_("The quote total would be too large.")), "lines")
    quote.net_total = total
    quote.partial = any(line.unit_price is None for line in quote.lines)
    return quote


def save_draft(quote: Quote, actor, *, supplier_reference: str = "", valid_until: date | None = None,
               notes: str = "", freight: Decimal | None = None, other_charges: Decimal | None = None,
               charges_note: str = "", lines: dict[int, QuoteLineInput] | None = None,
               now: datetime | None = None) -> Quote:
    """Save the quote as a draft, invisible to the buyer. Only a draft: a submitted quote
    changes by `revise` (the buyer's copy is always the last submission). Raises QuoteProblem
    for a value a rule refuses, InvalidTransition after the deadline or once submitted."""
    enforce(actor, "quotes.edit", quote)
    now = now or clock.now()
    require_accepting(quote.rfq, now)
    if quote.status != QuoteStatus.DRAFT:
        raise InvalidTransition(Msg(N_(
            "This quote was submitted: the buyer sees your changes when you submit a revision.")))
    _apply(quote, supplier_reference=supplier_reference, valid_until=valid_until, notes=notes,
           freight=freight, other_charges=other_charges, charges_note=charges_note, lines=lines,
           now=now)
    db.session.flush()
    return quote


def add_attachment(quote: Quote, actor, *, filename: str, content_type: str, data: bytes,
                   now: datetime | None = None) -> QuoteAttachment:
    """Attach an offer document (the requisition attachments' types and size limit). On a
    submitted quote, call it in the same transaction as `revise`: the buyer reads attachments
    as they are."""
    enforce(actor, "quotes.edit", quote)
    require_accepting(quote.rfq, now or clock.now())
    problem = attachment_problem(filename, content_type, len(data))
    if problem:
        raise QuoteProblem(problem, "attachment")
    if len(quote.attachments) >= MAX_ATTACHMENTS:
        raise QuoteProblem(Msg(N_("A quote may have at most %(n)s files."), {"n": MAX_ATTACHMENTS}),
                           "attachment")
    safe_name = filename.replace("/", "_").replace("\\", "_").strip()[:200]
    extension = safe_name.lower()[safe_name.rfind("."):]
    attachment = QuoteAttachment(
        filename=safe_name, content_type=ALLOWED_ATTACHMENT_TYPES[extension], size=len(data),
        data=data, uploaded_by_id=actor.id)
    quote.attachments.append(attachment)
    db.session.flush()
    return attachment


def remove_attachment(quote: Quote, actor, attachment: QuoteAttachment, *,
                      now: datetime | None = None) -> None:
    """Remove an offer document (as `add_attachment`: a submitted quote only with `revise`)."""
    enforce(actor, "quotes.edit", quote)
    require_accepting(quote.rfq, now or clock.now())
    if attachment.quote_id != quote.id:
        raise ValidationProblem(Msg(N_("This file is not part of the quote.")))
    quote.attachments.remove(attachment)
    db.session.flush()


# ---------------------------------------------------------------- submitting


def _check_submittable(quote: Quote, rfq: Rfq) -> None:
    missing = [line for line in quote.lines if line.unit_price is None]
    if len(missing) == len(quote.lines):
        raise QuoteProblem(Msg(N_("Enter a price for at least one line.")), "lines")
    if missing and not rfq.allow_partial:
        positions = ", ".join(str(line.rfq_line.position) for line in
                              sorted(missing, key=lambda li: li.rfq_line.position))
        raise QuoteProblem(Msg(N_(
            "This RFQ asks for a price on every line; enter one for line(s) %(lines)s."),
            {"lines": positions}), f"line_{missing[0].rfq_line_id}_unit_price")
    if quote.valid_until is None:
        raise QuoteProblem(Msg(N_("Enter the date until which your offer is valid.")), "valid_until")
    if quote.valid_until < deadline_day(rfq):
        raise QuoteProblem(Msg(N_(
            "The offer must stay valid at least until the response deadline, %(deadline)s."),
            {"deadline": rfq.deadline}), "valid_until")


def _snapshot(quote: Quote) -> dict:
    def text(value):
        return None if value is None else str(value)

    return {
        "supplier_reference": quote.supplier_reference, "currency": quote.currency,
        "valid_until": text(quote.valid_until and quote.valid_until.isoformat()),
        "notes": quote.notes, "freight": text(quote.freight),
        "other_charges": text(quote.other_charges), "charges_note": quote.charges_note,
        "net_total": text(quote.net_total), "partial": quote.partial,
        "amendment": quote.amendment,
        "lines": [{
            "rfq_line_id": line.rfq_line_id, "position": line.rfq_line.position,
            "description": line.rfq_line.description, "quantity": text(line.rfq_line.quantity),
            "unit": line.rfq_line.unit, "unit_price": text(line.unit_price),
            "net": text(line.net), "lead_time_days": line.lead_time_days,
            "delivery_date": text(line.delivery_date and line.delivery_date.isoformat()),
            "alternative": line.alternative, "note": line.note,
        } for line in sorted(quote.lines, key=lambda li: li.rfq_line.position)],
        "attachments": [{"id": a.id, "filename": a.filename, "size": a.size}
                        for a in quote.attachments],
    }


def submit(quote: Quote, actor, *, now: datetime | None = None) -> Quote:
    """Send the quote to the buyer: checked (a price on every line unless the RFQ allows
    partial quotes, then marked partial; a validity date not before the deadline), kept as a
    new revision, the invitation marked quoted, the buyer's buyers and admins told (nothing of
    other suppliers). Raises QuoteProblem or InvalidTransition (after the deadline, a decided
    quote) with nothing changed."""
    enforce(actor, "quotes.edit", quote)
    now = now or clock.now()
    rfq = quote.rfq
    require_accepting(rfq, now)
    _check_submittable(quote, rfq)
    first = quote.status == QuoteStatus.DRAFT
    quote.status = QuoteStatus.SUBMITTED
    quote.submitted_at = now
    quote.revision += 1
    quote.amendment = rfq.amendment
    quote.partial = any(line.unit_price is None for line in quote.lines)
    db.session.flush()
    quote.revisions.append(QuoteRevision(
        number=quote.revision, amendment=quote.amendment, net_total=quote.net_total,
        snapshot=_snapshot(quote), submitted_by_id=actor.id, submitted_at=now))
    invitation = quote.invitation
    invitation.status = InvitationStatus.QUOTED
    invitation.decline_reason = ""
    invitation.responded_at = now
    invitation.seen_amendment = rfq.amendment
    audit.record(actor=actor, action="quote.submitted" if first else "quote.revised", obj=quote,
                 summary={"rfq": rfq.number, "revision": quote.revision})
    text = (N_("%(supplier)s submitted a quote for %(rfq)s.") if first
            else N_("%(supplier)s revised its quote for %(rfq)s (revision %(revision)s)."))
    tell_buyer(rfq, text, actor, revision=quote.revision)
    db.session.flush()
    return quote


def revise(quote: Quote, actor, *, now: datetime | None = None, **values) -> Quote:
    """Change a quote and submit it in one step (a first submission from the form, or a
    revision of a submitted quote): `values` as `save_draft`'s."""
    enforce(actor, "quotes.edit", quote)
    now = now or clock.now()
    require_accepting(quote.rfq, now)
    _apply(quote, now=now, **{key: values.get(key, default) for key, default in (
        ("supplier_reference", ""), ("valid_until", None), ("notes", ""), ("freight", None),
        ("other_charges", None), ("charges_note", ""), ("lines", None))})
    return submit(quote, actor, now=now)


# ---------------------------------------------------------------- declining, amendments, questions


def decline(invitation: RfqInvitation, actor, *, reason: str, now: datetime | None = None) -> RfqInvitation:
    """Decline to quote, with a reason the buyer reads. Only before submitting a quote (a draft
    stays, invisible), and before the deadline."""
    enforce(actor, "quotes.decline", invitation)
    now = now or clock.now()
    rfq = invitation.rfq
    require_accepting(rfq, now)
    reason = (reason or "").strip()
    if not reason:
        raise QuoteProblem(Msg(N_("Tell the buyer why you decline.")), "reason")
    reason = text_of(reason, MAX_REASON, "reason", N_("The reason"))
    invitation.status = InvitationStatus.DECLINED
    invitation.decline_reason = reason
    invitation.responded_at = now
    audit.record(actor=actor, action="quote.declined", obj=rfq,
                 supplier_id=invitation.supplier_id, comment=reason)
    tell_buyer(rfq, N_("%(supplier)s declined to quote for %(rfq)s."), actor)
    db.session.flush()
    return invitation


def needs_confirmation(quote: Quote | None) -> bool:
    """A submitted quote answers an older amendment of the RFQ than the current one."""
    return (quote is not None and quote.status == QuoteStatus.SUBMITTED
            and quote.rfq.amendment > quote.amendment)


def confirm_amendment(quote: Quote, actor, *, now: datetime | None = None) -> Quote:
    """Keep the submitted quote as it is after the buyer amended the RFQ (or revise instead).
    Raises InvalidTransition when there is nothing to confirm or after the deadline."""
    enforce(actor, "quotes.edit", quote)
    now = now or clock.now()
    rfq = quote.rfq
    require_accepting(rfq, now)
    if not needs_confirmation(quote):
        raise InvalidTransition(Msg(N_("Your quote already answers the current version of the RFQ.")))
    quote.amendment = rfq.amendment
    quote.invitation.seen_amendment = rfq.amendment
    quote.invitation.responded_at = now
    audit.record(actor=actor, action="quote.confirmed", obj=quote,
                 summary={"rfq": rfq.number, "amendment": rfq.amendment})
    tell_buyer(rfq, N_("%(supplier)s confirmed its quote for %(rfq)s after amendment %(amendment)s."),
                actor, amendment=rfq.amendment)
    db.session.flush()
    return quote


def ask_question(rfq: Rfq, actor, *, body: str, now: datetime | None = None) -> RfqQuestion:
    """Ask the buyer a clarification question (before the deadline). The buyer reads who asked;
    the answer is published to every invited supplier without the asker's name."""
    invitation = db.session.scalars(select(RfqInvitation).where(
        RfqInvitation.rfq_id == rfq.id, RfqInvitation.supplier_id == actor.organization_id)).first()
    if invitation is None:
        raise InvalidTransition(Msg(N_("Your company is not invited to this RFQ.")))
    enforce(actor, "quotes.ask", invitation)
    now = now or clock.now()
    require_accepting(rfq, now)
    body = (body or "").strip()
    if not body:
        raise QuoteProblem(Msg(N_("Write your question first.")), "body")
    body = text_of(body, MAX_QUESTION, "body", N_("A question"))
    question = RfqQuestion(organization_id=rfq.organization_id, supplier_id=actor.organization_id,
                           rfq_id=rfq.id, body=body, asked_by_id=actor.id)
    db.session.add(question)
    db.session.flush()
    audit.record(actor=actor, action="rfq.question_asked", obj=rfq,
                 supplier_id=actor.organization_id, summary={"question": question.id})
    tell_buyer(rfq, N_("%(supplier)s asked a question about %(rfq)s."), actor)
    db.session.flush()
    return question


def mark_viewed(invitation: RfqInvitation, *, now: datetime | None = None) -> bool:
    """Note when the supplier first opened the RFQ (the buyer sees it was read). True when
    it changed something (the view then commits)."""
    if invitation.first_viewed_at is not None or invitation.link.status != "active":
        return False
    invitation.first_viewed_at = now or clock.now()
    db.session.flush()
    return True
