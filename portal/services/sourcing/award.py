"""Comparing an RFQ's quotes and awarding it: the matrix, its budget impact, the award (one
purchase order per winning supplier) and the CSV export.

The quotes are read only through `quote_reads.submitted_quotes` (never a draft; refused while a
sealed RFQ is unopened); the arithmetic and the award rules are `portal.domain.award`'s; the
orders are issued by `portal.services.orders.issue.issue_order`, which numbers them, converts
the requisitions' budget reservation into a commitment and stores the PDF.

Reads rely on the session's tenant scope; `award` takes the actor explicitly, flushes, and
leaves the commit to its caller (one transaction: a refusal anywhere, a budget refusal
included, leaves nothing written).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from portal.domain import agreements as agreement_rules
from portal.domain import award as rules
from portal.domain import rfq as rfq_rules
from portal.domain.award import AwardProblem, BudgetImpact, LineIn, Matrix, Offer, OfferLine, Source
from portal.domain.csvfile import write_csv
from portal.domain.messages import N_, Link, Msg
from portal.domain.vat import code_for_rate
from portal.errors import InvalidTransition
from portal.extensions import db
from portal.models import Requisition
from portal.models.order import OrderSource, PurchaseOrder
from portal.models.rfq import (
    InvitationStatus,
    Quote,
    QuoteStatus,
    Rfq,
    RfqAward,
    RfqInvitation,
    RfqLine,
    RfqStatus,
)
from portal.money import Money
from portal.policies import enforce
from portal.services import audit, budgets, clock
from portal.services.agreements import agreed_prices
from portal.services.locks import lock_row
from portal.services.notifications import notify_organization
from portal.services.sourcing.quote_reads import submitted_quotes
from portal.services.sourcing.rfq_drafting import mirror_on_invitations

__all__ = ["AwardProblem", "Comparison", "award", "award_impact", "compare", "comparison",
           "comparison_csv", "existing_awards", "orders_of"]


# ---------------------------------------------------------------- reading


def _lines(rfq: Rfq) -> list[RfqLine]:
    return list(db.session.scalars(
        select(RfqLine).where(RfqLine.rfq_id == rfq.id)
        .options(joinedload(RfqLine.item), joinedload(RfqLine.requisition_line))
        .order_by(RfqLine.position, RfqLine.id)))


def _agreed(lines: list[RfqLine], currency: str, day) -> dict[int, tuple[Decimal, str]]:
    """RFQ line id -> (agreed unit price for its quantity, supplier name), in the RFQ's currency."""
    items = {ln.item.id: ln.item for ln in lines if ln.item is not None}
    found = agreed_prices(items.values(), day=day)
    agreed = {}
    for line in lines:
        agreement = found.get(line.item_id) if line.item_id else None
        if agreement is not None and agreement.currency == currency:
            agreed[line.id] = (agreement_rules.price_for(agreement, line.quantity),
                               agreement.supplier.name)
    return agreed


def _matrix(rfq: Rfq, lines: list[RfqLine], quotes: list[Quote], now: datetime) -> Matrix:
    agreed = _agreed(lines, rfq.currency, now.date())
    line_values = [
        LineIn(ln.id, ln.position, ln.description, ln.quantity, ln.unit,
               requisition_id=ln.requisition_line.requisition_id if ln.requisition_line else None,
               agreed_price=agreed.get(ln.id, (None, ""))[0],
               agreed_supplier=agreed.get(ln.id, (None, ""))[1])
        for ln in lines
    ]
    offers = [
        Offer(q.id, q.supplier.name, {
            ql.rfq_line_id: OfferLine(ql.unit_price, ql.lead_time_days, ql.delivery_date,
                                      ql.alternative or "", ql.note or "")
            for ql in q.lines
        }, reference=q.supplier_reference or "", valid_until=q.valid_until,
            freight=q.freight or Decimal(0), other_charges=q.other_charges or Decimal(0),
            charges_note=q.charges_note or "", supplier_id=q.supplier_id)
        for q in quotes
    ]
    return rules.build_matrix(rfq.currency, line_values, offers)


def comparison(rfq: Rfq, *, now: datetime | None = None) -> Matrix:
    """The comparison matrix of `rfq`'s submitted quotes (lines × suppliers; see
    `portal.domain.award.build_matrix`), with the price agreed for each catalog line where an
    agreement of an active supplier applies today in the RFQ's currency.

    Raises SealedQuotes (a PermissionDenied) while a sealed RFQ is not opened. A fixed number of
    queries, however many lines and suppliers."""
    now = now or clock.now()
    quotes = submitted_quotes(rfq, now=now)
    return _matrix(rfq, _lines(rfq), quotes, now)


def _sources(lines: list[RfqLine]) -> list[Source]:
    """The requisitions `lines` came from: what each holds reserved, its budget's available
    amount, and its lines' estimates (what an order of part of it takes over)."""
    estimates: dict[int, dict[int, Decimal]] = {}
    for line in lines:
        if line.requisition_line is not None:
            estimates.setdefault(line.requisition_line.requisition_id, {})[line.id] = \
                line.requisition_line.net
    if not estimates:
        return []
    reqs = db.session.scalars(select(Requisition).where(Requisition.id.in_(estimates))
                              .options(selectinload(Requisition.lines))
                              .order_by(Requisition.id)).all()
    sources = []
    for req in reqs:
        budget, held = budgets.budget_and_reservation(req)
        sources.append(Source(
            req.id, req.number, held, budget_id=budget.id if budget else None,
            budget_label=budget.name if budget else "",
            available_before=budgets.balances_of(budget).available if budget else None,
            estimates=estimates[req.id], whole=len(req.lines) == len(estimates[req.id])))
    return sources


def _impact(matrix: Matrix, lines: list[RfqLine],
            choices: Mapping[int, int] | None = None) -> BudgetImpact | None:
    choices = dict(choices or matrix.default_choices())
    # The reasons are not needed for the impact: it is shown while the buyer still types them.
    try:
        chosen = rules.check_award(matrix, choices, dict.fromkeys(choices, "-"))
    except AwardProblem:
        return None
    return rules.budget_impact(matrix.currency, chosen, _sources(lines))


def award_impact(rfq: Rfq, matrix: Matrix,
                 choices: Mapping[int, int] | None = None) -> BudgetImpact | None:
    """What awarding `choices` (default: each line to its best price) does to the reservations
    of the requisitions the lines came from (`portal.domain.award.budget_impact`); None when the
    choices are not a valid award."""
    return _impact(matrix, _lines(rfq), choices)


@dataclass(frozen=True)
class Comparison:
    """What the comparison page shows: the RFQ, the matrix (None while sealed and unopened),
    the budget impact of the pre-selected award, and whether the RFQ may be awarded now."""

    rfq: Rfq
    matrix: Matrix | None
    impact: BudgetImpact | None
    sealed: bool
    awardable: bool
    may_open: bool
    # The quotes compared (notes, validity, charges, offer documents), once prices are visible.
    quotes: tuple[Quote, ...] = ()


def compare(rfq: Rfq, *, now: datetime | None = None,
            choices: Mapping[int, int] | None = None) -> Comparison:
    """The comparison page's data (see `Comparison`): a sealed unopened RFQ gives no matrix
    (and says whether it may be opened now) instead of raising."""
    now = now or clock.now()
    if not rfq_rules.buyer_sees_prices(rfq, now):
        return Comparison(rfq, None, None, True, False, rfq_rules.may_open(rfq, now))
    lines = _lines(rfq)
    quotes = submitted_quotes(rfq, now=now)
    matrix = _matrix(rfq, lines, quotes, now)
    impact = _impact(matrix, lines, choices) if matrix.columns else None
    return Comparison(rfq, matrix, impact, False,
                      rfq_rules.awaiting_award(rfq, now) and bool(matrix.columns), False, tuple(quotes))


def quote_document(rfq: Rfq, quote_id: int, file_id: int, *, now: datetime | None = None):
    """An offer document of a quote the buyer may read (submitted, the RFQ's prices visible),
    or None: a sealed RFQ's documents stay closed like its prices, a draft's are never shown."""
    now = now or clock.now()
    if not rfq_rules.buyer_sees_prices(rfq, now):
        return None
    quote = next((q for q in submitted_quotes(rfq, now=now) if q.id == quote_id), None)
    if quote is None:
        return None
    return next((a for a in quote.attachments if a.id == file_id), None)


def existing_awards(rfq: Rfq) -> list[RfqAward]:
    """The RFQ's award decisions (after the award), by line."""
    return list(db.session.scalars(
        select(RfqAward).where(RfqAward.rfq_id == rfq.id)
        .options(joinedload(RfqAward.quote).joinedload(Quote.supplier))
        .order_by(RfqAward.rfq_line_id)))


def orders_of(rfq: Rfq) -> list[PurchaseOrder]:
    """The purchase orders an award of `rfq` issued, by number."""
    return list(db.session.scalars(
        select(PurchaseOrder).where(PurchaseOrder.rfq_id == rfq.id)
        .options(joinedload(PurchaseOrder.supplier)).order_by(PurchaseOrder.number)))


# ---------------------------------------------------------------- awarding


def _refuse_state(rfq: Rfq, now: datetime) -> None:
    if str(rfq.status) == rfq_rules.AWARDED:
        raise InvalidTransition(Msg(N_("This RFQ has already been awarded.")))
    if not rfq_rules.awaiting_award(rfq, now):
        if str(rfq.status) == rfq_rules.OPEN:
            raise InvalidTransition(Msg(N_(
                "Quoting is still open: an RFQ can be awarded after its deadline.")))
        raise InvalidTransition(Msg(N_("Only a closed RFQ can be awarded; this one is %(status)s."),
                                    {"status": rfq_rules.status_word(rfq.status)}))
    if not rfq_rules.buyer_sees_prices(rfq, now):
        raise InvalidTransition(Msg(N_("Open the sealed quotes before you award the RFQ.")))


def _delivery(quote_line, now: datetime):
    if quote_line.delivery_date is not None:
        return quote_line.delivery_date
    if quote_line.lead_time_days is not None:
        return now.date() + timedelta(days=quote_line.lead_time_days)
    return None


def award(rfq: Rfq, actor, *, choices, reasons: Mapping[int, str] | None = None,
          now: datetime | None = None, credit_override_reason: str | None = None) -> list[PurchaseOrder]:
    """Award `rfq`: `choices` maps each RFQ line id to the winning quote id (every line that
    any supplier priced; one supplier for all lines is the whole award), `reasons` explains
    each line not given to its best price.

    Creates an RfqAward per line, issues one purchase order per winning supplier through
    `issue_order` (prices and delivery dates from the quote, lines from the RFQ, the supplier's
    charges as the order's freight), marks quotes and invitations awarded or lost, tells the
    winners which lines they won and the order that follows, thanks the others (no prices, no
    names), moves the RFQ to awarded and audits rfq.awarded. `issue_order` moves each
    requisition whose every line is now ordered to ordered (once).

    Raises PermissionDenied for a role that may not award; InvalidTransition when the RFQ is
    already awarded, still open for quotes, cancelled, or sealed and unopened; AwardProblem
    (per line) for an invalid award; BudgetExceeded from `issue_order` when the budget's
    policy blocks the commitment; CreditLimitExceeded from `issue_order` when an order takes the
    buyer over a supplier's credit limit and no admin gave `credit_override_reason`. Nothing is
    written when it raises."""
    from portal.services.orders.issue import OrderLineInput, issue_order

    now = now or clock.now()
    enforce(actor, "rfqs.award")
    # Under the RFQ's row lock, read again: of two awards at the same moment (a double click)
    # the second waits, then sees the RFQ awarded and is refused.
    lock_row(rfq)
    db.session.refresh(rfq)
    _refuse_state(rfq, now)
    enforce(actor, "rfqs.award", rfq)
    lines = _lines(rfq)
    quotes = submitted_quotes(rfq, now=now)
    matrix = _matrix(rfq, lines, quotes, now)
    decided = rules.check_award(matrix, choices, reasons)
    rfq.status = RfqStatus.AWARDED
    rfq.awarded_at = now
    rfq.closed_at = rfq.closed_at or now

    rfq_lines = {ln.id: ln for ln in lines}
    quotes_by_id = {q.id: q for q in quotes}
    invitations = {i.id: i for i in db.session.scalars(
        select(RfqInvitation).where(RfqInvitation.rfq_id == rfq.id)
        .options(joinedload(RfqInvitation.link)))}
    orders: list[PurchaseOrder] = []
    awards: list[RfqAward] = []
    for quote_id, won in decided.by_quote().items():
        quote = quotes_by_id[quote_id]
        quote_lines = {ql.rfq_line_id: ql for ql in quote.lines}
        order_lines = []
        for awarded in won:
            line, quote_line = rfq_lines[awarded.row.line.id], quote_lines[awarded.row.line.id]
            order_lines.append(OrderLineInput(
                description=line.description, quantity=line.quantity, unit=line.unit,
                unit_price=awarded.cell.unit_price, vat_code=code_for_rate(line.vat_rate).code,
                item_id=line.item_id, requisition_line_id=line.requisition_line_id,
                rfq_line_id=line.id, delivery_date=_delivery(quote_line, now)))
            awards.append(RfqAward(
                organization_id=rfq.organization_id, rfq_id=rfq.id, rfq_line_id=line.id,
                quote_id=quote.id, quote_line_id=quote_line.id,
                unit_price=awarded.cell.unit_price, reason=awarded.reason,
                awarded_by_id=actor.id))
        dates = [ol.delivery_date for ol in order_lines if ol.delivery_date is not None]
        order = issue_order(
            actor, link=invitations[quote.invitation_id].link, source=OrderSource.RFQ,
            lines=order_lines, rfq=rfq, quote=quote, currency=rfq.currency,
            delivery_date=max(dates) if dates else rfq.needed_by,
            delivery_address=rfq.delivery_address or "",
            freight=won[0].column.charges, now=now, credit_override_reason=credit_override_reason)
        orders.append(order)
        by_rfq_line = {ol.rfq_line_id: ol.id for ol in order.lines}
        for record in awards[-len(won):]:
            record.order_line_id = by_rfq_line.get(record.rfq_line_id)
    db.session.add_all(awards)

    winners = set(decided.by_quote())
    for quote in quotes:
        quote.status = QuoteStatus.AWARDED if quote.id in winners else QuoteStatus.LOST
    winning_invitations = {quotes_by_id[q].invitation_id for q in winners}
    mirror_on_invitations(rfq, invitations.values())
    for invitation in invitations.values():
        if invitation.id in winning_invitations:
            invitation.status = InvitationStatus.AWARDED
        elif invitation.status == InvitationStatus.QUOTED:
            invitation.status = InvitationStatus.LOST
    db.session.flush()

    total = decided.total(rfq.currency)
    audit.record(actor=actor, action="rfq.awarded", obj=rfq, summary={
        "orders": [o.number for o in orders],
        "suppliers": [quotes_by_id[q].supplier.name for q in winners],
        "lines": len(decided.lines),
        "total": Money(total, rfq.currency),
        "not_cheapest": [a.row.line.position for a in decided.lines if not a.cheapest],
    })
    _tell_suppliers(rfq, quotes, decided, orders, lines)
    db.session.flush()
    return orders


def _tell_suppliers(rfq: Rfq, quotes: list[Quote], decided, orders, lines) -> None:
    """Winners learn how many lines they won and the order number; the others are thanked.
    Nobody learns a competitor's name, price or how many there were."""
    grouped = decided.by_quote()
    by_quote = {o.quote_id: o for o in orders}
    for quote in quotes:
        if quote.id in grouped:
            order = by_quote.get(quote.id)
            notify_organization(
                quote.supplier_id,
                N_("Your quote for %(rfq)s (%(title)s) won %(won)s of %(lines)s lines; "
                   "purchase order %(order)s follows."),
                link=Link("supplier.order", {"order_id": order.id}) if order else None,
                kind="rfq", rfq=rfq.number, title=rfq.title, won=len(grouped[quote.id]),
                lines=len(lines), order=order.number if order else "")
        else:
            notify_organization(
                quote.supplier_id,
                N_("Thank you for your quote for %(rfq)s (%(title)s). This time the order "
                   "went to another offer; we look forward to your next one."),
                kind="rfq", rfq=rfq.number, title=rfq.title)


# ---------------------------------------------------------------- export


def comparison_csv(matrix: Matrix, *, separator: str = ",", decimal_mark: str = ".",
                   as_text=str) -> str:
    """The matrix as CSV: a header row, one row per line (its agreed price and best price, then
    per supplier the unit price, line net, lead time, delivery date and whether it is the best
    price), then rows for the lines' total, freight, other charges, grand total, validity and
    partial quotes. Amounts are plain decimals; every cell is formula-safe (`write_csv`).
    `as_text` renders the header's messages (the view passes the reader's translation)."""
    header: list = [Msg(N_("Line")), Msg(N_("Description")), Msg(N_("Quantity")), Msg(N_("Unit")),
                    Msg(N_("Agreed unit price")), Msg(N_("Best unit price"))]
    for column in matrix.columns:
        header += [
            Msg(N_("%(supplier)s: unit price"), {"supplier": column.supplier}),
            Msg(N_("%(supplier)s: line total"), {"supplier": column.supplier}),
            Msg(N_("%(supplier)s: lead time (days)"), {"supplier": column.supplier}),
            Msg(N_("%(supplier)s: delivery date"), {"supplier": column.supplier}),
            Msg(N_("%(supplier)s: best price"), {"supplier": column.supplier}),
        ]
    rows: list[list] = []
    for row in matrix.rows:
        cells: list = [row.line.position, row.line.description, row.line.quantity, row.line.unit,
                       row.line.agreed_price, row.best_price]
        for cell in row.cells:
            cells += [cell.unit_price, cell.net, cell.lead_time_days, cell.delivery_date,
                      None if cell.missing else cell.best]
        rows.append(cells)
    width = 5

    def totals(label, values):
        row = ["", label, "", "", "", ""]
        for value in values:
            row += ["", value, "", "", ""][:width]
        return row

    rows += [
        totals(Msg(N_("Lines total")), [c.lines_total for c in matrix.columns]),
        totals(Msg(N_("Freight")), [c.freight for c in matrix.columns]),
        totals(Msg(N_("Other charges")), [c.other_charges for c in matrix.columns]),
        totals(Msg(N_("Grand total")), [c.grand_total for c in matrix.columns]),
        totals(Msg(N_("Valid until")), [c.valid_until for c in matrix.columns]),
        totals(Msg(N_("Partial quote")), [c.partial for c in matrix.columns]),
    ]
    return "".join(write_csv(header, rows, separator=separator, decimal_mark=decimal_mark,
                             as_text=as_text))
