"""PDF documents: a Jinja template of portal/templates/pdf/ rendered to PDF by WeasyPrint.

`render_pdf(template, locale=..., **context)` renders the template with the app's Jinja
environment (the filters of portal/i18n.py, `_()`), in the document's language, not the
viewer's: a purchase order reads the same whoever downloads it. The print stylesheet
(portal/static/css/pdf.css) and the vendored fonts (portal/static/fonts/, DejaVu Sans) are
the same on every machine, so a document renders identically everywhere.

WeasyPrint would fetch any URL a document names (SSRF, local files). Every fetch goes through
`StaticFetcher`, which serves files under portal/static and refuses everything else: other
schemes (http, https, ftp, data), other paths, `..` out of the folder. Nothing is fetched
from the network at render time.

The font configuration and the parsed stylesheet (with its @font-face fonts) are built once
per process and reused by every render (bench/pdf.py measures what that saves). WeasyPrint is
imported here only, on the first render: it needs Pango, and importing it takes longer than
importing the whole portal.
"""

from __future__ import annotations

import atexit
import logging
import mimetypes
import re
from contextlib import contextmanager
from datetime import tzinfo
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import force_locale, gettext
from markupsafe import Markup

from portal.i18n import format_locale, template_context

STATIC = (Path(__file__).resolve().parent / "static").resolve()
STYLESHEET = STATIC / "css" / "pdf.css"
# Relative URLs in a PDF template (`img/logo.svg`) resolve against the static folder.
BASE_URL = STATIC.as_uri() + "/"


class RefusedURL(ValueError):
    """A URL the PDF renderer may not fetch: anything but a file under portal/static."""


def static_path(url: str, root: Path = STATIC) -> Path:
    """The file `url` names when it is a `file:` URL of a file under `root`; RefusedURL for
    anything else (another scheme or host, a path outside `root`, `..`, a folder)."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
        raise RefusedURL(f"not a static file: {url[:200]}")
    path = Path(url2pathname(parts.path)).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise RefusedURL(f"not a static file: {url[:200]}")
    return path


@lru_cache(maxsize=1)
def fetcher():
    """The URL fetcher every render uses (WeasyPrint wants a `URLFetcher`)."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    # WeasyPrint logs each step and page at INFO: a 300-line order would write 20 lines to the
    # app's log. Its warnings (a refused URL, a missing font) still get through.
    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)

    class StaticFetcher(URLFetcher):
        """Files under portal/static, nothing else (RefusedURL)."""

        def fetch(self, url, headers=None):
            path = static_path(url)
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(path.as_uri(), path.read_bytes(), {"Content-Type": kind})

    return StaticFetcher(fail_on_errors=False)


@lru_cache(maxsize=1)
def fonts():
    """The font configuration shared by every render: the @font-face fonts of the stylesheet
    are loaded into it once."""
    from weasyprint.text.fonts import FontConfiguration

    # Dropped before the interpreter tears modules down (its __del__ removes a folder).
    atexit.register(_forget)
    return FontConfiguration()


def _forget() -> None:
    _stylesheet.cache_clear()
    fonts.cache_clear()


@lru_cache(maxsize=4)
def _stylesheet(path: Path, mtime_ns: int):
    # Parsed once (its @font-face fonts loaded once); again only when the file changes.
    from weasyprint import CSS

    return CSS(filename=str(path), url_fetcher=fetcher(), font_config=fonts())


def stylesheet(path: Path = STYLESHEET):
    """The parsed print stylesheet (a weasyprint.CSS), shared by every render."""
    return _stylesheet(path, path.stat().st_mtime_ns)


def css_string(text: str) -> Markup:
    """`text` as a CSS string literal (quoted, escaped: safe inside a <style>)."""
    escaped = "".join(c if c.isprintable() and c not in '\\"<>&' else f"\\{ord(c):x} " for c in str(text))
    return Markup(f'"{escaped}"')  # noqa: S704 - escaped above


def page_counter_css(text: str) -> Markup:
    """The CSS `content` of a page footer from its translated words, where `{page}` and
    `{pages}` stand for the numbers: "Strona {page} z {pages}" →
    `"Strona " counter(page) " z " counter(pages)`."""
    parts = []
    for piece in re.split(r"(\{pages?\})", str(text)):
        if piece in ("{page}", "{pages}"):
            parts.append(f"counter({piece[1:-1]})")
        elif piece:
            parts.append(css_string(piece))
    return Markup(" ".join(parts) or '""')  # noqa: S704 - every piece escaped by css_string


@lru_cache(maxsize=8)
def _page_counter_sheet(text: str):
    from weasyprint import CSS

    return CSS(string=f"@page {{ @bottom-right {{ content: {page_counter_css(text)}; }} }}", url_fetcher=fetcher())


def page_counter_stylesheet(locale: str | None = None):
    """A parsed stylesheet writing "Page X of Y" (in `locale`; the viewer's when None) into the
    pages' bottom-right margin box, parsed once per language: for a template without a
    per-document <style> (templates/pdf/invoice.html)."""
    with _language(locale):
        text = gettext("Page %(page)s of %(pages)s", page="{page}", pages="{pages}")
    return _page_counter_sheet(str(text))


def country_name(code: str | None) -> str:
    """A country's name in the document's language (`PL` → Polska / Poland)."""
    if not code:
        return ""
    return format_locale().territories.get(code.upper(), code)


@contextmanager
def _language(locale: str | None):
    if locale:
        with force_locale(locale):
            yield
    else:
        yield


def render_html(template: str, *, locale: str | None = None, time_zone: str | tzinfo | None = None,
                **context) -> str:
    """The document's HTML: `template` rendered in `locale` (the viewer's when None), its
    dates and times shown in `time_zone` (the viewer's when None)."""
    with _language(locale):
        values = template_context()
        values.update(page_counter_css=page_counter_css, css_string=css_string, country_name=country_name)
        if time_zone is not None:
            zone = ZoneInfo(time_zone) if isinstance(time_zone, str) else time_zone
            values["viewer_formats"] = values["viewer_formats"]._replace(tz=zone)
        values.update(context)
        return current_app.jinja_env.get_template(template).render(values)


def html_to_pdf(html: str, *, stylesheets: tuple | None = None) -> bytes:
    """PDF bytes of `html`, with the print stylesheet (or `stylesheets`: weasyprint.CSS
    objects), the fonts and the fetcher of this module."""
    from weasyprint import HTML

    document = HTML(string=html, base_url=BASE_URL, url_fetcher=fetcher())
    return document.write_pdf(
        stylesheets=list(stylesheets if stylesheets is not None else (stylesheet(),)),
        font_config=fonts(),
    )


_BETWEEN_TAGS = re.compile(r">\s+<")


def compact(html: str) -> str:
    """`html` without the whitespace-only text between tags (the template's indentation):
    each such text is a box WeasyPrint styles and lays out, for nothing. Templates put the
    spaces they mean inside text (`NIP: <b>…</b>`), never alone between two tags."""
    return _BETWEEN_TAGS.sub("><", html)


def render_pdf(template: str, *, locale: str | None = None, time_zone: str | tzinfo | None = None,
               **context) -> bytes:
    """Render `template` (under portal/templates, e.g. "pdf/purchase_order.html") with
    `context` to PDF bytes, in the language `locale` ("pl", "en"; the viewer's when None)."""
    return html_to_pdf(compact(render_html(template, locale=locale, time_zone=time_zone, **context)))
