"""Optional comparison: a comparable requisition cycle in Tryton 8.2 (`purchase_requisition`).

Tryton 8.2 (`trytond`, `trytond_purchase_requisition`, `proteus`) is installed from PyPI into
its own virtualenv under /tmp/bench-tryton (never into the project's .venv), on first use. A
child process in that virtualenv builds an in-memory SQLite database with a company, a chart
of accounts, an employee, a supplier and a warehouse, then runs the cycle: a requisition with
three free-text lines saved, sent for approval (`wait`) and approved (`approve`, which creates
its purchase requests), each step its own transaction through proteus' in-process backend.
Tryton has one approval step and no budget check, so its cycle does less than ours.

`run(cycles)` returns `{"cpu_ms_median", "cycles"}` (median `time.process_time()` per cycle in
the child), or `{"skipped": why}` when PyPI or the install is unavailable: the comparison is
never required.

    python -m bench.tryton_cycle [cycles]
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

VENV = Path("/tmp/bench-tryton")
PACKAGES = ["trytond==8.2.*", "trytond_purchase_requisition==8.2.*", "proteus==8.2.*"]
INSTALL_TIMEOUT = 900
RUN_TIMEOUT = 900

CHILD = r'''
import datetime as dt, json, os, statistics, sys, time
from decimal import Decimal
os.environ.setdefault("DB_NAME", ":memory:")
from proteus import Model
from trytond.modules.account.tests.tools import create_chart
from trytond.modules.company.tests.tools import create_company
from trytond.tests.tools import activate_modules

cycles = int(sys.argv[1])
activate_modules("purchase_requisition", create_company, create_chart)
Party, Employee = Model.get("party.party"), Model.get("company.employee")
employee = Employee(party=Party(name="Employee"))
employee.party.save()
employee.save()
supplier = Party(name="Supplier")
supplier.save()
warehouse, = Model.get("stock.location").find([("code", "=", "WH")])
Requisition = Model.get("purchase.requisition")
LINES = (("Monitor 27", 4, Decimal("1500")), ("Docking station", 4, Decimal("900")),
         ("Keyboard and mouse", 8, Decimal("300")))


def cycle():
    req = Requisition(description="Workstations for the new team", employee=employee,
                      supply_date=dt.date.today(), warehouse=warehouse)
    for description, quantity, price in LINES:
        line = req.lines.new()
        line.description, line.quantity, line.unit_price = description, quantity, price
        line.supplier = supplier
    req.save()
    req.click("wait")
    req.click("approve")
    assert req.state in ("processing", "done"), req.state


for _ in range(3):
    cycle()
times = []
for _ in range(cycles):
    start = time.process_time()
    cycle()
    times.append((time.process_time() - start) * 1000)
print(json.dumps({"cpu_ms_median": round(statistics.median(times), 2), "cycles": cycles}))
'''


def _python() -> Path:
    return VENV / "bin" / "python"


def _install() -> str | None:
    """Create the virtualenv and install Tryton; the reason it could not, or None."""
    if (VENV / ".installed").exists():
        return None
    try:
        if not _python().exists():
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, timeout=120,
                           capture_output=True)
        done = subprocess.run([str(_python()), "-m", "pip", "install", "-q", *PACKAGES],
                              timeout=INSTALL_TIMEOUT, capture_output=True, text=True)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"could not install Tryton: {exc}"
    if done.returncode != 0:
        return f"could not install Tryton (PyPI unreachable?): {done.stderr.strip()[-300:]}"
    (VENV / ".installed").write_text(" ".join(PACKAGES))
    return None


def run(cycles: int = 20) -> dict:
    """The median CPU ms of the Tryton cycle, or {"skipped": why}."""
    problem = _install()
    if problem:
        return {"skipped": problem}
    script = VENV / "cycle.py"
    script.write_text(CHILD)
    try:
        done = subprocess.run([str(_python()), str(script), str(cycles)], timeout=RUN_TIMEOUT,
                              capture_output=True, text=True, cwd=str(VENV))
    except subprocess.SubprocessError as exc:
        return {"skipped": f"the Tryton cycle did not finish: {exc}"}
    if done.returncode != 0:
        return {"skipped": f"the Tryton cycle failed: {done.stderr.strip()[-500:]}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 20), indent=2))
