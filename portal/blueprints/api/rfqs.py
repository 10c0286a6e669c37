"""RFQs and quotes: the buyer's RFQs and the quotes it may read; the supplier's invited RFQs and
its own quote, which it submits and revises here.

The two sides read through the same services as their pages:
- the buyer: `rfq_queries.get_for_buyer` (its own RFQ, never one it is invited to) under
  `rfqs.view`; quotes through `quote_reads.responses` (who answered and when, never a price) and
  `quote_reads.submitted_quotes` (prices: never a draft, refused while sealed and not opened);
- the supplier: `quote_reads.invitation_for` (its own invitation of a published RFQ) under
  `quotes.view`; it never reads another supplier, nor how many were invited or answered.
The supplier's list starts from `rfq_invitations` (supplier_id, updated_at, id): the RFQ's
status is copied on each invitation, so the list never reads RFQs it does not show.

Every operation is in the token scope "orders" (sourcing feeds ordering).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import NamedTuple

from flask import g, url_for
from marshmallow import Schema, fields, validate
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.blueprints.api.core import (
    actor,
    blueprint,
    idempotent,
    load_or_404,
    requires,
    row_plan,
    sync_page,
)
from portal.blueprints.api.schemas import (
    Amount,
    DecimalString,
    ListArgs,
    MoneyString,
    Party,
    Problem,
    Strict,
    page_of,
)
from portal.blueprints.cache import cached_list, until_next_deadline
from portal.blueprints.problems import NOT_HERE, ApiProblem, refused
from portal.domain import rfq as rules
from portal.models.org import OrgKind
from portal.models.rfq import Quote, Rfq, RfqInvitation, RfqStatus
from portal.policies import enforce
from portal.services import clock
from portal.services.sourcing import quote_reads, quotes, rfq_queries
from portal.services.sourcing.quote_checks import (
    MAX_ALTERNATIVE,
    MAX_CHARGES_NOTE,
    MAX_LEAD_TIME,
    MAX_LINE_NOTE,
    MAX_NOTES,
    MAX_REFERENCE,
    QuoteLineInput,
    QuoteProblem,
)

bp = blueprint("rfqs", "RFQs and quotes: the buyer's RFQs and the quotes it may read (sealed "
                       "bids stay closed until opened); the supplier's invited RFQs and its own "
                       "quote, submitted and revised until the deadline")

RFQ_STATUSES = tuple(s.value for s in RfqStatus)
MAX_QUOTE_LINES = 200

NOT_FOUND = {"schema": Problem, "description": "No such RFQ or quote, or another organisation's, "
                                               "or (supplier) an RFQ it is not invited to"}
FORBIDDEN = {"schema": Problem, "description": "The user's role or side may not do this"}
INVALID = {"schema": Problem, "description": "Invalid input: `errors` names each field"}
NO_KEY = {"schema": Problem, "description": "No Idempotency-Key header"}


# ---------------------------------------------------------------- schemas


class RfqListArgs(ListArgs):
    status = fields.String(load_default=None, validate=validate.OneOf(RFQ_STATUSES),
                           metadata={"description": "the RFQ's status"})


class RfqSupplierInvitationSchema(Schema):
    """The calling supplier's own invitation (supplier's view only)."""

    status = fields.String(metadata={"description": "invited, quoted, declined, awarded or lost"})
    responded_at = fields.AwareDateTime(allow_none=True)
    decline_reason = fields.String()
    seen_amendment = fields.Integer(metadata={"description": "the last amendment it answered"})
    quote_id = fields.Integer(allow_none=True, metadata={"description": "its quote (draft or submitted)"})


class RfqInvitedSupplierSchema(Schema):
    """One invited supplier as the buyer sees it (buyer's view only)."""

    invitation_id = fields.Integer()
    supplier = fields.Nested(Party)
    status = fields.String(metadata={"description": "invited, quoted, declined, awarded or lost"})
    responded_at = fields.AwareDateTime(allow_none=True)


class RfqSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    title = fields.String()
    status = fields.String(metadata={"description": ", ".join(RFQ_STATUSES)})
    phase = fields.String(metadata={"description": "the status, or deadline_passed for an open "
                                                   "RFQ past its deadline"})
    accepting_quotes = fields.Boolean(metadata={"description": "open and before the deadline"})
    currency = fields.String()
    sealed = fields.Boolean(metadata={"description": "prices stay closed to the buyer until opened"})
    allow_partial = fields.Boolean()
    deadline = fields.AwareDateTime(allow_none=True)
    needed_by = fields.Date(allow_none=True)
    amendment = fields.Integer()
    published_at = fields.AwareDateTime(allow_none=True)
    closed_at = fields.AwareDateTime(allow_none=True)
    opened_at = fields.AwareDateTime(allow_none=True, metadata={
        "description": "when the sealed quotes were opened (null: not yet, or not sealed)"})
    awarded_at = fields.AwareDateTime(allow_none=True)
    cancelled_at = fields.AwareDateTime(allow_none=True)
    buyer = fields.Nested(Party)
    invitation = fields.Nested(RfqSupplierInvitationSchema, metadata={
        "description": "supplier's view only: its own invitation"})
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime(metadata={
        "description": "the sync order; for a supplier, when its invitation last changed (the "
                       "RFQ's status and deadline are copied on it)"})


class RfqLineSchema(Schema):
    id = fields.Integer()
    position = fields.Integer()
    description = fields.String()
    quantity = Amount(places=3)
    unit = fields.String()
    vat_rate = Amount()
    notes = fields.String()
    item_id = fields.Integer(allow_none=True, metadata={"description": "buyer's view only"})
    requisition_line_id = fields.Integer(allow_none=True, metadata={"description": "buyer's view only"})


class RfqClarificationSchema(Schema):
    question = fields.String()
    answer = fields.String()
    published_at = fields.AwareDateTime()


class RfqAttachmentSchema(Schema):
    id = fields.Integer()
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()


class RfqDetailSchema(RfqSchema):
    description = fields.String()
    delivery_address = fields.String()
    time_zone = fields.String(metadata={"description": "where the buyer set the deadline"})
    cancel_reason = fields.String()
    lines = fields.List(fields.Nested(RfqLineSchema))
    clarifications = fields.List(fields.Nested(RfqClarificationSchema))
    attachments = fields.List(fields.Nested(RfqAttachmentSchema))
    suppliers = fields.List(fields.Nested(RfqInvitedSupplierSchema), metadata={
        "description": "buyer's view only: the invited suppliers and their answers (no prices)"})


class QuoteLineSchema(Schema):
    id = fields.Integer()
    rfq_line_id = fields.Integer()
    unit_price = Amount(places=4, allow_none=True, metadata={"description": "null: the line is not quoted"})
    net = Amount(places=2, allow_none=True)
    lead_time_days = fields.Integer(allow_none=True)
    delivery_date = fields.Date(allow_none=True)
    alternative = fields.String()
    note = fields.String()


class QuoteSchema(Schema):
    id = fields.Integer()
    rfq_id = fields.Integer()
    status = fields.String(metadata={"description": "draft (supplier only), submitted, withdrawn, "
                                                   "awarded or lost"})
    supplier = fields.Nested(Party)
    supplier_reference = fields.String(metadata={"description": "the supplier's quote number"})
    currency = fields.String()
    valid_until = fields.Date(allow_none=True)
    freight = Amount(places=2)
    other_charges = Amount(places=2)
    charges_note = fields.String()
    net_total = Amount(places=2, metadata={"description": "lines' net plus charges"})
    partial = fields.Boolean()
    notes = fields.String()
    revision = fields.Integer(metadata={"description": "submitted revisions so far"})
    amendment = fields.Integer(metadata={"description": "the RFQ amendment it answers"})
    submitted_at = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    lines = fields.List(fields.Nested(QuoteLineSchema))


class RfqResponseSchema(Schema):
    """One invited supplier's answer as the buyer may always see it: never a price."""

    invitation_id = fields.Integer()
    supplier = fields.Nested(Party)
    status = fields.String(metadata={"description": "invited, quoted, declined, awarded or lost"})
    responded_at = fields.AwareDateTime(allow_none=True)
    revisions = fields.Integer()
    decline_reason = fields.String()
    seen_amendment = fields.Integer()
    first_viewed_at = fields.AwareDateTime(allow_none=True)


class RfqQuotesSchema(Schema):
    prices_visible = fields.Boolean(metadata={
        "description": "buyer: false while a sealed RFQ is not opened (then `data` is empty)"})
    responses = fields.List(fields.Nested(RfqResponseSchema), metadata={
        "description": "buyer's view only: who answered and when, never prices"})
    data = fields.List(fields.Nested(QuoteSchema), metadata={
        "description": "buyer: the submitted quotes once prices are visible; supplier: its own "
                       "quote (draft or submitted), if any"})


class QuoteLineIn(Strict):
    rfq_line_id = fields.Integer(strict=True, required=True)
    unit_price = DecimalString(places=4, required=True, minimum=None, metadata={
        "description": "net unit price in the RFQ's currency, e.g. \"12.50\" (up to 4 decimals)"})
    lead_time_days = fields.Integer(strict=True, allow_none=True, load_default=None,
                                    validate=validate.Range(min=0, max=MAX_LEAD_TIME))
    delivery_date = fields.Date(allow_none=True, load_default=None)
    alternative = fields.String(load_default="", validate=validate.Length(max=MAX_ALTERNATIVE),
                                metadata={"description": "an alternative product offered"})
    note = fields.String(load_default="", validate=validate.Length(max=MAX_LINE_NOTE))


class QuoteIn(Strict):
    """The whole quote: submitted as the first submission or as a new revision (the buyer reads
    the last one). RFQ lines not listed are not quoted (allowed only when the RFQ allows partial
    quotes)."""

    supplier_reference = fields.String(load_default="", validate=validate.Length(max=MAX_REFERENCE),
                                       metadata={"description": "your quote number"})
    valid_until = fields.Date(required=True, metadata={
        "description": "the offer is valid until this day (not before the deadline's day)"})
    freight = MoneyString(load_default=None, allow_none=True, minimum=None)
    other_charges = MoneyString(load_default=None, allow_none=True, minimum=None)
    charges_note = fields.String(load_default="", validate=validate.Length(max=MAX_CHARGES_NOTE))
    notes = fields.String(load_default="", validate=validate.Length(max=MAX_NOTES))
    lines = fields.List(fields.Nested(QuoteLineIn), required=True,
                        validate=validate.Length(min=1, max=MAX_QUOTE_LINES))


# ---------------------------------------------------------------- shaping answers


def _is_supplier(user) -> bool:
    return user.organization.kind == OrgKind.SUPPLIER


def _rfq_fields(rfq: Rfq, now) -> dict:
    return {
        "id": rfq.id, "number": rfq.number, "title": rfq.title, "status": rfq.status,
        "phase": rules.phase(rfq, now), "accepting_quotes": rules.accepting_quotes(rfq, now),
        "currency": rfq.currency, "sealed": rfq.sealed, "allow_partial": rfq.allow_partial,
        "deadline": rfq.deadline, "needed_by": rfq.needed_by, "amendment": rfq.amendment,
        "published_at": rfq.published_at, "closed_at": rfq.closed_at, "opened_at": rfq.opened_at,
        "awarded_at": rfq.awarded_at, "cancelled_at": rfq.cancelled_at,
        "created_at": rfq.created_at, "updated_at": rfq.updated_at,
    }


def _invitation_fields(invitation: RfqInvitation, quote_id: int | None) -> dict:
    return {"status": invitation.status, "responded_at": invitation.responded_at,
            "decline_reason": invitation.decline_reason or "",
            "seen_amendment": invitation.seen_amendment, "quote_id": quote_id}


def _buyer_rfq(rfq: Rfq, now) -> dict:
    return {**_rfq_fields(rfq, now), "buyer": actor().organization}


class _BuyerRfqRow(RfqSchema):
    """A row of the buyer's RFQ list: the RFQ's columns, `phase` and `accepting_quotes` from its
    status and deadline, the buyer (the caller's company: `own`); no `invitation` (a supplier's)."""

    class Meta:
        exclude = ("invitation",)


class _Timing(NamedTuple):
    status: str
    deadline: datetime | None


def _now() -> datetime:
    """The moment a list is read at (once per request: every row's phase is judged at it)."""
    found = g.get("api_rfqs_now")
    if found is None:
        found = g.api_rfqs_now = clock.now()
    return found


_BUYER_DERIVED = (
    ("phase", lambda item: rules.phase(_Timing(item["status"], item["deadline"]), _now())),
    ("accepting_quotes", lambda item: rules.accepting_quotes(_Timing(item["status"], item["deadline"]), _now())),
)


def _supplier_rfq(invitation: RfqInvitation, now, quote_id: int | None) -> dict:
    """The RFQ as its invited supplier reads it: its own invitation, nothing of the others."""
    return {**_rfq_fields(invitation.rfq, now), "buyer": invitation.link.buyer,
            "invitation": _invitation_fields(invitation, quote_id),
            "updated_at": invitation.updated_at}


def _details(rfq: Rfq, *, buyer_side: bool) -> dict:
    lines = []
    for line in rfq.lines:
        row = {"id": line.id, "position": line.position, "description": line.description,
               "quantity": line.quantity, "unit": line.unit, "vat_rate": line.vat_rate,
               "notes": line.notes or ""}
        if buyer_side:
            row.update(item_id=line.item_id, requisition_line_id=line.requisition_line_id)
        lines.append(row)
    return {
        "description": rfq.description or "", "delivery_address": rfq.delivery_address or "",
        "time_zone": rfq.time_zone, "cancel_reason": rfq.cancel_reason or "", "lines": lines,
        "clarifications": rfq.clarifications, "attachments": rfq.attachments,
    }


# ---------------------------------------------------------------- reads


@bp.route("/rfqs", methods=["GET"])
@requires("orders")
@cached_list
@bp.arguments(RfqListArgs, location="query")
@bp.response(200, page_of(RfqSchema))
@bp.alt_response(403, **FORBIDDEN)
@bp.alt_response(422, **INVALID)
def list_rfqs(args):
    """The buyer's RFQs, or the published RFQs the supplier is invited to (its own view of
    each), oldest change first."""
    user, now = actor(), _now()
    status = args.get("status")
    if _is_supplier(user):
        enforce(user, "quotes.view")
        query = (select(RfqInvitation)
                 .where(RfqInvitation.supplier_id == user.organization_id,
                        RfqInvitation.rfq_status != RfqStatus.DRAFT)
                 .options(joinedload(RfqInvitation.rfq, innerjoin=True),
                          joinedload(RfqInvitation.link).joinedload(quote_reads._link_buyer())))
        if status is not None:
            query = query.where(RfqInvitation.rfq_status == status)
        page = sync_page(query, RfqInvitation, args)
        states = quote_reads.quote_states(page["data"])
        page["data"] = [_supplier_rfq(inv, now, getattr(states.get(inv.id), "id", None))
                        for inv in page["data"]]
        until_next_deadline(page["data"], now)
        return page
    enforce(user, "rfqs.view")
    query = select(Rfq).where(Rfq.organization_id == user.organization_id)
    if status is not None:
        query = query.where(Rfq.status == status)
    page = sync_page(query, Rfq, args,
                     plan=row_plan(Rfq, _BuyerRfqRow, _BUYER_DERIVED, ("status", "deadline"), own="buyer"))
    until_next_deadline(page["data"], now)
    return page


def _supplier_invitation(rfq_id: int) -> RfqInvitation:
    invitation = quote_reads.invitation_for(rfq_id, supplier_id=actor().organization_id)
    if invitation is None:
        raise ApiProblem(404, NOT_HERE)
    return invitation


def _buyer_rfq_or_404(rfq_id: int) -> Rfq:
    rfq = rfq_queries.get_for_buyer(rfq_id)
    if rfq is None:
        raise ApiProblem(404, NOT_HERE)
    return rfq


@bp.route("/rfqs/<int:rfq_id>", methods=["GET"])
@requires("orders")
@bp.response(200, RfqDetailSchema)
@bp.alt_response(403, **FORBIDDEN)
@bp.alt_response(404, **NOT_FOUND)
def get_rfq(rfq_id: int):
    """One RFQ with its lines, clarifications and files: the buyer's with its invited suppliers
    and their answers (no prices); the supplier's with its own invitation only."""
    user, now = actor(), clock.now()
    if _is_supplier(user):
        enforce(user, "quotes.view")
        invitation = _supplier_invitation(rfq_id)
        quote = quote_reads.quote_of(invitation)
        return {**_supplier_rfq(invitation, now, quote.id if quote else None),
                **_details(invitation.rfq, buyer_side=False)}
    enforce(user, "rfqs.view")
    rfq = _buyer_rfq_or_404(rfq_id)
    enforce(user, "rfqs.view", rfq)
    suppliers = [{"invitation_id": inv.id, "supplier": inv.supplier, "status": inv.status,
                  "responded_at": inv.responded_at} for inv in rfq.invitations]
    return {**_buyer_rfq(rfq, now), **_details(rfq, buyer_side=True), "suppliers": suppliers}


@bp.route("/rfqs/<int:rfq_id>/quotes", methods=["GET"])
@requires("orders")
@bp.response(200, RfqQuotesSchema)
@bp.alt_response(403, **FORBIDDEN)
@bp.alt_response(404, **NOT_FOUND)
def rfq_quotes(rfq_id: int):
    """The buyer: who answered and when (always, never a price) and the submitted quotes once
    their prices are visible (an unsealed RFQ, or a sealed one after its opening). The supplier:
    its own quote only."""
    user, now = actor(), clock.now()
    if _is_supplier(user):
        enforce(user, "quotes.view")
        quote = quote_reads.quote_of(_supplier_invitation(rfq_id))
        return {"prices_visible": True, "data": [quote] if quote is not None else []}
    enforce(user, "rfqs.view")
    rfq = _buyer_rfq_or_404(rfq_id)
    enforce(user, "rfqs.view", rfq)
    tax_ids = {inv.supplier_id: inv.supplier.tax_id for inv in rfq.invitations}
    answers = [{"invitation_id": r.invitation_id,
                "supplier": {"id": r.supplier_id, "name": r.supplier_name,
                             "tax_id": tax_ids.get(r.supplier_id)},
                "status": r.status, "responded_at": r.responded_at, "revisions": r.revisions,
                "decline_reason": r.decline_reason, "seen_amendment": r.seen_amendment,
                "first_viewed_at": r.first_viewed_at} for r in quote_reads.responses(rfq)]
    visible = rfq.status != RfqStatus.DRAFT and rules.buyer_sees_prices(rfq, now)
    found = quote_reads.submitted_quotes(rfq, now=now) if visible else []
    return {"prices_visible": visible, "responses": answers, "data": found}


@bp.route("/quotes/<int:quote_id>", methods=["GET"])
@requires("orders")
@bp.response(200, QuoteSchema)
@bp.alt_response(403, **FORBIDDEN)
@bp.alt_response(404, **NOT_FOUND)
def get_quote(quote_id: int):
    """One quote: the supplier's own (draft or submitted); for the buyer, a submitted quote of
    its RFQ once its prices are visible (403 while sealed; a draft is never found)."""
    user = actor()
    if _is_supplier(user):
        enforce(user, "quotes.view")
        quote = load_or_404(Quote, quote_id)
        if quote.supplier_id != user.organization_id:
            raise ApiProblem(404, NOT_HERE)
        return quote
    enforce(user, "rfqs.view")
    quote = load_or_404(Quote, quote_id)
    if quote.organization_id != user.organization_id or quote.status not in quote_reads.BUYER_READABLE:
        raise ApiProblem(404, NOT_HERE)
    rfq = _buyer_rfq_or_404(quote.rfq_id)
    enforce(user, "rfqs.view", rfq)
    if not rules.buyer_sees_prices(rfq, clock.now()):
        raise ApiProblem(403, "The quotes of a sealed RFQ stay closed until they are opened after "
                              "the deadline.", kind="sealed")
    return quote


# ---------------------------------------------------------------- the supplier's quote

_LINE_FIELD = re.compile(r"^line_(\d+)_(\w+)$")


def _field_of(field: str, positions: dict[int, int]) -> str:
    """The service's form field (`line_<rfq_line_id>_unit_price`) as the body's path."""
    match = _LINE_FIELD.match(field or "")
    if match is None:
        return field or "lines"
    index = positions.get(int(match.group(1)))
    return f"lines.{index}.{match.group(2)}" if index is not None else "lines"


@bp.route("/rfqs/<int:rfq_id>/quote", methods=["POST"])
@requires("orders", write=True)
@idempotent
@bp.arguments(QuoteIn)
@bp.response(201, QuoteSchema, description="The quote as submitted (a new revision each time)")
@bp.alt_response(403, **FORBIDDEN)
@bp.alt_response(404, **NOT_FOUND)
@bp.alt_response(409, schema=Problem, description="The deadline has passed, the RFQ no longer "
                                                   "takes quotes, the quote was decided, or the "
                                                   "buyer paused the supplier")
@bp.alt_response(422, **INVALID)
@bp.alt_response(428, **NO_KEY)
def submit_quote(data, rfq_id: int):
    """Submit the supplier's quote, or a revision of it, until the deadline: the whole quote
    each time (the buyer reads the last submission; every one is kept as a revision)."""
    user, now = actor(), clock.now()
    enforce(user, "quotes.edit")
    invitation = _supplier_invitation(rfq_id)
    rfq_line_ids = {line.id for line in invitation.rfq.lines}
    positions: dict[int, int] = {}
    errors = []
    for index, line in enumerate(data["lines"]):
        line_id = line["rfq_line_id"]
        if line_id not in rfq_line_ids:
            errors.append({"field": f"lines.{index}.rfq_line_id", "message": "Not a line of this RFQ."})
        elif line_id in positions:
            errors.append({"field": f"lines.{index}.rfq_line_id", "message": "This line is given twice."})
        positions.setdefault(line_id, index)
    if errors:
        raise ApiProblem(422, "The quote's lines do not match the RFQ.", errors=errors)
    given = {line["rfq_line_id"]: QuoteLineInput(
        unit_price=line["unit_price"], lead_time_days=line["lead_time_days"],
        delivery_date=line["delivery_date"], alternative=line["alternative"] or "",
        note=line["note"] or "") for line in data["lines"]}
    lines = {line_id: given.get(line_id, QuoteLineInput()) for line_id in sorted(rfq_line_ids)}
    try:
        quote = quotes.start_quote(invitation, user, now=now)
        quote = quotes.revise(
            quote, user, now=now, supplier_reference=data["supplier_reference"],
            valid_until=data["valid_until"], notes=data["notes"], freight=data["freight"],
            other_charges=data["other_charges"], charges_note=data["charges_note"], lines=lines)
    except QuoteProblem as exc:
        raise refused(exc, _field_of(exc.field, positions)) from exc
    location = url_for("api_rfqs.get_quote", quote_id=quote.id)
    return quote, 201, {"Location": location}
