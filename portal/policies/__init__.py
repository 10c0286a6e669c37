"""Who may do what: one rule per action, one module per aggregate, used by views (decorator),
templates (`can(...)`) and services (`enforce(actor, action, obj)`).

    core.py          the registry, can / check / enforce, who-the-actor-is helpers
    account.py       dashboard, account, users, invitations, organisation, audit log
    suppliers.py     supplier links, supplier invitations, customers
    catalog.py       catalog items, categories, cost centres
    agreements.py    price agreements
    orders.py        purchase orders
    invoices.py      the buyer's invoices: approve, dispute, pay, statements
    supplier_invoices.py  the supplier's invoices: draft, issue, credit notes
    rfqs.py          the buyer's RFQs
    quotes.py        the supplier's side of an RFQ: quoting, declining, questions
    budgets.py       budgets
    requisitions.py  requisitions (moves from the domain's transition table)
    approvals.py     inbox, deciding a task, approval policy, delegations
    web.py           require / authorize / install (the request-bound edge)
"""

from __future__ import annotations

from portal.policies import (  # noqa: F401  (registers rules)
    account,
    agreements,
    approvals,
    budgets,
    catalog,
    integration,
    invoices,
    orders,
    price_proposals,
    quotes,
    requisitions,
    rfqs,
    supplier_invoices,
    suppliers,
)
from portal.policies.core import RULES, can, check, enforce, rule
from portal.policies.web import authorize, install, require

__all__ = ["RULES", "authorize", "can", "check", "enforce", "install", "require", "rule"]
