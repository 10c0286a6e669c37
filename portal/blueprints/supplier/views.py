"""Supplier-facing pages: the customers a supplier serves, and joining from an invitation."""

from flask import current_app, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user

from portal.blueprints.cache import cached_page
from portal.blueprints.edge import actor, page_size, saved, unit_of_work
from portal.blueprints.params import cursor_arg
from portal.blueprints.supplier import bp
from portal.blueprints.supplier.forms import AcceptInvitationForm, RegisterSupplierForm
from portal.errors import InvalidTransition, ValidationProblem
from portal.htmx import render
from portal.policies import require
from portal.services import suppliers
from portal.services.orgs import TaxIdProblem
from portal.services.supplier_invitations import (
    InvitationState,
    JoinMode,
    accept_for_organization,
    find_by_token,
    join_mode,
    register_supplier,
    state_of,
)


@bp.route("/customers")
@login_required
@require("customers.view")
def customers():
    cursor, per_page = cursor_arg(), page_size()
    return cached_page("supplier/customers.html",
                       lambda: {"page": suppliers.list_customers(actor(), cursor=cursor, per_page=per_page)})


@bp.route("/customers/<int:link_id>")
@login_required
@require("customers.view")
def customer(link_id: int):
    link = suppliers.get_customer_link(actor(), link_id)
    from portal.blueprints.supplier.proposals import customer_context

    return render("supplier/customer.html", link=link, buyer=link.buyer, **customer_context(link))


def _gone(invitation):
    """The page for a link that no longer works: 410, saying why when we know."""
    state = state_of(invitation).value if invitation is not None else "unknown"
    return render("supplier/join_invalid.html", invitation=invitation, state=state), 410


@bp.route("/join/<token>", methods=["GET", "POST"])
def join(token: str):
    """Public: the invitation's landing page; register a new supplier, or accept for one's own."""
    invitation = find_by_token(token)
    if invitation is None or state_of(invitation) != InvitationState.PENDING:
        return _gone(invitation)
    viewer = actor() if current_user.is_authenticated else None
    mode = join_mode(invitation, viewer)
    if mode == JoinMode.REGISTER:
        return _register(invitation, token)
    if mode == JoinMode.ACCEPT and request.method == "POST":
        return _accept(invitation)
    context = {
        "invitation": invitation,
        "mode": mode.value,
        "form": AcceptInvitationForm(),
        "login_url": url_for("auth.login", next=url_for("supplier.join", token=token)),
    }
    # Posting where this visitor may not accept is refused; the page says why.
    status = 403 if request.method == "POST" else 200
    return render("supplier/join.html", **context), status


def _register(invitation, token: str):
    form = RegisterSupplierForm(
        email=invitation.email,
        name=invitation.company_name,
        full_name=invitation.full_name,
        currency=invitation.currency,
        locale=str(get_locale() or "en"),
    )
    if form.validate_on_submit():
        buyer_name = invitation.organization.name
        try:
            with unit_of_work():
                user, _link = register_supplier(
                    invitation,
                    name=form.name.data,
                    legal_name=form.legal_name.data,
                    tax_id=form.tax_id.data,
                    country=form.country.data,
                    currency=form.currency.data,
                    locale=form.locale.data,
                    address_line=form.address_line.data or "",
                    postal_code=form.postal_code.data or "",
                    city=form.city.data or "",
                    full_name=form.full_name.data,
                    password=form.password.data,
                    min_length=current_app.config["PASSWORD_MIN_LENGTH"],
                )
                # Signed in within the action: after the commit the new user's rows are outside
                # this (anonymous) request's tenant scope.
                login_user(user)
                session["locale"] = user.display_locale
        except InvalidTransition:
            return _gone(find_by_token(token))
        except ValidationProblem as exc:
            # Nothing of the attempt is kept: the form comes back with the reason.
            invitation = find_by_token(token)
            if invitation is None or state_of(invitation) != InvitationState.PENDING:
                return _gone(invitation)
            target = form.tax_id.errors if isinstance(exc, TaxIdProblem) else form.form_errors
            target.append(str(exc.message))
        else:
            return saved(_("Welcome to Portal. %(buyer)s is now your customer.", buyer=buyer_name),
                         url_for("dashboard.index"))
    status = 422 if request.method == "POST" else 200
    return render(
        "supplier/join.html", invitation=invitation, mode=JoinMode.REGISTER.value, form=form
    ), status


def _accept(invitation):
    buyer_name = invitation.organization.name
    with unit_of_work():
        accept_for_organization(invitation, actor=actor())
    return saved(_("%(buyer)s is now your customer.", buyer=buyer_name), url_for("supplier.customers"))
