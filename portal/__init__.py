"""Portal: a B2B procurement portal. `create_app()` builds the Flask application."""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from flask import Flask, g, has_request_context, request, session
from flask_login import current_user

from portal.config import load_config


def create_app(config: type | dict | None = None) -> Flask:
    """config → extensions → tenancy → blueprints → errors → cli."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(load_config())
    if isinstance(config, dict):
        app.config.update(config)
    elif config is not None:
        app.config.from_object(config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    if app.config.get("TRUSTED_PROXIES"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)

    # First: a badge poll naming the badge's current version is answered from one statement
    # (no form, no rate limit on the badges, no user loaded, no organisation bound).
    _answer_polled_badges(app)
    _limit_form_bodies(app)  # before CSRF protection reads the form
    _init_extensions(app)
    _rotate_csrf_at_sign_in(app)
    _init_tenancy(app)
    _init_templates(app)
    _register_blueprints(app)

    from portal.blueprints import api

    api.init_app(app)  # /api/v1: token-authenticated JSON, its OpenAPI document

    from portal.blueprints.error_pages import register_error_handlers

    register_error_handlers(app)

    from portal import jobs
    from portal.cli import register_cli

    jobs.init_app(app)
    register_cli(app)
    return app


def _limit_form_bodies(app: Flask) -> None:
    """Cap every request body on the bytes read (a chunked body has no Content-Length):
    url-encoded forms at MAX_FORM_MEMORY_SIZE, anything else at MAX_CONTENT_LENGTH."""
    from portal.blueprints import body_limits

    body_limits.install(app)


def _init_extensions(app: Flask) -> None:
    from portal import models  # noqa: F401 - registers the tables
    from portal.extensions import (
        FastJSONProvider,
        babel,
        csrf,
        db,
        htmx,
        limiter,
        login_manager,
        migrate,
        prepare_marked_statements,
    )
    from portal.services import passwords

    app.json = FastJSONProvider(app)
    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            prepare_marked_statements(engine)  # PostgreSQL: the marked statements only
    migrate.init_app(app, db, render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    htmx.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=_select_locale, timezone_selector=_select_timezone)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    login_manager.user_loader(_load_user)
    passwords.configure(
        app.config["ARGON2_TIME_COST"],
        app.config["ARGON2_MEMORY_COST"],
        app.config["ARGON2_PARALLELISM"],
    )
    from flask import current_app

    from portal.services.integration import egress

    # The SSRF guard's settings: the current app's WEBHOOK_* config (services read no Flask).
    egress.use_settings(lambda: egress.Settings.from_config(current_app.config))

    from flask_babel import lazy_gettext

    login_manager.login_message = lazy_gettext("Please sign in to continue.")


def _answer_polled_badges(app: Flask) -> None:
    """A badge poll holding the badge's current version gets its 304 from one statement."""
    from portal.blueprints import badges

    badges.init_app(app)


def _rotate_csrf_at_sign_in(app: Flask) -> None:
    """Every sign-in (password, invitation, new password) starts a new CSRF secret.

    Flask-WTF keeps the secret in the session, which survives sign-in: a token planted or read
    before it (login CSRF, a shared computer) would otherwise stay valid for the signed-in user.
    """
    from flask_login import user_logged_in

    def rotate(sender, user, **_extra):
        field = sender.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
        session.pop(field, None)
        g.pop(field, None)  # the signed token Flask-WTF caches for this request

    user_logged_in.connect(rotate, app, weak=False)


def _load_user(user_id: str):
    """Load the user of a session; a stale session version (logout, deactivation) loads nobody."""
    from portal.extensions import db
    from portal.models import User
    from portal.services import badges
    from portal.tenancy import ALL_TENANTS, read_scope_links

    parsed = User.parse_id(user_id)
    if parsed is None:
        return None
    uid, version = parsed
    # Deliberate cross-tenant read: the tenant is not known until the user is.
    row = db.session.execute(_user_statement(), {"uid": uid}, execution_options=ALL_TENANTS).unique().first()
    if row is None:
        return None
    user, linked, blocked, data_version = row
    if user.session_version != version or not user.is_active:
        return None
    read_scope_links(db.session, user.organization_id, linked, blocked)
    badges.remember_data_version(db.session, user.organization_id, data_version)
    return user


@functools.cache
def _user_statement():
    """The statement of `_load_user`, built once (every request runs it: building and keying
    a statement costs about as much as running it)."""
    from sqlalchemy import bindparam, select
    from sqlalchemy.orm import joinedload

    from portal.extensions import PREPARED
    from portal.models import User
    from portal.services.badges import data_version_column
    from portal.tenancy import scope_columns

    # The roles and, for a supplier, the buyers it is linked to (its tenant scope) in the same
    # query: every page asks for them; and the version of the organisation's data (the list
    # cache's key). A lookup by key: prepared on PostgreSQL.
    return (select(User, *scope_columns(User.organization_id), data_version_column(User.organization_id))
            .where(User.id == bindparam("uid"))
            .options(joinedload(User.role_rows)).execution_options(**PREPARED))


def _select_locale() -> str:
    from flask import current_app

    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI commands: messages in the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    if session.get("locale") in languages:
        return session["locale"]
    if current_user and current_user.is_authenticated:
        return current_user.display_locale
    return request.accept_languages.best_match(languages) or current_app.config[
        "BABEL_DEFAULT_LOCALE"
    ]


def _select_timezone() -> str | None:
    """The signed-in user's organisation's time zone (deadlines and moments read in it); None
    (the configured default, UTC) outside a request or signed out."""
    if not has_request_context() or not (current_user and current_user.is_authenticated):
        return None
    return current_user.organization.time_zone or "Europe/Warsaw"


def _init_tenancy(app: Flask) -> None:
    from portal.blueprints import edge
    from portal.extensions import db
    from portal.htmx import add_vary
    from portal.tenancy import bind, scope_for

    @app.before_request
    def bind_request_scope():
        bind(db.session, None)
        edge.begin_request(app)  # a GET reads outside a transaction on PostgreSQL
        if current_user.is_authenticated:
            bind(db.session, scope_for(db.session, current_user.organization))

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
            "base-uri 'none'; object-src 'none'",
        )
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if app.config.get("SESSION_COOKIE_SECURE"):
            headers.setdefault("Strict-Transport-Security", "max-age=63072000")
        if (request.endpoint != "static" and not response.cache_control.private
                and getattr(current_user, "is_authenticated", False)):
            # Company data (pages, downloads: send_file says only "no-cache") never goes
            # into a browser's or proxy's store; our static files still may, and so may a
            # response that says `private` itself (a polled badge, revalidated by its ETag).
            headers["Cache-Control"] = "no-store"
        return add_vary(response)

    @app.teardown_request
    def unbind(exc):
        g.pop("tenant", None)


def _init_templates(app: Flask) -> None:
    from portal import i18n, labels, policies
    from portal.domain.taxid import format_tax_id

    policies.install(app)
    labels.install(app)

    # Every amount, number, date and unit on a page, in the viewer's conventions, and the
    # viewer's language (`current_locale`) and catalogue, looked up once per render (portal.i18n).
    i18n.install(app)

    @app.template_filter("taxid")
    def taxid_filter(value, country):
        return format_tax_id(value, country)

    app.add_template_global(app.config["LANGUAGES"], "languages")

    from portal.blueprints import fields, links

    links.install(app)  # `page_url`: the layout's fixed links, built once
    fields.install()  # WTForms' inputs write their attributes the fast way


def _register_blueprints(app: Flask) -> None:
    from portal.blueprints import edge

    edge.init_app(app)  # one unit of work per action: a forgotten commit is an error in tests

    from portal.blueprints import once

    once.init_app(app)  # create forms' one-time submission tokens
    from portal.blueprints import params

    params.init_app(app)  # before any route: the bounded <int:...>, no control characters

    from portal.blueprints.admin import bp as admin_bp
    from portal.blueprints.auth import bp as auth_bp
    from portal.blueprints.budgets import bp as budgets_bp
    from portal.blueprints.dashboard import bp as dashboard_bp
    from portal.blueprints.invitations import bp as invitations_bp
    from portal.blueprints.supplier import bp as supplier_bp
    from portal.blueprints.suppliers import bp as suppliers_bp

    for bp in (auth_bp, budgets_bp, dashboard_bp, admin_bp, suppliers_bp, supplier_bp, invitations_bp):
        app.register_blueprint(bp)

    from portal.blueprints.agreements import bp as agreements_bp
    from portal.blueprints.catalog import bp as catalog_bp
    from portal.blueprints.costcenters import bp as cost_centers_bp

    for bp in (catalog_bp, cost_centers_bp, agreements_bp):
        app.register_blueprint(bp)

    from portal.blueprints.orders import bp as orders_bp
    from portal.blueprints.requisitions import bp as requisitions_bp
    from portal.blueprints.rfqs import bp as rfqs_bp

    for bp in (requisitions_bp, rfqs_bp, orders_bp):
        app.register_blueprint(bp)

    from portal.blueprints.approvals import bp as approvals_bp
    from portal.blueprints.invoices import bp as invoices_bp
    from portal.blueprints.notifications import bp as notifications_bp

    for bp in (approvals_bp, notifications_bp, invoices_bp):
        app.register_blueprint(bp)
