"""docs/erp_example.py against a real server: two ERPs through the API only, webhooks included.

The server is started as an operator would (`flask db upgrade`, `flask seed-demo`, gunicorn) on
a database of its own: a SQLite file, or, when the suite runs on PostgreSQL (TEST_DATABASE_URL),
a PostgreSQL database beside the suite's (`<name>_erp`, dropped and created again). When a Redis
answers (TEST_REDIS_URL, else 127.0.0.1:6379 database 15: scripts/test and .ci/run start a private
one when there is none) the server runs with REDIS_URL on a queue of this test's own and an RQ
worker (`flask jobs worker`) delivers the webhooks; without Redis they are delivered in-process
after each commit. The example then runs as a subprocess and must exit 0.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url

from tests.e2e import live

ROOT = live.ROOT
EXAMPLE = ROOT / "docs" / "erp_example.py"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"


@contextmanager
def _database(workdir: Path):
    """The server's database URL: a SQLite file, or a fresh PostgreSQL database (dropped after)."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url or not url.startswith("postgresql"):
        yield f"sqlite:///{workdir / 'portal.db'}"
        return
    base = make_url(url)
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    name = f"{base.database}_{worker}_erp" if worker else f"{base.database}_erp"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield base.set(database=name).render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
    finally:
        admin.dispose()


def _redis() -> str | None:
    from redis import Redis
    from redis.exceptions import RedisError

    url = os.environ.get("TEST_REDIS_URL", DEFAULT_REDIS_URL)
    connection = Redis.from_url(url, socket_connect_timeout=1)
    try:
        connection.ping()
    except RedisError:
        return None
    finally:
        connection.close()
    return url


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def _server(workdir: Path):
    """(base URL, whether an RQ worker delivers) of a migrated, seeded portal; stopped after."""
    with _database(workdir) as url, _running(workdir, url) as found:
        yield found


@contextmanager
def _running(workdir: Path, url: str):
    log = workdir / "server.log"
    env = live.server_env(url)
    env.update(WEBHOOK_ALLOW_PRIVATE="true", WEBHOOK_ALLOW_HTTP="true", API_RATE_LIMIT="6000 per minute")
    live.compile_translations()
    live._flask(env, "db", "upgrade", log=log)
    live._flask(env, "seed-demo", log=log)
    redis_url, queue = _redis(), f"portal-erp-{uuid.uuid4().hex[:12]}"
    processes = []
    try:
        if redis_url:
            env.update(REDIS_URL=redis_url, JOBS_QUEUE=queue)
            with log.open("a") as out:
                processes.append(subprocess.Popen(
                    [sys.executable, "-m", "flask", "jobs", "worker", "--simple"],
                    cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT))
        port = live.free_port()
        with log.open("a") as out:
            server = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--workers", "1", "--threads", "4",
                 "--bind", f"127.0.0.1:{port}", "--access-logfile", "-", "--no-control-socket",
                 "portal:create_app()"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        processes.append(server)
        base_url = f"http://127.0.0.1:{port}"
        live._wait_until_up(f"{base_url}/login", server, log)
        yield base_url, redis_url is not None
    finally:
        for process in reversed(processes):
            _stop(process)
        if redis_url:
            from redis import Redis
            from rq import Queue

            connection = Redis.from_url(redis_url)
            Queue(queue, connection=connection).delete(delete_jobs=True)
            connection.close()


@pytest.mark.timeout(180)
def test_two_erps_order_invoice_and_pay_through_the_api(tmp_path):
    with _server(tmp_path) as (base_url, queued):
        result = subprocess.run(
            [sys.executable, str(EXAMPLE), "--base-url", base_url, "--wait", "30"],
            cwd=ROOT, capture_output=True, text=True, timeout=120)
    log = (tmp_path / "server.log").read_text()[-6000:]
    assert result.returncode == 0, (
        f"the example failed (webhooks {'via RQ' if queued else 'in-process'}):\n{result.stdout}\n"
        f"{result.stderr}\n--- server log ---\n{log}")
    if queued:  # the webhooks went through Redis: the RQ worker ran their deliveries
        assert "deliver-outbox" in (tmp_path / "server.log").read_text(), log
    for event in ("order.issued", "order.acknowledged", "goods.received", "invoice.issued",
                  "invoice.approved", "payment.recorded", "invoice.paid"):
        assert f"{event:<20}" in result.stdout and "signature ok" in result.stdout, result.stdout
