"""The line editor of a draft: add, change and remove lines in place, and pick from the catalog.

With htmx each action answers with the changed part (the add form, one row, or the rows) and
the totals as an out-of-band swap; totals are always recomputed by the service, never typed.
Without JavaScript the same URLs redirect back to the edit page with a message, and failed
validation re-renders the edit page; both answer 422 when nothing was saved.
"""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from portal.blueprints.edge import actor, unit_of_work
from portal.blueprints.once import creates
from portal.blueprints.params import id_arg, text_arg
from portal.blueprints.requisitions import bp, queries
from portal.blueprints.requisitions.context import (
    editor_context,
    fragments,
    line_form,
    require_editable,
)
from portal.errors import ValidationProblem
from portal.extensions import htmx
from portal.htmx import render, with_flash
from portal.policies import authorize
from portal.services import catalog
from portal.services import requisitions as service

SEARCH_LIMIT = 10


def _load_draft(requisition_id: int):
    req = queries.load_requisition(requisition_id, full=True)
    authorize("requisitions.view", req)
    require_editable(req)
    return req


def _edit_url(req, **args) -> str:
    anchor = args.pop("_anchor", "lines")
    return url_for("requisitions.edit", requisition_id=req.id, _anchor=anchor, **args)


def _changed(req, message: str, primary: tuple[str, dict], *, rows: bool = False):
    """After a change: the primary fragment plus the totals (and with `rows`, the rows) as
    out-of-band swaps for htmx; otherwise a redirect to the edit page with the message."""
    if not htmx:
        flash(message, "success")
        return redirect(_edit_url(req))
    ctx = {"req": req, "oob": True}
    parts = [primary, ("requisitions/_totals.html", ctx)]
    if rows:
        parts.append(("requisitions/_lines.html", {**ctx, "edit_line_id": None}))
    return with_flash(fragments(*parts), message)


def _item_for(form):
    """The catalog item the form names, or None for free text; an unknown id is a field error."""
    item_id = form.item_id.data
    if not item_id:
        return None
    item = queries.find_item(item_id)
    if item is None:
        form.item_id.errors = [_("This catalog item no longer exists. Pick another one.")]
        form.description.errors = list(form.description.errors) + form.item_id.errors
    return item


@bp.route("/<int:requisition_id>/lines", methods=["POST"])
@login_required
@creates()
def add_line(requisition_id: int):
    req = _load_draft(requisition_id)
    form = line_form(req, formdata=request.form)
    if form.validate():
        item = _item_for(form)
        if not form.item_id.data or item is not None:
            try:
                with unit_of_work():
                    service.add_line(req, actor(), item=item, **form.values())
            except ValidationProblem as exc:
                form.form_errors.append(str(exc.message))
            else:
                fresh = line_form(req, formdata=None)
                message = _("The line is added.")
                return _changed(req, message, ("requisitions/_add_line.html",
                                               {"req": req, "add_form": fresh, "picked": None}),
                                rows=True)
    if htmx:
        picked = queries.find_item(form.item_id.data)
        return render("requisitions/_add_line.html", req=req, add_form=form, picked=picked), 422
    return render("requisitions/edit.html", **editor_context(req, add_form=form)), 422


@bp.route("/<int:requisition_id>/lines/new")
@login_required
def line_prefill(requisition_id: int):
    """The add form filled from a catalog item (its price, unit, VAT and preferred supplier)."""
    req = _load_draft(requisition_id)
    item = queries.find_item(id_arg("item_id"))
    if item is not None and not item.is_active:
        item = None
    if not htmx:
        return redirect(_edit_url(req, item_id=item.id if item else None, _anchor="add-line"))
    return render("requisitions/_add_line.html", req=req, picked=item,
                  add_form=line_form(req, item=item))


@bp.route("/<int:requisition_id>/catalog")
@login_required
def catalog_search(requisition_id: int):
    """Catalog items matching `q` (SKU prefix or name), for the add-line picker."""
    req = _load_draft(requisition_id)
    q = text_arg("q")
    if not htmx:
        return redirect(_edit_url(req, q=q or None, _anchor="add-line"))
    items = catalog.search_items(q, limit=SEARCH_LIMIT) if q else None
    return render("requisitions/_catalog_results.html", req=req, catalog_q=q,
                  catalog_items=items)


@bp.route("/<int:requisition_id>/lines/<int:line_id>/edit")
@login_required
def line_edit(requisition_id: int, line_id: int):
    """One row as a form (htmx), or the edit page with that row open."""
    req = _load_draft(requisition_id)
    line = queries.load_line(req, line_id)
    if not htmx:
        return redirect(_edit_url(req, line=line.id, _anchor=f"line-{line.id}"))
    return render("requisitions/_line_form_row.html", req=req, line=line,
                  edit_form=line_form(req, line=line))


@bp.route("/<int:requisition_id>/lines/<int:line_id>", methods=["GET", "POST"])
@login_required
def line(requisition_id: int, line_id: int):
    """GET: the row as shown (cancel an edit). POST: save the row's changes."""
    req = _load_draft(requisition_id)
    current = queries.load_line(req, line_id)
    if request.method == "GET":
        if not htmx:
            return redirect(_edit_url(req, _anchor=f"line-{current.id}"))
        return render("requisitions/_line_row.html", req=req, line=current)
    form = line_form(req, line=current, formdata=request.form)
    if form.validate():
        item = _item_for(form)
        if not form.item_id.data or item is not None:
            try:
                with unit_of_work():
                    service.update_line(req, current, actor(), item=item, **form.values())
            except ValidationProblem as exc:
                form.form_errors.append(str(exc.message))
            else:
                message = _("Line %(position)s is saved.", position=current.position)
                return _changed(req, message, ("requisitions/_line_row.html",
                                               {"req": req, "line": current}))
    if htmx:
        return render("requisitions/_line_form_row.html", req=req, line=current,
                      edit_form=form), 422
    return render("requisitions/edit.html",
                  **editor_context(req, edit_line=current, edit_form=form)), 422


@bp.route("/<int:requisition_id>/lines/<int:line_id>/remove", methods=["POST"])
@login_required
def remove_line(requisition_id: int, line_id: int):
    req = _load_draft(requisition_id)
    line = queries.load_line(req, line_id)
    description = line.description
    with unit_of_work():
        service.remove_line(req, line, actor())
    message = _("“%(description)s” is removed.", description=description)
    return _changed(req, message, ("requisitions/_lines.html",
                                   {"req": req, "edit_line_id": None}))
