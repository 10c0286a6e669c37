"""The URL map as the security suites see it: which endpoints exist, and how to fill in their
URL arguments with the sample objects of a chosen organisation (tests/security/conftest.py).

A new URL argument name needs a provider in ID_PROVIDERS (an object id) or TOKEN_PROVIDERS (a
token route); the suites fail with a message naming the endpoint until it has one.
"""

from __future__ import annotations

from portal.blueprints.problems import API_PREFIX
from tests.security.conftest import Sample, notification_of

# Whose user a <user_id> names: never the signed-in admin, so actions on it are not refused as
# "yourself".
TARGET_USER = {
    "acme": "buyer2@acme.example",
    "globex": "buyer@globex.example",
    "nordwind": "sales2@nordwind.example",
    "polbud": "sales2@polbud.example",
    "solo": "sales2@solo.example",
    "blockt": "sales2@blockt.example",
}
# A supplier link each organisation is party to (and, for the isolation suite, one that the
# viewers of the other side are not party to).
LINK_OF = {
    "acme": "acme-polbud",
    "globex": "globex-nordwind",
    "nordwind": "acme-nordwind",
    "polbud": "acme-polbud",
    "solo": "globex-solo",
    "blockt": "acme-blockt",
}
# The supplier each buyer's sample price agreement is addressed to (a party to it).
AGREEMENT_SUPPLIER = {"acme": "nordwind", "globex": "nordwind"}
# Buyer-only objects (requisitions, budgets, ...) do not exist in a supplier organisation: a
# supplier's URL names Acme's object, its linked buyer (the answer is then 403 or 404).
FALLBACK_BUYER = "acme"
ACCOUNT_USER = {
    "acme": "buyer@acme.example",
    "globex": "buyer@globex.example",
    "nordwind": "sales@nordwind.example",
    "polbud": "sales@polbud.example",
    "solo": "sales@solo.example",
    "blockt": "sales@blockt.example",
}


def _owned(kind: str, **by_endpoint: str):
    """The sample object of `kind` (or, for the endpoints named, of another kind: a draft RFQ
    for the routes that change a draft) of organisation `org`; a supplier's URL names its
    buyer's (FALLBACK_BUYER), which is addressed to it where it is a party (sourcing_sample)."""

    def provide(sample: Sample, endpoint: str, org: str, email: str):
        ids = sample.ids[by_endpoint.get(endpoint.replace(".", "__"), kind)]
        return ids.get(org, ids.get(FALLBACK_BUYER))

    return provide


# The routes that change a draft RFQ name the sample draft (the open RFQ refuses them).
_DRAFT = {f"rfqs__{name}": "rfq_draft" for name in (
    "edit", "add_line", "remove_line", "invite", "uninvite", "attach", "publish")}


# The supplier's routes that change a draft invoice name the sample draft (Nordwind's, never
# shown to the buyer); the issued invoice refuses them.
_INVOICE_DRAFT = {f"supplier__invoice_{name}": "invoice_draft"
                  for name in ("edit", "delete", "issue", "totals")}


def _invitation(sample: Sample, endpoint: str, org: str, email: str):
    kind = "supplier_invitation" if endpoint.startswith("suppliers.") else "invitation"
    ids = sample.ids[kind]
    return ids.get(org, ids[FALLBACK_BUYER])


def _notification(sample: Sample, endpoint: str, org: str, email: str):
    # One's own notification; for another organisation, one of its people's.
    owner = email if sample.org_key(email) == org else ACCOUNT_USER[org]
    found = notification_of(sample.user_ids[owner])
    assert found is not None, f"the sample world has no notification for {owner}"
    return found


ID_PROVIDERS = {
    "user_id": lambda s, e, org, email: s.user_ids[TARGET_USER[org]],
    "link_id": lambda s, e, org, email: s.ids["link"][LINK_OF[org]],
    "invitation_id": _invitation,
    "notification_id": _notification,
    "requisition_id": _owned("requisition"),
    "line_id": _owned("line"),
    "attachment_id": _owned("attachment"),
    "task_id": _owned("task"),
    "step_id": _owned("step"),
    "version_id": _owned("policy_version"),
    "delegation_id": _owned("delegation"),
    "budget_id": _owned("budget"),
    "cost_center_id": _owned("cost_center"),
    "item_id": _owned("item"),
    "agreement_id": _owned("agreement"),
    "category_id": _owned("category"),
    # sourcing (tests/security/sourcing_sample.py)
    "rfq_id": _owned("rfq", **_DRAFT),
    "rfq_line_id": _owned("rfq_line", **{k: "rfq_draft_line" for k in _DRAFT}),
    "rfq_file_id": _owned("rfq_file"),
    "question_id": _owned("question"),
    "quote_id": _owned("quote"),
    "quote_file_id": _owned("quote_file"),
    "revision_id": _owned("quote_revision"),
    "order_id": _owned("order", orders__receipt="received_order"),
    "document_id": _owned("document"),
    "receipt_id": _owned("receipt"),
    "proposal_id": _owned("price_proposal"),
    # invoicing (tests/security/invoicing_sample.py): the issued invoice, awaiting the buyer;
    # payments go to the approved one; the supplier's draft routes name its draft
    "invoice_id": _owned("invoice", invoices__pay="paid_invoice", **_INVOICE_DRAFT),
    # integration settings (tests/security/conftest.py _build_integration)
    "token_id": _owned("api_token"),
    "endpoint_id": _owned("webhook_endpoint"),
    "delivery_id": _owned("webhook_delivery"),
}
# An approved requisition covered by price agreements for the routes that order from them.
ID_PROVIDERS["requisition_id"] = _owned(
    "requisition", orders__for_requisition="covered_requisition",
    orders__from_agreements="covered_requisition")

# Token routes: which sample token opens them.
TOKEN_PROVIDERS = {
    "auth.reset_password": "reset",
    "invitations.accept": "invitation",
    "supplier.join": "supplier_invitation",
    "approvals.email_decision": "decision",
}


def endpoints(app) -> dict:
    """endpoint -> (rule, methods) for every route but static files and the REST API (a token,
    not a session: tests/security/test_api_matrix.py covers every /api/v1 operation)."""
    found = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.rule.startswith(API_PREFIX + "/"):
            continue
        found[rule.endpoint] = (rule, sorted(rule.methods - {"HEAD", "OPTIONS"}))
    return found


def missing_providers(app) -> list[str]:
    problems = []
    for endpoint, (rule, _) in sorted(endpoints(app).items()):
        for name in rule.arguments:
            if name == "token":
                if endpoint not in TOKEN_PROVIDERS:
                    problems.append(f"{endpoint}: no sample token in TOKEN_PROVIDERS")
            elif name not in ID_PROVIDERS:
                problems.append(f"{endpoint}: no provider for <{name}> in ID_PROVIDERS")
    return problems


def url_values(sample: Sample, endpoint: str, rule, org: str, email: str | None) -> dict:
    """URL arguments naming organisation `org`'s sample objects (`email` is the viewer)."""
    values = {}
    for name in rule.arguments:
        if name == "token":
            tokens = sample.tokens[TOKEN_PROVIDERS[endpoint]]
            values[name] = tokens.get(org, tokens[FALLBACK_BUYER])
        else:
            values[name] = ID_PROVIDERS[name](sample, endpoint, org, email or ACCOUNT_USER[org])
    return values


_TABLE: dict = {}


def route_table() -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """endpoint -> (URL argument names, methods), read once from an app built for the purpose.

    Used at collection time to parametrize the suites over the routes that exist, so a new route
    gets its tests without anyone listing it. Built with the test configuration, like the `app`
    fixture, so global state (the password hasher) ends up the same.
    """
    if not _TABLE:
        from portal import create_app
        from portal.config import TestConfig

        app = create_app({
            **{k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()},
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
        })
        for endpoint, (rule, methods) in endpoints(app).items():
            _TABLE[endpoint] = (tuple(sorted(rule.arguments)), tuple(methods))
    return _TABLE
