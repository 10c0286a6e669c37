"""The approver's inbox: decide one task (htmx row, requisition page, or plain form), approve
several small ones at once, and decide from the link in a notification email."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app, flash, redirect, request, url_for
from flask_babel import format_timedelta, ngettext
from flask_babel import gettext as _
from flask_htmx import make_response as htmx_response
from flask_login import login_required

from portal.blueprints.approvals import bp
from portal.blueprints.approvals.forms import DecisionForm
from portal.blueprints.badges import polled_badge
from portal.blueprints.cache import cached_page
from portal.blueprints.edge import actor, or_404, page_size, safe_next, saved, unit_of_work
from portal.blueprints.params import coerce_id, cursor_arg
from portal.domain.approval import reason_message
from portal.errors import BudgetExceeded, PermissionDenied, ValidationProblem
from portal.extensions import htmx
from portal.htmx import render, with_flash
from portal.i18n import translate
from portal.policies import can, require
from portal.services import approvals, badges
from portal.services.approvals import blocked, queries

DONE_MESSAGES = {
    "approve": lambda number: _("%(number)s approved.", number=number),
    "return": lambda number: _("%(number)s returned to the requester.", number=number),
    "reject": lambda number: _("%(number)s rejected.", number=number),
}


def _bulk_max():
    return current_app.config["BULK_APPROVE_MAX"]


@bp.app_template_filter("waiting")
def waiting_filter(since: datetime | None) -> str:
    """How long something has waited, in words: "3 days", "5 hours"."""
    if since is None:
        return ""
    return format_timedelta(datetime.now(UTC) - since, granularity="minute", threshold=0.9)


@bp.app_template_filter("task_reason")
def task_reason_filter(task) -> str:
    """Why a task was routed where it was, in the reader's language."""
    return translate(reason_message(task.reason, task.reason_params))


@bp.app_template_global("translate_msg")
def translate_msg(msg) -> str:
    """A routing message (reason, problem) in the reader's language."""
    return translate(msg)


def _task_or_404(task_id: int):
    return or_404(queries.load_task(task_id))


def _form_message(form) -> str:
    return " ".join(str(error) for errors in form.errors.values() for error in errors)


def _forbidden(message: str):
    """A refused decision keeps its reason (the generic 403 page would lose it)."""
    return render("errors/error.html", code=403, title=_("Not allowed"), message=message), 403


@bp.route("/")
@login_required
@require("approvals.inbox")
def inbox():
    cursor, per_page = cursor_arg(), page_size()

    def build():
        page, rows = queries.inbox_page(actor(), cursor=cursor, per_page=per_page, bulk_max=_bulk_max())
        return {"page": page, "rows": rows, "bulk_max": _bulk_max(), "acting_for": queries.acting_for(actor())}

    return cached_page("approvals/inbox.html", build)


@bp.route("/badge")
@polled_badge("approvals.inbox", "approvals/_badge.html", scope=lambda _user_id: badges.APPROVALS)
def badge(user) -> int:
    """The count beside "Approvals" in the menu (polled by htmx; 286 stops the polling)."""
    return queries.inbox_count(user)


def _decided(task, decision: str, form: DecisionForm):
    """After a decision: the requisition page (when the form came from it), the inbox row
    replaced by its result (htmx), or back to the inbox with a flash."""
    message = DONE_MESSAGES[decision](task.requisition.number)
    if form.next.data:
        flash(message, "success")
        target = safe_next(form.next.data, "approvals.inbox")
        return htmx_response(redirect=target) if htmx else redirect(target)
    if htmx:
        # The row's result, and every count on the page in step with it (out-of-band swaps):
        # the menu's badge and the total under the list. "approvals-changed" tells any other
        # listener (a dashboard widget).
        body = render("approvals/_done_row.html", task=task, decision=decision) + render(
            "approvals/_counts.html", count=queries.inbox_count(actor()))
        return with_flash(body, message, events={"approvals-changed": True})
    return saved(message, url_for("approvals.inbox"))


def _refused(task, form: DecisionForm, message: str):
    """The decision needs a correction (a comment): the same form again, with the message,
    status 422, nothing saved."""
    context = {"task": task, "error": message, "comment": form.comment.data or "",
               "budget_block": blocked.budget_block(task)}
    if htmx and form.next.data:
        return render("approvals/_decide.html", **context), 422
    if htmx:
        row = queries.load_inbox_row(actor(), task, bulk_max=_bulk_max())
        return render("approvals/_row.html", row=row, **context), 422
    return render("approvals/task.html", form=form, next=form.next.data or "", **context), 422


@bp.route("/tasks/<int:task_id>/decide", methods=["POST"])
@login_required
@require("approvals.inbox")
def decide(task_id: int):
    task = _task_or_404(task_id)
    user = actor()
    # The rule that hides the buttons refuses the POST; `refusal` says why.
    if not can(user, "approvals.decide", task):
        problem = approvals.refusal(task, user) or PermissionDenied(_("Not allowed."))
        if isinstance(problem, PermissionDenied):
            return _forbidden(str(problem.message))
        raise problem
    form = DecisionForm()
    if not form.validate_on_submit():
        return _refused(task, form, _form_message(form))
    try:
        with unit_of_work():
            approvals.decide(task, user, form.decision.data, form.comment.data or "")
    except (ValidationProblem, BudgetExceeded) as exc:
        # BudgetExceeded: the budget changed since the page showed Approve (a stale page).
        return _refused(task, form, str(exc.message))
    except PermissionDenied as exc:
        # An approval limit below the amount: htmx shows why beside the buttons (a 403 would
        # not be swapped in), a plain form gets the error page.
        return _refused(task, form, str(exc.message)) if htmx else _forbidden(str(exc.message))
    return _decided(task, form.decision.data, form)


@bp.route("/tasks/<int:task_id>/request-raise", methods=["POST"])
@login_required
@require("approvals.inbox")
def request_raise(task_id: int):
    """The budget blocks approving the task: ask its owner to raise it (once per round; a
    re-post says it was already asked). Back to the page the button was on."""
    task = _task_or_404(task_id)
    user = actor()
    if not can(user, "approvals.decide", task):
        problem = approvals.refusal(task, user) or PermissionDenied(_("Not allowed."))
        return _forbidden(str(problem.message))
    target = safe_next(request.form.get("next"), "approvals.inbox")
    try:
        with unit_of_work():
            sent = blocked.request_budget_raise(task, user)
    except ValidationProblem as exc:
        flash(str(exc.message), "warning")
        return redirect(target)
    if sent:
        return saved(_("The budget owner is asked to raise the budget for %(number)s.",
                       number=task.requisition.number), target)
    flash(_("The budget owner was already asked to raise the budget for %(number)s.",
            number=task.requisition.number), "info")
    return redirect(target)


@bp.route("/bulk", methods=["POST"])
@login_required
@require("approvals.inbox")
def bulk():
    ids = [i for i in request.form.getlist("task_ids", type=coerce_id) if i][:100]
    if not ids:
        flash(_("Tick the requisitions you want to approve."), "warning")
        return redirect(url_for("approvals.inbox"))
    with unit_of_work():
        done, refused = approvals.bulk_approve(ids, actor(), max_amount=_bulk_max())
    if done:
        flash(ngettext("%(num)s requisition approved.", "%(num)s requisitions approved.", done),
              "success")
    for message in refused:
        flash(translate(message), "error")
    return redirect(url_for("approvals.inbox"))


# ---------------------------------------------------------------- from the email


def _gone(task, message: str):
    return render("approvals/link_gone.html", task=task, message=message), 410


@bp.route("/decide/<token>", methods=["GET", "POST"])
@login_required
def email_decision(token: str):
    """The link in a notification email: GET shows the requisition and the decision form
    (nothing changes); the POST decides. Single use, 72 hours; another company's link is 404."""
    row = or_404(approvals.load_decision_token(token))
    task = row.assignment.task
    problem = approvals.token_refusal(row, actor())
    if isinstance(problem, PermissionDenied):
        return _forbidden(str(problem.message))
    if problem is not None:
        return _gone(task, str(problem.message))
    form = DecisionForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            return _email_page(task, form, token, _form_message(form)), 422
        try:
            with unit_of_work():
                approvals.decide_by_token(token, actor(), form.decision.data, form.comment.data or "")
        except (ValidationProblem, BudgetExceeded) as exc:
            return _email_page(task, form, token, str(exc.message)), 422
        except PermissionDenied as exc:
            return _forbidden(str(exc.message))
        return saved(DONE_MESSAGES[form.decision.data](task.requisition.number),
                     url_for("requisitions.detail", requisition_id=task.requisition_id))
    return _email_page(task, form, token)


def _email_page(task, form, token, error=None):
    return render("approvals/task.html", task=task, form=form, error=error,
                  comment=form.comment.data or "", next="", budget_block=blocked.budget_block(task),
                  action=url_for("approvals.email_decision", token=token))
