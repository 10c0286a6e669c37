"""Supplier links: the negotiated relationship between a buyer and a supplier organisation.

The buyer's side (list, detail, terms, block/unblock) and the supplier's side (its customers).
Every read goes through the tenant filter; the two deliberate cross-tenant reads are marked.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import or_, select
from sqlalchemy.orm import contains_eager
from sqlalchemy.orm.attributes import set_committed_value

from portal.domain.labels import link_status_word
from portal.domain.messages import N_, Msg
from portal.domain.terms import NET_30, PaymentTerms
from portal.errors import InvalidTransition, NotFound, PermissionDenied, ValidationProblem
from portal.extensions import db
from portal.models import (
    AuditEvent,
    Invitation,
    InvoicingMode,
    LinkStatus,
    Organization,
    OrgKind,
    SupplierLink,
    User,
)
from portal.models.types import Amount
from portal.money import Money, is_currency, round_money, round_places
from portal.policies import enforce
from portal.policies.core import is_party
from portal.services import audit
from portal.services.paging import LIST_PER_PAGE, Key, KeysetPage, Order, keyset
from portal.tenancy import ALL_TENANTS

# Which link statuses each action may leave from, and where it goes.
TRANSITIONS = {
    "activate": ({LinkStatus.INVITED}, LinkStatus.ACTIVE),
    "block": ({LinkStatus.ACTIVE, LinkStatus.INVITED}, LinkStatus.BLOCKED),
    "unblock": ({LinkStatus.BLOCKED}, LinkStatus.ACTIVE),
}



def _refusal(action: str, status: LinkStatus):
    label = link_status_word(status)
    if action == "block":
        return Msg(N_("Only an active supplier can be blocked; this one is %(status)s."), {"status": label})
    if action == "unblock":
        return Msg(N_("Only a blocked supplier can be unblocked; this one is %(status)s."), {"status": label})
    return Msg(N_("Only an invited supplier can be activated; this one is %(status)s."), {"status": label})


# The largest credit limit the column holds (NUMERIC(14, 2)).
MAX_CREDIT_LIMIT = Amount().max_value


def check_terms(payment_terms: PaymentTerms, currency: str, credit_limit: Decimal | None) -> None:
    """Raise ValidationProblem unless the terms are PaymentTerms (valid by construction), the
    currency a current ISO 4217 code and the credit limit empty or 0 to MAX_CREDIT_LIMIT."""
    if not isinstance(payment_terms, PaymentTerms):
        raise ValidationProblem(Msg(N_("Choose the payment terms.")))
    if not is_currency(currency):
        raise ValidationProblem(Msg(N_("Choose a currency from the list.")))
    if credit_limit is not None and (not credit_limit.is_finite() or credit_limit < 0):
        raise ValidationProblem(Msg(N_("The credit limit cannot be negative.")))
    if credit_limit is not None and credit_limit > MAX_CREDIT_LIMIT:
        raise ValidationProblem(Msg(N_("The credit limit is too large.")))


def _invoicing_mode(value) -> InvoicingMode:
    try:
        return InvoicingMode(str(value))
    except ValueError:
        raise ValidationProblem(Msg(N_("Choose how the supplier invoices."))) from None


def _price_tolerance(value: Decimal) -> Decimal:
    """A price tolerance as stored: 0 to 100 percent with at most two decimals."""
    if not isinstance(value, Decimal) or not value.is_finite() or value < 0 or value > 100:
        raise ValidationProblem(Msg(N_("The price tolerance is a percentage from 0 to 100.")))
    if round_places(value, 2) != value:
        raise ValidationProblem(Msg(N_("The price tolerance has at most two decimals.")))
    return round_places(value, 2)


def normalize_limit(credit_limit: Decimal | None) -> Decimal | None:
    """A credit limit as stored: to the cent (half-up), or None for no limit."""
    return round_money(credit_limit) if credit_limit is not None else None


def _require_manager(actor, link: SupplierLink | None = None) -> None:
    """Only an admin of the link's buying company changes it (CLI and jobs included)."""
    if link is not None and not is_party(actor, link):
        raise NotFound(Msg(N_("There is no such supplier.")))  # another company's: 404, never 403
    enforce(actor, "suppliers.manage")
    if link is not None and link.organization_id != actor.organization_id:
        # The supplier's side of a link it is party to: it reads it, only the buyer changes it.
        raise PermissionDenied(Msg(N_("Only your company's admin can manage suppliers.")))


def find_link_between(buyer_id: int, supplier_id: int) -> SupplierLink | None:
    """The link of this buyer and supplier, whatever its status and whoever looks.

    A deliberate cross-tenant read: a supplier accepting an invitation, or a buyer inviting, must
    know of a blocked or inactive link the tenant filter hides from one side.
    """
    return db.session.scalars(
        select(SupplierLink)
        .where(SupplierLink.organization_id == buyer_id, SupplierLink.supplier_id == supplier_id)
        .execution_options(**ALL_TENANTS)
    ).first()


def link_supplier(
    buyer: Organization,
    supplier: Organization,
    *,
    actor,
    payment_terms: PaymentTerms = NET_30,
    currency: str | None = None,
    credit_limit: Decimal | None = None,
    invited_by_id: int | None = None,
    invitation: Invitation | None = None,
) -> SupplierLink:
    """Create the active link between `buyer` and `supplier` (or return the existing one).

    `actor` is who made the link (the buyer's admin, or the supplier's user accepting an
    invitation); `invited_by_id` the buyer's user who proposed it (defaults to the actor).
    Audits "supplier.linked" on the buyer's side, visible to the supplier too.
    """
    if buyer.kind != OrgKind.BUYER or supplier.kind != OrgKind.SUPPLIER:
        raise ValidationProblem(Msg(N_("A link joins a buying company and a supplier.")))
    currency = currency or buyer.currency
    check_terms(payment_terms, currency, credit_limit)
    credit_limit = normalize_limit(credit_limit)
    existing = find_link_between(buyer.id, supplier.id)
    if existing is not None:
        return existing
    link = SupplierLink(
        organization_id=buyer.id,
        supplier_id=supplier.id,
        status=LinkStatus.ACTIVE,
        payment_terms=payment_terms,
        currency=currency,
        credit_limit=credit_limit,
        invited_by_id=invited_by_id or (actor.id if actor is not None else None),
    )
    db.session.add(link)
    db.session.flush()
    summary = {"supplier": supplier.name, "terms": payment_terms.to_json(), "currency": currency}
    if credit_limit is not None:
        summary["credit_limit"] = Money(credit_limit, currency)
    if invitation is not None:
        summary["invitation_id"] = invitation.id
    audit.record(actor=actor, action="supplier.linked", obj=link, summary=summary)
    return link


def _move(link: SupplierLink, action: str, *, actor, comment: str = "", summary=None):
    sources, target = TRANSITIONS[action]
    if link.status not in sources:
        raise InvalidTransition(_refusal(action, link.status))
    before = link.status
    link.status = target
    audit.record(
        actor=actor,
        action="supplier.linked" if action == "activate" else f"supplier.{action}ed",
        obj=link,
        comment=comment,
        summary={"status": [before.value, target.value], **(summary or {})},
    )
    db.session.flush()
    return link


def block(link: SupplierLink, *, actor, comment: str = "") -> SupplierLink:
    """Block a supplier: from this flush on it sees nothing of this buyer until unblocked.

    Needs the buyer's admin and a reason; raises InvalidTransition unless the link is active
    (or still invited).
    """
    _require_manager(actor, link)
    comment = (comment or "").strip()
    if not comment:
        raise ValidationProblem(Msg(N_("Give a reason for blocking the supplier.")))
    return _move(link, "block", actor=actor, comment=comment)


def unblock(link: SupplierLink, *, actor, comment: str = "") -> SupplierLink:
    """Restore a blocked supplier's access; raises InvalidTransition unless it is blocked."""
    _require_manager(actor, link)
    return _move(link, "unblock", actor=actor, comment=(comment or "").strip())


def activate(link: SupplierLink, *, actor, invitation: Invitation | None = None) -> SupplierLink:
    """An invited link goes live (the supplier accepted); raises InvalidTransition otherwise."""
    summary = {"invitation_id": invitation.id} if invitation is not None else None
    return _move(link, "activate", actor=actor, summary=summary)


def update_terms(
    link: SupplierLink,
    *,
    actor,
    payment_terms: PaymentTerms,
    currency: str,
    credit_limit: Decimal | None,
    invoicing: InvoicingMode | str | None = None,
    price_tolerance: Decimal | None = None,
) -> SupplierLink:
    """Renegotiated terms: payment terms, currency, credit limit, how the supplier invoices
    (per order or monthly) and the unit-price tolerance of the invoice match (None: unchanged).
    Buyer's admin only.

    The audit summary keeps the terms in their stored JSON form, before and after.
    """
    _require_manager(actor, link)
    check_terms(payment_terms, currency, credit_limit)
    credit_limit = normalize_limit(credit_limit)
    invoicing = link.invoicing if invoicing is None else _invoicing_mode(invoicing)
    price_tolerance = (link.price_tolerance if price_tolerance is None
                       else _price_tolerance(price_tolerance))

    def snapshot(terms, cur, limit, mode, tolerance):
        limit = str(limit) if limit is not None else None
        return {"terms": terms.to_json(), "currency": cur, "credit_limit": limit,
                "invoicing": str(InvoicingMode(mode or InvoicingMode.PER_ORDER)),
                "price_tolerance": str(round_places(tolerance or Decimal(0), 2))}

    before = snapshot(link.payment_terms, link.currency, link.credit_limit, link.invoicing,
                      link.price_tolerance)
    after = snapshot(payment_terms, currency, credit_limit, invoicing, price_tolerance)
    link.payment_terms = payment_terms
    link.currency = currency
    link.credit_limit = credit_limit
    link.invoicing = invoicing
    link.price_tolerance = price_tolerance
    if before != after:
        audit.record(
            actor=actor, action="supplier.terms_changed", obj=link,
            summary={"before": before, "after": after},
        )
    db.session.flush()
    return link


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# By the other company's name. The name is that company's, not the link's, so no index of
# supplier_links holds the order: a page sorts the company's links (a bounded set: the
# suppliers one buyer deals with), and the cursor keeps the pages stable without OFFSET.
BY_SUPPLIER_NAME = Order("suppliers", Key(Organization.name, path="supplier.name"), Key(SupplierLink.id))
BY_CUSTOMER_NAME = Order("customers", Key(Organization.name, path="buyer.name"), Key(SupplierLink.id))


def list_suppliers(actor, *, status: str | None = None, search: str = "", cursor: str | None = None,
                   per_page: int = LIST_PER_PAGE, count: bool = True) -> KeysetPage:
    """The buying company's suppliers, by name, one page (keyset, `cursor`); filtered by status
    and name. Raises BadCursor for a cursor it did not give out. `count=False`: no bounded
    count (the CSV export)."""
    query = (
        select(SupplierLink)
        .join(SupplierLink.supplier)
        .options(contains_eager(SupplierLink.supplier))
        .where(SupplierLink.organization_id == actor.organization_id)
    )
    if status in {s.value for s in LinkStatus}:
        query = query.where(SupplierLink.status == LinkStatus(status))
    search = (search or "").strip()
    if search:
        pattern = f"%{_escape_like(search.lower())}%"
        query = query.where(
            or_(
                Organization.name.ilike(pattern, escape="\\"),
                Organization.legal_name.ilike(pattern, escape="\\"),
                Organization.tax_id.ilike(pattern.upper(), escape="\\"),
            )
        )
    return keyset(query, BY_SUPPLIER_NAME, cursor=cursor, per_page=per_page, count=count)


def get_link(actor, link_id: int) -> SupplierLink:
    """One of the buying company's supplier links; NotFound for anyone else's."""
    link = db.session.scalars(
        select(SupplierLink)
        .where(SupplierLink.id == link_id, SupplierLink.organization_id == actor.organization_id)
        .options(contains_eager(SupplierLink.supplier))
        .join(SupplierLink.supplier)
    ).first()
    if link is None:
        raise NotFound(Msg(N_("There is no such supplier.")))
    return link


def link_timeline(link: SupplierLink) -> list[AuditEvent]:
    """The link's audit events, oldest first, with the invitation that brought it in."""
    events = list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.object_type == "SupplierLink", AuditEvent.object_id == link.id)
            .order_by(AuditEvent.created_at, AuditEvent.id)
        )
    )
    invitation_ids = {e.summary.get("invitation_id") for e in events if e.summary} - {None}
    if invitation_ids:
        events = sorted(
            events
            + list(
                db.session.scalars(
                    select(AuditEvent).where(
                        AuditEvent.object_type == "Invitation",
                        AuditEvent.object_id.in_(invitation_ids),
                    )
                )
            ),
            key=lambda e: (e.created_at, e.id),
        )
    _attach_actors(events)
    return events


def _attach_actors(events: list[AuditEvent]) -> None:
    """Name the people on a shared timeline, whichever side they work for.

    A deliberate cross-tenant read, confined to the actors of events the tenant filter already
    admitted: the supplier's user who accepted the invitation belongs to the supplier's
    organisation, which the buyer's filter would hide (the timeline would say "System").
    """
    ids = {e.actor_id for e in events if e.actor_id} | {
        e.on_behalf_of_id for e in events if e.on_behalf_of_id
    }
    if not ids:
        return
    people = {
        u.id: u
        for u in db.session.scalars(
            select(User).where(User.id.in_(ids)).execution_options(**ALL_TENANTS)
        )
    }
    for event in events:
        set_committed_value(event, "actor", people.get(event.actor_id))
        set_committed_value(event, "on_behalf_of", people.get(event.on_behalf_of_id))


def list_customers(actor, *, cursor: str | None = None, per_page: int = LIST_PER_PAGE,
                   count: bool = True) -> KeysetPage:
    """The buying companies a supplier is linked to, by name, one page (keyset, `cursor`;
    BadCursor for a cursor it did not give out); `count=False` for a filter's choices (no total).

    Blocked links are listed too (with their status): the supplier still reads what that
    buyer sent it, but starts no new work for it. Invited links are not yet customers.
    """
    query = (
        select(SupplierLink)
        .join(SupplierLink.buyer)
        .options(contains_eager(SupplierLink.buyer))
        .where(
            SupplierLink.supplier_id == actor.organization_id,
            SupplierLink.status.in_((LinkStatus.ACTIVE, LinkStatus.BLOCKED)),
        )
    )
    return keyset(query, BY_CUSTOMER_NAME, cursor=cursor, per_page=per_page, count=count)


def get_customer_link(actor, link_id: int) -> SupplierLink:
    """A supplier's link to one customer, active or blocked; NotFound when it is only
    invited or not the supplier's own."""
    link = db.session.scalars(
        select(SupplierLink)
        .join(SupplierLink.buyer)
        .options(contains_eager(SupplierLink.buyer))
        .where(
            SupplierLink.id == link_id,
            SupplierLink.supplier_id == actor.organization_id,
            SupplierLink.status.in_((LinkStatus.ACTIVE, LinkStatus.BLOCKED)),
        )
    ).first()
    if link is None:
        raise NotFound(Msg(N_("There is no such customer.")))
    return link
