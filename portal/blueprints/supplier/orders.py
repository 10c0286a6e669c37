"""Purchase orders addressed to the supplier: its list (to acknowledge, open, all), an order's
page, the acknowledgement, a proposal of another delivery date, and the stored PDF."""

from flask import request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from portal.blueprints.cache import cached_page
from portal.blueprints.edge import actor, csv_response, form_action, or_404, page_size, saved, unit_of_work
from portal.blueprints.orders.forms import ButtonForm, ProposeForm
from portal.blueprints.orders.views import pdf_response
from portal.blueprints.params import cursor_arg
from portal.blueprints.supplier import bp
from portal.blueprints.supplier.invoice_forms import NewInvoiceForm
from portal.domain import orders as rules
from portal.domain.messages import N_
from portal.htmx import fragment, render
from portal.policies import authorize, can, require
from portal.services.invoicing.invoiceable import open_lines
from portal.services.invoicing.queries import order_invoices
from portal.services.orders import actions, queries
from portal.services.orders.documents import latest_document
from portal.services.orders.issue import vat_summary

TABS = (("to_acknowledge", N_("To acknowledge")), ("open", N_("Open")), ("all", N_("All")))


def _order(order_id: int):
    order = or_404(queries.get_for_supplier(order_id, actor()))
    authorize("orders.supplier_view", order)
    return order


@bp.route("/orders")
@login_required
@require("orders.supplier_view")
def orders():
    view = request.args.get("view", "to_acknowledge")
    view = view if view in queries.SUPPLIER_VIEWS else "to_acknowledge"
    cursor, per_page = cursor_arg(), page_size()

    def build():
        page = queries.supplier_order_page(actor(), view=view, cursor=cursor, per_page=per_page)
        return {"page": page, "view": view, "tabs": TABS, "args": {"view": view},
                "status_labels": rules.STATUS_LABELS}

    return cached_page("supplier/orders.html", build, block=fragment("results"))


@bp.route("/orders/export")
@login_required
@require("orders.supplier_view")
def orders_export():
    """The current tab of the supplier's orders as CSV (every page of it)."""
    view = request.args.get("view", "to_acknowledge")
    view = view if view in queries.SUPPLIER_VIEWS else "to_acknowledge"
    return csv_response(*orders_export_table(view))


def orders_export_table(view: str):
    """(filename, header, rows) of a tab's CSV: the page's export and GET
    /api/v1/exports/supplier-orders."""
    header = [_("Number"), _("Customer"), _("Status"), _("Revision"), _("Issued"), _("Delivery date"),
              _("Currency"), _("Net"), _("VAT"), _("Gross")]
    rows = ([o.number, o.buyer.name, _(rules.STATUS_LABELS[o.status][0]), o.revision,
             o.issued_at.date() if o.issued_at else None, o.delivery_date, o.currency,
             o.net_total, o.vat_total, o.gross_total]
            for o in queries.supplier_export_rows(actor(), view=view))
    return f"orders-{view}.csv", header, rows


def _page(order, **forms):
    context = {"order": order, "summary": vat_summary(order), "events": queries.order_events(order),
               "revisions": queries.revisions(order), "status_labels": rules.STATUS_LABELS,
               "acknowledge_form": ButtonForm(), "propose_form": ProposeForm(),
               "invoice_form": NewInvoiceForm() if _invoiceable(order) else None,
               "invoices": order_invoices(order)}
    context.update(forms)
    return render("supplier/order.html", **context)


def _invoiceable(order) -> bool:
    """Goods received and not yet invoiced (nor drafted): the page offers to invoice them."""
    return (can(actor(), "supplier_invoices.draft", order.link)
            and any(line.open_quantity > 0 for line in open_lines([order.id])))


@bp.route("/orders/<int:order_id>")
@login_required
@require("orders.supplier_view")
def order(order_id: int):
    return _page(_order(order_id))


@bp.route("/orders/<int:order_id>/pdf")
@login_required
@require("orders.supplier_view")
def order_pdf(order_id: int):
    return pdf_response(or_404(latest_document(_order(order_id))))


@bp.route("/orders/<int:order_id>/documents/<int:document_id>")
@login_required
@require("orders.supplier_view")
def order_document(order_id: int, document_id: int):
    return pdf_response(or_404(queries.find_document(_order(order_id), document_id)))


@bp.route("/orders/<int:order_id>/acknowledge", methods=["POST"])
@login_required
@require("orders.acknowledge")
def order_acknowledge(order_id: int):
    order = _order(order_id)
    form = ButtonForm()
    if not form.validate_on_submit():
        return _page(order), 422
    with unit_of_work():
        actions.acknowledge(order, actor())
    return saved(_("Order %(number)s is acknowledged. %(buyer)s is told.", number=order.number,
                   buyer=order.buyer.name), url_for("supplier.order", order_id=order.id))


@bp.route("/orders/<int:order_id>/propose", methods=["POST"])
@login_required
@require("orders.propose_date")
def order_propose(order_id: int):
    order = _order(order_id)
    form = ProposeForm()
    return form_action(
        form, lambda: actions.propose_date(order, actor(), delivery_date=form.delivery_date.data,
                                           note=form.note.data or ""),
        lambda _done: saved(_("Your proposed date is sent to %(buyer)s.", buyer=order.buyer.name),
                            url_for("supplier.order", order_id=order.id)),
    ) or (_page(order, propose_form=form), 422)
