"""Targets (every one a ratio against the reference measured in the same run, or an absolute
bound) and the reports: bench/results/latest.json and latest.md."""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
LIST_RATIO, BADGE_RATIO, SCALE, RSS_MIB, IMPORT_S, WRITE_MS = 0.6, 2.0, 1.5, 200, 1.0, 10.0
# Resident memory a worker may gain over the run's requests (at least 20 000; allocator noise),
# the largest data set's generation time, and the write path against Tryton's comparable cycle.
RSS_GROWTH_MIB, SOAK_REQUESTS, SEED_S, SEED_N, TRYTON_SHARE = 8.0, 20_000, 600, 1_000_000, 1 / 6
# The PO PDF's CPU against a bare WeasyPrint render of the same lines (bench/pdf.py).
PDF_RATIO = 1.2


def _target(name, value, target, met) -> dict:
    return {"name": name, "value": value, "target": target, "met": met}


def targets(result: dict) -> list[dict]:
    out = []
    runs = result["runs"]
    for database in result["databases"]:
        mine = sorted((r for r in runs if r["database"] == database), key=lambda r: r["n"])
        if not mine:
            continue
        largest, smallest = mine[-1], mine[0]
        for page in largest["pages"]:
            if "error" in page or page["kind"] == "page":
                continue
            if not page["requests"]:  # not one answer within the duration
                page["ratio"] = 0.0
            bound = BADGE_RATIO if page["kind"] == "badge" else LIST_RATIO
            out.append(_target(f"{database} N={largest['n']}: {page['name']} throughput vs reference",
                               page["ratio"], f">= {bound}x", page["ratio"] >= bound and page["errors"] == 0))
        if largest is not smallest:
            before = {p["name"]: p for p in smallest["pages"] if "error" not in p}
            for page in largest["pages"]:
                if "error" in page or page["kind"] != "list" or page["name"] not in before:
                    continue
                name = f"{database}: {page['name']} latency N={largest['n']} / N={smallest['n']}"
                if not page["requests"] or not before[page["name"]]["requests"]:
                    out.append(_target(name + " (no request finished within the duration)", None,
                                       f"<= {SCALE}x", False))
                    continue
                scale = round(page["p50_ms"] / max(before[page["name"]]["p50_ms"], 0.001), 2)
                out.append(_target(name, scale, f"<= {SCALE}x (target is 1M / 10k)", scale <= SCALE))
    for run in runs:
        if run["n"] >= SEED_N and run.get("seed_seconds") is not None:
            out.append(_target(f"{run['database']}: seed-bench N={run['n']} (s)", run["seed_seconds"],
                               f"<= {SEED_S}", run["seed_seconds"] <= SEED_S))
        if run.get("worker_rss_growth_mib") is not None:
            out.append(_target(f"{run['database']} N={run['n']}: worker memory growth over "
                               f"{run['soak_requests']} requests once warm (MiB)", run["worker_rss_growth_mib"],
                               f"<= {RSS_GROWTH_MIB} over >= {SOAK_REQUESTS}",
                               run["worker_rss_growth_mib"] <= RSS_GROWTH_MIB
                               and run.get("soak_requests", 0) >= SOAK_REQUESTS))
    rss = max((r["worker_peak_rss_mib"] for r in runs), default=None)
    out.append(_target("gunicorn worker peak RSS (MiB, VmHWM)", rss, f"<= {RSS_MIB}",
                       rss is not None and rss <= RSS_MIB))
    out.append(_target("import portal (s)", result["import_portal_seconds"], f"< {IMPORT_S}",
                       result["import_portal_seconds"] < IMPORT_S))
    wp = result.get("write_path") or {}
    cpu = next((wp[k] for k in ("cpu_ms_median", "median_cpu_ms", "cpu_ms") if k in wp), None)
    out.append(_target("write path: median CPU per cycle through the services (ms)", cpu, f"<= {WRITE_MS}",
                       None if cpu is None else cpu <= WRITE_MS))
    tryton = (wp.get("tryton") or {}).get("cpu_ms_median")
    if cpu is not None and tryton:
        out.append(_target("write path: our cycle / Tryton 8.2's comparable cycle (same session)",
                           round(cpu / tryton, 3), f"<= {TRYTON_SHARE:.3f} (1/6)", cpu / tryton <= TRYTON_SHARE))
    pdf = result.get("pdf") or {}
    for key in sorted((k for k in pdf if k.startswith("lines_")), key=lambda k: int(k.split("_")[1])):
        row = pdf[key]
        out.append(_target(f"PO PDF, {key.split('_')[1]} lines: CPU vs a bare WeasyPrint render of the same lines",
                           row["ratio"], f"<= {PDF_RATIO}x", row["ratio"] <= PDF_RATIO))
    invoice = (pdf.get("invoice") or {}).get("invoice_1_page")
    if invoice:
        out.append(_target("Invoice, one page: issue (render + store) CPU vs a bare WeasyPrint render of its lines",
                           invoice["ratio"], f"<= {PDF_RATIO}x", invoice["ratio"] <= PDF_RATIO))
    return out


def _cpu(page: dict) -> str:
    """The page's CPU per request (its workers' and the database server's) and the reference's
    over it: "8.1 (0.42×)"; "–" for runs before it was measured."""
    if page.get("cpu_ms") is None:
        return "–"
    ratio = page.get("cpu_ratio")
    return f"{page['cpu_ms']:.2f}" + (f" ({ratio:.2f}×)" if ratio is not None else "")


def _interleaving(run: dict) -> str:
    rounds = run.get("rounds", 1)
    if rounds == 1:
        return "reference page interleaved before each page"
    return (f"each page in {rounds} windows, each after a window of the reference page, its ratio the median "
            "of the windows' ratios")


def markdown(result: dict) -> str:
    m = result["machine"]
    lines = [
        f"Run {result['when']} on {m['cpu']} ({m['cores']} cores, {m['memory']}), {m['system']}, "
        f"Python {m['python']}; gunicorn 2 sync workers, wrk 1 thread 2 connections, {result['duration']} per page, "
        f"{_interleaving(result)}. Sizes: {', '.join(map(str, result['sizes']))} on "
        f"{', '.join(result['databases'])}. Took {result['seconds']} s.",
        "",
        "| database | N | page | req/s | p50 ms | p99 ms | vs reference | CPU ms/request (vs reference) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in result["runs"]:
        for page in run["pages"]:
            if "error" in page:
                lines.append(f"| {run['database']} | {run['n']} | {page['name']} | – | – | – | {page['error']} | – |")
                continue
            if not page["requests"]:
                lines.append(f"| {run['database']} | {run['n']} | {page['name']} | 0 | > {result['duration']} | – | "
                             "0× (no answer within the duration) | – |")
                continue
            lines.append(f"| {run['database']} | {run['n']} | {page['name']} | {page['rps']:.1f} | "
                         f"{page['p50_ms']:.1f} | {page['p99_ms']:.1f} | {page['ratio']:.2f}× | {_cpu(page)} |")
    for again in result.get("reruns", []):
        lines += ["", f"Measured again {again['when']} (after a fix, {again['duration']} per page, "
                      f"{_interleaving(again)}): {', '.join(again['pages'])}."]
    lines += ["", "| target | value | bound | met |", "|---|---|---|---|"]
    for t in result["targets"]:
        met = {True: "yes", False: "**no**", None: "not measured"}[t["met"]]
        lines.append(f"| {t['name']} | {t['value']} | {t['target']} | {met} |")
    seeds = [f"{r['database']} N={r['n']}: {r['seed_seconds']} s" for r in result["runs"]
             if r.get("seed_seconds") is not None]
    if seeds:
        lines += ["", "Data generation (`flask seed-bench`): " + "; ".join(seeds) + "."]
    wp = result.get("write_path") or {}
    if "error" in wp:
        lines += ["", f"Write path not measured: {wp['error']}"]
    elif wp:
        lines += ["", "Write path: " + ", ".join(f"{k} = {v}" for k, v in wp.items())]
    pdf = result.get("pdf") or {}
    if "error" in pdf:
        lines += ["", f"PO PDF not measured: {pdf['error']}"]
    elif pdf:
        lines += ["", "PO PDF (CPU ms, median): " + "; ".join(
            f"{k}: {', '.join(f'{name} = {value}' for name, value in v.items())}" if isinstance(v, dict)
            else f"{k} = {v}" for k, v in pdf.items())]
    return "\n".join(lines) + "\n"


START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def write(result: dict, readme: bool = False) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    table = markdown(result)
    (RESULTS / "latest.md").write_text(table)
    path = RESULTS.parent.parent / "README.md"
    text = path.read_text()
    if readme and START in text and END in text:
        head, _, rest = text.partition(START)
        path.write_text(head + START + "\n" + table + rest[rest.index(END):])


if __name__ == "__main__":
    # Rebuild the targets, latest.md and the README table from latest.json.
    import sys

    data = json.loads((RESULTS / "latest.json").read_text())
    data["targets"] = targets(data)
    write(data, readme="--readme" in sys.argv)
