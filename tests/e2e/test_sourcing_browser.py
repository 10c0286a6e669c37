"""Sourcing in real browsers (issue 10): Acme's buyer publishes a sealed RFQ to Nordwind and
Polbud; each supplier answers in its own session; every invited supplier has answered, so the
buyer closes early, opens the quotes, compares and awards line by line; two orders exist;
Nordwind acknowledges its order and downloads the PO PDF; the buyer receives it partially,
then fully.

The live server runs in its own process (gunicorn), so its clock cannot be moved: the RFQ is
closed early (every invited supplier answered) rather than waiting for a deadline.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.flows import shot

pytestmark = pytest.mark.timeout(180)

BUYER = "buyer@acme.example"
NORDWIND, POLBUD = "sales@nordwind.example", "sales@polbud.example"
LINES = [("Hydraulic hose DN10, 1 m", "20"), ("Quick coupling DN10", "40")]
# Nordwind is cheaper on the hose, Polbud on the couplings: each line goes to its best price.
PRICES = {NORDWIND: ["12.50", "9.80"], POLBUD: ["13.90", "8.40"]}


def _publish_rfq(buyer: Page, title: str) -> tuple[int, str]:
    """New RFQ with two typed lines, Nordwind and Polbud invited, published; its id and number."""
    buyer.goto("/rfqs/")
    buyer.click("[data-testid=new-rfq]")
    buyer.wait_for_url(re.compile(r"/rfqs/new$"))
    form = buyer.locator("[data-testid=rfq-form]")
    form.locator("#title").fill(title)
    expect(form.locator("#sealed")).to_be_checked()
    buyer.click("[data-testid=create-rfq]")
    buyer.wait_for_url(re.compile(r"/rfqs/\d+$"))
    rfq_id = int(re.search(r"/rfqs/(\d+)$", buyer.url).group(1))
    number = buyer.locator(".doc-kicker .doc-number").inner_text().strip()
    expect(buyer.locator("[data-testid=rfq-status]")).to_have_text("Draft")

    for count, (description, quantity) in enumerate(LINES, start=1):
        buyer.locator("details.add-line > summary").click()
        line_form = buyer.locator("[data-testid=line-form]")
        line_form.locator("#description").fill(description)
        line_form.locator("#quantity").fill(quantity)
        line_form.locator("[data-testid=add-line]").click()
        expect(buyer.locator("[data-testid=rfq-line]")).to_have_count(count)

    for count, supplier in enumerate(("Nordwind Supplies", "Polbud"), start=1):
        buyer.locator("[data-testid=invite-form] select").select_option(label=supplier)
        buyer.locator("[data-testid=invite]").click()
        expect(buyer.locator("[data-testid=invited-supplier]")).to_have_count(count)

    # Two days ahead, typed as the buyer's company's wall clock (Europe/Warsaw).
    deadline = (datetime.now(UTC) + timedelta(days=2)).astimezone(ZoneInfo("Europe/Warsaw"))
    buyer.locator("#deadline").fill(deadline.strftime("%Y-%m-%dT%H:%M"))
    buyer.locator("[data-testid=publish]").click()
    expect(buyer.locator("[data-testid=rfq-status]")).to_have_text("Open for quotes")
    return rfq_id, number


def _quote(supplier: Page, number: str, prices: list[str], reference: str) -> None:
    """From the supplier's RFQs to answer: prepare the quote, price every line, submit."""
    supplier.goto("/supplier/rfqs")
    row = supplier.locator("[data-testid=supplier-rfq-row]", has_text=number)
    row.locator("[data-testid=answer]").click()
    supplier.wait_for_url(re.compile(r"/supplier/rfqs/\d+/quote$"))
    rows = supplier.locator("[data-testid=quote-line]")
    expect(rows).to_have_count(len(prices))
    for i, price in enumerate(prices):
        rows.nth(i).locator("input[name$=unit_price]").fill(price)
        rows.nth(i).locator("input[name$=lead_time_days]").fill("7")
    supplier.locator("#supplier_reference").fill(reference)
    valid_until = datetime.now(UTC).date() + timedelta(days=30)  # beyond the deadline
    supplier.locator("#valid_until").fill(valid_until.isoformat())
    supplier.locator("[data-testid=submit-quote]").click()
    expect(supplier.locator(".flash").first).to_contain_text("Your quote was submitted")


def _receive(buyer: Page, order_id: int, quantity: str, status: str, receipts: int) -> None:
    """Record a delivery of `quantity` on line 1 (the receipts section swaps in place), then
    read the order's status again; `receipts` is how many the history then lists."""
    buyer.goto(f"/orders/{order_id}")
    buyer.get_by_label("Received now: line 1").fill(quantity)
    buyer.locator("[data-testid=record-receipt]").click()
    expect(buyer.locator("[data-testid=receipt-row]")).to_have_count(receipts)
    buyer.reload()
    expect(buyer.locator("[data-testid=order-status]")).to_have_text(status)


def test_rfq_to_received_goods_across_three_sessions(browsers, tmp_path: Path):
    buyer = browsers.open(BUYER)
    title = f"Hydraulic hoses {datetime.now(UTC):%H%M%S}"
    rfq_id, number = _publish_rfq(buyer, title)
    shot(buyer, tmp_path, "sourcing-01-published")

    # Each supplier in its own session; the buyer sees who answered, never a price (sealed).
    for email, reference in ((NORDWIND, "NW-E2E-1"), (POLBUD, "PB-E2E-1")):
        supplier = browsers.open(email)
        _quote(supplier, number, PRICES[email], reference)
        if email == NORDWIND:
            nordwind = supplier
    buyer.reload()
    expect(buyer.locator("[data-testid=answers]")).to_have_text("2 of 2")
    expect(buyer.locator("[data-testid=sealed-note]")).to_be_visible()
    expect(buyer.locator("body")).not_to_contain_text("12.50")

    # Every invited supplier answered: close early, open the sealed quotes, compare.
    close = buyer.locator("[data-testid=close]")
    expect(close).to_have_text("Close early")
    close.click()
    expect(buyer.locator("[data-testid=rfq-status]")).to_have_text("Closed")
    buyer.once("dialog", lambda dialog: dialog.accept())  # "the opening is recorded with your name"
    buyer.locator("[data-testid=open-quotes]").first.click()
    expect(buyer.locator("[data-testid=opened-note]")).to_be_visible()
    buyer.locator("[data-testid=compare]").click()
    buyer.wait_for_url(re.compile(rf"/rfqs/{rfq_id}/compare$"))
    expect(buyer.locator("[data-testid=compare-row]")).to_have_count(2)
    expect(buyer.locator("[data-testid=best-cell]")).to_have_count(2)
    shot(buyer, tmp_path, "sourcing-02-compare")

    # Award per line: the hose to Nordwind, the couplings to Polbud -> two orders.
    buyer.get_by_label("Award line 1 to Nordwind Supplies").check()
    buyer.get_by_label("Award line 2 to Polbud").check()
    buyer.locator("[data-testid=award-submit]").click()
    summary = buyer.locator("[data-testid=award-summary]")
    expect(summary.locator("[data-testid=award-order]")).to_have_count(2)
    expect(buyer.locator(".flash").first).to_contain_text("2 purchase orders are issued")
    to_nordwind = summary.locator("li", has_text="Nordwind Supplies").locator("[data-testid=award-order]")
    order_number = to_nordwind.inner_text().strip()
    order_id = int(re.search(r"/orders/(\d+)$", to_nordwind.get_attribute("href")).group(1))
    expect(summary.locator("li", has_text="Polbud")).to_have_count(1)

    # Nordwind acknowledges its order and downloads the PO PDF.
    nordwind.goto("/supplier/orders")
    nordwind.locator("[data-testid=order-row]", has_text=order_number).get_by_role(
        "link", name=order_number).click()
    nordwind.wait_for_url(re.compile(rf"/supplier/orders/{order_id}$"))
    nordwind.locator("[data-testid=acknowledge]").click()
    expect(nordwind.locator("[data-testid=order-status]")).to_have_text("Acknowledged")
    with nordwind.expect_download() as download:
        nordwind.locator("[data-testid=download-pdf]").click()
    pdf = Path(download.value.path())
    assert pdf.read_bytes().startswith(b"%PDF-")
    if shutil.which("pdftotext"):  # poppler-utils come with `scripts/setup --browser`
        text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                              text=True, check=True, timeout=30).stdout
        assert order_number in text and "Hydraulic hose DN10" in text

    # The buyer receives 8 of 20 hoses, then the other 12.
    _receive(buyer, order_id, "8", "Partially received", receipts=1)
    shot(buyer, tmp_path, "sourcing-03-partially-received")
    _receive(buyer, order_id, "12", "Received", receipts=2)
    expect(buyer.locator("[data-testid=open-quantity]")).to_contain_text("Complete")

    assert browsers.errors == []
