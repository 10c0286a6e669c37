"""Delegation: an approver names a colleague who decides in their place for a date range."""

from __future__ import annotations

from flask import request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from portal.blueprints.approvals import bp
from portal.blueprints.approvals.forms import DelegationForm
from portal.blueprints.edge import actor, or_404, saved, unit_of_work
from portal.blueprints.once import creates
from portal.errors import ValidationProblem
from portal.htmx import render
from portal.i18n import day
from portal.models.base import utcnow
from portal.policies import require
from portal.services import approvals
from portal.services.approvals import queries


def _page(form: DelegationForm, status: int = 200):
    return render(
        "approvals/delegations.html",
        form=form,
        lists=queries.delegations_for(actor()),
        today=utcnow().date(),
    ), status


@bp.route("/delegations", methods=["GET", "POST"])
@login_required
@require("delegations.manage")
@creates(DelegationForm)
def delegations():
    people = queries.possible_delegates(actor())
    form = DelegationForm().set_choices(people)
    if request.method == "GET":
        today = utcnow().date()
        form.starts_on.data = form.starts_on.data or today
    if form.validate_on_submit():
        # Any colleague is looked up (the service explains why a buyer cannot be one).
        delegate = next(iter(queries.users_by_ids([form.delegate.data])), None)
        try:
            with unit_of_work():
                delegation = approvals.create_delegation(
                    actor(), delegate, form.starts_on.data, form.ends_on.data
                )
        except ValidationProblem as exc:
            form.form_errors.append(str(exc.message))
        else:
            return saved(_("%(name)s decides your approvals from %(start)s to %(end)s.",
                           name=delegation.delegate.full_name, start=day(delegation.starts_on),
                           end=day(delegation.ends_on)), url_for("approvals.delegations"))
    return _page(form, 422 if request.method == "POST" else 200)


@bp.route("/delegations/<int:delegation_id>/revoke", methods=["POST"])
@login_required
@require("delegations.manage")
def delegation_revoke(delegation_id: int):
    delegation = or_404(queries.load_delegation(delegation_id))
    with unit_of_work():
        approvals.revoke_delegation(delegation, actor())
    return saved(_("The delegation to %(name)s has ended.", name=delegation.delegate.full_name),
                 url_for("approvals.delegations"))
