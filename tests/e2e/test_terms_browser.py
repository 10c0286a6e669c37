"""The buyer admin edits a supplier's payment terms with a live preview of the due dates."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.flows import shot, sign_in_in_english

pytestmark = pytest.mark.browser


def test_the_terms_preview_follows_the_typed_terms_and_leaves_the_page_whole(
    browser_page, live_server, tmp_path
):
    page = browser_page
    sign_in_in_english(page, live_server, "admin@acme.example")
    page.goto(f"{live_server}/suppliers/")
    page.get_by_role("link", name="Nordwind Supplies").first.click()
    page.get_by_text("Change the terms").click()

    preview = page.locator("[data-testid=terms-preview]")
    expect(preview.locator("[data-testid=preview-label]")).to_have_text(
        "2% discount within 10 days, net 30 days"
    )
    page.select_option("select[name=terms_kind]", "instalments")
    page.fill("input[name=instalments]", "30/14, 70/45")
    page.keyboard.press("Tab")
    expect(preview.locator("[data-testid=preview-label]")).to_have_text(
        "in instalments: 30% after 14 days, 70% after 45 days"
    )
    expect(preview.locator("[data-testid=preview-schedule] tbody tr")).to_have_count(2)
    # The preview swaps into itself, not into the form's target: the rest of the page stays.
    expect(page.get_by_role("heading", name="Block this supplier")).to_be_visible()
    expect(page.locator("[data-testid=terms-label]")).to_be_visible()
    shot(page, tmp_path, "terms-preview")
