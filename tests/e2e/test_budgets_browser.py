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
    # Amounts are written the viewer's way (English: 459.00 PLN).
    r"The budget does not cover this: 459\.00\sPLN requested, 100\.00\sPLN available, "
    r"359\.00\sPLN short\."
)
# The currency before or after the number, whichever way the viewer's locale writes it.
IMPACT = re.compile(r"available\s+\S*100\.00(\sPLN)?\s+→\s+\S*359\.00(\sPLN)?\s+after approval")


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

    # The refusal shows before any click: Approve is disabled, the block says why and whom to ask.
    expect(row.locator("[data-testid=budget-block]")).to_contain_text(SHORTFALL)
    expect(row.locator("[data-testid=approve-blocked]")).to_be_disabled()
    expect(row.locator("[data-testid=approve]")).to_have_count(0)
    expect(row.locator("[data-testid=request-raise]")).to_be_visible()
    shot(approver, tmp_path, "06-inbox-approval-blocked")

    # On the requisition page the same figures stand beside the decision buttons.
    row.get_by_role("link", name=draft.number).click()
    approver.wait_for_url(re.compile(rf"/requisitions/{draft.id}$"))
    panel = approver.locator("[data-testid=decide-panel]")
    expect(panel.locator("[data-testid=budget-impact]")).to_have_text(IMPACT)
    expect(approver.locator(".doc-kicker [data-testid=status]")).to_have_text("Pending approval")
    expect(panel.locator("[data-testid=approve-blocked]")).to_be_disabled()
    expect(approver.locator("[data-testid=budget-block]")).to_contain_text(SHORTFALL)
    shot(approver, tmp_path, "07-requisition-approval-blocked")
    expect(approver.locator("[data-testid=approval-step]").first).to_contain_text(
        "Awaiting decision")

    # ---- Nothing was reserved: the budget still has all of it available.
    admin.goto(budget_url)
    expect(available).to_have_text(amount(BUDGET))

    # Nothing was refused after a click: the page said so before.
    assert browsers.errors == []


# A figure of 22 characters: more than a tile holds on one line at 1366 px or at 390 px.
HUGE = "123456789012.34"


def _make_budget(admin, code: str, amount_text: str) -> str:
    """A cost centre and a blocking budget of `amount_text` for it; the budget's URL."""
    admin.goto("/cost-centers/")
    admin.click("[data-testid=new-cost-center]")
    admin.fill("#code", code)
    admin.fill("#name", "Wide figures")
    admin.get_by_role("button", name="Add cost centre").click()
    admin.wait_for_url(re.compile(r"/cost-centers/$"))
    admin.goto("/budgets/new")
    admin.select_option("#cost_center_id", label=f"{code} · Wide figures")
    admin.fill("#name", f"{code} wide")
    admin.select_option("#period_kind", "year")
    admin.fill("#year", str(datetime.now(UTC).year))
    admin.fill("#amount", amount_text)
    admin.get_by_role("button", name="Create budget").click()
    admin.wait_for_url(re.compile(r"/budgets/\d+$"))
    return admin.url


def _overflowing(page) -> list:
    return page.evaluate(
        """() => [...document.querySelectorAll('[data-testid=tile-value]')]
               .filter(e => e.scrollWidth > e.clientWidth || e.textContent.includes('…')
                            || getComputedStyle(e).textOverflow === 'ellipsis'
                            // broken over two lines (in the middle of the number) counts too
                            || e.getBoundingClientRect().height > 1.6 * parseFloat(getComputedStyle(e).lineHeight))
               .map(e => e.textContent.trim())""")


@pytest.mark.parametrize(("width", "height"), [(1366, 900), (390, 844)])
def test_budget_tiles_show_whole_figures_and_the_chart_fits(browsers, tmp_path, width, height):
    admin = browsers.open(ADMIN)
    url = _make_budget(admin, f"W{width}-{uuid.uuid4().hex[:4].upper()}", HUGE)
    admin.set_viewport_size({"width": width, "height": height})
    admin.goto(url)
    tiles = admin.locator("[data-testid=tile-value]")
    expect(tiles).to_have_count(5)
    expect(tiles.first).to_contain_text("123,456,789,012.34")
    assert _overflowing(admin) == []
    # The chart for this width is shown (the phone one is narrower, with larger text), whole.
    chart = admin.locator(".burn-wide" if width > 640 else ".burn-narrow")
    expect(chart).to_be_visible()
    box = chart.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width
    assert admin.evaluate("() => document.querySelector('main').scrollWidth") <= width
    shot(admin, tmp_path, f"budget-detail-{width}")
    assert browsers.errors == []
