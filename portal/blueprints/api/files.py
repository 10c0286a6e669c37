"""Bulk files: every list's CSV export, and the catalog, budget and price-list imports.

`GET /exports/{name}` answers the SAME file as the page's "Export CSV" link of that list for the
token's user: the page's own table function (`export_table` beside the page's export view) builds
the header and rows, `csv_response` writes them (the user's language, separator and decimal
mark, formula-safe cells), streamed. The list's filters are query parameters, validated per
export (a parameter another export takes is refused here); the page's policy rule is enforced.

`POST /imports/{catalog,budgets,agreements}` take the pages' files (a `text/csv` body, or a
multipart upload in the field `file`) and run the pages' services: the catalog and budget
imports save the good rows and report the bad ones (200 with the report, as the pages); a price
list (agreements) is all or nothing (422 with the rows' problems, nothing saved, as the page).
A file refused whole (not CSV, missing columns, too many rows) is a 422 problem; one larger than
the page accepts a 413.
"""

from __future__ import annotations

from dataclasses import dataclass

import flask_babel
from flask import current_app, g, request
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from portal.blueprints import problems
from portal.blueprints.admin import audit_export as audit_pages
from portal.blueprints.agreements import views as agreement_pages
from portal.blueprints.api.core import actor, blueprint, idempotent, load_or_404, requires
from portal.blueprints.api.schemas import MoneyString, Problem, Strict
from portal.blueprints.budgets import views as budget_pages
from portal.blueprints.catalog import views as catalog_pages
from portal.blueprints.edge import csv_response, in_transaction, scoped_rows
from portal.blueprints.invoices import views as invoice_pages
from portal.blueprints.orders import views as order_pages
from portal.blueprints.problems import ApiProblem, refused
from portal.blueprints.requisitions import lists as requisition_pages
from portal.blueprints.requisitions import queries as requisition_queries
from portal.blueprints.requisitions.forms import SORT_KEYS
from portal.blueprints.rfqs import views as rfq_pages
from portal.blueprints.supplier import invoices as supplier_invoice_pages
from portal.blueprints.supplier import orders as supplier_order_pages
from portal.blueprints.suppliers import views as supplier_pages
from portal.domain import api_scopes
from portal.domain import catalog as catalog_rules
from portal.domain.audit_events import OBJECT_TYPES
from portal.domain.requisition import RequisitionStatus
from portal.errors import ValidationProblem
from portal.models import Budget, LinkStatus
from portal.policies import enforce
from portal.services import agreements, audit_log, budget_import, price_proposals, suppliers
from portal.services.catalog_import import import_items_csv
from portal.services.invoicing import queries as invoice_queries
from portal.services.orders import queries as order_queries
from portal.services.sourcing import rfq_queries

bp = blueprint("files", "CSV exports of every list, and CSV imports (catalog, budgets, price lists)")

ID = {"validate": validate.Range(min=1, max=2**31 - 1)}


# ---------------------------------------------------------------- the exports' filters


class RequisitionExportArgs(Strict):
    scope = fields.String(load_default="mine", validate=validate.OneOf(requisition_pages.SCOPES),
                          metadata={"description": "requisitions: `mine` (the user's own) or `all` "
                                                   "(the company's; approvers and admins)"})
    q = fields.String(load_default="", validate=validate.Length(max=100),
                      metadata={"description": "requisitions, orders, rfqs, invoices, "
                                               "supplier-invoices: search text (number or title)"})
    status = fields.String(load_default="", validate=validate.OneOf([s.value for s in RequisitionStatus]),
                           metadata={"description": "requisitions: status"})
    cost_center_id = fields.Integer(load_default=None, **ID, metadata={"description": "requisitions"})
    requester_id = fields.Integer(load_default=None, **ID,
                                  metadata={"description": "requisitions (with scope=all)"})
    created_from = fields.Date(load_default=None, metadata={"description": "requisitions"})
    created_to = fields.Date(load_default=None, metadata={"description": "requisitions"})
    amount_min = MoneyString(load_default=None, minimum=0,
                             metadata={"description": "requisitions: gross from"})
    amount_max = MoneyString(load_default=None, minimum=0,
                             metadata={"description": "requisitions: gross to"})
    sort = fields.String(load_default="created", validate=validate.OneOf(SORT_KEYS),
                         metadata={"description": "requisitions: sort key"})
    dir = fields.String(load_default="desc", validate=validate.OneOf(("asc", "desc")),
                        metadata={"description": "requisitions: sort direction"})


class OrderExportArgs(Strict):
    view = fields.String(load_default="all", validate=validate.OneOf(order_queries.VIEWS))
    supplier_id = fields.Integer(load_default=None, **ID)
    q = fields.String(load_default="", validate=validate.Length(max=order_queries.MAX_SEARCH))


class SupplierOrderExportArgs(Strict):
    view = fields.String(load_default="to_acknowledge", validate=validate.OneOf(order_queries.SUPPLIER_VIEWS))


class RfqExportArgs(Strict):
    view = fields.String(load_default="all", validate=validate.OneOf(rfq_queries.VIEWS))
    supplier_id = fields.Integer(load_default=None, **ID)
    q = fields.String(load_default="", validate=validate.Length(max=100))


class InvoiceExportArgs(Strict):
    tab = fields.String(load_default=invoice_pages.TAB_KEYS[0], validate=validate.OneOf(invoice_pages.TAB_KEYS))
    supplier_id = fields.Integer(load_default=None, **ID)
    q = fields.String(load_default="", validate=validate.Length(max=invoice_queries.MAX_SEARCH))


class SupplierInvoiceExportArgs(Strict):
    tab = fields.String(load_default="drafts",
                        validate=validate.OneOf([key for key, _label in invoice_queries.SUPPLIER_TABS]))
    buyer_id = fields.Integer(load_default=None, **ID)
    q = fields.String(load_default="", validate=validate.Length(max=supplier_invoice_pages.MAX_SEARCH))


class BudgetLedgerExportArgs(Strict):
    budget_id = fields.Integer(required=True, **ID)


class CatalogExportArgs(Strict):
    q = fields.String(load_default="", validate=validate.Length(max=100))
    category_id = fields.Integer(load_default=None, **ID)
    status = fields.String(load_default="active", validate=validate.OneOf(catalog_pages.STATUSES))


class AgreementExportArgs(Strict):
    link_id = fields.Integer(load_default=None, **ID)
    state = fields.String(load_default="", validate=validate.OneOf(agreements.STATES))


BUDGET_STATUSES = ("open", "closed", "all")


class BudgetExportArgs(Strict):
    status = fields.String(load_default="open", validate=validate.OneOf(BUDGET_STATUSES))
    year = fields.Integer(load_default=None, validate=validate.Range(min=2000, max=2100))


class SupplierExportArgs(Strict):
    status = fields.String(load_default="", validate=validate.OneOf([s.value for s in LinkStatus]))
    q = fields.String(load_default="", validate=validate.Length(max=100))


class AuditExportArgs(Strict):
    object_type = fields.String(load_default=None, validate=validate.OneOf(OBJECT_TYPES))
    actor_id = fields.Integer(load_default=None, **ID)
    date_from = fields.Date(load_default=None)
    date_to = fields.Date(load_default=None)

    @validates_schema
    def _period(self, data, **_kwargs):
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            raise ValidationError("The last day cannot be before the first.", "date_to")


class ExportArgs(Strict):
    """Every export's filters (the document's one list); each export takes only its own."""

    scope = fields.String(metadata={"description": "requisitions: `mine` (default) or `all`"})
    view = fields.String(metadata={"description": "orders: " + ", ".join(order_queries.VIEWS)
                                   + "; supplier-orders: " + ", ".join(order_queries.SUPPLIER_VIEWS)
                                   + "; rfqs: " + ", ".join(rfq_queries.VIEWS)})
    tab = fields.String(metadata={"description": "invoices: " + ", ".join(invoice_pages.TAB_KEYS)
                                  + "; supplier-invoices: "
                                  + ", ".join(key for key, _label in invoice_queries.SUPPLIER_TABS)})
    q = fields.String(validate=validate.Length(max=100), metadata={
        "description": "requisitions, orders, rfqs, invoices, supplier-invoices: search text; "
                       "catalog: SKU or name; suppliers: name or tax ID"})
    status = fields.String(metadata={"description": "requisitions: "
                                     + ", ".join(s.value for s in RequisitionStatus)
                                     + "; catalog: " + ", ".join(catalog_pages.STATUSES)
                                     + " (active unless the user manages the catalog); budgets: "
                                     + ", ".join(BUDGET_STATUSES) + "; suppliers: "
                                     + ", ".join(s.value for s in LinkStatus)})
    cost_center_id = fields.Integer(**ID, metadata={"description": "requisitions"})
    requester_id = fields.Integer(**ID, metadata={"description": "requisitions (scope=all)"})
    created_from = fields.Date(metadata={"description": "requisitions"})
    created_to = fields.Date(metadata={"description": "requisitions"})
    amount_min = MoneyString(minimum=0, metadata={"description": "requisitions: gross from"})
    amount_max = MoneyString(minimum=0, metadata={"description": "requisitions: gross to"})
    sort = fields.String(metadata={"description": "requisitions: " + ", ".join(SORT_KEYS)})
    dir = fields.String(metadata={"description": "requisitions: asc or desc"})
    supplier_id = fields.Integer(**ID, metadata={"description": "orders, rfqs, invoices"})
    buyer_id = fields.Integer(**ID, metadata={"description": "supplier-invoices"})
    budget_id = fields.Integer(**ID, metadata={"description": "budget-ledger (required)"})
    category_id = fields.Integer(**ID, metadata={"description": "catalog"})
    link_id = fields.Integer(**ID, metadata={"description": "agreements: one supplier link (GET /suppliers)"})
    state = fields.String(metadata={"description": "agreements: " + ", ".join(agreements.STATES)
                                    + " (today)"})
    year = fields.Integer(metadata={"description": "budgets: budgets whose period meets the year"})
    object_type = fields.String(metadata={"description": "audit-log: " + ", ".join(OBJECT_TYPES)})
    actor_id = fields.Integer(**ID, metadata={"description": "audit-log: the person who acted"})
    date_from = fields.Date(metadata={"description": "audit-log: first day (UTC)"})
    date_to = fields.Date(metadata={"description": "audit-log: last day (UTC)"})


# ---------------------------------------------------------------- the exports


def _requisitions(args: dict):
    if args["scope"] == "all":
        enforce(actor(), "requisitions.view_all")
    elif args["requester_id"] is not None:
        raise ApiProblem(422, "requester_id needs scope=all.",
                         errors=[{"field": "requester_id", "message": "Only with scope=all."}])
    filters = requisition_queries.ListFilters(
        q=args["q"].strip(), status=args["status"], cost_center_id=args["cost_center_id"],
        requester_id=args["requester_id"], created_from=args["created_from"],
        created_to=args["created_to"], amount_min=args["amount_min"], amount_max=args["amount_max"],
        sort=args["sort"], direction=args["dir"])
    return requisition_pages.export_table(args["scope"], filters)


def _budget_ledger(args: dict):
    filename, header, rows = budget_pages.ledger_table(load_or_404(Budget, args["budget_id"]))
    # One budget's entries, read by the page's query before the request's session closes
    # (the other lists read page by page while streaming).
    return filename, header, list(rows)


@dataclass(frozen=True)
class Export:
    area: str
    rule: str  # the page's policy rule
    args: type[Schema]
    table: object  # args -> (filename, header, rows): the page's own table function


EXPORTS: dict[str, Export] = {
    "requisitions": Export("requisitions", "requisitions.view", RequisitionExportArgs, _requisitions),
    "budget-ledger": Export("requisitions", "budgets.view", BudgetLedgerExportArgs, _budget_ledger),
    "rfqs": Export("orders", "rfqs.view", RfqExportArgs, lambda a: rfq_pages.export_table(
        a["view"], a["q"], a["supplier_id"])),
    "orders": Export("orders", "orders.view", OrderExportArgs, lambda a: order_pages.export_table(
        {"view": a["view"], "supplier": a["supplier_id"], "q": a["q"]})),
    "supplier-orders": Export("orders", "orders.supplier_view", SupplierOrderExportArgs,
                              lambda a: supplier_order_pages.orders_export_table(a["view"])),
    "invoices": Export("invoices", "invoices.view", InvoiceExportArgs, lambda a: invoice_pages.export_table(
        {"tab": a["tab"], "supplier": a["supplier_id"], "q": a["q"]})),
    "supplier-invoices": Export("invoices", "supplier_invoices.view", SupplierInvoiceExportArgs,
                                lambda a: supplier_invoice_pages.invoices_export_table(
                                    {"tab": a["tab"], "buyer": a["buyer_id"], "q": a["q"].strip()})),
    "catalog": Export("catalog", "catalog.view", CatalogExportArgs, lambda a: catalog_pages.export_table(
        catalog_pages.list_filters(a["q"].strip(), a["category_id"], a["status"]))),
    "agreements": Export("catalog", "agreements.view", AgreementExportArgs,
                         lambda a: agreement_pages.export_table({"link": a["link_id"], "state": a["state"]})),
    "budgets": Export("requisitions", "budgets.view", BudgetExportArgs,
                      lambda a: budget_pages.list_table(a["status"], a["year"])),
    "suppliers": Export("suppliers", "suppliers.view", SupplierExportArgs,
                        lambda a: supplier_pages.export_table(a["status"], a["q"].strip())),
    # The audit log is the organisation admin's (the page's rule `audit.view`, enforced here as
    # on every export). No area covers it; `webhooks` is the area that is already the admin's
    # alone (integration settings) and is about the organisation's events, for buyers and
    # suppliers alike: a token with it, acting as anyone but an admin, still gets 403.
    "audit-log": Export("webhooks", "audit.view", AuditExportArgs,
                        lambda a: audit_pages.audit_table(audit_log.AuditFilter(
                            object_type=a["object_type"], actor_id=a["actor_id"],
                            date_from=a["date_from"], date_to=a["date_to"]))),
}
NAMES = tuple(EXPORTS)
EXPORT_SCOPES = {name: api_scopes.scope(export.area) for name, export in EXPORTS.items()}


def _as_page_user() -> None:
    """The page's table functions read the signed-in user (flask-login's `current_user`: the
    actor, the language, the time zone): for this request that is the user the token acts as
    (set for the request only; no session, no cookie)."""
    g._login_user = actor()
    flask_babel.refresh()


def _checked_args(schema: type[Schema], args) -> dict:
    try:
        return schema().load({key: args.get(key) for key in args})
    except ValidationError as exc:
        raise ApiProblem(422, "The request has invalid fields.",
                         errors=problems.field_errors(exc.messages)) from None


EXPORT_DOC = (
    "The CSV file of a list, exactly as the page's **Export CSV** link gives it to the token's "
    "user (UTF-8 with a BOM; the user's language, separator and decimal mark: `;` and `1,5` for "
    "Polish, `,` and `1.5` otherwise), every row of the filtered list, streamed. Each export takes "
    "its list's filters (other parameters are refused) and needs the scope of its area: "
    + "; ".join(f"`{name}` {scope}" for name, scope in EXPORT_SCOPES.items()) + ". "
    "`supplier-orders` and `supplier-invoices` are the supplier's lists; `budget-ledger` needs "
    "`budget_id`; `audit-log` is the organisation admin's (buyer or supplier): its scope is "
    "`webhooks:read`, the admin's own area, and the user must be an admin; it writes at most "
    "100 000 events a file (more is a 422: export the log by period with `date_from`/`date_to`)."
)


@bp.route(f"/exports/<any({', '.join(repr(n) for n in NAMES)}):name>", methods=["GET"])
@in_transaction  # the requisitions' rows stream from a server-side cursor (yield_per)
@bp.arguments(ExportArgs, location="query")
@bp.response(200, description="The CSV file", content_type="text/csv")
@bp.alt_response(401, schema=Problem, description="No token, or a revoked or expired one")
@bp.alt_response(403, schema=Problem,
                 description="The token lacks the export's scope, or the user may not see the list")
@bp.alt_response(404, schema=Problem, description="No such export, or the budget belongs to another organisation")
@bp.alt_response(422, schema=Problem, description="An invalid filter, or one this export does not take, "
                 "or an audit log longer than one file carries")
@bp.doc(summary="Download a list as CSV", description=EXPORT_DOC, security=[{"bearerAuth": []}],
        responses={"200": {"description": "The CSV file",
                           "content": {"text/csv": {"schema": {"type": "string"}}}}},
        **{"x-scopes": EXPORT_SCOPES})
def export(_args, name: str):
    chosen = EXPORTS[name]
    needed = EXPORT_SCOPES[name]
    if not api_scopes.grants(g.api_token.scopes, needed):
        raise ApiProblem(403, f"The token lacks the scope '{needed}'.", kind="insufficient-scope")
    args = _checked_args(chosen.args, request.args)
    enforce(actor(), chosen.rule)
    _as_page_user()
    filename, header, rows = chosen.table(args)
    return csv_response(filename, header, scoped_rows(rows), stream=True)


# ---------------------------------------------------------------- the imports


class ImportError_(Schema):
    row = fields.Integer(metadata={"description": "the row's number as a spreadsheet counts (the header is row 1)"})
    key = fields.String(metadata={"description": "the row's SKU (catalog, price list) or cost centre (budgets)"})
    column = fields.String(allow_none=True, metadata={"description": "the column, when known"})
    messages = fields.List(fields.String())


class ImportReportSchema(Schema):
    status = fields.String(metadata={"description": "`imported` (every row saved), `partial` (the "
                                     "good rows saved, the rows in errors not) or `nothing` (no row saved)"})
    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()
    rejected = fields.Integer()
    errors = fields.List(fields.Nested(ImportError_))


class ProposalImportArgs(Strict):
    customer_id = fields.Integer(required=True, **ID, metadata={
        "description": "the supplier's customer link (GET /customers)"})
    note = fields.String(load_default="", validate=validate.Length(max=2000),
                         metadata={"description": "a note to the customer"})


class ProposalImportSchema(Schema):
    proposal_id = fields.Integer()
    status = fields.String()
    lines = fields.Integer(metadata={"description": "prices proposed"})
    customer = fields.String()


def _upload(max_bytes: int) -> tuple[bytes, str]:
    """The file of an import request and its name: the body (`text/csv`) or the multipart
    field `file`. Larger than `max_bytes`: 413."""
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise ApiProblem(422, "Send the CSV in the multipart field 'file'.",
                             errors=[{"field": "file", "message": "Missing."}])
        data, filename = upload.stream.read(max_bytes + 1), upload.filename or "upload.csv"
    elif request.mimetype == "text/csv":
        data, filename = request.get_data(), "upload.csv"
    else:
        raise ApiProblem(415, "Send the file as 'Content-Type: text/csv' (or multipart/form-data "
                              "with the field 'file').")
    if len(data) > max_bytes:
        raise ApiProblem(413, f"The file is larger than {max_bytes} bytes. Split it into smaller files.")
    if not data.strip():
        raise ApiProblem(422, "The file is empty.", errors=[{"field": "file", "message": "Empty."}])
    return data, filename


def _refused(exc: ValidationProblem):
    return refused(exc, "file")


def _report(created: int, errors: list[dict], *, updated: int = 0, unchanged: int = 0) -> dict:
    saved = created + updated + unchanged
    status = "imported" if not errors else ("partial" if saved else "nothing")
    return {"status": status, "created": created, "updated": updated, "unchanged": unchanged,
            "rejected": len(errors), "errors": errors}


IMPORT_BODY = {"requestBody": {"required": True, "content": {
    "text/csv": {"schema": {"type": "string"}},
    "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary"}}}},
}}}


def _import_errors(view):
    for code, text in ((401, "No token, or a revoked or expired one"),
                       (403, "The token lacks the scope, or the user may not import"),
                       (413, "The file is too large"),
                       (415, "Not text/csv or multipart/form-data"),
                       (422, "The file was refused whole (not CSV, missing columns, too many rows), "
                             "or a bad Idempotency-Key"),
                       (428, "No Idempotency-Key")):
        view = bp.alt_response(code, schema=Problem, description=text)(view)
    return view


@bp.route("/imports/catalog", methods=["POST"])
@requires("catalog", write=True)
@idempotent
@bp.response(200, ImportReportSchema, description="The report: rows created, updated, unchanged, rejected")
@_import_errors
@bp.doc(summary="Import catalog items (CSV, upsert by SKU)", description=(
    "The catalog page's import: the same columns (" + ", ".join(catalog_rules.COLUMNS) + ") and "
    "rules. A row with a known SKU updates that item, a new SKU creates one; a bad row is "
    "reported in `errors` and saves nothing of itself while the good rows are saved (as the page)."),
    **IMPORT_BODY)
def import_catalog():
    user = actor()
    enforce(user, "catalog.manage")
    config = current_app.config
    limits = {"max_bytes": config.get("CATALOG_IMPORT_MAX_BYTES", catalog_rules.MAX_BYTES),
              "max_rows": config.get("CATALOG_IMPORT_MAX_ROWS", catalog_rules.MAX_ROWS)}
    data, _name = _upload(limits["max_bytes"])
    try:
        report = import_items_csv(user.organization, data, actor=user, **limits)
    except ValidationProblem as exc:
        raise _refused(exc) from None
    errors = [{"row": e.row, "key": e.sku, "column": None, "messages": [str(m) for m in e.messages]}
              for e in report.errors]
    return _report(report.created, errors, updated=report.updated, unchanged=report.unchanged)


@bp.route("/imports/budgets", methods=["POST"])
@requires("requisitions", write=True)
@idempotent
@bp.response(200, ImportReportSchema, description="The report: budgets created, rows rejected")
@_import_errors
@bp.doc(summary="Import budgets (CSV)", description=(
    "The budgets page's import: columns " + ", ".join(budget_import.COLUMNS) + " (required: "
    + ", ".join(budget_import.REQUIRED) + "). Each good row creates a budget; a bad row is "
    "reported in `errors` and saves nothing of itself (as the page)."), **IMPORT_BODY)
def import_budgets():
    user = actor()
    enforce(user, "budgets.manage")
    data, _name = _upload(budget_import.MAX_BYTES)
    try:
        result = budget_import.import_budgets(user, data)
    except ValidationProblem as exc:
        raise _refused(exc) from None
    errors = [{"row": row, "key": key, "column": None, "messages": [reason]}
              for row, key, reason in result.errors]
    return _report(result.created, errors)


@bp.route("/imports/agreements", methods=["POST"])
@requires("catalog", write=True)
@idempotent
@bp.arguments(ProposalImportArgs, location="query")
@bp.response(201, ProposalImportSchema, description="The price list was sent to the customer as a proposal")
@_import_errors
@bp.alt_response(404, schema=Problem, description="No such customer of the supplier")
@bp.doc(summary="Propose a price list to a customer (supplier; CSV)", description=(
    "The supplier's price-list upload on the customer's page: columns "
    + ", ".join(price_proposals.COLUMNS) + " (required: " + ", ".join(price_proposals.REQUIRED)
    + "). The customer's admins accept or reject each line (accepted lines become price "
    "agreements). All or nothing: a file with any bad row is a 422 whose `errors` name each row "
    "and column, and nothing is saved."), **IMPORT_BODY)
def import_agreements(args):
    user = actor()
    enforce(user, "price_proposals.propose")
    link = suppliers.get_customer_link(user, args["customer_id"])
    enforce(user, "price_proposals.propose", link)
    data, filename = _upload(price_proposals.MAX_BYTES)
    try:
        made = price_proposals.propose(link, user, filename=filename, data=data, note=args["note"])
    except price_proposals.ProposalRefused as exc:
        raise ApiProblem(422, str(exc.message), errors=[
            {"field": f"row {p.row}: {p.column}", "message": str(p.msg), "row": p.row, "column": p.column}
            for p in exc.problems] or [{"field": "file", "message": str(exc.message)}]) from None
    return {"proposal_id": made.id, "status": str(made.status), "lines": len(made.lines),
            "customer": link.buyer.name}, 201
