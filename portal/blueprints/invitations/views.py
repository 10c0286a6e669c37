"""Public pages where an invited person accepts an invitation (no sign-in needed)."""

from __future__ import annotations

from flask import current_app, request, session, url_for
from flask_babel import gettext as _
from flask_login import login_user

from portal.blueprints.edge import saved, unit_of_work
from portal.blueprints.invitations import bp
from portal.blueprints.invitations.forms import AcceptInvitationForm
from portal.errors import ValidationProblem
from portal.extensions import db
from portal.htmx import render
from portal.services import invitations as service
from portal.tenancy import TenantScope, bound


def _unavailable(message: str, status: int):
    return render("invitations/unavailable.html", message=message, status=status), status


@bp.route("/<token>", methods=["GET", "POST"])
def accept(token: str):
    invitation = service.find_by_token(token)
    if invitation is None:
        return _unavailable(_("This invitation link is not valid. Check that you copied all of it."),
                            404)
    state = service.state_of(invitation)
    if state != service.InvitationState.PENDING:
        return _unavailable(str(service.UNAVAILABLE_MESSAGES[state]), 410)
    # Plain values for the page: after a rollback the invitation row could not be re-read
    # (this request is bound to no organisation).
    offer = {
        "organization": invitation.organization.legal_name or invitation.organization.name,
        "email": invitation.email,
        "roles": invitation.role_list,
    }
    form = AcceptInvitationForm(full_name=invitation.full_name)
    if form.validate_on_submit():
        try:
            with unit_of_work():
                user = service.accept_invitation(
                    token,
                    full_name=form.full_name.data,
                    password=form.password.data,
                    min_length=current_app.config["PASSWORD_MIN_LENGTH"],
                )
                org_id, name = user.organization_id, user.full_name
        except service.InvitationUnavailable as exc:
            return _unavailable(str(exc.message), exc.status_code)
        except service.WeakPassword as exc:
            form.password.errors.append(str(exc.message))
        except ValidationProblem as exc:
            form.form_errors.append(str(exc.message))
        else:
            # Signing in reads the new user back; this anonymous request must see its company.
            with bound(db.session, TenantScope(org_id)):
                login_user(user)
                session["locale"] = user.display_locale
            return saved(_("Welcome to %(org)s, %(name)s! Your account is ready.",
                           org=offer["organization"], name=name), url_for("dashboard.index"))
    status = 422 if request.method == "POST" else 200
    return render("invitations/accept.html", form=form, offer=offer), status
