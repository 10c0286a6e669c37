"""`GET /api/v1/docs`: the API reference, the OpenAPI document rendered by the vendored Swagger UI.

A plain Flask page (no token: it shows the document `/api/v1/openapi.json`, which is public
too), outside flask-smorest. Swagger UI is vendored in portal/static/vendor/swagger-ui/ (see
VENDOR.md) and started by portal/static/js/api-docs.js: no CDN, no inline script or style, so
the portal's Content-Security-Policy holds unchanged.
"""

from __future__ import annotations

from flask import Blueprint, render_template, url_for

from portal.blueprints.problems import API_PREFIX

bp = Blueprint("api_reference", __name__)


@bp.route(f"{API_PREFIX}/docs")
def docs():
    return render_template("api/docs.html", spec_url=url_for("api-docs.openapi_json"))
