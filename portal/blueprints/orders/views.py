"""The buyer's purchase orders: the list (tabs, filters, search, keyset pages, CSV), the order's
page, its stored PDFs, cancel, revise, the answer to a date proposal, and orders straight from
price agreements for an approved requisition."""

from flask import Response, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal.blueprints.cache import cached_page
from portal.blueprints.edge import (
    actor,
    csv_response,
    form_action,
    or_404,
    page_size,
    saved,
    show_problem,
    unit_of_work,
)
from portal.blueprints.once import creates
from portal.blueprints.orders import bp
from portal.blueprints.orders.forms import ButtonForm, CancelForm, FromAgreementsForm, RefuseForm, revise_form
from portal.blueprints.params import cursor_arg, id_arg, text_arg
from portal.domain import invoicing as invoice_rules
from portal.domain import orders as rules
from portal.domain.messages import N_
from portal.errors import ValidationProblem
from portal.htmx import fragment, render
from portal.policies import authorize, can, require
from portal.services import agreements
from portal.services.invoicing.queries import order_invoices
from portal.services.orders import actions, direct, queries
from portal.services.orders.actions import LineChange
from portal.services.orders.credit import CreditLimitExceeded
from portal.services.orders.documents import latest_document
from portal.services.orders.issue import orders_of_requisition, vat_summary
from portal.services.requisitions import get_for_view

TABS = (
    ("all", N_("All")),
    ("to_acknowledge", N_("To acknowledge")),
    ("to_receive", N_("To receive")),
    ("received", N_("Received")),
    ("cancelled", N_("Cancelled")),
)


def _filters() -> dict:
    view = request.args.get("view", "all")
    return {"view": view if view in queries.VIEWS else "all", "supplier": id_arg("supplier"),
            "q": text_arg("q", max_length=queries.MAX_SEARCH), "budget": id_arg("budget")}


def _args(filters: dict) -> dict:
    return {k: v for k, v in filters.items() if v and not (k == "view" and v == "all")}


@bp.route("/")
@login_required
@require("orders.view")
def index():
    filters, cursor, per_page = _filters(), cursor_arg(), page_size()

    def build():
        page = queries.order_page(actor(), view=filters["view"], supplier_id=filters["supplier"], q=filters["q"],
                                  cursor=cursor, per_page=per_page, budget_id=filters["budget"])
        links, more_links = agreements.filter_links(actor(), selected=filters["supplier"])
        return {"page": page, "filters": filters, "args": _args(filters), "links": links,
                "more_links": more_links, "tabs": TABS, "status_labels": rules.STATUS_LABELS}

    return cached_page("orders/index.html", build, block=fragment("results"))


@bp.route("/export")
@login_required
@require("orders.view")
def export():
    """The current list view as CSV (every page of it)."""
    return csv_response(*export_table(_filters()))


def export_table(filters: dict):
    """(filename, header, rows) of a view's CSV: the page's export and GET /api/v1/exports/orders."""
    header = [_("Number"), _("Supplier"), _("Status"), _("Revision"), _("Issued"), _("Delivery date"),
              _("Currency"), _("Net"), _("VAT"), _("Gross")]
    rows = ([o.number, o.supplier.name, _(rules.STATUS_LABELS[o.status][0]), o.revision,
             o.issued_at.date() if o.issued_at else None, o.delivery_date, o.currency,
             o.net_total, o.vat_total, o.gross_total]
            for o in queries.export_rows(actor(), view=filters["view"], supplier_id=filters["supplier"],
                                         q=filters["q"]))
    return f"purchase-orders-{filters['view']}.csv", header, rows


def _order(order_id: int):
    order = or_404(queries.get_for_buyer(order_id, actor()))
    authorize("orders.view", order)
    return order


def _detail(order, **forms):
    context = {
        "order": order, "summary": vat_summary(order), "events": queries.order_events(order),
        "requisitions": queries.source_requisitions(order), "revisions": queries.revisions(order),
        "status_labels": rules.STATUS_LABELS, "cancel_form": CancelForm(), "refuse_form": RefuseForm(),
        "accept_form": ButtonForm(), "invoices": order_invoices(order),
        "invoice_labels": invoice_rules.STATUS_LABELS,
    }
    context.update(forms)
    return render("orders/detail.html", **context)


@bp.route("/<int:order_id>")
@login_required
@require("orders.view")
def detail(order_id: int):
    return _detail(_order(order_id))


def pdf_response(document) -> Response:
    """A stored PDF, exactly as stored (never rendered again on download)."""
    return Response(document.data, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{document.filename}"',
        "Cache-Control": "private, no-store"})


@bp.route("/<int:order_id>/pdf")
@login_required
@require("orders.view")
def pdf(order_id: int):
    return pdf_response(or_404(latest_document(_order(order_id))))


@bp.route("/<int:order_id>/documents/<int:document_id>")
@login_required
@require("orders.view")
def document(order_id: int, document_id: int):
    return pdf_response(or_404(queries.find_document(_order(order_id), document_id)))


@bp.route("/<int:order_id>/cancel", methods=["POST"])
@login_required
@require("orders.cancel")
def cancel(order_id: int):
    order = _order(order_id)
    authorize("orders.cancel", order)
    form = CancelForm()
    return form_action(
        form, lambda: actions.cancel(order, actor(), reason=form.reason.data),
        lambda _done: saved(_("The order is cancelled and its budget commitment released. The supplier is told."),
                            url_for("orders.detail", order_id=order.id)),
    ) or (_detail(order, cancel_form=form), 422)


@bp.route("/<int:order_id>/accept", methods=["POST"])
@login_required
@require("orders.answer_proposal")
def accept_proposal(order_id: int):
    order = _order(order_id)
    form = ButtonForm()
    if not form.validate_on_submit():
        return _detail(order), 422
    with unit_of_work():
        actions.accept_proposal(order, actor())
    return saved(_("The new delivery date is accepted: revision %(revision)s is on its way to the supplier.",
                   revision=order.revision), url_for("orders.detail", order_id=order.id))


@bp.route("/<int:order_id>/refuse", methods=["POST"])
@login_required
@require("orders.answer_proposal")
def refuse_proposal(order_id: int):
    order = _order(order_id)
    form = RefuseForm()
    return form_action(
        form, lambda: actions.refuse_proposal(order, actor(), reason=form.reason.data),
        lambda _done: saved(_("The proposed date is refused. The supplier is told why."),
                            url_for("orders.detail", order_id=order.id)),
    ) or (_detail(order, refuse_form=form), 422)


@bp.route("/<int:order_id>/revise", methods=["GET", "POST"])
@login_required
@require("orders.revise")
def revise(order_id: int):
    order = _order(order_id)
    if not can(current_user, "orders.revise", order):
        flash(_("This order can no longer be revised."), "warning")
        return redirect(url_for("orders.detail", order_id=order.id))
    form = revise_form(order)
    if request.method == "POST" and form.validate_on_submit():
        changes = {line.id: LineChange(quantity=form.line_fields(line)[0].data,
                                       unit_price=form.line_fields(line)[1].data) for line in order.lines}
        try:
            with unit_of_work():
                actions.revise(order, actor(), delivery_date=form.delivery_date.data,
                               delivery_address=form.delivery_address.data or "",
                               notes=form.notes.data or "", lines=changes,
                               credit_override_reason=request.form.get("credit_override_reason"))
        except ValidationProblem as exc:
            show_problem(form, exc)
        except CreditLimitExceeded as exc:
            # Over the supplier's credit limit: the same revision again, with (an admin's) reason.
            return render("orders/revise.html", order=order, form=form, credit=exc), 422
        else:
            return saved(_("Revision %(revision)s is issued: the supplier is asked to acknowledge it.",
                           revision=order.revision), url_for("orders.detail", order_id=order.id))
    status = 422 if request.method == "POST" else 200
    return render("orders/revise.html", order=order, form=form), status


# ---------------------------------------------------------------- from a requisition


@bp.route("/from-requisition/<int:requisition_id>")
@login_required
@require("orders.view")
def for_requisition(requisition_id: int):
    """The orders of a requisition, or (approved) its coverage by price agreements and the
    button that orders it from them: a section of the requisition's page (htmx) or a page."""
    req = or_404(get_for_view(requisition_id))
    authorize("requisitions.view", req)
    coverage = direct.agreement_coverage(req) if str(req.status) == "approved" else None
    return render("orders/from_requisition.html", block=fragment("req_orders"), req=req, coverage=coverage,
                  orders=orders_of_requisition(req), form=FromAgreementsForm(), status_labels=rules.STATUS_LABELS)


@bp.route("/from-requisition/<int:requisition_id>", methods=["POST"])
@login_required
@require("orders.from_agreements")
@creates(FromAgreementsForm)
def from_agreements(requisition_id: int):
    req = or_404(get_for_view(requisition_id))
    authorize("requisitions.view", req)
    form = FromAgreementsForm()
    target = url_for("requisitions.detail", requisition_id=req.id)
    if not form.validate_on_submit():
        flash(_("The form expired: try again."), "error")
        return redirect(target)
    try:
        with unit_of_work():
            made = direct.orders_from_agreements(
                req, actor(), credit_override_reason=request.form.get("credit_override_reason"))
    except ValidationProblem as exc:
        flash(exc.message, "error")
        return redirect(target)
    except CreditLimitExceeded as exc:
        # Over a supplier's credit limit: the same button again, with (for an admin) a reason.
        return render("orders/from_requisition.html", req=req, coverage=direct.agreement_coverage(req),
                      orders=orders_of_requisition(req), form=form, status_labels=rules.STATUS_LABELS,
                      credit=exc), 422
    if len(made) == 1:
        return saved(_("Purchase order %(number)s is issued to %(supplier)s.", number=made[0].number,
                       supplier=made[0].supplier.name), url_for("orders.detail", order_id=made[0].id))
    return saved(_("%(num)d purchase orders are issued, one per supplier.", num=len(made)),
                 url_for("orders.index"))
