"""Organisations: creation and the company profile."""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.domain.bank import InvalidIban, normalize_iban
from portal.domain.bank import bank_name as lookup_bank_name
from portal.domain.exemption import basis_problem, stored_basis
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
# Changed only when the form sends them: the time zone, and a supplier's bank account and usual
# exemption basis.
SETTINGS_FIELDS = ("time_zone", "iban", "bank_name", "exemption_basis_kind", "exemption_basis")


class TaxIdProblem(ValidationProblem):
    """The tax ID is not valid for the country, or another organisation already uses it."""


class IbanProblem(ValidationProblem):
    """The bank account number is not a valid IBAN (or missing beside a bank's name)."""


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


def _clean_settings(org: Organization, time_zone: str | None, iban: str | None,
                    bank_name: str | None) -> dict:
    """The time zone and (a supplier's) bank account, validated; None leaves a field as it is.

    The IBAN is stored compact; the bank's name, when left empty, is looked up from the IBAN.
    A buying company has no bank account here (nobody pays it through the portal).
    """
    clean = {}
    if time_zone is not None:
        if time_zone.strip() not in time_zones() and time_zone.strip() != org.time_zone:
            raise ValidationProblem(Msg(N_("Choose a time zone from the list.")))
        clean["time_zone"] = time_zone.strip()
    if org.kind != OrgKind.SUPPLIER:
        return clean
    if iban is not None:
        bank = (bank_name if bank_name is not None else org.bank_name or "").strip()
        if not iban.strip():
            if bank_name is not None and bank:
                raise IbanProblem(Msg(N_("Enter the IBAN.")))
            clean.update(iban="", bank_name="")
            return clean
        try:
            clean["iban"] = normalize_iban(iban)
        except InvalidIban as exc:
            raise IbanProblem(exc.msg) from exc
        clean["bank_name"] = bank[:100] or (lookup_bank_name(clean["iban"]) or "")[:100]
    elif bank_name is not None:
        clean["bank_name"] = bank_name.strip()[:100]
    return clean


def _clean_exemption(org: Organization, kind: str | None, text: str | None) -> dict:
    """A supplier's usual exemption basis (copied to its new drafts): both parts or none;
    None leaves it as it is. ValidationProblem (with `.field`) for a malformed one."""
    if org.kind != OrgKind.SUPPLIER or (kind is None and text is None):
        return {}
    kind = org.exemption_basis_kind if kind is None else kind
    text = org.exemption_basis if text is None else text
    found = basis_problem(kind, text, required=bool((text or "").strip()))
    if found is not None:
        exc = ValidationProblem(found[0])
        exc.field = found[1]
        raise exc
    kind, text = stored_basis(kind, text)
    return {"exemption_basis_kind": kind, "exemption_basis": text}


@cache
def time_zones() -> frozenset[str]:
    """The IANA time zones a company may choose (Region/City names)."""
    return frozenset(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))


def update_profile(org: Organization, *, actor, time_zone: str | None = None, iban: str | None = None,
                   bank_name: str | None = None, exemption_basis_kind: str | None = None,
                   exemption_basis: str | None = None, **data) -> Organization:
    """Update the company profile; the tax ID is validated and stays unique. The time zone, a
    supplier's bank account (`iban`, `bank_name`) and usual exemption basis change only when
    given."""
    clean = _clean(data)
    if tax_id_taken(clean["country"], clean["tax_id"], except_id=org.id):
        raise TaxIdProblem(Msg(N_("An organisation with this tax ID is already registered.")))
    clean.update(_clean_settings(org, time_zone, iban, bank_name))
    clean.update(_clean_exemption(org, exemption_basis_kind, exemption_basis))
    fields = [k for k in (*PROFILE_FIELDS, *SETTINGS_FIELDS) if k in clean]
    before = {k: getattr(org, k) for k in fields}
    for key, value in clean.items():
        setattr(org, key, value)
    changed = {k: [before[k], clean[k]] for k in fields if before[k] != clean[k]}
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
