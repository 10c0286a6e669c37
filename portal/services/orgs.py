"""Organisations: creation and the company profile."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.domain.taxid import InvalidTaxId, normalize_tax_id
from portal.errors import ValidationProblem
from portal.extensions import db
from portal.i18n import translate
from portal.models import Organization, OrgKind
from portal.money import CURRENCIES
from portal.services import audit

PROFILE_FIELDS = ("name", "legal_name", "tax_id", "address_line", "postal_code", "city", "country", "currency", "locale")


def _clean(data: dict) -> dict:
    clean = {k: (data.get(k) or "").strip() for k in PROFILE_FIELDS}
    clean["country"] = clean["country"].upper()
    clean["currency"] = clean["currency"].upper()
    if clean["currency"] not in CURRENCIES:
        raise ValidationProblem(_l("Choose PLN or EUR."))
    if clean["locale"] not in ("en", "pl"):
        clean["locale"] = "en"
    try:
        clean["tax_id"] = normalize_tax_id(clean["tax_id"], clean["country"])
    except InvalidTaxId as exc:
        raise ValidationProblem(translate(exc.msg)) from exc
    if not clean["name"] or not clean["legal_name"]:
        raise ValidationProblem(_l("Enter the company's name and legal name."))
    return clean


def tax_id_taken(country: str, tax_id: str, *, except_id: int | None = None) -> bool:
    """Deliberately global: two organisations may not share a tax ID."""
    query = select(Organization.id).where(Organization.country == country, Organization.tax_id == tax_id)
    if except_id is not None:
        query = query.where(Organization.id != except_id)
    return db.session.scalar(query) is not None


def create_organization(*, kind: OrgKind, actor=None, **data) -> Organization:
    """Create a buyer or supplier organisation with a validated, unique tax ID."""
    clean = _clean(data)
    if tax_id_taken(clean["country"], clean["tax_id"]):
        raise ValidationProblem(_l("An organisation with this tax ID is already registered."))
    org = Organization(kind=kind, **clean)
    db.session.add(org)
    db.session.flush()
    return org


def update_profile(org: Organization, *, actor, **data) -> Organization:
    """Update the company profile; the tax ID is validated and stays unique."""
    clean = _clean(data)
    if tax_id_taken(clean["country"], clean["tax_id"], except_id=org.id):
        raise ValidationProblem(_l("An organisation with this tax ID is already registered."))
    before = {k: getattr(org, k) for k in PROFILE_FIELDS}
    for key, value in clean.items():
        setattr(org, key, value)
    changed = {k: [before[k], clean[k]] for k in PROFILE_FIELDS if before[k] != clean[k]}
    if changed:
        audit.record(actor=actor, action="org.updated", obj=org, organization_id=org.id, summary=changed)
    db.session.flush()
    return org
