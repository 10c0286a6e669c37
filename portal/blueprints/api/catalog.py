"""Catalog items and price agreements: `GET/POST /catalog/items`, `GET /catalog/items/{id}`,
`GET /agreements`, `GET /agreements/{id}`.

The pages' rules: everyone in a buying company browses its catalog ("catalog.view"; a buyer sees
the active items, an admin all of them) and the prices it agreed ("agreements.view"); only an
admin changes items ("catalog.manage"). Suppliers see no catalog (403) but read the agreements
addressed to them on their active or blocked links ("customers.view"), as their customer pages
show them. `POST /catalog/items` creates or updates the item with that SKU (compared without
case, as the CSV import does) through the catalog service.
"""

from __future__ import annotations

from decimal import Decimal

from marshmallow import Schema, fields, validate
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import joinedload

from portal.blueprints.api.core import actor, blueprint, idempotent, listed_columns, requires, sync_page
from portal.blueprints.api.schemas import (
    Amount,
    DecimalString,
    ListArgs,
    Party,
    Problem,
    Strict,
    StrictBoolean,
    page_of,
)
from portal.blueprints.cache import cached_list
from portal.blueprints.problems import API_PREFIX, NOT_HERE, ApiProblem
from portal.domain import agreements as agreement_rules
from portal.extensions import db
from portal.models import Item, Organization, PriceAgreement
from portal.policies import can, enforce
from portal.services import agreements, catalog

bp = blueprint("catalog", "Catalog items and price agreements")

STATES = list(agreements.STATES)



# ---------------------------------------------------------------- schemas: items


class ItemListArgs(ListArgs):
    active = fields.Boolean(metadata={"description": "active (true) or deactivated (false) items; "
                                                     "buyers who are not admins see active ones only"})
    category_id = fields.Integer(validate=validate.Range(min=1))
    sku = fields.String(validate=validate.Length(min=1, max=40),
                        metadata={"description": "the item with exactly this SKU"})


class ItemCategorySchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()


class ItemSchema(Schema):
    id = fields.Integer()
    sku = fields.String()
    name = fields.String()
    description = fields.String()
    unit = fields.String()
    category_id = fields.Integer(allow_none=True)
    default_vat_rate = Amount(metadata={"description": "percent"})
    list_price = Amount(allow_none=True, metadata={"description": "unit price in `currency`"})
    currency = fields.String()
    preferred_supplier_id = fields.Integer(allow_none=True)
    active = fields.Boolean(attribute="is_active")
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class ItemTierSchema(Schema):
    min_quantity = Amount(attribute="min_qty")
    unit_price = Amount()


class ItemAgreedPriceSchema(Schema):
    agreement_id = fields.Integer(attribute="id")
    supplier = fields.Nested(Party)
    unit_price = Amount()
    currency = fields.String()
    tiers = fields.List(fields.Nested(ItemTierSchema), attribute="tier_list")
    valid_from = fields.Date()
    valid_to = fields.Date(allow_none=True)
    state = fields.Function(lambda a: agreement_rules.state_on(a, agreements.today()))


class ItemDetailSchema(ItemSchema):
    category = fields.Nested(ItemCategorySchema, allow_none=True)
    preferred_supplier = fields.Nested(Party, allow_none=True)
    agreed_price = fields.Nested(ItemAgreedPriceSchema, allow_none=True, metadata={
        "description": "the agreement that applies today for one unit (an active supplier's), or null"})
    agreements = fields.List(fields.Nested(ItemAgreedPriceSchema), metadata={
        "description": "the item's latest agreements (at most 10, newest start first)"})


class ItemIn(Strict):
    sku = fields.String(required=True, validate=validate.Length(min=1, max=40), metadata={
        "description": "the key: an item with this SKU (any case) is updated, else one is created"})
    name = fields.String(validate=validate.Length(min=1, max=200), metadata={
        "description": "required to create"})
    description = fields.String(validate=validate.Length(max=2000))
    unit = fields.String(validate=validate.Length(min=1, max=20))
    category_id = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1))
    default_vat_rate = DecimalString(places=2, minimum=Decimal(0), maximum=Decimal(100))
    list_price = DecimalString(places=4, minimum=Decimal(0), allow_none=True)
    currency = fields.String(validate=validate.Length(equal=3))
    preferred_supplier_id = fields.Integer(strict=True, allow_none=True,
                                           validate=validate.Range(min=1))
    active = StrictBoolean()


ItemPage = page_of(ItemSchema)


# ---------------------------------------------------------------- schemas: agreements


class AgreementListArgs(ListArgs):
    supplier_id = fields.Integer(validate=validate.Range(min=1),
                                 metadata={"description": "buyers: one supplier's agreements"})
    buyer_id = fields.Integer(validate=validate.Range(min=1),
                              metadata={"description": "suppliers: one customer's agreements"})
    item_id = fields.Integer(validate=validate.Range(min=1))
    active = fields.Boolean(metadata={"description": "valid today (true), or not (false: future "
                                                     "or expired)"})
    state = fields.String(validate=validate.OneOf(STATES), metadata={
        "description": "valid, future or expired today"})


class AgreementItemSchema(Schema):
    id = fields.Integer()
    sku = fields.String()
    name = fields.String()
    unit = fields.String()


class AgreementTierSchema(Schema):
    min_quantity = Amount(attribute="min_qty")
    unit_price = Amount()


class AgreementSchema(Schema):
    id = fields.Integer()
    link_id = fields.Integer()
    buyer = fields.Nested(Party)
    supplier = fields.Nested(Party)
    item_id = fields.Integer()
    item = fields.Nested(AgreementItemSchema, allow_none=True)
    unit_price = Amount()
    currency = fields.String()
    tiers = fields.List(fields.Nested(AgreementTierSchema))
    valid_from = fields.Date()
    valid_to = fields.Date(allow_none=True)
    state = fields.String(metadata={"description": "valid, future or expired today"})
    supplier_part_number = fields.String()
    lead_time_days = fields.Integer(allow_none=True)
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class AgreementPage(Schema):
    data = fields.List(fields.Nested(AgreementSchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True, metadata={
        "description": "pass as ?cursor= for the next page; null at the end"})


# ---------------------------------------------------------------- items


def _load_item(item_id: int) -> Item:
    found = catalog.find_item(item_id)
    if found is None:
        raise ApiProblem(404, NOT_HERE)
    return found


def _item_detail(item: Item) -> dict:
    found = {name: getattr(item, name) for name in ("id", "sku", "name", "description", "unit",
             "category_id", "default_vat_rate", "list_price", "currency", "preferred_supplier_id",
             "is_active", "created_at", "updated_at", "category", "preferred_supplier")}
    found["agreed_price"] = agreements.agreed_prices([item]).get(item.id)
    found["agreements"] = agreements.list_agreements(item_id=item.id, per_page=10, count=False).items
    return found


@bp.route("/catalog/items", methods=["GET"])
@requires("catalog")
@cached_list
@bp.arguments(ItemListArgs, location="query")
@bp.response(200, ItemPage)
@bp.alt_response(403, schema=Problem, description="Suppliers see no catalog")
@bp.alt_response(422, schema=Problem, description="A filter or the cursor is not valid")
def list_items(args):
    """The company's catalog items, oldest change first."""
    user = actor()
    enforce(user, "catalog.view")
    query = select(Item).options(listed_columns(Item, ItemSchema))
    if not can(user, "catalog.manage"):
        query = query.where(Item.is_active.is_(True))  # the page shows buyers what they may order
    if args.get("active") is not None:
        query = query.where(Item.is_active.is_(args["active"]))
    if args.get("category_id") is not None:
        query = query.where(Item.category_id == args["category_id"])
    if args.get("sku"):
        query = query.where(Item.sku == args["sku"])  # one row, by the SKU's unique index
    return sync_page(query, Item, args)


@bp.route("/catalog/items/<int:item_id>", methods=["GET"])
@requires("catalog")
@bp.response(200, ItemDetailSchema)
@bp.alt_response(403, schema=Problem, description="Suppliers see no catalog")
@bp.alt_response(404, schema=Problem, description="No such item in the organisation")
def get_item(item_id: int):
    """One item with the price agreed for it today and its latest agreements."""
    enforce(actor(), "catalog.view")
    return _item_detail(_load_item(item_id))


def item_by_sku(sku: str) -> Item | None:
    """The company's item with this SKU, compared without case as the CSV import does: the
    exact SKU from its unique index, else a case-insensitive look (Python folds the case:
    SQLite's lower() folds ASCII only)."""
    exact = db.session.scalars(select(Item).where(Item.sku == sku)).first()
    if exact is not None:
        return exact
    candidates = db.session.scalars(select(Item).where(func.lower(Item.sku) == sku.lower())).all()
    return next((i for i in candidates if i.sku.casefold() == sku.casefold()), None)


FIELDS = ("name", "description", "unit", "category_id", "default_vat_rate", "list_price",
          "currency", "preferred_supplier_id")


def _fields(data: dict, item: Item | None, org: Organization) -> catalog.ItemFields:
    """The body over the item (or the defaults of a new one): a field left out keeps its value."""
    defaults = catalog.ItemFields(sku=data["sku"], name="", currency=org.currency)
    base = item if item is not None else defaults
    values = {name: data[name] if name in data else getattr(base, name) for name in FIELDS}
    active = data.get("active", item.is_active if item is not None else True)
    return catalog.ItemFields(sku=item.sku if item is not None else data["sku"], is_active=active,
                              **values)


@bp.route("/catalog/items", methods=["POST"])
@requires("catalog", write=True)
@idempotent
@bp.arguments(ItemIn)
@bp.response(201, ItemDetailSchema, description="Created", headers={"Location": {
    "description": "the item's address", "schema": {"type": "string"}}})
@bp.alt_response(200, schema=ItemDetailSchema, description="The item with this SKU, updated")
@bp.alt_response(403, schema=Problem, description="Only a buying company's admin changes the catalog")
@bp.alt_response(409, schema=Problem, description="The same Idempotency-Key is still in progress")
@bp.alt_response(422, schema=Problem, description="Invalid fields (the problem names them)")
@bp.alt_response(428, schema=Problem, description="No Idempotency-Key header")
def upsert_item(data):
    """Create the item with this SKU (201), or update it (200): fields left out keep their values."""
    user = actor()
    enforce(user, "catalog.manage")
    org = user.organization
    item = item_by_sku(data["sku"].strip())
    if item is None:
        item = catalog.create_item(org, _fields(data, None, org), actor=user)
        status = 201
    else:
        catalog.update_item(item, _fields(data, item, org), actor=user)
        status = 200
    db.session.flush()
    db.session.expire(item)  # read back as stored, as GET answers it
    return _item_detail(_load_item(item.id)), status, {"Location": f"{API_PREFIX}/catalog/items/{item.id}"}


# ---------------------------------------------------------------- agreements


def _agreement_rows(found: list[PriceAgreement]) -> list[dict]:
    """The agreements with their item (SKU, name, unit: `item_labels`, which a supplier may
    read too) and both parties, in two queries for a page."""
    labels = agreements.item_labels(found)
    party_ids = {a.organization_id for a in found} | {a.supplier_id for a in found}
    parties = {o.id: o for o in db.session.scalars(
        select(Organization).where(Organization.id.in_(party_ids)))} if party_ids else {}
    today = agreements.today()
    rows = []
    for agreement in found:
        label = labels.get(agreement.item_id)
        rows.append({
            **{name: getattr(agreement, name) for name in (
                "id", "link_id", "item_id", "unit_price", "currency", "valid_from", "valid_to",
                "supplier_part_number", "lead_time_days", "created_at", "updated_at")},
            "buyer": parties.get(agreement.organization_id),
            "supplier": parties.get(agreement.supplier_id),
            "item": None if label is None else {"id": agreement.item_id, "sku": label.sku,
                                                "name": label.name, "unit": label.unit},
            "tiers": agreement.tier_list,
            "state": agreement_rules.state_on(agreement, today),
        })
    return rows


def _in_state(state: str, day):
    """Agreements valid, future or expired on `day` (`portal.domain.agreements.state_on`).

    The start is compared through coalesce() (it is never NULL): not the column of the lists'
    (organization_id, valid_from) index, so the planner keeps to the sync order's index instead
    of reading that range and sorting it."""
    starts = func.coalesce(PriceAgreement.valid_from, PriceAgreement.valid_to)
    if state == "future":
        return starts > day
    if state == "expired":
        return PriceAgreement.valid_to < day
    return and_(starts <= day, or_(PriceAgreement.valid_to.is_(None), PriceAgreement.valid_to >= day))


def _agreement_side(user) -> str:
    """buyer or supplier: whose rule lets `user` read agreements (403 for neither)."""
    if can(user, "agreements.view"):
        return "buyer"
    enforce(user, "customers.view")
    return "supplier"


@bp.route("/agreements", methods=["GET"])
@requires("catalog")
@cached_list
@bp.arguments(AgreementListArgs, location="query")
@bp.response(200, AgreementPage)
@bp.alt_response(403, schema=Problem, description="Neither a buyer nor a supplier user")
@bp.alt_response(422, schema=Problem, description="A filter or the cursor is not valid")
def list_agreements(args):
    """Price agreements, oldest change first: a buyer's own, or those addressed to a supplier."""
    user = actor()
    if _agreement_side(user) == "buyer":
        query = select(PriceAgreement)
        if args.get("supplier_id") is not None:
            query = query.where(PriceAgreement.supplier_id == args["supplier_id"])
        if args.get("buyer_id") is not None:
            query = query.where(PriceAgreement.organization_id == args["buyer_id"])
    else:
        # From the supplier's own index; the tenant filter keeps its active and blocked links'.
        query = select(PriceAgreement).where(PriceAgreement.supplier_id == user.organization_id)
        if args.get("buyer_id") is not None:
            query = query.where(PriceAgreement.organization_id == args["buyer_id"])
        if args.get("supplier_id") is not None:
            query = query.where(PriceAgreement.supplier_id == args["supplier_id"])
    if args.get("item_id") is not None:
        query = query.where(PriceAgreement.item_id == args["item_id"])
    today = agreements.today()
    if args.get("state"):
        query = query.where(_in_state(args["state"], today))
    if args.get("active") is not None:
        valid = _in_state("valid", today)
        query = query.where(valid if args["active"] else ~valid)
    page = sync_page(query, PriceAgreement, args)
    return {"data": _agreement_rows(page["data"]), "next_cursor": page["next_cursor"]}


@bp.route("/agreements/<int:agreement_id>", methods=["GET"])
@requires("catalog")
@bp.response(200, AgreementSchema)
@bp.alt_response(403, schema=Problem, description="Neither a buyer nor a supplier user")
@bp.alt_response(404, schema=Problem, description="No such agreement for the organisation")
def get_agreement(agreement_id: int):
    """One price agreement (a supplier reads those addressed to it)."""
    _agreement_side(actor())
    found = db.session.scalars(select(PriceAgreement).where(PriceAgreement.id == agreement_id)
                               .options(joinedload(PriceAgreement.supplier))).first()
    if found is None:
        raise ApiProblem(404, NOT_HERE)
    return _agreement_rows([found])[0]
