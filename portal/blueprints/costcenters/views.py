from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms import SelectChoice

from portal.blueprints.common import commit, page_size
from portal.blueprints.costcenters import bp
from portal.blueprints.costcenters.forms import CostCenterForm
from portal.errors import ValidationProblem
from portal.htmx import render
from portal.policies import authorize, require
from portal.services import cost_centers


def _load(cost_center_id: int):
    cost_center = cost_centers.find_cost_center(cost_center_id)
    if cost_center is None:
        abort(404)
    return cost_center


def _form(cost_center=None) -> CostCenterForm:
    form = CostCenterForm(obj=cost_center)
    managers = cost_centers.eligible_managers(current_user.organization)
    if cost_center is not None and cost_center.manager and cost_center.manager not in managers:
        managers.append(cost_center.manager)  # a since-deactivated manager may stay
    form.manager_id.choices = [SelectChoice("", _("— none —"))] + [
        SelectChoice(str(u.id), u.full_name) for u in managers
    ]
    return form


def _show_problem(form, exc: ValidationProblem) -> None:
    target = getattr(form, getattr(exc, "field", ""), None)
    if target is not None:
        target.errors = [*target.errors, str(exc.message)]
    else:
        form.form_errors.append(str(exc.message))


@bp.route("/")
@login_required
@require("cost_centers.manage")
def index():
    page = cost_centers.list_cost_centers(page=request.args.get("page", 1, type=int),
                                          per_page=page_size())
    return render("costcenters/index.html", page=page)


@bp.route("/new", methods=["GET", "POST"])
@login_required
@require("cost_centers.manage")
def new():
    form = _form()
    if form.validate_on_submit():
        try:
            cost_center = cost_centers.create_cost_center(
                current_user.organization, code=form.code.data, name=form.name.data,
                manager_id=form.manager_id.data, actor=current_user,
            )
        except ValidationProblem as exc:
            _show_problem(form, exc)
        else:
            commit()
            flash(_("Cost centre %(code)s added.", code=cost_center.code), "success")
            return redirect(url_for("cost_centers.index"))
    status = 422 if request.method == "POST" else 200
    return render("costcenters/form.html", form=form, cost_center=None), status


@bp.route("/<int:cost_center_id>/edit", methods=["GET", "POST"])
@login_required
@require("cost_centers.manage")
def edit(cost_center_id: int):
    cost_center = _load(cost_center_id)
    form = _form(cost_center)
    if form.validate_on_submit():
        try:
            cost_centers.update_cost_center(
                cost_center, code=form.code.data, name=form.name.data,
                manager_id=form.manager_id.data, actor=current_user,
            )
        except ValidationProblem as exc:
            _show_problem(form, exc)
        else:
            commit()
            flash(_("Cost centre %(code)s saved.", code=cost_center.code), "success")
            return redirect(url_for("cost_centers.index"))
    status = 422 if request.method == "POST" else 200
    return render("costcenters/form.html", form=form, cost_center=cost_center), status


@bp.route("/<int:cost_center_id>/deactivate", methods=["POST"])
@login_required
@require("cost_centers.manage")
def deactivate(cost_center_id: int):
    cost_center = _load(cost_center_id)
    authorize("cost_centers.deactivate", cost_center)
    cost_centers.deactivate_cost_center(cost_center, actor=current_user)
    commit()
    flash(_("Cost centre %(code)s deactivated.", code=cost_center.code), "success")
    return redirect(url_for("cost_centers.index"))


@bp.route("/<int:cost_center_id>/reactivate", methods=["POST"])
@login_required
@require("cost_centers.manage")
def reactivate(cost_center_id: int):
    cost_center = _load(cost_center_id)
    authorize("cost_centers.reactivate", cost_center)
    cost_centers.reactivate_cost_center(cost_center, actor=current_user)
    commit()
    flash(_("Cost centre %(code)s is active again.", code=cost_center.code), "success")
    return redirect(url_for("cost_centers.index"))
