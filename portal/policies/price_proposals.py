"""Rules of price-list proposals: a supplier proposes new prices to one customer (a link),
the customer's admin accepts or rejects them line by line.

obj: the supplier's link to the customer (proposing) or a PriceProposal (withdrawing,
deciding, reading)."""

from __future__ import annotations

from portal.domain.messages import N_
from portal.domain.roles import Role
from portal.errors import InvalidTransition
from portal.models.org import LinkStatus
from portal.models.price_proposal import ProposalStatus
from portal.policies.core import buyer_admin, buyer_with, is_supplier_org, refuse, rule
from portal.policies.quotes import supplier_seller


def _link_refusal(link):
    if link is not None and link.status != LinkStatus.ACTIVE:
        return refuse(N_("This customer has paused your account: you cannot propose prices."),
                      kind=InvalidTransition)
    return None


def _open(proposal, text):
    if proposal is not None and proposal.status != ProposalStatus.OPEN:
        return refuse(text, kind=InvalidTransition)
    return None


@rule("price_proposals.propose")
def _propose(user, obj):
    """A supplier's admin or salesperson proposes prices to a customer whose link is active."""
    if not supplier_seller(user):
        return False
    return _link_refusal(obj) or True


@rule("price_proposals.withdraw")
def _withdraw(user, obj):
    """The supplier's admin or salesperson withdraws its own proposal while it is open."""
    if not supplier_seller(user):
        return False
    if obj is not None and obj.supplier_id != user.organization_id:
        return False
    return _open(obj, N_("This proposal has been decided or withdrawn.")) or True


@rule("price_proposals.view")
def _view(user, obj) -> bool:
    """The buying company's admins, buyers and approvers read proposals; the supplier's
    admins and salespeople read their own."""
    if is_supplier_org(user):
        return supplier_seller(user)
    return buyer_with(user, Role.ADMIN, Role.BUYER, Role.APPROVER)


@rule("price_proposals.decide")
def _decide(user, obj):
    """The buying company's admin accepts or rejects the lines of an open proposal."""
    if not buyer_admin(user):
        return False
    if obj is not None and obj.organization_id != user.organization_id:
        return False
    return _open(obj, N_("This proposal has been decided or withdrawn.")) or True
