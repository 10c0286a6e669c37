"""The REST API, `/api/v1`: JSON for the companies' own systems (ERP, accounting).

flask-smorest builds the OpenAPI document (`/api/v1/openapi.json`) from the same marshmallow
schemas that validate the requests and serialize the answers; `/api/v1/docs` renders it with the
vendored Swagger UI. Every view is behind a token (core.py), acts through the same tenancy and
policies as the pages, and answers errors as problem+json (problems.py).

Resource modules, one blueprint each (`RESOURCES`); a module lists its views on its blueprint and
is registered here. The security suite (tests/security/test_api_matrix.py) walks the OpenAPI
document: an operation without an entry there fails it.
"""

from __future__ import annotations

import importlib

from flask import Flask
from flask_smorest import Api, Blueprint
from marshmallow import RAISE

from portal.blueprints import problems
from portal.blueprints.problems import API_PREFIX

# The resource modules, in the order the reference lists them.
RESOURCES = (
    "me",
    "requisitions",
    "budgets",
    "catalog",
    "suppliers",
    "rfqs",
    "orders",
    "invoices",
    "files",
    "webhooks",
)


class PortalApi(Api):
    """flask-smorest's Api, answering HTTP errors of API requests as problem+json (and leaving
    the pages' errors to the portal's error pages)."""

    def handle_http_exception(self, error):
        if not problems.is_api_request():
            return error  # the page's own answer (werkzeug's, for codes without a portal page)
        return problems.from_exception(error)


def init_app(app: Flask) -> PortalApi:
    from portal.blueprints.api import core
    from portal.blueprints.api.schemas import FIELD_TYPES
    from portal.blueprints.params import BoundedInt

    # Answers keep their schema's field order: sorting every object's keys was a tenth of a
    # list's JSON encoding (an object's keys have no order in JSON).
    app.json.sort_keys = False
    app.config.setdefault("API_TITLE", "Portal API")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", API_PREFIX)
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("API_SPEC_OPTIONS", {
        "info": {"description": "The Portal REST API. Authenticate with `Authorization: Bearer "
                                "<token>` (Administration → API tokens). Money is a decimal string "
                                "beside its currency; dates are ISO 8601; every POST needs an "
                                "Idempotency-Key; errors are RFC 9457 problem+json. A list page "
                                "carries an ETag: sent back in If-None-Match, it is answered 304 "
                                "Not Modified while the page is unchanged."},
        "servers": [{"url": "/"}],
    })
    # Unknown query parameters are refused like unknown body fields (webargs excludes them by
    # default): `?colour=red` on a list is a 422 naming the parameter, never silently ignored.
    parser = Blueprint.ARGUMENTS_PARSER
    parser.DEFAULT_UNKNOWN_BY_LOCATION = {**parser.DEFAULT_UNKNOWN_BY_LOCATION, "query": RAISE}
    api = PortalApi(app, spec_kwargs={})
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    api.register_converter(BoundedInt, lambda converter: {"type": "integer", "minimum": 1})
    for field, (kind, fmt) in FIELD_TYPES.items():
        api.register_field(field, kind, fmt)
    for name in RESOURCES:
        module = importlib.import_module(f"portal.blueprints.api.{name}")
        api.register_blueprint(module.bp, url_prefix=API_PREFIX)

    @app.after_request
    def no_store(response):
        if problems.is_api_request():
            response.headers["Cache-Control"] = "no-store"
            response.headers.pop("Vary", None) if response.headers.get("Vary") == "Cookie" else None
        return response

    from portal.blueprints import api_docs

    app.register_blueprint(api_docs.bp)  # GET /api/v1/docs: the reference page (no token)
    app.extensions["portal_api"] = api
    _ = core
    return api
