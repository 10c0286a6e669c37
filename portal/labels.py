"""Translated labels for enum values and audit actions, shared by templates."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

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
}


def role_label(role) -> str:
    return str(ROLE_LABELS.get(str(role), str(role)))


def link_status_label(status) -> str:
    return str(LINK_STATUS_LABELS.get(str(status), str(status)))


def event_label(action: str) -> str:
    return str(EVENT_LABELS.get(action, action))


def install(app) -> None:
    app.jinja_env.globals.update(
        role_label=role_label, link_status_label=link_status_label, event_label=event_label
    )
