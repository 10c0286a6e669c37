"""The fixed set of audit events, and the kinds of object they are about.

`portal.services.audit.record` refuses an action outside `EVENT_KINDS`, so a misspelt name
(the old "approval.rejectd") fails in the first test instead of reaching the audit log; every
kind has a label in each language (`portal.labels.EVENT_LABELS`, checked by a test). A new
event is one line here and one label there.
"""

from __future__ import annotations

# action -> the class name of the object it is recorded on (AuditEvent.object_type)
EVENT_OBJECTS: dict[str, str] = {
    # budgets
    "budget.created": "Budget",
    "budget.revised": "Budget",
    "budget.closed": "Budget",
    "budget.overrun": "Requisition",
    "budget.escalated": "Requisition",
    "budget.raise_requested": "Requisition",
    # the organisation and its users
    "org.created": "Organization",
    "org.updated": "Organization",
    "catalog.imported": "Organization",
    "user.created": "User",
    "user.roles_changed": "User",
    "user.deactivated": "User",
    "user.reactivated": "User",
    "user.password_changed": "User",
    "user.password_reset": "User",
    "user.invitation_accepted": "User",
    "user.invited": "Invitation",
    "user.invitation_revoked": "Invitation",
    "user.invitation_resent": "Invitation",
    # suppliers
    "supplier.invited": "Invitation",
    "supplier.invitation_revoked": "Invitation",
    "supplier.invitation_resent": "Invitation",
    "supplier.linked": "SupplierLink",
    "supplier.blocked": "SupplierLink",
    "supplier.unblocked": "SupplierLink",
    "supplier.terms_changed": "SupplierLink",
    # price agreements
    "agreement.created": "PriceAgreement",
    "agreement.updated": "PriceAgreement",
    "agreement.ended": "PriceAgreement",
    "agreement.proposed": "PriceProposal",
    "agreement.proposal_decided": "PriceProposal",
    "agreement.proposal_withdrawn": "PriceProposal",
    # catalog, categories, cost centres
    "item.created": "Item",
    "item.updated": "Item",
    "item.deactivated": "Item",
    "item.reactivated": "Item",
    "category.created": "Category",
    "category.updated": "Category",
    "category.deactivated": "Category",
    "category.reactivated": "Category",
    "cost_center.created": "CostCenter",
    "cost_center.updated": "CostCenter",
    "cost_center.deactivated": "CostCenter",
    "cost_center.reactivated": "CostCenter",
    # requisitions and their approval
    "requisition.created": "Requisition",
    "requisition.duplicated": "Requisition",
    "requisition.file_attached": "Requisition",
    "requisition.submitted": "Requisition",
    "requisition.approved": "Requisition",
    "requisition.rejected": "Requisition",
    "requisition.returned": "Requisition",
    "requisition.cancelled": "Requisition",
    "approval.approved": "Requisition",
    "approval.rejected": "Requisition",
    "approval.returned": "Requisition",
    "approval.escalated": "Requisition",
    # delegations and the approval policy
    "delegation.created": "Delegation",
    "delegation.revoked": "Delegation",
    "policy.settings_changed": "ApprovalPolicy",
    "policy.step_added": "ApprovalPolicy",
    "policy.step_changed": "ApprovalPolicy",
    "policy.step_removed": "ApprovalPolicy",
    "policy.step_moved": "ApprovalPolicy",
    # sourcing: RFQs, quotes, purchase orders, receipts
    "rfq.created": "Rfq",
    "rfq.updated": "Rfq",
    "rfq.supplier_invited": "Rfq",
    "rfq.supplier_removed": "Rfq",
    "rfq.file_attached": "Rfq",
    "rfq.published": "Rfq",
    "rfq.amended": "Rfq",
    "rfq.cancelled": "Rfq",
    "rfq.closed": "Rfq",
    "rfq.opened": "Rfq",
    "rfq.question_asked": "Rfq",
    "rfq.clarification_published": "Rfq",
    "rfq.awarded": "Rfq",
    "quote.submitted": "Quote",
    "quote.revised": "Quote",
    "quote.confirmed": "Quote",
    "quote.withdrawn": "Quote",
    "quote.declined": "Rfq",
    "order.issued": "PurchaseOrder",
    "order.revised": "PurchaseOrder",
    "order.acknowledged": "PurchaseOrder",
    "order.date_proposed": "PurchaseOrder",
    "order.date_accepted": "PurchaseOrder",
    "order.date_refused": "PurchaseOrder",
    "order.cancelled": "PurchaseOrder",
    "order.received": "PurchaseOrder",
    "order.closed": "PurchaseOrder",
    "requisition.sourcing": "Requisition",
    "requisition.unsourced": "Requisition",
    "requisition.ordered": "Requisition",
    "requisition.unordered": "Requisition",
    "requisition.closed": "Requisition",
    "order.credit_override": "PurchaseOrder",
    # invoicing: invoices, credit notes, payments
    "invoice.drafted": "Invoice",
    "invoice.updated": "Invoice",
    "invoice.deleted": "Invoice",
    "invoice.issued": "Invoice",
    "invoice.credited": "Invoice",
    "invoice.approved": "Invoice",
    "invoice.match_overridden": "Invoice",
    "invoice.disputed": "Invoice",
    "invoice.payment_recorded": "Invoice",
    "invoice.paid": "Invoice",
    "invoice.reminder_sent": "Invoice",
    # integration: API tokens and webhook endpoints
    "api_token.created": "ApiToken",
    "api_token.revoked": "ApiToken",
    "webhook.created": "WebhookEndpoint",
    "webhook.updated": "WebhookEndpoint",
    "webhook.deleted": "WebhookEndpoint",
    "webhook.secret_rotated": "WebhookEndpoint",
    "webhook.redelivered": "WebhookEndpoint",
}

EVENT_KINDS: frozenset[str] = frozenset(EVENT_OBJECTS)

# The object types the audit log filters by, in the order the filter offers them.
OBJECT_TYPES: tuple[str, ...] = (
    "Requisition", "Budget", "ApprovalPolicy", "Delegation", "User", "Invitation",
    "SupplierLink", "PriceAgreement", "PriceProposal", "Rfq", "Quote", "PurchaseOrder", "Invoice", "Item", "Category",
    "CostCenter", "Organization", "ApiToken", "WebhookEndpoint",
)


class UnknownEvent(ValueError):
    """An audit action outside the fixed set (a programming error, not user input)."""


def check_event(action: str) -> str:
    """`action` when it is one of the known events; UnknownEvent otherwise."""
    if action not in EVENT_KINDS:
        raise UnknownEvent(
            f"unknown audit event {action!r}: add it to portal/domain/audit_events.py "
            "and give it a label in portal/labels.py"
        )
    return action
