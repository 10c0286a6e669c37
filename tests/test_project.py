"""The documentation newcomers rely on stays in step with the code."""

from __future__ import annotations

import os
import re
from pathlib import Path

from portal.services.demo import DEMO_PASSWORD

ROOT = Path(__file__).resolve().parent.parent


def _variables_read_by_config() -> set[str]:
    source = (ROOT / "portal" / "config.py").read_text()
    names = set(re.findall(r"_env(?:_bool)?\(\s*\"([A-Z][A-Z0-9_]*)\"", source))
    names |= set(re.findall(r"os\.environ(?:\.get)?[\(\[]\s*\"([A-Z][A-Z0-9_]*)\"", source))
    return names


def test_env_example_lists_every_variable_config_reads():
    listed = set(
        re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.M)
    )
    read = _variables_read_by_config()
    assert {"DATABASE_URL", "SECRET_KEY", "PORTAL_ENV"} <= read
    assert read - listed == set(), "add these to .env.example"


def test_readme_lists_every_demo_account_and_the_password(world):
    readme = (ROOT / "README.md").read_text()
    assert DEMO_PASSWORD in readme
    missing = [email for email in world.users if f"`{email}`" not in readme]
    assert missing == [], "add these demo accounts to README.md"


def test_readme_shows_the_two_commands_and_the_screenshot():
    readme = (ROOT / "README.md").read_text()
    assert "./scripts/run" in readme and "./scripts/test" in readme
    assert "docs/screenshot.png" in readme
    assert (ROOT / "docs" / "screenshot.png").stat().st_size > 10_000


def test_scripts_are_executable():
    for name in ("setup", "run", "test", "i18n"):
        assert os.access(ROOT / "scripts" / name, os.X_OK), name
    assert os.access(ROOT / ".ci" / "run", os.X_OK)
