"""Static assets are vendored and pinned: nothing is loaded from another origin."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

PORTAL = Path(__file__).resolve().parents[2] / "portal"
VENDOR = PORTAL / "static" / "vendor"
TEMPLATES = PORTAL / "templates"

SHA256 = re.compile(r"\b[0-9a-f]{64}\b")
# A script, stylesheet, font, image or frame taken from another origin (http://, https://, //).
EXTERNAL_ASSET = re.compile(
    r"""<(?:script|link|img|iframe|source)\b[^>]*?\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//"""
    r"""|@import\s+(?:url\()?\s*["']?\s*(?:https?:)?//"""
    r"""|url\(\s*["']?\s*(?:https?:)?//""",
    re.IGNORECASE,
)


def _vendor_table() -> dict[str, str]:
    """file name -> sha256 from the table in VENDOR.md."""
    rows = {}
    for line in (VENDOR / "VENDOR.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        digests = [c for c in cells if SHA256.fullmatch(c)]
        if line.startswith("|") and digests:
            rows[cells[0]] = digests[0]
    return rows


def test_vendor_md_lists_htmx_and_pico():
    table = _vendor_table()
    assert {"htmx.min.js", "pico.min.css"} <= set(table)


@pytest.mark.parametrize("name", sorted(_vendor_table()))
def test_vendored_file_matches_its_recorded_sha256(name):
    digest = hashlib.sha256((VENDOR / name).read_bytes()).hexdigest()
    assert digest == _vendor_table()[name], f"{name} differs from the version in VENDOR.md"


def test_htmx_is_pinned_to_2_0_11():
    # htmx 4 changed HX-Target and other semantics flask-htmx relies on.
    assert 'version:"2.0.11"' in (VENDOR / "htmx.min.js").read_text()
    assert _vendor_table()["htmx.min.js"] == (
        "d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717"
    )


def test_every_vendored_file_is_recorded():
    files = {p.name for p in VENDOR.iterdir() if p.is_file() and p.name != "VENDOR.md"}
    assert files <= set(_vendor_table()), f"not in VENDOR.md: {files - set(_vendor_table())}"


def test_the_external_asset_pattern_catches_what_it_should():
    assert EXTERNAL_ASSET.search('<script src="https://unpkg.com/htmx.org"></script>')
    assert EXTERNAL_ASSET.search("<link rel=stylesheet href='//cdn.example/pico.css'>")
    assert EXTERNAL_ASSET.search("@import url(https://fonts.googleapis.com/css)")
    assert not EXTERNAL_ASSET.search('<script src="/static/vendor/htmx.min.js"></script>')
    assert not EXTERNAL_ASSET.search('<a href="https://www.gov.pl/">gov.pl</a>')


def test_templates_and_stylesheets_load_nothing_from_other_origins():
    sources = [*TEMPLATES.rglob("*.html"), *(PORTAL / "static" / "css").rglob("*.css")]
    assert sources
    offenders = [
        f"{path.relative_to(PORTAL)}: {match.group(0)}"
        for path in sources
        for match in EXTERNAL_ASSET.finditer(path.read_text())
    ]
    assert offenders == []


def test_rendered_pages_reference_only_our_static_files(client, world, login_as):
    pages = [client.get("/login"), login_as(world.user("buyer@acme")).get("/")]
    for response in pages:
        assert response.status_code == 200
        refs = re.findall(r'<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"', response.text)
        assert refs, "no scripts or stylesheets found"
        assert all(ref.startswith("/static/") for ref in refs), refs
