"""Price-list proposals: a supplier uploads a CSV of new prices for one customer; the
customer's admin accepts or rejects each line (an accepted line becomes a price agreement,
ending the agreement it replaces the day before).

Reads rely on the session's tenant scope; writes take the actor explicitly and flush; the
caller commits (and rolls back when a function raises: nothing of a refused call is kept).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload, selectinload

from portal.domain.catalog import CsvFileProblem, decode_csv, detect_delimiter
from portal.domain.csvfile import parse_decimal
from portal.domain.messages import N_, Link, Msg
from portal.errors import NotFound, ValidationProblem
from portal.extensions import db
from portal.models import (
    Item,
    LineDecision,
    PriceAgreement,
    PriceProposal,
    PriceProposalLine,
    ProposalStatus,
    SupplierLink,
)
from portal.models.base import utcnow
from portal.money import is_currency
from portal.policies import enforce
from portal.services import audit
from portal.services.agreements import AgreementFields, create_agreement, update_agreement
from portal.services.catalog import FieldProblem
from portal.services.notifications import notify_organization
from portal.services.paging import LIST_PER_PAGE, Key, KeysetPage, Order, count_upto, keyset
from portal.tenancy import ALL_TENANTS

MAX_BYTES = 1024 * 1024
MAX_ROWS = 2000
PART_NUMBER_MAX = 60

COLUMNS = ("sku", "unit_price", "currency", "valid_from", "valid_to", "supplier_part_number",
           "lead_time_days")
REQUIRED = ("sku", "unit_price", "currency", "valid_from")
# Polish headers (and a few spellings people type) → the column.
ALIASES = {
    "indeks": "sku", "kod": "sku",
    "cena": "unit_price", "cena_jednostkowa": "unit_price", "cena_netto": "unit_price",
    "waluta": "currency",
    "ważna_od": "valid_from", "wazna_od": "valid_from", "obowiązuje_od": "valid_from",
    "od": "valid_from",
    "ważna_do": "valid_to", "wazna_do": "valid_to", "obowiązuje_do": "valid_to", "do": "valid_to",
    "numer_dostawcy": "supplier_part_number", "nr_katalogowy": "supplier_part_number",
    "indeks_dostawcy": "supplier_part_number",
    "czas_dostawy": "lead_time_days", "termin_dostawy_dni": "lead_time_days",
    "czas_dostawy_dni": "lead_time_days",
}
TEMPLATE = ",".join(COLUMNS) + "\r\n"


@dataclass(frozen=True)
class RowProblem:
    """One problem of one row: `row` counts as a spreadsheet does (the header is row 1)."""

    row: int
    column: str
    msg: Msg


class ProposalRefused(ValidationProblem):
    """The file was refused whole; `problems` says which rows and columns, in file order."""

    def __init__(self, message: Msg, problems: list[RowProblem] | None = None):
        super().__init__(message)
        self.problems = problems or []


class DecisionRefused(ValidationProblem):
    """Some decisions were refused; `problems` maps line id → why. Nothing was decided."""

    def __init__(self, problems: dict[int, Msg]):
        super().__init__(Msg(N_("Some lines could not be decided: see the messages beside them.")))
        self.problems = problems


@dataclass
class ParsedRow:
    row: int
    sku: str
    unit_price: Decimal
    currency: str
    valid_from: date
    valid_to: date | None
    supplier_part_number: str = ""
    lead_time_days: int | None = None
    item: Item | None = field(default=None, repr=False)


def _column(name: str) -> str:
    key = name.strip().lower().replace(" ", "_").replace("-", "_")
    return ALIASES.get(key, key)


def _date(value: str) -> date:
    value = value.strip()
    for sep in (".", "/"):
        if sep in value:
            parts = value.split(sep)
            if len(parts) == 3 and len(parts[2]) == 4:  # 31.12.2026 (Polish Excel)
                return date(int(parts[2]), int(parts[1]), int(parts[0]))
    return date.fromisoformat(value)


def parse(data: bytes, *, max_rows: int = MAX_ROWS
          ) -> tuple[list[ParsedRow], list[RowProblem], list[tuple[int, str]]]:
    """The good rows of a price-list CSV, the problems of its values, and every row's SKU (not
    yet checked against a catalog). Raises ProposalRefused for a file that cannot be read."""
    if len(data) > MAX_BYTES:
        raise ProposalRefused(Msg(N_("The file is larger than 1 MB. Split it into smaller files.")))
    try:
        text = decode_csv(data)
    except CsvFileProblem as exc:
        raise ProposalRefused(exc.msg) from exc
    if not text.strip():
        raise ProposalRefused(Msg(N_("The file is empty.")))
    delimiter = detect_delimiter(text.split("\n", 1)[0])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [_column(h) for h in next(reader)]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ProposalRefused(Msg(N_("Missing columns: %(columns)s."),
                                  {"columns": ", ".join(missing)}))
    rows: list[ParsedRow] = []
    problems: list[RowProblem] = []
    skus: list[tuple[int, str]] = []
    seen: dict[tuple[str, str], int] = {}
    for number, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(rows) + len(problems) >= max_rows:
            raise ProposalRefused(Msg(N_("The file has more than %(n)s rows."), {"n": max_rows}))
        values = {name: (cells[i].strip() if i < len(cells) else "")
                  for i, name in enumerate(header)}
        before = len(problems)

        def bad(column, text, params=None, _n=number):
            problems.append(RowProblem(_n, column, Msg(text, params or {})))

        sku = values.get("sku", "")
        if not sku:
            bad("sku", N_("Enter the SKU."))
        else:
            skus.append((number, sku))
        price = None
        try:
            price = parse_decimal(values.get("unit_price", ""))
        except ValueError:
            bad("unit_price", N_("“%(value)s” is not a number."), {"value": values["unit_price"]})
        else:
            if price is None:
                bad("unit_price", N_("Enter the unit price."))
            elif price <= 0:
                bad("unit_price", N_("The price must be more than zero."))
            elif price.as_tuple().exponent < -4:
                bad("unit_price", N_("At most 4 decimal places."))
        currency = values.get("currency", "").upper()
        if not is_currency(currency):
            bad("currency", N_("Unknown currency “%(value)s”."), {"value": values.get("currency", "")})
        start = end = None
        try:
            start = _date(values.get("valid_from", ""))
        except ValueError:
            bad("valid_from", N_("Enter a date as YYYY-MM-DD."))
        if values.get("valid_to"):
            try:
                end = _date(values["valid_to"])
            except ValueError:
                bad("valid_to", N_("Enter a date as YYYY-MM-DD."))
        if start and end and end < start:
            bad("valid_to", N_("The end is before the start."))
        lead = None
        if values.get("lead_time_days"):
            try:
                lead = int(values["lead_time_days"])
                if lead < 0:
                    raise ValueError
            except ValueError:
                bad("lead_time_days", N_("Enter a whole number of days (0 or more)."))
        part = " ".join(values.get("supplier_part_number", "").split())
        if len(part) > PART_NUMBER_MAX:
            bad("supplier_part_number", N_("At most %(max)s characters."), {"max": PART_NUMBER_MAX})
        if sku and currency:
            key = (sku.casefold(), currency)
            if key in seen:
                bad("sku", N_("%(sku)s in %(currency)s is already in row %(row)s."),
                    {"sku": sku, "currency": currency, "row": seen[key]})
            else:
                seen[key] = number
        if len(problems) == before:
            rows.append(ParsedRow(number, sku, price, currency, start, end, part, lead))
    return rows, problems, skus


def _buyer_items(buyer_id: int, skus) -> dict[str, Item]:
    """The buyer's active catalog items with these SKUs (case-insensitive). A deliberate
    cross-tenant read for the supplier, confined to the buyer's items with the SKUs it names."""
    wanted = {s.casefold() for s in skus}
    if not wanted:
        return {}
    found = {}
    for item in db.session.scalars(
        select(Item).where(Item.organization_id == buyer_id, Item.sku.in_(
            {s for s in skus} | {s.upper() for s in skus} | {s.lower() for s in skus}))
        .execution_options(**ALL_TENANTS)
    ):
        if item.sku.casefold() in wanted and item.is_active:
            found[item.sku.casefold()] = item
    return found


def _current(link_id: int, item_id: int, currency: str, day: date) -> PriceAgreement | None:
    return db.session.scalars(
        select(PriceAgreement).where(
            PriceAgreement.link_id == link_id, PriceAgreement.item_id == item_id,
            PriceAgreement.currency == currency, PriceAgreement.valid_from <= day,
            or_(PriceAgreement.valid_to.is_(None), PriceAgreement.valid_to >= day))
        .order_by(PriceAgreement.valid_from.desc()).limit(1)
    ).first()


def propose(link: SupplierLink, actor, *, filename: str, data: bytes, note: str = "",
            today: date | None = None) -> PriceProposal:
    """The supplier (`actor`) proposes the prices of a CSV file to the customer of `link` (its
    own link, active). Every row must name an active item of the customer by SKU, a price above
    zero, a known currency and valid dates, each SKU and currency once: a file with any bad row
    raises ProposalRefused listing the problems, and nothing is saved. The customer's admins
    are told."""
    enforce(actor, "price_proposals.propose", link)
    if link.supplier_id != actor.organization_id:
        raise NotFound(Msg(N_("There is no such customer.")))
    rows, problems, skus = parse(data)
    items = _buyer_items(link.organization_id, [sku for _n, sku in skus])
    for number, sku in skus:
        if sku.casefold() not in items:
            problems.append(RowProblem(number, "sku", Msg(
                N_("%(sku)s is not in this customer's catalog."), {"sku": sku})))
    for row in rows:
        row.item = items.get(row.sku.casefold())
    if problems:
        problems.sort(key=lambda p: p.row)
        raise ProposalRefused(Msg(N_("The file was not accepted: correct the rows below and "
                                     "upload it again.")), problems)
    if not rows:
        raise ProposalRefused(Msg(N_("The file has no prices.")))
    day = today or utcnow().date()
    proposal = PriceProposal(
        organization_id=link.organization_id, supplier_id=link.supplier_id, link_id=link.id,
        status=ProposalStatus.OPEN, note=(note or "").strip()[:2000],
        filename=(filename or "")[:200], submitted_by_id=actor.id)
    for row in rows:
        current = _current(link.id, row.item.id, row.currency, max(day, row.valid_from))
        proposal.lines.append(PriceProposalLine(
            item_id=row.item.id, sku=row.item.sku, supplier_part_number=row.supplier_part_number,
            unit_price=row.unit_price, currency=row.currency, valid_from=row.valid_from,
            valid_to=row.valid_to, lead_time_days=row.lead_time_days, tiers=[],
            current_agreement_id=current.id if current else None,
            current_price=current.unit_price if current else None))
    db.session.add(proposal)
    db.session.flush()
    audit.record(actor=actor, action="agreement.proposed", obj=proposal,
                 summary={"lines": len(rows), "filename": proposal.filename})
    notify_organization(
        link.organization_id,
        N_("%(supplier)s proposed new prices for %(count)s items."),
        roles=["admin"], link=Link("agreements.proposal", {"proposal_id": proposal.id}),
        kind="agreement", supplier=actor.organization.name, count=len(rows))
    return proposal


def withdraw(proposal: PriceProposal, actor) -> PriceProposal:
    """The supplier takes back its open proposal."""
    enforce(actor, "price_proposals.withdraw", proposal)
    proposal.status = ProposalStatus.WITHDRAWN
    proposal.updated_at = utcnow()
    db.session.flush()
    audit.record(actor=actor, action="agreement.proposal_withdrawn", obj=proposal,
                 summary={"lines": len(proposal.lines), "filename": proposal.filename})
    return proposal


def _end_overlapping(actor, line: PriceProposalLine, link_id: int) -> None:
    """End (the day before the new start) the agreements of this item that started earlier
    and would still run on the new start."""
    rows = db.session.scalars(
        select(PriceAgreement).where(
            PriceAgreement.link_id == link_id, PriceAgreement.item_id == line.item_id,
            PriceAgreement.currency == line.currency,
            PriceAgreement.valid_from < line.valid_from,
            or_(PriceAgreement.valid_to.is_(None), PriceAgreement.valid_to >= line.valid_from))
        .options(joinedload(PriceAgreement.item))
    ).all()
    for agreement in rows:
        update_agreement(actor, agreement, AgreementFields(
            unit_price=agreement.unit_price, currency=agreement.currency,
            valid_from=agreement.valid_from, valid_to=line.valid_from - timedelta(days=1),
            tiers=agreement.tier_list, supplier_part_number=agreement.supplier_part_number,
            lead_time_days=agreement.lead_time_days))


def decide(proposal: PriceProposal, actor, *, decisions: dict[int, tuple[bool, str]]
           ) -> PriceProposal:
    """The buyer's admin accepts or rejects lines of an open proposal: `decisions` maps a line
    id to (accept, reason). Accepting creates the price agreement (ending the one it replaces
    the day before its start); rejecting needs a reason; a decided line is final. When no line
    is pending the proposal is decided. Raises DecisionRefused (line id → why); the caller
    rolls back then. The supplier is told what was accepted and rejected."""
    enforce(actor, "price_proposals.decide", proposal)
    lines = {line.id: line for line in proposal.lines}
    problems: dict[int, Msg] = {}
    for line_id, (accept, reason) in decisions.items():
        line = lines.get(line_id)
        if line is None:
            raise NotFound(Msg(N_("There is no such line.")))
        if line.decision != LineDecision.PENDING:
            problems[line_id] = Msg(N_("This line has been decided already."))
        elif not accept and not (reason or "").strip():
            problems[line_id] = Msg(N_("Say why you reject this price."))
    if problems:
        raise DecisionRefused(problems)
    accepted, rejected = [], []
    for line_id, (accept, reason) in decisions.items():
        line = lines[line_id]
        if accept:
            try:
                _end_overlapping(actor, line, proposal.link_id)
                agreement = create_agreement(actor, AgreementFields(
                    unit_price=line.unit_price, currency=line.currency,
                    valid_from=line.valid_from, valid_to=line.valid_to,
                    supplier_part_number=line.supplier_part_number,
                    lead_time_days=line.lead_time_days, link_id=proposal.link_id,
                    item_sku=line.sku))
            except FieldProblem as exc:
                problems[line_id] = exc.msg
                continue
            line.decision = LineDecision.ACCEPTED
            line.agreement_id = agreement.id
            line.decision_reason = (reason or "").strip()
            accepted.append(line.sku)
        else:
            line.decision = LineDecision.REJECTED
            line.decision_reason = reason.strip()
            rejected.append(line.sku)
    if problems:
        raise DecisionRefused(problems)
    if all(line.decision != LineDecision.PENDING for line in proposal.lines):
        proposal.status = ProposalStatus.DECIDED
        proposal.decided_at = utcnow()
        proposal.decided_by_id = actor.id
    proposal.updated_at = utcnow()
    db.session.flush()
    if accepted or rejected:
        audit.record(actor=actor, action="agreement.proposal_decided", obj=proposal,
                     summary={"accepted": accepted, "rejected": rejected})
        notify_organization(
            proposal.supplier_id,
            N_("%(customer)s decided your proposed prices: %(accepted)s accepted, "
               "%(rejected)s rejected."),
            link=Link("supplier.proposal", {"proposal_id": proposal.id}), kind="agreement",
            customer=actor.organization.name, accepted=len(accepted), rejected=len(rejected))
    return proposal


# --- reading ------------------------------------------------------------------------------------

NEWEST = Order("price_proposals", Key(PriceProposal.created_at, descending=True),
               Key(PriceProposal.id, descending=True))


def list_proposals(*, status: str = "", cursor: str | None = None,
                   per_page: int = LIST_PER_PAGE) -> KeysetPage:
    """The buying company's proposals (or the supplier's own), newest first, by status."""
    stmt = select(PriceProposal).options(joinedload(PriceProposal.supplier))
    if status:
        stmt = stmt.where(PriceProposal.status == status)
    return keyset(stmt, NEWEST, cursor=cursor, per_page=per_page)


def list_for_link(link: SupplierLink, *, cursor: str | None = None,
                  per_page: int = LIST_PER_PAGE) -> KeysetPage:
    """The supplier's proposals to one customer, newest first."""
    stmt = select(PriceProposal).where(PriceProposal.supplier_id == link.supplier_id,
                                       PriceProposal.link_id == link.id)
    return keyset(stmt, NEWEST, cursor=cursor, per_page=per_page)


def open_count(cap: int = 99) -> int:
    """How many open proposals the buying company has (bounded)."""
    return count_upto(select(PriceProposal.id).where(
        PriceProposal.status == ProposalStatus.OPEN), cap)


def get_proposal(proposal_id: int) -> PriceProposal:
    """A proposal the current organisation may see, with its lines; NotFound otherwise."""
    found = db.session.scalars(
        select(PriceProposal).where(PriceProposal.id == proposal_id)
        .options(joinedload(PriceProposal.supplier), joinedload(PriceProposal.link),
                 selectinload(PriceProposal.lines))
    ).first()
    if found is None:
        raise NotFound(Msg(N_("There is no such proposal.")))
    return found


def item_names(proposal: PriceProposal) -> dict[int, str]:
    """Item id → name for the proposal's lines (the buyer's catalog; for the supplier a
    deliberate read confined to those items)."""
    ids = {line.item_id for line in proposal.lines}
    if not ids:
        return {}
    return {row.id: row.name for row in db.session.execute(
        select(Item.id, Item.name).where(Item.id.in_(ids),
                                         Item.organization_id == proposal.organization_id)
        .execution_options(**ALL_TENANTS))}


def change_percent(line: PriceProposalLine) -> Decimal | None:
    """The proposed price against the current agreed one, in % (one decimal), or None."""
    if not line.current_price:
        return None
    return ((Decimal(line.unit_price) - Decimal(line.current_price)) * 100
            / Decimal(line.current_price)).quantize(Decimal("0.1"))
