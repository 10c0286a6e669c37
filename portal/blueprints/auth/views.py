from flask import current_app, flash, redirect, request, session, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from portal.blueprints.auth import bp
from portal.blueprints.auth.forms import (
    ChangePasswordForm,
    LoginForm,
    NewPasswordForm,
    ProfileForm,
    ResetRequestForm,
)
from portal.blueprints.edge import actor, safe_next, saved, unit_of_work
from portal.errors import ValidationProblem
from portal.htmx import render
from portal.jobs.rendering import absolute_url
from portal.services import auth as auth_service
from portal.services.mail import send_mail


def _limits() -> dict:
    config = current_app.config
    return {
        "per_account": config["LOGIN_MAX_FAILURES_PER_ACCOUNT"],
        "per_address": config["LOGIN_MAX_FAILURES_PER_ADDRESS"],
        "minutes": config["LOGIN_LOCKOUT_MINUTES"],
    }


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = LoginForm(next=request.args.get("next", ""))
    status = 200
    if form.validate_on_submit():
        # Refused sign-ins are committed too: throttling counts them.
        with unit_of_work():
            try:
                user = auth_service.authenticate(
                    form.email.data, form.password.data, address=request.remote_addr or "?", limits=_limits()
                )
            except auth_service.LoginThrottled as exc:
                throttled = exc
            else:
                throttled = None
                if user is not None:
                    login_user(user)
                    session["locale"] = user.display_locale
        if throttled is not None:
            form.form_errors.append(str(throttled.message))
            return render("auth/login.html", form=form), throttled.status_code
        if user is not None:
            return redirect(safe_next(form.next.data))
        form.form_errors.append(_("The email or password is not correct."))
        status = 401
    elif request.method == "POST":
        status = 422
    return render("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    with unit_of_work():
        auth_service.end_all_sessions(actor())
    logout_user()
    session.clear()
    return saved(_("You are signed out."), url_for("auth.login"))


@bp.route("/language", methods=["POST"])
def set_language():
    locale = request.form.get("locale", "")
    if locale not in current_app.config["LANGUAGES"]:
        flash(_("Unknown language."), "error")
        return redirect(safe_next(request.form.get("next")))
    session["locale"] = locale
    if current_user.is_authenticated:
        with unit_of_work():
            current_user.locale = locale
    fallback = "dashboard.index" if current_user.is_authenticated else "auth.login"
    return redirect(safe_next(request.form.get("next"), fallback))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    profile = ProfileForm(obj=current_user, locale=current_user.display_locale)
    password_form = ChangePasswordForm()
    if profile.validate_on_submit():
        with unit_of_work():
            current_user.full_name = profile.full_name.data.strip()
            current_user.locale = profile.locale.data
        session["locale"] = profile.locale.data
        return saved(_("Your profile is saved."), url_for("auth.account"))
    status = 422 if request.method == "POST" else 200
    return render("auth/account.html", profile=profile, password_form=password_form), status


@bp.route("/account/password", methods=["POST"])
@login_required
def change_password():
    profile = ProfileForm(obj=current_user, locale=current_user.display_locale, formdata=None)
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = actor()
        try:
            with unit_of_work():
                auth_service.change_password(
                    user,
                    form.current.data,
                    form.password.data,
                    min_length=current_app.config["PASSWORD_MIN_LENGTH"],
                )
        except ValidationProblem as exc:
            form.form_errors.append(str(exc.message))
        else:
            login_user(user)  # this session continues; every other one has ended
            flash(_("Your password is changed. Other sessions were signed out."), "success")
            return redirect(url_for("auth.account"))
    return render("auth/account.html", profile=profile, password_form=form), 422


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password():
    form = ResetRequestForm()
    if form.validate_on_submit():
        with unit_of_work():
            # The e-mail is an outbox row: written in the same transaction, sent after it.
            started = auth_service.start_password_reset(
                form.email.data, hours=current_app.config["PASSWORD_RESET_HOURS"]
            )
            if started:
                user, token = started
                link = absolute_url("auth.reset_password", token=token)
                # In the account's language, as every email to a user: not the requesting browser's.
                with force_locale(user.display_locale):
                    send_mail(
                        user.email,
                        _("Reset your Portal password"),
                        _(
                            "Someone asked to reset the password of your Portal account.\n\n"
                            "Open this link within %(hours)s hours to choose a new password:\n"
                            "%(link)s\n\nIf it was not you, ignore this email.",
                            hours=current_app.config["PASSWORD_RESET_HOURS"],
                            link=link,
                        ),
                    )
        return saved(_("If an account exists for that email, we have sent a link to reset the password."),
                     url_for("auth.login"))
    return render("auth/forgot.html", form=form), 422 if request.method == "POST" else 200


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    if auth_service.find_reset_token(token) is None:
        return render("auth/reset_invalid.html"), 410
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            with unit_of_work():
                auth_service.reset_password(
                    token, form.password.data, min_length=current_app.config["PASSWORD_MIN_LENGTH"]
                )
        except ValidationProblem as exc:
            form.password.errors.append(str(exc.message))
        else:
            return saved(_("Your password is set. Please sign in."), url_for("auth.login"))
    return render("auth/reset.html", form=form, token=token), 422 if request.method == "POST" else 200
