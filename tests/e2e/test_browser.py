"""The newcomer's path in a real browser: sign in, dashboard, Polish, sign out."""

from __future__ import annotations

import pytest

from tests.e2e.live import sign_in

pytestmark = pytest.mark.browser


def test_sign_in_switch_to_polish_and_sign_out(browser_page, live_server, tmp_path):
    page = browser_page

    sign_in(page, live_server, "buyer@acme.example")
    assert page.locator(".org-name").inner_text() == "Acme Manufacturing"
    assert page.locator("[data-testid=buyer-widget]").is_visible()
    # The sidebar is a vertical list (Pico styles every <nav> as a horizontal bar).
    links = page.locator("nav.sidebar a")
    assert links.count() >= 2
    first, second = links.nth(0).bounding_box(), links.nth(1).bounding_box()
    assert second["y"] > first["y"] and second["x"] == first["x"]

    # Bartosz works in Polish; switch to English first so the switch to Polish is visible.
    page.click("form.lang-switch button[value=en]")
    page.wait_for_selector("html[lang=en]")
    assert page.locator("nav.sidebar").get_by_text("Dashboard", exact=True).is_visible()
    assert page.locator("[data-testid=sign-out]").inner_text() == "Sign out"

    page.click("form.lang-switch button[value=pl]")
    page.wait_for_selector("html[lang=pl]")
    assert page.url == f"{live_server}/"
    assert page.locator("nav.sidebar").get_by_text("Pulpit", exact=True).is_visible()
    assert page.locator("[data-testid=sign-out]").inner_text() == "Wyloguj"
    assert page.locator("form.lang-switch button[value=pl]").get_attribute("aria-current") == "true"

    screenshot = tmp_path / "dashboard-pl.png"
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.stat().st_size > 10_000

    page.click("[data-testid=sign-out]")
    page.wait_for_url(f"{live_server}/login")
    assert page.locator("input[name=password]").is_visible()
    assert page.locator(".org-name").count() == 0

    # The session is over: the dashboard asks for a sign-in again.
    page.goto(f"{live_server}/")
    assert page.url.startswith(f"{live_server}/login")
