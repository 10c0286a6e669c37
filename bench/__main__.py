"""`python -m bench [--sizes 10000,100000] [--databases sqlite,postgresql] [--duration 10s]`:
see README.md, section Performance. Writes bench/results/latest.json and latest.md."""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import platform
import re
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime

from sqlalchemy import create_engine, text

from bench import report
from bench.serve import ApiCaller, Browser, Server, database_cpu_seconds, next_link, wrk
from bench.world import ROOT, ensure, url_for

PASSWORD = "portal-demo-2026"
ROLES = {"admin": "admin@acme.example", "buyer": "buyer@acme.example", "approver": "approver@acme.example",
         "cfo": "cfo@acme.example", "supplier": "sales@nordwind.example"}
# The REST API's callers: a token (every scope) acting as the company's admin or the supplier's
# salesperson, made in the data set at the start of a run (fixed secrets: a throwaway database).
API_TOKENS = {"api-admin": (ROLES["admin"], "pt_bench_acme_admin_00000000000000000000000"),
              "api-supplier": (ROLES["supplier"], "pt_bench_nordwind_sales_0000000000000000000")}
DEEP_HOPS = 20
# Each page's --duration is split into this many windows, each after a window of the reference
# (`paired`): the ratio is the median of the windows' ratios.
ROUNDS = 3
# Memory: the workers' resident memory may not grow over this many requests (after warm-up).
SOAK_REQUESTS = report.SOAK_REQUESTS
SOAK_SECONDS = 600
# (name, role, path or a resolver key, kind): kind "list" (list pages and dashboards: >= 0.6x the
# reference, scale <= 1.5x), "badge" (>= 2x), "page" (measured, no ratio target).
PAGES = [
    ("requisitions: own (buyer)", "buyer", "/requisitions/", "list"),
    ("requisitions: all (admin)", "admin", "/requisitions/all", "list"),
    ("requisitions: pending (admin)", "admin", "/requisitions/all?status=pending", "list"),
    ("requisitions: deep page (admin)", "admin", "@deep", "list"),
    ("requisitions: search (admin)", "admin", "/requisitions/all?q=Furniture", "list"),
    ("approver inbox", "approver", "/approvals/", "list"),
    ("dashboard (buyer)", "buyer", "/", "list"),
    ("dashboard (approver)", "approver", "/", "list"),
    ("dashboard (admin)", "admin", "/", "list"),
    ("notifications badge", "approver", "/notifications/badge", "badge"),
    ("approvals badge", "approver", "/approvals/badge", "badge"),
    ("requisition detail, long timeline", "admin", "@timeline", "page"),
    ("budgets", "admin", "/budgets/", "list"),
    ("budget detail", "admin", "@budget", "page"),
    ("audit log", "admin", "/admin/audit", "list"),
    ("catalog", "buyer", "/catalog/", "list"),
    ("catalog: all items (admin)", "admin", "/catalog/?status=all", "list"),
    ("suppliers", "admin", "/suppliers/", "list"),
    ("supplier invitations", "admin", "/suppliers/invitations", "list"),
    ("notifications", "approver", "/notifications/", "list"),
    ("supplier: customers", "supplier", "/supplier/customers", "list"),
    # Sourcing (issue 10): lists, the comparison matrix of a decided RFQ with three quotes, and
    # the PO PDF as downloaded (served from storage, never rendered on request).
    ("price agreements (admin)", "admin", "/agreements/", "list"),
    ("price-list proposals: open (admin)", "admin", "/agreements/proposals", "list"),
    ("price-list proposals: all (admin)", "admin", "/agreements/proposals?status=all", "list"),
    ("rfqs: all (buyer)", "buyer", "/rfqs/", "list"),
    ("rfqs: open (buyer)", "buyer", "/rfqs/?view=open", "list"),
    ("supplier: rfqs", "supplier", "/supplier/rfqs", "list"),
    ("orders: all (buyer)", "buyer", "/orders/", "list"),
    ("orders: to receive (buyer)", "buyer", "/orders/?view=to_receive", "list"),
    ("supplier: orders", "supplier", "/supplier/orders", "list"),
    ("rfq comparison matrix", "buyer", "@compare", "page"),
    ("PO PDF download (buyer)", "buyer", "@po_pdf", "page"),
    ("PO PDF download (supplier)", "supplier", "@supplier_po_pdf", "page"),
    # Invoicing (issue 11): the buyer's and the supplier's lists (a status tab, the derived
    # overdue tab, everything), aging per counterparty and a statement of account.
    ("invoices: to approve (admin)", "admin", "/invoices/", "list"),
    ("invoices: overdue (admin)", "admin", "/invoices/?tab=overdue", "list"),
    ("invoices: all (admin)", "admin", "/invoices/?tab=all", "list"),
    ("invoices: aging (admin)", "admin", "/invoices/aging", "list"),
    ("invoices: statement (admin)", "admin", "@statement", "page"),
    ("supplier: invoices", "supplier", "/supplier/invoices?tab=issued", "list"),
    ("supplier: invoices, all", "supplier", "/supplier/invoices?tab=all", "list"),
    ("supplier: invoice aging", "supplier", "/supplier/invoices/aging", "list"),
    ("supplier: statement", "supplier", "@supplier_statement", "page"),
    # One invoice each side (its lines, payments and credit note), the supplier's draft editor
    # and the new-invoice picker (the customers, then one customer's invoiceable orders).
    ("invoice detail (admin)", "admin", "@invoice", "page"),
    ("supplier: invoice detail", "supplier", "@supplier_invoice", "page"),
    ("supplier: invoice draft editor", "supplier", "@supplier_draft", "page"),
    ("supplier: new invoice, customers", "supplier", "/supplier/invoices/new", "page"),
    ("supplier: new invoice, a customer's orders", "supplier", "@supplier_new_invoice", "page"),
    # Administration: the company profile form, and the integration pages (issue 12).
    ("company profile (admin)", "admin", "/admin/organization", "page"),
    ("api tokens (admin)", "admin", "/admin/api-tokens", "list"),
    ("webhooks (admin)", "admin", "/admin/webhooks", "list"),
    ("webhook endpoint detail (admin)", "admin", "@webhook", "page"),
    ("api reference docs", "admin", "/api/v1/docs", "page"),
    # The REST API (issue 12): the first page (50 rows, the sync order: oldest change first) of
    # each list an ERP pulls, with `Authorization: Bearer`.
    ("api: requisitions", "api-admin", "/api/v1/requisitions", "list"),
    ("api: orders", "api-admin", "/api/v1/orders", "list"),
    ("api: invoices", "api-admin", "/api/v1/invoices", "list"),
    ("api: rfqs", "api-admin", "/api/v1/rfqs", "list"),
    ("api: catalog items", "api-admin", "/api/v1/catalog/items", "list"),
    ("api: supplier orders", "api-supplier", "/api/v1/orders", "list"),
    ("api: supplier invoices", "api-supplier", "/api/v1/invoices", "list"),
]
# The large company of the data sets (services.bench_seed).
COMPANY = "Acme Manufacturing"
# An issued invoice of the company with payments (of the bench supplier: _OF_SUPPLIER).
_INVOICE = ("SELECT i.id FROM invoices i JOIN organizations o ON o.id = i.organization_id{supplier} "
            "WHERE o.name = :company AND i.kind = 'invoice' AND i.status <> 'draft' "
            "AND EXISTS (SELECT 1 FROM payments p WHERE p.invoice_id = i.id) "
            "ORDER BY CASE WHEN EXISTS (SELECT 1 FROM invoices c WHERE c.corrects_id = i.id) THEN 0 ELSE 1 END, "
            "(SELECT count(*) FROM invoice_lines l WHERE l.invoice_id = i.id) DESC, i.id DESC LIMIT 1")
_OF_SUPPLIER = " JOIN users u ON u.organization_id = i.supplier_id AND u.email = :supplier"
# Resolver keys answered by one query on the data set: the path of what it finds.
LOOKUPS = {
    # A decided RFQ (awarded, or closed with its prices open) with exactly three quotes.
    "@compare": ("/rfqs/{}/compare",
                 "SELECT r.id FROM rfqs r JOIN organizations o ON o.id = r.organization_id "
                 "WHERE o.name = :company AND r.status IN ('awarded', 'closed') "
                 "AND (NOT r.sealed OR r.opened_at IS NOT NULL) AND (SELECT count(*) FROM quotes q "
                 "WHERE q.rfq_id = r.id AND q.status IN ('submitted', 'awarded', 'lost')) = 3 "
                 "ORDER BY r.id DESC LIMIT 1"),
    # A stored order PDF of the company (the demo's orders, or those seed-bench stored: Nordwind's first).
    "@po_pdf": ("/orders/{}/pdf",
                "SELECT d.order_id FROM purchase_order_documents d JOIN purchase_orders p ON p.id = d.order_id "
                "JOIN organizations o ON o.id = p.organization_id WHERE o.name = :company ORDER BY d.id LIMIT 1"),
    "@supplier_po_pdf": ("/supplier/orders/{}/pdf",
                         "SELECT d.order_id FROM purchase_order_documents d "
                         "JOIN purchase_orders p ON p.id = d.order_id "
                         "JOIN users u ON u.organization_id = p.supplier_id "
                         "JOIN organizations o ON o.id = p.organization_id "
                         "WHERE o.name = :company AND u.email = :supplier ORDER BY d.id LIMIT 1"),
    # The company's link with the bench supplier (Nordwind): its statement of account.
    "@statement": ("/invoices/statements/{}",
                   "SELECT l.id FROM supplier_links l JOIN organizations o ON o.id = l.organization_id "
                   "JOIN users u ON u.organization_id = l.supplier_id "
                   "WHERE o.name = :company AND u.email = :supplier ORDER BY l.id LIMIT 1"),
    "@supplier_statement": ("/supplier/statements/{}",
                            "SELECT l.id FROM supplier_links l JOIN organizations o ON o.id = l.organization_id "
                            "JOIN users u ON u.organization_id = l.supplier_id "
                            "WHERE o.name = :company AND u.email = :supplier ORDER BY l.id LIMIT 1"),
    # The company's issued invoice with payments and the most lines; one with a credit note first
    # (the data sets' credited invoices were credited whole, unpaid: none has both so far).
    "@invoice": ("/invoices/{}", _INVOICE.format(supplier="")),
    "@supplier_invoice": ("/supplier/invoices/{}", _INVOICE.format(supplier=_OF_SUPPLIER)),
    # Nordwind's draft for the company with the most lines.
    "@supplier_draft": ("/supplier/invoices/{}",
                        "SELECT i.id FROM invoices i JOIN organizations o ON o.id = i.organization_id "
                        "JOIN users u ON u.organization_id = i.supplier_id WHERE o.name = :company "
                        "AND u.email = :supplier AND i.status = 'draft' "
                        "ORDER BY (SELECT count(*) FROM invoice_lines l WHERE l.invoice_id = i.id) DESC, i.id DESC "
                        "LIMIT 1"),
    "@supplier_new_invoice": ("/supplier/invoices/new?customer={}",
                              "SELECT l.id FROM supplier_links l JOIN organizations o ON o.id = l.organization_id "
                              "JOIN users u ON u.organization_id = l.supplier_id "
                              "WHERE o.name = :company AND u.email = :supplier ORDER BY l.id LIMIT 1"),
    # The company's webhook endpoint with the most deliveries (the demo's, at least: ensured).
    "@webhook": ("/admin/webhooks/{}",
                 "SELECT e.id FROM webhook_endpoints e JOIN organizations o ON o.id = e.organization_id "
                 "WHERE o.name = :company ORDER BY (SELECT count(*) FROM webhook_deliveries d "
                 "WHERE d.endpoint_id = e.id) DESC, e.id LIMIT 1"),
}


def log(*args) -> None:
    print(*args, file=sys.stderr, flush=True)


def import_time() -> float:
    code = "import time; t = time.perf_counter(); import portal; print(time.perf_counter() - t)"
    runs = [float(subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                                 check=True).stdout) for _ in range(3)]
    return min(runs)


def resolve(path: str, browser: Browser, url: str) -> str | None:
    if path == "@deep":
        current = "/requisitions/all"
        for _ in range(DEEP_HOPS):
            status, html = browser.get(current)
            found = next_link(html) if status == 200 else None
            if not found:
                break
            current = found
        return current
    if path == "@timeline":
        engine = create_engine(url)
        with engine.connect() as conn:
            found = conn.execute(text("SELECT id FROM requisitions WHERE title = 'Bench: long timeline'")).scalar()
        engine.dispose()
        return f"/requisitions/{found}" if found else None
    if path in LOOKUPS:
        pattern, query = LOOKUPS[path]
        engine = create_engine(url)
        with engine.connect() as conn:
            found = conn.execute(text(query), {"company": COMPANY, "supplier": ROLES["supplier"]}).scalar()
        engine.dispose()
        return pattern.format(found) if found else None
    if path == "@budget":  # the longest ledger (the list's first budget may be a month's)
        engine = create_engine(url)
        with engine.connect() as conn:
            found = conn.execute(text("SELECT budget_id FROM budget_entries GROUP BY budget_id "
                                      "ORDER BY count(*) DESC, budget_id LIMIT 1")).scalar()
        engine.dispose()
        return f"/budgets/{found}" if found else None
    return path


def api_tokens(url: str) -> dict[str, str]:
    """The API callers' tokens (API_TOKENS), issued in the data set when missing."""
    from portal import create_app
    from portal.domain.api_scopes import ALL_SCOPES
    from portal.extensions import db
    from portal.models import User
    from portal.services.integration import tokens
    from portal.tenancy import ALL_TENANTS, system

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context(), system(db.session):
        for email, raw in API_TOKENS.values():
            if tokens.find(db.session, raw) is None:
                user = db.session.scalars(db.select(User).where(User.email == email)
                                          .execution_options(**ALL_TENANTS)).one()
                tokens.issue_token(user, name="Bench", scopes=list(ALL_SCOPES), user=user, secret=raw)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return {role: raw for role, (_, raw) in API_TOKENS.items()}


def webhook_endpoint(url: str) -> None:
    """The company's webhook endpoint with its deliveries (the demo's, services.demo_integration),
    made in the data set when it has none (a data set seeded before the endpoints existed)."""
    from portal import create_app
    from portal.extensions import db
    from portal.models import Organization, User
    from portal.models.integration import WebhookEndpoint
    from portal.services.demo_integration import DEMO_TOKENS, seed_integration
    from portal.tenancy import ALL_TENANTS, system

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context(), system(db.session):
        acme = db.session.scalars(db.select(Organization).where(Organization.name == COMPANY)
                                  .execution_options(**ALL_TENANTS)).one()
        known = db.session.scalar(db.select(WebhookEndpoint.id).where(WebhookEndpoint.organization_id == acme.id)
                                  .limit(1).execution_options(**ALL_TENANTS))
        if known is None:
            emails = [email for _, _, email, _ in DEMO_TOKENS]
            users = db.session.scalars(db.select(User).where(User.email.in_(emails))
                                       .execution_options(**ALL_TENANTS)).all()
            seed_integration({"orgs": {"acme": acme}, "users": {user.email: user for user in users}})
            db.session.commit()
        db.session.remove()
        db.engine.dispose()


def measure(database: str, n: int, duration: str, soak: bool = True, pages: list | None = None) -> dict:
    data = ensure(database, n, log=log)
    url = data["url"]
    log(f"{database} N={n}: serving ({'reused' if data['reused'] else 'generated'} data set)")
    chosen = pages or PAGES
    raw_tokens = api_tokens(url) if any(role in API_TOKENS for _, role, _, _ in chosen) else {}
    if any(path == "@webhook" for _, _, path, _ in chosen):
        webhook_endpoint(url)
    portal, reference = Server("portal:create_app()", url), Server("bench.reference:create_app()", url)
    try:
        browsers = {role: Browser(portal.base, email, PASSWORD) for role, email in ROLES.items()}
        browsers.update({role: ApiCaller(portal.base, raw) for role, raw in raw_tokens.items()})
        refs, results = [], []
        for name, role, path, kind in chosen:
            browser = browsers[role]
            target = resolve(path, browser, url)
            if target is None:
                results.append({"name": name, "kind": kind, "error": "no such page in this data set"})
                continue
            status, _ = browser.get(target)  # warm-up, and the status the run expects
            reference_rps, result = paired(reference, portal, target, duration,
                                           database_cpu=functools.partial(database_cpu_seconds, url),
                                           revalidate=kind == "badge", header=browser.header)
            refs.append(reference_rps)
            result.update(name=name, kind=kind, path=target, role=role, status=status, reference_rps=reference_rps)
            log(f"  {name:<40} {result['rps']:8.1f} req/s  p50 {result['p50_ms']:8.1f} ms  "
                f"ratio {result['ratio']} {result['ratios']}  CPU {result['cpu_ms']} ms/request, "
                f"{result['cpu_ratio']}x the reference's  (reference {reference_rps:.0f} req/s, status {status})")
            results.append(result)
        served = sum(page.get("requests", 0) for page in results)
        growth, topped = None, 0
        if soak:
            baseline = portal.rss_mib()
            topped = _soak(portal, browsers, results)
            after = portal.rss_mib()
            growth = max((after[pid] - baseline[pid] for pid in after if pid in baseline), default=None)
        return {"database": database, "n": n, "seed_seconds": data.get("seed_seconds"), "reused": data["reused"],
                "requests_served": served, "soak_requests": topped,
                "worker_rss_growth_mib": None if growth is None else round(growth, 1),
                "reference_rps_median": statistics.median(refs) if refs else None, "pages": results,
                "worker_peak_rss_mib": round(portal.peak_rss_mib(), 1),
                "reference_worker_peak_rss_mib": round(reference.peak_rss_mib(), 1)}
    finally:
        portal.stop()
        reference.stop()


def paired(reference: Server, portal: Server, path: str, duration: str, rounds: int = ROUNDS,
           database_cpu=lambda: 0.0, **options) -> tuple[float, dict]:
    """The reference's throughput and the page's `wrk` result over `duration`, measured as
    `rounds` windows of the page, each right after a window of the reference: the page's
    `ratio` is the median of the windows' ratios (`ratios`), its req/s and p50 the median of
    its windows', its p99 the worst. On a shared machine the speed of both moved by up to 2x
    between two windows a few seconds apart; a single pair was one draw of that noise.

    Each window also counts the CPU its server's workers and the database server
    (`database_cpu`) spent per request: `cpu_ms` (the page's, median) and `cpu_ratio` (the
    reference's CPU per request over the page's, median of the windows), which time stolen
    by the machine's neighbours does not move as it moves throughput."""
    seconds = float(re.fullmatch(r"(\d+(?:\.\d+)?)s?", duration).group(1))
    window = f"{max(1, round(seconds / rounds))}s"

    def run(server: Server, url: str, **wrk_options) -> dict:
        before = server.cpu_seconds() + database_cpu()
        result = wrk(url, None, window, **wrk_options)
        spent = server.cpu_seconds() + database_cpu() - before
        result["cpu_ms"] = round(spent * 1000 / result["requests"], 3) if result["requests"] else None
        return result

    pairs = [(run(reference, reference.base + "/"), run(portal, portal.base + path, **options))
             for _ in range(rounds)]
    ratios = [round(page["rps"] / ref["rps"], 3) for ref, page in pairs if ref["rps"]]
    cpu_ratios = [round(ref["cpu_ms"] / page["cpu_ms"], 3) for ref, page in pairs
                  if ref["cpu_ms"] and page["cpu_ms"]]
    pages = [page for _, page in pairs]
    cpu = [p["cpu_ms"] for p in pages if p["cpu_ms"] is not None]
    result = {"rps": round(statistics.median(p["rps"] for p in pages), 1),
              "p50_ms": round(statistics.median(p["p50_ms"] for p in pages), 2),
              "p99_ms": max(p["p99_ms"] for p in pages), "requests": sum(p["requests"] for p in pages),
              "errors": sum(p["errors"] for p in pages),
              "ratio": statistics.median(ratios) if ratios else None, "ratios": ratios,
              "cpu_ms": round(statistics.median(cpu), 2) if cpu else None,
              "cpu_ratio": statistics.median(cpu_ratios) if cpu_ratios else None}
    return statistics.median(ref["rps"] for ref, _ in pairs), result


def _soak(portal: Server, browsers: dict, pages: list[dict]) -> int:
    """`SOAK_REQUESTS` more requests after every page was served (warm: templates compiled,
    caches filled), round-robin over the list pages as their own users, so the memory figure
    compares a warm worker with the same worker 20 000 requests later."""
    lists = [(p["path"], p["role"]) for p in pages if p.get("kind") == "list" and p.get("path")]
    served, deadline = 0, time.monotonic() + SOAK_SECONDS
    log(f"  soak: {SOAK_REQUESTS} requests over {len(lists)} list pages")
    while lists and served < SOAK_REQUESTS and time.monotonic() < deadline:
        for path, role in lists:
            served += wrk(portal.base + path, None, "2s", header=browsers[role].header)["requests"]
            if served >= SOAK_REQUESTS:
                break
    return served


def write_path(url: str, cycles: int) -> dict:
    try:
        from bench import write_path as module  # helper N's benchmark (part 4), when present
    except ImportError as exc:
        return {"error": f"bench/write_path.py not available: {exc}"}
    try:
        from portal import create_app

        app = create_app({"SQLALCHEMY_DATABASE_URI": url})
        return module.run(app, cycles)
    except Exception as exc:  # noqa: BLE001 - recorded as not measured
        return {"error": f"{type(exc).__name__}: {exc}"}


def po_pdf(url: str) -> dict:
    """The PO PDF against a bare WeasyPrint render of the same lines (bench/pdf.py)."""
    try:
        from bench import pdf as module
        from portal import create_app

        return module.run(create_app({"SQLALCHEMY_DATABASE_URI": url}))
    except Exception as exc:  # noqa: BLE001 - recorded as not measured
        return {"error": f"{type(exc).__name__}: {exc}"}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--duration", default="5s", help="wrk duration per page (and per reference run)")
    parser.add_argument("--cycles", type=int, default=50, help="write-path cycles")
    parser.add_argument("--no-write-path", action="store_true")
    parser.add_argument("--no-pdf", action="store_true", help="skip the PO PDF benchmark (bench/pdf.py)")
    parser.add_argument("--no-tryton", action="store_true",
                        help="skip the Tryton 8.2 comparison cycle (installed from PyPI into /tmp/bench-tryton)")
    parser.add_argument("--readme", action="store_true", help="put the table into README.md (Performance)")
    parser.add_argument("--pages", default="",
                        help="re-measure only the pages whose names contain one of these comma-separated "
                             "words, and put them into the last full run's results (no soak, no write path)")
    args = parser.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    if args.pages:
        return rerun(args, sizes, databases)
    started = time.perf_counter()
    # The memory soak (>= 20 000 requests per worker pair) runs at each database's largest size.
    runs = [measure(database, n, args.duration, soak=n == max(sizes)) for database in databases for n in sizes]
    wp = {} if args.no_write_path else write_path(url_for(databases[0], min(sizes)), args.cycles)
    if wp and "error" not in wp and not args.no_tryton:
        from bench import tryton_cycle

        log("write path: the comparable Tryton 8.2 cycle …")
        wp["tryton"] = tryton_cycle.run(min(args.cycles, 30))
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(), "sizes": sizes, "databases": databases, "duration": args.duration, "rounds": ROUNDS,
        "import_portal_seconds": round(import_time(), 3), "runs": runs, "write_path": wp,
        "pdf": {} if args.no_pdf else po_pdf(url_for(databases[0], min(sizes))),
        "seconds": round(time.perf_counter() - started, 1),
    }
    result["targets"] = report.targets(result)
    report.write(result, readme=args.readme)
    met = sum(t["met"] is True for t in result["targets"])
    log(f"{met}/{len(result['targets'])} targets met; bench/results/latest.md")
    return 0


def rerun(args, sizes: list[int], databases: list[str]) -> int:
    """Measure some pages again (after a fix) and replace their rows in latest.json, which
    records the re-run: the reference page is measured beside each page as in a full run."""
    words = [w.strip() for w in args.pages.split(",") if w.strip()]
    chosen = [page for page in PAGES if any(w in page[0] for w in words)]
    if not chosen:
        log(f"no page matches {words}")
        return 2
    previous = json.loads((report.RESULTS / "latest.json").read_text())
    by_key = {(r["database"], r["n"]): r for r in previous["runs"]}
    for database in databases:
        for n in sizes:
            fresh = measure(database, n, args.duration, soak=False, pages=chosen)
            run = by_key.get((database, n))
            if run is None:
                log(f"{database} N={n} is not in the last full run: not recorded")
                continue
            replaced = {p["name"]: p for p in fresh["pages"]}
            known = {p["name"] for p in run["pages"]}
            # Pages measured before keep their place; pages new since the last full run join it.
            run["pages"] = [replaced.get(p["name"], p) for p in run["pages"]] + [
                p for p in fresh["pages"] if p["name"] not in known]
    previous.setdefault("reruns", []).append({
        "when": datetime.now(UTC).isoformat(timespec="seconds"), "pages": [p[0] for p in chosen],
        "sizes": sizes, "databases": databases, "duration": args.duration, "rounds": ROUNDS})
    previous["targets"] = report.targets(previous)
    report.write(previous, readme=args.readme)
    met = sum(t["met"] is True for t in previous["targets"])
    log(f"{met}/{len(previous['targets'])} targets met; bench/results/latest.md")
    return 0


def machine() -> dict:
    import os

    cpu = ""
    try:
        for line in open("/proc/cpuinfo"):  # noqa: SIM115
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    with contextlib.suppress(OSError):
        mem = f"{int(open('/proc/meminfo').readline().split()[1]) // 1024} MiB"  # noqa: SIM115
    return {"cpu": cpu, "cores": os.cpu_count(), "memory": mem, "python": platform.python_version(),
            "system": f"{platform.system()} {platform.release()}"}


if __name__ == "__main__":
    sys.exit(main())
