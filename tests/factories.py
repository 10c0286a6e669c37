"""Test factories: plain functions that build what a test needs through the real models and
services, independent of the demo seed, and need no request.

Each returns flushed (not committed) objects; the test commits when an HTTP request has to see
them. Names, e-mails, codes and tax IDs are unique per call unless given. Rows with a natural
key (a cost centre's or category's code, an item's SKU, a user's e-mail) are updated when the
organisation already has one, so a kit can build over the demo world too.

    buyer = make_org()
    supplier = make_org(kind="supplier")
    make_link(buyer, supplier)
    requester = make_user(buyer, roles=["buyer"])
    cc = make_cost_center(buyer, manager=make_user(buyer, roles=["approver"], limit=10_000))
    req = make_requisition(requester, cost_center=cc, lines=[("Laptop", 2, "4000")])
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select

from portal.domain.budget import OverrunPolicy, PeriodKind, period_bounds
from portal.extensions import db
from portal.models import (
    Budget,
    Category,
    CostCenter,
    Item,
    LinkStatus,
    Organization,
    OrgKind,
    Requisition,
    SupplierLink,
    User,
)
from portal.services import budgets, orgs, requisitions, users
from portal.tenancy import ALL_TENANTS, bound, scope_for, system

PASSWORD = "portal-demo-2026"
_serial = itertools.count(1)


def _next() -> int:
    return next(_serial)


def company_today(zone: str = "Europe/Warsaw") -> date:
    """Today where the test companies are: the services date receipts, invoices and payments
    in the company's zone (between 23:00 and midnight UTC it is already tomorrow in Warsaw)."""
    return datetime.now(ZoneInfo(zone)).date()


@contextmanager
def acting_for(org):
    """Run services as a member of `org` would (the session bound to its tenant scope)."""
    with bound(db.session, scope_for(db.session, org)):
        yield


def polish_nip(seed: int) -> str:
    """A valid Polish NIP (checksum digit) made from `seed`."""
    weights = (6, 5, 7, 2, 3, 4, 5, 6, 7)
    base = 100_000_000 + seed * 7
    while True:
        digits = [int(d) for d in str(base)[:9]]
        check = sum(w * d for w, d in zip(weights, digits, strict=True)) % 11
        if check != 10:
            return "".join(map(str, digits)) + str(check)
        base += 1


# ---------------------------------------------------------------- organisations and people


def make_org(kind: str | OrgKind = "buyer", *, name: str | None = None, currency: str = "PLN",
             locale: str = "pl", country: str = "PL", tax_id: str | None = None) -> Organization:
    """A buying company (`kind="buyer"`) or a supplier, registered through `orgs`."""
    n = _next()
    kind = OrgKind(kind)
    name = name or f"{kind.value.title()} {n}"
    with system(db.session):
        org = orgs.create_organization(
            kind=kind, name=name, legal_name=f"{name} sp. z o.o.",
            tax_id=tax_id or polish_nip(n), country=country, currency=currency, locale=locale,
            address_line=f"ul. Testowa {n}", postal_code="00-001", city="Warszawa",
        )
        db.session.flush()
    return org


def make_user(org: Organization, *, roles: Iterable[str] = ("buyer",), limit=None,
              email: str | None = None, full_name: str | None = None, locale: str = "en",
              password: str = PASSWORD) -> User:
    """A user of `org` with `roles` (and an approval `limit` for an approver), through `users`.

    An existing user with `email` is returned as it is.
    """
    roles = list(roles)
    if email is not None:
        found = db.session.scalar(
            select(User).where(User.email == email).execution_options(**ALL_TENANTS))
        if found is not None:
            return found
    n = _next()
    email = email or f"{roles[0] if roles else 'user'}{n}@org{org.id}.example"
    with system(db.session):
        user = users.create_user(
            org, email=email, full_name=full_name or f"Test User {n}", roles=roles,
            password=password, approval_limit=Decimal(limit) if limit is not None else None,
            locale=locale,
        )
        db.session.flush()
    return user


def make_link(buyer: Organization, supplier: Organization, *, status: str | LinkStatus = "active",
              currency: str | None = None, credit_limit=None, **fields) -> SupplierLink:
    """The relationship between a buying company and a supplier (active, invited or blocked)."""
    with system(db.session):
        link = SupplierLink(organization_id=buyer.id, supplier_id=supplier.id,
                            status=LinkStatus(status), currency=currency or buyer.currency,
                            credit_limit=credit_limit, **fields)
        db.session.add(link)
        db.session.flush()
    return link


# ---------------------------------------------------------------- reference data


def _upsert(model, org: Organization, key: str, value, fields: dict):
    with system(db.session):
        row = db.session.scalar(
            select(model).where(model.organization_id == org.id, getattr(model, key) == value))
        if row is None:
            row = model(organization_id=org.id, **{key: value}, **fields)
            db.session.add(row)
        else:
            for name, field_value in fields.items():
                setattr(row, name, field_value)
        db.session.flush()
    return row


def make_cost_center(org: Organization, code: str | None = None, *, name: str | None = None,
                     manager: User | None = None, active: bool = True) -> CostCenter:
    """A cost centre of `org` (the one with `code` updated if it exists)."""
    code = code or f"CC{_next()}"
    return _upsert(CostCenter, org, "code", code, {
        "name": name or f"Cost centre {code}", "manager_id": manager.id if manager else None,
        "is_active": active,
    })


def make_category(org: Organization, code: str | None = None, *, name: str | None = None,
                  active: bool = True) -> Category:
    """A catalog category of `org` (the one with `code` updated if it exists)."""
    code = code or f"CAT{_next()}"
    return _upsert(Category, org, "code", code, {"name": name or f"Category {code}",
                                                  "is_active": active})


def make_item(org: Organization, sku: str | None = None, *, name: str | None = None,
              unit: str = "pcs", price="10", vat="23", category: Category | None = None,
              currency: str | None = None, supplier: Organization | None = None,
              active: bool = True) -> Item:
    """A catalog item of `org` (the one with `sku` updated if it exists)."""
    sku = sku or f"SKU-{_next()}"
    return _upsert(Item, org, "sku", sku, {
        "name": name or f"Item {sku}", "unit": unit, "list_price": Decimal(str(price)),
        "default_vat_rate": Decimal(str(vat)), "category_id": category.id if category else None,
        "currency": currency or org.currency, "is_active": active,
        "preferred_supplier_id": supplier.id if supplier else None,
    })


def make_budget(cost_center: CostCenter, amount="100000", *, year: int | None = None,
                period: str = "year", index: int = 1, policy: str = "block",
                actor: User | None = None, owner: User | None = None) -> Budget:
    """A budget for `cost_center` over a year (or a quarter/month `index`), by `budgets`.

    `actor` defaults to a new admin of the cost centre's organisation.
    """
    org = db.session.get(Organization, cost_center.organization_id)
    actor = actor or make_user(org, roles=["admin"])
    starts_on, ends_on = period_bounds(PeriodKind(period), year or date.today().year, index)
    with acting_for(org):
        budget = budgets.create_budget(
            actor, cost_center=cost_center, name="", period_kind=PeriodKind(period),
            starts_on=starts_on, ends_on=ends_on, amount=Decimal(str(amount)),
            currency=org.currency, overrun_policy=OverrunPolicy(policy), owner=owner,
        )
        db.session.flush()
    return budget


# ---------------------------------------------------------------- documents


Line = tuple  # (description, quantity, unit price[, VAT rate]) or an Item


def make_requisition(requester: User, *, cost_center: CostCenter,
                     lines: Iterable[Line | Item] = (("Item", "1", "100", "23"),),
                     title: str = "Test requisition", category: Category | None = None,
                     needed_by: date | None = None, justification: str = "",
                     submit: bool = False) -> Requisition:
    """A draft of `requester` with `lines` (free text tuples, or catalog items), through the
    requisition service; `submit=True` also sends it for approval."""
    from portal.services import approvals

    org = db.session.get(Organization, requester.organization_id)
    with acting_for(org):
        req = requisitions.create_requisition(
            requester, title=title, cost_center=cost_center, category=category,
            needed_by=needed_by, justification=justification)
        for line in lines:
            if isinstance(line, Item):
                requisitions.add_line(req, requester, item=line, quantity=Decimal("1"))
                continue
            description, quantity, price, *vat = line
            requisitions.add_line(req, requester, description=description,
                                  quantity=Decimal(str(quantity)), unit_price=Decimal(str(price)),
                                  vat_rate=Decimal(str(vat[0] if vat else "23")))
        if submit:
            approvals.submit(req, requester)
        db.session.flush()
    return req
