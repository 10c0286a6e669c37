"""Price agreements: create, change and end them; list them; the agreed price of items.

A buying company's admin agrees a unit price with one supplier (an active link) for one catalog
item, in one currency, for a period, with optional quantity tiers (`portal.domain.agreements`).
Two agreements of one link, item and currency never cover the same day, so "the price agreed
with this supplier today" has one answer. The supplier reads its agreements (read only).

Reads rely on the session's tenant scope; writes take the actor explicitly and flush; the
caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import or_, select
from sqlalchemy.orm import contains_eager, joinedload

from portal.domain import agreements as rules
from portal.domain.agreements import AgreementProblem, Tier
from portal.domain.messages import N_, Msg
from portal.errors import NotFound
from portal.extensions import db
from portal.models import (
    AuditEvent,
    Item,
    LinkStatus,
    Organization,
    PriceAgreement,
    SupplierLink,
)
from portal.models.base import utcnow
from portal.money import is_currency
from portal.policies import enforce
from portal.services import audit, clock
from portal.services.catalog import FieldProblem
from portal.services.paging import LIST_PER_PAGE, Key, KeysetPage, Order, keyset
from portal.tenancy import ALL_TENANTS, current_scope

STATES = ("valid", "future", "expired")


@dataclass
class AgreementFields:
    """What a buyer sets on an agreement. `link_id` and `item_sku` only count when creating:
    an agreement stays with its supplier and item."""

    unit_price: Decimal | None
    currency: str
    valid_from: date | None
    valid_to: date | None = None
    tiers: list[Tier] = field(default_factory=list)
    supplier_part_number: str = ""
    lead_time_days: int | None = None
    link_id: int | None = None
    item_sku: str = ""


def today() -> date:
    """Today where the reading organisation is: an agreement "valid until 31 December" still
    applies at 00:30 on that day's night in Warsaw, when the UTC date is a day behind."""
    scope = current_scope(db.session)
    return clock.today_for(db.session.get(Organization, scope.org_id) if scope is not None else None)


# --- reading ------------------------------------------------------------------------------------

NEWEST = Order("agreements", Key(PriceAgreement.valid_from, descending=True),
               Key(PriceAgreement.id, descending=True))


def _state_filter(stmt, state: str, day: date):
    if state == "valid":
        return stmt.where(PriceAgreement.valid_from <= day,
                          or_(PriceAgreement.valid_to.is_(None), PriceAgreement.valid_to >= day))
    if state == "future":
        return stmt.where(PriceAgreement.valid_from > day)
    if state == "expired":
        return stmt.where(PriceAgreement.valid_to < day)
    return stmt


def list_agreements(*, link_id: int | None = None, item_id: int | None = None, state: str = "",
                    cursor: str | None = None, per_page: int = LIST_PER_PAGE,
                    count: bool = True) -> KeysetPage:
    """A page of the buying company's agreements, latest start first (keyset, read from
    `(organization_id | link_id, valid_from, id)`), with item and supplier loaded; filtered by
    link, item and state (valid, future, expired today). Raises BadCursor for a cursor it did
    not give out. `count=False`: a preview, no bounded count."""
    stmt = select(PriceAgreement).options(joinedload(PriceAgreement.item),
                                          joinedload(PriceAgreement.supplier))
    if link_id is not None:
        stmt = stmt.where(PriceAgreement.link_id == link_id)
    if item_id is not None:
        stmt = stmt.where(PriceAgreement.item_id == item_id)
    stmt = _state_filter(stmt, state, today())
    return keyset(stmt, NEWEST, cursor=cursor, per_page=per_page, count=count)


def find_agreement(agreement_id: int | None) -> PriceAgreement | None:
    """An agreement the current organisation may see (as buyer), or None (the view's 404)."""
    if agreement_id is None:
        return None
    return db.session.scalars(
        select(PriceAgreement).where(PriceAgreement.id == agreement_id)
        .options(joinedload(PriceAgreement.item), joinedload(PriceAgreement.supplier),
                 joinedload(PriceAgreement.link))
    ).first()


def agreement_events(agreement: PriceAgreement) -> list[AuditEvent]:
    """The agreement's audit trail, oldest first."""
    return list(db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.object_type == "PriceAgreement", AuditEvent.object_id == agreement.id)
        .options(joinedload(AuditEvent.actor), joinedload(AuditEvent.on_behalf_of))
        .order_by(AuditEvent.created_at, AuditEvent.id)
    ).unique())


def agreed_prices(items, *, day: date | None = None) -> dict[int, PriceAgreement]:
    """item id -> the agreement that applies to it on `day` (today) for one unit, for a page
    of items in one query. Only agreements of active links count; one in the item's own
    currency wins over others, then the lowest price (`rules.applicable`)."""
    items = list(items)
    if not items:
        return {}
    day = day or today()
    rows = db.session.scalars(
        select(PriceAgreement)
        .join(PriceAgreement.link)
        .where(PriceAgreement.item_id.in_({i.id for i in items}),
               PriceAgreement.valid_from <= day,
               or_(PriceAgreement.valid_to.is_(None), PriceAgreement.valid_to >= day),
               SupplierLink.status == LinkStatus.ACTIVE)
        .options(contains_eager(PriceAgreement.link), joinedload(PriceAgreement.supplier))
    ).unique().all()
    by_item: dict[int, list[PriceAgreement]] = {}
    for row in rows:
        by_item.setdefault(row.item_id, []).append(row)
    found = {}
    for item in items:
        candidates = by_item.get(item.id)
        if candidates:
            best = rules.applicable(candidates, day, currency=item.currency) or rules.applicable(
                candidates, day)
            if best is not None:
                found[item.id] = best
    return found


def agreed_price(item: Item, currency: str, *, quantity: Decimal = Decimal(1),
                 day: date | None = None) -> tuple[Decimal, PriceAgreement] | None:
    """(unit price, agreement) agreed for `item` in `currency` on `day` for `quantity`, or None:
    the default price of a catalog line on a requisition in that currency."""
    day = day or today()
    rows = db.session.scalars(
        select(PriceAgreement).join(PriceAgreement.link)
        .where(PriceAgreement.item_id == item.id, PriceAgreement.currency == currency,
               PriceAgreement.valid_from <= day,
               or_(PriceAgreement.valid_to.is_(None), PriceAgreement.valid_to >= day),
               SupplierLink.status == LinkStatus.ACTIVE)
    ).all()
    best = rules.applicable(rows, day, quantity, currency)
    return None if best is None else (rules.price_for(best, quantity), best)


def active_links(actor) -> list[SupplierLink]:
    """The links an agreement may be made with: the company's active suppliers, by name."""
    return list(db.session.scalars(
        select(SupplierLink).join(SupplierLink.supplier)
        .options(contains_eager(SupplierLink.supplier))
        .where(SupplierLink.organization_id == actor.organization_id,
               SupplierLink.status == LinkStatus.ACTIVE)
        .order_by(Organization.name, SupplierLink.id)
    ))


# How many suppliers a list's filter offers: a company with more picks one from its page.
FILTER_LINKS = 100


@dataclass(frozen=True)
class FilterLink:
    """A supplier a list's filter offers: its link's id, the supplier's id and name."""

    id: int
    supplier_id: int
    name: str


def filter_links(actor, *, selected: int | None = None, by: str = "supplier_id",
                 limit: int = FILTER_LINKS) -> tuple[list[FilterLink], bool]:
    """The suppliers a list's filter offers: at most `limit` of the company's active links, read
    in the links' own order (a bounded read however many suppliers the company has), shown by
    name; the link `selected` (its `by` value: supplier_id or id) is always among them. `more`
    says the company has more than `limit` (each supplier's page links to its filtered lists).
    Read as three columns: every list page of a buyer shows this filter."""
    base = (select(SupplierLink.id, SupplierLink.supplier_id, Organization.name)
            .join(SupplierLink.supplier)
            .where(SupplierLink.organization_id == actor.organization_id,
                   SupplierLink.status == LinkStatus.ACTIVE))
    links = [FilterLink(*row) for row in db.session.execute(base.order_by(SupplierLink.id).limit(limit + 1))]
    more = len(links) > limit
    links = links[:limit]
    if selected is not None and all(getattr(link, by) != selected for link in links):
        chosen = db.session.execute(base.where(getattr(SupplierLink, by) == selected)).first()
        if chosen is not None:
            links.append(FilterLink(*chosen))
    links.sort(key=lambda link: (link.name.casefold(), link.id))
    return links, more


# --- the supplier's side ------------------------------------------------------------------------


def list_for_customer(link: SupplierLink, *, cursor: str | None = None,
                      per_page: int = LIST_PER_PAGE) -> KeysetPage:
    """A page of one customer's agreements with the signed-in supplier (the link was loaded as
    the supplier's own by `suppliers.get_customer_link`): the tenant filter admits exactly the
    agreements addressed to it."""
    stmt = select(PriceAgreement).where(PriceAgreement.link_id == link.id,
                                        PriceAgreement.supplier_id == link.supplier_id)
    return keyset(stmt, NEWEST, cursor=cursor, per_page=per_page)


@dataclass(frozen=True)
class ItemLabel:
    sku: str
    name: str
    unit: str


def item_labels(agreements) -> dict[int, ItemLabel]:
    """SKU, name and unit of the items of agreements the tenant filter already admitted.

    A deliberate cross-tenant read for the supplier: the buyer's catalog is the buyer's, but an
    agreement addressed to the supplier must say what it is for. Confined to those items' ids,
    and to three columns."""
    ids = {a.item_id for a in agreements}
    if not ids:
        return {}
    rows = db.session.execute(
        select(Item.id, Item.sku, Item.name, Item.unit).where(Item.id.in_(ids))
        .execution_options(**ALL_TENANTS)
    )
    return {row.id: ItemLabel(row.sku, row.name, row.unit) for row in rows}


# --- writing ------------------------------------------------------------------------------------


def _problem(exc: AgreementProblem) -> FieldProblem:
    return FieldProblem(exc.msg, exc.field or "")


def _link_for(actor, link_id: int | None) -> SupplierLink:
    link = None
    if link_id is not None:
        link = db.session.scalars(
            select(SupplierLink).where(SupplierLink.id == link_id,
                                       SupplierLink.organization_id == actor.organization_id)
            .options(joinedload(SupplierLink.supplier))
        ).first()
    if link is None:
        raise FieldProblem(Msg(N_("Choose one of your suppliers.")), "link_id")
    if link.status != LinkStatus.ACTIVE:
        raise FieldProblem(Msg(N_(
            "Prices are agreed with active suppliers only: %(name)s is not active."),
            {"name": link.supplier.name}), "link_id")
    return link


def _item_for(actor, sku: str) -> Item:
    sku = (sku or "").strip()
    if not sku:
        raise FieldProblem(Msg(N_("Enter the SKU of a catalog item.")), "item_sku")
    item = db.session.scalars(
        select(Item).where(Item.organization_id == actor.organization_id, Item.sku == sku)
    ).first()
    if item is None or not item.is_active:
        raise FieldProblem(Msg(N_("There is no active catalog item with the SKU %(sku)s."),
                               {"sku": sku}), "item_sku")
    return item


def _checked(data: AgreementFields) -> AgreementFields:
    """Normalised values, or FieldProblem naming the first field that breaks a rule."""
    try:
        rules.check_price(data.unit_price)
        tiers = rules.check_tiers(list(data.tiers or []), data.unit_price)
        rules.check_dates(data.valid_from, data.valid_to)
        rules.check_lead_time(data.lead_time_days)
    except AgreementProblem as exc:
        raise _problem(exc) from exc
    if not is_currency(data.currency):
        raise FieldProblem(Msg(N_("Choose a currency from the list.")), "currency")
    part = " ".join((data.supplier_part_number or "").split())
    if len(part) > rules.PART_NUMBER_MAX:
        raise FieldProblem(Msg(N_("At most %(max)s characters."), {"max": rules.PART_NUMBER_MAX}),
                           "supplier_part_number")
    return AgreementFields(
        unit_price=data.unit_price, currency=data.currency, valid_from=data.valid_from,
        valid_to=data.valid_to, tiers=tiers, supplier_part_number=part,
        lead_time_days=data.lead_time_days, link_id=data.link_id, item_sku=data.item_sku,
    )


def _refuse_overlap(link: SupplierLink, item: Item, data: AgreementFields,
                    except_id: int | None = None) -> None:
    stmt = select(PriceAgreement).where(
        PriceAgreement.link_id == link.id, PriceAgreement.item_id == item.id,
        PriceAgreement.currency == data.currency,
        or_(PriceAgreement.valid_to.is_(None), PriceAgreement.valid_to >= data.valid_from),
    )
    if data.valid_to is not None:
        stmt = stmt.where(PriceAgreement.valid_from <= data.valid_to)
    if except_id is not None:
        stmt = stmt.where(PriceAgreement.id != except_id)
    other = db.session.scalars(stmt.order_by(PriceAgreement.valid_from).limit(1)).first()
    if other is not None:
        raise FieldProblem(Msg(N_(
            "%(supplier)s already has an agreement for %(sku)s in %(currency)s from %(start)s "
            "that covers some of these days. End it or change its dates first."),
            {"supplier": link.supplier.name, "sku": item.sku, "currency": data.currency,
             "start": other.valid_from}), "valid_from")


def _snapshot(agreement: PriceAgreement) -> dict:
    return {
        "unit_price": Decimal(agreement.unit_price),
        "currency": agreement.currency,
        "valid_from": agreement.valid_from, "valid_to": agreement.valid_to,
        "tiers": list(agreement.tiers or []),
        "supplier_part_number": agreement.supplier_part_number,
        "lead_time_days": agreement.lead_time_days,
    }


def create_agreement(actor, data: AgreementFields) -> PriceAgreement:
    """Agree a price with an active supplier for an active catalog item.

    Raises PermissionDenied unless the actor may manage agreements; FieldProblem for an
    inactive or foreign link, an unknown or inactive SKU, a price not above zero, tiers not
    ascending, an end before the start, or days already covered by another agreement of the
    same supplier, item and currency. Nothing is written when it raises."""
    enforce(actor, "agreements.manage")
    link = _link_for(actor, data.link_id)
    item = _item_for(actor, data.item_sku)
    data = _checked(data)
    _refuse_overlap(link, item, data)
    agreement = PriceAgreement(
        organization_id=actor.organization_id, supplier_id=link.supplier_id, link_id=link.id,
        item_id=item.id, unit_price=data.unit_price, currency=data.currency,
        tiers=[t.to_json() for t in data.tiers], valid_from=data.valid_from,
        valid_to=data.valid_to, supplier_part_number=data.supplier_part_number,
        lead_time_days=data.lead_time_days, created_by_id=actor.id,
    )
    db.session.add(agreement)
    db.session.flush()
    audit.record(actor=actor, action="agreement.created", obj=agreement,
                 summary={"sku": item.sku, "supplier": link.supplier.name, **_snapshot(agreement)})
    return agreement


def update_agreement(actor, agreement: PriceAgreement, data: AgreementFields) -> PriceAgreement:
    """Change an agreement's price, tiers, dates, part number or lead time (not its supplier or
    item). The link must still be active. Raises like `create_agreement`."""
    enforce(actor, "agreements.manage", agreement)
    link = _link_for(actor, agreement.link_id)
    data = _checked(data)
    _refuse_overlap(link, agreement.item, data, except_id=agreement.id)
    before = _snapshot(agreement)
    agreement.unit_price = data.unit_price
    agreement.currency = data.currency
    agreement.tiers = [t.to_json() for t in data.tiers]
    agreement.valid_from = data.valid_from
    agreement.valid_to = data.valid_to
    agreement.supplier_part_number = data.supplier_part_number
    agreement.lead_time_days = data.lead_time_days
    after = _snapshot(agreement)
    changes = {k: (before[k], after[k]) for k in after if before[k] != after[k]}
    if changes:
        agreement.updated_at = utcnow()
        audit.record(actor=actor, action="agreement.updated", obj=agreement, changes=changes)
    db.session.flush()
    return agreement


def end_agreement(agreement: PriceAgreement, *, actor) -> PriceAgreement:
    """End an agreement that applies today: today is its last day. Raises PermissionDenied for
    a non-admin and ValidationProblem for an agreement not yet started or already ended."""
    enforce(actor, "agreements.manage", agreement)
    try:
        last = rules.end_day(agreement, today())
    except AgreementProblem as exc:
        raise _problem(exc) from exc
    before = agreement.valid_to
    agreement.valid_to = last
    agreement.updated_at = utcnow()
    audit.record(actor=actor, action="agreement.ended", obj=agreement,
                 changes={"valid_to": (before, last)})
    db.session.flush()
    return agreement


def get_agreement(agreement_id: int) -> PriceAgreement:
    """Like `find_agreement`, raising NotFound."""
    found = find_agreement(agreement_id)
    if found is None:
        raise NotFound(Msg(N_("There is no such price agreement.")))
    return found
