"""`scripts/setup` installs what serving needs, and the test tools only for the tests.

Runs the real script against a stand-in virtualenv whose `python`, `flask` and `pybabel` only
record how they were called, so no package is installed and the test takes a second.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RECORDER = """#!/bin/sh
echo "$(basename "$0") $*" >> "$(dirname "$0")/../calls.log"
"""

pytestmark = pytest.mark.skipif(shutil.which("dpkg") is None, reason="setup checks packages with dpkg")


@pytest.fixture
def venv(tmp_path):
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    for name in ("python", "flask", "pybabel"):
        (bin_dir / name).write_text(RECORDER)
        (bin_dir / name).chmod(0o755)
    return tmp_path / "venv"


def _setup(venv: Path, *args: str) -> tuple[str, list[str]]:
    log = venv / "calls.log"
    log.unlink(missing_ok=True)
    done = subprocess.run(
        [str(ROOT / "scripts" / "setup"), "--no-db", *args],
        env={**os.environ, "PORTAL_VENV": str(venv)},
        capture_output=True, text=True, timeout=60, check=True,
    )
    calls = log.read_text().splitlines() if log.exists() else []
    return done.stderr, [call for call in calls if "pip install" in call]


def test_serving_installs_the_runtime_packages_only_and_says_why(venv):
    said, installs = _setup(venv)
    assert installs == ["python -m pip install --quiet --disable-pip-version-check -e ."]
    assert "Installing the Python packages the portal needs (first run)" in said

    said, installs = _setup(venv)
    assert installs == [] and "Installing" not in said


def test_the_tests_add_their_tools_once_and_serving_keeps_them(venv):
    _setup(venv)
    said, installs = _setup(venv, "--browser")
    assert installs == ["python -m pip install --quiet --disable-pip-version-check -e .[dev]"]
    assert "for the portal and its tests (the test tools are missing" in said

    for args in ((), ("--browser",)):
        said, installs = _setup(venv, *args)
        assert installs == [], args


def test_a_changed_pyproject_is_named_as_the_reason(venv):
    _setup(venv)
    stamp = venv / ".portal-install-stamp"
    stamp.write_text("0" * 64 + " \n")
    said, installs = _setup(venv)
    assert len(installs) == 1 and "(pyproject.toml changed)" in said
