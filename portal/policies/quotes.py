"""Rules of the supplier's side of an RFQ: reading the RFQs it is invited to, quoting,
declining, asking questions. (The buyer's RFQ rules are in rfqs.py; the buyer reads quotes
through the sealed-aware reads of services/sourcing/quote_reads.py.)

The deadline is not a rule here (policies know no clock): the services check it with the
sourcing clock. These rules say who, and in which state of the invitation or quote.
"""

from __future__ import annotations

from portal.domain.messages import N_
from portal.domain.roles import Role
from portal.errors import InvalidTransition
from portal.models.org import LinkStatus
from portal.models.rfq import InvitationStatus, QuoteStatus
from portal.policies.core import is_supplier_org, refuse, rule

# A quote the supplier still works on: a draft, or submitted and revisable until the deadline.
WORKING = (QuoteStatus.DRAFT, QuoteStatus.SUBMITTED)


def supplier_seller(user) -> bool:
    """A supplier company's user who answers RFQs (its admin or a salesperson)."""
    return is_supplier_org(user) and user.has_role(Role.SUPPLIER_ADMIN, Role.SUPPLIER_SALES)


def _invitation(obj):
    return getattr(obj, "invitation", None) or obj


def _blocked(obj):
    """A refusal when the buyer blocked this supplier (it reads, but does no new work)."""
    invitation = _invitation(obj)
    link = getattr(invitation, "link", None)
    if link is not None and link.status != LinkStatus.ACTIVE:
        return refuse(N_("This customer has paused your account: you can read its RFQs but not "
                         "answer them."), kind=InvalidTransition)
    return None


@rule("quotes.view")
def _quotes_view(user, obj) -> bool:
    """A supplier's admins and salespeople read the RFQs it is invited to and its own quotes."""
    return supplier_seller(user)


@rule("quotes.edit")
def _quotes_edit(user, obj):
    """Start, save, submit or revise the supplier's own quote (obj: the invitation or the
    quote) while the invitation is open to an answer and the quote not decided."""
    if not supplier_seller(user):
        return False
    if obj is None:
        return True
    blocked = _blocked(obj)
    if blocked is not None:
        return blocked
    invitation = _invitation(obj)
    if invitation.status in (InvitationStatus.AWARDED, InvitationStatus.LOST):
        return refuse(N_("This RFQ has been decided: the quote can no longer change."),
                      kind=InvalidTransition)
    if getattr(obj, "invitation", None) is not None and obj.status not in WORKING:
        return refuse(N_("This quote can no longer change."), kind=InvalidTransition)
    return True


@rule("quotes.decline")
def _quotes_decline(user, obj):
    """Decline to quote: only while nothing has been submitted."""
    if not supplier_seller(user):
        return False
    if obj is None:
        return True
    blocked = _blocked(obj)
    if blocked is not None:
        return blocked
    if obj.status != InvitationStatus.INVITED:
        return refuse(N_("You can decline only before you submit a quote."), kind=InvalidTransition)
    return True


@rule("quotes.ask")
def _quotes_ask(user, obj):
    """Ask the buyer a clarification question about an RFQ the supplier is invited to."""
    if not supplier_seller(user):
        return False
    if obj is None:
        return True
    blocked = _blocked(obj)
    return blocked if blocked is not None else True
