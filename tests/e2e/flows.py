"""What users do in the browser, as small steps the browser tests compose.

Every step waits for what the user would wait for (a page, an htmx swap) through Playwright's
auto-waiting `expect()` or `wait_for_url`: no sleeps. Texts are the English ones: each
session switches the UI to English first (the demo users of Acme work in Polish).
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e import live

# Set to a directory to keep copies of the screenshots (e.g. for a reviewer).
SHOTS_ENV = "PORTAL_E2E_SHOTS"


def use_english(page: Page) -> None:
    """Press EN in the top bar (the choice is saved on the user) and wait for the reload."""
    with page.expect_navigation():
        page.click("form.lang-switch button[value=en]")
    expect(page.locator("html")).to_have_attribute("lang", "en")


def sign_in_in_english(page: Page, base_url: str, email: str) -> None:
    live.sign_in(page, base_url, email)
    use_english(page)


def shot(page: Page, directory: Path, name: str) -> Path:
    """A full-page screenshot into `directory` (and a copy into $PORTAL_E2E_SHOTS if set)."""
    path = directory / f"{name}.png"
    # A fixed top bar would be drawn where the page happens to be scrolled to.
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(path), full_page=True)
    keep = os.environ.get(SHOTS_ENV)
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / path.name)
    return path


def amount(text: str) -> re.Pattern:
    """A money text containing this number, whatever the currency sign and its place."""
    return re.compile(rf"(^|[^\d,.]){re.escape(text)}($|[^\d])")


class same_document:
    """Asserts that what happens inside the block updates the page in place (htmx) rather
    than loading a new one: a mark set on `window` before must still be there after."""

    def __init__(self, page: Page):
        self.page = page

    def __enter__(self):
        self.page.evaluate("window.__e2eSameDocument = true")
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            assert self.page.evaluate("window.__e2eSameDocument === true"), "the page reloaded"


@dataclass
class Draft:
    id: int
    number: str
    title: str


def create_draft(page: Page, *, title: str, cost_center_label: str,
                 justification: str = "") -> Draft:
    """From the dashboard: New requisition, fill the header, save; lands on the line editor."""
    page.goto("/")
    page.click("[data-testid=buyer-widget] [data-testid=new-requisition]")
    page.wait_for_url(re.compile(r"/requisitions/new$"))
    form = page.locator("[data-testid=header-form]")
    form.locator("#title").fill(title)
    form.locator("#justification").fill(justification)
    form.locator("#cost_center_id").select_option(label=cost_center_label)
    needed_by = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
    form.locator("#needed_by").fill(needed_by)
    page.click("[data-testid=save-draft]")
    page.wait_for_url(re.compile(r"/requisitions/\d+/edit$"))
    requisition_id = int(re.search(r"/requisitions/(\d+)/edit$", page.url).group(1))
    number = page.locator(".doc-number").inner_text().strip()
    assert re.fullmatch(r"REQ-\d{4}-\d{5}", number), number
    expect(page.locator("[data-testid=status]")).to_have_text("Draft")
    expect(page.locator("[data-testid=no-lines]")).to_be_visible()
    return Draft(requisition_id, number, title)


def add_catalog_line(page: Page, *, query: str, sku: str, quantity: str) -> None:
    """Type part of a name into the catalog search, pick the item, set the quantity, add."""
    rows_before = page.locator("[data-testid=line-row]").count()
    with same_document(page):
        _pick_and_add(page, query=query, sku=sku, quantity=quantity, rows_before=rows_before)


def _pick_and_add(page: Page, *, query: str, sku: str, quantity: str, rows_before: int) -> None:
    search = page.locator("[data-testid=catalog-search] input[name=q]")
    search.fill(query)  # htmx searches on `input` after 250 ms
    # Earlier results stay until the new ones arrive: wait for the wanted item itself.
    item = page.locator("[data-testid=catalog-item]", has_text=sku)
    expect(item).to_have_count(1)
    item.click()
    picked = page.locator("[data-testid=picked-item]")
    expect(picked).to_contain_text(sku)
    add_form = page.locator("[data-testid=add-line]")
    expect(add_form.locator("#unit_price")).not_to_have_value("")  # the list price came along
    add_form.locator("#quantity").fill(quantity)
    add_form.locator("[data-testid=add-line-button]").click()
    expect(page.locator("[data-testid=line-row]")).to_have_count(rows_before + 1)
    # The add form came back empty for the next line.
    expect(page.locator("[data-testid=picked-item]")).to_have_count(0)
    expect(page.locator("[data-testid=line-row]").last).to_contain_text(sku)


def submit_from_editor(page: Page, draft: Draft) -> None:
    page.locator(".page-actions [data-testid=submit]").click()
    page.wait_for_url(re.compile(rf"/requisitions/{draft.id}$"))
    expect(page.locator(".doc-kicker [data-testid=status]")).to_have_text("Pending approval")


def open_inbox(page: Page) -> None:
    page.locator("nav.sidebar a[href='/approvals/']").click()
    page.wait_for_url(re.compile(r"/approvals/$"))


def inbox_row(page: Page, number: str):
    return page.locator("[data-testid=inbox-row]", has=page.locator(".inbox-number",
                                                                      has_text=number))


def open_requisition_from_list(page: Page, number: str) -> None:
    """Requisitions in the menu, then the number in the list."""
    page.locator("nav.sidebar a[href='/requisitions/']").click()
    page.wait_for_url(re.compile(r"/requisitions/(\?.*)?$"))
    row = page.locator("[data-testid=requisition-row]", has_text=number)
    row.get_by_role("link", name=number).click()
    page.wait_for_url(re.compile(r"/requisitions/\d+$"))
    expect(page.locator(".doc-number")).to_have_text(number)
