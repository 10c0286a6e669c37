"""The security suites' world: the demo world plus one object of every kind per organisation.

Building it through the services takes a while, so it is built once per run, copied row by row
into memory, and written back before each test (`sample` fixture): every test starts from the
same rows with the same ids, whatever the previous one changed.

Objects carry a marker in their names (`SECRET[org]`): text only that organisation may ever
read. The list-page checks look for the markers of other organisations.

Besides the demo world's companies there are two more suppliers (EXTRA_SUPPLIERS): Solo, which
supplies Globex only (to Acme an uninvited stranger), and Blockt, which Acme has blocked (it
still reads what Acme sent it, and may do nothing new).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, text

from portal.domain.api_scopes import ALL_SCOPES
from portal.domain.approval import ApproverKind
from portal.domain.budget import PeriodKind
from portal.domain.roles import Role
from portal.domain.terms import PaymentTerms
from portal.extensions import db
from portal.models import (
    ApprovalTask,
    Budget,
    Category,
    CostCenter,
    Invitation,
    Item,
    LinkStatus,
    Notification,
    Organization,
    OrgKind,
    OutboxMessage,
    PriceAgreement,
    SupplierLink,
    User,
)
from portal.models.base import utcnow
from portal.models.integration import DeliveryStatus, WebhookDelivery
from portal.services import (
    approval_policy,
    approvals,
    auth,
    budgets,
    invitations,
    notifications,
    policy_versions,
    requisitions,
    supplier_invitations,
    users,
)
from portal.services import mail as mail_service
from portal.services.demo import seed_demo
from portal.services.integration import tokens as api_tokens
from portal.services.integration import webhooks
from portal.services.webhook_events import new_event_id
from portal.tenancy import bound, scope_for, system
from tests.security.invoicing_sample import build_invoicing
from tests.security.sourcing_sample import build_sourcing

BUYERS = ("acme", "globex")
SUPPLIERS = ("nordwind", "polbud", "solo", "blockt")
# key -> (the buyer it is linked to, the link's status, the organisation's fields)
EXTRA_SUPPLIERS = {
    "solo": ("globex", LinkStatus.ACTIVE, dict(
        name="Solo Trade", legal_name="Solo Trade Sp. z o.o.", tax_id="7740001454",
        country="PL", currency="PLN", locale="pl",
    )),
    "blockt": ("acme", LinkStatus.BLOCKED, dict(
        name="Blockt Logistics", legal_name="Blockt Logistics GmbH", tax_id="DE136695976",
        country="DE", currency="EUR", locale="en",
    )),
}
SECRET = {key: f"Sekret{key.capitalize()}42" for key in BUYERS + SUPPLIERS}

# The signed-in roles of the suites, and who plays them.
ROLE_USERS = {
    "buyer": "buyer@acme.example",
    "approver": "approver@acme.example",
    "admin": "admin@acme.example",
    "supplier_admin": "sales@nordwind.example",
}


@dataclass
class Sample:
    """Plain ids and tokens of the sample objects (no ORM objects: each test restores rows)."""

    orgs: dict[str, int]  # org key -> id
    org_of_user: dict[str, str]  # email -> org key
    user_ids: dict[str, int]  # email -> id
    session_ids: dict[str, str]  # email -> Flask-Login id ("id:session_version")
    ids: dict[str, dict[str, int]] = field(default_factory=dict)  # kind -> org key -> id
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)  # kind -> org key -> token
    public: dict[str, set[str]] = field(default_factory=dict)  # org key -> names, emails
    # (buyer, supplier) with a link, active or blocked: both still see each other's names.
    linked: set[tuple[str, str]] = field(default_factory=set)
    # Marks of text only some organisations share (an RFQ's title: the buyer and the invited
    # suppliers; a quote's notes: the buyer and that supplier) -> those organisations.
    shared: dict[str, set[str]] = field(default_factory=dict)

    def login(self, client, email: str):
        """Sign `email` in on `client` without the password form."""
        with client.session_transaction() as sess:
            sess["_user_id"] = self.session_ids[email]
            sess["_fresh"] = True
        return client

    def org_key(self, email: str) -> str:
        return self.org_of_user[email]

    def related(self, key: str, other: str) -> bool:
        return key == other or (key, other) in self.linked or (other, key) in self.linked

    def forbidden_text(self, key: str) -> set[str]:
        """What a user of organisation `key` must never read: other companies' internal
        records, and anything at all of companies it has no link with."""
        words = {SECRET[other] for other in self.orgs if other != key and other in SECRET}
        words |= {mark for mark, readers in self.shared.items() if key not in readers}
        for other in self.orgs:
            if not self.related(key, other):
                words |= self.public[other]
        return words


def _add(sample: Sample, kind: str, key: str, value) -> None:
    sample.ids.setdefault(kind, {})[key] = value


def _token(sample: Sample, kind: str, key: str, value: str) -> None:
    sample.tokens.setdefault(kind, {})[key] = value


def _first(model, org_id, *where):
    return db.session.scalars(
        select(model).where(model.organization_id == org_id, *where).order_by(model.id)
    ).first()


def _org_id(people: dict, key: str) -> int:
    return people[f"sales@{key}.example"].organization_id


def _build_buyer(sample: Sample, key: str, org, people: dict) -> None:
    mark = SECRET[key]
    admin = people[f"admin@{key}.example"]
    buyer = people[f"buyer@{key}.example"]
    approver = people[f"approver@{key}.example"]
    today = utcnow().date()
    with bound(db.session, scope_for(db.session, org)):
        cost_center = _first(CostCenter, org.id, CostCenter.is_active.is_(True))
        cost_center.name = f"{cost_center.name} {mark}"
        _add(sample, "cost_center", key, cost_center.id)
        item = _first(Item, org.id, Item.is_active.is_(True))
        item.name = f"{item.name} {mark}"
        _add(sample, "item", key, item.id)
        # Addressed to Nordwind (tests/security/routes.py AGREEMENT_SUPPLIER), valid today.
        agreement = _first(PriceAgreement, org.id, PriceAgreement.valid_to.is_(None)
                           | (PriceAgreement.valid_to > today), PriceAgreement.valid_from <= today,
                           PriceAgreement.supplier_id == _org_id(people, "nordwind"))
        _add(sample, "agreement", key, agreement.id)
        category = _first(Category, org.id, Category.is_active.is_(True))
        category.name = f"{category.name} {mark}"
        _add(sample, "category", key, category.id)
        # One step, the org's approver: whatever the demo world's policy is, the pending
        # requisition below has exactly one task, assigned to approver@<org>.
        policy = approvals.policy_for(org.id)
        for old_step in list(policy.steps if policy else []):
            approval_policy.delete_step(admin, old_step)
        step = approval_policy.save_step(
            admin, None, name=f"Step {mark}", approver_kind=ApproverKind.USER,
            approver_user=approver,
        )
        _add(sample, "step", key, step.id)
        _add(sample, "policy_version", key, policy_versions.latest(step.policy_id).id)
        # The demo world may already budget this cost centre: periods never overlap.
        budget = _first(Budget, org.id, Budget.cost_center_id == cost_center.id)
        if budget is None:
            budget = budgets.create_budget(
                admin, cost_center=cost_center, name="Budget", period_kind=PeriodKind.YEAR,
                starts_on=date(today.year, 1, 1), ends_on=date(today.year, 12, 31),
                amount=Decimal("100000"), currency=org.currency,
            )
        budget.name = f"{budget.name} {mark}"
        _add(sample, "budget", key, budget.id)
        draft = requisitions.create_requisition(buyer, title=f"Draft {mark}", cost_center=cost_center)
        line = requisitions.add_line(draft, buyer, description=f"Line {mark}", quantity=Decimal(1),
                                     unit_price=Decimal("100"), vat_rate=Decimal("23"))
        attachment = requisitions.add_attachment(draft, buyer, filename=f"offer-{mark}.txt",
                                                 content_type="text/plain", data=b"offer")
        _add(sample, "requisition", key, draft.id)
        _add(sample, "line", key, line.id)
        _add(sample, "attachment", key, attachment.id)
        pending = requisitions.create_requisition(buyer, title=f"Pending {mark}",
                                                  cost_center=cost_center)
        requisitions.add_line(pending, buyer, description=f"Part {mark}", quantity=Decimal(2),
                              unit_price=Decimal("50"), vat_rate=Decimal("23"))
        mail_service.outbox.clear()
        approvals.submit(pending, buyer)
        task = db.session.scalars(
            select(ApprovalTask).where(ApprovalTask.requisition_id == pending.id)
        ).one()
        _add(sample, "pending_requisition", key, pending.id)
        _add(sample, "task", key, task.id)
        delegation = approvals.create_delegation(approver, admin, today, today + timedelta(days=7))
        _add(sample, "delegation", key, delegation.id)
        invitation, token = invitations.invite_user(
            org, actor=admin, email=f"invitee@{key}.example", full_name=f"Invitee {mark}",
            roles=["buyer"], days=7,
        )
        _add(sample, "invitation", key, invitation.id)
        _token(sample, "invitation", key, token)
        supplier_invitation, token = supplier_invitations.invite_supplier(
            admin, company_name=f"Newco {mark}", email=f"sales@newco-{key}.example",
            payment_terms=PaymentTerms.net(30), currency=org.currency, days=7,
        )
        _add(sample, "supplier_invitation", key, supplier_invitation.id)
        _token(sample, "supplier_invitation", key, token)
        for person in (admin, buyer):
            notifications.notify(person, f"Notice {mark}", email=False)
        db.session.flush()
    # The e-mail waits in the outbox until the commit; its one-click link is in the payload.
    extra = [row.payload.get("extra_link") or {} for row in db.session.scalars(select(OutboxMessage))
             if row.payload.get("user_id") == approver.id]
    decision = [x.get("params", {}).get("token") or re.search(r"/approvals/decide/([\w-]+)", x.get("url", ""))
                for x in extra]
    decision = [d if isinstance(d, str) else d.group(1) for d in decision if d]
    assert decision, "submitting should mail the approver a one-click decision link"
    _token(sample, "decision", key, decision[-1])


def _build_supplier(sample: Sample, key: str, org, people: dict) -> None:
    mark = SECRET[key]
    admin = people[f"sales@{key}.example"]
    with bound(db.session, scope_for(db.session, org)):
        invitation, token = invitations.invite_user(
            org, actor=admin, email=f"invitee@{key}.example", full_name=f"Invitee {mark}",
            roles=["supplier_sales"], days=7,
        )
        _add(sample, "invitation", key, invitation.id)
        _token(sample, "invitation", key, token)
        notifications.notify(admin, f"Notice {mark}", email=False)
        db.session.flush()


def _build_integration(sample: Sample, key: str, admin) -> None:
    """An API token, a webhook endpoint (a host that never resolves: .invalid) and one failed
    delivery of it, for the organisation's admin pages (tests/security/routes.py token_id,
    endpoint_id, delivery_id)."""
    mark = SECRET[key]
    token, _raw = api_tokens.issue_token(admin, name=f"ERP {mark}", scopes=list(ALL_SCOPES),
                                         user=admin)
    _add(sample, "api_token", key, token.id)
    endpoint, _secret = webhooks.create_endpoint(admin, f"https://erp.{key}.invalid/hooks",
                                                 ["order.issued"], f"Hooks {mark}")
    _add(sample, "webhook_endpoint", key, endpoint.id)
    event_id = new_event_id()
    delivery = WebhookDelivery(
        organization_id=admin.organization_id, endpoint_id=endpoint.id, event="order.issued",
        event_id=event_id, payload={"id": event_id, "type": "order.issued", "data": {}},
        status=DeliveryStatus.FAILED, attempts=1, response_code=500, last_error=f"HTTP 500 {mark}")
    db.session.add(delivery)
    db.session.flush()
    _add(sample, "webhook_delivery", key, delivery.id)


def _add_extra_suppliers(built: dict) -> None:
    """EXTRA_SUPPLIERS, each with its admin and its link (run under system())."""
    for key, (buyer_key, status, fields) in EXTRA_SUPPLIERS.items():
        org = Organization(kind=OrgKind.SUPPLIER, **fields)
        db.session.add(org)
        db.session.flush()
        buyer = built["orgs"][buyer_key]
        db.session.add(SupplierLink(organization_id=buyer.id, supplier_id=org.id,
                                    currency=buyer.currency, status=status))
        users.create_user(org, email=f"sales@{key}.example", full_name=f"Sales {fields['name']}",
                          roles=[Role.SUPPLIER_ADMIN.value], password="portal-demo-2026")
        built["orgs"][key] = org


def build_sample(app) -> Sample:
    """The demo world plus the sample objects, committed."""
    with app.test_request_context(base_url=app.config["BASE_URL"]):
        with system(db.session):
            built = seed_demo()
            _add_extra_suppliers(built)
            # A second member for each supplier, so there is someone other than oneself to manage.
            for key in SUPPLIERS:
                users.create_user(
                    built["orgs"][key], email=f"sales2@{key}.example", full_name=f"Second {key}",
                    roles=[Role.SUPPLIER_SALES.value], password="portal-demo-2026",
                )
            db.session.commit()
        orgs = built["orgs"]
        people = {u.email: u for u in db.session.scalars(
            select(User).execution_options(all_tenants=True)
        )}
        sample = Sample(
            orgs={key: org.id for key, org in orgs.items()},
            org_of_user={},
            user_ids={},
            session_ids={},
        )
        by_id = {org.id: key for key, org in orgs.items()}
        for email, user in people.items():
            sample.org_of_user[email] = by_id[user.organization_id]
            sample.user_ids[email] = user.id
        for key, org in orgs.items():
            # Tax IDs are public register data (and make fine examples on help pages).
            sample.public[key] = {org.name, org.legal_name} | {
                w for u in people.values() if u.organization_id == org.id
                for w in (u.email, u.full_name)
            }
        for key in BUYERS:
            _build_buyer(sample, key, orgs[key], people)
        for key in BUYERS:
            build_sourcing(sample, key, orgs, people,
                           add=lambda kind, key, value: _add(sample, kind, key, value),
                           share=lambda text, readers: sample.shared.__setitem__(text, set(readers)))
        for key in BUYERS:
            build_invoicing(sample, key, orgs, people,
                            add=lambda kind, key, value: _add(sample, kind, key, value),
                            share=lambda text, readers: sample.shared.__setitem__(text, set(readers)))
        for key in SUPPLIERS:
            _build_supplier(sample, key, orgs[key], people)
        # After the documents: the sample endpoints are told of no seeded event.
        for key in BUYERS + SUPPLIERS:
            admin = people[f"admin@{key}.example" if key in BUYERS else f"sales@{key}.example"]
            with bound(db.session, scope_for(db.session, orgs[key])):
                _build_integration(sample, key, admin)
        with system(db.session):
            for link in db.session.scalars(select(SupplierLink)):
                pair = (by_id[link.organization_id], by_id[link.supplier_id])
                _add(sample, "link", f"{pair[0]}-{pair[1]}", link.id)
                sample.linked.add(pair)
            # A reset link for Acme's buyer (single use: tests that use it restore the rows).
            _, token = auth.start_password_reset("buyer@acme.example", hours=2)
            _token(sample, "reset", "acme", token)
            db.session.commit()
            for email, user_id in sample.user_ids.items():
                user = db.session.get(User, user_id)
                sample.session_ids[email] = user.get_id()
    return sample


def _dump() -> list:
    with db.engine.connect() as conn:
        return [
            # By primary key: a row referring to another of its own table (a credit note to
            # its invoice) comes after it, so PostgreSQL's foreign keys accept the restore.
            (table, [dict(row) for row in conn.execute(
                table.select().order_by(*table.primary_key.columns)).mappings()])
            for table in db.metadata.sorted_tables
        ]


def _sequences(dump) -> list[tuple[str, int]]:
    """PostgreSQL: (sequence, next value) for every serial primary key, past the dumped ids."""
    if db.engine.dialect.name != "postgresql":
        return []
    found = []
    with db.engine.connect() as conn:
        for table, rows in dump:
            for column in table.primary_key.columns:
                sequence = conn.execute(
                    text("SELECT pg_get_serial_sequence(:t, :c)"),
                    {"t": table.name, "c": column.name},
                ).scalar()
                if sequence:
                    found.append((sequence, max((r[column.name] for r in rows), default=0) + 1))
    return found


def _restore(dump, sequences) -> None:
    db.session.remove()
    with db.engine.begin() as conn:
        for table, rows in dump:
            if rows:
                conn.execute(table.insert(), rows)
        if sequences:
            # Rows came back with their ids; move each sequence past them, in one round trip.
            conn.execute(text("SELECT " + ", ".join(
                f"setval('{name}', {value}, false)" for name, value in sequences
            )))


_SNAPSHOT: dict = {}


@pytest.fixture
def sample(app) -> Sample:
    """The sample world, freshly restored for this test."""
    if "rows" not in _SNAPSHOT:
        _SNAPSHOT["sample"] = build_sample(app)
        _SNAPSHOT["rows"] = _dump()
        _SNAPSHOT["sequences"] = _sequences(_SNAPSHOT["rows"])
        mail_service.outbox.clear()
    else:
        _restore(_SNAPSHOT["rows"], _SNAPSHOT["sequences"])
    return _SNAPSHOT["sample"]


def restore_sample() -> None:
    """Put the sample rows back as they were built (within a test, before another request)."""
    _restore_tables()


def _restore_tables() -> None:
    from tests.conftest import _empty_database

    _empty_database()
    _restore(_SNAPSHOT["rows"], _SNAPSHOT["sequences"])


def invitation_ids(kind: str) -> list[int]:
    with system(db.session):
        return list(db.session.scalars(select(Invitation.id).where(Invitation.kind == kind)))


def notification_of(user_id: int) -> int | None:
    with system(db.session):
        return db.session.scalars(
            select(Notification.id).where(Notification.user_id == user_id).order_by(Notification.id)
        ).first()


def fingerprint() -> dict:
    """Every row of every table: compare before and after to prove nothing changed."""
    db.session.remove()
    with db.engine.connect() as conn:
        return {
            table.name: sorted(
                (tuple(str(v) for v in row) for row in conn.execute(table.select())), key=str
            )
            for table in db.metadata.sorted_tables
        }


def body_text(response) -> str:
    """What a response shows a person: its text, or the text of a PDF (poppler's pdftotext), so
    the leak checks read downloads too."""
    data = response.get_data()
    if data.startswith(b"%PDF"):
        import shutil
        import subprocess

        if shutil.which("pdftotext") is None:
            return data.decode("latin-1")
        out = subprocess.run(["pdftotext", "-layout", "-enc", "UTF-8", "-", "-"], input=data,  # noqa: S607
                             capture_output=True, check=True, timeout=60)
        return out.stdout.decode("utf-8")
    return data.decode("utf-8", "replace")
