"""The edge's half of the policies: view decorators and `can(...)` in templates, both bound to
the signed-in user, so a hidden button and a refused POST never disagree."""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user

from portal.errors import NotFound
from portal.extensions import db
from portal.policies.core import can, check

# The URL arguments that name an object, and its model. `require` looks each one up through
# the tenant filter before it checks the role: another organisation's object is a 404 for
# everyone, whatever their roles, so a 403 never tells that an id exists elsewhere.
_URL_OBJECTS = {
    "requisition_id": "Requisition",
    "line_id": "RequisitionLine",
    "attachment_id": "Attachment",
    "link_id": "SupplierLink",
    "agreement_id": "PriceAgreement",
    "budget_id": "Budget",
    "user_id": "User",
    "invitation_id": "Invitation",
    "item_id": "Item",
    "category_id": "Category",
    "cost_center_id": "CostCenter",
    "step_id": "ApprovalStep",
    "version_id": "ApprovalPolicyVersion",
    "task_id": "ApprovalTask",
    "delegation_id": "Delegation",
    "notification_id": "Notification",
    # sourcing
    "rfq_id": "Rfq",
    "rfq_line_id": "RfqLine",
    "rfq_file_id": "RfqAttachment",
    "question_id": "RfqQuestion",
    "quote_id": "Quote",
    "quote_file_id": "QuoteAttachment",
    "revision_id": "QuoteRevision",
    "order_id": "PurchaseOrder",
    "document_id": "PurchaseOrderDocument",
    "receipt_id": "GoodsReceipt",
    "proposal_id": "PriceProposal",
    # invoicing (an invoice or a credit note)
    "invoice_id": "Invoice",
    # integration (API tokens, webhook endpoints and their deliveries)
    "token_id": "ApiToken",
    "endpoint_id": "WebhookEndpoint",
    "delivery_id": "WebhookDelivery",
}


def _foreign_object(kwargs: dict) -> bool:
    """Does an object id in the URL name nothing this organisation may see?"""
    from portal import models

    for name, value in kwargs.items():
        model = _URL_OBJECTS.get(name)
        if model is not None and db.session.get(getattr(models, model), value) is None:
            return True
    return False


def require(action: str):
    """View decorator: 404 when the URL names another organisation's object (or none), else 403
    unless the signed-in user may do `action` at all (the view checks the object itself)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not can(current_user, action):
                abort(404 if _foreign_object(kwargs) else 403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def authorize(action: str, obj=None) -> None:
    """Inside a view, after loading `obj`: 404 for another company's object (the tenant filter
    normally gives that already), else 403 unless the signed-in user may do `action`."""
    refusal = check(current_user, action, obj)
    if refusal is not None:
        abort(404 if isinstance(refusal, NotFound) else 403)


def install(app) -> None:
    """Make `can(action, obj)` available in templates, bound to the current user."""

    @app.context_processor
    def inject_can():
        # The layout alone asks a dozen questions of the same user: the user is looked up once
        # per render and each object-less answer remembered for the render.
        user = current_user._get_current_object()
        answers: dict[str, bool] = {}

        def can_here(action, obj=None):
            if obj is not None:
                return can(user, action, obj)
            answer = answers.get(action)
            if answer is None:
                answer = answers[action] = can(user, action)
            return answer

        return {"can": can_here}
