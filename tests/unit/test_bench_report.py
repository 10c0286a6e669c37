"""The bench's targets are computed from a run's figures (no timing here: a fixed result)."""

from bench import report


def _page(name, kind, ratio, p50, requests=100):
    return {"name": name, "kind": kind, "ratio": ratio, "p50_ms": p50, "requests": requests, "errors": 0}


def _result(**write_path):
    small = {"database": "sqlite", "n": 10_000, "seed_seconds": 3.0, "worker_peak_rss_mib": 120.0,
             "worker_rss_growth_mib": 1.5, "soak_requests": 24_000,
             "pages": [_page("list", "list", 0.7, 10.0), _page("badge", "badge", 2.5, 1.0)]}
    large = {**small, "n": 1_000_000, "seed_seconds": 640.0, "worker_rss_growth_mib": 9.0,
             "pages": [_page("list", "list", 0.5, 14.0), _page("badge", "badge", 2.1, 1.0)]}
    return {"databases": ["sqlite"], "runs": [small, large], "import_portal_seconds": 0.2,
            "write_path": write_path}


def _by_name(targets):
    return {t["name"]: t for t in targets}


def test_ratios_are_judged_at_the_largest_size_and_scale_against_the_smallest():
    found = _by_name(report.targets(_result()))
    assert found["sqlite N=1000000: list throughput vs reference"]["met"] is False
    assert found["sqlite N=1000000: badge throughput vs reference"]["met"] is True
    scale = found["sqlite: list latency N=1000000 / N=10000"]
    assert scale["value"] == 1.4 and scale["met"] is True


def test_generation_time_and_memory_growth_have_targets():
    found = _by_name(report.targets(_result()))
    assert found["sqlite: seed-bench N=1000000 (s)"] == {
        "name": "sqlite: seed-bench N=1000000 (s)", "value": 640.0, "target": "<= 600", "met": False}
    growth = [t for t in found.values() if "memory growth" in t["name"]]
    assert [(t["value"], t["met"]) for t in growth] == [(1.5, True), (9.0, False)]
    assert all("24000 requests" in t["name"] for t in growth)


def test_the_write_path_is_judged_against_tryton_when_it_ran():
    found = _by_name(report.targets(_result(cpu_ms_median=25.0, tryton={"cpu_ms_median": 180.0})))
    share = found["write path: our cycle / Tryton 8.2's comparable cycle (same session)"]
    assert share["value"] == 0.139 and share["met"] is True
    assert found["write path: median CPU per cycle through the services (ms)"]["met"] is False
    skipped = _by_name(report.targets(_result(cpu_ms_median=25.0, tryton={"skipped": "offline"})))
    assert not any("Tryton" in name for name in skipped)


def test_every_bench_page_has_a_known_kind_a_unique_name_and_a_resolvable_path():
    from bench.__main__ import API_TOKENS, LOOKUPS, PAGES, ROLES

    names = [name for name, _, _, _ in PAGES]
    assert len(names) == len(set(names))  # a re-run replaces rows by name
    for name, role, path, kind in PAGES:
        assert kind in {"list", "badge", "page"}, name
        assert role in ROLES or role in API_TOKENS, name
        assert path.startswith("/") or path in LOOKUPS or path in {"@deep", "@timeline", "@budget"}, name
    for pattern, query in LOOKUPS.values():
        assert pattern.count("{}") == 1 and query.lstrip().upper().startswith("SELECT")


def test_a_pages_ratio_is_the_median_of_windows_each_beside_a_reference_window(monkeypatch):
    import bench.__main__ as bench_main

    # The machine slows down by half in the second window: both runs of that window see it,
    # in throughput; the CPU each request costs stays (the reference 2 ms, the page 4 ms).
    speeds = iter([(400, 200), (200, 100), (400, 240)])
    calls = []

    class FakeServer:
        def __init__(self, base, cpu_ms):
            self.base, self.cpu_ms, self.spent = base, cpu_ms, 0.0

        def cpu_seconds(self):
            return self.spent

    reference, portal = FakeServer("http://ref", 2.0), FakeServer("http://portal", 4.0)

    def fake_wrk(url, cookie, duration, **options):
        calls.append((url, duration))
        if url.startswith("http://ref"):
            fake_wrk.pair = next(speeds)
            rps, server = fake_wrk.pair[0], reference
        else:
            rps, server = fake_wrk.pair[1], portal
        server.spent += rps * 2 * server.cpu_ms / 1000
        return {"rps": rps, "p50_ms": 1000 / rps, "p99_ms": 2000 / rps, "requests": rps * 2, "errors": 0}

    monkeypatch.setattr(bench_main, "wrk", fake_wrk)
    reference_rps, result = bench_main.paired(reference, portal, "/page", "6s")
    assert calls == [("http://ref/", "2s"), ("http://portal/page", "2s")] * 3  # interleaved windows
    assert result["ratios"] == [0.5, 0.5, 0.6] and result["ratio"] == 0.5
    assert reference_rps == 400 and result["rps"] == 200 and result["p99_ms"] == 20.0
    assert result["requests"] == 1080
    assert result["cpu_ms"] == 4.0 and result["cpu_ratio"] == 0.5


def test_cpu_time_of_a_process_is_read_from_proc():
    import os

    from bench.serve import database_cpu_seconds, process_cpu_seconds

    assert process_cpu_seconds(os.getpid()) > 0
    assert process_cpu_seconds(2**22 + 12345) == 0.0  # no such process
    assert database_cpu_seconds("sqlite:///x.db") == 0.0
