"""Supplier links: the negotiated relationship between a buyer and a supplier organisation."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.errors import InvalidTransition, ValidationProblem
from portal.extensions import db
from portal.models import LinkStatus, Organization, OrgKind, SupplierLink
from portal.money import CURRENCIES
from portal.services import audit
from portal.tenancy import ALL_TENANTS

# Which link statuses each action may leave from, and where it goes.
TRANSITIONS = {
    "activate": ({LinkStatus.INVITED}, LinkStatus.ACTIVE),
    "block": ({LinkStatus.ACTIVE, LinkStatus.INVITED}, LinkStatus.BLOCKED),
    "unblock": ({LinkStatus.BLOCKED}, LinkStatus.ACTIVE),
}


def check_terms(payment_terms_days: int, currency: str, credit_limit: Decimal | None) -> None:
    if payment_terms_days is None or not 0 <= payment_terms_days <= 365:
        raise ValidationProblem(_l("Payment terms must be between 0 and 365 days."))
    if currency not in CURRENCIES:
        raise ValidationProblem(_l("Choose PLN or EUR."))
    if credit_limit is not None and credit_limit < 0:
        raise ValidationProblem(_l("The credit limit cannot be negative."))


def link_supplier(
    buyer: Organization,
    supplier: Organization,
    *,
    actor,
    payment_terms_days: int = 30,
    currency: str | None = None,
    credit_limit: Decimal | None = None,
) -> SupplierLink:
    """Create the active link between `buyer` and `supplier` (or return the existing one).

    A deliberate cross-tenant read: the link may already exist, made by either side.
    """
    if buyer.kind != OrgKind.BUYER or supplier.kind != OrgKind.SUPPLIER:
        raise ValidationProblem(_l("A link joins a buying company and a supplier."))
    currency = currency or buyer.currency
    check_terms(payment_terms_days, currency, credit_limit)
    existing = db.session.scalars(
        select(SupplierLink)
        .where(SupplierLink.organization_id == buyer.id, SupplierLink.supplier_id == supplier.id)
        .execution_options(**ALL_TENANTS)
    ).first()
    if existing is not None:
        return existing
    link = SupplierLink(
        organization_id=buyer.id,
        supplier_id=supplier.id,
        status=LinkStatus.ACTIVE,
        payment_terms_days=payment_terms_days,
        currency=currency,
        credit_limit=credit_limit,
        invited_by_id=actor.id if actor is not None else None,
    )
    db.session.add(link)
    db.session.flush()
    audit.record(
        actor=actor,
        action="supplier.linked",
        obj=link,
        summary={"supplier": supplier.name, "terms": payment_terms_days, "currency": currency},
    )
    return link


def _move(link: SupplierLink, action: str, *, actor, comment: str = "") -> SupplierLink:
    sources, target = TRANSITIONS[action]
    if link.status not in sources:
        raise InvalidTransition(
            _l("This supplier is %(status)s; it cannot be changed this way.", status=link.status.value)
        )
    link.status = target
    audit.record(actor=actor, action=f"supplier.{action}ed" if action != "activate" else "supplier.linked",
                 obj=link, comment=comment)
    db.session.flush()
    return link


def block(link: SupplierLink, *, actor, comment: str = "") -> SupplierLink:
    """Block a supplier: it sees nothing of this buyer until unblocked."""
    return _move(link, "block", actor=actor, comment=comment)


def unblock(link: SupplierLink, *, actor, comment: str = "") -> SupplierLink:
    """Restore a blocked supplier's access."""
    return _move(link, "unblock", actor=actor, comment=comment)


def update_terms(
    link: SupplierLink, *, actor, payment_terms_days: int, currency: str, credit_limit: Decimal | None
) -> SupplierLink:
    """Renegotiated terms: payment days, currency, credit limit."""
    check_terms(payment_terms_days, currency, credit_limit)
    before = {"terms": link.payment_terms_days, "currency": link.currency,
              "credit_limit": str(link.credit_limit) if link.credit_limit is not None else None}
    link.payment_terms_days = payment_terms_days
    link.currency = currency
    link.credit_limit = credit_limit
    after = {"terms": payment_terms_days, "currency": currency,
             "credit_limit": str(credit_limit) if credit_limit is not None else None}
    if before != after:
        audit.record(actor=actor, action="supplier.terms_changed", obj=link, summary={"before": before, "after": after})
    db.session.flush()
    return link
