"""The API reference page (/api/v1/docs): the OpenAPI document rendered by the vendored Swagger UI,
public, under the portal's unchanged Content-Security-Policy (no inline script or style, nothing
from another origin)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.web.test_static import EXTERNAL_ASSET, VENDOR, _vendor_table

STATIC = Path(__file__).resolve().parents[2] / "portal" / "static"
SWAGGER = ("swagger-ui/swagger-ui-bundle.js", "swagger-ui/swagger-ui.css")


def test_the_page_is_public_and_names_the_document(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert 'data-spec-url="/api/v1/openapi.json"' in response.text
    assert client.get("/api/v1/openapi.json").status_code == 200


def test_the_csp_header_is_the_portals_strict_one(client):
    csp = client.get("/api/v1/docs").headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "style-src 'self';" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp


def test_no_inline_script_or_style_and_no_external_url(client):
    html = client.get("/api/v1/docs").text
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "an inline script"
    assert "<style" not in html and " style=" not in html
    assert not EXTERNAL_ASSET.search(html)
    assert not re.search(r"https?://", html)


def test_every_asset_is_served_from_the_portal(client):
    html = client.get("/api/v1/docs").text
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert {f"/static/vendor/{name}" for name in SWAGGER} <= set(assets)
    assert "/static/js/api-docs.js" in assets
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200, asset
        response.close()


def test_swagger_ui_is_vendored_pinned_and_licensed():
    table = _vendor_table()
    assert set(SWAGGER) <= set(table)
    assert "Apache License" in (VENDOR / "swagger-ui" / "LICENSE").read_text()
    assert "5.35.0" in (VENDOR / "VENDOR.md").read_text()


def test_the_init_script_asks_no_other_origin():
    script = (STATIC / "js" / "api-docs.js").read_text()
    assert "validatorUrl: null" in script  # the validator badge would call validator.swagger.io
    assert not re.search(r"https?://", script)
