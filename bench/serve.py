"""Gunicorn servers (2 sync workers on 127.0.0.1), signing in, wrk runs and worker memory."""

from __future__ import annotations

import atexit
import functools
import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

from bench.world import ROOT, env_for

WORKERS = 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, app: str, url: str):
        self.port = free_port()
        gunicorn = str(Path(sys.executable).parent / "gunicorn")
        self.proc = subprocess.Popen(
            [gunicorn, "-w", str(WORKERS), "-k", "sync", "-b", f"127.0.0.1:{self.port}", "--timeout", "120",
             "--log-level", "warning", app],
            cwd=ROOT, env=env_for(url), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.base + "/", timeout=5)  # noqa: S310
                return
            except urllib.error.HTTPError:
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"gunicorn {app} exited: {self.proc.stderr.read().decode()[-2000:]}") from None
                time.sleep(0.3)
        raise RuntimeError(f"gunicorn {app} did not start")

    def workers(self) -> list[int]:
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        except OSError:
            return []
        return [int(c) for c in children]

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the workers have used so far."""
        return sum(process_cpu_seconds(pid) for pid in self.workers())

    def peak_rss_mib(self) -> float:
        peaks = []
        for pid in self.workers():
            status = Path(f"/proc/{pid}/status").read_text()
            match = re.search(r"VmHWM:\s+(\d+) kB", status)
            if match:
                peaks.append(int(match.group(1)) / 1024)
        return max(peaks, default=0.0)

    def rss_mib(self) -> dict[int, float]:
        """Each worker's resident memory now (VmRSS), by pid."""
        found = {}
        for pid in self.workers():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            match = re.search(r"VmRSS:\s+(\d+) kB", status)
            if match:
                found[pid] = int(match.group(1)) / 1024
        return found

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def process_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of one process so far; 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def database_cpu_seconds(url: str) -> float:
    """CPU time of the database server's processes so far (PostgreSQL's backends: a page's
    statements are planned and run there); 0 for SQLite, which runs inside the workers."""
    if not url.startswith("postgresql"):
        return 0.0
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    total += process_cpu_seconds(int(entry.name))
            except OSError:
                continue
    return total


class Browser:
    """A signed-in session: a real GET + POST of the sign-in form, then the session cookie."""

    def __init__(self, base: str, email: str, password: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        html = self.get("/login")[1]
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
        body = urllib.parse.urlencode({"csrf_token": token, "email": email, "password": password}).encode()
        self.opener.open(self.base + "/login", data=body, timeout=60)  # noqa: S310
        if not any(c.name == "session" for c in self.jar):
            raise RuntimeError(f"no session cookie for {email}")

    @property
    def cookie(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)

    @property
    def header(self) -> str:
        """What wrk sends to be this user: the session cookie."""
        return f"Cookie: {self.cookie}"

    def get(self, path: str) -> tuple[int, str]:
        try:
            with self.opener.open(self.base + path, timeout=120) as response:  # noqa: S310
                return response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            return exc.code, ""


class ApiCaller:
    """An ERP calling the REST API with a token: `get` like Browser's, `header` for wrk."""

    def __init__(self, base: str, token: str):
        self.base, self.token = base, token

    @property
    def header(self) -> str:
        return f"Authorization: Bearer {self.token}"

    def get(self, path: str) -> tuple[int, str]:
        request = urllib.request.Request(self.base + path, headers={"Authorization": f"Bearer {self.token}"})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
                return response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            return exc.code, ""


def next_link(html: str) -> str | None:
    for tag in re.findall(r"<a\b[^>]*>", html):
        if re.search(r'rel="next"', tag):
            href = re.search(r'href="([^"]+)"', tag)
            if href:
                return href.group(1).replace("&amp;", "&")
    return None


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * _UNITS[unit]


# A browser polling a badge with htmx keeps the answer (`Cache-Control: private, no-cache`) and
# revalidates it: it sends the ETag it got back as If-None-Match and gets `304 Not Modified`
# until the badge changes. This wrk script does the same (one ETag per wrk thread: one user).
REVALIDATE_LUA = """
local etag = nil

function request()
   local headers = {}
   for name, value in pairs(wrk.headers) do headers[name] = value end
   if etag then headers["If-None-Match"] = etag end
   return wrk.format(nil, nil, headers)
end

function response(status, headers, body)
   for name, value in pairs(headers) do
      if string.lower(name) == "etag" then etag = value end
   end
end
"""


@functools.cache
def _revalidate_script() -> str:
    handle, path = tempfile.mkstemp(prefix="portal-bench-", suffix=".lua")
    with os.fdopen(handle, "w") as file:
        file.write(REVALIDATE_LUA)
    atexit.register(os.unlink, path)
    return path


def wrk(url: str, cookie: str | None, duration: str, connections: int = 2, *,
        revalidate: bool = False, header: str | None = None) -> dict:
    """Throughput (requests/s) and median latency (ms) of `url` for `duration`, `connections`
    keep-alive connections from one thread; non-2xx/3xx answers are counted. `revalidate`:
    send the last answer's ETag back, as a browser revalidating a polled badge does. `header`:
    one more request header ("Authorization: Bearer ..." for the API)."""
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{duration}", "--latency", "--timeout", "30s"]
    if cookie:
        cmd += ["-H", f"Cookie: {cookie}"]
    if header:
        cmd += ["-H", header]
    if revalidate:
        cmd += ["-s", _revalidate_script()]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1))
    p99 = _ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50_ms": round(p50, 2), "p99_ms": round(p99, 2), "requests": requests,
            "errors": int(bad.group(1)) if bad else 0}
