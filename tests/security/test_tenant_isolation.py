"""Tenant isolation over the whole URL map and every model.

- Every route with an object id is tried on Acme's objects by each persona (PERSONAS): a
  supplier linked to Acme, the supplier party to the object (a link), an uninvited supplier
  (linked to Globex only), a supplier Acme blocked, another buyer's people, and last the owner.
  Another organisation's object answers 404 (GET and POST) and nothing changes; a party to a
  shared object and the owner get what the role matrix says for their role. Ids come from
  tests/security/routes.py (one provider per URL argument name; a new argument name fails
  `test_every_url_argument_has_a_provider`).
- Every list page (a GET route without arguments): nothing of other organisations appears:
  neither their internal records (SECRET markers) nor, without a link, their names and their
  users' names and emails. (Pages about one's own objects get the same check in the role
  matrix.)
- Every model is tenant-scoped, or listed in GLOBAL_MODELS with the reason.
- A supplier sees the buyers it is linked to; a blocked one as blocked, and can do nothing new.
"""

from __future__ import annotations

import pytest
from flask import url_for
from sqlalchemy import select

from portal.errors import TenantViolation
from portal.extensions import db
from portal.models import LinkStatus, Organization, SupplierLink, User
from portal.services import suppliers
from portal.tenancy import (
    MultiPartyDocument,
    SharedDocument,
    TenantChild,
    TenantOwned,
    bound,
    scope_for,
)
from tests.security.conftest import body_text, fingerprint, restore_sample
from tests.security.invoicing_sample import INVOICE_SUPPLIER
from tests.security.routes import (
    _DRAFT,
    AGREEMENT_SUPPLIER,
    LINK_OF,
    endpoints,
    missing_providers,
    route_table,
    url_values,
)
from tests.security.sourcing_sample import ORDER_SUPPLIER, QUOTE_SUPPLIER, RFQ_SUPPLIERS
from tests.security.test_role_matrix import EXPECTED, FRESH_PER_ROLE, observed

# Who looks at whose objects: (persona, viewer, the role column of the matrix they play, the
# objects' owner). The owner comes last: its requests may change data.
PERSONAS = [
    ("linked supplier", "sales@nordwind.example", "supplier_admin", "acme"),
    ("linked supplier, party to the link", "sales@polbud.example", "supplier_admin", "acme"),
    ("uninvited supplier", "sales@solo.example", "supplier_admin", "acme"),
    ("blocked supplier", "sales@blockt.example", "supplier_admin", "acme"),
    ("another buyer", "buyer@globex.example", "buyer", "acme"),
    ("another buyer", "approver@globex.example", "approver", "acme"),
    ("another buyer", "admin@globex.example", "admin", "acme"),
    ("another buyer", "buyer@acme.example", "buyer", "globex"),
    ("another buyer", "approver@acme.example", "approver", "globex"),
    ("another buyer", "admin@acme.example", "admin", "globex"),
    ("unlinked supplier", "sales@polbud.example", "supplier_admin", "globex"),
    ("owner", "admin@acme.example", "admin", "acme"),
]

# Tables that belong to no single organisation, and why that is safe.
GLOBAL_MODELS = {
    "Organization": "the tenants themselves; the flush guard lets only members change one",
    "LoginAttempt": "failed sign-ins by email and address, before anyone is known",
    "PasswordResetToken": "hashed single-use tokens, found by the token only",
    "OutboxMessage": "the delivery queue of portal/jobs (e-mails after commit); read only by jobs "
                     "and the operator CLI, never by a page",
}


ROUTES = route_table()
ID_ROUTES = sorted(e for e, (args, _) in ROUTES.items() if set(args) - {"token"})
LIST_ROUTES = sorted(e for e, (args, methods) in ROUTES.items() if not args and "GET" in methods)


def test_every_model_is_tenant_scoped_or_listed():
    unscoped = sorted(
        m.class_.__name__ for m in db.Model.registry.mappers
        if not issubclass(m.class_, TenantOwned | SharedDocument | MultiPartyDocument | TenantChild)
    )
    assert unscoped == sorted(GLOBAL_MODELS), (
        "a model that holds a company's data must mix in TenantOwned, SharedDocument, "
        "MultiPartyDocument or TenantChild; a truly global one goes into GLOBAL_MODELS with the reason. "
        f"Unscoped now: {unscoped}"
    )


def test_every_url_argument_has_a_provider(app):
    problems = missing_providers(app)
    assert not problems, "add providers in tests/security/routes.py: " + "; ".join(problems)


def _expected_for_outsider(endpoint: str, role: str) -> set:
    # 404 before any role check: even a user whose role is refused on its own organisation's
    # object (403) gets 404 for another organisation's, so no answer tells that it exists.
    return {404}


def test_every_object_id_in_a_url_is_looked_up_before_the_role_check(app):
    from portal.policies.web import _URL_OBJECTS

    unknown = sorted(
        {arg for rule in app.url_map.iter_rules() for arg in rule.arguments
         if arg.endswith("_id") and arg not in _URL_OBJECTS}
    )
    assert not unknown, f"name the model of these URL arguments in portal/policies/web.py: {unknown}"


# URL arguments naming a supplier's own part of an RFQ (its quote, the quote's files and
# revisions, its question): only that supplier is a party, never the other invited ones.
_QUOTE_ARGS = {"quote_id", "quote_file_id", "revision_id", "question_id"}
_ORDER_ARGS = {"order_id", "document_id", "receipt_id", "proposal_id"}
_RFQ_ARGS = {"rfq_id", "rfq_line_id", "rfq_file_id"}
# Routes on a draft RFQ (routes._DRAFT): no supplier is invited to the sample draft.
_DRAFT_ROUTES = {name.replace("__", ".") for name in _DRAFT}


def _party(sample, rule, viewer: str, owner: str) -> bool:
    """Whether `viewer`'s organisation is a party to the shared object the URL names.

    Supplier links, price agreements, RFQs (the invited suppliers; a quote, its files and
    revisions, and a question only the supplier whose they are), purchase orders, price-list
    proposals and invoices (their supplier) are the shared objects routes name.
    """
    arguments = set(rule.arguments)
    if "agreement_id" in arguments:
        return viewer == AGREEMENT_SUPPLIER.get(owner)
    if arguments & _QUOTE_ARGS:
        return viewer == QUOTE_SUPPLIER.get(owner)
    if arguments & _ORDER_ARGS:
        return viewer == ORDER_SUPPLIER.get(owner)
    if "invoice_id" in arguments:
        # An invoice (or a draft, a credit note) is its issuer's and its buyer's, nobody else's.
        return viewer == INVOICE_SUPPLIER.get(owner)
    if arguments & _RFQ_ARGS:
        return rule.endpoint not in _DRAFT_ROUTES and viewer in RFQ_SUPPLIERS.get(owner, ())
    return "link_id" in arguments and viewer in LINK_OF[owner].split("-")


def _expected(sample, endpoint: str, rule, email: str, role: str, owner: str) -> set:
    viewer = sample.org_key(email)
    if viewer == owner or _party(sample, rule, viewer, owner):
        return {EXPECTED[endpoint][role]}
    return _expected_for_outsider(endpoint, role)


@pytest.mark.parametrize("endpoint", ID_ROUTES)
def test_every_persona_gets_its_status_for_an_object(app, sample, endpoint):
    assert endpoint in EXPECTED, f"{endpoint} needs a row in test_role_matrix.EXPECTED first"
    rule, methods = endpoints(app)[endpoint]
    before = fingerprint()
    wrong = []
    # Outsiders first (nothing they send may change anything), then the parties to the object
    # and the owner, who make the role matrix's request (which may change data).
    ordered = sorted(PERSONAS, key=lambda p: (
        p[0] == "owner", sample.org_key(p[1]) == p[3] or _party(sample, rule, sample.org_key(p[1]), p[3])))
    checked = False
    for persona, email, role, owner in ordered:
        viewer = sample.org_key(email)
        insider = viewer == owner or _party(sample, rule, viewer, owner)
        if insider and not checked:
            assert fingerprint() == before, "an outsider's request changed data"
            checked = True
        if insider and endpoint in FRESH_PER_ROLE:
            restore_sample()  # a party's request took away what the owner's names (a draft deleted)
        with app.test_request_context():
            url = url_for(endpoint, **url_values(sample, endpoint, rule, owner, email))
        client = sample.login(app.test_client(), email)
        expected = _expected(sample, endpoint, rule, email, role, owner)
        # An insider makes the role matrix's request; an outsider tries every method.
        tried = (["GET" if "GET" in methods else "POST"] if insider
                 else [m for m in ("GET", "POST") if m in methods])
        for method in tried:
            response = client.open(url, method=method)
            status = observed(response)
            if status not in expected:
                wrong.append(f"{persona} {email} {method} {url} -> {status}, not {expected}")
            elif status == 200:
                # A party reads the object, and nothing else of the others (a competitor's
                # quote on the same RFQ, an order to another supplier).
                leaked = sorted(w for w in sample.forbidden_text(viewer) if w in body_text(response))
                if leaked:
                    wrong.append(f"{persona} {email} {method} {url} shows {leaked}")
    assert not wrong, f"{endpoint}: another organisation's object must answer 404: {wrong}"


@pytest.mark.parametrize("endpoint", LIST_ROUTES)
def test_list_pages_show_nothing_of_other_organisations(app, sample, endpoint):
    leaks = []
    viewers = sorted({email for _, email, _, _ in PERSONAS})
    for email in viewers:
        client = sample.login(app.test_client(), email)
        with app.test_request_context():
            url = url_for(endpoint)
        response = client.get(url)
        if response.status_code != 200:
            continue
        body = body_text(response)
        seen = sorted(w for w in sample.forbidden_text(sample.org_key(email)) if w in body)
        if seen:
            leaks.append(f"{email} sees {seen}")
    assert not leaks, f"{endpoint} shows other organisations' data: {leaks}"


def _link(sample, pair: str):
    return db.session.scalars(
        select(SupplierLink).where(SupplierLink.id == sample.ids["link"][pair])
    ).one()


def test_a_supplier_sees_its_linked_buyers_and_a_blocked_one_only_as_blocked(app, sample):
    polbud = sample.login(app.test_client(), "sales@polbud.example")
    customers = polbud.get("/supplier/customers")
    assert customers.status_code == 200
    assert "Acme Manufacturing" in customers.text
    assert "Globex" not in customers.text
    with app.test_request_context():
        globex_link = url_for("supplier.customer", link_id=sample.ids["link"]["globex-nordwind"])
        acme_link = url_for("supplier.customer", link_id=sample.ids["link"]["acme-polbud"])
        blocked_link = url_for("supplier.customer", link_id=sample.ids["link"]["acme-blockt"])
    assert polbud.get(globex_link).status_code == 404
    assert polbud.get(blocked_link).status_code == 404
    assert polbud.get(acme_link).status_code == 200

    with bound(db.session, scope_for(db.session, _org(sample, "acme"))):
        admin = db.session.scalars(select(User).where(User.email == "admin@acme.example")).one()
        suppliers.block(_link(sample, "acme-polbud"), actor=admin, comment="Late deliveries")
        db.session.commit()

    # Blocked: Polbud still reads its link (and what Acme sent it), marked blocked ...
    page = polbud.get(acme_link)
    assert page.status_code == 200
    assert 'data-testid="customer-blocked"' in page.text
    customers = polbud.get("/supplier/customers")
    assert 'data-status="blocked"' in customers.text
    assert "Acme Manufacturing" in customers.text
    # ... but Acme is no customer to work for on its dashboard, and writes are refused.
    assert "Acme Manufacturing" not in polbud.get("/").text
    with bound(db.session, scope_for(db.session, _org(sample, "polbud"))):
        link = _link(sample, "acme-polbud")
        assert link.status == LinkStatus.BLOCKED
        link.status = LinkStatus.ACTIVE
        with pytest.raises(TenantViolation):
            db.session.flush()
        db.session.rollback()
    # Nordwind's links are untouched; Blockt, blocked from the start, reads its own link.
    nordwind = sample.login(app.test_client(), "sales@nordwind.example")
    assert "Acme Manufacturing" in nordwind.get("/supplier/customers").text
    blockt = sample.login(app.test_client(), "sales@blockt.example")
    assert 'data-testid="customer-blocked"' in blockt.get(blocked_link).text
    assert blockt.get(acme_link).status_code == 404


def _org(sample, key):
    return db.session.get(Organization, sample.orgs[key])


def test_each_request_is_bound_to_the_signed_in_users_organisation(app, sample, monkeypatch):
    from portal.tenancy import current_scope

    def show_scope():
        scope = current_scope(db.session)
        return "unbound" if scope is None else f"{scope.org_id}:{list(scope.buyer_ids)}"

    for endpoint in ("dashboard.index", "auth.login"):
        monkeypatch.setitem(app.view_functions, endpoint, show_scope)
    polbud = sample.login(app.test_client(), "sales@polbud.example")
    assert polbud.get("/").text == f"{sample.orgs['polbud']}:[{sample.orgs['acme']}]"
    admin = sample.login(app.test_client(), "admin@globex.example")
    assert admin.get("/").text == f"{sample.orgs['globex']}:[]"
    # A visitor's request right after is bound to nobody.
    assert app.test_client().get("/login").text == "unbound"


def test_the_sample_marks_show_where_they_may(app, sample):
    """The shared marks are on the pages of those who may read them: otherwise the leak checks
    above would look for text that no page ever shows."""
    from tests.security.sourcing_sample import mark

    ids = sample.ids
    pages = [
        ("sales@nordwind.example", f"/supplier/rfqs/{ids['rfq']['acme']}", mark("Rfq", "acme")),
        ("sales@polbud.example", f"/supplier/rfqs/{ids['rfq']['acme']}", mark("Rfq", "acme")),
        ("sales@nordwind.example", f"/supplier/rfqs/{ids['rfq']['acme']}/quote",
         mark("Quote", "acme", "nordwind")),
        ("sales@polbud.example", f"/supplier/rfqs/{ids['rfq']['acme']}/quote",
         mark("Quote", "acme", "polbud")),
        ("sales@nordwind.example", f"/supplier/rfqs/{ids['rfq']['acme']}",
         mark("Clarification", "acme")),
        ("sales@nordwind.example", f"/supplier/orders/{ids['order']['acme']}",
         mark("Order", "acme", "nordwind")),
        ("buyer@acme.example", f"/rfqs/{ids['rfq']['acme']}", mark("Question", "acme", "nordwind")),
        ("buyer@acme.example", f"/orders/{ids['order']['acme']}", mark("Order", "acme", "nordwind")),
        ("buyer@globex.example", "/rfqs/", mark("Rfq", "globex")),
    ]
    missing = []
    for email, url, text in pages:
        response = sample.login(app.test_client(), email).get(url)
        if response.status_code != 200 or text not in response.get_data(as_text=True):
            missing.append(f"{email} {url} ({response.status_code}): no {text}")
    assert not missing, missing
