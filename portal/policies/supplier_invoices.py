"""Rules of invoices on the supplier's side: drafting, editing drafts, issuing, credit notes,
reading its own invoices and statements.

Everyone in a supplier company (admin and sales alike) reads the invoices it issued and its
drafts, drafts invoices of what was received, edits and issues its drafts, and corrects an
issued invoice with a credit note; statements per buyer likewise. Writing needs an active
link: a buyer that blocked the supplier gets no new draft, no issue and no credit note (the
tenancy guard writes nothing of a blocked buyer's anyway), though the supplier still reads what
it issued. A credit note corrects an invoice that is issued and not settled (issued, disputed,
approved, partially paid: `portal.domain.invoicing`'s table), never another credit note.
"""

from __future__ import annotations

from portal.domain import invoicing as rules
from portal.domain.invoicing import Action
from portal.domain.messages import N_, Msg
from portal.errors import InvalidTransition
from portal.policies.core import is_supplier_org, refuse, rule

CREDIT_NOTE = "credit_note"


def state_refusal(invoice, action: Action) -> InvalidTransition:
    """The table's refusal for `invoice`, its status in the reader's words."""
    msg = rules.refused(invoice.status, action)
    return InvalidTransition(Msg(msg.text, {**(msg.params or {}), "status": rules.status_word(invoice.status)}))


def _own(user, obj) -> bool:
    return obj.supplier_id == user.organization_id


def _blocked(buyer_name):
    return refuse(N_("%(buyer)s has blocked your account: you can read your invoices but not issue or change any."),
                  {"buyer": buyer_name})


def _link_active(invoice) -> bool:
    return str(invoice.link.status) == "active"


def _supplier_move(user, invoice, action: Action, *, edit: bool = False):
    if not is_supplier_org(user):
        return False
    if invoice is None:
        return True
    if not _own(user, invoice):
        return False
    if not _link_active(invoice):
        return _blocked(invoice.buyer.name)
    if str(invoice.kind) == CREDIT_NOTE:
        return InvalidTransition(Msg(N_("A credit note is issued once and never changed or corrected again.")))
    if not rules.allows(invoice.status, action):
        if edit:
            return InvalidTransition(Msg(N_("This invoice is issued: it can no longer be changed. "
                                            "Correct it with a credit note.")))
        return state_refusal(invoice, action)
    return True


@rule("supplier_invoices.view")
def _view(user, obj) -> bool:
    """A supplier's people read the invoices, credit notes and drafts their company issued."""
    return is_supplier_org(user) and (obj is None or _own(user, obj))


@rule("supplier_invoices.draft")
def _draft(user, link):
    """A supplier's people draft an invoice over an active link (`link`: the SupplierLink)."""
    if not is_supplier_org(user):
        return False
    if link is None:
        return True
    if not _own(user, link):
        return False
    if str(link.status) != "active":
        return _blocked(link.buyer.name)
    return True


@rule("supplier_invoices.edit")
def _edit(user, invoice):
    """A supplier's people change or delete their draft (never an issued invoice)."""
    return _supplier_move(user, invoice, Action.ISSUE, edit=True)


@rule("supplier_invoices.issue")
def _issue(user, invoice):
    """A supplier's people issue their draft: numbered, immutable from then on."""
    return _supplier_move(user, invoice, Action.ISSUE)


@rule("supplier_invoices.credit")
def _credit(user, invoice):
    """A supplier's people correct an issued, unsettled invoice with a credit note (active link)."""
    return _supplier_move(user, invoice, Action.CREDIT)


@rule("supplier_invoices.statements")
def _statements(user, link) -> bool:
    """A supplier's people read the statement of account and aging of their buyers (`link`:
    the SupplierLink, or None for the overview)."""
    return is_supplier_org(user) and (link is None or _own(user, link))
