"""The supplier's invoices: the list (tabs, customer filter, search, keyset pages, CSV), a new
draft from one or several received orders of a customer, the draft (edit, remove a line,
delete, issue), the issued invoice's page with its credit notes, and the stored PDF and XML.

Every page loads the invoice through the tenant filter as the signed-in supplier's own
(`_invoice`): another supplier's invoice, or a buyer's id, answers 404. Drafts and issued
invoices share one address: a draft shows its form, an issued invoice its facts.
"""

from __future__ import annotations

from collections import defaultdict

from flask import Response, make_response, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from wtforms import SelectChoice

from portal.blueprints.cache import cached_page
from portal.blueprints.edge import (
    actor,
    csv_response,
    form_status,
    load_or_404,
    message_text,
    or_404,
    page_size,
    saved,
    show_problem,
    unit_of_work,
)
from portal.blueprints.once import creates
from portal.blueprints.params import cursor_arg, id_arg, text_arg
from portal.blueprints.supplier import bp
from portal.blueprints.supplier.invoice_forms import (
    ButtonForm,
    CreditNoteForm,
    NewInvoiceForm,
    credit_quantities,
    draft_form,
)
from portal.domain import exemption
from portal.domain import invoicing as rules
from portal.domain.bank import format_iban
from portal.domain.vat import line_net, totals_by_code
from portal.errors import InvalidTransition, ValidationProblem
from portal.extensions import htmx
from portal.htmx import fragment, render
from portal.models.invoice import Invoice, InvoiceStatus
from portal.policies import authorize, can, require
from portal.services import suppliers
from portal.services.clock import today_for
from portal.services.invoicing import drafting, invoiceable, issuing, queries
from portal.services.invoicing.buyer import invoice_events

MAX_SEARCH = 40
CUSTOMERS_SHOWN = 50


# ---------------------------------------------------------------- the list


def _filters() -> dict:
    tabs = dict(queries.SUPPLIER_TABS)
    tab = request.args.get("tab", "drafts")
    return {"tab": tab if tab in tabs else "drafts", "buyer": id_arg("buyer"),
            "q": text_arg("q", max_length=MAX_SEARCH).strip()}


def _args(filters: dict) -> dict:
    return {k: v for k, v in filters.items() if v}


@bp.route("/invoices")
@login_required
@require("supplier_invoices.view")
def invoices():
    filters, cursor, per_page = _filters(), cursor_arg(), page_size()

    def build():
        page = queries.supplier_invoice_page(tab=filters["tab"], buyer_id=filters["buyer"], search=filters["q"],
                                             cursor=cursor, per_page=per_page)
        customers = suppliers.list_customers(actor(), per_page=CUSTOMERS_SHOWN, count=False).items
        today = _today()
        overdue_ids = {inv.id for inv in page.items if rules.is_overdue(inv.status, inv.due_date, today)}
        return {"page": page, "filters": filters, "args": _args(filters), "tabs": queries.SUPPLIER_TABS,
                "counts": queries.supplier_tab_counts(buyer_id=filters["buyer"]), "customers": customers,
                "overdue_ids": overdue_ids, "status_labels": rules.STATUS_LABELS}

    return cached_page("supplier/invoices/index.html", build, block=fragment("results"))


@bp.route("/invoices/export")
@login_required
@require("supplier_invoices.view")
def invoices_export():
    """The current tab of the supplier's invoices as CSV (every page of it)."""
    return csv_response(*invoices_export_table(_filters()))


def invoices_export_table(filters: dict):
    """(filename, header, rows) of a tab's CSV: the page's export and GET
    /api/v1/exports/supplier-invoices."""
    header = [_("Number"), _("Customer"), _("Kind"), _("Status"), _("Issue date"), _("Due date"),
              _("Currency"), _("Net"), _("VAT"), _("Gross"), _("Amount due")]
    rows = ([inv.number or _("Draft"), inv.buyer.name,
             _("Credit note") if inv.is_credit_note else _("Invoice"),
             rules.status_word(inv.status), inv.issue_date, inv.due_date, inv.currency,
             inv.net_total, inv.vat_total, inv.gross_total, inv.amount_due]
            for inv in queries.export_rows("supplier", tab=filters["tab"], buyer_id=filters["buyer"],
                                           search=filters["q"]))
    return f"invoices-{filters['tab']}.csv", header, rows


def _today():
    return today_for(actor().organization)


# ---------------------------------------------------------------- a new invoice


# Orders the new-invoice page lists at once (the newest); an older one is found by its number.
ORDERS_SHOWN = 25


def _new_page(link, form, status=200):
    number = text_arg("q", max_length=40).strip() if link is not None else ""
    found = invoiceable.invoiceable_orders(link, limit=ORDERS_SHOWN + 1, number=number) if link is not None else []
    orders, more_orders = found[:ORDERS_SHOWN], len(found) > ORDERS_SHOWN
    if link is not None:
        form.orders.choices = [SelectChoice(order.id, order.number) for order in orders]
    open_by_order = defaultdict(list)
    for row in invoiceable.open_lines([order.id for order in orders]) if orders else ():
        open_by_order[row.order_line.order_id].append(row)
    customers = None if link is not None else suppliers.list_customers(actor(), per_page=CUSTOMERS_SHOWN, count=False)
    return render("supplier/invoices/new.html", link=link, form=form, orders=orders, number=number,
                  more_orders=more_orders, open_by_order=open_by_order,
                  customers=customers.items if customers else [],
                  more_customers=bool(customers and customers.next)), status


def _customer(link_id: int | None):
    if link_id is None:
        return None
    return suppliers.get_customer_link(actor(), link_id)


@bp.route("/invoices/new", methods=["GET", "POST"])
@login_required
@require("supplier_invoices.draft")
@creates(NewInvoiceForm)
def invoice_new():
    """GET: pick a customer, then its orders with goods received and not yet invoiced. POST:
    the draft of the orders chosen (one order: what was received; several: consolidated)."""
    link = _customer(id_arg("customer", args=request.form if request.method == "POST" else None))
    form = NewInvoiceForm()
    if request.method == "GET":
        return _new_page(link, form)
    if link is None:
        return _new_page(None, form, 422)
    if not form.validate_on_submit():
        return _new_page(link, form, form_status())
    try:
        with unit_of_work():
            invoice = drafting.draft_from_orders(link, form.orders.data, actor())
    except ValidationProblem as exc:
        show_problem(form, exc)
        return _new_page(link, form, 422)
    return saved(_("The draft invoice for %(buyer)s is ready: check it, then issue it.",
                   buyer=link.buyer.name), url_for("supplier.invoice", invoice_id=invoice.id))


# ---------------------------------------------------------------- one invoice


def _invoice(invoice_id: int) -> Invoice:
    invoice = load_or_404(Invoice, invoice_id, supplier_id=actor().organization_id)
    authorize("supplier_invoices.view", invoice)
    return invoice


def _draft_page(invoice: Invoice, form=None, status=200):
    """The draft editor; with the `form` of a refused save (422), its totals as typed."""
    detail = queries.invoice_detail(invoice)
    typed = form is not None and status == 422
    form = form or draft_form(invoice, formdata=None)
    return render("supplier/invoices/draft.html", invoice=invoice, detail=detail,
                  orders={order.id: order for order in detail["orders"]}, form=form,
                  exempt=_exempt(invoice, form), provisions=exemption.COMMON_PROVISIONS,
                  summary=_typed_totals(invoice, form) if typed else drafting.vat_summary(invoice),
                  preview=typed, problems=_texts(issuing.match_problems(invoice)),
                  issue_form=ButtonForm(), delete_form=ButtonForm(), foreign=_needs_rate(invoice),
                  seller_iban=format_iban(invoice.supplier.iban) if invoice.supplier.iban else "",
                  status_labels=rules.STATUS_LABELS), status


def _detail_page(invoice: Invoice, credit_form=None, status=200):
    detail = queries.invoice_detail(invoice)
    creditable = (issuing.creditable_lines(invoice)
                  if not invoice.is_credit_note and can(actor(), "supplier_invoices.credit", invoice) else [])
    return render("supplier/invoices/detail.html", invoice=invoice, detail=detail,
                  orders={order.id: order for order in detail["orders"]}, events=invoice_events(invoice),
                  summary=drafting.vat_summary(invoice), credit_form=credit_form or CreditNoteForm(),
                  creditable=creditable, status_labels=rules.STATUS_LABELS,
                  bank_account=format_iban(invoice.bank_account) if invoice.bank_account else "",
                  line_problems=_texts({line.id: issuing.match_problem_of(line) for line in invoice.lines})), status


def _exempt(invoice: Invoice, form) -> bool:
    """A line of the draft is exempt (`zw`), saved or as sent: the page asks for the basis."""
    sent = (form.line_row(line.id)["vat_code"].data for line in invoice.lines if line.id in form.line_ids)
    return exemption.has_exempt_lines([*(line.vat_code for line in invoice.lines), *sent])


def _texts(problems: dict) -> dict[int, str]:
    """{line id: the match problem in the reader's words} for the lines that have one."""
    return {line_id: message_text(msg) for line_id, msg in problems.items() if msg}


def _needs_rate(invoice: Invoice) -> bool:
    """A Polish seller's invoice in another currency states its VAT in PLN (art. 106e ust. 11)."""
    return invoice.currency != "PLN" and invoice.supplier.country == "PL"


def _show_problem(form, exc, sent_ids=()) -> None:
    """A service's problem beside its field: "lines-<i>-quantity" names the i-th line sent."""
    field = getattr(exc, "field", None) or ""
    parts = field.split("-")
    if len(parts) == 3 and parts[0] == "lines" and parts[1].isdigit() and int(parts[1]) < len(sent_ids):
        exc.field = f"line-{sent_ids[int(parts[1])]}-{parts[2]}"
    show_problem(form, exc)


@bp.route("/invoices/<int:invoice_id>")
@login_required
@require("supplier_invoices.view")
def invoice(invoice_id: int):
    found = _invoice(invoice_id)
    if found.status == InvoiceStatus.DRAFT:
        return _draft_page(found)
    return _detail_page(found)


@bp.route("/invoices/<int:invoice_id>/edit", methods=["POST"])
@login_required
@require("supplier_invoices.edit")
def invoice_edit(invoice_id: int):
    """Save the draft; a `remove` button leaves its line out. An issued invoice is refused by the
    service (InvalidTransition: a flash, back to its page)."""
    found = _invoice(invoice_id)
    form = draft_form(found)
    if not form.validate_on_submit():
        return _draft_page(found, form, 422)
    removed = id_arg("remove", args=request.form)
    by_id = {line.id: line for line in found.lines}
    sent = [line_id for line_id in form.line_ids if line_id != removed]
    lines = [drafting.DraftLineInput(order_line_id=by_id[line_id].order_line_id, **form.line_values(line_id))
             for line_id in sent]
    foreign = _needs_rate(found)
    try:
        with unit_of_work():
            drafting.update_draft(
                found, actor(), lines=lines, language=form.language.data, notes=form.notes.data or "",
                sale_date=form.sale_date.data, annex15=bool(form.annex15.data),
                exchange_rate=form.exchange_rate.data if foreign else None,
                exchange_rate_date=form.exchange_rate_date.data if foreign else None,
                exemption_basis_kind=form.exemption_basis_kind.data or "",
                exemption_basis=form.exemption_basis.data or "")
    except ValidationProblem as exc:
        _show_problem(form, exc, sent)
        return _draft_page(_invoice(invoice_id), form, 422)
    message = _("The line was removed.") if removed else _("The draft is saved.")
    return saved(message, url_for("supplier.invoice", invoice_id=invoice_id))


@bp.route("/invoices/<int:invoice_id>/totals", methods=["POST"])
@login_required
@require("supplier_invoices.edit")
def invoice_totals(invoice_id: int):
    """htmx: the draft's totals as the form now reads (nothing saved). A line whose quantity,
    price or VAT code cannot be read yet keeps its saved amounts."""
    found = _invoice(invoice_id)
    if found.status != InvoiceStatus.DRAFT or not htmx:
        return _invoice_gone(found)
    form = draft_form(found)
    form.validate()
    return render("supplier/invoices/draft.html", block="totals", invoice=found,
                  summary=_typed_totals(found, form), preview=True)


def _typed_totals(invoice: Invoice, form):
    """The draft's totals as the (validated) form reads, nothing saved: the live preview, and
    the page of a refused save (its lines show what was typed, so must its totals). A line
    whose quantity, price or VAT code cannot be read yet keeps its saved amounts."""
    removed = id_arg("remove", args=request.form)
    lines = []
    for line in invoice.lines:
        if line.id == removed:
            continue
        row = form.line_row(line.id)
        if row["quantity"].errors or row["unit_price"].errors or row["vat_code"].errors \
                or row["quantity"].data is None or row["unit_price"].data is None:
            lines.append((line.vat_code, line.net))
        else:
            net = line_net(row["quantity"].data, row["unit_price"].data, invoice.currency)
            lines.append((row["vat_code"].data, net))
    return totals_by_code(lines, invoice.currency)


def _invoice_gone(invoice: Invoice):
    """A draft issued meanwhile (or a request without htmx): to the invoice's page."""
    target = url_for("supplier.invoice", invoice_id=invoice.id)
    if not htmx:
        return redirect(target)
    response = make_response("", 200)
    response.headers["HX-Redirect"] = target
    return response


@bp.route("/invoices/<int:invoice_id>/delete", methods=["POST"])
@login_required
@require("supplier_invoices.edit")
def invoice_delete(invoice_id: int):
    found = _invoice(invoice_id)
    with unit_of_work():
        drafting.delete_draft(found, actor())
    return saved(_("The draft invoice was deleted."), url_for("supplier.invoices"))


@bp.route("/invoices/<int:invoice_id>/issue", methods=["POST"])
@login_required
@require("supplier_invoices.issue")
def invoice_issue(invoice_id: int):
    found = _invoice(invoice_id)
    form = ButtonForm()
    if not form.validate_on_submit():
        return _draft_page(found, status=422)
    try:
        with unit_of_work():
            issuing.issue_invoice(found, actor())
    except ValidationProblem as exc:
        draft = _invoice(invoice_id)
        page_form = draft_form(draft, formdata=None)
        _show_problem(page_form, exc, [line.id for line in draft.lines])
        return _draft_page(draft, page_form, 422)
    issued = _invoice(invoice_id)
    if issued.match_status == "mismatched":
        message = _("Invoice %(number)s is issued and sent to %(buyer)s. Some lines do not match the "
                    "order or what was received: the buyer's admin must accept them.",
                    number=issued.number, buyer=issued.buyer.name)
    else:
        message = _("Invoice %(number)s is issued and sent to %(buyer)s.", number=issued.number,
                    buyer=issued.buyer.name)
    return saved(message, url_for("supplier.invoice", invoice_id=invoice_id))


@bp.route("/invoices/<int:invoice_id>/credit-note", methods=["POST"])
@login_required
@require("supplier_invoices.credit")
@creates(CreditNoteForm)
def invoice_credit_note(invoice_id: int):
    found = _invoice(invoice_id)
    form = CreditNoteForm()
    if not form.validate_on_submit():
        return _detail_page(found, form, form_status())
    lines = None
    if form.scope.data == "lines":
        quantities, problems = credit_quantities(request.form, [line.id for line in found.lines])
        if problems:
            form.form_errors.append(_("Enter each quantity to credit as a number greater than zero."))
        elif not quantities:
            form.form_errors.append(_("Enter the quantity to credit on at least one line."))
        if form.form_errors:
            return _detail_page(found, form, 422)
        lines = [issuing.CreditLineInput(invoice_line_id=line_id, quantity=quantity)
                 for line_id, quantity in quantities.items()]
    try:
        with unit_of_work():
            note = issuing.issue_credit_note(found, actor(), reason=form.reason.data.strip(), lines=lines)
    except ValidationProblem as exc:
        show_problem(form, exc)
        return _detail_page(_invoice(invoice_id), form, 422)
    except InvalidTransition as exc:
        form.form_errors.append(message_text(exc.message))
        return _detail_page(_invoice(invoice_id), form, 409)
    return saved(_("Credit note %(number)s is issued and sent to %(buyer)s.", number=note.number,
                   buyer=found.buyer.name), url_for("supplier.invoice", invoice_id=note.id))


# ---------------------------------------------------------------- stored documents


def document_response(invoice: Invoice, kind: str) -> Response:
    """A stored document of `invoice`, exactly as stored at issue (never rendered again)."""
    from portal.services.invoicing import documents

    doc = or_404(documents.document(invoice, kind))
    mimetype = "application/pdf" if kind == "pdf" else "application/xml"
    return Response(documents.document_bytes(doc), mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="{doc.filename}"',
        "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"})


@bp.route("/invoices/<int:invoice_id>/pdf")
@login_required
@require("supplier_invoices.view")
def invoice_pdf(invoice_id: int):
    return document_response(_invoice(invoice_id), "pdf")


@bp.route("/invoices/<int:invoice_id>/xml")
@login_required
@require("supplier_invoices.view")
def invoice_xml(invoice_id: int):
    return document_response(_invoice(invoice_id), "ksef")


# ---------------------------------------------------------------- the dashboard widget

