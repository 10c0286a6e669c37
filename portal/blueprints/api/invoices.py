"""Invoices, credit notes and payments: `/api/v1/invoices`, `/api/v1/credit-notes`.

The same rules and services as the pages (portal/blueprints/invoices for the buyer,
portal/blueprints/supplier/invoices.py for the supplier):

- a buying company reads the invoices and credit notes addressed to it, never a supplier's draft
  (`buyer.get_for_buyer`, policy "invoices.view"); approves, disputes and pays them
  (services/invoicing/buyer.py: "invoices.approve", "invoices.dispute", "invoices.pay");
- a supplier reads what it issued, its drafts included ("supplier_invoices.view"), and issues a
  new invoice from received order lines in one call (`drafting.draft_from_orders`, optionally
  `drafting.update_draft` for chosen quantities and header fields, then `issuing.issue_invoice`,
  in one transaction: nothing is kept when the issue is refused);
- `/invoices` answers documents of kind invoice, `/credit-notes` those of kind credit note (each
  with `invoice_id`, the invoice it corrects); the stored PDF and KSeF XML of either are at
  `/invoices/{invoice_id}/pdf|xml`, exactly the bytes stored at issue.

Lists page in the sync order (updated_at, id) from the side's index (`organization_id` for the
buyer, `supplier_id` for the supplier) with the kind pinned.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal

from flask import Response, g, url_for
from marshmallow import fields, missing, validate
from sqlalchemy import select

from portal.blueprints.api.core import actor, blueprint, idempotent, requires, row_plan, sync_page
from portal.blueprints.api.schemas import (
    Amount,
    DecimalOut,
    DecimalString,
    ListArgs,
    MoneyString,
    Party,
    Problem,
    Strict,
    page_of,
)
from portal.blueprints.cache import cached_list
from portal.blueprints.problems import NOT_HERE, ApiProblem, refused
from portal.domain import exemption
from portal.errors import ValidationProblem
from portal.extensions import db
from portal.models.invoice import Invoice, InvoiceKind, InvoiceStatus, MatchStatus, Payment, owed
from portal.models.order import PurchaseOrder
from portal.models.org import OrgKind
from portal.policies import enforce
from portal.services.clock import today_for
from portal.services.invoicing import buyer, documents, drafting, issuing, queries
from portal.services.suppliers import get_customer_link

bp = blueprint("invoices", "Invoices, credit notes and payments")

STATUSES = [s.value for s in InvoiceStatus]
MATCH_STATUSES = [m.value for m in MatchStatus]
MAX_ORDERS = 100
BUYER_ONLY = {"description": "buyers only: the issuing supplier's organisation id"}
SUPPLIER_ONLY = {"description": "suppliers only: the buying organisation's id"}


# ---------------------------------------------------------------- schemas: arguments


class InvoiceListArgs(ListArgs):
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    supplier_id = fields.Integer(load_default=None, validate=validate.Range(min=1), metadata=BUYER_ONLY)
    buyer_id = fields.Integer(load_default=None, validate=validate.Range(min=1), metadata=SUPPLIER_ONLY)
    match_status = fields.String(load_default=None, validate=validate.OneOf(MATCH_STATUSES))
    overdue = fields.Boolean(load_default=None, metadata={
        "description": "true: open invoices past their due date (today where the reader is); false: the others"})


class CreditNoteListArgs(ListArgs):
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    supplier_id = fields.Integer(load_default=None, validate=validate.Range(min=1), metadata=BUYER_ONLY)
    buyer_id = fields.Integer(load_default=None, validate=validate.Range(min=1), metadata=SUPPLIER_ONLY)
    invoice_id = fields.Integer(load_default=None, validate=validate.Range(min=1),
                                metadata={"description": "only the credit notes correcting this invoice"})


class InvoiceLineQuantityIn(Strict):
    order_line_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    quantity = DecimalString(required=True, places=3, minimum=Decimal("0.001"))


class InvoiceIssueIn(Strict):
    order_ids = fields.List(fields.Integer(strict=True, validate=validate.Range(min=1)), required=True,
                            validate=validate.Length(min=1, max=MAX_ORDERS), metadata={
                                "description": "orders of ONE buyer with goods received and not yet invoiced"})
    lines = fields.List(fields.Nested(InvoiceLineQuantityIn), load_default=None,
                        validate=validate.Length(min=1, max=drafting.MAX_LINES), metadata={
                            "description": "invoice only these order lines, these quantities (default: "
                                           "every received line not yet invoiced, in full)"})
    sale_date = fields.Date(load_default=None, metadata={"description": "default: the last receipt"})
    language = fields.String(load_default=None, validate=validate.OneOf(drafting.LANGUAGES),
                             metadata={"description": "of the printed documents; default the buyer's"})
    notes = fields.String(load_default=None, validate=validate.Length(max=4000))
    annex15 = fields.Boolean(load_default=False, metadata={
        "description": "goods or services of annex 15 to the VAT act (split payment above 15 000 PLN)"})
    exchange_rate = DecimalString(load_default=None, places=6, minimum=Decimal("0.000001"), metadata={
        "description": "PLN for 1 unit of a foreign currency (a Polish seller's foreign-currency invoice)"})
    exchange_rate_date = fields.Date(load_default=None)


class InvoiceApproveIn(Strict):
    reason = fields.String(load_default=None, validate=validate.Length(max=buyer.MAX_REASON), metadata={
        "description": "required for a mismatched invoice (only an admin approves one)"})


class InvoiceDisputeIn(Strict):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=buyer.MAX_REASON))


class PaymentIn(Strict):
    amount = MoneyString(required=True, minimum=Decimal("0.01"))
    paid_on = fields.Date(required=True)
    reference = fields.String(load_default="", validate=validate.Length(max=buyer.MAX_REFERENCE))
    discount = fields.Boolean(load_default=False, metadata={
        "description": "take the early-payment discount: the amount must then be exactly the rest less it"})


# ---------------------------------------------------------------- schemas: answers


class _Overdue(fields.Boolean):
    """Derived, never stored: an open invoice past its due date, today where the reader is."""

    plain_for_mappings = True  # a row of columns carries it computed (fastdump writes it as a Boolean)

    def get_value(self, obj, attr, accessor=None, default=missing):
        if isinstance(obj, Mapping):
            return obj.get(attr, default)
        return queries.is_overdue(obj, _today())


class InvoiceSchema(Strict):
    id = fields.Integer()
    number = fields.String(allow_none=True, metadata={"description": "null while a draft"})
    status = fields.String()
    match_status = fields.String(allow_none=True)
    currency = fields.String()
    buyer = fields.Nested(Party)
    supplier = fields.Nested(Party)
    issue_date = fields.Date(allow_none=True)
    sale_date = fields.Date(allow_none=True)
    due_date = fields.Date(allow_none=True)
    period = fields.String(allow_none=True, metadata={"description": "a monthly invoice's month"})
    net_total = Amount()
    vat_total = Amount()
    gross_total = Amount()
    credited_total = Amount()
    paid_total = Amount()
    discount_taken = Amount()
    amount_due = Amount()
    paid_on = fields.Date(allow_none=True)
    overdue = _Overdue(metadata={"description": "open and past its due date (today where the reader is)"})
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class InvoiceLineSchema(Strict):
    id = fields.Integer()
    position = fields.Integer()
    order_id = fields.Integer(allow_none=True)
    order_line_id = fields.Integer(allow_none=True)
    corrects_line_id = fields.Integer(allow_none=True, metadata={"description": "credit notes: the line corrected"})
    description = fields.String()
    quantity = DecimalOut()
    unit = fields.String()
    unit_price = DecimalOut()
    vat_code = fields.String()
    vat_rate = DecimalOut(metadata={"description": "percent"})
    net = Amount()
    vat = Amount()
    gross = Amount()
    match_problem = fields.String(allow_none=True, metadata={
        "description": "why the line does not match its order and receipts (null when it does)"})


class InvoiceVatSchema(Strict):
    vat_code = fields.String()
    vat_rate = DecimalOut(metadata={"description": "percent"})
    net = Amount()
    vat = Amount()
    gross = Amount()


class InvoicePrintedPartySchema(Strict):
    name = fields.String()
    legal_name = fields.String(allow_none=True)
    tax_id = fields.String(allow_none=True)
    address_line = fields.String(allow_none=True)
    postal_code = fields.String(allow_none=True)
    city = fields.String(allow_none=True)
    country = fields.String(allow_none=True)
    iban = fields.String(allow_none=True)
    bank = fields.String(allow_none=True)


class InvoicePartiesSchema(Strict):
    seller = fields.Nested(InvoicePrintedPartySchema)
    buyer = fields.Nested(InvoicePrintedPartySchema)


class _DocumentDetail(Strict):
    """What the detail of an invoice and of a credit note share."""

    language = fields.String()
    reverse_charge = fields.Boolean()
    split_payment = fields.Boolean()
    annex15 = fields.Boolean()
    vat_exemption_basis_kind = fields.String(allow_none=True, dump_only=True, metadata={
        "enum": [*exemption.KINDS, None],
        "description": "the legal basis of the exemption of its zw lines (art. 106e ust. 1 pkt 19): a provision "
                       "of the Polish VAT act (ustawa), of Directive 2006/112/EC (dyrektywa) or another "
                       "(inna); null without one"})
    vat_exemption_basis = fields.String(allow_none=True, dump_only=True, metadata={
        "description": "the provision as printed, e.g. 'art. 43 ust. 1 pkt 37 ustawy o VAT'; null without one"})
    exchange_rate = DecimalOut(allow_none=True)
    exchange_rate_date = fields.Date(allow_none=True)
    vat_total_pln = Amount(allow_none=True)
    parties = fields.Nested(InvoicePartiesSchema, metadata={"description": "both parties as printed (frozen at issue)"})
    notes = fields.String()
    issued_at = fields.AwareDateTime(allow_none=True)
    order_ids = fields.List(fields.Integer())
    lines = fields.List(fields.Nested(InvoiceLineSchema))
    vat_summary = fields.List(fields.Nested(InvoiceVatSchema), metadata={"description": "per VAT code"})
    has_pdf = fields.Boolean()
    has_xml = fields.Boolean(metadata={"description": "a KSeF FA(3) XML is stored (Polish sellers)"})


class InvoiceDetailSchema(InvoiceSchema, _DocumentDetail):
    payment_terms = fields.Dict(metadata={"description": 'e.g. {"kind": "net", "days": 30}'})
    payment_terms_label = fields.String()
    discount_until = fields.Date(allow_none=True)
    discount_amount = Amount(allow_none=True)
    bank_account = fields.String()
    match_override_reason = fields.String()
    dispute_reason = fields.String()
    approved_at = fields.AwareDateTime(allow_none=True)
    disputed_at = fields.AwareDateTime(allow_none=True)
    credit_note_ids = fields.List(fields.Integer())
    payment_ids = fields.List(fields.Integer())


class CreditNoteSchema(Strict):
    id = fields.Integer()
    number = fields.String(allow_none=True)
    status = fields.String()
    invoice_id = fields.Integer(attribute="corrects_id", allow_none=True,
                                metadata={"description": "the invoice it corrects"})
    currency = fields.String()
    buyer = fields.Nested(Party)
    supplier = fields.Nested(Party)
    issue_date = fields.Date(allow_none=True)
    sale_date = fields.Date(allow_none=True)
    net_total = Amount()
    vat_total = Amount()
    gross_total = Amount()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class CreditNoteDetailSchema(CreditNoteSchema, _DocumentDetail):
    invoice_number = fields.String(allow_none=True)
    correction_reason = fields.String()


class PaymentSchema(Strict):
    id = fields.Integer()
    invoice_id = fields.Integer()
    paid_on = fields.Date()
    amount = Amount()
    discount = Amount(metadata={"description": "the early-payment discount this payment took"})
    reference = fields.String()
    created_at = fields.AwareDateTime()


class PaymentRecordedSchema(PaymentSchema):
    invoice_status = fields.String()
    amount_due = Amount(metadata={"description": "what is left to pay on the invoice"})


InvoicePage = page_of(InvoiceSchema)
CreditNotePage = page_of(CreditNoteSchema)
PaymentPage = page_of(PaymentSchema)


# ---------------------------------------------------------------- who reads


def _is_buyer() -> bool:
    return actor().organization.kind == OrgKind.BUYER


def _view_rule() -> str:
    return "invoices.view" if _is_buyer() else "supplier_invoices.view"


def _today() -> date:
    """Today where the caller's company is (once per request)."""
    found = g.get("api_invoices_today")
    if found is None:
        found = g.api_invoices_today = today_for(actor().organization)
    return found


def _load(invoice_id: int, kind: InvoiceKind | None = InvoiceKind.INVOICE) -> Invoice:
    """An invoice (or credit note) the caller may read: the buyer's, never a draft; the
    supplier's own, drafts included. Anything else, or the other kind, is a 404."""
    if _is_buyer():
        enforce(actor(), "invoices.view")
        invoice = buyer.get_for_buyer(invoice_id)
    else:
        enforce(actor(), "supplier_invoices.view")
        invoice = db.session.get(Invoice, invoice_id)
        if invoice is not None and invoice.supplier_id != actor().organization_id:
            invoice = None
    if invoice is None:
        raise ApiProblem(404, NOT_HERE)
    if kind is not None and invoice.kind != kind:
        where = "/credit-notes" if invoice.is_credit_note else "/invoices"
        raise ApiProblem(404, f"No {'credit note' if kind == InvoiceKind.CREDIT_NOTE else 'invoice'} has this "
                              f"id: the document is at /api/v1{where}/{invoice.id}.")
    enforce(actor(), _view_rule(), invoice)
    return invoice


def _own_side() -> str:
    """The party of every listed invoice that is the caller's company (`_listed` pins it)."""
    return "buyer" if _is_buyer() else "supplier"


def _listed(kind: InvoiceKind, args: dict):
    """The caller's side of the list: the index column first, the kind pinned."""
    org_id = actor().organization_id
    if _is_buyer():
        enforce(actor(), "invoices.view")
        if args.get("buyer_id") is not None:
            raise ApiProblem(422, "buyer_id filters a supplier's lists; a buyer filters by supplier_id.",
                             errors=[{"field": "buyer_id", "message": "Only for suppliers."}])
        query = select(Invoice).where(Invoice.organization_id == org_id, Invoice.kind == kind,
                                      Invoice.status != InvoiceStatus.DRAFT)
        if args.get("supplier_id") is not None:
            query = query.where(Invoice.supplier_id == args["supplier_id"])
    else:
        enforce(actor(), "supplier_invoices.view")
        if args.get("supplier_id") is not None:
            raise ApiProblem(422, "supplier_id filters a buyer's lists; a supplier filters by buyer_id.",
                             errors=[{"field": "supplier_id", "message": "Only for buyers."}])
        query = select(Invoice).where(Invoice.supplier_id == org_id, Invoice.kind == kind)
        if args.get("buyer_id") is not None:
            query = query.where(Invoice.organization_id == args["buyer_id"])
    if args.get("status"):
        query = query.where(Invoice.status == args["status"])
    return query


# ---------------------------------------------------------------- what answers hold


def _item(invoice: Invoice, today: date) -> dict:
    return {
        "id": invoice.id, "number": invoice.number, "status": str(invoice.status),
        "match_status": str(invoice.match_status) if invoice.match_status else None,
        "currency": invoice.currency, "buyer": invoice.buyer, "supplier": invoice.supplier,
        "issue_date": invoice.issue_date, "sale_date": invoice.sale_date, "due_date": invoice.due_date,
        "period": invoice.period, "net_total": invoice.net_total, "vat_total": invoice.vat_total,
        "gross_total": invoice.gross_total, "credited_total": invoice.credited_total,
        "paid_total": invoice.paid_total, "discount_taken": invoice.discount_taken,
        "amount_due": invoice.amount_due, "paid_on": invoice.paid_on,
        "overdue": queries.is_overdue(invoice, today),
        "created_at": invoice.created_at, "updated_at": invoice.updated_at,
    }


def _note_item(note: Invoice) -> dict:
    return {
        "id": note.id, "number": note.number, "status": str(note.status), "corrects_id": note.corrects_id,
        "currency": note.currency, "buyer": note.buyer, "supplier": note.supplier,
        "issue_date": note.issue_date, "sale_date": note.sale_date, "net_total": note.net_total,
        "vat_total": note.vat_total, "gross_total": note.gross_total,
        "created_at": note.created_at, "updated_at": note.updated_at,
    }


def _line(fact: queries.LineFacts, problem) -> dict:
    line = fact.line
    return {
        "id": line.id, "position": line.position, "order_id": line.order_id,
        "order_line_id": line.order_line_id, "corrects_line_id": line.corrects_line_id,
        "description": line.description, "quantity": line.quantity, "unit": line.unit,
        "unit_price": line.unit_price, "vat_code": line.vat_code, "vat_rate": line.vat_rate,
        "net": line.net, "vat": line.vat, "gross": line.gross,
        "match_problem": str(problem) if problem else None,
    }


def _document_detail(invoice: Invoice, facts: dict) -> dict:
    if invoice.status == InvoiceStatus.DRAFT:
        problems = issuing.match_problems(invoice)  # the preview the draft page shows
    else:
        problems = {line.id: issuing.match_problem_of(line) for line in invoice.lines}
    summary = drafting.vat_summary(invoice)
    seller, buyer_printed = buyer.parties(invoice)
    kinds = {doc.kind for doc in facts["documents"]}
    return {
        "language": invoice.language, "reverse_charge": invoice.reverse_charge,
        "split_payment": invoice.split_payment, "annex15": invoice.annex15,
        "vat_exemption_basis_kind": invoice.exemption_basis_kind or None,
        "vat_exemption_basis": invoice.exemption_basis or None,
        "exchange_rate": invoice.exchange_rate, "exchange_rate_date": invoice.exchange_rate_date,
        "vat_total_pln": invoice.vat_total_pln,
        "parties": {"seller": seller, "buyer": {k: v for k, v in buyer_printed.items() if k not in ("iban", "bank")}},
        "notes": invoice.notes or "", "issued_at": invoice.issued_at,
        "order_ids": [order.id for order in facts["orders"]],
        "lines": [_line(fact, problems.get(fact.line.id)) for fact in facts["lines"]],
        "vat_summary": [{"vat_code": row.code.code, "vat_rate": row.code.rate, "net": row.net, "vat": row.vat,
                         "gross": row.gross} for row in summary.per_code],
        "has_pdf": documents.PDF in kinds, "has_xml": documents.KSEF in kinds,
    }


def _detail(invoice: Invoice) -> dict:
    facts = queries.invoice_detail(invoice)
    terms = invoice.payment_terms
    found = _item(invoice, _today())
    found["overdue"] = facts["overdue"]
    found.update(_document_detail(invoice, facts))
    found.update({
        "payment_terms": terms.to_json() if terms else {}, "payment_terms_label": str(terms.label()) if terms else "",
        "discount_until": invoice.discount_until, "discount_amount": invoice.discount_amount,
        "bank_account": invoice.bank_account or "", "match_override_reason": invoice.match_override_reason or "",
        "dispute_reason": invoice.dispute_reason or "", "approved_at": invoice.approved_at,
        "disputed_at": invoice.disputed_at,
        "credit_note_ids": [note.id for note in facts["credit_notes"]],
        "payment_ids": [payment.id for payment in facts["payments"]],
    })
    return found


def _note_detail(note: Invoice) -> dict:
    facts = queries.invoice_detail(note)
    found = _note_item(note)
    found.update(_document_detail(note, facts))
    corrected = facts["corrected"]
    found.update({"invoice_number": corrected.number if corrected is not None else None,
                  "correction_reason": note.correction_reason or ""})
    return found


def _payment(payment: Payment) -> dict:
    return {"id": payment.id, "invoice_id": payment.invoice_id, "paid_on": payment.paid_on,
            "amount": payment.amount, "discount": payment.discount, "reference": payment.reference or "",
            "created_at": payment.created_at}


def _refused(exc: ValidationProblem, fields_map: dict[str, str]) -> ApiProblem:
    """A service's ValidationProblem as a 422 problem naming the API's field."""
    field = getattr(exc, "field", None) or None
    if field and field.startswith("lines-"):
        field = field.replace("-", ".")  # lines-0-quantity -> lines.0.quantity
    return refused(exc, fields_map.get(field, field))


# ---------------------------------------------------------------- invoices: reading

# A list reads rows, not objects (core.RowPlan): what the item shows beyond columns and parties.
_DERIVED = (
    ("amount_due", lambda item: owed(item["kind"], item["gross_total"], item["credited_total"],
                                     item["paid_total"], item["discount_taken"])),
    ("overdue", lambda item: queries.overdue(item["kind"], item["status"], item["due_date"], _today())),
)
_DERIVED_NEEDS = ("kind", "status", "due_date", "gross_total", "credited_total", "paid_total", "discount_taken")


@bp.route("/invoices", methods=["GET"])
@requires("invoices")
@cached_list
@bp.arguments(InvoiceListArgs, location="query")
@bp.response(200, InvoicePage)
@bp.alt_response(403, schema=Problem, description="The token lacks the scope invoices:read.")
@bp.alt_response(422, schema=Problem, description="A filter is not valid.")
def list_invoices(args):
    """Invoices (kind invoice): a buyer's received ones (never a draft), a supplier's issued
    ones and drafts; oldest change first, `updated_since` for a sync."""
    query = _listed(InvoiceKind.INVOICE, args)
    today = _today()
    if args.get("match_status"):
        query = query.where(Invoice.match_status == args["match_status"])
    if args.get("overdue") is True:
        query = query.where(Invoice.status.in_(queries.OPEN), Invoice.due_date < today)
    elif args.get("overdue") is False:
        query = query.where(~(Invoice.status.in_(queries.OPEN) & (Invoice.due_date < today))
                            | Invoice.due_date.is_(None))
    return sync_page(query, Invoice, args,
                     plan=row_plan(Invoice, InvoiceSchema, _DERIVED, _DERIVED_NEEDS, own=_own_side()))


@bp.route("/invoices/<int:invoice_id>", methods=["GET"])
@requires("invoices")
@bp.response(200, InvoiceDetailSchema)
@bp.alt_response(403, schema=Problem, description="The token lacks the scope invoices:read.")
@bp.alt_response(404, schema=Problem, description="No such invoice here (another organisation's, a "
                                                  "supplier's draft for a buyer, or a credit note).")
def get_invoice(invoice_id: int):
    """One invoice: parties as printed, lines with VAT and the three-way match, VAT per code,
    totals, what is due, payments and credit notes (their ids), the orders it invoices."""
    return _detail(_load(invoice_id))


@bp.route("/invoices/<int:invoice_id>/payments", methods=["GET"])
@requires("invoices")
@bp.response(200, PaymentPage)
@bp.alt_response(403, schema=Problem, description="The token lacks the scope invoices:read.")
@bp.alt_response(404, schema=Problem, description="No such invoice here.")
def list_payments(invoice_id: int):
    """The payments recorded against an invoice, oldest first (one page: an invoice's payments
    are few)."""
    invoice = _load(invoice_id)
    payments = db.session.scalars(select(Payment).where(Payment.invoice_id == invoice.id)
                                  .order_by(Payment.paid_on, Payment.id).limit(1000))
    return {"data": list(payments), "next_cursor": None}


def _file(media_type: str, description: str) -> dict:
    return {"description": description, "content": {media_type: {"schema": {"type": "string", "format": "binary"}}},
            "headers": {"ETag": {"description": "the stored document's SHA-256 (hex), quoted",
                                 "schema": {"type": "string"}}}}


def _stored(invoice: Invoice, kind: str) -> Response:
    doc = documents.document(invoice, kind)
    if doc is None:
        what = "PDF" if kind == documents.PDF else "KSeF XML"
        raise ApiProblem(404, f"No {what} is stored for this document"
                              + (" (a draft has none)." if invoice.status == InvoiceStatus.DRAFT else "."))
    return Response(documents.document_bytes(doc), mimetype=doc.content_type, headers={
        "Content-Disposition": f'attachment; filename="{doc.filename}"',
        "X-Content-Type-Options": "nosniff", "ETag": f'"{doc.sha256}"'})


@bp.route("/invoices/<int:invoice_id>/pdf", methods=["GET"])
@requires("invoices")
@bp.doc(responses={"200": _file("application/pdf", "The PDF stored at issue, byte for byte (an invoice's or a "
                                                     "credit note's).")})
@bp.alt_response(403, schema=Problem, description="The token lacks the scope invoices:read.")
@bp.alt_response(404, schema=Problem, description="No such document here, or none stored (a draft).")
def invoice_pdf(invoice_id: int):
    """The stored PDF of an issued invoice or credit note (never rendered again)."""
    return _stored(_load(invoice_id, kind=None), documents.PDF)


@bp.route("/invoices/<int:invoice_id>/xml", methods=["GET"])
@requires("invoices")
@bp.doc(responses={"200": _file("application/xml", "The KSeF FA(3) XML stored at issue (Polish sellers only).")})
@bp.alt_response(403, schema=Problem, description="The token lacks the scope invoices:read.")
@bp.alt_response(404, schema=Problem, description="No such document here, or no XML stored.")
def invoice_xml(invoice_id: int):
    """The stored KSeF XML of an issued invoice or credit note; 404 where there is none."""
    return _stored(_load(invoice_id, kind=None), documents.KSEF)


# ---------------------------------------------------------------- credit notes


@bp.route("/credit-notes", methods=["GET"])
@requires("invoices")
@cached_list
@bp.arguments(CreditNoteListArgs, location="query")
@bp.response(200, CreditNotePage)
@bp.alt_response(403, schema=Problem, description="The token lacks the scope invoices:read.")
@bp.alt_response(422, schema=Problem, description="A filter is not valid.")
def list_credit_notes(args):
    """Credit notes (each with the id of the invoice it corrects), oldest change first."""
    query = _listed(InvoiceKind.CREDIT_NOTE, args)
    if args.get("invoice_id") is not None:
        query = query.where(Invoice.corrects_id == args["invoice_id"])
    return sync_page(query, Invoice, args, plan=row_plan(Invoice, CreditNoteSchema, own=_own_side()))


@bp.route("/credit-notes/<int:invoice_id>", methods=["GET"])
@requires("invoices")
@bp.response(200, CreditNoteDetailSchema)
@bp.alt_response(403, schema=Problem, description="The token lacks the scope invoices:read.")
@bp.alt_response(404, schema=Problem, description="No such credit note here.")
def get_credit_note(invoice_id: int):
    """One credit note: what it corrects (`invoice_id`, its lines' `corrects_line_id`), why,
    its lines, VAT and totals."""
    return _note_detail(_load(invoice_id, kind=InvoiceKind.CREDIT_NOTE))


# ---------------------------------------------------------------- the supplier issues


def _link_of(order_ids: list[int]):
    """The supplier's link to the buyer of the first order (draft_from_orders checks the rest)."""
    order = db.session.get(PurchaseOrder, order_ids[0])
    if order is None or order.supplier_id != actor().organization_id:
        raise ApiProblem(422, f"Order {order_ids[0]} is not an order to your company.",
                         errors=[{"field": "order_ids.0", "message": "No such order."}])
    return get_customer_link(actor(), order.link_id)


def _chosen_lines(invoice: Invoice, wanted: list[dict]) -> list[drafting.DraftLineInput]:
    by_order_line = {line.order_line_id: line for line in invoice.lines}
    chosen = []
    for index, data in enumerate(wanted):
        line = by_order_line.get(data["order_line_id"])
        if line is None:
            raise ApiProblem(422, f"Order line {data['order_line_id']} has nothing received left to invoice "
                                  "on these orders.",
                             errors=[{"field": f"lines.{index}.order_line_id",
                                      "message": "Not a received, not yet invoiced line of these orders."}])
        chosen.append(drafting.DraftLineInput(order_line_id=line.order_line_id, quantity=data["quantity"],
                                              unit_price=line.unit_price, vat_code=line.vat_code,
                                              description=line.description))
    return chosen


@bp.route("/invoices", methods=["POST"])
@requires("invoices", write=True)
@idempotent
@bp.arguments(InvoiceIssueIn)
@bp.response(201, InvoiceDetailSchema)
@bp.alt_response(403, schema=Problem, description="Not a supplier, a blocked account, or no invoices:write.")
@bp.alt_response(404, schema=Problem, description="The buyer of the orders is not a customer of yours.")
@bp.alt_response(409, schema=Problem, description="The action is not possible in the documents' state.")
@bp.alt_response(422, schema=Problem, description="Invalid input, nothing left to invoice, no IBAN, "
                                                  "orders of several buyers or currencies...")
@bp.alt_response(428, schema=Problem, description="No Idempotency-Key header.")
def issue_invoice(data):
    """The supplier issues an invoice of what was received and not yet invoiced on the orders
    (one order: its terms; several of one buyer: consolidated, the link's terms): drafted and
    issued in one transaction (number FV/<year>/<seq>, PDF and KSeF XML stored). Refused with
    nothing kept when the issue is (no IBAN in the company profile, nothing to invoice...)."""
    enforce(actor(), "supplier_invoices.draft")
    order_ids = list(dict.fromkeys(data["order_ids"]))
    link = _link_of(order_ids)
    seller = actor()
    fields_map = {"orders": "order_ids", "iban": None, "lines": "lines"}
    try:
        invoice = drafting.draft_from_orders(link, order_ids, seller)
        wanted = data.get("lines")
        header = (data.get("sale_date"), data.get("language"), data.get("notes"), data.get("exchange_rate"))
        if wanted is not None or any(v is not None for v in header) or data.get("annex15"):
            lines = _chosen_lines(invoice, wanted) if wanted is not None else [
                drafting.DraftLineInput(order_line_id=line.order_line_id, quantity=line.quantity,
                                        unit_price=line.unit_price, vat_code=line.vat_code,
                                        description=line.description) for line in invoice.lines]
            drafting.update_draft(
                invoice, seller, lines=lines, language=data.get("language") or invoice.language,
                notes=data["notes"] if data.get("notes") is not None else invoice.notes,
                sale_date=data.get("sale_date"), annex15=bool(data.get("annex15")),
                exchange_rate=data.get("exchange_rate"), exchange_rate_date=data.get("exchange_rate_date"))
        issuing.issue_invoice(invoice, seller)
    except ValidationProblem as exc:
        raise _refused(exc, fields_map) from None
    return _detail(invoice), {"Location": url_for("api_invoices.get_invoice", invoice_id=invoice.id)}


# ---------------------------------------------------------------- the buyer decides and pays


def _buyer_invoice(invoice_id: int, rule: str) -> Invoice:
    """The buyer's invoice for an action: a missing role (or a supplier) is a 403 before the
    id is looked at; another's id, a draft or a credit note a 404; the state the service's."""
    enforce(actor(), rule)
    return _load(invoice_id)


@bp.route("/invoices/<int:invoice_id>/approve", methods=["POST"])
@requires("invoices", write=True)
@idempotent
@bp.arguments(InvoiceApproveIn)
@bp.response(200, InvoiceDetailSchema)
@bp.alt_response(403, schema=Problem, description="Not an approver or admin of the buyer (a mismatched "
                                                  "invoice: admins only), or no invoices:write.")
@bp.alt_response(404, schema=Problem, description="No such invoice here.")
@bp.alt_response(409, schema=Problem, description="Not in a state that can be approved.")
@bp.alt_response(422, schema=Problem, description="A mismatched invoice needs a reason.")
@bp.alt_response(428, schema=Problem, description="No Idempotency-Key header.")
def approve_invoice(data, invoice_id: int):
    """Approve an issued (or disputed) invoice for payment (posts the actuals to the budgets).
    A mismatched invoice: an admin only, with a `reason`."""
    invoice = _buyer_invoice(invoice_id, "invoices.approve")
    try:
        buyer.approve_invoice(invoice, actor(), override_reason=data.get("reason"))
    except ValidationProblem as exc:
        raise _refused(exc, {"override_reason": "reason"}) from None
    return _detail(invoice)


@bp.route("/invoices/<int:invoice_id>/dispute", methods=["POST"])
@requires("invoices", write=True)
@idempotent
@bp.arguments(InvoiceDisputeIn)
@bp.response(200, InvoiceDetailSchema)
@bp.alt_response(403, schema=Problem, description="Not a buyer, approver or admin of the buyer, or no "
                                                  "invoices:write.")
@bp.alt_response(404, schema=Problem, description="No such invoice here.")
@bp.alt_response(409, schema=Problem, description="Not in a state that can be disputed.")
@bp.alt_response(422, schema=Problem, description="No reason.")
@bp.alt_response(428, schema=Problem, description="No Idempotency-Key header.")
def dispute_invoice(data, invoice_id: int):
    """Dispute an issued invoice, saying why (the supplier reads it)."""
    invoice = _buyer_invoice(invoice_id, "invoices.dispute")
    try:
        buyer.dispute_invoice(invoice, actor(), reason=data["reason"])
    except ValidationProblem as exc:
        raise _refused(exc, {}) from None
    return _detail(invoice)


@bp.route("/invoices/<int:invoice_id>/payments", methods=["POST"])
@requires("invoices", write=True)
@idempotent
@bp.arguments(PaymentIn)
@bp.response(201, PaymentRecordedSchema)
@bp.alt_response(403, schema=Problem, description="Not an admin of the buyer, or no invoices:write.")
@bp.alt_response(404, schema=Problem, description="No such invoice here.")
@bp.alt_response(409, schema=Problem, description="Not approved (or partly paid): nothing to pay yet.")
@bp.alt_response(422, schema=Problem, description="A bad amount (more than is due, not to the cent...), "
                                                  "a date in the future or before the issue, no discount to take.")
@bp.alt_response(428, schema=Problem, description="No Idempotency-Key header.")
def record_payment(data, invoice_id: int):
    """Record a payment of an approved or partly paid invoice: `amount` a decimal string
    ("123.45"), never more than is due; `discount: true` takes the early-payment discount
    (the amount then settles exactly the rest)."""
    invoice = _buyer_invoice(invoice_id, "invoices.pay")
    try:
        payment = buyer.record_payment(invoice, actor(), paid_on=data["paid_on"], amount=data["amount"],
                                       reference=data.get("reference") or "",
                                       take_discount=bool(data.get("discount")))
    except ValidationProblem as exc:
        raise _refused(exc, {"take_discount": "discount"}) from None
    found = _payment(payment)
    found.update(invoice_status=str(invoice.status), amount_due=invoice.amount_due)
    return found, {"Location": url_for("api_invoices.list_payments", invoice_id=invoice.id)}

