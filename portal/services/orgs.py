"""Organisations: creation and the company profile."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.domain.messages import N_, Msg
from portal.domain.taxid import InvalidTaxId, normalize_tax_id
from portal.errors import ValidationProblem
from portal.extensions import db
from portal.models import AuditEvent, Organization, OrgKind
from portal.money import is_currency
from portal.services import audit

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
