from flask import current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from wtforms import SelectChoice

from portal.blueprints.budgets import bp
from portal.blueprints.budgets.charts import burn_chart
from portal.blueprints.budgets.forms import BudgetForm, CloseForm, ImportForm, ReviseForm
from portal.blueprints.edge import (
    actor,
    csv_file,
    csv_response,
    load_or_404,
    saved,
    unit_of_work,
)
from portal.domain.budget import BudgetStatus, bar, period_bounds
from portal.errors import ValidationProblem
from portal.extensions import db
from portal.htmx import render
from portal.i18n import translate
from portal.models import Budget, BudgetEntry, BudgetRevision, CostCenter, User
from portal.models.base import utcnow
from portal.policies import authorize, require
from portal.services import budget_import, budgets


def _load(budget_id: int) -> Budget:
    return load_or_404(Budget, budget_id, joinedload(Budget.cost_center), joinedload(Budget.owner))


def _cost_center_choices():
    centers = db.session.scalars(select(CostCenter).where(CostCenter.is_active.is_(True)).order_by(CostCenter.code))
    return [SelectChoice(str(c.id), c.label) for c in centers]


def _owner_choices():
    users = db.session.scalars(select(User).where(User.is_active_flag.is_(True)).order_by(User.full_name))
    return [SelectChoice("0", _("— company admins —"))] + [SelectChoice(str(u.id), u.full_name) for u in users]


def _user(user_id: int | None):
    if not user_id:
        return None
    return db.session.scalars(select(User).where(User.id == user_id)).first()


@bp.route("/")
@login_required
@require("budgets.view")
def index():
    status = request.args.get("status", "open")
    year = request.args.get("year", type=int)
    query = (
        select(Budget).options(joinedload(Budget.cost_center), joinedload(Budget.owner))
        .order_by(Budget.starts_on.desc(), Budget.id)
    )
    if status in ("open", "closed"):
        query = query.where(Budget.status == BudgetStatus(status))
    if year:
        start, end = period_bounds("year", year)
        query = query.where(Budget.starts_on <= end, Budget.ends_on >= start)
    page = db.paginate(query, page=request.args.get("page", 1, type=int), per_page=current_app.config["PAGE_SIZE"],
                       error_out=False)
    balances = budgets.balances_for(page.items)
    bars = {b.id: bar(balances[b.id]) for b in page.items}
    return render("budgets/index.html", page=page, balances=balances, bars=bars, status=status, year=year,
                  args={"status": status, **({"year": year} if year else {})})


@bp.route("/new", methods=["GET", "POST"])
@login_required
@require("budgets.manage")
def new():
    form = BudgetForm(currency=current_user.organization.currency)
    form.cost_center_id.choices = _cost_center_choices()
    form.owner_id.choices = _owner_choices()
    if form.validate_on_submit():
        try:
            starts_on, ends_on = period_bounds(form.period_kind.data, form.year.data, form.index.data or 1)
        except ValueError:
            form.index.errors.append(_("Quarters are 1–4 and months 1–12."))
        else:
            cost_center = db.session.scalars(
                select(CostCenter).where(CostCenter.id == form.cost_center_id.data)
            ).first()
            try:
                with unit_of_work():
                    budget = budgets.create_budget(
                        actor(), cost_center=cost_center, name=form.name.data, period_kind=form.period_kind.data,
                        starts_on=starts_on, ends_on=ends_on, amount=form.amount.data, currency=form.currency.data,
                        overrun_policy=form.overrun_policy.data, owner=_user(form.owner_id.data),
                    )
            except ValidationProblem as exc:
                form.form_errors.append(str(exc.message))
            else:
                return saved(_("Budget “%(name)s” created.", name=budget.name),
                             url_for("budgets.detail", budget_id=budget.id))
    status = 422 if request.method == "POST" else 200
    return render("budgets/new.html", form=form), status


@bp.route("/<int:budget_id>")
@login_required
@require("budgets.view")
def detail(budget_id: int):
    budget = _load(budget_id)
    balances = budgets.balances_of(budget)
    today = utcnow().date()
    chart = burn_chart(budgets.burn_series(budget), budget.starts_on, budget.ends_on, budget.amount, today)
    ledger = db.paginate(
        select(BudgetEntry).where(BudgetEntry.budget_id == budget.id).options(joinedload(BudgetEntry.actor))
        .order_by(BudgetEntry.created_at.desc(), BudgetEntry.id.desc()),
        page=request.args.get("page", 1, type=int), per_page=current_app.config["PAGE_SIZE"], error_out=False,
    )
    revisions = db.session.scalars(
        select(BudgetRevision).where(BudgetRevision.budget_id == budget.id).options(joinedload(BudgetRevision.actor))
        .order_by(BudgetRevision.created_at.desc(), BudgetRevision.id.desc())
    ).all()
    revise_form = ReviseForm(amount=budget.amount, overrun_policy=budget.overrun_policy.value, formdata=None)
    return render("budgets/detail.html", budget=budget, balances=balances, segments=bar(balances), chart=chart,
                  ledger=ledger, revisions=revisions, revise_form=revise_form, close_form=CloseForm(formdata=None),
                  progress=budgets.period_progress(budget, today))


@bp.route("/<int:budget_id>/revise", methods=["POST"])
@login_required
def revise(budget_id: int):
    budget = _load(budget_id)
    authorize("budgets.manage", budget)
    form = ReviseForm()
    if form.validate_on_submit():
        try:
            with unit_of_work():
                budgets.revise_budget(budget, actor(), amount=form.amount.data, reason=form.reason.data,
                                      overrun_policy=form.overrun_policy.data)
        except ValidationProblem as exc:
            flash(str(exc.message), "error")
        else:
            return saved(_("Budget revised."), url_for("budgets.detail", budget_id=budget.id))
    else:
        flash(" ".join(str(e) for errors in form.errors.values() for e in errors), "error")
    return redirect(url_for("budgets.detail", budget_id=budget.id)), 303


@bp.route("/<int:budget_id>/close", methods=["POST"])
@login_required
def close(budget_id: int):
    budget = _load(budget_id)
    authorize("budgets.manage", budget)
    form = CloseForm()
    with unit_of_work():
        budgets.close_budget(budget, actor(), reason=form.reason.data or "")
    return saved(_("Budget closed. Nothing more can be reserved against it."),
                 url_for("budgets.detail", budget_id=budget.id))


@bp.route("/<int:budget_id>/ledger.csv")
@login_required
@require("budgets.view")
def export(budget_id: int):
    budget = _load(budget_id)
    entries = db.session.scalars(
        select(BudgetEntry).where(BudgetEntry.budget_id == budget.id).options(joinedload(BudgetEntry.actor))
        .order_by(BudgetEntry.created_at, BudgetEntry.id)
    )
    rows = ([e.created_at.isoformat(timespec="seconds"), e.kind.value, e.amount, budget.currency, e.source_label,
             "yes" if e.overrun else "", e.actor.full_name if e.actor else "",
             translate(budgets.entry_note(e))] for e in entries)
    return csv_response(f"budget-{budget.id}-ledger.csv",
                        ["date", "kind", "amount", "currency", "document", "overrun", "by", "note"], rows)


@bp.route("/import", methods=["GET", "POST"])
@login_required
@require("budgets.manage")
def import_csv():
    form = ImportForm()
    result = None
    status = 200
    if form.validate_on_submit():
        data = form.file.data.read(budget_import.MAX_BYTES + 1)
        try:
            with unit_of_work():
                result = budget_import.import_budgets(actor(), data)
        except ValidationProblem as exc:
            form.file.errors.append(str(exc.message))
            status = 422
        else:
            flash(_("%(n)s budgets imported, %(bad)s rows rejected.", n=result.created, bad=len(result.errors)),
                  "success" if not result.errors else "warning")
    elif request.method == "POST":
        status = 422
    return render("budgets/import.html", form=form, result=result, columns=budget_import.COLUMNS), status


@bp.route("/import/sample.csv")
@login_required
@require("budgets.manage")
def import_sample():
    return csv_file("budgets-sample.csv", budget_import.SAMPLE)
