"""Rules of purchase orders. The buyer's people read their company's orders; buyers and admins
issue, revise, cancel and answer a date proposal. The supplier's people read the orders
addressed to them, and acknowledge or propose a date while the link is active (a blocked
supplier still reads what it was sent). The moves come from `portal.domain.orders`' table.
"""

from __future__ import annotations

from portal.domain import orders as rules
from portal.domain.messages import N_, Msg
from portal.domain.orders import Action
from portal.domain.requisition import RequisitionStatus
from portal.domain.roles import Role
from portal.errors import InvalidTransition
from portal.policies.core import buyer_with, is_buyer_org, is_supplier_org, refuse, rule, same_org


def state_refusal(order, action: Action) -> InvalidTransition:
    """The table's refusal for `order`, its status in the reader's words."""
    msg = rules.refused(order.status, action)
    return InvalidTransition(Msg(msg.text, {"status": rules.status_word(order.status)}))


def _buyer_move(user, order, action: Action):
    if not buyer_with(user, Role.BUYER, Role.ADMIN):
        return False
    if order is None:
        return True
    if not same_org(user, order):
        return False
    if not rules.allows(order.status, action):
        return state_refusal(order, action)
    return True


def _supplier_move(user, order, action: Action):
    if not is_supplier_org(user):
        return False
    if order is None:
        return True
    if order.supplier_id != user.organization_id:
        return False
    if str(order.link.status) != "active":
        return refuse(N_("%(buyer)s has blocked your account: you can read its orders but not answer them."),
                      {"buyer": order.buyer.name})
    if not rules.allows(order.status, action):
        return state_refusal(order, action)
    return True


@rule("orders.view")
def _orders_view(user, obj) -> bool:
    """Everyone in a buying company reads its orders (the supplier reads its own through
    `orders.supplier_view`)."""
    return is_buyer_org(user) and same_org(user, obj)


@rule("orders.issue")
def _orders_issue(user, obj) -> bool:
    """Buyers and admins issue orders (from an award or from price agreements)."""
    return buyer_with(user, Role.BUYER, Role.ADMIN)


@rule("orders.cancel")
def _orders_cancel(user, obj):
    """Before any delivery, a buyer or admin cancels an order (with a reason)."""
    return _buyer_move(user, obj, Action.CANCEL)


@rule("orders.revise")
def _orders_revise(user, obj):
    """Before any delivery, a buyer or admin changes an order: a numbered revision."""
    return _buyer_move(user, obj, Action.REVISE)


@rule("orders.answer_proposal")
def _orders_answer(user, obj):
    """A buyer or admin accepts or refuses the supplier's proposed delivery date."""
    verdict = _buyer_move(user, obj, Action.ACCEPT_PROPOSAL)
    if verdict is True and obj is not None and obj.proposed_delivery_date is None:
        return InvalidTransition(Msg(N_("The supplier has not proposed another delivery date.")))
    return verdict


@rule("orders.supplier_view")
def _orders_supplier_view(user, obj) -> bool:
    """A supplier's people read the orders addressed to their company."""
    return is_supplier_org(user) and (obj is None or obj.supplier_id == user.organization_id)


@rule("orders.acknowledge")
def _orders_acknowledge(user, obj):
    """The supplier acknowledges the current revision of an order waiting for it."""
    return _supplier_move(user, obj, Action.ACKNOWLEDGE)


@rule("orders.propose_date")
def _orders_propose(user, obj):
    """Before delivery, the supplier proposes another delivery date (with a note)."""
    return _supplier_move(user, obj, Action.PROPOSE_DATE)


@rule("orders.from_agreements")
def _orders_from_agreements(user, req):
    """A buyer or admin turns an approved requisition into orders at agreed prices."""
    if not buyer_with(user, Role.BUYER, Role.ADMIN):
        return False
    if req is not None and req.status != RequisitionStatus.APPROVED:
        return InvalidTransition(Msg(N_("Only an approved requisition can be ordered from price agreements.")))
    return True


@rule("orders.credit_override")
def _orders_credit_override(user, link):
    """The buyer's admin issues an order over the supplier's credit limit (with a reason)."""
    return buyer_with(user, Role.ADMIN) and same_org(user, link)


@rule("orders.receive")
def _orders_receive(user, obj):
    """A buyer or admin records goods received on the company's order (helper F: receiving).
    An issued order receives too: goods may arrive before the supplier acknowledged."""
    from portal.domain.receiving import receivable

    if not buyer_with(user, Role.BUYER, Role.ADMIN):
        return False
    if obj is None:
        return True
    if not same_org(user, obj):
        return False
    refused = receivable(obj.status)
    return True if refused is None else InvalidTransition(refused)
