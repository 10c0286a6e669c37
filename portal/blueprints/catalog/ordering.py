"""Add a catalog item to one of the buyer's drafts, or start a new requisition with it, straight
from the catalog list and the item page (issue 10, point 1).

The line goes in through `services.requisitions.add_line` with the line editor's defaults (the
agreed price and its supplier first), so it is checked and priced exactly as one added in the
editor. A new requisition needs a cost centre nobody can guess: "New requisition" leads to the
new-requisition form with the item and quantity carried along, and saving it adds the line.
"""

from __future__ import annotations

from decimal import Decimal

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_htmx import make_response as htmx_response
from flask_login import current_user, login_required
from wtforms import SelectField
from wtforms.validators import DataRequired, InputRequired

from portal.blueprints.catalog import bp
from portal.blueprints.edge import actor, or_404, unit_of_work
from portal.blueprints.fields import QuantityField
from portal.blueprints.once import OnceForm, creates
from portal.blueprints.params import coerce_id
from portal.blueprints.requisitions import queries as requisition_queries
from portal.blueprints.requisitions.context import catalog_line
from portal.errors import InvalidTransition, ValidationProblem
from portal.extensions import htmx
from portal.htmx import render
from portal.labels import requisition_status_label
from portal.policies import can, require
from portal.services import agreements, catalog, draft_picker
from portal.services import requisitions as requisition_service

NEW = "new"


class AddToRequisitionForm(OnceForm):
    """Which requisition (one of the buyer's drafts, or "new") and how much."""

    requisition = SelectField(_l("Requisition"), validate_choice=False,
                              validators=[DataRequired(_l("Choose a requisition."))])
    quantity = QuantityField(_l("Quantity"), default=Decimal(1),
                             validators=[InputRequired(_l("Enter the quantity."))])


def picker(form: AddToRequisitionForm | None = None) -> dict:
    """What the "Add to requisition" forms of a page need: the viewer's recent drafts (one
    bounded query, none for someone who may not raise requisitions) and a form sent back."""
    if not can(current_user, "requisitions.create"):
        return {"add_drafts": None, "add_form": None}
    return {"add_drafts": draft_picker.recent_drafts(current_user), "add_form": form}


def detail_page(item, *, form: AddToRequisitionForm | None = None, status: int = 200):
    """The item page (with `form` shown back with its errors)."""
    return render("catalog/detail.html", item=item, events=catalog.item_events(item),
                  agreed=agreements.agreed_prices([item]).get(item.id),
                  item_agreements=agreements.list_agreements(item_id=item.id, per_page=10,
                                                             count=False),
                  **picker(form)), status


@bp.route("/<int:item_id>/add-to-requisition", methods=["POST"])
@login_required
@require("requisitions.create")
@creates(AddToRequisitionForm)
def add_to_requisition(item_id: int):
    item = or_404(catalog.find_item(item_id))
    form = AddToRequisitionForm(formdata=request.form)
    if not item.is_active:
        form.form_errors.append(_("The item %(sku)s is deactivated and cannot be ordered.",
                                  sku=item.sku))
        return _refused(item, form, 422)
    if not form.validate():
        return _refused(item, form, 422)
    if form.requisition.data == NEW:
        return _go(url_for("requisitions.new", item_id=item.id, quantity=str(form.quantity.data)))
    try:
        requisition_id = coerce_id(form.requisition.data)
    except ValueError:
        requisition_id = None
    if requisition_id is None:
        form.requisition.errors = [_("Choose one of your draft requisitions or a new one.")]
        return _refused(item, form, 422)
    req = requisition_queries.load_requisition(requisition_id)  # another company's: 404
    if req.requester_id != current_user.id:
        form.form_errors.append(_("You can add items only to your own draft requisitions."))
        return _refused(item, form, 403)
    if not can(current_user, "requisitions.edit", req):
        form.form_errors.append(_("Only a draft can be changed. %(number)s is %(status)s.",
                                  number=req.number,
                                  status=requisition_status_label(req.status).lower()))
        return _refused(item, form, 422)
    try:
        with unit_of_work():
            requisition_service.add_line(req, actor(), **catalog_line(req, item, form.quantity.data))
    except (ValidationProblem, InvalidTransition) as exc:
        form.form_errors.append(str(exc.message))
        return _refused(item, form, 422)
    flash(_("%(item)s is added to %(number)s.", item=item.name, number=req.number), "success")
    return _go(url_for("requisitions.edit", requisition_id=req.id, _anchor="lines"))


def _go(target: str):
    """Somewhere else as a whole page (a flashed message goes along): htmx is told to go
    there, a browser is redirected."""
    return htmx_response(redirect=target) if htmx else redirect(target, 303)


def _refused(item, form: AddToRequisitionForm, status: int):
    """Nothing saved: the form back with the reason (htmx: just the form, in place)."""
    if htmx:
        return render("catalog/_add_to_requisition.html", item=item, add_fragment=True,
                      **picker(form)), status
    return detail_page(item, form=form, status=status)
