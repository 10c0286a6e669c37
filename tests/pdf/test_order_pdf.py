"""The purchase order PDF: what the stored file says (text extracted with poppler's
`pdftotext`), how a long order paginates, that it is stored once and served unchanged, and
that rendering fetches nothing but the portal's own static files.

One 300-line order is rendered per module (`long_order`); the other renders are small.
"""

from __future__ import annotations

import hashlib
import shutil
import socket
import subprocess
from decimal import Decimal
from types import SimpleNamespace

import pytest
from flask_babel import force_locale, gettext

from portal import i18n, pdf
from portal.domain.orders import order_totals
from portal.domain.taxid import format_tax_id
from portal.extensions import db
from portal.models import Organization, User
from portal.models.order import PurchaseOrder, PurchaseOrderDocument
from portal.services.orders import documents
from portal.tenancy import system
from tests.conftest import _empty_database, _restore, as_org
from tests.pdf.fixtures import description, make_order

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) not installed")


def pdf_text(data: bytes, *, layout: bool = False) -> str:
    """The PDF's text: `-raw` keeps a table cell's wrapped lines together (content order);
    `-layout` keeps pages apart (form feeds) and columns in place. Non-breaking spaces (Babel
    groups digits with them) read as spaces, as in the expected strings below."""
    mode = "-layout" if layout else "-raw"
    out = subprocess.run(["pdftotext", mode, "-enc", "UTF-8", "-", "-"], input=data, capture_output=True,
                         check=True).stdout.decode()
    return out.replace("\xa0", " ").replace("\u202f", " ")


def flat(text: str) -> str:
    """Whitespace collapsed: a description wrapped over two lines of its cell reads whole."""
    return " ".join(text.split())


def plain(text: str) -> str:
    return text.replace("\xa0", " ").replace("\u202f", " ")


def totals_as_written(order: PurchaseOrder, language: str) -> list[str]:
    summary = order_totals(((ln.vat_code, ln.net) for ln in order.lines), freight=order.freight,
                           currency=order.currency)
    with force_locale(language):
        return [plain(i18n.money(amount, order.currency)) for amount in (summary.net, summary.vat, summary.gross)]


# ---------------------------------------------------------------- one long order per module


@pytest.fixture(scope="module")
def long_order(app, _world_snapshot):
    """Acme's 300-line order to Polbud, stored once; its bytes and what the tests expect."""
    rows, keys = _world_snapshot
    with app.app_context():
        _empty_database()
        _restore(rows)
        with system(db.session):
            acme = db.session.get(Organization, keys["orgs"]["acme"])
            polbud = db.session.get(Organization, keys["orgs"]["polbud"])
            buyer = db.session.get(User, keys["users"]["buyer@acme.example"])
        with as_org(acme):
            order = make_order(acme, polbud, lines=300, number="PO/2026/00300", issued_by=buyer)
            document = documents.store_document(order, buyer)
            db.session.commit()
            found = SimpleNamespace(
                data=documents.document_bytes(document), totals=totals_as_written(order, "pl"),
                number=order.number, lines=len(order.lines),
            )
            with force_locale("pl"):
                found.header = [gettext(label).upper() for label in ("Description", "Unit price", "Gross")]
        db.session.remove()
        _empty_database()
    return found


def test_a_300_line_order_runs_over_several_pages_each_with_the_table_header_and_its_number(long_order):
    pages = [page for page in pdf_text(long_order.data, layout=True).split("\f") if page.strip()]
    assert len(pages) >= 5
    with force_locale("pl"):
        numbers = [gettext("Page %(page)s of %(pages)s", page=i, pages=len(pages)) for i in range(1, len(pages) + 1)]
    with_lines = [page for page in pages if " — poz. " in page]
    assert len(with_lines) >= len(pages) - 1  # the summary may take a page of its own
    for page in with_lines:
        assert all(label in page for label in long_order.header), page[:400]
    for page, number in zip(pages, numbers, strict=True):
        assert plain(number) in page
        assert long_order.number in page  # the running header (later pages) or the title (first)


def test_a_300_line_order_holds_every_line_and_the_totals(long_order):
    text = flat(pdf_text(long_order.data))
    missing = [i for i in range(1, long_order.lines + 1) if description(i) not in text]
    assert missing == []
    assert all(amount in text for amount in long_order.totals), long_order.totals


# ---------------------------------------------------------------- small orders


def test_the_stored_pdf_holds_both_parties_their_tax_ids_the_number_every_line_and_the_totals(world):
    acme, polbud = world.acme, world.polbud
    with as_org(acme):
        order = make_order(acme, polbud, lines=25, notes="Dostawa od 7:00 do 15:00, brama 3.",
                           freight=Decimal("150.00"), issued_by=world.user("buyer@acme"))
        document = documents.store_document(order, world.user("buyer@acme"))
        db.session.commit()
        text = flat(pdf_text(documents.document_bytes(document)))
        totals = totals_as_written(order, "pl")
    for org in (acme, polbud):
        assert org.legal_name in text
        assert f"NIP: {format_tax_id(org.tax_id, org.country)}" in text
    assert "PO/2026/00001" in text
    assert all(description(i) in text for i in range(1, 26))
    assert "NW-1001" in text  # the supplier's part number
    assert all(amount in text for amount in totals), totals
    assert "Dostawa od 7:00 do 15:00, brama 3." in text
    assert "18.12.2026" in text  # the delivery date, the Polish way
    with force_locale("pl"):
        assert gettext("Unit price").upper() in text
        assert i18n.translate(order.payment_terms.label()) in text  # "45 dni": the terms in words


def test_an_english_speaking_buyer_gets_its_order_in_english_with_vat_ids_and_its_currency(world):
    globex, nordwind = world.globex, world.nordwind
    with as_org(globex):
        order = make_order(globex, nordwind, lines=3, revision=2, issued_by=world.user("buyer@globex"))
        text = flat(pdf_text(documents.render_order_pdf(order)))
        totals = totals_as_written(order, "en")
    assert "PURCHASE ORDER" in text
    assert "Revision 2" in text
    assert f"VAT ID: {globex.tax_id}" in text and f"VAT ID: {nordwind.tax_id}" in text
    assert "Germany" in text and "Bulgaria" in text
    assert all(amount in text for amount in totals) and totals[-1].endswith("EUR")
    assert "Page 1 of 1" in text
    assert "net 60 days" in text


def test_a_document_is_stored_once_per_revision_and_served_byte_for_byte(world):
    acme, polbud, buyer = world.acme, world.polbud, world.user("buyer@acme")
    with as_org(acme):
        order = make_order(acme, polbud, lines=2)
        first = documents.store_document(order, buyer)
        assert documents.store_document(order, buyer) is first  # a revision is rendered once
        db.session.commit()
        order_id, first_sha = order.id, first.sha256
        assert first.filename == "PO-2026-00001-r0.pdf"
        assert (first.revision, first.created_by_id) == (0, buyer.id)
    db.session.remove()
    with as_org(acme):
        order = db.session.get(PurchaseOrder, order_id)
        latest = documents.latest_document(order)
        data = documents.document_bytes(latest)
        assert data.startswith(b"%PDF-")
        assert hashlib.sha256(data).hexdigest() == latest.sha256 == first_sha
        assert len(data) == latest.size
        order.revision = 1
        order.delivery_date = None
        second = documents.store_document(order, buyer, changes="delivery date removed")
        db.session.commit()
        assert (second.filename, second.changes) == ("PO-2026-00001-r1.pdf", "delivery date removed")
        assert documents.latest_document(order).id == second.id
        kept = db.session.get(PurchaseOrderDocument, latest.id)
        assert hashlib.sha256(documents.document_bytes(kept)).hexdigest() == first_sha  # r0 unchanged


def fresh(org_id: int) -> Organization:
    """An organisation loaded in a new session (as the next request would)."""
    db.session.remove()
    with system(db.session):
        return db.session.get(Organization, org_id)


def test_the_supplier_reads_the_stored_pdf_and_no_other_supplier_does(world):
    acme, polbud, nordwind = world.acme, world.polbud, world.nordwind
    polbud_id, nordwind_id = polbud.id, nordwind.id
    with as_org(acme):
        order = make_order(acme, polbud, lines=1)
        sha = documents.store_document(order, world.user("buyer@acme")).sha256
        db.session.commit()
        order_id = order.id
    with as_org(fresh(polbud_id)):
        order = db.session.get(PurchaseOrder, order_id)
        data = documents.document_bytes(documents.latest_document(order))
        assert hashlib.sha256(data).hexdigest() == sha
    with as_org(fresh(nordwind_id)):
        assert db.session.get(PurchaseOrder, order_id) is None
        assert documents.latest_document(SimpleNamespace(id=order_id)) is None


def test_the_pdf_embeds_the_vendored_fonts_only(world):
    with as_org(world.acme):
        data = documents.render_order_pdf(make_order(world.acme, world.polbud, lines=1))
    fonts = subprocess.run(["pdffonts", "-"], input=data, capture_output=True, check=True).stdout.decode()
    rows = fonts.splitlines()[2:]
    assert rows and all("Portal-Sans" in row for row in rows), fonts
    assert all(" yes yes " in row for row in rows), fonts  # embedded, subset


# ---------------------------------------------------------------- what rendering may fetch


def test_the_fetcher_serves_files_under_static_only():
    assert pdf.static_path(pdf.STYLESHEET.as_uri()) == pdf.STYLESHEET
    font = (pdf.STATIC / "fonts" / "DejaVuSans.ttf").as_uri()
    response = pdf.fetcher().fetch(font)
    assert response.read()[:4] == b"\x00\x01\x00\x00"
    refused = [
        "http://127.0.0.1:9/logo.png",
        "https://example.com/style.css",
        "ftp://example.com/x",
        "data:image/png;base64,iVBORw0KGgo=",
        "file:///etc/passwd",
        f"{pdf.BASE_URL}../../pyproject.toml",
        f"{pdf.BASE_URL}%2e%2e/%2e%2e/pyproject.toml",
        f"file://evil.example{pdf.STYLESHEET}",
        pdf.BASE_URL + "css/",  # a folder
        pdf.BASE_URL + "css/missing.css",
    ]
    for url in refused:
        with pytest.raises(pdf.RefusedURL):
            pdf.fetcher().fetch(url)


def test_a_document_naming_other_urls_renders_without_fetching_them(app, monkeypatch):
    asked = []

    def refuse_network(*args, **kwargs):
        asked.append(args)
        raise AssertionError("no network at render time")

    monkeypatch.setattr(socket.socket, "connect", refuse_network)
    monkeypatch.setattr(socket, "create_connection", refuse_network)
    seen = []
    real = pdf.static_path

    def spy(url, *args, **kwargs):
        try:
            path = real(url, *args, **kwargs)
        except pdf.RefusedURL:
            seen.append(("refused", url))
            raise
        seen.append(("served", url))
        return path

    monkeypatch.setattr(pdf, "static_path", spy)
    html = ('<html><head><link rel="stylesheet" href="http://127.0.0.1:9/x.css">'
            '<link rel="stylesheet" href="file:///etc/passwd"></head><body>'
            '<img src="https://example.com/track.png"><img src="../../../../etc/hostname">'
            '<img src="img/logo.svg"><p>Zażółć gęślą jaźń</p></body></html>')
    data = pdf.html_to_pdf(html)
    assert data.startswith(b"%PDF-") and asked == []
    assert {url for kind, url in seen if kind == "refused"} >= {
        "http://127.0.0.1:9/x.css", "file:///etc/passwd", "https://example.com/track.png"}
    assert ("served", pdf.BASE_URL + "img/logo.svg") in seen
    assert not any(kind == "served" and "etc/" in url for kind, url in seen)
    assert "Zażółć gęślą jaźń" in pdf_text(data)


def test_the_stylesheet_and_fonts_are_built_once_per_process():
    assert pdf.stylesheet() is pdf.stylesheet()
    assert pdf.fonts() is pdf.fonts()


def test_page_numbers_become_css_counters_with_the_words_escaped():
    assert pdf.page_counter_css("Page {page} of {pages}") == '"Page " counter(page) " of " counter(pages)'
    assert pdf.page_counter_css("{page}/{pages}") == 'counter(page) "/" counter(pages)'
    css = pdf.page_counter_css('S. {page} "z" </style> {pages}\\')
    assert "</style>" not in css and '"z"' not in css
    assert pdf.css_string("a\xa0b") == '"a\\a0 b"'


def test_the_vendored_fonts_are_the_recorded_files_with_their_licence():
    folder = pdf.STATIC / "fonts"
    rows = [line.strip("| ").split(" | ") for line in (folder / "README.md").read_text().splitlines()]
    recorded = {cells[0]: cells[1] for cells in rows if len(cells) == 2 and cells[0].endswith(".ttf")}
    fonts = {path.name for path in folder.glob("*.ttf")}
    assert fonts == set(recorded) and len(fonts) == 4
    for name in fonts:
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == recorded[name]
    assert "Bitstream" in (folder / "LICENSE.txt").read_text()
