from itertools import islice

from flask import current_app, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms import SelectChoice

from portal import i18n
from portal.blueprints import codelists
from portal.blueprints.cache import cached_page
from portal.blueprints.catalog import bp, ordering
from portal.blueprints.catalog.forms import CategoryForm, ImportForm, ItemForm
from portal.blueprints.edge import (
    actor,
    button_action,
    csv_file,
    csv_response,
    form_action,
    form_status,
    or_404,
    page_size,
    saved,
    scoped_rows,
    unit_of_work,
)
from portal.blueprints.once import creates
from portal.blueprints.params import cursor_arg, id_arg, text_arg
from portal.domain import catalog as rules
from portal.domain.messages import N_
from portal.errors import ValidationProblem
from portal.htmx import fragment, render
from portal.i18n import translate
from portal.policies import can, require
from portal.services import agreements, catalog
from portal.services.catalog_import import import_items_csv, size_label
from portal.services.paging import every_page

STATUSES = ("active", "inactive", "all")


@bp.context_processor
def _helpers():
    return {
        "vat_rate": lambda rate: i18n.number(rate, max_places=2),
        "translate": translate,
    }


def _filters() -> dict:
    return list_filters(text_arg("q"), id_arg("category"), request.args.get("status", "active"))


def list_filters(q: str, category: int | None, status: str) -> dict:
    """The list's filters as the page applies them (the page, its export, GET
    /api/v1/exports/catalog): only those who manage the catalog choose inactive items."""
    if status not in STATUSES or not can(current_user, "catalog.manage"):
        status = "active"  # buyers see what they may order
    return {"q": q, "category": category, "status": status}


@bp.route("/")
@login_required
@require("catalog.view")
def index():
    filters, cursor, per_page = _filters(), cursor_arg(), page_size()

    def build():
        page = catalog.list_items(query=filters["q"], category_id=filters["category"], status=filters["status"],
                                  cursor=cursor, per_page=per_page)
        return {"page": page, "filters": filters, "args": {k: v for k, v in filters.items() if v},
                "categories": catalog.list_categories(), "agreed": agreements.agreed_prices(page.items),
                **ordering.picker()}

    return cached_page("catalog/index.html", build, block=fragment("results"))


@bp.route("/export")
@login_required
@require("catalog.view")
def export():
    """The filtered list as CSV, every page of it, streamed."""
    filename, header, rows = export_table(_filters())
    return csv_response(filename, header, scoped_rows(rows), stream=True)


EXPORT_CHUNK = 500


def export_table(filters: dict):
    """(filename, header, rows) of the filtered list's CSV, the rows a generator read by keyset
    in chunks (each chunk's agreed prices in one query): the page's export and GET
    /api/v1/exports/catalog."""
    header = [_("SKU"), _("Name"), _("Category code"), _("Category"), _("Unit"), _("VAT %"),
              _("List price"), _("Currency"), _("Agreed price"), _("Agreed price currency"),
              _("Agreed with"), _("Preferred supplier"), _("Status")]
    active, inactive = _("Active"), _("Inactive")
    units = {code: i18n.unit_label(code) for code, _label in rules.UNITS}
    day = agreements.today()

    def generate():
        items = every_page(catalog.list_items, chunk=EXPORT_CHUNK, query=filters["q"],
                           category_id=filters["category"], status=filters["status"])
        while chunk := list(islice(items, EXPORT_CHUNK)):
            agreed = agreements.agreed_prices(chunk, day=day)
            for item in chunk:
                deal = agreed.get(item.id)
                yield [
                    item.sku, item.name, item.category.code if item.category else "",
                    item.category.name if item.category else "",
                    units.get(item.unit) or i18n.unit_label(item.unit), item.default_vat_rate,
                    item.list_price, item.currency,
                    deal.unit_price if deal else None, deal.currency if deal else "",
                    deal.supplier.name if deal else "",
                    item.preferred_supplier.name if item.preferred_supplier else "",
                    active if item.is_active else inactive,
                ]

    return f"catalog-{filters['status']}.csv", header, generate()


@bp.route("/<int:item_id>")
@login_required
@require("catalog.view")
def detail(item_id: int):
    return ordering.detail_page(or_404(catalog.find_item(item_id)))


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


@bp.route("/new", methods=["GET", "POST"])
@login_required
@require("catalog.manage")
@creates(ItemForm)
def new():
    form = _item_form()
    return form_action(
        form, lambda: catalog.create_item(current_user.organization, _fields(form), actor=actor()),
        lambda item: saved(_("Item %(sku)s added.", sku=item.sku),
                           url_for("catalog.detail", item_id=item.id)),
    ) or (render("catalog/form.html", form=form, item=None), form_status())


@bp.route("/<int:item_id>/edit", methods=["GET", "POST"])
@login_required
@require("catalog.manage")
def edit(item_id: int):
    item = or_404(catalog.find_item(item_id))
    form = _item_form(item)
    return form_action(
        form, lambda: catalog.update_item(item, _fields(form), actor=actor()),
        lambda _saved: saved(_("Item %(sku)s saved.", sku=item.sku),
                             url_for("catalog.detail", item_id=item.id)),
    ) or (render("catalog/form.html", form=form, item=item), form_status())


@bp.route("/<int:item_id>/deactivate", methods=["POST"])
@login_required
@require("catalog.manage")
def deactivate(item_id: int):
    item = or_404(catalog.find_item(item_id))
    return button_action(item, "catalog.deactivate", catalog.deactivate_item,
                         _("Item %(sku)s deactivated: buyers no longer see it.", sku=item.sku),
                         url_for("catalog.detail", item_id=item.id))


@bp.route("/<int:item_id>/reactivate", methods=["POST"])
@login_required
@require("catalog.manage")
def reactivate(item_id: int):
    item = or_404(catalog.find_item(item_id))
    return button_action(item, "catalog.reactivate", catalog.reactivate_item,
                         _("Item %(sku)s is active again.", sku=item.sku),
                         url_for("catalog.detail", item_id=item.id))


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
@creates(ImportForm)
def import_items():
    form = ImportForm()
    limits = _limits()
    if form.validate_on_submit():
        # Read one byte past the limit: enough to know it is too large, never the whole upload.
        data = form.file.data.stream.read(limits["max_bytes"] + 1)
        try:
            with unit_of_work():
                report = import_items_csv(current_user.organization, data, actor=actor(),
                                          **limits)
        except ValidationProblem as exc:
            form.file.errors = [*form.file.errors, str(exc.message)]
        else:
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
    return csv_file("catalog-sample.csv", rules.sample_csv(polish=polish))


# --- categories ---------------------------------------------------------------------------------


@bp.route("/categories")
@login_required
@require("catalog.manage")
def categories():
    return render("catalog/categories.html", categories=catalog.list_categories())


codelists.register(codelists.CodeList(
    bp=bp, path="/categories", suffix="_category", id_arg="category_id", rules="catalog",
    index="catalog.categories", template="catalog/category_form.html", context_name="category",
    load=catalog.find_category, form=lambda category: CategoryForm(obj=category),
    values=lambda form: {"code": form.code.data, "name": form.name.data},
    create=catalog.create_category, update=catalog.update_category,
    deactivate=catalog.deactivate_category, reactivate=catalog.reactivate_category,
    messages={"added": N_("Category %(code)s added."), "saved": N_("Category %(code)s saved."),
              "deactivated": N_("Category %(code)s deactivated."),
              "reactivated": N_("Category %(code)s is active again.")},
))
