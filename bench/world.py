"""The generated data sets the bench reuses: SQLite files under instance/bench/, PostgreSQL
databases named bench_<n> on 127.0.0.1:5432. Built once with `flask seed-bench`; a marker file
records that the build finished (and how long it took)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "instance" / "bench"
PG = os.environ.get("BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")


def url_for(database: str, n: int) -> str:
    if database == "sqlite":
        return f"sqlite:///{DATA / f'bench_{n}.sqlite'}"
    return f"{PG}/bench_{n}"


def env_for(url: str) -> dict:
    # The API's per-token rate limit would answer wrk with 429s: the bench measures the lists.
    return {**os.environ, "DATABASE_URL": url, "PORTAL_ENV": "production", "SECRET_KEY": "bench-secret",
            "SESSION_COOKIE_SECURE": "0", "PYTHONPATH": str(ROOT), "API_RATE_LIMIT": "1000000 per minute"}


def _flask(url: str, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "flask", "--app", "portal:create_app", *args],
                   cwd=ROOT, env=env_for(url), check=True, stdout=subprocess.DEVNULL)


def _recreate_pg(n: int) -> None:
    import psycopg

    with psycopg.connect(PG.replace("+psycopg", "") + "/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS bench_{n}")
        conn.execute(f"CREATE DATABASE bench_{n}")


def ensure(database: str, n: int, log=print) -> dict:
    """The data set of `n` requisitions on `database`, generated when missing; returns its URL
    and the seconds its generation took (when it was generated)."""
    DATA.mkdir(parents=True, exist_ok=True)
    marker = DATA / f"bench_{n}.{database}.json"
    url = url_for(database, n)
    if marker.exists() and json.loads(marker.read_text()).get("invoicing"):
        _flask(url, "db", "upgrade")  # a data set outlives schema changes: migrate it like production
        return {**json.loads(marker.read_text()), "url": url, "reused": True}
    log(f"generating {database} N={n} …")
    if database == "sqlite":
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    else:
        _recreate_pg(n)
    _flask(url, "db", "upgrade")
    started = time.perf_counter()
    _flask(url, "seed-bench", "--requisitions", str(n))
    seconds = time.perf_counter() - started
    subprocess.run([sys.executable, "-m", "bench.reference", "--setup"], cwd=ROOT, env=env_for(url), check=True,
                   stdout=subprocess.DEVNULL)
    # "invoicing": built with the invoices (issue 11); older data sets are generated again.
    info = {"database": database, "n": n, "seed_seconds": round(seconds, 1), "invoicing": True}
    marker.write_text(json.dumps(info))
    return {**info, "url": url, "reused": False}
