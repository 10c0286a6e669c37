"""One test per policy rule (portal/policies/): each rule has an allow and a deny case.

Stand-in users and objects keep these free of the database. `test_every_rule_is_tested` fails
when a rule is added to RULES without cases here: add at least one allowed and one refused case
to CASES below.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest

from portal.domain.budget import BudgetStatus
from portal.domain.requisition import RequisitionStatus
from portal.domain.roles import Role
from portal.errors import InvalidTransition, NotFound, PermissionDenied
from portal.models.org import LinkStatus, OrgKind
from portal.policies import RULES, can, check

ACME, GLOBEX, NORDWIND = 1, 2, 3


@dataclass
class StandIn:
    """What the rules read of a user: id, organisation (kind), roles, active flag."""

    name: str
    kind: OrgKind
    roles: set = field(default_factory=set)
    organization_id: int = ACME
    id: int = 100
    is_active: bool = True
    is_authenticated: bool = True

    @property
    def organization(self):
        return SimpleNamespace(id=self.organization_id, kind=self.kind)

    def has_role(self, *roles) -> bool:
        return bool(self.roles.intersection(roles))

    def __repr__(self) -> str:
        return self.name


BUYER = StandIn("buyer", OrgKind.BUYER, {Role.BUYER}, id=101)
BUYER2 = StandIn("buyer2", OrgKind.BUYER, {Role.BUYER}, id=102)
APPROVER = StandIn("approver", OrgKind.BUYER, {Role.APPROVER}, id=103)
ADMIN = StandIn("admin", OrgKind.BUYER, {Role.ADMIN}, id=104)
GLOBEX_ADMIN = StandIn("globex_admin", OrgKind.BUYER, {Role.ADMIN}, GLOBEX, id=201)
SUPPLIER_ADMIN = StandIn(
    "supplier_admin", OrgKind.SUPPLIER, {Role.SUPPLIER_ADMIN, Role.SUPPLIER_SALES}, NORDWIND, 301
)
SUPPLIER_SALES = StandIn("supplier_sales", OrgKind.SUPPLIER, {Role.SUPPLIER_SALES}, NORDWIND, 302)
INACTIVE_ADMIN = StandIn("inactive_admin", OrgKind.BUYER, {Role.ADMIN}, id=105, is_active=False)


def member(org=ACME, active=True):
    return SimpleNamespace(organization_id=org, is_active=active, id=150)


def link(status):
    return SimpleNamespace(organization_id=ACME, supplier_id=NORDWIND, status=status)


def invitation(org=ACME, accepted=False, revoked=False):
    return SimpleNamespace(
        organization_id=org, accepted_at="2026-01-01" if accepted else None,
        revoked_at="2026-01-01" if revoked else None,
    )


def supplier_invitation(org=ACME, kind="supplier", accepted=False, revoked=False):
    return SimpleNamespace(**vars(invitation(org, accepted, revoked)), kind=kind)


def switchable(active=True):
    """An item, category or cost centre."""
    return SimpleNamespace(organization_id=ACME, is_active=active)


def budget(status=BudgetStatus.OPEN):
    return SimpleNamespace(organization_id=ACME, status=status)


def requisition(status=RequisitionStatus.DRAFT, requester=BUYER):
    return SimpleNamespace(organization_id=ACME, requester_id=requester.id, status=status)


S = RequisitionStatus
# (rule, user, object, expected)
CASES = [
    ("dashboard.view", BUYER, None, True),
    ("dashboard.view", SUPPLIER_SALES, None, True),
    ("dashboard.view", INACTIVE_ADMIN, None, False),
    ("account.manage", SUPPLIER_SALES, None, True),
    ("account.manage", INACTIVE_ADMIN, None, False),
    ("notifications.view", BUYER, None, True),
    ("notifications.view", INACTIVE_ADMIN, None, False),
    ("users.manage", ADMIN, None, True),
    ("users.manage", SUPPLIER_ADMIN, None, True),
    ("users.manage", BUYER, None, False),
    ("users.manage", APPROVER, None, False),
    ("users.manage", SUPPLIER_SALES, None, False),
    ("users.edit", ADMIN, member(), True),
    ("users.edit", ADMIN, None, True),
    ("users.edit", ADMIN, member(org=GLOBEX), False),
    ("users.edit", BUYER, member(), False),
    ("users.edit", SUPPLIER_ADMIN, member(org=NORDWIND), True),
    ("users.invite", ADMIN, None, True),
    ("users.invite", SUPPLIER_ADMIN, None, True),
    ("users.invite", APPROVER, None, False),
    ("users.invite", SUPPLIER_SALES, None, False),
    ("users.deactivate", ADMIN, member(active=True), True),
    ("users.deactivate", ADMIN, member(active=False), False),
    ("users.deactivate", ADMIN, member(org=GLOBEX), False),
    ("users.deactivate", BUYER, member(), False),
    ("users.reactivate", ADMIN, member(active=False), True),
    ("users.reactivate", ADMIN, member(active=True), False),
    ("users.reactivate", ADMIN, member(org=GLOBEX, active=False), False),
    ("users.reactivate", APPROVER, member(active=False), False),
    ("invitations.revoke", ADMIN, invitation(), True),
    ("invitations.revoke", ADMIN, invitation(accepted=True), False),
    ("invitations.revoke", ADMIN, invitation(revoked=True), False),
    ("invitations.revoke", ADMIN, invitation(org=GLOBEX), False),
    ("invitations.revoke", BUYER, invitation(), False),
    ("invitations.resend", ADMIN, invitation(), True),
    ("invitations.resend", SUPPLIER_ADMIN, invitation(org=NORDWIND), True),
    ("invitations.resend", ADMIN, invitation(accepted=True), False),
    ("invitations.resend", GLOBEX_ADMIN, invitation(), False),
    ("invitations.resend", SUPPLIER_SALES, invitation(org=NORDWIND), False),
    ("org.edit", ADMIN, None, True),
    ("org.edit", SUPPLIER_ADMIN, None, True),
    ("org.edit", APPROVER, None, False),
    ("org.edit", SUPPLIER_SALES, None, False),
    ("audit.view", ADMIN, None, True),
    ("audit.view", SUPPLIER_ADMIN, None, True),
    ("audit.view", BUYER, None, False),
    ("audit.view", SUPPLIER_SALES, None, False),
    ("suppliers.view", BUYER, None, True),
    ("suppliers.view", APPROVER, None, True),
    ("suppliers.view", SUPPLIER_ADMIN, None, False),
    ("suppliers.manage", ADMIN, None, True),
    ("suppliers.manage", BUYER, None, False),
    ("suppliers.manage", SUPPLIER_ADMIN, None, False),
    ("suppliers.block", ADMIN, link(LinkStatus.ACTIVE), True),
    ("suppliers.block", ADMIN, link(LinkStatus.BLOCKED), False),
    ("suppliers.block", BUYER, link(LinkStatus.ACTIVE), False),
    ("suppliers.unblock", ADMIN, link(LinkStatus.BLOCKED), True),
    ("suppliers.unblock", ADMIN, link(LinkStatus.ACTIVE), False),
    ("suppliers.unblock", APPROVER, link(LinkStatus.BLOCKED), False),
    ("suppliers.edit_terms", ADMIN, link(LinkStatus.ACTIVE), True),
    ("suppliers.edit_terms", ADMIN, SimpleNamespace(organization_id=GLOBEX), False),
    ("suppliers.edit_terms", BUYER, link(LinkStatus.ACTIVE), False),
    ("suppliers.edit_terms", SUPPLIER_ADMIN, None, False),
    ("supplier_invitation.revoke", ADMIN, supplier_invitation(), True),
    ("supplier_invitation.revoke", ADMIN, supplier_invitation(kind="user"), False),
    ("supplier_invitation.revoke", ADMIN, supplier_invitation(revoked=True), False),
    ("supplier_invitation.revoke", GLOBEX_ADMIN, supplier_invitation(), False),
    ("supplier_invitation.revoke", APPROVER, supplier_invitation(), False),
    ("supplier_invitation.resend", ADMIN, supplier_invitation(), True),
    ("supplier_invitation.resend", ADMIN, supplier_invitation(accepted=True), False),
    ("supplier_invitation.resend", SUPPLIER_ADMIN, None, False),
    ("catalog.view", BUYER, None, True),
    ("catalog.view", APPROVER, None, True),
    ("catalog.view", SUPPLIER_ADMIN, None, False),
    ("catalog.manage", ADMIN, None, True),
    ("catalog.manage", BUYER, None, False),
    ("catalog.manage", SUPPLIER_ADMIN, None, False),
    ("catalog.deactivate", ADMIN, switchable(active=True), True),
    ("catalog.deactivate", ADMIN, switchable(active=False), False),
    ("catalog.deactivate", BUYER, switchable(active=True), False),
    ("catalog.reactivate", ADMIN, switchable(active=False), True),
    ("catalog.reactivate", ADMIN, switchable(active=True), False),
    ("catalog.reactivate", APPROVER, switchable(active=False), False),
    ("cost_centers.manage", ADMIN, None, True),
    ("cost_centers.manage", APPROVER, None, False),
    ("cost_centers.manage", SUPPLIER_ADMIN, None, False),
    ("cost_centers.deactivate", ADMIN, switchable(active=True), True),
    ("cost_centers.deactivate", ADMIN, switchable(active=False), False),
    ("cost_centers.deactivate", BUYER, switchable(active=True), False),
    ("cost_centers.reactivate", ADMIN, switchable(active=False), True),
    ("cost_centers.reactivate", ADMIN, switchable(active=True), False),
    ("cost_centers.reactivate", SUPPLIER_ADMIN, None, False),
    ("budgets.view", APPROVER, None, True),
    ("budgets.view", ADMIN, None, True),
    ("budgets.view", BUYER, None, False),
    ("budgets.view", SUPPLIER_ADMIN, None, False),
    ("budgets.manage", ADMIN, budget(), True),
    ("budgets.manage", ADMIN, None, True),
    ("budgets.manage", ADMIN, budget(BudgetStatus.CLOSED), False),
    ("budgets.manage", APPROVER, None, False),
    ("customers.view", SUPPLIER_SALES, None, True),
    ("customers.view", SUPPLIER_ADMIN, None, True),
    ("customers.view", ADMIN, None, False),
    ("supplier_invitation.accept", SUPPLIER_ADMIN, None, True),
    ("supplier_invitation.accept", SUPPLIER_SALES, None, False),
    ("supplier_invitation.accept", ADMIN, None, False),
    ("requisitions.create", BUYER, None, True),
    ("requisitions.create", APPROVER, None, False),
    ("requisitions.create", SUPPLIER_SALES, None, False),
    ("requisitions.view_all", APPROVER, None, True),
    ("requisitions.view_all", ADMIN, None, True),
    ("requisitions.view_all", BUYER, None, False),
    ("requisitions.view_all", SUPPLIER_ADMIN, None, False),
    ("requisitions.view", BUYER, None, True),
    ("requisitions.view", BUYER, requisition(), True),
    ("requisitions.view", BUYER2, requisition(), False),
    ("requisitions.view", APPROVER, requisition(), True),
    ("requisitions.view", SUPPLIER_ADMIN, None, False),
    ("requisitions.edit", BUYER, None, True),
    ("requisitions.edit", BUYER, requisition(), True),
    ("requisitions.edit", BUYER, requisition(S.PENDING), False),
    ("requisitions.edit", BUYER2, requisition(), False),
    ("requisitions.edit", APPROVER, None, False),
    ("requisitions.submit", BUYER, requisition(), True),
    ("requisitions.submit", BUYER, requisition(S.APPROVED), False),
    ("requisitions.submit", ADMIN, requisition(), False),
    ("requisitions.cancel", BUYER, requisition(S.DRAFT), True),
    ("requisitions.cancel", BUYER, requisition(S.PENDING), True),
    ("requisitions.cancel", BUYER2, requisition(S.PENDING), False),
    ("requisitions.cancel", BUYER, requisition(S.APPROVED), False),
    ("requisitions.cancel", ADMIN, requisition(S.APPROVED), True),
    ("requisitions.cancel", ADMIN, requisition(S.ORDERED), False),
    ("requisitions.cancel", BUYER, None, False),
    ("requisitions.duplicate", BUYER, requisition(S.REJECTED), True),
    ("requisitions.duplicate", BUYER2, requisition(), False),
    ("requisitions.duplicate", APPROVER, requisition(), False),
    ("requisitions.comment", APPROVER, requisition(S.PENDING), True),
    ("requisitions.comment", BUYER2, requisition(S.PENDING), False),
    ("requisitions.attach", BUYER, requisition(S.PENDING), True),
    ("requisitions.attach", BUYER, requisition(S.APPROVED), False),
    ("requisitions.attach", BUYER2, requisition(), False),
    ("approvals.inbox", APPROVER, None, True),
    ("approvals.inbox", ADMIN, None, True),
    ("approvals.inbox", BUYER, None, False),
    ("approvals.decide", APPROVER, None, True),
    ("approvals.decide", SUPPLIER_ADMIN, None, False),
    ("approvals.policy", ADMIN, None, True),
    ("approvals.policy", APPROVER, None, False),
    ("delegations.manage", APPROVER, None, True),
    ("delegations.manage", BUYER, None, False),
]


def supplier_invitation(org=ACME, accepted=False, revoked=False, kind="supplier"):
    return SimpleNamespace(
        organization_id=org, kind=kind, accepted_at="2026-01-01" if accepted else None,
        revoked_at="2026-01-01" if revoked else None,
    )


# Supplier links and supplier invitations (the suppliers feature).
CASES += [
    ("suppliers.edit_terms", ADMIN, link(LinkStatus.ACTIVE), True),
    ("suppliers.edit_terms", ADMIN, link(LinkStatus.BLOCKED), True),
    ("suppliers.edit_terms", GLOBEX_ADMIN, link(LinkStatus.ACTIVE), False),
    ("suppliers.edit_terms", BUYER, link(LinkStatus.ACTIVE), False),
    ("suppliers.edit_terms", SUPPLIER_ADMIN, link(LinkStatus.ACTIVE), False),
    ("supplier_invitation.revoke", ADMIN, supplier_invitation(), True),
    ("supplier_invitation.revoke", ADMIN, None, True),
    ("supplier_invitation.revoke", ADMIN, supplier_invitation(accepted=True), False),
    ("supplier_invitation.revoke", ADMIN, supplier_invitation(revoked=True), False),
    ("supplier_invitation.revoke", ADMIN, supplier_invitation(kind="user"), False),
    ("supplier_invitation.revoke", GLOBEX_ADMIN, supplier_invitation(), False),
    ("supplier_invitation.revoke", BUYER, supplier_invitation(), False),
    ("supplier_invitation.resend", ADMIN, supplier_invitation(), True),
    ("supplier_invitation.resend", ADMIN, supplier_invitation(accepted=True), False),
    ("supplier_invitation.resend", APPROVER, supplier_invitation(), False),
    ("supplier_invitation.resend", SUPPLIER_ADMIN, None, False),
]

# Rules added with the policies package: supplier invitations and who may stand in as delegate.
CASES += [
    ("supplier_invitation.send", ADMIN, None, True),
    ("supplier_invitation.send", BUYER, None, False),
    ("supplier_invitation.send", SUPPLIER_ADMIN, None, False),
    ("delegations.receive", APPROVER, None, True),
    ("delegations.receive", ADMIN, None, True),
    ("delegations.receive", BUYER, None, False),
    ("approvals.assignee", APPROVER, None, True),
    ("approvals.assignee", ADMIN, None, True),
    ("approvals.assignee", BUYER, None, False),
    ("approvals.assignee", SUPPLIER_ADMIN, None, False),
]


def agreement(start_days=-1, end_days=None):
    """A price agreement of Acme with Nordwind, starting/ending that many days from today."""
    from datetime import timedelta

    from portal.models.base import utcnow

    today = utcnow().date()
    return SimpleNamespace(organization_id=ACME, supplier_id=NORDWIND,
                           valid_from=today + timedelta(days=start_days),
                           valid_to=None if end_days is None else today + timedelta(days=end_days))


# Price agreements: everyone of the buyer reads them, its admin manages and ends them.
CASES += [
    ("agreements.view", BUYER, None, True),
    ("agreements.view", APPROVER, None, True),
    ("agreements.view", SUPPLIER_ADMIN, None, False),
    ("agreements.manage", ADMIN, None, True),
    ("agreements.manage", BUYER, None, False),
    ("agreements.manage", SUPPLIER_ADMIN, agreement(), False),
    ("agreements.end", ADMIN, agreement(), True),
    ("agreements.end", ADMIN, agreement(start_days=3), False),
    ("agreements.end", ADMIN, agreement(start_days=-30, end_days=-1), False),
    ("agreements.end", BUYER, agreement(), False),
]


def rfq(status="draft", sealed=True, opened=False):
    """An RFQ of Acme in `status`."""
    return SimpleNamespace(organization_id=ACME, status=status, sealed=sealed,
                           opened_at="2026-12-05" if opened else None)


# RFQs (the buyer's): buyers and admins run them, approvers read them; the state decides which
# move is possible (portal.domain.rfq), the deadline is the services' to check.
CASES += [
    ("rfqs.view", APPROVER, None, True),
    ("rfqs.view", SUPPLIER_ADMIN, None, False),
    ("rfqs.create", BUYER, None, True),
    ("rfqs.create", APPROVER, None, False),
    ("rfqs.edit", ADMIN, rfq("draft"), True),
    ("rfqs.edit", BUYER, rfq("open"), False),
    ("rfqs.publish", BUYER, rfq("draft"), True),
    ("rfqs.publish", BUYER, rfq("open"), False),
    ("rfqs.amend", BUYER, rfq("open"), True),
    ("rfqs.amend", BUYER, rfq("closed"), False),
    ("rfqs.cancel", BUYER, rfq("closed"), True),
    ("rfqs.cancel", BUYER, rfq("awarded"), False),
    ("rfqs.close", BUYER, rfq("open"), True),
    ("rfqs.close", APPROVER, rfq("open"), False),
    ("rfqs.open_quotes", BUYER, rfq("closed"), True),
    ("rfqs.open_quotes", BUYER, rfq("closed", opened=True), False),
    ("rfqs.open_quotes", BUYER, rfq("closed", sealed=False), False),
    ("rfqs.answer", BUYER, SimpleNamespace(organization_id=ACME, rfq=rfq("open")), True),
    ("rfqs.answer", BUYER, SimpleNamespace(organization_id=ACME, rfq=rfq("cancelled")), False),
    ("rfqs.answer", SUPPLIER_SALES, None, False),
]


def order(status="issued", link_status="active", proposed=False):
    """A purchase order of Acme to Nordwind in `status`."""
    return SimpleNamespace(organization_id=ACME, supplier_id=NORDWIND, status=status,
                           link=SimpleNamespace(status=link_status), buyer=SimpleNamespace(name="Acme"),
                           proposed_delivery_date="2026-12-24" if proposed else None)


# Purchase orders: the buyer's people read them, buyers and admins change them; the supplier
# acknowledges or proposes a date while its link is active; the state decides (domain/orders).
CASES += [
    ("orders.view", APPROVER, order(), True),
    ("orders.view", SUPPLIER_SALES, None, False),
    ("orders.issue", BUYER, None, True),
    ("orders.issue", APPROVER, None, False),
    ("orders.cancel", BUYER, order("acknowledged"), True),
    ("orders.cancel", BUYER, order("partially_received"), False),
    ("orders.cancel", SUPPLIER_ADMIN, order(), False),
    ("orders.revise", ADMIN, order("acknowledged"), True),
    ("orders.revise", BUYER, order("received"), False),
    ("orders.answer_proposal", BUYER, order(proposed=True), True),
    ("orders.answer_proposal", BUYER, order(), False),
    ("orders.answer_proposal", APPROVER, order(proposed=True), False),
    ("orders.supplier_view", SUPPLIER_SALES, order(link_status="blocked"), True),
    ("orders.supplier_view", BUYER, None, False),
    ("orders.acknowledge", SUPPLIER_SALES, order(), True),
    ("orders.acknowledge", SUPPLIER_SALES, order(link_status="blocked"), False),
    ("orders.acknowledge", SUPPLIER_SALES, order("acknowledged"), False),
    ("orders.acknowledge", BUYER, order(), False),
    ("orders.propose_date", SUPPLIER_ADMIN, order("acknowledged"), True),
    ("orders.propose_date", SUPPLIER_ADMIN, order("received"), False),
    ("orders.from_agreements", BUYER, requisition(S.APPROVED), True),
    ("orders.from_agreements", BUYER, requisition(S.DRAFT), False),
    # goods receipts (helper F): buyers and admins, an issued order too, never a finished one
    ("orders.receive", BUYER, order(), True),
    ("orders.receive", ADMIN, order("partially_received"), True),
    ("orders.receive", BUYER, order("received"), False),
    ("orders.receive", BUYER, order("cancelled"), False),
    ("orders.receive", APPROVER, order("acknowledged"), False),
    ("orders.receive", SUPPLIER_SALES, order("acknowledged"), False),
    ("orders.from_agreements", APPROVER, requisition(S.APPROVED), False),
    # over the supplier's credit limit (helper A): only the buyer's admin, on its own link
    ("orders.credit_override", ADMIN, link("active"), True),
    ("orders.credit_override", ADMIN, None, True),
    ("orders.credit_override", BUYER, link("active"), False),
    ("orders.credit_override", APPROVER, None, False),
    ("orders.credit_override", GLOBEX_ADMIN, link("active"), False),
    ("orders.credit_override", SUPPLIER_ADMIN, link("active"), False),
]


# Invoicing, the buyer's side (helper E): portal/policies/invoices.py
def invoice(status="issued", *, org=ACME, kind="invoice", match="matched"):
    return SimpleNamespace(organization_id=org, supplier_id=NORDWIND, status=status, kind=kind,
                           match_status=match)


CASES += [
    ("invoices.view", BUYER, invoice(), True),
    ("invoices.view", APPROVER, invoice("paid"), True),
    ("invoices.view", BUYER, invoice("draft"), False),
    ("invoices.view", SUPPLIER_SALES, None, False),
    ("invoices.approve", APPROVER, invoice(), True),
    ("invoices.approve", ADMIN, invoice("disputed", match="mismatched"), True),
    ("invoices.approve", APPROVER, invoice(match="mismatched"), False),
    ("invoices.approve", BUYER, invoice(), False),
    ("invoices.approve", ADMIN, invoice("approved"), False),
    ("invoices.approve", ADMIN, invoice(kind="credit_note"), False),
    ("invoices.approve", ADMIN, invoice("draft"), False),
    ("invoices.override_match", ADMIN, invoice(match="mismatched"), True),
    ("invoices.override_match", APPROVER, invoice(match="mismatched"), False),
    ("invoices.dispute", BUYER, invoice(), True),
    ("invoices.dispute", BUYER, invoice("approved"), False),
    ("invoices.dispute", SUPPLIER_ADMIN, None, False),
    ("invoices.pay", ADMIN, invoice("approved"), True),
    ("invoices.pay", ADMIN, invoice("partially_paid"), True),
    ("invoices.pay", ADMIN, invoice("issued"), False),
    ("invoices.pay", APPROVER, invoice("approved"), False),
    ("invoices.statements", BUYER, link("active"), True),
    ("invoices.statements", SUPPLIER_ADMIN, None, False),
]

# Invoicing, the supplier's side (helper B): portal/policies/supplier_invoices.py
def s_invoice(status="draft", link_status="active", kind="invoice", supplier=NORDWIND):
    """An invoice (or credit note) of Nordwind to Acme in `status`."""
    return SimpleNamespace(organization_id=ACME, supplier_id=supplier, status=status, kind=kind,
                           link=SimpleNamespace(status=link_status), buyer=SimpleNamespace(name="Acme"))


def s_link(status="active", supplier=NORDWIND):
    return SimpleNamespace(organization_id=ACME, supplier_id=supplier, status=status,
                           buyer=SimpleNamespace(name="Acme"))


CASES += [
    ("supplier_invoices.view", SUPPLIER_SALES, s_invoice(), True),
    ("supplier_invoices.view", SUPPLIER_SALES, s_invoice("issued", link_status="blocked"), True),
    ("supplier_invoices.view", SUPPLIER_SALES, s_invoice(supplier=99), False),
    ("supplier_invoices.view", ADMIN, s_invoice(), False),
    ("supplier_invoices.draft", SUPPLIER_SALES, s_link(), True),
    ("supplier_invoices.draft", SUPPLIER_ADMIN, None, True),
    ("supplier_invoices.draft", SUPPLIER_SALES, s_link("blocked"), False),
    ("supplier_invoices.draft", SUPPLIER_SALES, s_link(supplier=99), False),
    ("supplier_invoices.draft", BUYER, None, False),
    ("supplier_invoices.edit", SUPPLIER_SALES, s_invoice(), True),
    ("supplier_invoices.edit", SUPPLIER_SALES, s_invoice("issued"), False),
    ("supplier_invoices.edit", SUPPLIER_SALES, s_invoice(link_status="blocked"), False),
    ("supplier_invoices.edit", ADMIN, s_invoice(), False),
    ("supplier_invoices.issue", SUPPLIER_ADMIN, s_invoice(), True),
    ("supplier_invoices.issue", SUPPLIER_ADMIN, s_invoice("approved"), False),
    ("supplier_invoices.issue", SUPPLIER_ADMIN, s_invoice(kind="credit_note", status="issued"), False),
    ("supplier_invoices.credit", SUPPLIER_SALES, s_invoice("issued"), True),
    ("supplier_invoices.credit", SUPPLIER_SALES, s_invoice("disputed"), True),
    ("supplier_invoices.credit", SUPPLIER_SALES, s_invoice("partially_paid"), True),
    ("supplier_invoices.credit", SUPPLIER_SALES, s_invoice("draft"), False),
    ("supplier_invoices.credit", SUPPLIER_SALES, s_invoice("paid"), False),
    ("supplier_invoices.credit", SUPPLIER_SALES, s_invoice("credited"), False),
    ("supplier_invoices.credit", SUPPLIER_SALES, s_invoice("issued", kind="credit_note"), False),
    ("supplier_invoices.credit", SUPPLIER_SALES, s_invoice("issued", link_status="blocked"), False),
    ("supplier_invoices.credit", ADMIN, s_invoice("issued"), False),
    ("supplier_invoices.statements", SUPPLIER_SALES, s_link("blocked"), True),
    ("supplier_invoices.statements", SUPPLIER_SALES, None, True),
    ("supplier_invoices.statements", SUPPLIER_SALES, s_link(supplier=99), False),
    ("supplier_invoices.statements", BUYER, None, False),
]


def _case_id(case) -> str:
    action, user, obj, expected = case
    return f"{action}-{user.name}-{'obj' if obj is not None else 'none'}-{expected}"


@pytest.mark.parametrize(("action", "user", "obj", "expected"), CASES, ids=map(_case_id, CASES))
def test_rule(action, user, obj, expected):
    assert can(user, action, obj) is expected


def test_every_rule_is_tested():
    """Fails when a rule in portal/policies.py has no allowed and refused case here."""
    allowed = {action for action, _, _, expected in CASES if expected}
    refused = {action for action, _, _, expected in CASES if not expected}
    missing = sorted(set(RULES) - (allowed & refused))
    assert not missing, (
        f"policy rules without an allowed and a refused case in {__file__}: {missing}. "
        "Add cases to CASES for each."
    )
    stale = sorted((allowed | refused) - set(RULES))
    assert not stale, f"CASES name rules that no longer exist: {stale}"


def test_can_refuses_anonymous_and_inactive_users_for_every_rule():
    anonymous = SimpleNamespace(is_authenticated=False, is_active=False)
    for action in RULES:
        assert can(None, action) is False
        assert can(anonymous, action) is False
        assert can(INACTIVE_ADMIN, action) is False


def test_can_refuses_an_unknown_action_loudly():
    with pytest.raises(KeyError, match="no policy rule"):
        can(ADMIN, "users.nuke")


# The refusal says why: the table refuses the status (InvalidTransition), the mover table the actor
# (PermissionDenied), each with the words the service shows.
REFUSALS = [
    ("requisitions.cancel", BUYER, requisition(S.REJECTED), InvalidTransition, "cannot be changed this way"),
    ("requisitions.cancel", BUYER, requisition(S.APPROVED), PermissionDenied, "Only an admin can cancel"),
    ("requisitions.cancel", BUYER2, requisition(S.PENDING), PermissionDenied, "Only the requester can cancel"),
    ("requisitions.submit", BUYER, requisition(S.PENDING), InvalidTransition, "Only a draft can be submitted"),
    ("requisitions.submit", BUYER2, requisition(), PermissionDenied, "Only the requester can submit"),
    ("requisitions.edit", BUYER, requisition(S.PENDING), InvalidTransition, "Only a draft can be changed"),
    ("requisitions.attach", BUYER, requisition(S.APPROVED), InvalidTransition, "only to drafts and pending"),
    ("requisitions.create", APPROVER, None, PermissionDenied, "Only buyers raise requisitions"),
    ("budgets.manage", APPROVER, None, PermissionDenied, "Only company admins manage budgets"),
    ("approvals.policy", APPROVER, None, PermissionDenied, "Only company admins change the approval policy"),
    ("suppliers.manage", BUYER, None, PermissionDenied, "Only your company's admin can manage suppliers"),
    ("rfqs.edit", BUYER, rfq("open"), InvalidTransition, "Only a draft RFQ can be changed"),
    ("rfqs.amend", BUYER, rfq("draft"), InvalidTransition, "Only an open RFQ can be amended"),
    ("invoices.approve", APPROVER, invoice(match="mismatched"), PermissionDenied, "only an admin can approve"),
    ("invoices.pay", ADMIN, invoice("issued"), InvalidTransition, "Only an approved invoice can be paid"),
]


@pytest.mark.parametrize(("action", "user", "obj", "kind", "words"), REFUSALS,
                         ids=[f"{r[0]}-{r[1].name}" for r in REFUSALS])
def test_check_names_the_refusal(action, user, obj, kind, words):
    refusal = check(user, action, obj)
    assert type(refusal) is kind
    assert words in str(refusal)


def test_another_companys_object_is_not_found_before_any_role_is_checked():
    """404, never 403: neither the role nor the object's state is looked at."""
    foreign = requisition()
    foreign.organization_id = GLOBEX
    for user in (BUYER, APPROVER, ADMIN, SUPPLIER_SALES):
        assert type(check(user, "requisitions.cancel", foreign)) is NotFound
        assert type(check(user, "requisitions.view", foreign)) is NotFound
    assert type(check(ADMIN, "users.edit", member(org=GLOBEX))) is NotFound


def test_a_shared_document_is_the_addressed_suppliers_to_ask_about():
    shared = link(LinkStatus.ACTIVE)  # Acme's link to Nordwind
    assert type(check(SUPPLIER_ADMIN, "suppliers.block", shared)) is PermissionDenied
    assert type(check(GLOBEX_ADMIN, "suppliers.block", shared)) is NotFound


def invitation(status="invited", link=LinkStatus.ACTIVE):
    """Nordwind's invitation to an RFQ of Acme."""
    return SimpleNamespace(organization_id=ACME, supplier_id=NORDWIND, status=status,
                           link=SimpleNamespace(status=link))


def quote(status="draft", invitation_status="quoted"):
    return SimpleNamespace(organization_id=ACME, supplier_id=NORDWIND, status=status,
                           invitation=invitation(invitation_status))


# The supplier's side of an RFQ (portal/policies/quotes.py): its admins and salespeople quote,
# decline and ask while the link is active; a blocked link reads only; decided RFQs are final.
# The award (portal/policies/rfqs.py): buyers and admins, on an open or closed RFQ.
CASES += [
    ("quotes.view", SUPPLIER_SALES, None, True),
    ("quotes.view", BUYER, None, False),
    ("quotes.edit", SUPPLIER_SALES, invitation(), True),
    ("quotes.edit", SUPPLIER_SALES, quote("submitted"), True),
    ("quotes.edit", SUPPLIER_ADMIN, invitation(link=LinkStatus.BLOCKED), False),
    ("quotes.edit", SUPPLIER_SALES, quote("awarded", "awarded"), False),
    ("quotes.edit", BUYER, None, False),
    ("quotes.decline", SUPPLIER_SALES, invitation(), True),
    ("quotes.decline", SUPPLIER_SALES, invitation("quoted"), False),
    ("quotes.decline", SUPPLIER_SALES, invitation(link=LinkStatus.BLOCKED), False),
    ("quotes.ask", SUPPLIER_ADMIN, invitation(), True),
    ("quotes.ask", SUPPLIER_ADMIN, invitation(link=LinkStatus.BLOCKED), False),
    ("quotes.ask", APPROVER, None, False),
    ("rfqs.award", BUYER, rfq("closed"), True),
    ("rfqs.award", ADMIN, rfq("open"), True),
    ("rfqs.award", BUYER, rfq("awarded"), False),
    ("rfqs.award", APPROVER, rfq("closed"), False),
]


def proposal(status="open"):
    """Nordwind's price-list proposal to Acme."""
    return SimpleNamespace(organization_id=ACME, supplier_id=NORDWIND, status=status)


# Price-list proposals (portal/policies/price_proposals.py): the supplier's admins and
# salespeople propose on an active link and withdraw while open; the buyer's admin decides an
# open one; buyers and approvers read.
CASES += [
    ("price_proposals.propose", SUPPLIER_SALES, link(LinkStatus.ACTIVE), True),
    ("price_proposals.propose", SUPPLIER_ADMIN, link(LinkStatus.BLOCKED), False),
    ("price_proposals.propose", ADMIN, None, False),
    ("price_proposals.withdraw", SUPPLIER_SALES, proposal(), True),
    ("price_proposals.withdraw", SUPPLIER_SALES, proposal("decided"), False),
    ("price_proposals.withdraw", ADMIN, proposal(), False),
    ("price_proposals.view", APPROVER, proposal(), True),
    ("price_proposals.view", SUPPLIER_SALES, proposal(), True),
    ("price_proposals.view", GLOBEX_ADMIN, proposal(), False),
    ("price_proposals.decide", ADMIN, proposal(), True),
    ("price_proposals.decide", ADMIN, proposal("withdrawn"), False),
    ("price_proposals.decide", BUYER, proposal(), False),
    ("price_proposals.decide", SUPPLIER_ADMIN, proposal(), False),
]


# Integration settings (API tokens, webhook endpoints): the organisation's admin only.
CASES += [
    ("integration.manage", ADMIN, None, True),
    ("integration.manage", SUPPLIER_ADMIN, None, True),
    ("integration.manage", BUYER, None, False),
    ("integration.manage", APPROVER, None, False),
]
