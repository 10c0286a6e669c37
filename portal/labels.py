"""Translated labels for enum values and audit actions, shared by templates."""

from __future__ import annotations

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from portal.domain.messages import decode_value
from portal.i18n import format_param

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

EVENT_LABELS = {
    "budget.created": _l("created the budget"),
    "budget.revised": _l("revised the budget"),
    "budget.closed": _l("closed the budget"),
    "budget.overrun": _l("approved over budget"),
    "budget.escalated": _l("sent the budget overrun for approval"),
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
    # Events written before the decision's event name was fixed (it read "approval.rejectd").
    "approval.rejectd": _l("rejected at the step"),
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


def requisition_status_label(status) -> str:
    return str(REQUISITION_STATUS_LABELS.get(str(status), str(status)))


def requisition_status_kind(status) -> str:
    return REQUISITION_STATUS_KINDS.get(str(status), "neutral")


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
