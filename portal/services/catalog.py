"""Catalog of a buying company: items, categories, and search as you type.

Reads (`list_items`, `search_items`, `find_*`) rely on the session's tenant scope. Writes take
the organisation explicitly and filter by it too, so they are also right in `tenancy.system()`
(the demo seed, CLI commands). The CSV import lives in portal/services/catalog_import.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import joinedload

from portal.domain import catalog as rules
from portal.domain.messages import N_, Msg
from portal.errors import ValidationProblem
from portal.extensions import db
from portal.models import AuditEvent, Category, Item, LinkStatus, Organization, SupplierLink
from portal.money import is_currency
from portal.services import audit
from portal.services.paging import LIST_PER_PAGE, Key, KeysetPage, Order, keyset
from portal.services.reference import change_active, record_changes

SEARCH_LIMIT_MAX = 50


class FieldProblem(ValidationProblem):
    """A rule broken by one field's value; the form shows the message beside that field."""

    def __init__(self, message, field: str):
        super().__init__(message)
        self.field = field


# --- reading ------------------------------------------------------------------------------------


def _items():
    # Many-to-one joins: one query for a page of items, however many there are.
    return select(Item).options(joinedload(Item.category), joinedload(Item.preferred_supplier))


def _matches(query: str):
    """SKU starts with the query, or the name contains it (both case- and accent-insensitive)."""
    text = query.strip()
    return or_(
        func.lower(Item.sku).startswith(text.lower(), autoescape=True),
        Item.name_search.contains(rules.fold_for_search(text), autoescape=True),
    )


BY_SKU = Order("items", Key(Item.sku), Key(Item.id))


def list_items(
    *,
    query: str = "",
    category_id: int | None = None,
    status: str = "active",
    cursor: str | None = None,
    per_page: int = LIST_PER_PAGE,
    count: bool = True,
) -> KeysetPage:
    """A page of the company's items by SKU, read by cursor from the index of its filter
    (`(organization_id, is_active | category_id, sku, id)`); `status` is active, inactive or all.
    A search is checked row by row along that walk, which stops after a page. Raises BadCursor
    for a cursor it did not give out. `count=False`: no bounded count (the CSV export)."""
    stmt = _items()
    if query.strip():
        stmt = stmt.where(_matches(query))
    if category_id:
        stmt = stmt.where(Item.category_id == category_id)
    if status == "active":
        stmt = stmt.where(Item.is_active.is_(True))
    elif status == "inactive":
        stmt = stmt.where(Item.is_active.is_(False))
    return keyset(stmt, BY_SKU, cursor=cursor, per_page=per_page, count=count)


def search_items(query: str, *, limit: int = 10, active_only: bool = True) -> list[Item]:
    """Items whose SKU starts with `query` or whose name contains it, best matches first.

    For pickers that search as the user types (the requisition line editor). Case- and
    accent-insensitive ("krzeslo" finds "Krzesło"); an exact SKU comes first, then SKU
    prefixes, then names alphabetically. A blank query finds nothing. Category and preferred
    supplier are loaded with the items. Scoped to the session's organisation.
    """
    text = (query or "").strip()
    if not text:
        return []
    limit = max(1, min(int(limit), SEARCH_LIMIT_MAX))
    lowered = text.lower()
    rank = case(
        (func.lower(Item.sku) == lowered, 0),
        (func.lower(Item.sku).startswith(lowered, autoescape=True), 1),
        else_=2,
    )
    stmt = _items().where(_matches(text)).order_by(rank, Item.name_search, Item.id).limit(limit)
    if active_only:
        stmt = stmt.where(Item.is_active.is_(True))
    return list(db.session.scalars(stmt).unique())


def find_item(item_id: int) -> Item | None:
    """The item with this id in the current organisation, or None (the view answers 404)."""
    return db.session.scalars(_items().where(Item.id == item_id)).first()


def item_events(item: Item) -> list[AuditEvent]:
    """The item's audit trail, oldest first."""
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.object_type == "Item", AuditEvent.object_id == item.id)
            .options(joinedload(AuditEvent.actor), joinedload(AuditEvent.on_behalf_of))
            .order_by(AuditEvent.created_at, AuditEvent.id)
        ).unique()
    )


def list_categories(*, active_only: bool = False) -> list[Category]:
    """The company's categories by code."""
    stmt = select(Category).order_by(Category.code)
    if active_only:
        stmt = stmt.where(Category.is_active.is_(True))
    return list(db.session.scalars(stmt))


def find_category(category_id: int) -> Category | None:
    return db.session.scalars(select(Category).where(Category.id == category_id)).first()


def active_suppliers(org: Organization) -> list[Organization]:
    """Suppliers `org` may prefer for an item: those with an active link to it."""
    return list(
        db.session.scalars(
            select(Organization)
            .join(SupplierLink, SupplierLink.supplier_id == Organization.id)
            .where(
                SupplierLink.organization_id == org.id,
                SupplierLink.status == LinkStatus.ACTIVE,
            )
            .order_by(Organization.name)
        )
    )


# --- items --------------------------------------------------------------------------------------


@dataclass
class ItemFields:
    """What a user sets on an item (form or import)."""

    sku: str
    name: str
    description: str = ""
    unit: str = rules.DEFAULT_UNIT
    category_id: int | None = None
    default_vat_rate: Decimal = rules.DEFAULT_VAT_RATE
    list_price: Decimal | None = None
    currency: str = "PLN"
    preferred_supplier_id: int | None = None
    is_active: bool = True


EDITABLE = (
    "sku", "name", "description", "unit", "category_id", "default_vat_rate", "list_price",
    "currency", "preferred_supplier_id",
)


def sku_taken(org: Organization, sku: str, *, except_id: int | None = None) -> bool:
    """SKUs are unique per company, compared case-insensitively."""
    stmt = select(Item.id).where(
        Item.organization_id == org.id,
        or_(Item.sku == sku, func.lower(Item.sku) == sku.lower()),
    )
    if except_id is not None:
        stmt = stmt.where(Item.id != except_id)
    return db.session.scalars(stmt.limit(1)).first() is not None


def _checked(org: Organization, data: ItemFields, item: Item | None = None) -> ItemFields:
    """Normalised fields, or FieldProblem naming the first field that breaks a rule."""
    sku = (data.sku or "").strip()
    if problem := rules.check_sku(sku):
        raise FieldProblem(problem, "sku")
    if sku_taken(org, sku, except_id=item.id if item else None):
        raise FieldProblem(Msg(N_("Another item already has the SKU %(sku)s."), {"sku": sku}), "sku")
    name = " ".join((data.name or "").split())
    if not name:
        raise FieldProblem(Msg(N_("Enter the name.")), "name")
    if len(name) > rules.NAME_MAX:
        raise FieldProblem(Msg(N_("At most %(max)s characters."), {"max": rules.NAME_MAX}), "name")
    description = (data.description or "").strip()
    if len(description) > rules.DESCRIPTION_MAX:
        raise FieldProblem(
            Msg(N_("At most %(max)s characters."), {"max": rules.DESCRIPTION_MAX}), "description"
        )
    if data.unit not in rules.UNIT_CODES:
        raise FieldProblem(Msg(N_("Choose a unit from the list.")), "unit")
    if data.default_vat_rate is None or Decimal(data.default_vat_rate) not in rules.VAT_RATES:
        raise FieldProblem(Msg(N_("Choose 23, 8, 5 or 0 %.")), "default_vat_rate")
    if data.list_price is not None:
        try:
            rules.check_price(data.list_price)
        except rules.PriceProblem as exc:
            raise FieldProblem(exc.msg, "list_price") from exc
    if not is_currency(data.currency):
        raise FieldProblem(Msg(N_("Choose a currency from the list.")), "currency")
    unchanged_category = item is not None and item.category_id == data.category_id
    if data.category_id is not None and not unchanged_category:
        category = db.session.scalars(
            select(Category).where(
                Category.id == data.category_id,
                Category.organization_id == org.id,
                Category.is_active.is_(True),
            )
        ).first()
        if category is None:
            raise FieldProblem(Msg(N_("Choose an active category.")), "category_id")
    unchanged_supplier = item is not None and item.preferred_supplier_id == data.preferred_supplier_id
    if (
        data.preferred_supplier_id is not None
        and not unchanged_supplier
        and data.preferred_supplier_id not in {s.id for s in active_suppliers(org)}
    ):
        raise FieldProblem(Msg(N_("Choose one of your active suppliers.")), "preferred_supplier_id")
    return ItemFields(
        sku=sku, name=name, description=description, unit=data.unit,
        category_id=data.category_id, default_vat_rate=Decimal(data.default_vat_rate),
        list_price=data.list_price, currency=data.currency,
        preferred_supplier_id=data.preferred_supplier_id, is_active=bool(data.is_active),
    )


def _shown(value) -> str | None:
    return None if value is None else str(value)


def insert_item(org: Organization, data: ItemFields, *, actor, source: str = "form") -> Item:
    """Add an already checked item and its `item.created` event (no validation here)."""
    item = Item(organization_id=org.id, **{name: getattr(data, name) for name in EDITABLE})
    item.is_active = data.is_active
    db.session.add(item)
    db.session.flush()
    audit.record(
        actor=actor, action="item.created", obj=item,
        summary={"sku": item.sku, "name": item.name, "source": source},
    )
    return item


def apply_changes(item: Item, data: ItemFields, *, actor, source: str = "form") -> dict:
    """Copy already checked fields onto `item` and record what changed; returns the changes."""
    changes = {}
    for name in EDITABLE:
        before, after = getattr(item, name), getattr(data, name)
        if before != after:
            changes[name] = [_shown(before), _shown(after)]
            setattr(item, name, after)
    if changes:
        audit.record(
            actor=actor, action="item.updated", obj=item,
            summary={"changes": dict(changes), "source": source},
        )
    if item.is_active != data.is_active:
        change_active(item, data.is_active, actor=actor, kind="item")
        changes["is_active"] = [not data.is_active, data.is_active]
    return changes


def create_item(org: Organization, data: ItemFields, *, actor) -> Item:
    """Add an item to `org`'s catalog.

    Raises FieldProblem for a taken SKU, a missing name, an inactive or foreign category, a
    supplier without an active link, a bad VAT rate, unit, currency or price.
    """
    item = insert_item(org, _checked(org, data), actor=actor)
    db.session.flush()
    return item


def update_item(item: Item, data: ItemFields, *, actor) -> Item:
    """Change an item. An unchanged category or supplier may stay even if no longer active.

    Records `item.updated` with the changed fields, and `item.deactivated`/`reactivated` when
    the active flag moves. Raises FieldProblem like `create_item`.
    """
    org = db.session.get(Organization, item.organization_id)
    checked = _checked(org, data, item)
    apply_changes(item, checked, actor=actor)
    db.session.flush()
    return item


def deactivate_item(item: Item, *, actor) -> Item:
    """Hide an item from pickers; requisitions that use it keep it. Raises if already inactive."""
    change_active(item, False, actor=actor, kind="item",
                  already=Msg(N_("The item is already inactive.")))
    return item


def reactivate_item(item: Item, *, actor) -> Item:
    """Offer an inactive item again. Raises if it is active."""
    change_active(item, True, actor=actor, kind="item",
                  already=Msg(N_("The item is already active.")))
    return item


# --- categories ---------------------------------------------------------------------------------


def _checked_category(org: Organization, code: str, name: str, category=None) -> tuple[str, str]:
    code = rules.normalize_code(code)
    if problem := rules.check_code(code):
        raise FieldProblem(problem, "code")
    stmt = select(Category.id).where(Category.organization_id == org.id, Category.code == code)
    if category is not None:
        stmt = stmt.where(Category.id != category.id)
    if db.session.scalars(stmt).first() is not None:
        raise FieldProblem(Msg(N_("Another category already has the code %(code)s."), {"code": code}), "code")
    name = " ".join((name or "").split())
    if not name:
        raise FieldProblem(Msg(N_("Enter the name.")), "name")
    if len(name) > 120:
        raise FieldProblem(Msg(N_("At most %(max)s characters."), {"max": 120}), "name")
    return code, name


def create_category(org: Organization, *, code: str, name: str, actor) -> Category:
    """Add a purchasing category; codes are upper-case and unique per company."""
    code, name = _checked_category(org, code, name)
    category = Category(organization_id=org.id, code=code, name=name, is_active=True)
    db.session.add(category)
    db.session.flush()
    audit.record(actor=actor, action="category.created", obj=category,
                 summary={"code": code, "name": name})
    return category


def update_category(category: Category, *, code: str, name: str, actor) -> Category:
    """Rename or recode a category (items keep it). Raises FieldProblem for a taken code."""
    org = db.session.get(Organization, category.organization_id)
    code, name = _checked_category(org, code, name, category)
    record_changes(category, {"code": code, "name": name}, actor=actor, action="category.updated")
    return category


def deactivate_category(category: Category, *, actor) -> Category:
    """No new items or rules may use it; existing items keep it."""
    change_active(category, False, actor=actor, kind="category",
                  already=Msg(N_("The category is already inactive.")))
    return category


def reactivate_category(category: Category, *, actor) -> Category:
    change_active(category, True, actor=actor, kind="category",
                  already=Msg(N_("The category is already active.")))
    return category
