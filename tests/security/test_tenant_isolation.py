"""Tenant isolation over the whole URL map and every model.

- Every route with an object id: a user of ANOTHER organisation gets 404 (GET and POST), and
  nothing changes. Ids come from tests/security/routes.py (one provider per URL argument name;
  a new argument name fails `test_every_url_argument_has_a_provider`).
- Every list page (a GET route without arguments): nothing of other organisations appears:
  neither their internal records (SECRET markers) nor, without an active link, their names
  and their users' names and emails. (Pages about one's own objects get the same check in the
  role matrix.)
- Every model is tenant-scoped, or listed in GLOBAL_MODELS with the reason.
- A supplier sees only the buyers it is actively linked to.
"""

from __future__ import annotations

import pytest
from flask import url_for
from sqlalchemy import select

from portal.extensions import db
from portal.models import Organization, SupplierLink, User
from portal.services import suppliers
from portal.tenancy import SharedDocument, TenantChild, TenantOwned, bound, scope_for
from tests.security.conftest import fingerprint
from tests.security.routes import endpoints, missing_providers, route_table, url_values
from tests.security.test_role_matrix import EXPECTED

# Who looks at whose objects: (viewer, the role column of the matrix they play, object owner).
OUTSIDERS = [
    ("buyer@acme.example", "buyer", "globex"),
    ("approver@acme.example", "approver", "globex"),
    ("admin@acme.example", "admin", "globex"),
    ("buyer@globex.example", "buyer", "acme"),
    ("approver@globex.example", "approver", "acme"),
    ("admin@globex.example", "admin", "acme"),
    ("sales@nordwind.example", "supplier_admin", "polbud"),  # not linked to each other
    ("sales@polbud.example", "supplier_admin", "globex"),  # Polbud never supplies Globex
]

# Tables that belong to no single organisation, and why that is safe.
GLOBAL_MODELS = {
    "Organization": "the tenants themselves; the flush guard lets only members change one",
    "LoginAttempt": "failed sign-ins by email and address, before anyone is known",
    "PasswordResetToken": "hashed single-use tokens, found by the token only",
}


ROUTES = route_table()
ID_ROUTES = sorted(e for e, (args, _) in ROUTES.items() if set(args) - {"token"})
LIST_ROUTES = sorted(e for e, (args, methods) in ROUTES.items() if not args and "GET" in methods)


def test_every_model_is_tenant_scoped_or_listed():
    unscoped = sorted(
        m.class_.__name__ for m in db.Model.registry.mappers
        if not issubclass(m.class_, TenantOwned | SharedDocument | TenantChild)
    )
    assert unscoped == sorted(GLOBAL_MODELS), (
        "a model that holds a company's data must mix in TenantOwned or SharedDocument "
        "(or TenantChild); a truly global one goes into GLOBAL_MODELS with the reason. "
        f"Unscoped now: {unscoped}"
    )


def test_every_url_argument_has_a_provider(app):
    problems = missing_providers(app)
    assert not problems, "add providers in tests/security/routes.py: " + "; ".join(problems)


def _expected_for_outsider(endpoint: str, role: str) -> set:
    own = EXPECTED[endpoint][role]
    if own in (403, 404):
        return {403, 404}  # refused for the role either way; neither says the object exists
    return {404}


@pytest.mark.parametrize("endpoint", ID_ROUTES)
def test_another_organisations_object_is_not_found(app, sample, endpoint):
    assert endpoint in EXPECTED, f"{endpoint} needs a row in test_role_matrix.EXPECTED first"
    rule, methods = endpoints(app)[endpoint]
    before = fingerprint()
    wrong = []
    for email, role, owner in OUTSIDERS:
        with app.test_request_context():
            url = url_for(endpoint, **url_values(sample, endpoint, rule, owner, email))
        client = sample.login(app.test_client(), email)
        for method in [m for m in ("GET", "POST") if m in methods]:
            status = client.open(url, method=method).status_code
            if status not in _expected_for_outsider(endpoint, role):
                wrong.append(f"{email} {method} {url} -> {status}")
    assert not wrong, f"another organisation's object must answer 404: {wrong}"
    assert fingerprint() == before, "an outsider's request changed data"


@pytest.mark.parametrize("endpoint", LIST_ROUTES)
def test_list_pages_show_nothing_of_other_organisations(app, sample, endpoint):
    leaks = []
    viewers = [email for email, _, _ in OUTSIDERS]
    for email in viewers:
        client = sample.login(app.test_client(), email)
        with app.test_request_context():
            url = url_for(endpoint)
        response = client.get(url)
        if response.status_code != 200:
            continue
        body = response.get_data(as_text=True)
        seen = sorted(w for w in sample.forbidden_text(sample.org_key(email)) if w in body)
        if seen:
            leaks.append(f"{email} sees {seen}")
    assert not leaks, f"{endpoint} shows other organisations' data: {leaks}"


def _link(sample, pair: str):
    return db.session.scalars(
        select(SupplierLink).where(SupplierLink.id == sample.ids["link"][pair])
    ).one()


def test_supplier_sees_only_actively_linked_buyers(app, sample):
    polbud = sample.login(app.test_client(), "sales@polbud.example")
    customers = polbud.get("/supplier/customers")
    assert customers.status_code == 200
    assert "Acme Manufacturing" in customers.text
    assert "Globex" not in customers.text
    with app.test_request_context():
        globex_link = url_for("supplier.customer", link_id=sample.ids["link"]["globex-nordwind"])
        acme_link = url_for("supplier.customer", link_id=sample.ids["link"]["acme-polbud"])
    assert polbud.get(globex_link).status_code == 404
    assert polbud.get(acme_link).status_code == 200

    with bound(db.session, scope_for(db.session, _org(sample, "acme"))):
        admin = db.session.scalars(select(User).where(User.email == "admin@acme.example")).one()
        suppliers.block(_link(sample, "acme-polbud"), actor=admin, comment="Late deliveries")
        db.session.commit()

    assert polbud.get(acme_link).status_code == 404
    customers = polbud.get("/supplier/customers")
    assert customers.status_code == 200
    assert "Acme Manufacturing" not in customers.text
    assert "Acme Manufacturing" not in polbud.get("/").text
    # Nordwind's links are untouched.
    nordwind = sample.login(app.test_client(), "sales@nordwind.example")
    assert "Acme Manufacturing" in nordwind.get("/supplier/customers").text


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
