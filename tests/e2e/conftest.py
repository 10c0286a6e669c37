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


class Browsers:
    """Several people at their own browsers: each `open(email)` is a fresh context (own
    cookies) signed in through the login form and switched to English. Page errors and console
    errors (a CSP violation, a failed htmx request) of every page are collected in `errors`."""

    def __init__(self, browser, base_url: str):
        self.browser = browser
        self.base_url = base_url
        self.contexts = []
        self.errors: list[str] = []

    def open(self, email: str):
        from tests.e2e.flows import sign_in_in_english

        context = self.browser.new_context(
            viewport={"width": 1280, "height": 800}, locale="en-GB", base_url=self.base_url
        )
        context.set_default_timeout(15_000)
        self.contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: self.errors.append(f"{email}: {exc}"))
        page.on("console", lambda msg: msg.type == "error" and self.errors.append(
            f"{email} console: {msg.text} @ {page.url}"))
        sign_in_in_english(page, self.base_url, email)
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def browsers(chromium_browser, live_server):
    people = Browsers(chromium_browser, live_server)
    try:
        yield people
    finally:
        people.close()
