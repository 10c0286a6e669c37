"""Integration settings: API tokens and webhook endpoints (an organisation admin's, buyer or
supplier: policy "integration.manage").

A secret (a token's, an endpoint's signing key) is shown once, in the answer to the POST that
made it: it is never stored where a page could show it again (a token is stored hashed), the
answer is `no-store`, and the same form sent again is answered by `@creates` as a repeat
without it. Every record is loaded through the tenant filter: another organisation's token,
endpoint or delivery answers 404.
"""

from __future__ import annotations

from flask import flash, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from werkzeug.routing import BuildError

from portal.blueprints.admin import bp
from portal.blueprints.admin.integration_forms import (
    ApiTokenForm,
    WebhookEditForm,
    WebhookForm,
    area_rows,
    scope_label,
)
from portal.blueprints.cache import cached_page
from portal.blueprints.edge import (
    actor,
    form_status,
    load_or_404,
    message_text,
    or_404,
    page_size,
    saved,
    show_problem,
    unit_of_work,
)
from portal.blueprints.once import creates
from portal.blueprints.params import cursor_arg
from portal.domain import api_scopes
from portal.errors import ValidationProblem
from portal.extensions import htmx
from portal.htmx import fragment, render, with_flash
from portal.jobs.rendering import absolute_url
from portal.models.base import utcnow
from portal.models.integration import EndpointStatus, WebhookDelivery, WebhookEndpoint
from portal.policies import require
from portal.services.integration import overview
from portal.services.integration import tokens as tokens_service
from portal.services.integration import webhooks as webhooks_service

RULE = "integration.manage"


# API tokens -------------------------------------------------------------------------------


def _tokens_context() -> dict:
    me = actor()
    return {
        "page": tokens_service.tokens_page(cursor=cursor_arg(), per_page=page_size()),
        "now": utcnow(),
        "state_of": tokens_service.state_of,
        "last_day": lambda token: tokens_service.last_valid_day(token, me.organization),
        "scope_label": scope_label,
        "all_scopes": len(api_scopes.ALL_SCOPES),
    }


def _reference_url() -> str | None:
    """The API reference page (/api/v1/docs), when the app has it."""
    try:
        return url_for("api_reference.docs")
    except BuildError:
        return None


@bp.route("/api-tokens")
@login_required
@require(RULE)
def api_tokens():
    return cached_page("admin/integration/api_tokens.html",
                       lambda: {"reference_url": _reference_url(), **_tokens_context()}, block=fragment("tokens_table"))


def _curl_example(secret: str) -> str:
    return f'curl -H "Authorization: Bearer {secret}" {absolute_url("api.me.me")}'


@bp.route("/api-tokens/new", methods=["GET", "POST"])
@login_required
@require(RULE)
@creates(ApiTokenForm)
def api_token_new():
    me = actor()
    people = tokens_service.acting_users()
    form = ApiTokenForm().set_people(people, me.id)
    if form.validate_on_submit():
        person = next((p for p in people if p.id == form.user.data), None)
        try:
            with unit_of_work():
                token, secret = tokens_service.issue_token(
                    me, name=form.name.data, scopes=form.scopes.data, user=person or me,
                    expires_at=tokens_service.expiry_at(form.expires_on.data, me.organization))
        except ValidationProblem as exc:
            show_problem(form, exc)
        else:
            flash(_("The token “%(name)s” is created. Copy its secret now: it is shown only once.",
                    name=token.name), "success")
            return render("admin/integration/api_token_created.html", token=token, secret=secret,
                          curl=_curl_example(secret), scope_label=scope_label,
                          last_day=tokens_service.last_valid_day(token, me.organization))
    return render("admin/integration/api_token_new.html", form=form, areas=area_rows()), form_status()


@bp.route("/api-tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
@require(RULE)
def api_token_revoke(token_id: int):
    token = or_404(tokens_service.get_token(token_id))
    name = token.name
    with unit_of_work():
        tokens_service.revoke_token(actor(), token)
    message = _("The token “%(name)s” is revoked: it no longer works.", name=name)
    if htmx:
        body = render("admin/integration/api_tokens.html", block="tokens_table", **_tokens_context())
        return with_flash(body, message)
    return saved(message, url_for("admin.api_tokens"))


# Webhooks ---------------------------------------------------------------------------------


def _load_endpoint(endpoint_id: int) -> WebhookEndpoint:
    return load_or_404(WebhookEndpoint, endpoint_id)


def _events(*, ping: bool = False) -> dict:
    """Event name -> label in the reader's language (`ping`: with the test event, for logs)."""
    names = dict(webhooks_service.EVENTS)
    if ping:
        names[webhooks_service.PING] = webhooks_service.PING_LABEL
    return {name: _(str(label)) for name, label in names.items()}


@bp.route("/webhooks")
@login_required
@require(RULE)
def webhooks():
    def build():
        endpoints = overview.endpoints()
        return {"endpoints": endpoints, "last": overview.last_deliveries(endpoints), "events": _events()}

    return cached_page("admin/integration/webhooks.html", build)


def _secret_page(endpoint: WebhookEndpoint, secret: str, *, rotated: bool):
    return render("admin/integration/webhook_secret.html", endpoint=endpoint, secret=secret,
                  rotated=rotated)


def _url_problem(form, exc: ValidationProblem) -> None:
    """The service's refusal beside the field it names; the URL's by default (the SSRF guard,
    a bad scheme or host)."""
    if getattr(exc, "field", None) in ("events", "description"):
        show_problem(form, exc)
    else:
        form.url.errors = [*form.url.errors, message_text(exc.msg)]


@bp.route("/webhooks/new", methods=["GET", "POST"])
@login_required
@require(RULE)
@creates(WebhookForm)
def webhook_new():
    form = WebhookForm().set_events(_events())
    if form.validate_on_submit():
        try:
            with unit_of_work():
                endpoint, secret = webhooks_service.create_endpoint(
                    actor(), url=form.url.data.strip(), events=form.events.data,
                    description=(form.description.data or "").strip())
        except ValidationProblem as exc:
            _url_problem(form, exc)
        else:
            flash(_("The endpoint is registered. Copy its signing secret now: it is shown only "
                    "once."), "success")
            return _secret_page(endpoint, secret, rotated=False)
    return render("admin/integration/webhook_form.html", form=form, endpoint=None), form_status()


@bp.route("/webhooks/<int:endpoint_id>")
@login_required
@require(RULE)
def webhook(endpoint_id: int):
    endpoint = _load_endpoint(endpoint_id)
    page = webhooks_service.deliveries_page(endpoint, cursor_arg(), per_page=page_size())
    return render("admin/integration/webhook.html", block=fragment("deliveries"),
                  endpoint=endpoint, page=page, events=_events(ping=True))


@bp.route("/webhooks/<int:endpoint_id>/edit", methods=["GET", "POST"])
@login_required
@require(RULE)
def webhook_edit(endpoint_id: int):
    endpoint = _load_endpoint(endpoint_id)
    form = WebhookEditForm(obj=endpoint).set_events(_events())
    if form.validate_on_submit():
        try:
            with unit_of_work():
                webhooks_service.update_endpoint(
                    actor(), endpoint, url=form.url.data.strip(), events=form.events.data,
                    description=(form.description.data or "").strip())
        except ValidationProblem as exc:
            _url_problem(form, exc)
        else:
            return saved(_("The endpoint is saved."),
                         url_for("admin.webhook", endpoint_id=endpoint_id))
    return render("admin/integration/webhook_form.html", form=form,
                  endpoint=endpoint), form_status()


@bp.route("/webhooks/<int:endpoint_id>/rotate", methods=["POST"])
@login_required
@require(RULE)
def webhook_rotate(endpoint_id: int):
    endpoint = _load_endpoint(endpoint_id)
    with unit_of_work():
        secret = webhooks_service.rotate_secret(actor(), endpoint)
    flash(_("A new signing secret is made; the old one no longer signs deliveries. Copy it now: "
            "it is shown only once."), "success")
    return _secret_page(endpoint, secret, rotated=True)


def _set_status(endpoint_id: int, status: EndpointStatus, message: str):
    endpoint = _load_endpoint(endpoint_id)
    with unit_of_work():
        webhooks_service.update_endpoint(actor(), endpoint, status=status)
    return saved(message, url_for("admin.webhook", endpoint_id=endpoint_id))


@bp.route("/webhooks/<int:endpoint_id>/disable", methods=["POST"])
@login_required
@require(RULE)
def webhook_disable(endpoint_id: int):
    return _set_status(endpoint_id, EndpointStatus.DISABLED,
                       _("The endpoint is disabled: no events are sent to it."))


@bp.route("/webhooks/<int:endpoint_id>/enable", methods=["POST"])
@login_required
@require(RULE)
def webhook_enable(endpoint_id: int):
    return _set_status(endpoint_id, EndpointStatus.ACTIVE,
                       _("The endpoint is enabled: new events are sent to it again."))


@bp.route("/webhooks/<int:endpoint_id>/delete", methods=["POST"])
@login_required
@require(RULE)
def webhook_delete(endpoint_id: int):
    endpoint = _load_endpoint(endpoint_id)
    url = endpoint.url
    with unit_of_work():
        webhooks_service.delete_endpoint(actor(), endpoint)
    return saved(_("The endpoint %(url)s is deleted.", url=url), url_for("admin.webhooks"))


@bp.route("/webhooks/<int:endpoint_id>/test", methods=["POST"])
@login_required
@require(RULE)
def webhook_test(endpoint_id: int):
    endpoint = _load_endpoint(endpoint_id)
    with unit_of_work():
        webhooks_service.send_test(actor(), endpoint)
    return saved(_("A test event is on its way: its delivery appears below."),
                 url_for("admin.webhook", endpoint_id=endpoint_id))


@bp.route("/webhook-deliveries/<int:delivery_id>/redeliver", methods=["POST"])
@login_required
@require(RULE)
def webhook_redeliver(delivery_id: int):
    delivery = load_or_404(WebhookDelivery, delivery_id)
    endpoint_id = delivery.endpoint_id
    with unit_of_work():
        webhooks_service.redeliver(actor(), delivery)
    back = url_for("admin.webhook", endpoint_id=endpoint_id, cursor=request.args.get("cursor"))
    return saved(_("The event is queued to be sent again."), back)
