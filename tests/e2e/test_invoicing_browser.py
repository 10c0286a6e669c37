"""Invoicing in real browsers (issue 11): Acme's buyer receives the hydraulic oil Polbud
delivered (the demo's acknowledged order, straight from the price agreement); Polbud invoices
what was received, issues the invoice and downloads its PDF; Acme's approver approves it for
payment; Acme's admin records a partial and then the final payment; the aging view shows the
invoice's amount owed to Polbud while it is open, and not once it is paid.

The live server's demo world is shared by the browser tests: the test reads the aging row as
it finds it and compares it with itself, so other tests' invoices do not matter.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.flows import shot

pytestmark = pytest.mark.timeout(180)

BUYER, APPROVER, ADMIN = "buyer2@acme.example", "approver@acme.example", "admin@acme.example"
POLBUD = "sales@polbud.example"


def _number(text: str) -> Decimal:
    """The amount in a money text such as "2,789.64 zł" or "PLN 2,789.64"."""
    digits = re.sub(r"[^\d.,-]", "", text).replace(",", "")
    return Decimal(digits)


def _receive_the_oil(buyer: Page) -> int:
    """The acknowledged Polbud order of Acme (the hydraulic oil), received in full; its id."""
    buyer.goto("/orders/?view=all")
    row = buyer.locator("[data-testid=order-row]", has_text="Polbud").filter(has_text="Acknowledged").first
    row.get_by_role("link").first.click()
    buyer.wait_for_url(re.compile(r"/orders/\d+$"))
    order_id = int(re.search(r"/orders/(\d+)$", buyer.url).group(1))
    line = buyer.get_by_label("Received now: line 1")
    line.fill("12")
    buyer.locator("[data-testid=record-receipt]").click()
    expect(buyer.locator("[data-testid=receipt-row]")).to_have_count(1)
    buyer.reload()
    expect(buyer.locator("[data-testid=order-status]")).to_have_text("Received")
    return order_id


def _aging_total(page: Page, supplier: str) -> Decimal:
    """What the aging report says is owed to `supplier` (0 without a row)."""
    page.goto("/invoices/aging")
    expect(page.locator("h1")).to_have_text("Aging")
    row = page.locator("[data-testid=aging-row]", has_text=supplier)
    if row.count() == 0:
        return Decimal(0)
    return _number(row.locator("td strong").first.inner_text())


def _issue_invoice(polbud: Page, order_number: str) -> tuple[int, str, Decimal]:
    """From New invoice: Acme, the received order, the draft, issued. Its id, number, gross."""
    polbud.goto("/supplier/invoices/new")
    polbud.locator("[data-testid=invoice-customer]", has_text="Acme").get_by_role("link").click()
    order = polbud.locator("[data-testid=invoiceable-order]", has_text=order_number)
    expect(order).to_have_count(1)
    order.locator("input[type=checkbox]").check()
    polbud.locator("[data-testid=create-draft]").click()
    polbud.wait_for_url(re.compile(r"/supplier/invoices/\d+$"))
    expect(polbud.locator("[data-testid=draft-line]")).to_have_count(1)
    polbud.locator("[data-testid=issue-open]").click()
    polbud.locator("[data-testid=issue]").click()
    number = polbud.locator("[data-testid=invoice-number]")
    expect(number).to_have_text(re.compile(r"^FV/\d{4}/\d{6}$"))
    invoice_id = int(re.search(r"/supplier/invoices/(\d+)$", polbud.url).group(1))
    gross = _number(polbud.locator("[data-testid=gross]").inner_text())
    return invoice_id, number.inner_text().strip(), gross


def _pay(admin: Page, invoice_id: int, amount: str | None, status: str) -> None:
    admin.goto(f"/invoices/{invoice_id}")
    form = admin.locator("[data-testid=payment-form]")
    if amount is not None:
        form.locator("input[name=amount]").fill(amount)
    form.locator("input[name=reference]").fill(f"E2E transfer {amount or 'rest'}")
    form.locator("[data-testid=record-payment]").click()
    expect(admin.locator(".flash").first).to_contain_text("The payment is recorded")
    expect(admin.locator("[data-testid=invoice-status]").first).to_contain_text(status)


def test_supplier_invoices_a_received_order_and_the_buyer_pays_it(browsers, tmp_path: Path):
    buyer = browsers.open(BUYER)
    order_id = _receive_the_oil(buyer)
    order_number = buyer.locator(".doc-kicker .doc-number").first.inner_text().strip()

    admin = browsers.open(ADMIN)
    owed_before = _aging_total(admin, "Polbud")

    # Polbud invoices what was received, issues it and downloads the stored PDF.
    polbud = browsers.open(POLBUD)
    invoice_id, number, gross = _issue_invoice(polbud, order_number)
    shot(polbud, tmp_path, "invoicing-01-issued")
    with polbud.expect_download() as download:
        polbud.locator("[data-testid=download-pdf]").first.click()
    pdf = Path(download.value.path())
    assert pdf.read_bytes().startswith(b"%PDF-")
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                              text=True, check=True, timeout=30).stdout
        assert number in text and order_number in text

    # The buyer's side: the invoice is there, owed; the approver approves it for payment.
    assert _aging_total(admin, "Polbud") == owed_before + gross
    approver = browsers.open(APPROVER)
    approver.goto(f"/invoices/{invoice_id}")
    expect(approver.locator("[data-testid=invoice-number]")).to_have_text(number)
    approver.locator("[data-testid=approve]").first.click()
    expect(approver.locator(".flash").first).to_contain_text("approved for payment")

    # The admin pays part of it, then the rest (the form offers what is left).
    part = (gross / 3).quantize(Decimal("0.01"))
    _pay(admin, invoice_id, str(part), "Partially paid")
    expect(admin.locator("[data-testid=amount-due]")).to_contain_text(f"{gross - part:,.2f}")
    assert _aging_total(admin, "Polbud") == owed_before + gross - part
    shot(admin, tmp_path, "invoicing-02-partially-paid")
    _pay(admin, invoice_id, None, "Paid")
    assert _aging_total(admin, "Polbud") == owed_before
    shot(admin, tmp_path, "invoicing-03-aging")

    # Polbud reads the same status on its side.
    polbud.goto(f"/supplier/invoices/{invoice_id}")
    expect(polbud.locator("[data-testid=invoice-status]").first).to_contain_text("Paid")
    assert order_id
    assert browsers.errors == []
