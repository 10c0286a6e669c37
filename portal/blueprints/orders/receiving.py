"""Goods receipts on the buyer's order page, a receipt's own (printable) page, and the open
commitments per cost centre.

The receipts section (`orders/_receiving.html`) is included by the order page; it needs only
`order` in the context (`receiving_section(order)` builds the rest), and swaps itself: the form
posts to /orders/<order_id>/receipts and gets the section back, refreshed (200) or with each
error beside its field (422). Without JavaScript the POST redirects to the order, or shows the
section on a page of its own with the errors.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from sqlalchemy.orm import joinedload, selectinload
from wtforms import StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from portal.blueprints.edge import actor, load_or_404, message_text, page_size, saved, unit_of_work
from portal.blueprints.fields import DayField, QuantityField
from portal.blueprints.once import OnceForm, creates
from portal.blueprints.orders import bp
from portal.blueprints.params import cursor_arg
from portal.domain import receiving as rules
from portal.domain.orders import STATUS_LABELS
from portal.domain.receiving import ReceiptLineInput
from portal.extensions import htmx
from portal.htmx import render, with_flash
from portal.models.order import PurchaseOrder, PurchaseOrderLine
from portal.policies import authorize, can, require
from portal.services import clock
from portal.services.orders import commitments
from portal.services.orders import receiving as service

ORDER_PAGE = "orders.detail"
# A problem's field in the service, and the form field it shows beside (per line: `<name>_<id>`).
_LINE_FIELDS = {"quantity": "received", "rejected_quantity": "rejected", "reject_reason": "reason"}


class ReceiptForm(OnceForm):
    """A delivery: the date, a note, and per order line received / rejected / why (fields
    added per order by `receipt_form`)."""

    received_on = DayField(_l("Received on"),
                           validators=[InputRequired(_l("Enter the date the goods arrived."))])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=rules.NOTE_MAX)],
                         description=_l("Delivery note number, carrier, anything worth keeping."))

    line_ids: tuple[int, ...] = ()

    def line_fields(self, line_id: int):
        """(received, rejected, reason) fields of one order line."""
        return (self[f"received_{line_id}"], self[f"rejected_{line_id}"], self[f"reason_{line_id}"])

    def entries(self) -> dict[int, ReceiptLineInput]:
        """What was typed per line (an empty quantity is 0)."""
        found = {}
        for line_id in self.line_ids:
            received, rejected, reason = self.line_fields(line_id)
            found[line_id] = ReceiptLineInput(received.data, rejected.data, (reason.data or "").strip())
        return found

    def show(self, problems) -> None:
        """Each of the service's problems beside its field (or above the form)."""
        for problem in problems:
            text = message_text(problem.msg)
            name = (f"{_LINE_FIELDS.get(problem.field, 'received')}_{problem.line_id}"
                    if problem.line_id is not None else problem.field)
            target = getattr(self, name, None) if name else None
            if target is not None and hasattr(target, "errors"):
                target.errors = [*target.errors, text]
            else:
                self.form_errors.append(text)


def receipt_form(lines: list[PurchaseOrderLine], **kwargs) -> ReceiptForm:
    """The receipt form of an order with these lines."""
    fields = {"line_ids": tuple(line.id for line in lines)}
    for line in lines:
        fields[f"received_{line.id}"] = QuantityField(
            _l("Quantity received"), positive=False, validators=[Optional()], render_kw={
                "inputmode": "decimal", "autocomplete": "off", "placeholder": "0"})
        fields[f"rejected_{line.id}"] = QuantityField(
            _l("Rejected"), positive=False, validators=[Optional()], render_kw={
                "inputmode": "decimal", "autocomplete": "off", "placeholder": "0"})
        fields[f"reason_{line.id}"] = StringField(
            _l("Reason for rejection"), validators=[Optional(), Length(max=rules.REASON_MAX)])
    return type("OrderReceiptForm", (ReceiptForm,), fields)(**kwargs)


@dataclass
class Section:
    """What the receipts section shows."""

    order: PurchaseOrder
    lines: list[service.ReceivingLine]
    receipts: list
    form: ReceiptForm | None
    refused: str | None  # why this order receives nothing, in the reader's words

    @property
    def status(self) -> tuple[str, str]:
        """The order's status as (label, badge kind): the section shows it too, so a receipt
        recorded in place shows where the order stands."""
        label, kind = STATUS_LABELS.get(self.order.status, (str(self.order.status), "neutral"))
        return _(label), kind


def section(order: PurchaseOrder, form: ReceiptForm | None = None) -> Section:
    """The receipts section of `order` for the signed-in user (the form only for those who may
    receive, while the order can)."""
    refused = rules.receivable(order.status)
    if form is None and refused is None and can(actor(), "orders.receive", order):
        form = receipt_form(order.lines, formdata=None,
                            received_on=clock.today_for(order.buyer))
    return Section(order=order, lines=service.receiving_lines(order),
                   receipts=service.receipts_of(order), form=form if refused is None else None,
                   refused=message_text(refused) if refused is not None else None)


@bp.app_template_global("receiving_section")
def receiving_section(order: PurchaseOrder) -> Section:
    return section(order)


@bp.app_template_global("supplier_receipts")
def supplier_receipts(order: PurchaseOrder) -> list:
    """The order's receipts as its supplier reads them (orders/_receiving_supplier.html)."""
    return service.receipts_of(order, people=False)


def _order(order_id: int) -> PurchaseOrder:
    return load_or_404(PurchaseOrder, order_id, selectinload(PurchaseOrder.lines),
                       joinedload(PurchaseOrder.supplier), joinedload(PurchaseOrder.buyer))


def _order_url(order: PurchaseOrder, anchor: str = "receipts") -> str:
    return url_for(ORDER_PAGE, order_id=order.id, _anchor=anchor)


@bp.route("/<int:order_id>/receipts")
@login_required
@require("orders.view")
def receipts(order_id: int):
    """The receipts section on a page of its own (where the form lands without JavaScript)."""
    order = _order(order_id)
    authorize("orders.view", order)
    return render("orders/_receiving_page.html", order=order, receiving=section(order))


@bp.route("/<int:order_id>/receipts", methods=["POST"])
@login_required
@require("orders.receive")
@creates(ReceiptForm)
def add_receipt(order_id: int):
    """Record a delivery. A wrong state is a refusal with its message (the error handler); bad
    input comes back as the section with each error beside its field (422)."""
    order = _order(order_id)
    authorize("orders.view", order)
    form = receipt_form(order.lines)
    if form.validate():
        try:
            with unit_of_work():
                receipt = service.record_receipt(
                    order, actor(), received_on=form.received_on.data, note=form.note.data or "",
                    lines=form.entries())
        except service.ReceiptProblem as exc:
            form.show(exc.problems)
        else:
            message = (_("The order is received in full.") if order.status == "received"
                       else _("The receipt is recorded."))
            if htmx:
                body = render("orders/_receiving.html", order=order, receiving=section(order),
                              fresh=receipt.id)
                return with_flash(body, message, events={"order-changed": True})
            return saved(message, _order_url(order))
    if htmx:
        return render("orders/_receiving.html", order=order, receiving=section(order, form)), 422
    return render("orders/_receiving_page.html", order=order, receiving=section(order, form)), 422


@bp.route("/<int:order_id>/receipts/<int:receipt_id>")
@login_required
@require("orders.view")
def receipt(order_id: int, receipt_id: int):
    """One receipt, printable: what arrived, what was rejected and why, who took it in."""
    order = _order(order_id)
    authorize("orders.view", order)
    found = service.find_receipt(order, receipt_id)
    return render("orders/_receiving_receipt.html", order=order, receipt=found,
                  lines=service.receiving_lines(order))


@bp.route("/commitments")
@login_required
@require("orders.view")
def commitments_page():
    """What the company's open budgets have committed to orders, per cost centre, with the
    orders still to be delivered."""
    page = commitments.commitment_page(cursor=cursor_arg(), per_page=page_size())
    return render("orders/commitments.html", page=page,
                  open_orders=commitments.open_order_counts(page.items),
                  totals=commitments.totals())

