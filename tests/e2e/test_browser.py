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


# ---------------------------------------------------------------- phone width and long text

PHONE = {"width": 390, "height": 844}
HEADER_PARTS = [".menu-toggle", ".brand", "form.lang-switch", ".bell-slot", ".user-chip",
                "[data-testid=sign-out]"]


def _context(chromium_browser, live_server, viewport):
    context = chromium_browser.new_context(viewport=viewport, locale="en-GB", base_url=live_server)
    context.set_default_timeout(15_000)
    return context


def _overlap(a, b) -> bool:
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


def _assert_header_fits(page, width: int) -> None:
    boxes = {}
    for selector in HEADER_PARTS:
        box = page.locator(f".topbar {selector}").first.bounding_box()
        assert box is not None, f"{selector} is not shown"
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, f"{selector} leaves the screen"
        boxes[selector] = box
    parts = list(boxes.items())
    for i, (name_a, a) in enumerate(parts):
        for name_b, b in parts[i + 1:]:
            assert not _overlap(a, b), f"{name_a} overlaps {name_b}"


def _no_sideways_scroll(page, width: int) -> None:
    assert page.evaluate("document.scrollingElement.scrollWidth") <= width


def test_a_phone_shows_the_whole_header_and_the_list_as_cards(chromium_browser, live_server,
                                                              tmp_path):
    from tests.e2e.flows import shot, use_english

    context = _context(chromium_browser, live_server, PHONE)
    try:
        page = context.new_page()
        sign_in(page, live_server, "buyer@acme.example")  # Bartosz reads Polish
        _assert_header_fits(page, PHONE["width"])
        _no_sideways_scroll(page, PHONE["width"])
        use_english(page)  # "Sign out" is the longer label
        _assert_header_fits(page, PHONE["width"])
        shot(page, tmp_path, "phone-dashboard")

        page.goto("/requisitions/")
        _no_sideways_scroll(page, PHONE["width"])
        _assert_header_fits(page, PHONE["width"])
        row = page.locator("[data-testid=requisition-row]").first
        for part in ("a.doc-number", "td.title-cell", "td.num", "[data-testid=status]"):
            cell = row.locator(part).first
            assert cell.is_visible(), part
            box = cell.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], part
        # each value sits under its column's label (filled in from the headings)
        assert row.locator("td.num").get_attribute("data-label") == "Gross"
        shot(page, tmp_path, "phone-requisitions")

        page.click(".menu-toggle")
        assert page.locator("nav.sidebar").get_by_text("Requisitions", exact=True).is_visible()
    finally:
        context.close()


def test_a_long_unbroken_line_description_keeps_the_table_on_screen(chromium_browser,
                                                                    live_server, tmp_path):
    from playwright.sync_api import expect

    from tests.e2e.flows import create_draft, shot, use_english

    long_text = "https://example.com/parts/" + "A1B2C3D4E5" * 27 + "XXXX"
    assert len(long_text) == 300 and " " not in long_text
    context = _context(chromium_browser, live_server, {"width": 1366, "height": 900})
    try:
        page = context.new_page()
        sign_in(page, live_server, "buyer2@acme.example")
        use_english(page)
        draft = create_draft(page, title="Spare parts", cost_center_label="ADM · Administracja")
        form = page.locator("[data-testid=add-line]")
        form.locator("#description").fill(long_text)
        form.locator("#quantity").fill("2")
        form.locator("#unit_price").fill("125.50")
        form.locator("[data-testid=add-line-button]").click()
        expect(page.locator("[data-testid=line-row]")).to_have_count(1)
        for url in (f"/requisitions/{draft.id}/edit", f"/requisitions/{draft.id}"):
            page.goto(url)
            _no_sideways_scroll(page, 1366)
            table = page.locator("table.lines-table").bounding_box()
            assert table["x"] + table["width"] <= 1366, url
            wrap = page.locator("table.lines-table").evaluate(
                "t => t.closest('.table-wrap').scrollWidth <= t.closest('.table-wrap').clientWidth")
            assert wrap, f"{url}: the line table scrolls sideways"
            expect(page.locator("[data-testid=line-row]").first).to_contain_text(long_text[:40])
        shot(page, tmp_path, "long-line-detail")
    finally:
        context.close()
