"""The buying company's suppliers: list (and its CSV), invite, detail, terms, block and unblock."""

from decimal import Decimal

from flask import current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal import emails
from portal.blueprints.cache import cached_page
from portal.blueprints.edge import (
    actor,
    csv_response,
    page_size,
    safe_next,
    saved,
    scoped_rows,
    unit_of_work,
)
from portal.blueprints.once import creates
from portal.blueprints.params import cursor_arg
from portal.blueprints.suppliers import bp
from portal.blueprints.suppliers.forms import (
    ActionForm,
    BlockForm,
    InviteSupplierForm,
    SupplierFilterForm,
    TermsForm,
    TermsPreviewForm,
    UnblockForm,
)
from portal.errors import ValidationProblem
from portal.extensions import htmx
from portal.htmx import render, with_flash
from portal.jobs.rendering import absolute_url
from portal.labels import INVOICING_LABELS, link_status_label, terms_label
from portal.models.base import utcnow
from portal.policies import authorize, can, require
from portal.services import agreements, supplier_invitations, suppliers
from portal.services.orders import credit
from portal.services.paging import every_page

# How many open invitations the list page shows before linking to the full list.
INVITATIONS_PREVIEW = 5
# How many agreements valid today the supplier page shows before linking to all of them.
AGREEMENTS_PREVIEW = 10


def _filters() -> tuple[SupplierFilterForm, str, str]:
    """The filter form from the query string, and the status and search it gives the list."""
    filters = SupplierFilterForm(formdata=request.args)
    return filters, filters.status.data or "", (filters.q.data or "").strip()[:100]


@bp.route("/")
@login_required
@require("suppliers.view")
def index():
    filters, status, search = _filters()
    cursor, per_page = cursor_arg(), page_size()

    def build():
        page = suppliers.list_suppliers(actor(), status=status, search=search, cursor=cursor, per_page=per_page)
        context = {
            "filters": filters,
            "page": page,
            "filtered": bool(status or search),
            "args": {k: v for k, v in (("status", status), ("q", search)) if v},
        }
        if can(current_user, "suppliers.manage"):
            invitations = supplier_invitations.open_invitations(actor(), per_page=INVITATIONS_PREVIEW)
            context.update(_invitation_context(invitations))
        return context

    return cached_page("suppliers/index.html", build, block="suppliers")


@bp.route("/export")
@login_required
@require("suppliers.view")
def export():
    """The filtered list as CSV (status and search as on the page), every page of it, streamed."""
    _form, status, search = _filters()
    filename, header, rows = export_table(status, search)
    return csv_response(filename, header, scoped_rows(rows), stream=True)


def export_table(status: str, search: str):
    """(filename, header, rows) of the supplier list's CSV, the rows a generator read by keyset
    in chunks: the page's export and GET /api/v1/exports/suppliers."""
    header = [_("Name"), _("Legal name"), _("Tax ID"), _("Country"), _("Status"), _("Payment terms"),
              _("Invoicing"), _("Currency"), _("Credit limit")]
    user = actor()
    invoicing = {mode: str(label) for mode, label in INVOICING_LABELS.items()}

    def generate():
        for link in every_page(suppliers.list_suppliers, actor=user, status=status, search=search):
            supplier = link.supplier
            yield [supplier.name, supplier.legal_name, supplier.tax_id, supplier.country,
                   link_status_label(link.status), terms_label(link.payment_terms),
                   invoicing.get(str(link.invoicing), str(link.invoicing)), link.currency,
                   link.credit_limit]

    return "suppliers.csv", header, generate()


def _invitation_context(invitations) -> dict:
    return {
        "invitations": invitations,
        "states": {i.id: supplier_invitations.state_of(i).value for i in invitations.items},
        "action_form": ActionForm(),
    }


def _mail_invitation(invitation, token: str) -> None:
    """Email the link (an outbox row of the same action); a failed send leaves a saved
    invitation to resend."""
    link = absolute_url("supplier.join", token=token)
    try:
        emails.send_invitation(
            invitation, link, buyer_name=current_user.organization.name
        )
    except OSError:
        current_app.logger.exception("could not send the supplier invitation %s", invitation.id)
        flash(
            _("The invitation is saved, but the email could not be sent. Resend it later."),
            "warning",
        )


@bp.route("/invite", methods=["GET", "POST"])
@login_required
@require("suppliers.manage")
@creates(InviteSupplierForm)
def invite():
    form = InviteSupplierForm(currency=current_user.organization.currency)
    if form.validate_on_submit():
        try:
            with unit_of_work():
                invitation, token = supplier_invitations.invite_supplier(
                    actor(),
                    company_name=form.company_name.data,
                    email=form.email.data,
                    full_name=form.full_name.data or "",
                    payment_terms=form.payment_terms,
                    currency=form.currency.data,
                    credit_limit=form.credit_limit.data,
                    days=current_app.config["INVITATION_DAYS"],
                )
                _mail_invitation(invitation, token)
        except ValidationProblem as exc:
            form.form_errors.append(str(exc.message))
        else:
            flash(
                _("The invitation to %(company)s is on its way to %(email)s.",
                  company=invitation.company_name, email=invitation.email),
                "success",
            )
            return redirect(url_for("suppliers.index"))
    status = 422 if request.method == "POST" else 200
    return render("suppliers/invite.html", form=form), status


@bp.route("/invitations")
@login_required
@require("suppliers.manage")
def invitations():
    cursor, per_page = cursor_arg(), page_size()

    def build():
        page = supplier_invitations.open_invitations(actor(), cursor=cursor, per_page=per_page)
        return {"page": page, **_invitation_context(page)}

    return cached_page("suppliers/invitations.html", build)


@bp.route("/invitations/<int:invitation_id>/revoke", methods=["POST"])
@login_required
@require("suppliers.manage")
def revoke_invitation(invitation_id: int):
    invitation = supplier_invitations.get_invitation(actor(), invitation_id)
    # The role is checked above (403); the invitation's state is the service's to judge, so a
    # stale page gets a clear message instead of a bare 403.
    authorize("supplier_invitation.revoke")
    email = invitation.email
    with unit_of_work():
        supplier_invitations.revoke_invitation(invitation, actor=actor())
    return saved(_("The invitation to %(email)s is revoked; its link no longer works.", email=email),
                 safe_next(request.form.get("next"), "suppliers.index"))


@bp.route("/invitations/<int:invitation_id>/resend", methods=["POST"])
@login_required
@require("suppliers.manage")
def resend_invitation(invitation_id: int):
    invitation = supplier_invitations.get_invitation(actor(), invitation_id)
    authorize("supplier_invitation.resend")
    with unit_of_work():
        token = supplier_invitations.resend_invitation(
            invitation, actor=actor(), days=current_app.config["INVITATION_DAYS"]
        )
        _mail_invitation(invitation, token)
    return saved(_("A new link is on its way to %(email)s; the old one no longer works.",
                   email=invitation.email), safe_next(request.form.get("next"), "suppliers.index"))


def _detail(link, *, terms_form=None, block_form=None, unblock_form=None, status: int = 200):
    """The detail page (or, for htmx, its `detail` block) with the given forms' state."""
    context = {
        "link": link,
        "supplier": link.supplier,
        "events": suppliers.link_timeline(link),
        "terms_form": terms_form or TermsForm(formdata=None, obj=link),
        "block_form": block_form or BlockForm(formdata=None),
        "unblock_form": unblock_form or UnblockForm(formdata=None),
        "invoicing_labels": INVOICING_LABELS,
        # Two aggregate reads, only when there is a limit to compare with.
        "exposure": credit.exposure(link) if link.credit_limit is not None else None,
    }
    if not htmx:  # the agreements are outside the block htmx swaps
        context["link_agreements"] = agreements.list_agreements(link_id=link.id, state="valid",
                                                                per_page=AGREEMENTS_PREVIEW, count=False)
    return render("suppliers/detail.html", block="detail", **context), status


def _done(link, message: str):
    """After a change: the refreshed block with a flash event (htmx), or redirect + flash."""
    if htmx:
        body, _status = _detail(link)
        return with_flash(body, message)
    return saved(message, url_for("suppliers.detail", link_id=link.id))


# The amount a terms preview splits: a round sum shows the instalments' shares plainly.
PREVIEW_AMOUNT = Decimal("1000.00")


@bp.route("/terms/preview")
@login_required
@require("suppliers.manage")
def terms_preview():
    """Due dates of the terms being typed, for a sample invoice (htmx, computed here)."""
    form = TermsPreviewForm(formdata=request.args)
    terms = form.payment_terms if form.validate() else None
    issued = form.sample_date.data or utcnow().date()
    currency = form.currency.data if not form.currency.errors else None
    currency = currency or current_user.organization.currency
    context = {"form": form, "terms": terms, "issued": issued, "currency": currency,
               "amount": PREVIEW_AMOUNT}
    if terms is not None:
        context["schedule"] = terms.schedule(issued, PREVIEW_AMOUNT, currency)
        context["early"] = terms.early_payment(issued, PREVIEW_AMOUNT, currency)
    return render("suppliers/_terms_preview.html", **context)


@bp.route("/<int:link_id>")
@login_required
@require("suppliers.view")
def detail(link_id: int):
    return _detail(suppliers.get_link(actor(), link_id))


@bp.route("/<int:link_id>/terms", methods=["POST"])
@login_required
@require("suppliers.view")
def terms(link_id: int):
    link = suppliers.get_link(actor(), link_id)
    authorize("suppliers.edit_terms", link)
    form = TermsForm(obj=link)  # a field the post leaves out keeps the link's value
    if form.validate_on_submit():
        tolerance = form.price_tolerance.data
        if tolerance is None and "price_tolerance" in request.form:
            tolerance = Decimal(0)  # emptied: exactly the order price
        try:
            with unit_of_work():
                suppliers.update_terms(
                    link,
                    actor=actor(),
                    payment_terms=form.payment_terms,
                    currency=form.currency.data,
                    credit_limit=form.credit_limit.data,
                    invoicing=form.invoicing.data,
                    price_tolerance=tolerance,
                )
        except ValidationProblem as exc:
            form.form_errors.append(str(exc.message))
        else:
            return _done(link, _("The terms are saved."))
    return _detail(link, terms_form=form, status=422)


@bp.route("/<int:link_id>/block", methods=["POST"])
@login_required
@require("suppliers.view")
def block(link_id: int):
    link = suppliers.get_link(actor(), link_id)
    # The role decides here (403); the link's status is the service's transition table to
    # judge (InvalidTransition), so blocking twice from a stale page says why.
    authorize("suppliers.block")
    form = BlockForm()
    if form.validate_on_submit():
        try:
            with unit_of_work():
                suppliers.block(link, actor=actor(), comment=form.comment.data)
        except ValidationProblem as exc:
            form.form_errors.append(str(exc.message))
        else:
            return _done(link, _("%(name)s is blocked: it no longer sees anything of yours.",
                                 name=link.supplier.name))
    return _detail(link, block_form=form, status=422)


@bp.route("/<int:link_id>/unblock", methods=["POST"])
@login_required
@require("suppliers.view")
def unblock(link_id: int):
    link = suppliers.get_link(actor(), link_id)
    authorize("suppliers.unblock")
    form = UnblockForm()
    if form.validate_on_submit():
        with unit_of_work():
            suppliers.unblock(link, actor=actor(), comment=form.comment.data or "")
        return _done(link, _("%(name)s is active again.", name=link.supplier.name))
    return _detail(link, unblock_form=form, status=422)
