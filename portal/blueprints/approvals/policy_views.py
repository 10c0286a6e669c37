"""The approval policy editor (company admins): the steps as a readable table, their order,
the reminder and escalation settings, and a preview of where a requisition would go."""

from __future__ import annotations

from flask import abort, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal.blueprints.approvals import bp
from portal.blueprints.approvals.forms import PreviewForm, SettingsForm, StepForm
from portal.blueprints.edge import actor, or_404, saved, unit_of_work
from portal.blueprints.once import creates
from portal.errors import ValidationProblem
from portal.extensions import htmx
from portal.htmx import render, with_flash
from portal.policies import require
from portal.services import approval_policy, policy_versions
from portal.services.approvals import queries


def _approvers(keep=()):
    """The people a picker offers (approvers and admins), any already chosen person kept so a
    refusal names them, and how many active users are left out."""
    users, left_out = approval_policy.approver_choices(
        queries.active_users(current_user.organization_id))
    listed = {u.id for u in users}
    extra = [u for u in queries.users_by_ids([i for i in keep if i not in listed])]
    return sorted(users + extra, key=lambda u: (u.full_name, u.id)), left_out


def _settings_form(policy) -> SettingsForm:
    form = SettingsForm(
        formdata=None,
        reminder_hours=policy.reminder_hours if policy else 24,
        escalation_hours=policy.escalation_hours if policy else 72,
        escalation_user=policy.escalation_user_id if policy else None,
        category_required=policy.category_required if policy else False,
        decide_once=policy.decide_once if policy else True,
    )
    return form.set_choices(_approvers([policy.escalation_user_id] if policy else [])[0])


def _preview_form(formdata=None) -> PreviewForm:
    form = PreviewForm(formdata=formdata)
    return form.set_choices(cost_centers=queries.cost_centers(), categories=queries.categories())


def _page(*, settings_form=None, preview_form=None, preview=None, status=200, block=None):
    policy, steps = queries.policy_table(current_user.organization_id)
    context = {
        "policy": policy,
        "steps": steps,
        "settings_form": settings_form or _settings_form(policy),
        "preview_form": preview_form or _preview_form(),
        "preview": preview,
        "coverage": approval_policy.coverage(actor()),
        "versions": policy_versions.history(policy, limit=10),
    }
    return render("approvals/policy.html", block=block, **context), status


@bp.route("/policy")
@login_required
@require("approvals.policy")
def policy():
    return _page()


@bp.route("/policy/settings", methods=["POST"])
@login_required
@require("approvals.policy")
def policy_settings():
    form = SettingsForm().set_choices(_approvers()[0])
    if form.validate_on_submit():
        escalation_user = next(iter(queries.users_by_ids([form.escalation_user.data])), None)
        try:
            with unit_of_work():
                approval_policy.update_settings(
                    actor(), reminder_hours=form.reminder_hours.data,
                    escalation_hours=form.escalation_hours.data, escalation_user=escalation_user,
                    category_required=form.category_required.data,
                    decide_once=form.decide_once.data,
                )
        except ValidationProblem as exc:
            form.form_errors.append(str(exc.message))
        else:
            return saved(_("The approval settings are saved."), url_for("approvals.policy"))
    return _page(settings_form=form, status=422)


@bp.route("/policy/preview")
@login_required
@require("approvals.policy")
def policy_preview():
    """Where would a requisition of this amount, cost centre and category go now?"""
    form = _preview_form(request.args)
    preview = None
    if form.validate():
        cost_center = next((c for c in queries.cost_centers(active_only=False)
                            if c.id == form.cost_center.data), None)
        category = next((c for c in queries.categories(active_only=False)
                         if c.id == form.category.data), None)
        if cost_center is None:
            form.cost_center.errors.append(_("Choose a cost centre."))
        else:
            plan = approval_policy.preview(actor(), amount=form.amount.data,
                                           cost_center=cost_center, category=category)
            people = {u.id: u.full_name for u in queries.users_by_ids(
                {uid for task in plan.tasks for uid in task.approver_ids})}
            preview = {
                "plan": plan,
                "amount": form.amount.data,
                "cost_center": cost_center,
                "category": category,
                "names": {task.position: [people[uid] for uid in task.approver_ids if uid in people]
                          for task in plan.tasks},
                "gaps": [band for band in approval_policy.coverage(actor())
                         if band.cost_center in (None, cost_center.code)],
            }
    status = 200 if preview else 422
    return _page(preview_form=form, preview=preview, status=status, block="preview")


# ---------------------------------------------------------------- steps


def _step_form(formdata=None, step=None) -> StepForm:
    form = StepForm(formdata=formdata) if formdata is not None else StepForm()
    keep = [step.approver_user_id, *(m.user_id for m in step.members)] if step else []
    users, left_out = _approvers(keep)
    form.left_out = left_out
    return form.set_choices(
        users=users,
        cost_centers=queries.cost_centers(),
        categories=queries.categories(),
    )


def _step_or_404(step_id: int):
    return or_404(queries.load_step(step_id))


def _save(form: StepForm, step):
    """Hand the form to the service; its refusals become form messages (422)."""
    data = form.data
    member_ids = data["members"] or []
    members = queries.users_by_ids(member_ids)
    if len(members) != len(set(member_ids)):
        form.members.errors.append(_("Choose group members from your company."))
        return None
    cost_center = next((c for c in queries.cost_centers(active_only=False)
                        if c.id == data["cost_center"]), None)
    category = next((c for c in queries.categories(active_only=False)
                     if c.id == data["category"]), None)
    try:
        with unit_of_work():
            return approval_policy.save_step(
                actor(), step,
                name=data["name"], approver_kind=data["approver_kind"],
                min_amount=data["min_amount"], cost_center=cost_center, category=category,
                approver_user=next(iter(queries.users_by_ids([data["approver_user"]])), None),
                members=members, quorum=data["quorum"] or "any", quorum_n=data["quorum_n"],
            )
    except ValidationProblem as exc:
        form.form_errors.append(str(exc.message))
        return None


@bp.route("/policy/steps/new", methods=["GET", "POST"])
@login_required
@require("approvals.policy")
@creates(StepForm)
def step_new():
    form = _step_form()
    if form.validate_on_submit() and (step := _save(form, None)) is not None:
        return saved(_("Step “%(name)s” added.", name=step.name), url_for("approvals.policy"))
    status = 422 if request.method == "POST" else 200
    return render("approvals/step.html", form=form, step=None), status


@bp.route("/policy/steps/<int:step_id>/edit", methods=["GET", "POST"])
@login_required
@require("approvals.policy")
def step_edit(step_id: int):
    step = _step_or_404(step_id)
    if request.method == "GET":
        form = _step_form(formdata=None, step=step).fill_from(step)
        return render("approvals/step.html", form=form, step=step)
    form = _step_form(step=step)
    if form.validate_on_submit() and _save(form, step) is not None:
        return saved(_("Step “%(name)s” saved.", name=step.name), url_for("approvals.policy"))
    return render("approvals/step.html", form=form, step=step), 422


def _steps_changed(message: str):
    if htmx:
        body, _status = _page(block="steps")
        # The history below the steps gains the new version too (an out-of-band swap).
        history = render("approvals/policy.html", block="history", oob=True,
                         versions=policy_versions.history(queries.policy_table(
                             current_user.organization_id)[0], limit=10))
        return with_flash(body + history, message)
    return saved(message, url_for("approvals.policy"))


@bp.route("/policy/steps/<int:step_id>/move", methods=["POST"])
@login_required
@require("approvals.policy")
def step_move(step_id: int):
    step = _step_or_404(step_id)
    direction = {"up": -1, "down": 1}.get(request.form.get("direction", ""))
    if direction is None:
        abort(400)
    with unit_of_work():
        approval_policy.move_step(actor(), step, direction)
    return _steps_changed(_("Step “%(name)s” moved.", name=step.name))


@bp.route("/policy/steps/<int:step_id>/delete", methods=["POST"])
@login_required
@require("approvals.policy")
def step_delete(step_id: int):
    step = _step_or_404(step_id)
    name = step.name
    with unit_of_work():
        approval_policy.delete_step(actor(), step)
    return _steps_changed(_("Step “%(name)s” removed.", name=name))


# ---------------------------------------------------------------- versions


@bp.route("/policy/versions/<int:version_id>")
@login_required
@require("approvals.policy")
def policy_version(version_id: int):
    """One saved version: who saved it, when, what it changed (before → after) and the
    policy as it stood then."""
    version = or_404(policy_versions.get_version(version_id))
    previous_id, next_id = policy_versions.neighbours(version)
    return render(
        "approvals/policy_version.html", version=version,
        changes=policy_versions.changes_of(version), previous_id=previous_id, next_id=next_id,
        routed=policy_versions.routed_count(version), routed_cap=policy_versions.ROUTED_CAP,
    )
