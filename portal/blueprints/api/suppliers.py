"""Supplier links: `GET /suppliers`, `GET /suppliers/{link_id}` (a buying company's suppliers)
and `GET /customers`, `GET /customers/{link_id}` (a supplier's customers).

The pages' rules: a buying company's people see its suppliers ("suppliers.view"; suppliers get
403); a supplier's people see the buyers it is linked to, actively or blocked ("customers.view";
buyers get 403), an invited link is not a customer yet. Both read the same link: the terms the
buyer agreed with the supplier.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.blueprints.api.core import actor, blueprint, requires, sync_page
from portal.blueprints.api.schemas import Amount, ListArgs, Party, Problem, page_of
from portal.blueprints.cache import cached_list
from portal.models import LinkStatus, SupplierLink
from portal.policies import enforce
from portal.services import suppliers

bp = blueprint("suppliers", "Supplier links (a buyer's suppliers) and customers (a supplier's buyers)")

CUSTOMER_STATUSES = (LinkStatus.ACTIVE, LinkStatus.BLOCKED)


class SupplierListArgs(ListArgs):
    status = fields.String(validate=validate.OneOf([s.value for s in LinkStatus]))


class CustomerListArgs(ListArgs):
    status = fields.String(validate=validate.OneOf([s.value for s in CUSTOMER_STATUSES]))


class PaymentTermsInstalmentSchema(Schema):
    percent = fields.String(metadata={"format": "decimal"})
    days = fields.Integer()


class PaymentTermsSchema(Schema):
    """The agreed payment terms, read from `portal.domain.terms.PaymentTerms`."""

    kind = fields.String(metadata={"description": "net (days after the invoice date), eom (days "
                                                  "after the end of its month), discount (net days "
                                                  "with an early-payment discount) or instalments"})
    days = fields.Integer(metadata={"description": "the net term (instalments: the last one's)"})
    discount_percent = fields.String(allow_none=True, metadata={"format": "decimal"})
    discount_days = fields.Integer(allow_none=True)
    instalments = fields.List(fields.Nested(PaymentTermsInstalmentSchema))
    label = fields.Function(lambda terms: str(terms.label()),
                            metadata={"type": "string", "description": "the terms in words (English)"})


class SupplierLinkSchema(Schema):
    id = fields.Integer()
    buyer = fields.Nested(Party)
    supplier = fields.Nested(Party)
    status = fields.String(metadata={"description": "invited, active or blocked"})
    payment_terms = fields.Nested(PaymentTermsSchema)
    currency = fields.String()
    credit_limit = Amount(allow_none=True, metadata={"description": "null: no limit"})
    invoicing = fields.String(metadata={"description": "per_order or monthly"})
    price_tolerance = Amount(metadata={"description": "percent an invoiced unit price may differ"})
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


SupplierLinkPage = page_of(SupplierLinkSchema)


def _parties():
    return (joinedload(SupplierLink.buyer), joinedload(SupplierLink.supplier))


@bp.route("/suppliers", methods=["GET"])
@requires("suppliers")
@cached_list
@bp.arguments(SupplierListArgs, location="query")
@bp.response(200, SupplierLinkPage)
@bp.alt_response(403, schema=Problem, description="Suppliers have no suppliers")
@bp.alt_response(422, schema=Problem, description="A filter or the cursor is not valid")
def list_suppliers(args):
    """The buying company's supplier links, oldest change first."""
    user = actor()
    enforce(user, "suppliers.view")
    query = select(SupplierLink).where(SupplierLink.organization_id == user.organization_id)
    if args.get("status"):
        query = query.where(SupplierLink.status == LinkStatus(args["status"]))
    return sync_page(query.options(*_parties()), SupplierLink, args)


@bp.route("/suppliers/<int:link_id>", methods=["GET"])
@requires("suppliers")
@bp.response(200, SupplierLinkSchema)
@bp.alt_response(403, schema=Problem, description="Suppliers have no suppliers")
@bp.alt_response(404, schema=Problem, description="No such supplier link of the organisation")
def get_supplier(link_id: int):
    """One supplier link with its terms."""
    user = actor()
    enforce(user, "suppliers.view")
    return suppliers.get_link(user, link_id)


@bp.route("/customers", methods=["GET"])
@requires("suppliers")
@cached_list
@bp.arguments(CustomerListArgs, location="query")
@bp.response(200, SupplierLinkPage)
@bp.alt_response(403, schema=Problem, description="Buyers have no customers")
@bp.alt_response(422, schema=Problem, description="A filter or the cursor is not valid")
def list_customers(args):
    """The supplier's customers (its active and blocked links), oldest change first."""
    user = actor()
    enforce(user, "customers.view")
    # From the supplier's own index; the tenant filter admits its active and blocked links.
    query = select(SupplierLink).where(SupplierLink.supplier_id == user.organization_id,
                                       SupplierLink.status.in_(CUSTOMER_STATUSES))
    if args.get("status"):
        query = query.where(SupplierLink.status == LinkStatus(args["status"]))
    return sync_page(query.options(*_parties()), SupplierLink, args)


@bp.route("/customers/<int:link_id>", methods=["GET"])
@requires("suppliers")
@bp.response(200, SupplierLinkSchema)
@bp.alt_response(403, schema=Problem, description="Buyers have no customers")
@bp.alt_response(404, schema=Problem, description="No such customer of the organisation")
def get_customer(link_id: int):
    """One customer link with the terms the buyer agreed."""
    user = actor()
    enforce(user, "customers.view")
    return suppliers.get_customer_link(user, link_id)
