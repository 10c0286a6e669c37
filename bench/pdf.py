"""PO PDF benchmark: what the portal's purchase order PDF costs against a bare WeasyPrint render
of the same lines, and what a download costs once the PDF is stored.

- `portal`: CPU time (`time.process_time()`, median of `repeats` after a warm-up) of
  `documents.render_order_pdf(order)` for an order of 20 and of 300 lines: the template in the
  buyer's language, the print stylesheet, the vendored fonts, the restricted URL fetcher;
- `bare`: `weasyprint.HTML(string=...).write_pdf()` of a minimal HTML table of the same lines
  (position, description, part number, quantity, unit, unit price, VAT, net, gross as plain
  text; the system's DejaVu Sans, WeasyPrint's defaults, no portal template);
- `uncached`: the portal render with a fresh FontConfiguration and stylesheet each time (what
  pdf.py's module-level cache saves);
- `stock_road`: the portal's own HTML, stylesheet and fonts through WeasyPrint's own HTML5
  parser and user-agent stylesheet (what pdf.py's short road for plain documents saves);
- `download`: reading the stored document of the 300-line order in a fresh session
  (`latest_document` + `document_bytes`: SQL statements and CPU), which renders nothing.

Target: portal / bare <= 1.2 for both sizes (`bench/report.py`).

Invoices (`invoice` in the result; `run_invoices`): issuing a one-page and a ten-page invoice of
Polbud (Polish seller) to Acme: `issue_cpu_ms` is `invoicing.documents.store_documents(invoice)`
(render the PDF in the invoice's language, store it with its SHA-256, and the KSeF FA(3) XML;
the stored documents are deleted, untimed, before each run), `render_cpu_ms` the PDF render
alone, `xml_cpu_ms` the XML alone, `stock_road_cpu_ms` the invoice's own HTML and stylesheets
through WeasyPrint's own parser and user-agent stylesheet, against `bare_cpu_ms` (the same lines
in a minimal HTML table, as `bare_html`) and `bare_document_cpu_ms` (the same texts — parties,
dates, terms, bank account, lines, VAT per rate, totals, amount in words — as unstyled HTML).
Target: a one-page invoice's issue / bare <= 1.2.

`content_floor` (both parts) is bare_document / bare: what the document's texts cost as plain
unstyled HTML against the lines alone: in practice the floor of `ratio`. WeasyPrint's cost grows
with the boxes it styles, lays out and draws (a fixed table layout is not measurably cheaper than
the bare table's automatic one), so a short document's header, parties, facts, VAT summary and
totals weigh more against its few lines than a long one's.

    python -m bench.pdf [repeats] [--save]   # JSON on stdout; --save puts it into
                                             # bench/results/latest.json (targets recomputed)
    python -m bench.pdf [repeats] --invoices # the invoices alone

Without DATABASE_URL it runs on a throwaway SQLite database with the demo world (seeded once).
"""

from __future__ import annotations

import gc
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from html import escape

from sqlalchemy import event, select

SIZES = (20, 300)
TARGET = 1.2
DESCRIPTIONS = ("Śruba nierdzewna M8×40 ze łbem sześciokątnym", "Żarówka LED 9 W, ciepła biel",
                "Kabel YDY 3×2,5 mm² (zwój 100 m)", "Rękawice robocze nitrylowe, rozmiar 10",
                "Papier ksero A4 80 g/m², ryza 500 ark.", "Usługa montażu regałów magazynowych")
UNITS = ("pcs", "kg", "m", "h", "box")
CODES = ("23", "8", "5", "0", "zw", "23")


def _cpu_ms(fns: dict, repeats: int) -> tuple[dict, dict]:
    """Median CPU ms of each function, measured interleaved (one run of each per round, after
    a warm-up round), so a neighbour's load on a shared machine falls on all of them alike.
    As `timeit` does, the garbage collector is kept out of the timed runs (collected before
    each): a full collection of this process's heap (the app, its metadata) costs 100-150 ms
    and would fall on whichever run it happens to interrupt."""
    outputs = {name: fn() for name, fn in fns.items()}
    runs = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            gc.collect()
            gc.disable()
            try:
                started = time.process_time()
                fn()
                runs[name].append((time.process_time() - started) * 1000)
            finally:
                gc.enable()
    return {name: round(statistics.median(r), 1) for name, r in runs.items()}, outputs


def make_order(buyer, supplier, lines: int, number: str):
    """An issued order of `lines` lines (flushed, not committed)."""
    from portal.domain.orders import line_amounts, order_totals
    from portal.extensions import db
    from portal.models import SupplierLink
    from portal.models.base import utcnow
    from portal.models.order import OrderSource, PurchaseOrder, PurchaseOrderLine

    link = db.session.scalar(select(SupplierLink).where(
        SupplierLink.organization_id == buyer.id, SupplierLink.supplier_id == supplier.id))
    order = PurchaseOrder(
        organization_id=buyer.id, supplier_id=supplier.id, link=link, number=number,
        source=OrderSource.AGREEMENT, currency=link.currency, payment_terms=link.payment_terms,
        delivery_address=f"{buyer.legal_name}\n{buyer.address_line}\n{buyer.postal_code} {buyer.city}",
        notes="Bench order.", issued_at=utcnow(),
    )
    for i in range(1, lines + 1):
        code = CODES[i % len(CODES)]
        quantity, price = Decimal(i % 13 + 1), Decimal("3.4567") * (i % 29 + 1)
        amounts = line_amounts(quantity, price, code, link.currency)
        order.lines.append(PurchaseOrderLine(
            position=i, description=f"{DESCRIPTIONS[i % len(DESCRIPTIONS)]} ({i})",
            supplier_part_number=f"SP-{10000 + i}", quantity=quantity, unit=UNITS[i % len(UNITS)],
            unit_price=price, vat_code=code, vat_rate=amounts.rate, net=amounts.net, vat=amounts.vat,
            gross=amounts.gross))
    totals = order_totals(((line.vat_code, line.net) for line in order.lines), currency=link.currency)
    order.net_total, order.vat_total, order.gross_total = totals.net, totals.vat, totals.gross
    db.session.add(order)
    db.session.flush()
    return order


def bare_html(order) -> str:
    """The same lines in a minimal HTML table: no template, no stylesheet beyond a font."""
    rows = "".join(
        f"<tr><td>{line.position}</td><td>{escape(line.description)}</td><td>{escape(line.supplier_part_number)}</td>"
        f"<td>{line.quantity}</td><td>{line.unit}</td><td>{line.unit_price}</td><td>{line.vat_code}</td>"
        f"<td>{line.net}</td><td>{line.gross}</td></tr>"
        for line in order.lines)
    return ("<!doctype html><html><head><meta charset=utf-8><style>body{font-family:'DejaVu Sans';font-size:8pt}"
            "table{width:100%;border-collapse:collapse}</style></head><body>"
            f"<h1>{escape(order.number)}</h1><table><thead><tr><th>No.</th><th>Description</th><th>Part no.</th>"
            "<th>Qty</th><th>Unit</th><th>Unit price</th><th>VAT</th><th>Net</th><th>Gross</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></body></html>")


def bare_document_html(order) -> str:
    """The same document in minimal HTML: the lines table of `bare_html` plus the same header
    and summary texts (parties with tax IDs, dates, terms, VAT per code, totals, notes) as plain
    paragraphs and a table, unstyled."""
    from portal.domain.orders import order_totals

    summary = order_totals(((line.vat_code, line.net) for line in order.lines), freight=order.freight,
                           currency=order.currency)

    def party(org):
        return (f"<p><b>{escape(org.legal_name)}</b><br>{escape(org.address_line)}<br>{escape(org.postal_code)} "
                f"{escape(org.city)}, {org.country}<br>Tax ID: {org.tax_id}</p>")

    vat_rows = "".join(f"<tr><td>{row.code.code}</td><td>{row.net}</td><td>{row.vat}</td><td>{row.gross}</td></tr>"
                       for row in summary.per_code)
    head = (f"<h1>Purchase order {escape(order.number)}</h1>{party(order.buyer)}{party(order.supplier)}"
            f"<p>Issued {order.issued_at:%Y-%m-%d}. Delivery {order.delivery_date}. Currency {order.currency}. "
            f"Terms {order.payment_terms.to_json()}.<br>{escape(order.delivery_address)}</p>")
    tail = (f"<table><tr><th>VAT</th><th>Net</th><th>VAT</th><th>Gross</th></tr>{vat_rows}</table>"
            f"<p>Total net {summary.net} {order.currency}<br>Total VAT {summary.vat}<br>"
            f"Total gross {summary.gross}</p><p>{escape(order.notes)}</p>")
    html = bare_html(order)
    return html.replace("<body>", "<body>" + head, 1).replace("</body>", tail + "</body>", 1)


def _uncached_render(order) -> bytes:
    """The portal's render without pdf.py's cache: a new font configuration and stylesheet."""
    from portal import pdf
    from portal.services.orders import documents

    pdf.fonts.cache_clear()
    pdf._stylesheet.cache_clear()
    return documents.render_order_pdf(order)


@contextmanager
def _weasyprint_road():
    """Every document rendered meanwhile goes WeasyPrint's own way (its HTML5 parser and
    user-agent stylesheet): pdf.parse_plain finds none plain."""
    from portal import pdf

    real = pdf.parse_plain
    pdf.parse_plain = lambda html: None
    try:
        yield
    finally:
        pdf.parse_plain = real


def _stock_road_render(order) -> bytes:
    """The portal's render through WeasyPrint's own parser and user-agent stylesheet."""
    from portal.services.orders import documents

    with _weasyprint_road():
        return documents.render_order_pdf(order)


def _download(app, order_id: int) -> dict:
    """Read the stored PDF in a fresh session, as a download does: statements and CPU."""
    from portal.extensions import db
    from portal.models.order import PurchaseOrder
    from portal.services.orders import documents
    from portal.tenancy import system

    statements = [0]

    def count(*_args, **_kwargs):
        statements[0] += 1

    runs, size = [], 0
    for _ in range(5):
        db.session.remove()
        with system(db.session):
            event.listen(db.engine, "before_cursor_execute", count)
            statements[0] = 0
            started = time.process_time()
            order = db.session.get(PurchaseOrder, order_id)
            data = documents.document_bytes(documents.latest_document(order))
            runs.append((time.process_time() - started) * 1000)
            event.remove(db.engine, "before_cursor_execute", count)
            size = len(data)
    return {"cpu_ms_median": round(statistics.median(runs), 2), "statements": statements[0], "bytes": size}


# Lines of the benchmark invoices: one page and ten pages of the invoice template.
INVOICE_SIZES = {"1_page": 12, "10_pages": 330}


def make_invoice(seller, buyer, lines: int, number: str):
    """An issued invoice of `seller` to `buyer` with `lines` lines (flushed, not committed)."""
    from portal.domain.orders import line_amounts
    from portal.domain.vat import totals_by_code
    from portal.extensions import db
    from portal.models import SupplierLink, User
    from portal.models.invoice import Invoice, InvoiceLine, InvoiceStatus

    link = db.session.scalar(select(SupplierLink).where(
        SupplierLink.organization_id == buyer.id, SupplierLink.supplier_id == seller.id))
    author = db.session.scalar(select(User).where(User.organization_id == seller.id).limit(1))
    issued = date(2026, 12, 5)

    def party(org):
        return {"name": org.name, "legal_name": org.legal_name, "tax_id": org.tax_id,
                "address_line": org.address_line, "postal_code": org.postal_code, "city": org.city,
                "country": org.country}

    invoice = Invoice(
        number=number, status=InvoiceStatus.ISSUED, organization_id=buyer.id, supplier_id=seller.id, link=link,
        language=buyer.locale or "pl", currency=link.currency, payment_terms=link.payment_terms,
        issue_date=issued, sale_date=issued, due_date=link.payment_terms.due_date(issued),
        parties={"seller": party(seller) | {"iban": "PL61109010140000071219812874",
                                            "bank": "Santander Bank Polska S.A."},
                 "buyer": party(buyer)},
        bank_account="PL61109010140000071219812874", notes="Bench invoice.", created_by_id=author.id,
        issued_by_id=author.id,
    )
    for i in range(1, lines + 1):
        code = CODES[i % len(CODES)]
        quantity, price = Decimal(i % 13 + 1), Decimal("3.4567") * (i % 29 + 1)
        amounts = line_amounts(quantity, price, code, link.currency)
        invoice.lines.append(InvoiceLine(
            position=i, description=f"{DESCRIPTIONS[i % len(DESCRIPTIONS)]} ({i})", quantity=quantity,
            unit=UNITS[i % len(UNITS)], unit_price=price, vat_code=code, vat_rate=amounts.rate, net=amounts.net,
            vat=amounts.vat, gross=amounts.gross))
    totals = totals_by_code(((line.vat_code, line.net) for line in invoice.lines), link.currency)
    invoice.net_total, invoice.vat_total, invoice.gross_total = totals.net, totals.vat, totals.gross
    db.session.add(invoice)
    db.session.flush()
    return invoice


def bare_invoice_html(invoice) -> str:
    """The invoice's lines in a minimal HTML table: no template, no stylesheet beyond a font."""
    rows = "".join(
        f"<tr><td>{line.position}</td><td>{escape(line.description)}</td><td>{line.quantity}</td><td>{line.unit}</td>"
        f"<td>{line.unit_price}</td><td>{line.net}</td><td>{line.vat_code}</td><td>{line.vat}</td><td>{line.gross}</td></tr>"
        for line in invoice.lines)
    return ("<!doctype html><html><head><meta charset=utf-8><style>body{font-family:'DejaVu Sans';font-size:8pt}"
            "table{width:100%;border-collapse:collapse}</style></head><body>"
            f"<h1>{escape(invoice.number)}</h1><table><thead><tr><th>No.</th><th>Description</th><th>Qty</th>"
            "<th>Unit</th><th>Unit price</th><th>Net</th><th>VAT</th><th>VAT amount</th><th>Gross</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></body></html>")


def bare_invoice_document_html(invoice) -> str:
    """The same invoice in minimal HTML: the lines of `bare_invoice_html` plus the same texts
    (parties with tax IDs, dates, terms, bank account, VAT per rate, totals, in words), unstyled."""
    from portal.domain.invoicing import amount_in_words
    from portal.domain.vat import totals_by_code

    summary = totals_by_code(((line.vat_code, line.net) for line in invoice.lines), invoice.currency)
    seller, buyer = invoice.parties["seller"], invoice.parties["buyer"]

    def party(title, org):
        return (f"<p>{title}<br><b>{escape(org['legal_name'])}</b><br>{escape(org['address_line'])}<br>"
                f"{escape(org['postal_code'])} {escape(org['city'])}, {org['country']}<br>NIP: {org['tax_id']}</p>")

    vat_rows = "".join(f"<tr><td>{row.code.code}</td><td>{row.net}</td><td>{row.vat}</td><td>{row.gross}</td></tr>"
                       for row in summary.per_code)
    head = (f"<h1>Invoice {escape(invoice.number)}</h1><p>{escape(seller['city'])}, {invoice.issue_date}</p>"
            f"{party('Seller', seller)}{party('Buyer', buyer)}"
            f"<p>Issue date {invoice.issue_date}</p><p>Date of supply {invoice.sale_date}</p>"
            f"<p>Pay by {invoice.due_date}</p><p>Currency {invoice.currency}</p>"
            f"<p>Terms {invoice.payment_terms.to_json()}, bank transfer</p><p>Account {invoice.bank_account}<br>"
            f"{escape(seller['bank'])}</p>")
    tail = (f"<table><tr><th>VAT</th><th>Net</th><th>VAT</th><th>Gross</th></tr>{vat_rows}"
            f"<tr><td>Total</td><td>{summary.net}</td><td>{summary.vat}</td><td>{summary.gross}</td></tr></table>"
            f"<p>Total net {summary.net} {invoice.currency}<br>Total VAT {summary.vat}<br>"
            f"Total gross {summary.gross}<br>Amount due {summary.gross}</p>"
            f"<p>In words: {amount_in_words(summary.gross, invoice.currency, 'pl')}</p>"
            f"<p>Pay {summary.gross} by {invoice.due_date}, quoting {escape(invoice.number)}.</p>"
            f"<p>{escape(invoice.notes)}</p>")
    html = bare_invoice_html(invoice)
    return html.replace("<body>", "<body>" + head, 1).replace("</body>", tail + "</body>", 1)


def _pages(data: bytes) -> int | None:
    """The number of pages of a PDF (poppler's pdfinfo), None without it."""
    import shutil
    import subprocess

    if shutil.which("pdfinfo") is None:
        return None
    out = subprocess.run(["pdfinfo", "-"], input=data, capture_output=True, check=False).stdout.decode()
    return next((int(line.split()[-1]) for line in out.splitlines() if line.startswith("Pages:")), None)


def run_invoices(repeats: int = 5) -> dict:
    """Issue (render + store) a one-page and a ten-page invoice: see the module's docstring.
    Runs inside an app context (in the system scope); leaves nothing behind (rolled back)."""
    from portal.extensions import db
    from portal.tenancy import system

    with system(db.session):
        return _run_invoices(repeats)


def _run_invoices(repeats: int) -> dict:
    from weasyprint import HTML

    from portal.extensions import db
    from portal.models import Organization
    from portal.models.invoice import InvoiceDocument
    from portal.services.invoicing import documents, ksef

    seller = db.session.scalar(select(Organization).where(Organization.tax_id == "5270391800"))  # Polbud
    buyer = db.session.scalar(select(Organization).where(Organization.tax_id == "7792433504"))  # Acme
    result: dict = {}
    try:
        for name, lines in INVOICE_SIZES.items():
            invoice = make_invoice(seller, buyer, lines, f"FV/BENCH/{lines:06d}")
            bare, whole = bare_invoice_html(invoice), bare_invoice_document_html(invoice)

            def fresh(invoice=invoice):
                db.session.execute(InvoiceDocument.__table__.delete().where(InvoiceDocument.invoice_id == invoice.id))
                db.session.expire(invoice, ["documents"])

            def issue(invoice=invoice):
                documents.store_documents(invoice)

            def stock_road(invoice=invoice):
                with _weasyprint_road():
                    return documents.render_invoice_pdf(invoice)

            runs = {key: [] for key in ("issue", "render", "stock_road", "xml", "bare", "bare_document")}
            fns = {"issue": issue, "render": lambda invoice=invoice: documents.render_invoice_pdf(invoice),
                   "stock_road": stock_road,
                   "xml": lambda invoice=invoice: ksef.fa3_xml(invoice),
                   "bare": lambda bare=bare: HTML(string=bare).write_pdf(),
                   "bare_document": lambda whole=whole: HTML(string=whole).write_pdf()}
            fresh()
            outputs = {key: fn() for key, fn in fns.items()}  # warm-up
            outputs["issue"] = documents.document(invoice).data  # read back untimed: issuing stores it
            for _ in range(repeats):
                for key, fn in fns.items():
                    if key == "issue":
                        fresh()
                    gc.collect()
                    gc.disable()
                    try:
                        started = time.process_time()
                        fn()
                        runs[key].append((time.process_time() - started) * 1000)
                    finally:
                        gc.enable()
            ms = {key: round(statistics.median(r), 1) for key, r in runs.items()}
            result[f"invoice_{name}"] = {
                "lines": lines, "pages": _pages(outputs["issue"]),
                "issue_cpu_ms": ms["issue"], "render_cpu_ms": ms["render"], "xml_cpu_ms": ms["xml"],
                "stock_road_cpu_ms": ms["stock_road"],
                "bare_cpu_ms": ms["bare"], "ratio": round(ms["issue"] / ms["bare"], 3),
                "bare_document_cpu_ms": ms["bare_document"],
                "ratio_to_bare_document": round(ms["issue"] / ms["bare_document"], 3),
                "content_floor": round(ms["bare_document"] / ms["bare"], 3),
                "pdf_bytes": len(outputs["issue"]),
            }
    finally:
        db.session.rollback()
    return result


def run(app, repeats: int = 5) -> dict:
    """Measure in `app` (its database holds the demo world): see the module's docstring."""
    from weasyprint import HTML

    from portal.extensions import db
    from portal.models import Organization, User
    from portal.services.orders import documents
    from portal.tenancy import system

    result: dict = {"repeats": repeats, "target": f"<= {TARGET}x"}
    with app.app_context(), system(db.session):
        buyer = db.session.scalar(select(Organization).where(Organization.tax_id == "7792433504"))  # Acme
        supplier = db.session.scalar(select(Organization).where(Organization.tax_id == "5270391800"))  # Polbud
        if buyer is None or supplier is None:
            return {"error": "the demo world (Acme, Polbud) is not in this database"}
        actor = db.session.scalar(select(User).where(User.organization_id == buyer.id))
        try:
            for n in SIZES:
                order = make_order(buyer, supplier, n, f"PO/BENCH/{n:05d}")
                html, whole = bare_html(order), bare_document_html(order)
                ms, out = _cpu_ms({
                    "portal": lambda order=order: documents.render_order_pdf(order),
                    "bare": lambda html=html: HTML(string=html).write_pdf(),
                    "bare_document": lambda whole=whole: HTML(string=whole).write_pdf(),
                    "uncached": lambda order=order: _uncached_render(order),
                    "stock_road": lambda order=order: _stock_road_render(order),
                }, repeats)
                result[f"lines_{n}"] = {
                    "portal_cpu_ms": ms["portal"], "bare_cpu_ms": ms["bare"],
                    "ratio": round(ms["portal"] / ms["bare"], 3),
                    "bare_document_cpu_ms": ms["bare_document"],
                    "ratio_to_bare_document": round(ms["portal"] / ms["bare_document"], 3),
                    # What the same texts cost unstyled, against the bare table: in practice
                    # the floor of "ratio" (see the module's docstring).
                    "content_floor": round(ms["bare_document"] / ms["bare"], 3),
                    "uncached_cpu_ms": ms["uncached"], "cache_saves_ms": round(ms["uncached"] - ms["portal"], 1),
                    "stock_road_cpu_ms": ms["stock_road"],
                    "short_road_saves_ms": round(ms["stock_road"] - ms["portal"], 1),
                    "portal_bytes": len(out["portal"]), "bare_bytes": len(out["bare"]),
                }
            stored = documents.store_document(order, actor)
            db.session.commit()
            result["download"] = _download(app, stored.order_id)
            result["invoice"] = run_invoices(repeats)
        finally:
            db.session.rollback()
            with system(db.session):
                from portal.models.order import PurchaseOrder

                for order in db.session.scalars(select(PurchaseOrder).where(PurchaseOrder.number.like("PO/BENCH/%"))):
                    db.session.delete(order)
                db.session.commit()
    return result


def _app():
    from portal import create_app
    from portal.extensions import db

    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tempfile.gettempdir()}/portal-bench-pdf.db"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        from portal.models import Organization
        from portal.services.demo import seed_demo
        from portal.tenancy import system

        db.create_all()
        with system(db.session):
            if db.session.scalar(select(Organization).limit(1)) is None:
                seed_demo(documents=False)
                db.session.commit()
        db.session.remove()
    return app


def save(result: dict) -> None:
    """Put `result` into bench/results/latest.json as `pdf` and recompute the targets."""
    from bench import report

    path = report.RESULTS / "latest.json"
    data = json.loads(path.read_text()) if path.exists() else None
    if data is None:
        print("no bench/results/latest.json to record into", file=sys.stderr)
        return
    data["pdf"] = result
    data["targets"] = report.targets(data)
    report.write(data)


def main(argv: list[str]) -> int:
    logging.getLogger("weasyprint").setLevel(logging.WARNING)
    repeats = next((int(a) for a in argv if a.isdigit()), 5)
    if "--invoices" in argv:  # the invoice part alone (not saved)
        app = _app()
        with app.app_context():
            print(json.dumps(run_invoices(repeats), indent=2))
        return 0
    result = run(_app(), repeats)
    print(json.dumps(result, indent=2))
    if "--save" in argv:
        save(result)
    return 0 if "error" not in result else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
