"""A real Portal server and a real Chromium, for browser tests and the README screenshot.

The server is started the way an operator would: `flask db upgrade`, `flask seed-demo`, then
gunicorn, in subprocesses, against a throwaway SQLite file and on a free loopback port.
Chromium is Debian's (`shutil.which("chromium")`), driven by Playwright; Playwright's own
browser download is never used.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "portal" / "translations"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def chromium_path() -> str | None:
    return shutil.which("chromium")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(database_url: str) -> dict[str, str]:
    """The environment of the server processes: development settings, cheap password hashes."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FLASK_", "PORTAL_", "ARGON2_", "MAIL_"))
        and key not in {"DATABASE_URL", "SECRET_KEY", "TEST_DATABASE_URL"}
    }
    env.update(
        FLASK_APP="portal:create_app",
        FLASK_SKIP_DOTENV="1",  # a developer's .env must not change what the test sees
        PORTAL_ENV="development",
        DATABASE_URL=database_url,
        SECRET_KEY=secrets.token_hex(16),
        ARGON2_TIME_COST="1",
        ARGON2_MEMORY_COST="8",
        ARGON2_PARALLELISM="1",
        PYTHONUNBUFFERED="1",
    )
    return env


def compile_translations() -> None:
    """Compile .po files whose .mo is missing or older (scripts/setup normally did this)."""
    for po in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            with po.open("rb") as source:
                catalog = read_po(source, locale=po.parent.parent.name)
            with mo.open("wb") as target:
                write_mo(target, catalog, use_fuzzy=False)


def _flask(env: dict, *args: str, log: Path) -> None:
    with log.open("a") as out:
        result = subprocess.run(
            [sys.executable, "-m", "flask", *args], cwd=ROOT, env=env,
            stdout=out, stderr=subprocess.STDOUT, timeout=120,
        )
    if result.returncode != 0:
        raise RuntimeError(f"`flask {' '.join(args)}` failed:\n{log.read_text()[-4000:]}")


def _wait_until_up(url: str, process: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited early:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server did not answer {url} within {timeout} s:\n"
                       f"{log.read_text()[-4000:]}")


@contextmanager
def live_server(workdir: Path):
    """Yield the base URL of a freshly migrated and seeded Portal; stop it afterwards."""
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "server.log"
    env = server_env(f"sqlite:///{workdir / 'portal.db'}")
    compile_translations()
    _flask(env, "db", "upgrade", log=log)
    _flask(env, "seed-demo", log=log)
    port = free_port()
    with log.open("a") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", "1", "--threads", "4",
             "--bind", f"127.0.0.1:{port}", "--access-logfile", "-", "--no-control-socket",
             "portal:create_app()"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(f"{base_url}/login", process, log)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def chromium():
    """Yield a Playwright Browser running Debian's headless Chromium."""
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    if executable is None:
        raise RuntimeError("chromium is not installed (scripts/setup --browser installs it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


def sign_in(page, base_url: str, email: str, password: str = "portal-demo-2026") -> None:
    """Sign in through the real form and wait for the dashboard."""
    page.goto(f"{base_url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("form[action$='/login'] button[type=submit]")
    page.wait_for_url(f"{base_url}/")
