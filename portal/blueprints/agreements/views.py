"""Price agreements: the buyer's list (and its CSV), form and detail, and the supplier's read-only list."""

from flask import request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms import SelectChoice

from portal.blueprints.agreements import bp
from portal.blueprints.agreements.forms import AgreementEditForm, AgreementForm, EndForm
from portal.blueprints.cache import cached_page
from portal.blueprints.edge import (
    actor,
    button_action,
    csv_dialect,
    csv_response,
    form_action,
    form_status,
    or_404,
    page_size,
    saved,
    scoped_rows,
)
from portal.blueprints.once import creates
from portal.blueprints.params import cursor_arg, id_arg
from portal.domain import agreements as rules
from portal.htmx import fragment, render
from portal.policies import require
from portal.services import agreements, catalog, suppliers
from portal.services.agreements import STATES, AgreementFields
from portal.services.paging import every_page


def _filters() -> dict:
    state = request.args.get("state", "")
    return {"link": id_arg("link"), "state": state if state in STATES else ""}


@bp.route("/")
@login_required
@require("agreements.view")
def index():
    filters, cursor, per_page = _filters(), cursor_arg(), page_size()
    link = suppliers.get_link(actor(), filters["link"]) if filters["link"] else None

    def build():
        page = agreements.list_agreements(link_id=filters["link"], state=filters["state"],
                                          cursor=cursor, per_page=per_page)
        return {"page": page, "filters": filters, "args": {k: v for k, v in filters.items() if v},
                "link": link, **_filter_links(filters["link"]), "today": agreements.today(),
                "open_proposals": _open_proposals()}

    return cached_page("agreements/index.html", build, block=fragment("results"))


@bp.route("/export")
@login_required
@require("agreements.view")
def export():
    """The filtered list as CSV, every page of it, streamed."""
    filename, header, rows = export_table(_filters())
    return csv_response(filename, header, scoped_rows(rows), stream=True)


def export_table(filters: dict):
    """(filename, header, rows) of the filtered list's CSV, the rows a generator read by keyset
    in chunks: the page's export and GET /api/v1/exports/agreements. A supplier link that is
    not the company's is a 404, as on the page."""
    if filters["link"]:
        suppliers.get_link(actor(), filters["link"])
    header = [_("Supplier"), _("SKU"), _("Item"), _("Supplier's part number"), _("Unit price"),
              _("Currency"), _("Quantity tiers"), _("Valid from"), _("Valid to"),
              _("Lead time (days)"), _("Status")]
    states = {"valid": _("Valid"), "future": _("Future"), "expired": _("Expired")}
    mark = csv_dialect()[1]
    day = agreements.today()

    def tiers(agreement) -> str:
        # One cell, "minimum quantity: unit price" per tier ("10: 9.50; 100: 9.00"), in the
        # reader's decimal mark.
        return "; ".join(f"{_quantity(t.min_qty, mark)}: {format(t.unit_price, 'f').replace('.', mark)}"
                         for t in agreement.tier_list)

    def generate():
        for a in every_page(agreements.list_agreements, link_id=filters["link"], state=filters["state"]):
            yield [a.supplier.name, a.item.sku, a.item.name, a.supplier_part_number, a.unit_price,
                   a.currency, tiers(a), a.valid_from, a.valid_to, a.lead_time_days,
                   states[rules.state_on(a, day)]]

    return f"price-agreements{'-' + filters['state'] if filters['state'] else ''}.csv", header, generate()


def _quantity(value, mark: str) -> str:
    """A tier's minimum quantity as written in a cell: a whole one without decimals."""
    return format(value.normalize() if value == value.to_integral() else value, "f").replace(".", mark)


def _filter_links(selected: int | None) -> dict:
    links, more = agreements.filter_links(actor(), selected=selected, by="id")
    return {"links": links, "more_links": more}


def _open_proposals() -> int | None:
    """How many supplier price proposals wait (the link to them), for those who read them."""
    from portal.policies import can
    from portal.services import price_proposals

    return price_proposals.open_count() if can(actor(), "price_proposals.view") else None


@bp.route("/<int:agreement_id>")
@login_required
@require("agreements.view")
def detail(agreement_id: int):
    agreement = or_404(agreements.find_agreement(agreement_id))
    return render("agreements/detail.html", agreement=agreement, today=agreements.today(),
                  events=agreements.agreement_events(agreement), end_form=EndForm())


def _fields(form, **extra) -> AgreementFields:
    return AgreementFields(
        unit_price=form.unit_price.data, currency=form.currency.data,
        valid_from=form.valid_from.data, valid_to=form.valid_to.data, tiers=form.tiers(),
        supplier_part_number=form.supplier_part_number.data or "",
        lead_time_days=form.lead_time_days.data, **extra,
    )


def _new_form() -> AgreementForm:
    links = agreements.active_links(actor())
    defaults = {"currency": current_user.organization.currency, "valid_from": agreements.today()}
    if request.method == "GET":
        wanted = id_arg("link")
        link = next((lnk for lnk in links if lnk.id == wanted), None)
        if link is not None:
            defaults.update(link_id=link.id, currency=link.currency)
        item = catalog.find_item(id_arg("item")) if id_arg("item") else None
        if item is not None:
            defaults["item_sku"] = item.sku
    form = AgreementForm(data=defaults)
    form.link_id.choices = [SelectChoice("", _("— choose —"))] + [
        SelectChoice(str(lnk.id), f"{lnk.supplier.name} ({lnk.currency})") for lnk in links
    ]
    return form


@bp.route("/new", methods=["GET", "POST"])
@login_required
@require("agreements.manage")
@creates(AgreementForm)
def new():
    form = _new_form()
    return form_action(
        form,
        lambda: agreements.create_agreement(
            actor(), _fields(form, link_id=form.link_id.data, item_sku=form.item_sku.data or "")),
        lambda agreement: saved(_("The price agreement is saved."),
                                url_for("agreements.detail", agreement_id=agreement.id)),
    ) or (render("agreements/form.html", form=form, agreement=None), form_status())


@bp.route("/<int:agreement_id>/edit", methods=["GET", "POST"])
@login_required
@require("agreements.manage")
def edit(agreement_id: int):
    agreement = or_404(agreements.find_agreement(agreement_id))
    form = AgreementEditForm(obj=agreement)
    if request.method == "GET":
        form.set_tiers(agreement.tier_list)
    return form_action(
        form, lambda: agreements.update_agreement(actor(), agreement, _fields(form)),
        lambda _saved: saved(_("The price agreement is saved."),
                             url_for("agreements.detail", agreement_id=agreement.id)),
    ) or (render("agreements/form.html", form=form, agreement=agreement), form_status())


@bp.route("/<int:agreement_id>/end", methods=["POST"])
@login_required
@require("agreements.manage")
def end(agreement_id: int):
    agreement = or_404(agreements.find_agreement(agreement_id))
    target = url_for("agreements.detail", agreement_id=agreement.id)
    return button_action(agreement, "agreements.end", agreements.end_agreement,
                         _("The agreement ends today: from tomorrow its price no longer applies."),
                         target, refused_to=target)


# --- the supplier's side ------------------------------------------------------------------------


@bp.route("/customers/<int:link_id>")
@login_required
@require("customers.view")
def customer(link_id: int):
    link = suppliers.get_customer_link(actor(), link_id)
    page = agreements.list_for_customer(link, cursor=cursor_arg(), per_page=page_size())
    return render("agreements/customer.html", link=link, buyer=link.buyer, page=page,
                  items=agreements.item_labels(page.items), today=agreements.today())
