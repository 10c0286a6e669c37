"""The comparison matrix of an RFQ's quotes and the rules of its award.

Pure functions over plain values (no database, no request), so the arithmetic is tested to the
cent without either:

- `build_matrix(currency, lines, offers)`: lines × suppliers. Each cell is the supplier's unit
  price and line net (quantity × unit price, rounded half-up to the currency's minor unit by
  `portal.domain.vat.line_net`), its lead time or delivery date and any alternative offered, or
  a missing cell when a partial quote left the line out. Per supplier: the lines' total, freight
  and other charges, the grand total, the validity and whether the quote is partial. Per line:
  the best unit price (every supplier at it is marked; a missing cell never is) and the agreed
  price where a price agreement exists. Overall: the cheapest supplier that priced every line.
- `check_award(matrix, choices, reasons)`: a line goes to at most one quote, only to one that
  priced it; a line not given to its best price needs a reason. Problems are collected per line
  (shown beside each line), never one at a time.
- `budget_impact(...)`: per source requisition, what is reserved against what the award costs:
  the difference is reserved (positive) or released (negative), to the cent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from portal.domain.messages import N_, Msg
from portal.domain.vat import line_net
from portal.money import round_money

REASON_MAX = 500


# --- input: plain values ------------------------------------------------------------------------


@dataclass(frozen=True)
class LineIn:
    """One RFQ line as the matrix needs it. `requisition_id` names the requisition it came
    from (None for a typed line); `agreed_price` is the unit price agreed with any supplier
    for its catalog item, in the RFQ's currency, where one exists."""

    id: int
    position: int
    description: str
    quantity: Decimal
    unit: str = "pcs"
    requisition_id: int | None = None
    agreed_price: Decimal | None = None
    agreed_supplier: str = ""


@dataclass(frozen=True)
class OfferLine:
    """A supplier's answer to one line; `unit_price` None = not quoted (a partial quote)."""

    unit_price: Decimal | None
    lead_time_days: int | None = None
    delivery_date: date | None = None
    alternative: str = ""
    note: str = ""


@dataclass(frozen=True)
class Offer:
    """One submitted quote: whose, its charges and validity, and its lines by RFQ line id."""

    quote_id: int
    supplier: str
    lines: Mapping[int, OfferLine]
    reference: str = ""
    valid_until: date | None = None
    freight: Decimal = Decimal(0)
    other_charges: Decimal = Decimal(0)
    charges_note: str = ""
    supplier_id: int | None = None


# --- output: the matrix -------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One supplier's price for one line, or `missing` (nothing quoted)."""

    quote_id: int
    unit_price: Decimal | None = None
    net: Decimal | None = None
    lead_time_days: int | None = None
    delivery_date: date | None = None
    alternative: str = ""
    note: str = ""
    best: bool = False

    @property
    def missing(self) -> bool:
        return self.unit_price is None


@dataclass(frozen=True)
class Row:
    """One line of the matrix: the line, one cell per supplier (in the columns' order), the best
    unit price and the agreed price (with its line net) where one exists."""

    line: LineIn
    cells: tuple[Cell, ...]
    best_price: Decimal | None
    agreed_net: Decimal | None

    @property
    def best_quote_ids(self) -> tuple[int, ...]:
        return tuple(c.quote_id for c in self.cells if c.best)

    @property
    def priced(self) -> bool:
        """Did any supplier price this line?"""
        return self.best_price is not None

    def cell(self, quote_id: int) -> Cell | None:
        return next((c for c in self.cells if c.quote_id == quote_id), None)


@dataclass(frozen=True)
class Column:
    """One supplier's totals: its lines' nets summed, its charges, the grand total."""

    quote_id: int
    supplier: str
    reference: str
    valid_until: date | None
    lines_total: Decimal
    freight: Decimal
    other_charges: Decimal
    charges_note: str
    priced_lines: int
    partial: bool
    cheapest: bool = False
    supplier_id: int | None = None

    @property
    def charges(self) -> Decimal:
        return self.freight + self.other_charges

    @property
    def grand_total(self) -> Decimal:
        return self.lines_total + self.charges


@dataclass(frozen=True)
class Matrix:
    currency: str
    rows: tuple[Row, ...]
    columns: tuple[Column, ...]

    @property
    def cheapest_complete(self) -> tuple[int, ...]:
        """The quote ids of the cheapest suppliers that priced every line (ties: all)."""
        return tuple(c.quote_id for c in self.columns if c.cheapest)

    @property
    def has_agreed_prices(self) -> bool:
        return any(r.line.agreed_price is not None for r in self.rows)

    def column(self, quote_id: int) -> Column | None:
        return next((c for c in self.columns if c.quote_id == quote_id), None)

    def row(self, line_id: int) -> Row | None:
        return next((r for r in self.rows if r.line.id == line_id), None)

    def default_choices(self) -> dict[int, int]:
        """The pre-selected award: every priced line to its best price (on a tie, to the
        cheapest complete supplier when it is among them, else the first column)."""
        choices = {}
        favourites = set(self.cheapest_complete)
        for row in self.rows:
            best = row.best_quote_ids
            if best:
                choices[row.line.id] = next((q for q in best if q in favourites), best[0])
        return choices


def _cell(quote_id: int, line: LineIn, offered: OfferLine | None, currency: str) -> Cell:
    if offered is None or offered.unit_price is None:
        return Cell(quote_id)
    return Cell(
        quote_id, unit_price=offered.unit_price,
        net=line_net(line.quantity, offered.unit_price, currency),
        lead_time_days=offered.lead_time_days, delivery_date=offered.delivery_date,
        alternative=offered.alternative, note=offered.note,
    )


def build_matrix(currency: str, lines: Iterable[LineIn], offers: Iterable[Offer]) -> Matrix:
    """The comparison of `offers` over `lines` (both in display order), amounts in `currency`.

    A line's net is quantity × unit price rounded half-up to the minor unit; a supplier's lines
    total is the sum of its rounded nets, its grand total that plus freight and other charges.
    The best price of a line is its lowest unit price; every supplier at it is marked, a
    missing cell never. The cheapest supplier overall is the lowest grand total among those
    that priced every line (ties: all marked; none when every quote is partial)."""
    lines = sorted(lines, key=lambda ln: (ln.position, ln.id))
    offers = list(offers)
    zero = round_money(Decimal(0), currency)
    grid = [[_cell(o.quote_id, line, o.lines.get(line.id), currency) for o in offers]
            for line in lines]
    rows = []
    for line, cells in zip(lines, grid, strict=True):
        prices = [c.unit_price for c in cells if not c.missing]
        best = min(prices) if prices else None
        marked = tuple(
            Cell(**{**c.__dict__, "best": True}) if best is not None and c.unit_price == best else c
            for c in cells)
        agreed_net = (line_net(line.quantity, line.agreed_price, currency)
                      if line.agreed_price is not None else None)
        rows.append(Row(line, marked, best, agreed_net))
    columns = []
    for i, offer in enumerate(offers):
        nets = [grid[r][i].net for r in range(len(lines)) if not grid[r][i].missing]
        columns.append(Column(
            quote_id=offer.quote_id, supplier=offer.supplier, reference=offer.reference,
            valid_until=offer.valid_until, lines_total=sum(nets, zero),
            freight=round_money(offer.freight or zero, currency),
            other_charges=round_money(offer.other_charges or zero, currency),
            charges_note=offer.charges_note, priced_lines=len(nets),
            partial=len(nets) < len(lines), supplier_id=offer.supplier_id,
        ))
    complete = [c.grand_total for c in columns if not c.partial]
    if complete:
        lowest = min(complete)
        columns = [Column(**{**c.__dict__, "cheapest": True})
                   if not c.partial and c.grand_total == lowest else c for c in columns]
    return Matrix(currency, tuple(rows), tuple(columns))


# --- the award ----------------------------------------------------------------------------------


class AwardProblem(ValueError):
    """An award that breaks a rule: `problems` maps a line id (None: the award as a whole) to
    the messages to show beside it."""

    def __init__(self, problems: Mapping[int | None, list[Msg]]):
        self.problems = {k: list(v) for k, v in problems.items()}
        first = next(iter(self.problems.values()))[0]
        super().__init__(str(first))

    @property
    def msg(self) -> Msg:
        """The first problem (for a flash when the page cannot show them per line)."""
        return next(iter(self.problems.values()))[0]


@dataclass(frozen=True)
class Awarded:
    """One line of a valid award: the line, the winning cell and its column, the reason."""

    row: Row
    cell: Cell
    column: Column
    reason: str = ""

    @property
    def cheapest(self) -> bool:
        return self.cell.best


@dataclass(frozen=True)
class Award:
    lines: tuple[Awarded, ...]

    def by_quote(self) -> dict[int, list[Awarded]]:
        """The awarded lines grouped per winning quote, in the matrix's column order."""
        grouped: dict[int, list[Awarded]] = {}
        for awarded in self.lines:
            grouped.setdefault(awarded.cell.quote_id, []).append(awarded)
        return grouped

    def total(self, currency: str) -> Decimal:
        """The lines' nets plus the charges of every winning supplier."""
        zero = round_money(Decimal(0), currency)
        nets = sum((a.cell.net for a in self.lines), zero)
        charges = sum((group[0].column.charges for group in self.by_quote().values()), zero)
        return nets + charges


def _pairs(choices) -> list[tuple[int, int]]:
    if isinstance(choices, Mapping):
        return [(int(k), int(v)) for k, v in choices.items()]
    return [(int(k), int(v)) for k, v in choices]


def check_award(matrix: Matrix, choices, reasons: Mapping[int, str] | None = None) -> Award:
    """The award of `choices` (line id → quote id, or (line id, quote id) pairs) with
    `reasons` (line id → why it does not go to its best price), or AwardProblem.

    Rules: every line that any supplier priced is chosen, once; only from a quote that priced
    that line; a line not given to its best unit price needs a reason (at most REASON_MAX
    characters). A line no supplier priced cannot be awarded and is left out. Nothing chosen
    at all is a problem of the award as a whole."""
    reasons = {int(k): (v or "").strip() for k, v in (reasons or {}).items()}
    problems: dict[int | None, list[Msg]] = {}

    def problem(key, msg):
        problems.setdefault(key, []).append(msg)

    chosen: dict[int, int] = {}
    for line_id, quote_id in _pairs(choices):
        if matrix.row(line_id) is None:
            problem(None, Msg(N_("One of the lines chosen is not on this RFQ.")))
        elif line_id in chosen and chosen[line_id] != quote_id:
            problem(line_id, Msg(N_("Choose one supplier for this line.")))
        else:
            chosen[line_id] = quote_id
    awarded = []
    for row in matrix.rows:
        line_id = row.line.id
        quote_id = chosen.get(line_id)
        if quote_id is None:
            if row.priced:
                problem(line_id, Msg(N_("Choose a supplier for this line.")))
            continue
        cell, column = row.cell(quote_id), matrix.column(quote_id)
        if cell is None or column is None or cell.missing:
            problem(line_id, Msg(N_("This supplier did not quote this line: choose another.")))
            continue
        reason = reasons.get(line_id, "")
        if not cell.best and not reason:
            problem(line_id, Msg(N_(
                "This is not the best price for the line: say why you choose it.")))
        elif len(reason) > REASON_MAX:
            problem(line_id, Msg(N_("At most %(max)s characters."), {"max": REASON_MAX}))
        awarded.append(Awarded(row, cell, column, reason))
    if not awarded and not problems:
        problem(None, Msg(N_("No supplier priced any line: there is nothing to award.")))
    if problems:
        raise AwardProblem(problems)
    return Award(tuple(awarded))


def whole_award(matrix: Matrix, quote_id: int) -> dict[int, int]:
    """The choices that give every line to one supplier, or AwardProblem when that supplier
    left a line out (a partial quote cannot take the whole RFQ)."""
    column = matrix.column(quote_id)
    if column is None:
        raise AwardProblem({None: [Msg(N_("Choose one of the suppliers that quoted."))]})
    if column.partial:
        raise AwardProblem({None: [Msg(N_(
            "%(supplier)s did not quote every line: award it line by line instead."),
            {"supplier": column.supplier})]})
    return {row.line.id: quote_id for row in matrix.rows}


def whole_reasons(matrix: Matrix, quote_id: int, reason: str) -> dict[int, str]:
    """One reason for every line a whole award gives away from its best price."""
    return {row.line.id: reason for row in matrix.rows
            if (cell := row.cell(quote_id)) is not None and not cell.best}


# --- the budget ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """A requisition the RFQ's lines came from, and where its budget stands now.

    `reserved` is what it holds reserved; `estimates` maps each of its RFQ lines (by RFQ line
    id) to that requisition line's estimated net; `whole` says that every line of the
    requisition is on this RFQ (none ordered elsewhere). An order takes over all of the
    reservation when it orders the requisition's last lines, else the estimates of the lines
    it orders (never more than is held), as `portal.services.orders.issue` posts it."""

    requisition_id: int
    number: str
    reserved: Decimal
    budget_id: int | None = None
    budget_label: str = ""
    available_before: Decimal | None = None
    estimates: Mapping[int, Decimal] | None = None
    whole: bool = True

    def taken_over(self, line_ids: set[int]) -> Decimal:
        held = max(self.reserved, Decimal(0))
        if not self.estimates or (self.whole and set(self.estimates) <= line_ids):
            return held
        return min(held, sum((v for k, v in self.estimates.items() if k in line_ids), Decimal(0)))


@dataclass(frozen=True)
class SourceImpact:
    """What the award does to one requisition's reservation: `reserved` is the part of it the
    award takes over, `awarded` what it commits instead."""

    source: Source
    reserved: Decimal
    awarded: Decimal
    available_after: Decimal | None = None

    @property
    def difference(self) -> Decimal:
        """Positive: more to reserve (the award costs more); negative: released."""
        return self.awarded - self.reserved


@dataclass(frozen=True)
class BudgetImpact:
    currency: str
    rows: tuple[SourceImpact, ...]
    charges: Decimal = Decimal(0)
    untracked: Decimal = Decimal(0)

    @property
    def reserved(self) -> Decimal:
        return sum((r.reserved for r in self.rows), round_money(Decimal(0), self.currency))

    @property
    def awarded(self) -> Decimal:
        return sum((r.awarded for r in self.rows), round_money(Decimal(0), self.currency))

    @property
    def difference(self) -> Decimal:
        return self.awarded - self.reserved

    @property
    def exceeds(self) -> bool:
        """An award that asks a budget for more than it has left. Releasing never exceeds:
        a budget already below zero (an approved overrun) is not the award's doing."""
        return any(r.difference > 0 and r.available_after is not None and r.available_after < 0
                   for r in self.rows)


def budget_impact(currency: str, award: Award, sources: Iterable[Source]) -> BudgetImpact:
    """Per source requisition: the reservation the award takes over against what it commits
    (the nets of its awarded lines), the difference reserved or released, to the cent.

    Each winning supplier's order commits its charges (freight, other) with its first line
    that came from a requisition, as the order posts them; lines typed on the RFQ (no
    requisition) are `untracked`. A budget's available-after subtracts the differences of every
    requisition drawing on that budget."""
    zero = round_money(Decimal(0), currency)
    sources = list(sources)
    known = {s.requisition_id for s in sources}
    awarded: dict[int, Decimal] = {s.requisition_id: zero for s in sources}
    lines: dict[int, set[int]] = {s.requisition_id: set() for s in sources}
    untracked = zero
    charges_total = zero
    for group in award.by_quote().values():
        charges = group[0].column.charges
        charges_total += charges
        for a in group:
            req_id = a.row.line.requisition_id
            if req_id in known:
                awarded[req_id] += a.cell.net
                lines[req_id].add(a.row.line.id)
            else:
                untracked += a.cell.net
        first = next((a.row.line.requisition_id for a in group
                      if a.row.line.requisition_id in known), None)
        if first is None:
            untracked += charges
        else:
            awarded[first] += charges
    taken = {s.requisition_id: round_money(s.taken_over(lines[s.requisition_id]), currency)
             for s in sources}
    by_budget: dict[int, Decimal] = {}
    for s in sources:
        if s.budget_id is not None:
            by_budget[s.budget_id] = (by_budget.get(s.budget_id, zero)
                                      + awarded[s.requisition_id] - taken[s.requisition_id])
    rows = tuple(
        SourceImpact(s, taken[s.requisition_id], awarded[s.requisition_id],
                     None if s.available_before is None or s.budget_id is None
                     else s.available_before - by_budget[s.budget_id])
        for s in sources)
    return BudgetImpact(currency, rows, charges=charges_total, untracked=untracked)
