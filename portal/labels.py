"""Translated labels for enum values and audit actions, shared by templates."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l

from portal.domain.messages import decode_value
from portal.domain.terms import PaymentTerms
from portal.i18n import format_param, unit_label
from portal.money import Money

ROLE_LABELS = {
    "buyer": _l("Buyer"),
    "approver": _l("Approver"),
    "admin": _l("Admin"),
    "supplier_admin": _l("Supplier admin"),
    "supplier_sales": _l("Sales"),
}

LINK_STATUS_LABELS = {
    "invited": _l("Invited"),
    "active": _l("Active"),
    "blocked": _l("Blocked"),
}

INVOICING_LABELS = {
    "per_order": _l("One invoice per order"),
    "monthly": _l("One invoice a month"),
}

EVENT_LABELS = {
    "budget.created": _l("created the budget"),
    "budget.revised": _l("revised the budget"),
    "budget.closed": _l("closed the budget"),
    "budget.overrun": _l("approved over budget"),
    "budget.escalated": _l("sent the budget overrun for approval"),
    "budget.raise_requested": _l("asked the budget owner to raise the budget"),
    "org.created": _l("created the organisation"),
    "org.updated": _l("updated the company profile"),
    "user.created": _l("added the user"),
    "user.invited": _l("invited a user"),
    "user.invitation_accepted": _l("accepted the invitation"),
    "user.invitation_revoked": _l("revoked an invitation"),
    "user.roles_changed": _l("changed roles"),
    "user.deactivated": _l("deactivated the user"),
    "user.reactivated": _l("reactivated the user"),
    "user.password_changed": _l("changed the password"),
    "user.password_reset": _l("reset the password"),
    "supplier.invited": _l("invited a supplier"),
    "supplier.linked": _l("linked the supplier"),
    "supplier.blocked": _l("blocked the supplier"),
    "supplier.unblocked": _l("unblocked the supplier"),
    "supplier.terms_changed": _l("changed the terms"),
    "agreement.created": _l("added the price agreement"),
    "agreement.updated": _l("changed the price agreement"),
    "agreement.ended": _l("ended the price agreement"),
    "agreement.proposed": _l("proposed new prices"),
    "agreement.proposal_decided": _l("decided the proposed prices"),
    "agreement.proposal_withdrawn": _l("withdrew the proposed prices"),
    "supplier.invitation_revoked": _l("revoked a supplier invitation"),
    "supplier.invitation_resent": _l("resent a supplier invitation"),
    "user.invitation_resent": _l("resent an invitation"),
}


# Catalog, categories and cost centres.
EVENT_LABELS.update({
    "item.created": _l("added the catalog item"),
    "item.updated": _l("updated the catalog item"),
    "item.deactivated": _l("deactivated the catalog item"),
    "item.reactivated": _l("reactivated the catalog item"),
    "catalog.imported": _l("imported catalog items from CSV"),
    "category.created": _l("added the category"),
    "category.updated": _l("updated the category"),
    "category.deactivated": _l("deactivated the category"),
    "category.reactivated": _l("reactivated the category"),
    "cost_center.created": _l("added the cost centre"),
    "cost_center.updated": _l("updated the cost centre"),
    "cost_center.deactivated": _l("deactivated the cost centre"),
    "cost_center.reactivated": _l("reactivated the cost centre"),
})


BUDGET_POLICY_LABELS = {
    "block": _l("Block"),
    "warn": _l("Warn"),
    "escalate": _l("Escalate"),
}

BUDGET_BUCKET_LABELS = {
    "actual": _l("Spent"),
    "committed": _l("Committed"),
    "reserved": _l("Reserved"),
    "available": _l("Available"),
    "reserve": _l("Reservation"),
    "release": _l("Release"),
    "commit": _l("Commitment"),
}


def policy_label(policy) -> str:
    return str(BUDGET_POLICY_LABELS.get(str(policy), str(policy)))


def bucket_label(kind) -> str:
    return str(BUDGET_BUCKET_LABELS.get(str(kind), str(kind)))


# Requisitions: statuses (label and badge colour) and their audit events.
REQUISITION_STATUS_LABELS = {
    "draft": _l("Draft"),
    "pending": _l("Pending approval"),
    "approved": _l("Approved"),
    "rejected": _l("Rejected"),
    "cancelled": _l("Cancelled"),
    "sourcing": _l("Sourcing"),
    "ordered": _l("Ordered"),
    "closed": _l("Closed"),
}
REQUISITION_STATUS_KINDS = {
    "draft": "neutral",
    "pending": "warn",
    "approved": "ok",
    "rejected": "bad",
    "cancelled": "muted",
    "sourcing": "info",
    "ordered": "info",
    "closed": "neutral",
}
EVENT_LABELS.update({
    "requisition.created": _l("created the requisition"),
    "requisition.duplicated": _l("created the requisition as a copy"),
    "requisition.file_attached": _l("attached a file"),
    "requisition.submitted": _l("submitted for approval"),
    "requisition.approved": _l("approved the requisition"),
    "requisition.rejected": _l("rejected the requisition"),
    "requisition.returned": _l("returned the requisition for changes"),
    "requisition.cancelled": _l("cancelled the requisition"),
    "approval.approved": _l("approved the step"),
    "approval.rejected": _l("rejected at the step"),
    "approval.returned": _l("returned at the step"),
    "approval.escalated": _l("escalated the step"),
})

# Delegations and the approval policy (admin audit log).
EVENT_LABELS.update({
    "delegation.created": _l("delegated their approvals"),
    "delegation.revoked": _l("ended a delegation"),
    "policy.settings_changed": _l("changed the reminder and escalation settings"),
    "policy.step_added": _l("added an approval step"),
    "policy.step_changed": _l("changed an approval step"),
    "policy.step_removed": _l("removed an approval step"),
    "policy.step_moved": _l("moved an approval step"),
})

# Sourcing: RFQs, quotes, purchase orders, receipts.
EVENT_LABELS.update({
    "rfq.created": _l("created the RFQ"),
    "rfq.updated": _l("changed the RFQ draft"),
    "rfq.supplier_invited": _l("invited a supplier to the RFQ"),
    "rfq.supplier_removed": _l("removed a supplier from the RFQ"),
    "rfq.file_attached": _l("attached a file to the RFQ"),
    "rfq.published": _l("published the RFQ"),
    "rfq.amended": _l("amended the RFQ"),
    "rfq.cancelled": _l("cancelled the RFQ"),
    "rfq.closed": _l("closed the RFQ for quotes"),
    "rfq.opened": _l("opened the sealed quotes"),
    "rfq.question_asked": _l("asked a clarification question"),
    "rfq.clarification_published": _l("published a clarification"),
    "rfq.awarded": _l("awarded the RFQ"),
    "quote.submitted": _l("submitted a quote"),
    "quote.revised": _l("revised the quote"),
    "quote.confirmed": _l("confirmed the quote after an amendment"),
    "quote.withdrawn": _l("withdrew the quote"),
    "quote.declined": _l("declined to quote"),
    "order.issued": _l("issued the purchase order"),
    "order.revised": _l("revised the purchase order"),
    "order.acknowledged": _l("acknowledged the purchase order"),
    "order.date_proposed": _l("proposed another delivery date"),
    "order.date_accepted": _l("accepted the proposed delivery date"),
    "order.date_refused": _l("refused the proposed delivery date"),
    "order.cancelled": _l("cancelled the purchase order"),
    "order.received": _l("recorded a goods receipt"),
    "order.closed": _l("closed the purchase order"),
    "requisition.sourcing": _l("put the requisition out for quotes"),
    "requisition.unsourced": _l("took the requisition back from its RFQ"),
    "requisition.ordered": _l("ordered the requisition"),
    "requisition.unordered": _l("approved the requisition again: its orders were cancelled"),
    "requisition.closed": _l("closed the requisition"),
    "order.credit_override": _l("issued the order over the credit limit"),
    "invoice.drafted": _l("drafted the invoice"),
    "invoice.updated": _l("changed the invoice draft"),
    "invoice.deleted": _l("deleted the invoice draft"),
    "invoice.issued": _l("issued the invoice"),
    "invoice.credited": _l("issued a credit note"),
    "invoice.approved": _l("approved the invoice for payment"),
    "invoice.match_overridden": _l("approved the invoice despite the mismatch"),
    "invoice.disputed": _l("disputed the invoice"),
    "invoice.payment_recorded": _l("recorded a payment"),
    "invoice.paid": _l("marked the invoice paid"),
    "invoice.reminder_sent": _l("sent a payment reminder"),
    "api_token.created": _l("created an API token"),
    "api_token.revoked": _l("revoked an API token"),
    "webhook.created": _l("registered a webhook endpoint"),
    "webhook.updated": _l("changed a webhook endpoint"),
    "webhook.deleted": _l("removed a webhook endpoint"),
    "webhook.secret_rotated": _l("rotated a webhook signing secret"),
    "webhook.redelivered": _l("redelivered a webhook"),
})


# The object types of the audit log's filter (portal.domain.audit_events.OBJECT_TYPES).
OBJECT_TYPE_LABELS = {
    "Requisition": _l("Requisition"),
    "Budget": _l("Budget"),
    "ApprovalPolicy": _l("Approval policy"),
    "Delegation": _l("Delegation"),
    "User": _l("User"),
    "Invitation": _l("Invitation"),
    "SupplierLink": _l("Supplier"),
    "PriceAgreement": _l("Price agreement"),
    "PriceProposal": _l("Price proposal"),
    "Rfq": _l("RFQ"),
    "Quote": _l("Quote"),
    "PurchaseOrder": _l("Purchase order"),
    "Invoice": _l("Invoice"),
    "ApiToken": _l("API token"),
    "WebhookEndpoint": _l("Webhook endpoint"),
    "Item": _l("Catalog item"),
    "Category": _l("Category"),
    "CostCenter": _l("Cost centre"),
    "Organization": _l("Company profile"),
}

# The fields an audit event's "changes" and a policy version's diff name.
FIELD_LABELS = {
    # approval policy settings and steps
    "reminder_hours": _l("Reminder after (hours)"),
    "escalation_hours": _l("Escalation after (hours)"),
    "escalation_user": _l("Escalate to"),
    "category_required": _l("Category required on submit"),
    "decide_once": _l("A person decides once per requisition"),
    "step": _l("Step"),
    "position": _l("Place in the order"),
    "name": _l("Name"),
    "min_amount": _l("Amount at or above"),
    "cost_center": _l("Cost centre"),
    "category": _l("Category"),
    "approver_kind": _l("Who approves"),
    "approver": _l("Person"),
    "members": _l("Group members"),
    "quorum": _l("Who of the group must approve"),
    "quorum_n": _l("How many"),
    # company profile
    "legal_name": _l("Legal name"),
    "tax_id": _l("Tax ID"),
    "address_line": _l("Address"),
    "postal_code": _l("Postal code"),
    "city": _l("City"),
    "country": _l("Country"),
    "currency": _l("Currency"),
    "locale": _l("Language"),
    # users, suppliers, budgets, code lists
    "roles": _l("Roles"),
    "approval_limit": _l("Approval limit"),
    "terms": _l("Payment terms"),
    "credit_limit": _l("Credit limit"),
    "invoicing": _l("Invoicing"),
    "price_tolerance": _l("Price tolerance (%)"),
    "time_zone": _l("Time zone"),
    "iban": _l("Bank account (IBAN)"),
    "bank_name": _l("Bank name"),
    "exemption_basis_kind": _l("Legal basis of the VAT exemption"),
    "exemption_basis": _l("Legal basis of the VAT exemption (provision)"),
    "amount": _l("Amount"),
    "code": _l("Code"),
    "manager_id": _l("Manager"),
    "sku": _l("SKU"),
    "description": _l("Description"),
    "unit": _l("Unit"),
    "category_id": _l("Category"),
    "default_vat_rate": _l("VAT rate"),
    "list_price": _l("List price"),
    "preferred_supplier_id": _l("Preferred supplier"),
    # price agreements
    "unit_price": _l("Unit price"),
    "valid_from": _l("Valid from"),
    "valid_to": _l("Valid until"),
    "tiers": _l("Quantity tiers"),
    "supplier_part_number": _l("Supplier's part number"),
    "lead_time_days": _l("Lead time (days)"),
}

APPROVER_KIND_LABELS = {
    "cost_center_manager": _l("The cost centre's manager"),
    "user": _l("A named person"),
    "approver_limit": _l("Any approver whose limit covers the amount"),
    "group": _l("A group of people"),
}

QUORUM_LABELS = {
    "any": _l("Any one of them"),
    "all": _l("All of them"),
    "n_of_m": _l("A number of them"),
}

# Amounts some older events stored as text ("10000.00").
_NUMBER_FIELDS = frozenset({"approval_limit", "credit_limit", "list_price", "default_vat_rate",
                            "unit_price", "price_tolerance"})

_VALUE_LABELS = {"approver_kind": APPROVER_KIND_LABELS, "quorum": QUORUM_LABELS,
                 "roles": ROLE_LABELS, "invoicing": INVOICING_LABELS}


def approver_picker_note(left_out: int) -> str:
    """Why some colleagues are missing from a picker of approvers ("" when nobody is)."""
    if not left_out:
        return ""
    return ngettext("Only users with the approver or admin role are listed; %(num)d buyer is not.",
                    "Only users with the approver or admin role are listed; %(num)d buyers are not.",
                    left_out)


def object_type_label(type_name: str) -> str:
    return str(OBJECT_TYPE_LABELS.get(type_name, type_name))


def field_label(name: str) -> str:
    """A changed field's name as the reader should see it."""
    return str(FIELD_LABELS.get(name, name.replace("_", " ")))


def change_value(name: str, value, currency: str | None = None) -> str:
    """One side of a change (before or after) in the reader's language: codes by their label,
    yes/no, amounts and dates in the reader's format, lists joined; "—" for nothing."""
    if value is None or value == "" or value == []:
        return "—"
    labels = _VALUE_LABELS.get(name)
    if labels is not None:
        values = value if isinstance(value, list) else [value]
        return ", ".join(str(labels.get(str(v), v)) for v in values)
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if name == "unit" and isinstance(value, str):
        return unit_label(value)
    if name == "min_amount" and currency and isinstance(value, str):
        return str(format_param(Money(Decimal(value), currency)))
    if name in _NUMBER_FIELDS and isinstance(value, str):
        try:  # stored as text before typed values were kept: still shown the reader's way
            return str(format_param(Decimal(value)))
        except ArithmeticError:
            return value
    if name == "terms" and isinstance(value, dict):
        try:
            return terms_label(PaymentTerms.from_json(value))
        except (KeyError, TypeError, ValueError):
            return summary_text(value)
    return summary_text(value)


def requisition_status_label(status) -> str:
    return str(REQUISITION_STATUS_LABELS.get(str(status), str(status)))


def requisition_status_kind(status) -> str:
    return REQUISITION_STATUS_KINDS.get(str(status), "neutral")


# The phases of an RFQ as the buyer reads them (portal.domain.rfq.phase): the list's and the
# pages' badges and the CSV export. (The supplier's own words: templates/supplier/_rfq_macros.html.)
RFQ_PHASE_LABELS = {
    "draft": _l("Draft"),
    "open": _l("Open for quotes"),
    "deadline_passed": _l("Deadline passed"),
    "closed": _l("Closed"),
    "awarded": _l("Awarded"),
    "cancelled": _l("Cancelled"),
}
RFQ_PHASE_KINDS = {"draft": "neutral", "open": "info", "deadline_passed": "warn", "closed": "warn",
                   "awarded": "ok", "cancelled": "muted"}


def rfq_phase_label(phase) -> str:
    return str(RFQ_PHASE_LABELS.get(str(phase), str(phase)))


def rfq_phase_kind(phase) -> str:
    return RFQ_PHASE_KINDS.get(str(phase), "neutral")


def role_label(role) -> str:
    return str(ROLE_LABELS.get(str(role), str(role)))


def link_status_label(status) -> str:
    return str(LINK_STATUS_LABELS.get(str(status), str(status)))


def event_label(action: str) -> str:
    return str(EVENT_LABELS.get(action, action))


def terms_label(terms) -> str:
    """Payment terms as people read them ("net 30 days", "2% discount within 10 days, …")."""
    from portal.i18n import translate

    return translate(terms.label()) if terms is not None else ""


def step_name(task) -> str:
    """An approval step's name: an admin's own words as typed, or the portal's own step (the
    budget overrun) in the reader's language."""
    return gettext(task.name) if getattr(task, "kind", "") == "budget" else task.name


def summary_text(value) -> str:
    """A value of an audit event's summary as the reader should see it: typed values (Money,
    dates, messages) in the reader's language and formats, text as stored, lists joined."""
    if isinstance(value, list):
        return ", ".join(summary_text(v) for v in value)
    return str(format_param(decode_value(value)))


def install(app) -> None:
    app.jinja_env.globals.update(step_name=step_name, summary_text=summary_text)
    app.jinja_env.globals.update(approver_picker_note=approver_picker_note)
    app.jinja_env.globals.update(field_label=field_label, change_value=change_value,
                                 object_type_label=object_type_label)
    app.jinja_env.globals.update(terms_label=terms_label)
    app.jinja_env.globals.update(
        policy_label=policy_label,
        bucket_label=bucket_label,
        role_label=role_label, link_status_label=link_status_label, event_label=event_label
    )
    app.jinja_env.globals.update(
        requisition_status_label=requisition_status_label,
        requisition_status_kind=requisition_status_kind,
    )
    app.jinja_env.globals.update(rfq_phase_label=rfq_phase_label, rfq_phase_kind=rfq_phase_kind)
