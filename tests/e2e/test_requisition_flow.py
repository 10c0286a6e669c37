"""Issue 3's browser test: a buyer raises a requisition of three catalog lines and submits it;
the cost centre's manager approves it in one click from the inbox; the buyer sees it approved,
with the timeline of what happened.

Each person works in their own browser context; each test makes its own requisition, so the
tests share the server but not their data.
"""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from portal.services.demo import USERS
from portal.services.demo_catalog import COST_CENTERS
from tests.e2e.flows import (
    add_catalog_line,
    amount,
    create_draft,
    inbox_row,
    open_inbox,
    open_requisition_from_list,
    same_document,
    shot,
    submit_from_editor,
)

pytestmark = pytest.mark.browser

BUYER = "buyer@acme.example"
APPROVER = "approver@acme.example"
NAMES = {email: name for _org, email, name, *_rest in USERS}

# A cost centre of the demo that approver@acme manages: under 10 000 PLN the Acme policy has
# one step, "the cost centre's manager", so the approver alone decides.
CC_CODE, CC_NAME = next(
    (code, name) for code, name, manager in COST_CENTERS["acme"] if manager == APPROVER
)

# (what the buyer types, the SKU they pick, quantity, gross total after adding the line).
# Net = quantity x list price; VAT 23 %: 2 x 149.00 = 298.00 + 68.54 = 366.54;
# 3 x 119.00 = 357.00 + 82.11 = 439.11; 10 x 18.90 = 189.00 + 43.47 = 232.47.
LINES = [
    ("mysz", "IT-MYS-BT", "2", "366.54"),
    ("klawiatura", "IT-KLAW-PL", "3", "805.65"),
    ("papier ksero", "BIU-PAP-A4", "10", "1,038.12"),  # A3 matches too: pick the A4 one
]


def test_buyer_submits_three_catalog_lines_and_the_manager_approves_from_the_inbox(
    browsers, tmp_path
):
    title = f"Peripherals for the new starters {uuid.uuid4().hex[:6]}"

    # ---- The buyer raises the requisition and adds three lines from the catalog.
    buyer = browsers.open(BUYER)
    draft = create_draft(buyer, title=title, cost_center_label=f"{CC_CODE} · {CC_NAME}",
                         justification="Two developers start next month.")
    gross = buyer.locator("[data-testid=total-gross]")
    expect(gross).to_have_text(amount("0.00"))
    previous = gross.inner_text()
    for query, sku, quantity, gross_after in LINES:
        add_catalog_line(buyer, query=query, sku=sku, quantity=quantity)
        # The totals block was swapped out of band with the new row: never typed, live.
        expect(gross).not_to_have_text(previous)
        expect(gross).to_have_text(amount(gross_after))
        previous = gross.inner_text()
    expect(buyer.locator("[data-testid=total-net]")).to_have_text(amount("844.00"))
    expect(buyer.locator("[data-testid=total-vat]")).to_have_text(amount("194.12"))
    shot(buyer, tmp_path, "01-editor-three-lines")

    # A reload shows what was saved, not what the page assembled.
    buyer.reload()
    expect(buyer.locator("[data-testid=line-row]")).to_have_count(3)
    expect(gross).to_have_text(amount("1,038.12"))

    submit_from_editor(buyer, draft)
    steps = buyer.locator("[data-testid=approval-step]")
    expect(steps).to_have_count(1)  # only the manager's step applies under 10 000 PLN
    expect(steps.first).to_contain_text(NAMES[APPROVER])
    expect(buyer.locator("[data-testid=gross]")).to_have_text(amount("1,038.12"))
    expect(buyer.locator(".facts")).to_contain_text(f"Manager: {NAMES[APPROVER]}")

    # ---- The cost centre's manager approves it in one click from the inbox.
    approver = browsers.open(APPROVER)
    open_inbox(approver)
    row = inbox_row(approver, draft.number)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(title)
    expect(row).to_contain_text(NAMES[BUYER])
    expect(row).to_contain_text(CC_CODE)
    expect(row.locator(".inbox-amount")).to_have_text(amount("1,038.12"))
    # The demo may give the cost centre a budget; this small requisition must fit in it (if it
    # stops fitting, the demo budgets changed and this test needs another cost centre).
    expect(row.locator("[data-testid=budget-impact]")).not_to_contain_text("Over budget")
    shot(approver, tmp_path, "02-inbox-before-approval")

    with same_document(approver):  # the row is replaced in place (htmx), no page load
        row.locator("[data-testid=approve]").click()
        done = approver.locator("[data-testid=inbox-done]", has_text=draft.number)
        expect(done).to_be_visible()
        expect(done.locator(".badge")).to_have_text("Approved ✓")
    expect(inbox_row(approver, draft.number)).to_have_count(0)
    expect(approver.locator("#toasts")).to_contain_text(f"{draft.number} approved.")
    assert approver.url.endswith("/approvals/")
    shot(approver, tmp_path, "03-inbox-after-approval")

    # ---- The buyer signs in again and finds it approved, with the story.
    buyer_again = browsers.open(BUYER)
    open_requisition_from_list(buyer_again, draft.number)
    expect(buyer_again.locator(".doc-kicker [data-testid=status]")).to_have_text("Approved")
    expect(buyer_again.locator("[data-testid=approval-step]").first).to_contain_text("Approved")
    timeline = buyer_again.locator("[data-testid=timeline] > li")
    submitted = timeline.filter(has_text="submitted for approval")
    expect(submitted).to_have_count(1)
    expect(submitted).to_contain_text(NAMES[BUYER])
    step_approved = timeline.filter(has_text="approved the step")
    expect(step_approved).to_have_count(1)
    expect(step_approved).to_contain_text(NAMES[APPROVER])
    expect(timeline.filter(has_text="approved the requisition")).to_have_count(1)
    # Oldest first: created, submitted, then the decision.
    texts = timeline.all_inner_texts()
    order = [next(i for i, t in enumerate(texts) if marker in t)
             for marker in ("created the requisition", "submitted for approval",
                            "approved the step")]
    assert order == sorted(order), texts
    shot(buyer_again, tmp_path, "04-requisition-approved")

    assert browsers.errors == []
