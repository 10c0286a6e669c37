"""A blocking budget in the browser: the admin sets a small budget with the policy "block" on a
cost centre; the buyer raises more than it holds; the approver sees the budget impact beside the
decision buttons before deciding, and approving is refused with the shortfall: the requisition
stays pending and nothing is reserved.

The test makes its own cost centre, so it needs no budget from the demo world and cannot
collide with one (periods of a cost centre never overlap).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from portal.services.demo import USERS
from tests.e2e.flows import (
    add_catalog_line,
    amount,
    create_draft,
    inbox_row,
    open_inbox,
    shot,
    submit_from_editor,
)

pytestmark = pytest.mark.browser

ADMIN, BUYER, APPROVER = "admin@acme.example", "buyer@acme.example", "approver@acme.example"
NAMES = {email: name for _org, email, name, *_rest in USERS}

# 1 x 459.00 net (VAT 23 %: 564.57 gross) against a budget of 100.00: 359.00 short.
BUDGET = "100.00"
SHORTFALL = re.compile(
    # Amounts are written the viewer's way (English: Babel's PLN459.00).
    r"The budget does not cover this: PLN459\.00 requested, PLN100\.00 available, "
    r"PLN359\.00 short\."
)
IMPACT = re.compile(r"available\s+\S*100\.00\S*\s+→\s+\S*359\.00\S*\s+after approval")


def test_a_blocking_budget_refuses_the_approval_with_the_shortfall(browsers, tmp_path):
    code = f"E2E-{uuid.uuid4().hex[:6].upper()}"
    cc_name = "Prototypes"
    cc_label = f"{code} · {cc_name}"
    budget_name = f"{code} tight"

    # ---- The admin adds a cost centre (managed by the approver) and a small blocking budget.
    admin = browsers.open(ADMIN)
    admin.goto("/cost-centers/")
    admin.click("[data-testid=new-cost-center]")
    admin.fill("#code", code)
    admin.fill("#name", cc_name)
    admin.select_option("#manager_id", label=NAMES[APPROVER])
    admin.get_by_role("button", name="Add cost centre").click()
    admin.wait_for_url(re.compile(r"/cost-centers/$"))
    expect(admin.locator("#flash")).to_contain_text(f"Cost centre {code} added.")

    admin.locator("nav.sidebar a[href='/budgets/']").click()
    admin.locator("main a[href='/budgets/new']").first.click()
    admin.wait_for_url(re.compile(r"/budgets/new$"))
    admin.select_option("#cost_center_id", label=cc_label)
    admin.fill("#name", budget_name)
    admin.select_option("#period_kind", "year")
    # Requisitions draw on the budget of the (UTC) day they are submitted.
    admin.fill("#year", str(datetime.now(UTC).year))
    admin.fill("#amount", BUDGET)
    admin.select_option("#currency", "PLN")
    admin.select_option("#overrun_policy", "block")
    admin.get_by_role("button", name="Create budget").click()
    admin.wait_for_url(re.compile(r"/budgets/\d+$"))
    budget_url = admin.url
    expect(admin.locator("#flash")).to_contain_text(f"Budget “{budget_name}” created.")
    available = admin.locator(".stat", has_text="Available").locator(".value")
    expect(available).to_have_text(amount(BUDGET))

    # ---- The buyer asks for more than the budget holds, and is warned before submitting.
    buyer = browsers.open(BUYER)
    draft = create_draft(buyer, title=f"Headsets for the lab {code}", cost_center_label=cc_label)
    add_catalog_line(buyer, query="słuchawki", sku="IT-SLUCH-ANC", quantity="1")
    expect(buyer.locator("[data-testid=total-net]")).to_have_text(amount("459.00"))
    submit_from_editor(buyer, draft)
    impact = buyer.locator("[data-testid=budget-impact]")
    expect(impact).to_contain_text(f"Budget {budget_name}")
    expect(impact).to_have_text(IMPACT)
    expect(impact).to_contain_text("Over budget: approval will be refused.")
    steps = buyer.locator("[data-testid=approval-step]")
    expect(steps).to_have_count(1)
    expect(steps.first).to_contain_text(NAMES[APPROVER])

    # ---- The approver sees the impact beside the buttons, tries to approve: refused.
    approver = browsers.open(APPROVER)
    open_inbox(approver)
    row = inbox_row(approver, draft.number)
    expect(row).to_have_count(1)
    row_impact = row.locator("[data-testid=budget-impact]")
    expect(row_impact).to_be_visible()
    expect(row_impact).to_have_text(IMPACT)
    expect(row_impact).to_contain_text("Over budget: approval will be refused.")
    expect(row_impact).to_have_class(re.compile(r"\bexceeds\b"))
    shot(approver, tmp_path, "05-inbox-budget-impact")

    row.locator("[data-testid=approve]").click()
    flash = approver.locator("#flash .flash-error")
    expect(flash).to_have_text(SHORTFALL)
    # The row is still waiting for a decision: not replaced by a result.
    expect(approver.locator("[data-testid=inbox-done]", has_text=draft.number)).to_have_count(0)
    expect(row.locator("[data-testid=approve]")).to_be_visible()
    shot(approver, tmp_path, "06-inbox-approval-refused")

    # On the requisition page the same figures stand beside the decision buttons.
    row.get_by_role("link", name=draft.number).click()
    approver.wait_for_url(re.compile(rf"/requisitions/{draft.id}$"))
    panel = approver.locator("[data-testid=decide-panel]")
    expect(panel.locator("[data-testid=budget-impact]")).to_have_text(IMPACT)
    expect(approver.locator(".doc-kicker [data-testid=status]")).to_have_text("Pending approval")
    panel.locator("[data-testid=approve]").click()
    expect(approver.locator("#flash .flash-error")).to_have_text(SHORTFALL)
    shot(approver, tmp_path, "07-requisition-approval-refused")
    approver.reload()
    expect(approver.locator(".doc-kicker [data-testid=status]")).to_have_text("Pending approval")
    expect(approver.locator("[data-testid=decide-panel] [data-testid=approve]")).to_be_visible()
    expect(approver.locator("[data-testid=approval-step]").first).to_contain_text(
        "Awaiting decision")

    # ---- Nothing was reserved: the budget still has all of it available.
    admin.goto(budget_url)
    expect(available).to_have_text(amount(BUDGET))

    # The refusals answered 409 (shown as messages); anything else would be a real error.
    unexpected = [e for e in browsers.errors if "409" not in e]
    assert unexpected == []
