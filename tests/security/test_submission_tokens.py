"""Every create form of the URL map carries a one-time submission token (issue 8, point 24).

Driven by the URL map: a POST route whose name says it creates (new…, add…, invite…, import…,
comment, attach, duplicate, or the delegations page, which adds one) must be marked `@creates`
(portal/blueprints/once.py), and the page that shows its form, signed in as someone allowed
to use it, must render the token inside that very form. A new create route fails here until
it is marked and its form carries the token.
"""

from __future__ import annotations

import re

import pytest
from flask import url_for

from portal.blueprints.once import OnceForm, create_views
from tests.security.conftest import ROLE_USERS
from tests.security.routes import LINK_OF, endpoints, route_table, url_values
from tests.security.test_role_matrix import EXPECTED, LOGIN

ROUTES = route_table()
CREATING = {"new", "add", "create", "invite", "import", "comment", "attach", "duplicate"}
# Pages that add a record although their name does not say so.
ALSO_CREATING = {
    "approvals.delegations": "the delegations page adds a delegation",
    "orders.from_agreements": "ordering from price agreements issues purchase orders",
    "rfqs.amend": "an amendment is numbered and sent to every invited supplier: twice is two",
    "supplier.propose": "a price-list upload makes a proposal the customer is told of",
    "invoices.pay": "a payment recorded twice would be paid twice",
    "supplier.invoice_credit_note": "a credit note is numbered and reduces what the buyer owes: twice is two",
}
# Create routes of people not signed in: their single-use invitation token is the guard.
NOT_SIGNED_IN = {
    "invitations.accept": "accepting a user invitation uses the invitation up",
    "supplier.join": "joining from a supplier invitation uses the invitation up",
}
CREATE_ROUTES = sorted(
    e for e, (_, methods) in ROUTES.items()
    if "POST" in methods and e not in NOT_SIGNED_IN
    and (CREATING & set(e.rpartition(".")[2].split("_")) or e in ALSO_CREATING)
)
# Where the form of a POST-only create route is shown.
FORM_PAGES = {
    "catalog.add_to_requisition": "catalog.detail",
    "requisitions.add_line": "requisitions.edit",
    "requisitions.attach": "requisitions.detail",
    "requisitions.comment": "requisitions.detail",
    "requisitions.duplicate": "requisitions.detail",
    "rfqs.add_line": "rfqs.detail",
    "rfqs.amend": "rfqs.detail",
    "rfqs.attach": "rfqs.detail",
    "rfqs.invite": "rfqs.detail",
    "supplier.question_add": "supplier.rfq",
    "orders.from_agreements": "orders.for_requisition",
    "orders.add_receipt": "orders.detail",
    "supplier.propose": "supplier.customer",
    "invoices.pay": "invoices.detail",
    "supplier.invoice_credit_note": "supplier.invoice",
}


# Pages that show the create form only for an object chosen in the query string: endpoint ->
# (sample, organisation) -> the query.
FORM_QUERY = {
    # New invoice: the form lists the chosen customer's received orders (invoicing_sample
    # leaves one open on Acme's link).
    "supplier.invoice_new": lambda sample, org: {"customer": sample.ids["link"][LINK_OF[org]]},
}


def _allowed_role(endpoint: str) -> str:
    for role, status in EXPECTED.get(endpoint, {}).items():
        if role != "anonymous" and status not in (403, 404, LOGIN):
            return role
    raise AssertionError(f"nobody may use {endpoint}")


def test_the_create_routes_are_found():
    assert len(CREATE_ROUTES) >= 12, CREATE_ROUTES
    assert {"requisitions.new", "requisitions.add_line", "requisitions.comment", "catalog.new",
            "catalog.new_category", "cost_centers.new", "budgets.new", "admin.invite",
            "suppliers.invite", "approvals.delegations", "rfqs.new", "rfqs.add_line",
            "rfqs.invite", "rfqs.attach", "supplier.question_add", "orders.from_agreements",
            "orders.add_receipt"} <= set(CREATE_ROUTES)


def test_every_create_route_is_marked_and_names_a_once_form(app):
    marked = create_views(app)
    assert sorted(marked) == CREATE_ROUTES
    assert all(issubclass(form, OnceForm) for form in marked.values())


def _forms_posting_to(html: str, url: str, page: str) -> list[str]:
    """The <form>s of `html` (the page at `page`) that post to `url` (no action: the page)."""
    found = []
    for form in re.findall(r"<form\b.*?</form>", html, re.S):
        action = re.search(r'\baction="([^"]*)"', form.split(">", 1)[0])
        if (action.group(1) if action else page) == url:
            found.append(form)
    return found


@pytest.mark.parametrize("endpoint", CREATE_ROUTES)
def test_every_create_form_carries_a_fresh_submission_token(app, sample, endpoint):
    rule, _ = endpoints(app)[endpoint]
    email = ROLE_USERS[_allowed_role(endpoint)]
    values = url_values(sample, endpoint, rule, sample.org_key(email), email)
    with app.test_request_context():
        action = url_for(endpoint, **values)
        query = FORM_QUERY[endpoint](sample, sample.org_key(email)) if endpoint in FORM_QUERY else {}
        page = url_for(FORM_PAGES.get(endpoint, endpoint), **values, **query)
    client = sample.login(app.test_client(), email)
    tokens = []
    for _ in range(2):
        response = client.get(page)
        assert response.status_code == 200, f"{page}: {response.status_code}"
        forms = _forms_posting_to(response.text, action, page)
        assert forms, f"{page} shows no form posting to {action}"
        found = [re.search(r'name="submission_token"[^>]*value="([^"]+)"', form) for form in forms]
        assert all(found), f"a form posting to {action} on {page} has no submission token"
        tokens.append(found[0].group(1))
    assert tokens[0] != tokens[1], "each showing of the form gets a token of its own"
