"""The demo world: every organisation, user and document state a newcomer can meet.

Idempotent: running it again finds what exists and adds only what is missing. Each later
feature adds its documents here.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from portal.domain.terms import PaymentTerms
from portal.extensions import db
from portal.models import Organization, OrgKind, User
from portal.services import mail, orgs, suppliers, users
from portal.services.demo_agreements import seed_agreements, seed_proposals
from portal.services.demo_budgets import finish_budgets, seed_budgets
from portal.services.demo_catalog import seed_catalog
from portal.services.demo_integration import seed_integration
from portal.services.demo_invoicing import seed_invoicing
from portal.services.demo_requisitions import seed_requisitions
from portal.services.demo_sourcing import seed_sourcing
from portal.tenancy import ALL_TENANTS

DEMO_PASSWORD = "portal-demo-2026"  # noqa: S105 - published in the README on purpose

ORGANIZATIONS = {
    "acme": dict(
        kind=OrgKind.BUYER, name="Acme Manufacturing", legal_name="Acme Manufacturing Sp. z o.o.",
        tax_id="7792433504", address_line="ul. Składowa 12", postal_code="61-897", city="Poznań",
        country="PL", currency="PLN", locale="pl",
    ),
    "globex": dict(
        kind=OrgKind.BUYER, name="Globex Trading", legal_name="Globex Trading EOOD",
        tax_id="BG204000003", address_line="bul. Vitosha 45", postal_code="1000", city="Sofia",
        country="BG", currency="EUR", locale="en",
    ),
    "nordwind": dict(
        kind=OrgKind.SUPPLIER, name="Nordwind Supplies", legal_name="Nordwind Supplies GmbH",
        tax_id="DE298765435", address_line="Hafenstraße 7", postal_code="20457", city="Hamburg",
        country="DE", currency="EUR", locale="en",
    ),
    "polbud": dict(
        kind=OrgKind.SUPPLIER, name="Polbud", legal_name="Polbud S.A.",
        tax_id="5270391800", address_line="al. Jerozolimskie 100", postal_code="00-807",
        city="Warszawa", country="PL", currency="PLN", locale="pl",
    ),
}

USERS = [
    ("acme", "admin@acme.example", "Anna Kowalska", ["admin"], None, "pl"),
    ("acme", "buyer@acme.example", "Bartosz Nowak", ["buyer"], None, "pl"),
    ("acme", "buyer2@acme.example", "Celina Wiśniewska", ["buyer"], None, "pl"),
    ("acme", "approver@acme.example", "Damian Zieliński", ["approver"], Decimal("10000"), "pl"),
    ("acme", "cfo@acme.example", "Ewa Lewandowska", ["approver"], Decimal("250000"), "pl"),
    ("globex", "admin@globex.example", "Georgi Petrov", ["admin"], None, "en"),
    ("globex", "buyer@globex.example", "Maria Ivanova", ["buyer"], None, "en"),
    ("globex", "approver@globex.example", "Nikolay Dimitrov", ["approver"], Decimal("20000"), "en"),
    ("nordwind", "sales@nordwind.example", "Hans Becker", ["supplier_admin", "supplier_sales"], None, "en"),
    ("polbud", "sales@polbud.example", "Piotr Mazur", ["supplier_admin", "supplier_sales"], None, "pl"),
]

LINKS = [
    ("acme", "nordwind", PaymentTerms.early_discount(Decimal("2"), 10, 30), "EUR",
     Decimal("200000")),
    ("acme", "polbud", PaymentTerms.net(45), "PLN", Decimal("500000")),
    ("globex", "nordwind", PaymentTerms.net(60), "EUR", Decimal("150000")),
]


def _org(key: str) -> Organization:
    data = ORGANIZATIONS[key]
    org = db.session.scalar(
        select(Organization).where(Organization.country == data["country"], Organization.tax_id == data["tax_id"])
    )
    return org or orgs.create_organization(**data)


def _user(org: Organization, email, name, roles, limit, locale) -> User:
    user = db.session.scalar(
        select(User).where(User.email == email).execution_options(**ALL_TENANTS)
    )
    if user is not None:
        return user
    return users.create_user(
        org, email=email, full_name=name, roles=roles, password=DEMO_PASSWORD,
        approval_limit=limit, locale=locale,
    )


def seed_demo(*, documents: bool = True) -> dict:
    """Build (or complete) the demo world; returns the organisations and users by key/email.

    `documents=False` stops after organisations, users, links and the catalog: the tests'
    base world, which every test builds and so must stay quick.
    Runs inside `tenancy.system()`: it writes into every organisation.
    """
    org_by_key = {key: _org(key) for key in ORGANIZATIONS}
    user_by_email = {}
    for key, email, name, roles, limit, locale in USERS:
        user_by_email[email] = _user(org_by_key[key], email, name, roles, limit, locale)
    for buyer, supplier, terms, currency, credit in LINKS:
        admin = user_by_email[f"admin@{buyer}.example"]
        suppliers.link_supplier(
            org_by_key[buyer], org_by_key[supplier], actor=admin,
            payment_terms=terms, currency=currency, credit_limit=credit,
        )
    db.session.flush()
    catalog = seed_catalog(org_by_key, user_by_email)
    world = {"orgs": org_by_key, "users": user_by_email, "catalog": catalog}
    if documents:
        created_budgets = seed_budgets(world)
        with mail.suppressed():
            world["requisitions"] = seed_requisitions(world)
        finish_budgets(world, created_budgets)
        world["budgets"] = created_budgets
        seed_supplier_history(world)
        world["agreements"] = seed_agreements(world)
        with mail.suppressed():
            seed_proposals(world)
        # After the agreements and the approved requisitions they source from: RFQs in every
        # state, quotes, awards, orders and receipts (and the third supplier, Tatra).
        seed_sourcing(world)
        # After the orders and receipts: invoices in every state, payments, credit notes.
        seed_invoicing(world)
        # The documented API tokens and Acme's (failing) webhook endpoint with its deliveries.
        seed_integration(world)
    return world


def seed_supplier_history(world) -> None:
    """Something for the supplier's dashboard to tell: the links date from months ago, and
    Acme blocked Nordwind for a contract review last week and unblocked it two days later.
    Once only (the link ends active)."""
    from datetime import timedelta

    from portal.models import AuditEvent, SupplierLink
    from portal.models.base import utcnow

    acme, nordwind = world["orgs"]["acme"], world["orgs"]["nordwind"]
    link = db.session.scalar(select(SupplierLink).where(
        SupplierLink.organization_id == acme.id, SupplierLink.supplier_id == nordwind.id))
    done = db.session.scalar(select(AuditEvent.id).where(
        AuditEvent.object_type == "SupplierLink", AuditEvent.object_id == link.id,
        AuditEvent.action == "supplier.blocked").limit(1))
    if done is not None:
        return
    admin = world["users"]["admin@acme.example"]
    suppliers.block(link, actor=admin, comment="Przegląd umowy ramowej na 2027 rok.")
    suppliers.unblock(link, actor=admin, comment="Umowa ramowa przedłużona do końca 2027 roku.")
    unblocked, blocked = db.session.scalars(
        select(AuditEvent).where(AuditEvent.object_type == "SupplierLink",
                                 AuditEvent.object_id == link.id)
        .order_by(AuditEvent.id.desc()).limit(2)).all()
    blocked.created_at = utcnow() - timedelta(days=7, hours=3)
    unblocked.created_at = utcnow() - timedelta(days=5, hours=1)
    for months, other in enumerate(db.session.scalars(select(SupplierLink).order_by(SupplierLink.id)), 3):
        linked = db.session.scalars(select(AuditEvent).where(
            AuditEvent.object_type == "SupplierLink", AuditEvent.object_id == other.id,
            AuditEvent.action == "supplier.linked")).all()
        other.created_at = utcnow() - timedelta(days=30 * months)
        for event in linked:
            event.created_at = other.created_at
    db.session.flush()
