"""Organisations: creation and the company profile."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import joinedload

from portal.domain.messages import N_, Msg
from portal.domain.taxid import InvalidTaxId, normalize_tax_id
from portal.errors import ValidationProblem
from portal.extensions import db
from portal.models import AuditEvent, Invitation, Organization, OrgKind, SupplierLink
from portal.money import is_currency
from portal.services import audit
from portal.tenancy import SharedDocument, TenantOwned

PROFILE_FIELDS = (
    "name", "legal_name", "tax_id", "address_line", "postal_code", "city", "country", "currency",
    "locale",
)


class TaxIdProblem(ValidationProblem):
    """The tax ID is not valid for the country, or another organisation already uses it."""


def _clean(data: dict) -> dict:
    clean = {k: (data.get(k) or "").strip() for k in PROFILE_FIELDS}
    clean["country"] = clean["country"].upper()
    clean["currency"] = clean["currency"].upper()
    if not is_currency(clean["currency"]):
        raise ValidationProblem(Msg(N_("Choose a currency from the list.")))
    if clean["locale"] not in ("en", "pl"):
        clean["locale"] = "en"
    try:
        clean["tax_id"] = normalize_tax_id(clean["tax_id"], clean["country"])
    except InvalidTaxId as exc:
        raise TaxIdProblem(exc.msg) from exc
    if not clean["name"] or not clean["legal_name"]:
        raise ValidationProblem(Msg(N_("Enter the company's name and legal name.")))
    return clean


def tax_id_taken(country: str, tax_id: str, *, except_id: int | None = None) -> bool:
    """Deliberately global: two organisations may not share a tax ID."""
    query = select(Organization.id).where(
        Organization.country == country, Organization.tax_id == tax_id
    )
    if except_id is not None:
        query = query.where(Organization.id != except_id)
    return db.session.scalar(query) is not None


def create_organization(*, kind: OrgKind, actor=None, **data) -> Organization:
    """Create a buyer or supplier organisation with a validated, unique tax ID."""
    clean = _clean(data)
    if tax_id_taken(clean["country"], clean["tax_id"]):
        raise TaxIdProblem(Msg(N_("An organisation with this tax ID is already registered.")))
    org = Organization(kind=kind, **clean)
    db.session.add(org)
    db.session.flush()
    return org


def update_profile(org: Organization, *, actor, **data) -> Organization:
    """Update the company profile; the tax ID is validated and stays unique."""
    clean = _clean(data)
    if tax_id_taken(clean["country"], clean["tax_id"], except_id=org.id):
        raise TaxIdProblem(Msg(N_("An organisation with this tax ID is already registered.")))
    before = {k: getattr(org, k) for k in PROFILE_FIELDS}
    for key, value in clean.items():
        setattr(org, key, value)
    changed = {k: [before[k], clean[k]] for k in PROFILE_FIELDS if before[k] != clean[k]}
    if changed:
        audit.record(
            actor=actor, action="org.updated", obj=org, organization_id=org.id, summary=changed
        )
    db.session.flush()
    return org


# Audit-log areas an admin filters by, and the action prefix each one means.
AUDIT_AREAS = {"users": "user.", "suppliers": "supplier.", "org": "org."}


def audit_log_query(org: Organization, *, area: str = "") -> Select:
    """The organisation's own audit events, newest first, with their actors joined.

    `area` (users, suppliers, org) narrows to one family of actions; anything else shows all.
    Only events owned by the organisation are listed, not those a partner shares with it.
    """
    query = (
        select(AuditEvent)
        .where(AuditEvent.organization_id == org.id)
        .options(joinedload(AuditEvent.actor), joinedload(AuditEvent.on_behalf_of))
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    )
    prefix = AUDIT_AREAS.get(area)
    if prefix:
        query = query.where(AuditEvent.action.startswith(prefix, autoescape=True))
    return query


# The column that names an audited object, best first (REQ-2026-00042 before its title).
_NAME_COLUMNS = ("number", "name", "full_name", "title", "email", "code")


def _tenant_model(type_name: str):
    for mapper in db.Model.registry.mappers:
        cls = mapper.class_
        if cls.__name__ == type_name and issubclass(cls, TenantOwned | SharedDocument):
            return cls
    return None


def _names_of(type_name: str, ids: set[int], org: Organization) -> dict[int, str]:
    if type_name == "Organization":
        return {org.id: org.name} if org.id in ids else {}
    if type_name == "Invitation":
        rows = db.session.execute(
            select(Invitation.id, Invitation.email, Invitation.company_name)
            .where(Invitation.id.in_(ids))
        )
        return {inv_id: company or email for inv_id, email, company in rows}
    if type_name == "SupplierLink":
        links = db.session.scalars(
            select(SupplierLink)
            .where(SupplierLink.id.in_(ids))
            .options(joinedload(SupplierLink.buyer), joinedload(SupplierLink.supplier))
        )
        return {
            link.id: (link.supplier if link.organization_id == org.id else link.buyer).name
            for link in links
        }
    # Only tenant models: their reads go through the tenant filter.
    model = _tenant_model(type_name)
    columns = model.__mapper__.columns if model is not None else {}
    name_column = next((c for c in _NAME_COLUMNS if c in columns), None)
    if name_column is None:
        return {}
    rows = db.session.execute(
        select(model.id, getattr(model, name_column)).where(model.id.in_(ids))
    )
    return {obj_id: str(name) for obj_id, name in rows if name}


def object_names(events, org: Organization) -> dict[tuple[str, int], str]:
    """A readable name for the object of each event, one query per object type on the page.

    Users by name, invitations by email (or company), the organisation and supplier links by
    company name, other documents by their number or name. Objects the current organisation
    cannot see are left out.
    """
    ids: dict[str, set[int]] = {}
    for event in events:
        ids.setdefault(event.object_type, set()).add(event.object_id)
    names: dict[tuple[str, int], str] = {}
    for type_name, type_ids in ids.items():
        for obj_id, name in _names_of(type_name, type_ids, org).items():
            names[(type_name, obj_id)] = name
    return names


def timeline(org: Organization, limit: int = 50) -> list[AuditEvent]:
    """The latest events about the organisation itself (its profile), oldest first."""
    events = db.session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.organization_id == org.id,
            AuditEvent.object_type == "Organization",
            AuditEvent.object_id == org.id,
        )
        .options(joinedload(AuditEvent.actor), joinedload(AuditEvent.on_behalf_of))
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .limit(limit)
    ).all()
    return list(reversed(events))
