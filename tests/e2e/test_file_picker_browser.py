"""The file input is the portal's own control, in the page's language (issue 8, point 9): the
browser's "Choose File / No file chosen" spoke the browser's language on Polish pages."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.flows import shot, sign_in_in_english

pytestmark = pytest.mark.browser


def test_the_file_picker_names_the_chosen_file_and_stays_a_real_input(
    browser_page, live_server, tmp_path
):
    page = browser_page
    errors = []
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    sign_in_in_english(page, live_server, "buyer@acme.example")
    page.goto(f"{live_server}/requisitions/")
    page.locator("tr", has_text="Papier A4 i tonery").locator("a").first.click()

    picker = page.locator("[data-file-picker]")
    expect(picker.locator(".file-button")).to_have_text("Choose a file")
    expect(picker.locator("[data-file-chosen]")).to_have_text("No file chosen")
    # The real input: reachable from the keyboard, named by its label, not drawn by the browser.
    file_input = picker.locator("input[type=file]")
    expect(file_input).to_have_accessible_name("Attach a quote or specification")
    expect(file_input).to_have_accessible_description("No file chosen")
    file_input.focus()
    expect(file_input).to_be_focused()
    assert file_input.bounding_box()["width"] <= 1

    file_input.set_input_files(files=[{"name": "oferta-2026.pdf", "mimeType": "application/pdf",
                                       "buffer": b"%PDF-1.4 test"}])
    expect(picker.locator("[data-file-chosen]")).to_have_text("oferta-2026.pdf")
    shot(page, tmp_path, "file-picker")
    assert errors == []
