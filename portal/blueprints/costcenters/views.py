from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms import SelectChoice

from portal.blueprints import codelists
from portal.blueprints.costcenters import bp
from portal.blueprints.costcenters.forms import CostCenterForm
from portal.blueprints.params import cursor_arg
from portal.domain.messages import N_
from portal.htmx import render
from portal.labels import approver_picker_note
from portal.policies import require
from portal.services import approval_policy, cost_centers


def _form(cost_center=None) -> CostCenterForm:
    form = CostCenterForm(obj=cost_center)
    # A manager approves the cost centre's requisitions: approvers and admins only.
    managers, left_out = approval_policy.approver_choices(
        cost_centers.eligible_managers(current_user.organization))
    form.manager_id.description = approver_picker_note(left_out) or form.manager_id.description
    if cost_center is not None and cost_center.manager and cost_center.manager not in managers:
        managers.append(cost_center.manager)  # a since-deactivated manager may stay
    form.manager_id.choices = [SelectChoice("", _("— none —"))] + [
        SelectChoice(str(u.id), u.full_name) for u in managers
    ]
    return form


@bp.route("/")
@login_required
@require("cost_centers.manage")
def index():
    page = cost_centers.list_cost_centers(cursor=cursor_arg())
    return render("costcenters/index.html", page=page)


codelists.register(codelists.CodeList(
    bp=bp, path="", suffix="", id_arg="cost_center_id", rules="cost_centers",
    index="cost_centers.index", template="costcenters/form.html", context_name="cost_center",
    load=cost_centers.find_cost_center, form=_form,
    values=lambda form: {"code": form.code.data, "name": form.name.data,
                         "manager_id": form.manager_id.data},
    create=cost_centers.create_cost_center, update=cost_centers.update_cost_center,
    deactivate=cost_centers.deactivate_cost_center, reactivate=cost_centers.reactivate_cost_center,
    messages={"added": N_("Cost centre %(code)s added."), "saved": N_("Cost centre %(code)s saved."),
              "deactivated": N_("Cost centre %(code)s deactivated."),
              "reactivated": N_("Cost centre %(code)s is active again.")},
))
