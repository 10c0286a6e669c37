"""A requisition's own pages: create, detail, edit the header, and the lifecycle buttons
(submit, cancel, duplicate). Lines are in lines.py, files and comments in files.py, the lists
in lists.py.

Each action loads the requisition through the tenant filter (another company's id is a 404),
checks the role with the policy (403) and calls one service inside `unit_of_work()` (one commit).
A refused transition (InvalidTransition) rolls back and is shown as a message by the error handler.
"""

from __future__ import annotations

from decimal import Decimal

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal.blueprints.edge import actor, saved, unit_of_work
from portal.blueprints.once import creates
from portal.blueprints.params import id_arg, text_arg
from portal.blueprints.requisitions import bp, queries
from portal.blueprints.requisitions.context import (
    catalog_line,
    detail_context,
    editor_context,
    header_form,
    header_values,
)
from portal.blueprints.requisitions.forms import CancelForm, CatalogPickForm
from portal.errors import InvalidTransition, ValidationProblem
from portal.htmx import render
from portal.labels import requisition_status_label
from portal.policies import authorize, can, require
from portal.services import approvals, catalog
from portal.services import requisitions as service


@bp.route("/new", methods=["GET", "POST"])
@login_required
@require("requisitions.create")
@creates()
def new():
    picked, quantity = _picked()
    form = header_form(formdata=request.form if request.method == "POST" else None)
    if picked is not None and request.method == "GET":
        form.title.data = picked.name
    if request.method == "POST" and form.validate():
        try:
            with unit_of_work():
                req = service.create_requisition(actor(), **header_values(form))
                if picked is not None:
                    service.add_line(req, actor(), **catalog_line(req, picked, quantity))
        except (ValidationProblem, InvalidTransition) as exc:
            form.form_errors.append(str(exc.message))
        else:
            if picked is not None:
                return saved(_("%(item)s is added to %(number)s.", item=picked.name,
                               number=req.number),
                             url_for("requisitions.edit", requisition_id=req.id, _anchor="lines"))
            return saved(_("Draft %(number)s is saved. Add what you need to buy, then submit it.",
                           number=req.number), url_for("requisitions.edit", requisition_id=req.id))
    status = 422 if request.method == "POST" else 200
    return render("requisitions/new.html", form=form, picked=picked, quantity=quantity), status


def _picked():
    """The catalog item (active, of this company) and quantity a new requisition starts with,
    from the catalog's "Add to requisition"; (None, None) when there is none or it is unusable."""
    pick = CatalogPickForm(formdata=request.args)
    if not pick.validate() or pick.item_id.data is None:
        return None, None
    item = queries.find_item(pick.item_id.data)
    if item is None or not item.is_active:
        return None, None
    return item, pick.quantity.data or Decimal(1)


@bp.route("/<int:requisition_id>")
@login_required
def detail(requisition_id: int):
    req = queries.load_requisition(requisition_id, full=True)
    authorize("requisitions.view", req)
    return render("requisitions/detail.html", **detail_context(req))


@bp.route("/<int:requisition_id>/edit", methods=["GET", "POST"])
@login_required
def edit(requisition_id: int):
    """The header form and the line editor. `?line=` opens a row for editing, `?q=` searches
    the catalog and `?item_id=` prefills the add form: the same page works without JavaScript.
    """
    req = queries.load_requisition(requisition_id, full=True)
    authorize("requisitions.view", req)
    if not can(current_user, "requisitions.edit", req):
        if req.requester_id != current_user.id:
            authorize("requisitions.edit", req)  # 403: not theirs to edit
        flash(_("Only a draft can be changed. %(number)s is %(status)s.", number=req.number,
                status=requisition_status_label(req.status).lower()), "warning")
        return redirect(url_for("requisitions.detail", requisition_id=req.id))
    form = header_form(req, formdata=request.form if request.method == "POST" else None)
    if request.method == "POST" and form.validate():
        try:
            with unit_of_work():
                service.update_header(req, actor(), **header_values(form))
        except ValidationProblem as exc:
            form.form_errors.append(str(exc.message))
        else:
            return saved(_("The details of %(number)s are saved.", number=req.number),
                         url_for("requisitions.edit", requisition_id=req.id))
    status = 422 if request.method == "POST" else 200
    return render("requisitions/edit.html", **_editor_from_args(req, form)), status


def _editor_from_args(req, form):
    edit_line = None
    line_id = id_arg("line")
    if line_id is not None:
        edit_line = queries.load_line(req, line_id)
    q = text_arg("q")
    picked = queries.find_item(id_arg("item_id"))
    if picked is not None and not picked.is_active:
        picked = None
    return editor_context(
        req, form=form, picked=picked, edit_line=edit_line, catalog_q=q,
        catalog_items=catalog.search_items(q, limit=10) if q else None,
    )


@bp.route("/<int:requisition_id>/submit", methods=["POST"])
@login_required
def submit(requisition_id: int):
    req = queries.load_requisition(requisition_id, full=True)
    authorize("requisitions.view", req)
    with unit_of_work():
        approvals.submit(req, actor())
        number, status = req.number, req.status
    if status == "approved":
        flash(_("%(number)s is approved: no approval rule applies to it.", number=number),
              "success")
    else:
        flash(_("%(number)s is submitted. The approvers are notified; you can follow the "
                "progress here.", number=number), "success")
    return redirect(url_for("requisitions.detail", requisition_id=requisition_id))


@bp.route("/<int:requisition_id>/cancel", methods=["POST"])
@login_required
def cancel(requisition_id: int):
    req = queries.load_requisition(requisition_id)
    authorize("requisitions.view", req)
    form = CancelForm()
    if not form.validate():
        flash(" ".join(str(e) for errors in form.errors.values() for e in errors), "error")
        return redirect(url_for("requisitions.detail", requisition_id=requisition_id))
    with unit_of_work():
        service.cancel(req, actor(), comment=(form.comment.data or "").strip())
    return saved(_("%(number)s is cancelled.", number=req.number),
                 url_for("requisitions.detail", requisition_id=requisition_id))


@bp.route("/<int:requisition_id>/duplicate", methods=["POST"])
@login_required
@creates()
def duplicate(requisition_id: int):
    source = queries.load_requisition(requisition_id, full=True)
    authorize("requisitions.duplicate", source)
    with unit_of_work():
        copy = service.duplicate_requisition(source, actor())
    return saved(_("%(number)s is a new draft copied from %(source)s. Check the dates and prices, "
                   "then submit it.", number=copy.number, source=source.number),
                 url_for("requisitions.edit", requisition_id=copy.id))
