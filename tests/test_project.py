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


# ---------------------------------------------------------------- the shape of portal/


def _importlinter_contracts() -> list[dict]:
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return config["tool"]["importlinter"]["contracts"]


def _top_level_modules() -> set[str]:
    portal = ROOT / "portal"
    names = {path.stem for path in portal.glob("*.py") if path.stem != "__init__"}
    names |= {path.name for path in portal.iterdir() if (path / "__init__.py").exists()}
    return names


def test_the_layers_contract_places_every_top_level_module_of_portal():
    layers = next(c for c in _importlinter_contracts() if c["type"] == "layers"
                  and c.get("containers") == ["portal"])
    placed = {name.strip() for layer in layers["layers"] for name in re.split(r"[|:]", layer)}
    missing = _top_level_modules() - placed
    assert missing == set(), "place these modules in the layers contract in pyproject.toml"


def test_a_contract_forbids_import_cycles_in_portal():
    acyclic = [c for c in _importlinter_contracts() if c["type"] == "acyclic_siblings"]
    assert acyclic and acyclic[0]["ancestors"] == ["portal"]


def test_views_use_the_edge_helpers_not_their_own_copies():
    """One unit of work, actor(), with_flash() and csv_response() at the edge
    (portal/blueprints/edge.py, portal/htmx.py): no view commits, rolls back, unwraps
    current_user or writes a CSV or an HX-Trigger header by hand."""
    patterns = {
        "commit/rollback outside unit_of_work()": r"\.(commit|rollback)\(",
        "current_user._get_current_object (use actor())": r"_get_current_object",
        "an HX-Trigger header (use portal.htmx.with_flash)": r"HX-Trigger\"\]|trigger=\{",
        "a CSV by hand (use csv_response)": r"csv\.writer|mimetype=\"text/csv\"",
    }
    found = []
    for path in sorted((ROOT / "portal" / "blueprints").rglob("*.py")):
        if path.name == "edge.py" or path.name == "error_pages.py":
            continue
        text = path.read_text()
        for what, pattern in patterns.items():
            if re.search(pattern, text):
                found.append(f"{path.relative_to(ROOT)}: {what}")
    assert found == []
