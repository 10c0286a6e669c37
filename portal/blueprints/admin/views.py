"""Company administration: users, invitations, company profile and audit log.

The same pages serve a buying company's admin and a supplier's admin; the roles offered follow
the organisation's kind. Every record is loaded through the tenant filter, so another
company's user or invitation answers 404.
"""

from __future__ import annotations

import logging
import smtplib

from flask import abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal import emails
from portal.blueprints.admin import bp
from portal.blueprints.admin.forms import (
    AuditFilterForm,
    InviteForm,
    OrganizationForm,
    RolesForm,
    UserFilterForm,
)
from portal.blueprints.cache import cached_page, not_kept
from portal.blueprints.edge import (
    actor,
    button_action,
    or_404,
    page_size,
    saved,
    show_problem,
    unit_of_work,
)
from portal.blueprints.links import id_url, page_url
from portal.blueprints.once import creates
from portal.blueprints.params import cursor_arg, id_arg
from portal.errors import ValidationProblem
from portal.extensions import htmx
from portal.htmx import fragment, render, with_flash
from portal.jobs.rendering import absolute_url
from portal.policies import authorize, require
from portal.services import audit as audit_service
from portal.services import audit_log
from portal.services import invitations as invitations_service
from portal.services import orgs as orgs_service
from portal.services import users as users_service

log = logging.getLogger(__name__)


# Users -----------------------------------------------------------------------------------


def _invitations_context() -> dict:
    shown = invitations_service.open_invitations()
    return {
        "invitations": [(inv, invitations_service.state_of(inv)) for inv in shown],
        "more_invitations": max(invitations_service.open_invitation_count() - len(shown), 0),
    }


@bp.route("/users")
@login_required
@require("users.manage")
def users():
    filters = UserFilterForm(formdata=request.args)
    valid = filters.validate()
    status = filters.status.data if valid else ""
    search = (filters.q.data or "").strip() if valid else ""
    page = users_service.users_page(status=status, search=search, cursor=cursor_arg(),
                                    per_page=page_size())
    args = {k: v for k, v in {"status": status, "q": search}.items() if v}
    return render(
        "admin/users.html",
        block=fragment("users_table"),
        filters=filters,
        page=page,
        args=args,
        **_invitations_context(),
    )


def _load_user(user_id: int):
    return or_404(users_service.get_user(user_id))


def _roles_form(user, formdata=None) -> RolesForm:
    form = RolesForm(
        formdata=formdata,
        roles=[str(role) for role in sorted(user.roles)],
        approval_limit=user.approval_limit,
    )
    return form.set_org(user.organization)


def _user_page(user, form: RolesForm, *, block: str | None = None):
    return render(
        "admin/user.html",
        block=block,
        user=user,
        form=form,
        events=users_service.timeline(user),
        is_self=user.id == current_user.id,
    )


@bp.route("/users/<int:user_id>")
@login_required
@require("users.manage")
def user(user_id: int):
    target = _load_user(user_id)
    authorize("users.edit", target)
    return _user_page(target, _roles_form(target))


@bp.route("/users/<int:user_id>/roles", methods=["POST"])
@login_required
@require("users.manage")
def user_roles(user_id: int):
    target = _load_user(user_id)
    authorize("users.edit", target)
    form = RolesForm().set_org(target.organization)
    if form.validate_on_submit():
        try:
            with unit_of_work():
                users_service.set_roles(
                    target,
                    form.roles.data,
                    actor=actor(),
                    approval_limit=form.approval_limit.data if form.show_limit else None,
                )
        except ValidationProblem as exc:
            form.form_errors.append(str(exc.message))
        else:
            message = _("The roles of %(name)s are saved.", name=target.full_name)
            if htmx:
                body = _user_page(target, _roles_form(target), block="user_panel")
                return with_flash(body, message)
            return saved(message, url_for("admin.user", user_id=target.id))
    return _user_page(target, form, block=fragment("user_panel")), 422


def _user_status(user_id: int, rule: str, change, message: str):
    """Deactivate or reactivate a user; a refusal (the last admin, oneself) comes back as a
    message on the user's page."""
    target = _load_user(user_id)
    back = url_for("admin.user", user_id=target.id)
    return button_action(target, rule, change, message % {"name": target.full_name}, back,
                         refused_to=back)


@bp.route("/users/<int:user_id>/deactivate", methods=["POST"])
@login_required
@require("users.manage")
def user_deactivate(user_id: int):
    return _user_status(user_id, "users.deactivate", users_service.deactivate,
                        _("%(name)s is deactivated and signed out everywhere."))


@bp.route("/users/<int:user_id>/reactivate", methods=["POST"])
@login_required
@require("users.manage")
def user_reactivate(user_id: int):
    return _user_status(user_id, "users.reactivate", users_service.reactivate,
                        _("%(name)s can sign in again."))


# Invitations -----------------------------------------------------------------------------


def _mail_invitation(invitation, token: str) -> bool:
    """Email the link (an outbox row of the same action); a mail failure keeps the invitation
    (it can be resent)."""
    link = absolute_url("invitations.accept", token=token)
    try:
        emails.send_invitation_mail(invitation, link, inviter=actor())
    except (smtplib.SMTPException, OSError):
        log.exception("could not send invitation %s", invitation.id)
        flash(
            _("The invitation is saved, but the email could not be sent. Try “Resend” later."),
            "warning",
        )
        return False
    return True


@bp.route("/users/invite", methods=["GET", "POST"])
@login_required
@require("users.invite")
@creates(InviteForm)
def invite():
    org = current_user.organization
    form = InviteForm().set_org(org)
    if form.validate_on_submit():
        try:
            with unit_of_work():
                invitation, token = invitations_service.invite_user(
                    org,
                    actor=actor(),
                    email=form.email.data,
                    full_name=form.full_name.data,
                    roles=form.roles.data,
                    approval_limit=form.approval_limit.data if form.show_limit else None,
                    days=current_app.config["INVITATION_DAYS"],
                )
                email = invitation.email
                mailed = _mail_invitation(invitation, token)
        except invitations_service.EmailUnavailable as exc:
            form.email.errors.append(str(exc.message))
        except ValidationProblem as exc:
            form.form_errors.append(str(exc.message))
        else:
            if mailed:
                flash(_("The invitation is on its way to %(email)s.", email=email), "success")
            return redirect(url_for("admin.users"))
    status = 422 if request.method == "POST" else 200
    return render("admin/invite.html", form=form), status


def _load_invitation(invitation_id: int):
    return or_404(invitations_service.get_invitation(invitation_id))


def _invitations_changed(message: str):
    if htmx:
        body = render("admin/users.html", block="invitations", **_invitations_context())
        return with_flash(body, message)
    return saved(message, url_for("admin.users"))


@bp.route("/invitations/<int:invitation_id>/revoke", methods=["POST"])
@login_required
@require("users.manage")
def invitation_revoke(invitation_id: int):
    invitation = _load_invitation(invitation_id)
    authorize("invitations.revoke", invitation)
    email = invitation.email
    with unit_of_work():
        invitations_service.revoke_invitation(invitation, actor=actor())
    return _invitations_changed(_("The invitation to %(email)s is withdrawn.", email=email))


@bp.route("/invitations/<int:invitation_id>/resend", methods=["POST"])
@login_required
@require("users.manage")
def invitation_resend(invitation_id: int):
    invitation = _load_invitation(invitation_id)
    authorize("invitations.resend", invitation)
    email = invitation.email
    with unit_of_work():
        token = invitations_service.resend_invitation(
            invitation, actor=actor(), days=current_app.config["INVITATION_DAYS"]
        )
        mailed = _mail_invitation(invitation, token)
    if not mailed:
        return _invitations_changed(_("A new link for %(email)s is saved.", email=email))
    return _invitations_changed(_("A new invitation link is on its way to %(email)s.", email=email))


# Company profile and audit log ----------------------------------------------------------


@bp.route("/organization", methods=["GET", "POST"])
@login_required
@require("org.edit")
def organization():
    org = current_user.organization
    form = OrganizationForm(obj=org)
    if form.validate_on_submit():
        data = {name: form[name].data for name in orgs_service.PROFILE_FIELDS}
        try:
            with unit_of_work():
                orgs_service.update_profile(org, actor=actor(), **data, **form.settings())
        except orgs_service.TaxIdProblem as exc:
            form.tax_id.errors.append(str(exc.message))
        except orgs_service.IbanProblem as exc:
            form.iban.errors.append(str(exc.message))
        except ValidationProblem as exc:
            show_problem(form, exc)
        else:
            return saved(_("The company profile is saved."), url_for("admin.organization"))
    status = 422 if request.method == "POST" else 200
    return render(
        "admin/organization.html", form=form, org=org, events=orgs_service.timeline(org)
    ), status


# Where the audit log links each kind of object: endpoint and its URL argument (None: no id).
AUDIT_LINKS = {
    "Requisition": ("requisitions.detail", "requisition_id"),
    "Budget": ("budgets.detail", "budget_id"),
    "ApprovalPolicy": ("approvals.policy", None),
    "Delegation": ("approvals.delegations", None),
    "User": ("admin.user", "user_id"),
    "Invitation": ("admin.users", None),
    "SupplierLink": ("suppliers.detail", "link_id"),
    "PriceAgreement": ("agreements.detail", "agreement_id"),
    "Item": ("catalog.detail", "item_id"),
    "Category": ("catalog.edit_category", "category_id"),
    "CostCenter": ("cost_centers.edit", "cost_center_id"),
    "Organization": ("admin.organization", None),
}


def audit_link(event) -> str | None:
    """The page of the event's object, or None."""
    target = AUDIT_LINKS.get(event.object_type)
    if target is None:
        return None
    endpoint, arg = target
    return id_url(endpoint, arg, event.object_id) if arg else page_url(endpoint)


@bp.route("/audit")
@login_required
@require("audit.view")
def audit():
    """The audit log: filters by object type, actor and dates (a bad value is a message
    beside its field, and the log shows unfiltered); pages by key, newest first."""
    org = current_user.organization
    before, after, per_page = id_arg("before"), id_arg("after"), page_size()
    status = {"code": 200}

    def build():
        # The form reads its choices (the people in the log): kept with the page.
        filters = AuditFilterForm(formdata=request.args).set_actors(audit_log.actors(org))
        valid = filters.validate()
        if not valid:  # the message beside the field, over the unfiltered log: never kept
            status["code"] = 422
            not_kept()
        chosen = audit_log.AuditFilter(
            object_type=filters.object_type.data or None, actor_id=filters.actor.data,
            date_from=filters.date_from.data, date_to=filters.date_to.data,
        ) if valid else audit_log.AuditFilter()
        try:
            page = audit_log.audit_log(org, chosen, before=before, after=after, per_page=per_page)
        except audit_log.UnknownCursor:
            abort(404)
        changes = {e.id: audit_service.changes_of(e) for e in page.events}
        args = {k: v for k, v in request.args.items()
                if k in ("object_type", "actor", "date_from", "date_to") and v and valid}
        return {"filters": filters, "page": page, "args": args, "names": audit_log.object_names(page.events, org),
                "changes": changes, "link": audit_link,
                "refs": audit_log.reference_names(c for found in changes.values() for c in found)}

    return cached_page("admin/audit.html", build, block=fragment("audit_table")), status["code"]
