from flask import Response, abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms import SelectChoice

from portal.blueprints.catalog import bp
from portal.blueprints.catalog.forms import CategoryForm, ImportForm, ItemForm
from portal.blueprints.common import commit, page_size
from portal.domain import catalog as rules
from portal.errors import ValidationProblem
from portal.extensions import htmx
from portal.htmx import render
from portal.i18n import translate
from portal.policies import authorize, can, require
from portal.services import catalog
from portal.services.catalog_import import import_items_csv, size_label

STATUSES = ("active", "inactive", "all")


@bp.context_processor
def _helpers():
    return {
        "vat_rate": rules.format_rate,
        "translate": translate,
    }


@bp.app_context_processor
def _unit_label():
    """Unit codes in the reader's language on every page (requisition lines show them too)."""
    labels = {code: label for code, label in rules.UNITS}
    return {"unit_label": lambda code: translate(labels[code]) if code in labels else code}


def _filters() -> dict:
    status = request.args.get("status", "active")
    if status not in STATUSES or not can(current_user, "catalog.manage"):
        status = "active"  # buyers see what they may order
    return {
        "q": request.args.get("q", "").strip()[:100],
        "category": request.args.get("category", type=int),
        "status": status,
    }


@bp.route("/")
@login_required
@require("catalog.view")
def index():
    filters = _filters()
    page = catalog.list_items(
        query=filters["q"], category_id=filters["category"], status=filters["status"],
        page=request.args.get("page", 1, type=int), per_page=page_size(),
    )
    args = {k: v for k, v in filters.items() if v}
    # A history restore (back button, historyCacheSize 0) needs the whole page.
    block = None if htmx.history_restore_request else "results"
    return render("catalog/index.html", block=block, page=page, filters=filters, args=args,
                  categories=catalog.list_categories())


def _load_item(item_id: int):
    item = catalog.find_item(item_id)
    if item is None:
        abort(404)
    return item


@bp.route("/<int:item_id>")
@login_required
@require("catalog.view")
def detail(item_id: int):
    item = _load_item(item_id)
    return render("catalog/detail.html", item=item, events=catalog.item_events(item))


def _item_form(item=None) -> ItemForm:
    org = current_user.organization
    defaults = {"currency": org.currency, "is_active": True}
    form = ItemForm(obj=item, data=None if item else defaults)
    form.unit.choices = [SelectChoice(code, translate(label)) for code, label in rules.UNITS]
    categories = catalog.list_categories(active_only=True)
    if item is not None and item.category and not item.category.is_active:
        categories.append(item.category)  # an item may keep a since-deactivated category
    form.category_id.choices = [SelectChoice("", _("— none —"))] + [
        SelectChoice(str(c.id), f"{c.code} · {c.name}") for c in categories
    ]
    suppliers = catalog.active_suppliers(org)
    if item is not None and item.preferred_supplier and item.preferred_supplier not in suppliers:
        suppliers.append(item.preferred_supplier)
    form.preferred_supplier_id.choices = [SelectChoice("", _("— none —"))] + [
        SelectChoice(str(s.id), s.name) for s in suppliers
    ]
    return form


def _fields(form: ItemForm) -> catalog.ItemFields:
    return catalog.ItemFields(
        sku=form.sku.data or "", name=form.name.data or "",
        description=form.description.data or "", unit=form.unit.data,
        category_id=form.category_id.data, default_vat_rate=form.default_vat_rate.data,
        list_price=form.list_price.data, currency=form.currency.data,
        preferred_supplier_id=form.preferred_supplier_id.data, is_active=form.is_active.data,
    )


def _show_problem(form, exc: ValidationProblem) -> None:
    target = getattr(form, getattr(exc, "field", ""), None)
    if target is not None:
        target.errors = [*target.errors, str(exc.message)]
    else:
        form.form_errors.append(str(exc.message))


@bp.route("/new", methods=["GET", "POST"])
@login_required
@require("catalog.manage")
def new():
    form = _item_form()
    if form.validate_on_submit():
        try:
            item = catalog.create_item(current_user.organization, _fields(form), actor=current_user)
        except ValidationProblem as exc:
            _show_problem(form, exc)
        else:
            commit()
            flash(_("Item %(sku)s added.", sku=item.sku), "success")
            return redirect(url_for("catalog.detail", item_id=item.id))
    status = 422 if request.method == "POST" else 200
    return render("catalog/form.html", form=form, item=None), status


@bp.route("/<int:item_id>/edit", methods=["GET", "POST"])
@login_required
@require("catalog.manage")
def edit(item_id: int):
    item = _load_item(item_id)
    form = _item_form(item)
    if form.validate_on_submit():
        try:
            catalog.update_item(item, _fields(form), actor=current_user)
        except ValidationProblem as exc:
            _show_problem(form, exc)
        else:
            commit()
            flash(_("Item %(sku)s saved.", sku=item.sku), "success")
            return redirect(url_for("catalog.detail", item_id=item.id))
    status = 422 if request.method == "POST" else 200
    return render("catalog/form.html", form=form, item=item), status


@bp.route("/<int:item_id>/deactivate", methods=["POST"])
@login_required
@require("catalog.manage")
def deactivate(item_id: int):
    item = _load_item(item_id)
    authorize("catalog.deactivate", item)
    catalog.deactivate_item(item, actor=current_user)
    commit()
    flash(_("Item %(sku)s deactivated: buyers no longer see it.", sku=item.sku), "success")
    return redirect(url_for("catalog.detail", item_id=item.id))


@bp.route("/<int:item_id>/reactivate", methods=["POST"])
@login_required
@require("catalog.manage")
def reactivate(item_id: int):
    item = _load_item(item_id)
    authorize("catalog.reactivate", item)
    catalog.reactivate_item(item, actor=current_user)
    commit()
    flash(_("Item %(sku)s is active again.", sku=item.sku), "success")
    return redirect(url_for("catalog.detail", item_id=item.id))


# --- CSV import ---------------------------------------------------------------------------------


def _limits() -> dict:
    config = current_app.config
    return {
        "max_bytes": config.get("CATALOG_IMPORT_MAX_BYTES", rules.MAX_BYTES),
        "max_rows": config.get("CATALOG_IMPORT_MAX_ROWS", rules.MAX_ROWS),
    }


@bp.route("/import", methods=["GET", "POST"])
@login_required
@require("catalog.manage")
def import_items():
    form = ImportForm()
    limits = _limits()
    if form.validate_on_submit():
        # Read one byte past the limit: enough to know it is too large, never the whole upload.
        data = form.file.data.stream.read(limits["max_bytes"] + 1)
        try:
            report = import_items_csv(current_user.organization, data, actor=current_user,
                                      **limits)
        except ValidationProblem as exc:
            form.file.errors = [*form.file.errors, str(exc.message)]
        else:
            commit()
            return render("catalog/import_result.html", report=report)
    status = 422 if request.method == "POST" else 200
    return render("catalog/import.html", form=form, columns=rules.COLUMNS, units=rules.UNITS,
                  vat_rates=rules.VAT_RATES, max_size=size_label(limits["max_bytes"]),
                  max_rows=limits["max_rows"]), status


@bp.route("/import/sample.csv")
@login_required
@require("catalog.manage")
def sample_csv():
    polish = current_user.organization.locale == "pl"
    return Response(
        rules.sample_csv(polish=polish),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=catalog-sample.csv"},
    )


# --- categories ---------------------------------------------------------------------------------


def _load_category(category_id: int):
    category = catalog.find_category(category_id)
    if category is None:
        abort(404)
    return category


@bp.route("/categories")
@login_required
@require("catalog.manage")
def categories():
    return render("catalog/categories.html", categories=catalog.list_categories())


@bp.route("/categories/new", methods=["GET", "POST"])
@login_required
@require("catalog.manage")
def new_category():
    form = CategoryForm()
    if form.validate_on_submit():
        try:
            category = catalog.create_category(current_user.organization, code=form.code.data,
                                               name=form.name.data, actor=current_user)
        except ValidationProblem as exc:
            _show_problem(form, exc)
        else:
            commit()
            flash(_("Category %(code)s added.", code=category.code), "success")
            return redirect(url_for("catalog.categories"))
    status = 422 if request.method == "POST" else 200
    return render("catalog/category_form.html", form=form, category=None), status


@bp.route("/categories/<int:category_id>/edit", methods=["GET", "POST"])
@login_required
@require("catalog.manage")
def edit_category(category_id: int):
    category = _load_category(category_id)
    form = CategoryForm(obj=category)
    if form.validate_on_submit():
        try:
            catalog.update_category(category, code=form.code.data, name=form.name.data,
                                    actor=current_user)
        except ValidationProblem as exc:
            _show_problem(form, exc)
        else:
            commit()
            flash(_("Category %(code)s saved.", code=category.code), "success")
            return redirect(url_for("catalog.categories"))
    status = 422 if request.method == "POST" else 200
    return render("catalog/category_form.html", form=form, category=category), status


@bp.route("/categories/<int:category_id>/deactivate", methods=["POST"])
@login_required
@require("catalog.manage")
def deactivate_category(category_id: int):
    category = _load_category(category_id)
    authorize("catalog.deactivate", category)
    catalog.deactivate_category(category, actor=current_user)
    commit()
    flash(_("Category %(code)s deactivated.", code=category.code), "success")
    return redirect(url_for("catalog.categories"))


@bp.route("/categories/<int:category_id>/reactivate", methods=["POST"])
@login_required
@require("catalog.manage")
def reactivate_category(category_id: int):
    category = _load_category(category_id)
    authorize("catalog.reactivate", category)
    catalog.reactivate_category(category, actor=current_user)
    commit()
    flash(_("Category %(code)s is active again.", code=category.code), "success")
    return redirect(url_for("catalog.categories"))
