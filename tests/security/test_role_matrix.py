"""Role x endpoint: the status every role gets from every route (GET; POST without data for
POST-only routes), with URL arguments naming objects of the signed-in user's own organisation.

A new endpoint fails `test_every_endpoint_has_an_entry` until it has a row in EXPECTED. To add
one, read the view: what does each role get? Columns: anonymous, buyer (buyer@acme), approver
(approver@acme), admin (admin@acme), supplier_admin (sales@nordwind). Values: a status code,
LOGIN (302 to the sign-in page) or R (302 anywhere else: done, or sent to the right page).
A supplier's URL for a buyer-only object (a requisition, a budget) names Acme's object, so it
answers 404 before any role check.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from flask import url_for

from tests.security.conftest import ROLE_USERS, body_text, restore_sample
from tests.security.routes import endpoints, missing_providers, url_values

LOGIN = "login"
R = 302
ROLES = ("anonymous", "buyer", "approver", "admin", "supplier_admin")


def row(anonymous, buyer, approver, admin, supplier_admin) -> dict:
    return dict(zip(ROLES, (anonymous, buyer, approver, admin, supplier_admin), strict=True))


# fmt: off
EXPECTED = {
    # admin
    "admin.audit": row(LOGIN, 403, 403, 200, 200),
    "admin.audit_export": row(LOGIN, 403, 403, 200, 200),
    "admin.invitation_resend": row(LOGIN, 403, 403, R, R),  # POST
    "admin.invitation_revoke": row(LOGIN, 403, 403, R, R),  # POST
    "admin.invite": row(LOGIN, 403, 403, 200, 200),
    "admin.organization": row(LOGIN, 403, 403, 200, 200),
    "admin.user": row(LOGIN, 403, 403, 200, 200),
    "admin.user_deactivate": row(LOGIN, 403, 403, R, R),  # POST
    "admin.user_reactivate": row(LOGIN, 403, 403, 403, 403),  # POST
    "admin.user_roles": row(LOGIN, 403, 403, 422, 422),  # POST
    "admin.users": row(LOGIN, 403, 403, 200, 200),
    # integration settings: org admins of buyers and suppliers (policy integration.manage);
    # a secret is shown in the answer to the POST that makes it (rotate: 200, no redirect)
    "admin.api_token_new": row(LOGIN, 403, 403, 200, 200),
    "admin.api_token_revoke": row(LOGIN, 403, 403, R, R),  # POST
    "admin.api_tokens": row(LOGIN, 403, 403, 200, 200),
    "admin.webhook": row(LOGIN, 403, 403, 200, 200),
    "admin.webhook_delete": row(LOGIN, 403, 403, R, R),  # POST
    "admin.webhook_disable": row(LOGIN, 403, 403, R, R),  # POST
    "admin.webhook_edit": row(LOGIN, 403, 403, 200, 200),
    "admin.webhook_enable": row(LOGIN, 403, 403, R, R),  # POST
    "admin.webhook_new": row(LOGIN, 403, 403, 200, 200),
    "admin.webhook_redeliver": row(LOGIN, 403, 403, R, R),  # POST
    "admin.webhook_rotate": row(LOGIN, 403, 403, 200, 200),  # POST
    "admin.webhook_test": row(LOGIN, 403, 403, R, R),  # POST
    "admin.webhooks": row(LOGIN, 403, 403, 200, 200),
    # agreements (the sample agreement of Acme is with Nordwind: it reads it, as supplier)
    "agreements.customer": row(LOGIN, 403, 403, 403, 200),
    "agreements.detail": row(LOGIN, 200, 200, 200, 403),
    "agreements.edit": row(LOGIN, 403, 403, 200, 403),
    "agreements.end": row(LOGIN, 403, 403, R, 403),  # POST
    "agreements.export": row(LOGIN, 200, 200, 200, 403),
    "agreements.index": row(LOGIN, 200, 200, 200, 403),
    "agreements.new": row(LOGIN, 403, 403, 200, 403),
    # price-list proposals (Acme's sample proposal is Nordwind's, open): buyers read, the admin
    # decides; the supplier proposes on its customer page and reads it on its own pages
    "agreements.proposal": row(LOGIN, 200, 200, 200, 403),
    "agreements.proposals": row(LOGIN, 200, 200, 200, 403),
    # approvals
    "approvals.badge": row(286, 286, 200, 200, 286),
    "approvals.bulk": row(LOGIN, 403, R, R, 403),  # POST
    "approvals.decide": row(LOGIN, 403, 422, 422, 404),  # POST
    "approvals.delegation_revoke": row(LOGIN, 403, R, 403, 404),  # POST
    "approvals.delegations": row(LOGIN, 403, 200, 200, 403),
    "approvals.email_decision": row(LOGIN, 403, 200, 200, 404),
    "approvals.inbox": row(LOGIN, 403, 200, 200, 403),
    "approvals.policy": row(LOGIN, 403, 403, 200, 403),
    "approvals.policy_preview": row(LOGIN, 403, 403, 422, 403),
    "approvals.policy_settings": row(LOGIN, 403, 403, 422, 403),  # POST
    "approvals.policy_version": row(LOGIN, 403, 403, 200, 404),
    "approvals.request_raise": row(LOGIN, 403, R, R, 404),  # POST
    "approvals.step_delete": row(LOGIN, 403, 403, R, 404),  # POST
    "approvals.step_edit": row(LOGIN, 403, 403, 200, 404),
    "approvals.step_move": row(LOGIN, 403, 403, 400, 404),  # POST
    "approvals.step_new": row(LOGIN, 403, 403, 200, 403),
    # auth
    "auth.account": row(LOGIN, 200, 200, 200, 200),
    "auth.change_password": row(LOGIN, 422, 422, 422, 422),  # POST
    "auth.forgot_password": row(200, 200, 200, 200, 200),
    "auth.login": row(200, R, R, R, R),
    "auth.logout": row(LOGIN, LOGIN, LOGIN, LOGIN, LOGIN),  # POST
    "auth.reset_password": row(200, 200, 200, 200, 200),
    "auth.set_language": row(R, R, R, R, R),  # POST
    # budgets
    "budgets.close": row(LOGIN, 403, 403, R, 404),  # POST
    "budgets.detail": row(LOGIN, 403, 200, 200, 404),
    "budgets.export": row(LOGIN, 403, 200, 200, 404),
    "budgets.import_csv": row(LOGIN, 403, 403, 200, 403),
    "budgets.list_export": row(LOGIN, 403, 200, 200, 403),
    "budgets.import_sample": row(LOGIN, 403, 403, 200, 403),
    "budgets.index": row(LOGIN, 403, 200, 200, 403),
    "budgets.new": row(LOGIN, 403, 403, 200, 403),
    "budgets.revise": row(LOGIN, 403, 403, 422, 404),  # POST (empty form: errors in the panel)
    # catalog
    "catalog.add_to_requisition": row(LOGIN, 422, 403, 403, 404),  # POST
    "catalog.categories": row(LOGIN, 403, 403, 200, 403),
    "catalog.deactivate": row(LOGIN, 403, 403, R, 404),  # POST
    "catalog.deactivate_category": row(LOGIN, 403, 403, R, 404),  # POST
    "catalog.detail": row(LOGIN, 200, 200, 200, 404),
    "catalog.edit": row(LOGIN, 403, 403, 200, 404),
    "catalog.edit_category": row(LOGIN, 403, 403, 200, 404),
    "catalog.export": row(LOGIN, 200, 200, 200, 403),
    "catalog.import_items": row(LOGIN, 403, 403, 200, 403),
    "catalog.index": row(LOGIN, 200, 200, 200, 403),
    "catalog.new": row(LOGIN, 403, 403, 200, 403),
    "catalog.new_category": row(LOGIN, 403, 403, 200, 403),
    "catalog.reactivate": row(LOGIN, 403, 403, 403, 404),  # POST
    "catalog.reactivate_category": row(LOGIN, 403, 403, 403, 404),  # POST
    "catalog.sample_csv": row(LOGIN, 403, 403, 200, 403),
    # cost_centers
    "cost_centers.deactivate": row(LOGIN, 403, 403, R, 404),  # POST
    "cost_centers.edit": row(LOGIN, 403, 403, 200, 404),
    "cost_centers.index": row(LOGIN, 403, 403, 200, 403),
    "cost_centers.new": row(LOGIN, 403, 403, 200, 403),
    "cost_centers.reactivate": row(LOGIN, 403, 403, 403, 404),  # POST
    # dashboard
    "dashboard.index": row(LOGIN, 200, 200, 200, 200),
    # invitations
    "invitations.accept": row(200, 200, 200, 200, 200),
    # invoices (Acme's sample invoice is Nordwind's, issued and awaiting approval, one unit
    # credited; payments name the approved, partly paid one; Nordwind (German) has no KSeF XML;
    # the statement names the Acme-Polbud link). Everyone of the buying company reads;
    # approvers and admins approve, buyers too dispute, admins record payments.
    "invoices.aging": row(LOGIN, 200, 200, 200, 403),
    "invoices.approve": row(LOGIN, 403, R, R, 403),  # POST (matched: approved)
    "invoices.detail": row(LOGIN, 200, 200, 200, 403),
    "invoices.dispute": row(LOGIN, 422, 422, 422, 403),  # POST (no reason)
    "invoices.export": row(LOGIN, 200, 200, 200, 403),
    "invoices.index": row(LOGIN, 200, 200, 200, 403),
    "invoices.pay": row(LOGIN, 403, 403, 422, 403),  # POST (no date, no amount)
    "invoices.pdf": row(LOGIN, 200, 200, 200, 403),
    "invoices.statement": row(LOGIN, 200, 200, 200, 403),
    "invoices.statement_pdf": row(LOGIN, 200, 200, 200, 403),
    "invoices.xml": row(LOGIN, 404, 404, 404, 403),
    # notifications
    "notifications.badge": row(286, 200, 200, 200, 200),
    "notifications.index": row(LOGIN, 200, 200, 200, 200),
    "notifications.open": row(LOGIN, R, R, R, R),  # POST
    "notifications.read_all": row(LOGIN, R, R, R, R),  # POST
    # orders (the sample order is issued to Nordwind; orders.receipt names one partly received;
    # the requisition of orders.for_requisition/from_agreements is approved and covered by
    # price agreements). Everyone of the buying company reads; buyers and admins act.
    "orders.add_receipt": row(LOGIN, 422, 403, 422, 403),  # POST (no date, no quantities)
    "orders.accept_proposal": row(LOGIN, R, 403, R, 403),  # POST (no proposal: refused, flash)
    "orders.cancel": row(LOGIN, 422, 403, 422, 403),  # POST (no reason)
    "orders.commitments_page": row(LOGIN, 200, 200, 200, 403),
    "orders.detail": row(LOGIN, 200, 200, 200, 403),
    "orders.document": row(LOGIN, 200, 200, 200, 403),
    "orders.export": row(LOGIN, 200, 200, 200, 403),
    "orders.for_requisition": row(LOGIN, 200, 200, 200, 404),
    "orders.from_agreements": row(LOGIN, R, 403, R, 404),  # POST (the buyer's issues the orders)
    "orders.index": row(LOGIN, 200, 200, 200, 403),
    "orders.pdf": row(LOGIN, 200, 200, 200, 403),
    "orders.receipt": row(LOGIN, 200, 200, 200, 403),
    "orders.receipts": row(LOGIN, 200, 200, 200, 403),
    "orders.refuse_proposal": row(LOGIN, 422, 403, 422, 403),  # POST (no reason)
    "orders.revise": row(LOGIN, 200, 403, 200, 403),
    # requisitions
    "requisitions.add_line": row(LOGIN, 422, 403, 403, 404),  # POST
    "requisitions.all": row(LOGIN, 403, 200, 200, 403),
    "requisitions.attach": row(LOGIN, 422, 422, 422, 404),  # POST
    "requisitions.cancel": row(LOGIN, R, 403, 403, 404),  # POST
    "requisitions.catalog_search": row(LOGIN, R, 403, 403, 404),
    "requisitions.comment": row(LOGIN, 422, 422, 422, 404),  # POST
    "requisitions.detail": row(LOGIN, 200, 200, 200, 404),
    "requisitions.download": row(LOGIN, 200, 200, 200, 404),
    "requisitions.duplicate": row(LOGIN, R, 403, 403, 404),  # POST
    "requisitions.edit": row(LOGIN, 200, 403, 403, 404),
    "requisitions.export": row(LOGIN, 200, 200, 200, 403),
    "requisitions.index": row(LOGIN, 200, R, R, 403),
    "requisitions.line": row(LOGIN, R, 403, 403, 404),
    "requisitions.line_edit": row(LOGIN, R, 403, 403, 404),
    "requisitions.line_prefill": row(LOGIN, R, 403, 403, 404),
    "requisitions.new": row(LOGIN, 200, 403, 403, 403),
    "requisitions.remove_line": row(LOGIN, R, 403, 403, 404),  # POST
    "requisitions.submit": row(LOGIN, R, 403, 403, 404),  # POST
    # rfqs (the sample RFQ is Acme's, open and sealed, Nordwind and Polbud invited: a supplier
    # reads it only on its own pages, so the buyer's pages answer it 403; the routes changing a
    # draft name Acme's draft, to which nobody is invited: 404 for a supplier)
    "rfqs.add_line": row(LOGIN, 422, 403, 422, 404),  # POST
    "rfqs.amend": row(LOGIN, 422, 403, 422, 403),  # POST
    "rfqs.answer": row(LOGIN, 422, 403, 422, 403),  # POST
    "rfqs.attach": row(LOGIN, 422, 403, 422, 404),  # POST
    "rfqs.award": row(LOGIN, R, 403, R, 403),  # POST (sealed, still open: refused, flash)
    "rfqs.cancel": row(LOGIN, 422, 403, 422, 403),  # POST (no reason)
    "rfqs.close": row(LOGIN, R, 403, R, 403),  # POST (before the deadline: refused, flash)
    "rfqs.compare": row(LOGIN, 200, 200, 200, 403),
    "rfqs.compare_csv": row(LOGIN, R, R, R, 403),  # sealed: back to the comparison page
    # the sample RFQ is sealed and unopened: its offer documents are closed like its prices
    "rfqs.quote_file": row(LOGIN, 404, 404, 404, 403),
    "rfqs.detail": row(LOGIN, 200, 200, 200, 403),
    "rfqs.download": row(LOGIN, 200, 200, 200, 403),
    "rfqs.edit": row(LOGIN, 200, 403, 200, 404),
    "rfqs.index": row(LOGIN, 200, 200, 200, 403),
    "rfqs.export": row(LOGIN, 200, 200, 200, 403),
    "rfqs.invite": row(LOGIN, 422, 403, 422, 404),  # POST
    "rfqs.new": row(LOGIN, 200, 403, 200, 403),
    "rfqs.open_quotes": row(LOGIN, R, 403, R, 403),  # POST (before the deadline: refused)
    "rfqs.publish": row(LOGIN, 422, 403, 422, 404),  # POST (no deadline)
    "rfqs.remove_line": row(LOGIN, R, 403, R, 404),  # POST (rows restored before each role)
    "rfqs.uninvite": row(LOGIN, 404, 403, 404, 404),  # POST (names no invitation)
    # supplier
    "supplier.customer": row(LOGIN, 403, 403, 403, 200),
    "supplier.customers": row(LOGIN, 403, 403, 403, 200),
    "supplier.propose": row(LOGIN, 403, 403, 403, 422),  # POST (no file)
    "supplier.proposal": row(LOGIN, 403, 403, 403, 200),
    "supplier.proposal_template": row(LOGIN, 403, 403, 403, 200),
    "supplier.withdraw_proposal": row(LOGIN, 403, 403, 403, R),  # POST
    "supplier.join": row(200, 200, 200, 200, 200),
    # supplier: invoices (Nordwind's issued invoice to Acme; the routes changing a draft name
    # its draft; the statement names the Acme-Nordwind link)
    "supplier.invoice": row(LOGIN, 403, 403, 403, 200),
    "supplier.invoice_aging": row(LOGIN, 403, 403, 403, 200),
    "supplier.invoice_credit_note": row(LOGIN, 403, 403, 403, 422),  # POST (no reason)
    "supplier.invoice_delete": row(LOGIN, 403, 403, 403, R),  # POST
    "supplier.invoice_edit": row(LOGIN, 403, 403, 403, 422),  # POST (no lines)
    "supplier.invoice_issue": row(LOGIN, 403, 403, 403, R),  # POST
    "supplier.invoice_new": row(LOGIN, 403, 403, 403, 200),
    "supplier.invoice_pdf": row(LOGIN, 403, 403, 403, 200),
    "supplier.invoice_totals": row(LOGIN, 403, 403, 403, R),  # POST (htmx only: else to the invoice)
    "supplier.invoice_xml": row(LOGIN, 403, 403, 403, 404),
    "supplier.invoices": row(LOGIN, 403, 403, 403, 200),
    "supplier.invoices_export": row(LOGIN, 403, 403, 403, 200),
    "supplier.statement": row(LOGIN, 403, 403, 403, 200),
    "supplier.statement_pdf": row(LOGIN, 403, 403, 403, 200),
    # supplier: RFQs and quotes (Acme's open RFQ; Nordwind's submitted quote, its file and
    # revision) and orders (Acme's order to Nordwind)
    "supplier.order": row(LOGIN, 403, 403, 403, 200),
    "supplier.order_acknowledge": row(LOGIN, 403, 403, 403, R),  # POST
    "supplier.order_document": row(LOGIN, 403, 403, 403, 200),
    "supplier.order_pdf": row(LOGIN, 403, 403, 403, 200),
    "supplier.order_propose": row(LOGIN, 403, 403, 403, 422),  # POST (no date)
    "supplier.orders": row(LOGIN, 403, 403, 403, 200),
    "supplier.orders_export": row(LOGIN, 403, 403, 403, 200),
    "supplier.question_add": row(LOGIN, 403, 403, 403, 422),  # POST (no question)
    "supplier.quote": row(LOGIN, 403, 403, 403, 200),
    "supplier.quote_confirm": row(LOGIN, 403, 403, 403, R),  # POST (nothing to confirm: flash)
    "supplier.quote_file": row(LOGIN, 403, 403, 403, 200),
    "supplier.quote_file_remove": row(LOGIN, 403, 403, 403, R),  # POST (submitted: refused)
    "supplier.quote_revision": row(LOGIN, 403, 403, 403, 200),
    "supplier.rfq": row(LOGIN, 403, 403, 403, 200),
    "supplier.rfq_decline": row(LOGIN, 403, 403, 403, 200),
    "supplier.rfq_file": row(LOGIN, 403, 403, 403, 200),
    "supplier.rfqs": row(LOGIN, 403, 403, 403, 200),
    # suppliers
    "suppliers.block": row(LOGIN, 403, 403, 422, 403),  # POST
    "suppliers.detail": row(LOGIN, 200, 200, 200, 403),
    "suppliers.export": row(LOGIN, 200, 200, 200, 403),
    "suppliers.index": row(LOGIN, 200, 200, 200, 403),
    "suppliers.invitations": row(LOGIN, 403, 403, 200, 403),
    "suppliers.invite": row(LOGIN, 403, 403, 200, 403),
    "suppliers.resend_invitation": row(LOGIN, 403, 403, R, 404),  # POST
    "suppliers.revoke_invitation": row(LOGIN, 403, 403, R, 404),  # POST
    "suppliers.terms": row(LOGIN, 403, 403, R, 403),  # POST (a field left out keeps the link's value)
    "suppliers.terms_preview": row(LOGIN, 403, 403, 200, 403),
    "suppliers.unblock": row(LOGIN, 403, 403, R, 403),  # POST
}
# fmt: on
# Routes whose first allowed request takes away what the next roles' requests name (the line
# removed, the invoice approved, the draft deleted): the sample rows are put back before each
# role (and, in the isolation suite, before each party's request).
FRESH_PER_ROLE = {"rfqs.remove_line", "invoices.approve", "supplier.invoice_delete"}


def observed(response):
    if response.status_code in (301, 302, 303):
        return LOGIN if urlsplit(response.headers["Location"]).path == "/login" else R
    return response.status_code


def request_as(app, sample, endpoint: str, role: str):
    """The request the matrix makes for `role` on `endpoint`; returns the response."""
    rule, methods = endpoints(app)[endpoint]
    email = ROLE_USERS.get(role)
    org = sample.org_key(email) if email else "acme"
    with app.test_request_context():
        url = url_for(endpoint, **url_values(sample, endpoint, rule, org, email))
    client = app.test_client()
    if email:
        sample.login(client, email)
    return client.open(url, method="GET" if "GET" in methods else "POST")


def _by_token(app, endpoint: str) -> bool:
    return "token" in endpoints(app)[endpoint][0].arguments


def test_every_endpoint_has_an_entry(app):
    routes = set(endpoints(app))
    missing = sorted(routes - set(EXPECTED))
    assert not missing, (
        f"endpoints without a row in EXPECTED ({__file__}): {missing}. Read each view and add "
        "row(anonymous, buyer, approver, admin, supplier_admin) with the status each role gets."
    )
    stale = sorted(set(EXPECTED) - routes)
    assert not stale, f"EXPECTED has rows for endpoints that no longer exist: {stale}"


def test_every_url_argument_can_be_filled(app):
    problems = missing_providers(app)
    assert not problems, "add providers in tests/security/routes.py: " + "; ".join(problems)


@pytest.mark.parametrize("endpoint", sorted(EXPECTED))
def test_role_gets_expected_status(app, sample, endpoint):
    if endpoint not in endpoints(app):
        pytest.fail(f"{endpoint} is in EXPECTED but no longer routed")
    wrong = {}
    for role, expected in EXPECTED[endpoint].items():
        if endpoint in FRESH_PER_ROLE:
            restore_sample()
        response = request_as(app, sample, endpoint, role)
        got = observed(response)
        if got != expected:
            wrong[role] = f"expected {expected}, got {got}"
        elif got == 200 and role in ROLE_USERS and not _by_token(app, endpoint):
            # A page about one's own objects shows nothing of unrelated organisations either.
            # (A token link shows what it was sent for, e.g. the inviting company's offer.)
            body = body_text(response)
            org = sample.org_key(ROLE_USERS[role])
            leaked = sorted(w for w in sample.forbidden_text(org) if w in body)
            if leaked:
                wrong[role] = f"shows other organisations' data: {leaked}"
    assert not wrong, f"{endpoint}: {wrong}"


def test_refusals_render_the_portal_error_page(app, sample):
    response = request_as(app, sample, "admin.users", "buyer")
    assert response.status_code == 403
    assert 'class="error-page"' in response.text
    assert 'class="topbar"' in response.text  # the signed-in layout, not a bare error
