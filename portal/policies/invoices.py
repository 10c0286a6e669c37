"""Rules of invoices on the buyer's side: reading received invoices, approving them for payment
(a mismatched one only by an admin with a reason), disputing, recording payments, statements.

Everyone in the buying company reads the invoices addressed to it (never a supplier's draft).
Approvers and admins approve an invoice for payment (buyers read it: approving spends the
budget); a mismatched invoice is approved only by an admin, with a written reason
(`invoices.override_match`). Buyers, approvers and admins dispute an invoice they question:
they know what arrived. Admins record payments (there is no separate finance role). The moves
come from `portal.domain.invoicing`'s table.
"""

from __future__ import annotations

from portal.domain import invoicing as rules
from portal.domain.invoicing import Action
from portal.domain.messages import N_, Msg
from portal.domain.roles import Role
from portal.errors import InvalidTransition
from portal.policies.core import buyer_with, is_buyer_org, refuse, rule, same_org

DRAFT = "draft"
CREDIT_NOTE = "credit_note"


def state_refusal(invoice, action: Action) -> InvalidTransition:
    """The table's refusal for `invoice`, its status in the reader's words."""
    msg = rules.refused(invoice.status, action)
    return InvalidTransition(Msg(msg.text, {**(msg.params or {}), "status": rules.status_word(invoice.status)}))


def _visible(invoice) -> bool:
    return str(invoice.status) != DRAFT


def _buyer_move(user, invoice, action: Action, *roles: Role):
    if not buyer_with(user, *roles):
        return False
    if invoice is None:
        return True
    if not same_org(user, invoice) or not _visible(invoice):
        return False
    if str(invoice.kind) == CREDIT_NOTE:
        return InvalidTransition(Msg(N_("A credit note is not approved, disputed or paid: it reduces its invoice.")))
    if not rules.allows(invoice.status, action):
        return state_refusal(invoice, action)
    return True


@rule("invoices.view")
def _invoices_view(user, obj) -> bool:
    """Everyone in a buying company reads the invoices and credit notes addressed to it; a
    supplier's draft never."""
    return is_buyer_org(user) and (obj is None or (same_org(user, obj) and _visible(obj)))


@rule("invoices.approve")
def _invoices_approve(user, obj):
    """Approvers and admins approve an issued (or disputed) invoice for payment; a mismatched one
    only an admin, with a reason (`invoices.override_match`)."""
    verdict = _buyer_move(user, obj, Action.APPROVE, Role.APPROVER, Role.ADMIN)
    if verdict is True and obj is not None and str(obj.match_status) == "mismatched" \
            and not buyer_with(user, Role.ADMIN):
        return refuse(N_("This invoice does not match its orders and receipts: only an admin can approve it, "
                         "with a reason."))
    return verdict


@rule("invoices.override_match")
def _invoices_override(user, obj):
    """An admin approves a mismatched invoice anyway, writing down why."""
    return _buyer_move(user, obj, Action.APPROVE, Role.ADMIN)


@rule("invoices.dispute")
def _invoices_dispute(user, obj):
    """Buyers, approvers and admins dispute an issued invoice (with a reason the supplier reads)."""
    return _buyer_move(user, obj, Action.DISPUTE, Role.BUYER, Role.APPROVER, Role.ADMIN)


@rule("invoices.pay")
def _invoices_pay(user, obj):
    """Admins record payments of an approved (or partly paid) invoice."""
    return _buyer_move(user, obj, Action.PAY, Role.ADMIN)


@rule("invoices.statements")
def _invoices_statements(user, obj) -> bool:
    """Everyone in a buying company reads the aging report and its statements of account (`obj`:
    the supplier link)."""
    return is_buyer_org(user) and same_org(user, obj)
