from flask import current_app, flash, request, url_for
from flask_babel import gettext as _
from flask_babel import to_user_timezone
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from wtforms import SelectChoice

from portal import i18n
from portal.blueprints.budgets import bp
from portal.blueprints.budgets.charts import burn_chart
from portal.blueprints.budgets.forms import BudgetForm, CloseForm, ImportForm, ReviseForm
from portal.blueprints.cache import cached_page
from portal.blueprints.edge import (
    actor,
    csv_file,
    csv_response,
    form_action,
    load_or_404,
    saved,
    scoped_rows,
    unit_of_work,
)
from portal.blueprints.once import creates
from portal.blueprints.params import cursor_arg, year_arg
from portal.domain.budget import BudgetStatus, bar, period_bounds
from portal.errors import ValidationProblem
from portal.extensions import db, htmx
from portal.htmx import fragment, render, with_flash
from portal.labels import approver_picker_note, bucket_label, policy_label
from portal.models import Budget, BudgetEntry, BudgetRevision, CostCenter, User
from portal.models.base import utcnow
from portal.policies import authorize, require
from portal.services import approval_policy, budget_import, budgets
from portal.services.paging import Key, Order, every_page, keyset


@bp.app_template_filter("axis_number")
def axis_number(value, compact: bool = False) -> str:
    """A chart axis value in the viewer's locale: `60,000` / `60 000`, on a phone `60K` / `60 tys.`"""
    return i18n.compact_number(value) if compact else i18n.number(value)


def _load(budget_id: int) -> Budget:
    return load_or_404(Budget, budget_id, joinedload(Budget.cost_center), joinedload(Budget.owner))


def _cost_center_choices():
    centers = db.session.scalars(select(CostCenter).where(CostCenter.is_active.is_(True)).order_by(CostCenter.code))
    return [SelectChoice(str(c.id), c.label) for c in centers]


def _owner_choices(form):
    """Approvers and admins only (an owner decides overruns); the form says who is left out."""
    users, left_out = approval_policy.approver_choices(list(
        db.session.scalars(select(User).where(User.is_active_flag.is_(True)).order_by(User.full_name))))
    if left_out:
        form.owner_id.description = f"{form.owner_id.description} {approver_picker_note(left_out)}"
    return [SelectChoice("0", _("— company admins —"))] + [SelectChoice(str(u.id), u.full_name) for u in users]


def _user(user_id: int | None):
    if not user_id:
        return None
    return db.session.scalars(select(User).where(User.id == user_id)).first()


# Latest period first; budgets of the same period newest first.
LATEST_FIRST = Order("budgets", Key(Budget.starts_on, descending=True), Key(Budget.id, descending=True))


def _list_query(status: str, year: int | None):
    """The list's budgets: `status` open, closed or anything else for all; those whose period
    meets `year`."""
    # The owner is not shown here (joining a user would also join their organisation).
    query = select(Budget).options(joinedload(Budget.cost_center))
    if status in ("open", "closed"):
        query = query.where(Budget.status == BudgetStatus(status))
    if year:
        # Read from the (organization_id[, status], starts_on, id) index down from the year's
        # end; the period's end is checked row by row.
        start, end = period_bounds("year", year)
        query = query.where(Budget.starts_on <= end, Budget.ends_on >= start)
    return query


@bp.route("/")
@login_required
@require("budgets.view")
def index():
    status = request.args.get("status", "open")
    year, cursor = year_arg(), cursor_arg()

    def build():
        page = keyset(_list_query(status, year), LATEST_FIRST, cursor=cursor,
                      per_page=current_app.config["PAGE_SIZE"])
        balances = budgets.balances_for(page.items)
        return {"page": page, "balances": balances, "bars": {b.id: bar(balances[b.id]) for b in page.items},
                "status": status, "year": year, "args": {"status": status, **({"year": year} if year else {})}}

    return cached_page("budgets/index.html", build)


@bp.route("/export")
@login_required
@require("budgets.view")
def list_export():
    """The filtered list as CSV (status, year as on the page), every page of it, streamed."""
    filename, header, rows = list_table(request.args.get("status", "open"), year_arg())
    return csv_response(filename, header, scoped_rows(rows), stream=True)


def list_table(status: str, year: int | None):
    """(filename, header, rows) of the budget list's CSV, the rows a generator read by keyset
    in chunks: the page's export and GET /api/v1/exports/budgets."""
    header = [_("Budget"), _("Cost centre"), _("Cost centre name"), _("From"), _("To"), _("Status"),
              _("Policy"), _("Currency"), _("Amount"), _("Reserved"), _("Committed"), _("Spent"),
              _("Available")]
    statuses = {BudgetStatus.OPEN: _("Open"), BudgetStatus.CLOSED: _("Closed")}
    query = _list_query(status, year)

    def page_of(**kwargs):
        return keyset(query, LATEST_FIRST, **kwargs)

    def generate():
        for b in every_page(page_of):
            bal = budgets.balances_of(b)
            yield [b.name, b.cost_center.code, b.cost_center.name, b.starts_on, b.ends_on,
                   statuses.get(b.status, str(b.status)), policy_label(b.overrun_policy), b.currency,
                   bal.amount, bal.reserved, bal.committed, bal.actual, bal.available]

    shown = status if status in ("open", "closed") else "all"
    return f"budgets-{shown}{f'-{year}' if year else ''}.csv", header, generate()


@bp.route("/new", methods=["GET", "POST"])
@login_required
@require("budgets.manage")
@creates(BudgetForm)
def new():
    form = BudgetForm(currency=current_user.organization.currency)
    form.cost_center_id.choices = _cost_center_choices()
    form.owner_id.choices = _owner_choices(form)
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
    return _detail(_load(budget_id))


def _detail(budget: Budget, *, revise_form: ReviseForm | None = None, status: int = 200):
    """The detail page (for htmx, its `detail` block) with the revision form's state."""
    balances = budgets.balances_of(budget)
    today = utcnow().date()
    burn = budgets.burn_series(budget)
    charts = [burn_chart(burn, budget.starts_on, budget.ends_on, budget.amount, today, compact=compact)
              for compact in (False, True)]
    ledger = budgets.ledger_page(budget, cursor=cursor_arg(), per_page=current_app.config["PAGE_SIZE"])
    revisions = db.session.scalars(
        select(BudgetRevision).where(BudgetRevision.budget_id == budget.id).options(joinedload(BudgetRevision.actor))
        .order_by(BudgetRevision.created_at.desc(), BudgetRevision.id.desc())
    ).all()
    revise_form = revise_form or ReviseForm(amount=budget.amount, overrun_policy=budget.overrun_policy.value,
                                            formdata=None)
    return render("budgets/detail.html", block=fragment("detail"), budget=budget, balances=balances,
                  segments=bar(balances), charts=charts, ledger=ledger, revisions=revisions,
                  revise_form=revise_form, close_form=CloseForm(formdata=None),
                  progress=budgets.period_progress(budget, today)), status


@bp.route("/<int:budget_id>/revise", methods=["POST"])
@login_required
def revise(budget_id: int):
    budget = _load(budget_id)
    authorize("budgets.manage", budget)
    form = ReviseForm()
    done = form_action(
        form,
        lambda: budgets.revise_budget(budget, actor(), amount=form.amount.data, reason=form.reason.data,
                                      overrun_policy=form.overrun_policy.data),
        lambda _budget: _revised(budget),
    )
    # Errors stay in the open revision panel, beside their fields, with what was typed.
    return done or _detail(budget, revise_form=form, status=422)


def _revised(budget: Budget):
    message = _("Budget revised.")
    if htmx:
        body, _status = _detail(budget)
        return with_flash(body, message)
    return saved(message, url_for("budgets.detail", budget_id=budget.id))


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
    return csv_response(*ledger_table(_load(budget_id)))


def ledger_table(budget: Budget):
    """(filename, header, rows) of a budget's ledger CSV: the page's export and GET
    /api/v1/exports/budget-ledger."""
    entries = db.session.scalars(
        select(BudgetEntry).where(BudgetEntry.budget_id == budget.id).options(joinedload(BudgetEntry.actor))
        .order_by(BudgetEntry.created_at, BudgetEntry.id)
    )
    # In the reader's language and dialect (csv_response), like the page's ledger table.
    rows = ([to_user_timezone(e.created_at), bucket_label(e.kind), e.amount, budget.currency,
             e.source_label, _("overrun") if e.overrun else "",
             e.actor.full_name if e.actor else _("System"), budgets.entry_note(e)] for e in entries)
    header = [_("Date"), _("Entry"), _("Amount"), _("Currency"), _("Document"), _("Overrun"),
              _("Person"), _("Note")]
    return f"budget-{budget.id}-ledger.csv", header, rows


@bp.route("/import", methods=["GET", "POST"])
@login_required
@require("budgets.manage")
@creates(ImportForm)
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
