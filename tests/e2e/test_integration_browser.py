"""The integration pages in a real browser: a new API token's secret is shown once with a
working copy button (a static script: the CSP allows no inline one), and the demo's failing
webhook endpoint shows its deliveries in every state."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.flows import shot, sign_in_in_english

pytestmark = pytest.mark.browser


def test_a_new_token_is_shown_once_with_a_copy_button(browser_page, live_server, tmp_path):
    page = browser_page
    errors = []
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    sign_in_in_english(page, live_server, "sales@nordwind.example")  # a supplier's admin
    page.get_by_test_id("nav-api-tokens").click()
    expect(page.get_by_role("heading", name="API tokens")).to_be_visible()
    page.get_by_test_id("new-token").click()
    page.fill("input[name=name]", "Invoicing robot")
    page.check("input[value='invoices:write']")
    page.check("input[value='orders:read']")
    page.get_by_test_id("create-token").click()

    secret = page.get_by_test_id("token-secret").inner_text().strip()
    assert re.fullmatch(r"pt_[A-Za-z0-9_-]{43}", secret)
    page.get_by_role("button", name="Copy").first.click()
    # The clipboard answers asynchronously: "Copied" when it took the text, else the text is
    # selected for Ctrl+C. Wait for one of the two before telling which (reading the selection
    # at once raced a refusal that had not arrived yet). A function, not an expression string:
    # Playwright re-evaluates a string with eval() on each poll, which the portal's CSP refuses
    # (no 'unsafe-eval') whenever the first check is not already true.
    page.wait_for_function("() => window.getSelection().toString().trim() !== '' || [...document"
                           ".querySelectorAll('button')].some(b => b.textContent.trim() === 'Copied')")
    copied = page.evaluate("window.getSelection().toString()").strip() == secret
    if not copied:
        expect(page.get_by_role("button", name="Copied")).to_be_visible()
    shot(page, tmp_path, "api-token-created")

    page.get_by_role("button", name="All tokens").click()
    row = page.get_by_test_id("token-row").filter(has_text="Invoicing robot")
    expect(row).to_contain_text(secret[:11])
    assert secret not in page.content()
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_test_id("revoke-token").click()
    expect(page.get_by_test_id("token-row").filter(has_text="Invoicing robot")).to_contain_text("Revoked")
    assert errors == []


def test_the_demo_webhook_endpoint_shows_every_delivery_state(browser_page, live_server, tmp_path):
    page = browser_page
    errors = []
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    sign_in_in_english(page, live_server, "admin@acme.example")
    page.get_by_test_id("nav-webhooks").click()
    row = page.get_by_test_id("webhook-row").filter(has_text="https://erp.acme.example/hooks")
    expect(row.get_by_test_id("webhook-status")).to_have_text("Failing")
    row.get_by_role("link").first.click()
    deliveries = page.get_by_test_id("delivery-row")
    for state in ("Delivered", "Failed", "Pending"):
        expect(deliveries.filter(has_text=state).first).to_be_visible()
    shot(page, tmp_path, "webhook-endpoint")
    assert errors == []
