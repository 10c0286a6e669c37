"""Browser test fixtures: one real server per test session, one fresh browser context per test.

- `live_server`: base URL of a Portal served by gunicorn from a migrated, seeded SQLite file.
  Tests share it: they may change data (e.g. a user's language) and must not rely on changes
  made by other tests.
- `browser_page`: a Playwright page in a fresh context (no cookies) of Debian's Chromium,
  1280x800, English browser locale. Skipped with a reason when chromium is not installed.

pytest-playwright's own `page`/`browser` fixtures are disabled (`-p no:playwright` in
pyproject.toml): they would try to use a browser downloaded by `playwright install`.
"""

from __future__ import annotations

import pytest

from tests.e2e import live


@pytest.fixture(scope="session")
def chromium_browser():
    if live.chromium_path() is None:
        pytest.skip("chromium is not installed: `scripts/setup --browser` installs it")
    with live.chromium() as browser:
        yield browser


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    with live.live_server(tmp_path_factory.mktemp("live")) as base_url:
        yield base_url


@pytest.fixture
def browser_page(chromium_browser, live_server):
    context = chromium_browser.new_context(
        viewport={"width": 1280, "height": 800}, locale="en-GB", base_url=live_server
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()
