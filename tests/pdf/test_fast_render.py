"""The short road of our documents into WeasyPrint (portal/pdf.py, `PortalHTML`): a document in
the plain form of our templates is parsed by `parse_plain` and styled with css/pdf-ua.css, and
prints byte for byte what WeasyPrint's own parser and user-agent stylesheet print; anything
else goes WeasyPrint's own way.

Every document the demo renders (each purchase order, invoice and credit note, in both
languages) and a statement in both languages are held to that: the short road taken, the same
tree as WeasyPrint's HTML5 parser, and (once per distinct document structure) the same bytes.
"""

from __future__ import annotations

import random
import re
from datetime import timedelta

import pytest
import tinyhtml5
from sqlalchemy import select
from weasyprint import HTML

from portal import pdf
from portal.extensions import db
from portal.models import SupplierLink
from portal.models.base import utcnow
from portal.services.demo import seed_demo
from portal.services.invoicing import statements
from portal.tenancy import system
from tests.factories import acting_for


def tree(element) -> tuple:
    """An element and everything under it, as comparable tuples."""
    return (element.tag, sorted(element.attrib.items()), element.text or "", element.tail or "",
            tuple(tree(child) for child in element))


def html5_tree(html: str) -> tuple:
    return tree(tinyhtml5.parse(html, namespace_html_elements=False))


def stock_pdf(html: str, stylesheets) -> bytes:
    """What WeasyPrint prints of `html` its own way (its parser, its user-agent stylesheet)."""
    document = HTML(string=html, base_url=pdf.BASE_URL, url_fetcher=pdf.fetcher())
    return document.write_pdf(stylesheets=stylesheets, font_config=pdf.fonts())


@pytest.fixture
def rendered(world, monkeypatch):
    """Every document the demo renders as it seeds, and a statement in both languages: the
    HTML, the stylesheets it was printed with and the bytes printed."""
    seen = []
    portal_html = pdf._portal_html()
    real = portal_html.write_pdf

    def spy(self, *args, **kwargs):
        data = real(self, *args, **kwargs)
        seen.append((self, kwargs["stylesheets"], data))
        return data

    monkeypatch.setattr(portal_html, "write_pdf", spy)
    real_init = portal_html.__init__

    def keep_html(self, html):
        self.source = html
        real_init(self, html)

    monkeypatch.setattr(portal_html, "__init__", keep_html)
    with system(db.session):
        built = seed_demo()
        db.session.commit()
        acme, polbud = built["orgs"]["acme"], built["orgs"]["polbud"]
        link = db.session.scalar(select(SupplierLink).where(
            SupplierLink.organization_id == acme.id, SupplierLink.supplier_id == polbud.id))
    today = utcnow().date()
    with acting_for(acme):
        found = statements.statement(link=link, start=today - timedelta(days=120), end=today, today=today)
        for locale in ("pl", "en"):
            statements.render_statement_pdf(found, locale=locale)
    return [(document.source, document, stylesheets, data) for document, stylesheets, data in seen]


def test_every_document_of_the_demo_takes_the_short_road_and_prints_what_weasyprint_prints(rendered):
    def kind(html, stylesheets):
        if "statement-lines" in html:
            return "statement"
        if stylesheets[0] is pdf.stylesheet():
            return "order"
        return "credit note" if 'class="correction"' in html else "invoice"

    kinds = {(kind(html, stylesheets), html.split('lang="', 1)[1][:2]) for html, _, stylesheets, _ in rendered}
    assert {"order", "invoice", "credit note", "statement"} == {k for k, _ in kinds}
    assert {("order", "pl"), ("order", "en"), ("invoice", "pl"), ("invoice", "en"), ("statement", "en")} <= kinds
    structures = {}
    for html, document, stylesheets, data in rendered:
        assert document.plain, html[:300]
        root = pdf.parse_plain(html)
        assert tree(root) == html5_tree(html)
        structure = tuple((element.tag, element.get("class")) for element in root.iter())
        structures.setdefault(structure, (html, stylesheets, data))
    assert len(structures) >= 6
    for html, stylesheets, data in structures.values():
        assert data == stock_pdf(html, stylesheets)


PLAIN = ('<!doctype html><html lang="pl"><head><meta charset="utf-8"><title>A &amp; B</title>'
         '<style>@page { margin: 1cm } .a > b { color: red }</style></head><body>'
         '<header class="x"><div>Zażółć &lt;gęślą&gt; jaźń &#39;"—&quot;</div></header>'
         '<p>Line one\r\nline two\rthree<br>four <b>bold</b> <span class="n">span</span></p>'
         '<table class="t"><colgroup><col class="c"><col></colgroup><thead><tr><th colspan="2">H</th></tr>'
         '</thead><tbody><tr><td>1</td><td>2</td></tr>\n</tbody></table><section><h3>Title</h3></section>'
         '</body></html>')


def test_a_plain_document_parses_as_html5_reads_it_entities_line_ends_and_all():
    root = pdf.parse_plain(PLAIN)
    assert root is not None and tree(root) == html5_tree(PLAIN)
    assert "\r" not in "".join(root.itertext())
    document = pdf.portal_html(PLAIN)
    assert document.plain and document.write_pdf(stylesheets=[pdf.stylesheet()], font_config=pdf.fonts()) == \
        stock_pdf(PLAIN, [pdf.stylesheet()])


NOT_PLAIN = {
    "no doctype (quirks mode)": PLAIN.replace("<!doctype html>", ""),
    "a row straight in a table": PLAIN.replace("<tbody>", "").replace("</tbody>", ""),
    "a block inside a paragraph": PLAIN.replace("<br>four", "<div>four</div>"),
    "an element closed out of order": PLAIN.replace("<b>bold</b>", "<b><span>bold</b></span>"),
    "a cell left open": PLAIN.replace("<td>1</td>", "<td>1"),
    "an element the UA sheet leaves out": PLAIN.replace("<b>bold</b>", '<img src="img/logo.svg">'),
    "a list": PLAIN.replace("<br>four", "<ul><li>four</li></ul>"),
    "no head": PLAIN.split("</head>", 1)[0].split("<head>")[0] + PLAIN.split("</head>", 1)[1],
    "a heading inside a heading": PLAIN.replace("<h3>Title</h3>", "<h3>Title<h3>Sub</h3></h3>"),
    "an attribute the UA sheet styles by": PLAIN.replace('<div>Z', '<div dir="rtl">Z'),
    "a hidden element": PLAIN.replace('<div>Z', '<div hidden>Z'),
    "an attribute twice": PLAIN.replace('class="x"', 'class="x" class="y"'),
    "text loose in a table": PLAIN.replace("<tbody>", "<tbody>loose"),
    "a self-closed div": PLAIN.replace("<section>", "<div/><section>"),
    "a comment": PLAIN.replace("<section>", "<!-- c --><section>"),
    "a NUL": PLAIN.replace("four", "fo\0ur"),
    "an unclosed document": PLAIN.replace("</body></html>", ""),
    "text after the document": PLAIN + "tail",
    "a base URL": PLAIN.replace('<meta charset="utf-8">', '<meta charset="utf-8"><base href="http://x/">'),
    "a tag inside the title": PLAIN.replace("A &amp; B", "A <b>B</b>"),
}


@pytest.mark.parametrize("case", sorted(NOT_PLAIN))
def test_anything_else_goes_weasyprints_own_way(case):
    html = NOT_PLAIN[case]
    assert pdf.parse_plain(html) is None
    assert not pdf.portal_html(html).plain


def test_a_document_off_the_short_road_still_prints_as_weasyprint_prints_it(app):
    html = NOT_PLAIN["a list"]
    data = pdf.html_to_pdf(html)
    assert data.startswith(b"%PDF-") and data == stock_pdf(html, [pdf.stylesheet()])


def test_whatever_the_short_parser_reads_it_reads_as_html5_does():
    """Seeded mutations of a plain document (pieces dropped, doubled, swapped, whitespace and
    elements put in): each is either refused (None) or read into WeasyPrint's own tree."""
    pieces = [piece for piece in re.split(r"(<[^>]+>)", PLAIN) if piece]
    extras = ["<p>", "</p>", "<div>", "</div>", "<tr>", "<td>", "</td>", "<tbody>", "</tbody>", " ", "\n",
              "x", "<br>", "<b>", "</b>", "<h3>", "</h3>", "<head>", "<body>", "</body>", "</html>"]
    rng = random.Random(20261206)
    read = 0
    for _ in range(600):
        mutated = list(pieces)
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(mutated))
            action = rng.randrange(4)
            if action == 0:
                del mutated[at]
            elif action == 1:
                mutated.insert(at, mutated[at])
            elif action == 2 and at + 1 < len(mutated):
                mutated[at], mutated[at + 1] = mutated[at + 1], mutated[at]
            else:
                mutated.insert(at, rng.choice(extras))
        html = "".join(mutated)
        root = pdf.parse_plain(html)
        if root is not None:
            read += 1
            assert tree(root) == html5_tree(html), html
    assert read > 50  # the mutations that keep a document plain are read, not only refused
