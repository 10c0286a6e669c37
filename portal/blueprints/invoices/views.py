"""The buyer's invoice pages: the list (tabs, supplier filter, search by number, keyset pages,
CSV), an invoice's page (match per line, payments, credit notes, documents, history) with its
approve, dispute and payment forms, and the stored PDF / KSeF XML downloads."""

from __future__ import annotations

from flask import Response, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from portal.blueprints.cache import cached_page
from portal.blueprints.edge import actor, csv_response, form_action, message_text, or_404, page_size, saved
from portal.blueprints.invoices import bp
from portal.blueprints.invoices.forms import ApproveForm, DisputeForm, PaymentForm
from portal.blueprints.once import creates
from portal.blueprints.params import cursor_arg, id_arg, text_arg
from portal.domain import invoicing as rules
from portal.htmx import fragment, render
from portal.policies import authorize, require
from portal.services import agreements
from portal.services.invoicing import buyer, queries
from portal.services.invoicing import documents as stored

TAB_KEYS = tuple(key for key, _label in queries.BUYER_TABS)


def _filters() -> dict:
    tab = request.args.get("tab", TAB_KEYS[0])
    return {"tab": tab if tab in TAB_KEYS else TAB_KEYS[0], "supplier": id_arg("supplier"),
            "q": text_arg("q", max_length=queries.MAX_SEARCH)}


def _args(filters: dict) -> dict:
    return {k: v for k, v in filters.items() if v and not (k == "tab" and v == TAB_KEYS[0])}


@bp.route("/")
@login_required
@require("invoices.view")
def index():
    filters, cursor, per_page = _filters(), cursor_arg(), page_size()

    def build():
        page = queries.buyer_invoice_page(tab=filters["tab"], supplier_id=filters["supplier"], search=filters["q"],
                                          cursor=cursor, per_page=per_page)
        counts = queries.buyer_tab_counts(supplier_id=filters["supplier"])
        links, more_links = agreements.filter_links(actor(), selected=filters["supplier"])
        return {"page": page, "filters": filters, "args": _args(filters), "links": links, "more_links": more_links,
                "tabs": queries.BUYER_TABS, "counts": counts, "status_labels": rules.STATUS_LABELS,
                "today": buyer.today_of_org(actor().organization)}

    return cached_page("invoices/index.html", build, block=fragment("results"))


@bp.route("/export")
@login_required
@require("invoices.view")
def export():
    """The current tab as CSV (every page of it)."""
    return csv_response(*export_table(_filters()))


def export_table(filters: dict):
    """(filename, header, rows) of a tab's CSV: the page's export and GET /api/v1/exports/invoices."""
    header = [_("Number"), _("Kind"), _("Supplier"), _("Status"), _("Issued"), _("Due"), _("Currency"),
              _("Net"), _("VAT"), _("Gross"), _("Credited"), _("Paid"), _("Discount"), _("Due now")]
    rows = ([i.number, _("Credit note") if i.is_credit_note else _("Invoice"), i.supplier.name,
             _(rules.STATUS_LABELS[i.status][0]), i.issue_date, i.due_date, i.currency, i.net_total,
             i.vat_total, i.gross_total, i.credited_total, i.paid_total, i.discount_taken, i.amount_due]
            for i in queries.export_rows("buyer", tab=filters["tab"], supplier_id=filters["supplier"],
                                         search=filters["q"]))
    return f"invoices-{filters['tab']}.csv", header, rows


def _invoice(invoice_id: int):
    """The invoice or credit note addressed to the company; another company's, a missing one
    or a supplier's draft: 404 alike. (The actions leave the state check to the service: a
    refusal then says why, as a message, instead of a bare 403.)"""
    invoice = or_404(buyer.get_for_buyer(invoice_id))
    authorize("invoices.view", invoice)
    return invoice


def _detail(invoice, **forms):
    facts = queries.invoice_detail(invoice)
    context = {
        "invoice": invoice, "facts": facts, "events": buyer.invoice_events(invoice),
        "status_labels": rules.STATUS_LABELS,
        "problems": {i: message_text(m) for i, m in buyer.match_problems(invoice).items()},
        "parties": buyer.parties(invoice), "summary": buyer.vat_summary(invoice),
        "discount_open": buyer.discount_open(invoice), "approve_form": ApproveForm(),
        "dispute_form": DisputeForm(), "payment_form": PaymentForm(formdata=None, data=_payment_defaults(invoice)),
    }
    context.update(forms)
    return render("invoices/detail.html", **context)


def _payment_defaults(invoice) -> dict:
    today = buyer.today_of(invoice)
    return {"paid_on": today, "amount": invoice.amount_due if invoice.amount_due > 0 else None}


@bp.route("/<int:invoice_id>")
@login_required
@require("invoices.view")
def detail(invoice_id: int):
    return _detail(_invoice(invoice_id))


@bp.route("/<int:invoice_id>/approve", methods=["POST"])
@login_required
@require("invoices.approve")
def approve(invoice_id: int):
    invoice = _invoice(invoice_id)
    form = ApproveForm()
    return form_action(
        form, lambda: buyer.approve_invoice(invoice, actor(), override_reason=form.override_reason.data),
        lambda _done: saved(_("Invoice %(number)s is approved for payment. The supplier is told.",
                              number=invoice.number), url_for("invoices.detail", invoice_id=invoice.id)),
    ) or (_detail(invoice, approve_form=form), 422)


@bp.route("/<int:invoice_id>/dispute", methods=["POST"])
@login_required
@require("invoices.dispute")
def dispute(invoice_id: int):
    invoice = _invoice(invoice_id)
    form = DisputeForm()
    return form_action(
        form, lambda: buyer.dispute_invoice(invoice, actor(), reason=form.reason.data),
        lambda _done: saved(_("Invoice %(number)s is disputed. The supplier reads why.", number=invoice.number),
                            url_for("invoices.detail", invoice_id=invoice.id)),
    ) or (_detail(invoice, dispute_form=form), 422)


@bp.route("/<int:invoice_id>/payments", methods=["POST"])
@login_required
@require("invoices.pay")
@creates(PaymentForm)
def pay(invoice_id: int):
    invoice = _invoice(invoice_id)
    form = PaymentForm()

    def done(_payment):
        if invoice.status == "paid":
            message = _("The payment is recorded: invoice %(number)s is paid.", number=invoice.number)
        else:
            message = _("The payment is recorded: %(amount)s is left to pay.",
                        amount=_money(invoice.amount_due, invoice.currency))
        return saved(message, url_for("invoices.detail", invoice_id=invoice.id))

    return form_action(
        form, lambda: buyer.record_payment(invoice, actor(), paid_on=form.paid_on.data, amount=form.amount.data,
                                           reference=form.reference.data or "",
                                           take_discount=bool(form.take_discount.data)),
        done,
    ) or (_detail(invoice, payment_form=form), 422)


def _money(amount, currency) -> str:
    from flask_babel import get_locale

    from portal.money import format_money

    return format_money(amount, currency, str(get_locale() or "en"))


def document_response(invoice, kind: str) -> Response:
    """A stored document, exactly as stored at issue (never rendered again on download)."""
    doc = or_404(stored.document(invoice, kind))
    return Response(stored.document_bytes(doc), mimetype=doc.content_type, headers={
        "Content-Disposition": f'attachment; filename="{doc.filename}"',
        "Cache-Control": "private, no-store"})


@bp.route("/<int:invoice_id>/pdf")
@login_required
@require("invoices.view")
def pdf(invoice_id: int):
    return document_response(_invoice(invoice_id), stored.PDF)


@bp.route("/<int:invoice_id>/xml")
@login_required
@require("invoices.view")
def xml(invoice_id: int):
    return document_response(_invoice(invoice_id), stored.KSEF)
