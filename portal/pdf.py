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

Our documents take a shorter road into WeasyPrint than any HTML (`PortalHTML`): a document
made only of the elements our templates use (`FAST_TAGS`), in the plain form they write it
(every element closed where it opened, rows inside a table section, no text loose in a
table), is parsed by the standard library's C-accelerated tokenizer into the same tree as
WeasyPrint's pure-Python HTML5 parser builds, six times faster, and styled with
css/pdf-ua.css: WeasyPrint's user-agent rules for those elements alone. Anything else
(another element, attribute or form) goes WeasyPrint's own way with its own stylesheet.
tests/pdf/test_fast_render.py holds every document of the demo to the same tree and the same
PDF, byte for byte, as WeasyPrint's own road.
"""

from __future__ import annotations

import atexit
import logging
import mimetypes
import re
from contextlib import contextmanager
from datetime import tzinfo
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname
from xml.etree.ElementTree import Element, TreeBuilder
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import force_locale, gettext
from markupsafe import Markup

from portal.i18n import format_locale, template_context

STATIC = (Path(__file__).resolve().parent / "static").resolve()
STYLESHEET = STATIC / "css" / "pdf.css"
UA_STYLESHEET = STATIC / "css" / "pdf-ua.css"
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


# ---------------------------------------------------------------- the short road for our documents

# The elements of the PDF templates, each styled by css/pdf-ua.css as WeasyPrint's own
# user-agent sheet styles it; and the attributes they carry (none that sheet styles by).
FAST_TAGS = frozenset({"html", "head", "meta", "title", "style", "body", "header", "section", "div", "p",
                       "span", "b", "strong", "h3", "br", "table", "colgroup", "col", "thead", "tbody",
                       "tfoot", "tr", "th", "td"})
FAST_ATTRIBUTES = frozenset({"class", "id", "lang", "charset", "name", "content", "colspan", "rowspan"})
_VOID = frozenset({"br", "col", "meta"})
_RAW_TEXT = frozenset({"style", "title"})
_HEAD = frozenset({"meta", "title", "style"})
_BLOCKS = frozenset({"header", "section", "div", "p", "h3", "table"})  # each ends an open <p> in HTML5
# Where each table element may stand: anywhere else HTML5 would move or add elements.
_TABLE_PARENTS = {"colgroup": {"table"}, "thead": {"table"}, "tbody": {"table"}, "tfoot": {"table"},
                  "col": {"colgroup"}, "tr": {"thead", "tbody", "tfoot"}, "td": {"tr"}, "th": {"tr"}}
_TABLE_PARTS = frozenset({"table", "colgroup", "thead", "tbody", "tfoot", "tr"})


class _NotPlain(Exception):
    """The document is not in the plain form the short parser reads like HTML5 does."""


class _PlainParser(HTMLParser):
    """The tree (xml.etree, no namespace, as WeasyPrint's parser builds it) of a document in
    the plain form of our templates; `_NotPlain` for anything an HTML5 parser would read
    otherwise than as written (an element closed implicitly or out of order, a row outside a
    table section, text loose in a table, an unknown element or attribute)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.builder = TreeBuilder()
        self.open: list[str] = []
        self.doctype = self.seen_head = self.seen_body = self.closed = False

    def handle_decl(self, decl):
        # <!doctype html>: standards mode (in quirks mode a <table> does not end a <p>).
        if self.open or self.closed or decl.lower() != "doctype html":
            raise _NotPlain("doctype")
        self.doctype = True

    def handle_starttag(self, tag, attrs):
        parent = self.open[-1] if self.open else None
        names = [name for name, _ in attrs]
        if (tag not in FAST_TAGS or self.closed or not self.doctype or len(set(names)) != len(names)
                or not FAST_ATTRIBUTES.issuperset(names)):
            raise _NotPlain(tag)
        if parent is None and tag != "html":
            raise _NotPlain(tag)
        if parent == "html" and not (tag == "head" and not self.seen_head
                                     or tag == "body" and self.seen_head and not self.seen_body):
            raise _NotPlain(tag)  # HTML5 adds a missing <head> before the <body>
        if (parent == "head") != (tag in _HEAD) or parent in _RAW_TEXT:
            raise _NotPlain(tag)
        if parent not in _TABLE_PARENTS.get(tag, {parent}) or parent in _TABLE_PARTS and tag not in _TABLE_PARENTS:
            raise _NotPlain(tag)
        if "p" in self.open and tag in _BLOCKS or tag == "h3" and "h3" in self.open:
            raise _NotPlain(tag)  # HTML5 ends the open paragraph (heading) first
        self.seen_head |= tag == "head"
        self.seen_body |= tag == "body"
        self.builder.start(tag, {name: value or "" for name, value in attrs})
        if tag in _VOID:
            self.builder.end(tag)
        else:
            self.open.append(tag)

    def handle_startendtag(self, tag, attrs):
        if tag not in _VOID:  # HTML5 ignores the slash of <div/>: the element stays open
            raise _NotPlain(tag)
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if not self.open or self.open[-1] != tag:
            raise _NotPlain(f"/{tag}")
        self.open.pop()
        self.builder.end(tag)
        self.closed = not self.open

    def handle_data(self, data):
        parent = self.open[-1] if self.open else None
        blank = not data.strip(" \t\n\f")
        if parent is None and not self.closed and blank:
            return  # before <html>: HTML5 drops it too
        if parent in (None, "html") or (parent == "head" or parent in _TABLE_PARTS) and not blank:
            raise _NotPlain("text")  # where HTML5 would move it (compact() leaves none there)
        self.builder.data(data)

    def handle_comment(self, data):
        raise _NotPlain("comment")

    def handle_pi(self, data):
        raise _NotPlain("processing instruction")

    def unknown_decl(self, data):
        raise _NotPlain("declaration")


def parse_plain(html: str) -> Element | None:
    """The tree of `html` when it is in the plain form of our templates, None otherwise."""
    if "\0" in html:  # HTML5 drops it from text
        return None
    parser = _PlainParser()
    try:
        # HTML5 reads every CR LF and lone CR as LF before anything else.
        parser.feed(html.replace("\r\n", "\n").replace("\r", "\n"))
        parser.close()
    except _NotPlain:
        return None
    if not parser.closed or not parser.seen_body:
        return None
    return parser.builder.close()


@lru_cache(maxsize=1)
def ua_stylesheet():
    """css/pdf-ua.css, parsed once."""
    from weasyprint import CSS

    return CSS(filename=str(UA_STYLESHEET), url_fetcher=fetcher())


@lru_cache(maxsize=1)
def _portal_html():
    import cssselect2
    from weasyprint import HTML

    class PortalHTML(HTML):
        """An HTML document of ours for WeasyPrint: parsed by `parse_plain` and styled with
        css/pdf-ua.css when it is plain; else exactly WeasyPrint's HTML."""

        def __init__(self, html: str):
            root = parse_plain(html)
            self.plain = root is not None
            if not self.plain:
                super().__init__(string=html, base_url=BASE_URL, url_fetcher=fetcher())
                return
            # What HTML.__init__ sets (weasyprint==70.0, pinned), from our tree; no <base> here.
            self.base_url, self.url_fetcher, self.media_type = BASE_URL, fetcher(), "print"
            self.wrapper_element = cssselect2.ElementWrapper.from_html_root(root, content_language=None)
            self.etree_element = self.wrapper_element.etree_element

        def _ua_stylesheets(self, forms=False):
            return [ua_stylesheet()] if self.plain else super()._ua_stylesheets(forms)

    return PortalHTML


def portal_html(html: str):
    """`html` as a weasyprint.HTML, by the short road when it is plain (module docstring)."""
    return _portal_html()(html)


def html_to_pdf(html: str, *, stylesheets: tuple | None = None) -> bytes:
    """PDF bytes of `html`, with the print stylesheet (or `stylesheets`: weasyprint.CSS
    objects), the fonts and the fetcher of this module."""
    document = portal_html(html)
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
