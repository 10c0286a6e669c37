"""Ledger postings the workflow makes: reserve at final approval, release, commit, actual.

Every posting adds to the budget's counters (`consumed` and the entry's bucket: `reserved`,
`committed`, `spent`) in the same UPDATE and transaction as its ledger entry, so a balance is one
row read; `recount` rebuilds them from the ledger (the migration's backfill, bulk loaders).

Concurrency: a reservation is one guarded UPDATE of the budget row
(`consumed = consumed + :x WHERE amount - consumed >= :x`) followed by its ledger entry in the
same transaction. PostgreSQL serialises the two updates on the row lock and re-checks the
condition; SQLite serialises writers. So twenty simultaneous approvals can never reserve more
than the budget holds, on either database, without SELECT … FOR UPDATE (which SQLite ignores).
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select, update

from portal.domain.budget import BudgetStatus, EntryKind, OverrunPolicy, shortfall_message
from portal.domain.messages import N_, Msg, decode_params
from portal.errors import BudgetExceeded
from portal.extensions import db
from portal.models import Budget, BudgetEntry, Requisition
from portal.money import Money
from portal.services import audit
from portal.services.budgets.reading import REQUISITION, budget_and_reservation


def entry_note(entry: BudgetEntry) -> Msg:
    """The entry's note as a message for the reader (old rows hold plain text: shown as it is)."""
    return Msg(entry.note or "", decode_params(entry.note_params or {}))


def _post(budget: Budget, kind: EntryKind, amount: Decimal, *, source_type: str, source_id: int,
          source_label: str, actor, overrun: bool = False, note: Msg | str = "") -> BudgetEntry:
    # A note the portal writes (an overrun's shortfall) is stored as a message id and typed
    # parameters, rendered in the reader's language; a document number is stored as it is.
    stored = note.to_json() if isinstance(note, Msg) else {"id": note or "", "params": None}
    entry = BudgetEntry(
        organization_id=budget.organization_id, budget_id=budget.id, kind=kind, amount=amount,
        source_type=source_type, source_id=source_id, source_label=source_label, overrun=overrun,
        note=stored["id"][:500], note_params=stored["params"] or None,
        actor_id=actor.id if actor is not None else None,
    )
    db.session.add(entry)
    return entry


# The counter column of `budgets` each kind of entry adds to (Balances' buckets).
BUCKETS = {EntryKind.RESERVE: "reserved", EntryKind.RELEASE: "reserved",
           EntryKind.COMMIT: "committed", EntryKind.ACTUAL: "spent"}
COUNTERS = ("consumed", "reserved", "committed", "spent")


def _counted(budget: Budget, kind: EntryKind, amount: Decimal) -> dict:
    """The values of the one UPDATE that adds a posting to the budget's counters."""
    bucket = BUCKETS[EntryKind(kind)]
    return {"consumed": Budget.consumed + amount, bucket: getattr(Budget, bucket) + amount}


def _stale(budget: Budget) -> None:
    # The UPDATE ran in SQL: the counters are read again when next used.
    db.session.expire(budget, list(COUNTERS))


def try_reserve(budget: Budget, amount: Decimal) -> bool:
    """Atomically take `amount` from the budget if it still fits; True when it did."""
    # Without the autoflush: the guarded UPDATE reads only the budget's own row, and the
    # caller's pending changes go in its next flush (with the ledger entry) instead of one more.
    with db.session.no_autoflush:
        taken = db.session.execute(
            update(Budget)
            .where(Budget.id == budget.id, Budget.status == BudgetStatus.OPEN,
                   Budget.amount - Budget.consumed >= amount)
            .values(_counted(budget, EntryKind.RESERVE, amount))
            .execution_options(synchronize_session=False)
        ).rowcount == 1
    _stale(budget)
    return taken


def force_consume(budget: Budget, amount: Decimal, kind: EntryKind = EntryKind.RESERVE) -> None:
    """Take `amount` even past the budget (warn policy, approved escalation) or give it back,
    in the bucket of `kind`."""
    db.session.execute(
        update(Budget).where(Budget.id == budget.id).values(_counted(budget, kind, amount))
        .execution_options(synchronize_session=False)
    )
    _stale(budget)


class ReservationOutcome:
    NO_BUDGET = "no_budget"
    RESERVED = "reserved"
    OVERRUN = "overrun"
    NEEDS_ESCALATION = "needs_escalation"


def _currency_refusal(req: Requisition, budget: Budget) -> Msg | None:
    if budget.currency == req.currency:
        return None
    return Msg(N_("The budget of %(cc)s is in %(budget)s; this requisition is in %(req)s. Raise it in %(budget)s."),
               {"cc": req.cost_center.code, "budget": budget.currency, "req": req.currency})


def _overrun_refused(budget: Budget, overrun_approved: bool) -> bool:
    """An amount that does not fit is refused under `block`, unless an extra approval allowed it."""
    return budget.overrun_policy == OverrunPolicy.BLOCK and not overrun_approved


def reservation_refusal(req: Requisition, budget: Budget | None, *, reserved_already: Decimal,
                        overrun_approved: bool = False) -> Msg | None:
    """Why reserving `req` against `budget` now would be refused (the message
    `reserve_for_requisition` raises), or None when it would pass. Read-only: the inbox and the
    requisition page show the refusal before the click. `reserved_already` is what the
    requisition holds (`Impact.reserved_already`)."""
    if budget is None:
        return None
    problem = _currency_refusal(req, budget)
    if problem is not None:
        return problem
    amount = req.net_total - reserved_already
    available = budget.amount - budget.consumed
    if amount <= 0 or available >= amount or not _overrun_refused(budget, overrun_approved):
        return None
    return shortfall_message(available, amount, budget.currency)


def reserve_for_requisition(req: Requisition, actor, *, overrun_approved: bool = False) -> str:
    """Reserve the requisition's net total at final approval.

    block: refused with the shortfall (BudgetExceeded); warn: reserved and flagged as an
    overrun; escalate: returns NEEDS_ESCALATION unless an extra approval already allowed it.
    A currency different from the budget's is refused. No budget: nothing to reserve.
    `reservation_refusal` foresees the refusal without writing.
    """
    budget, reserved_already = budget_and_reservation(req)
    if budget is None:
        return ReservationOutcome.NO_BUDGET
    problem = _currency_refusal(req, budget)
    if problem is not None:
        raise BudgetExceeded(problem)
    amount = req.net_total - reserved_already
    if amount <= 0:
        return ReservationOutcome.RESERVED
    label = req.number
    if try_reserve(budget, amount):
        # The entry goes in with the approval's one flush (`budget_and_reservation` counts it
        # meanwhile): the budget's counters are already taken by the guarded UPDATE above.
        _post(budget, EntryKind.RESERVE, amount, source_type=REQUISITION, source_id=req.id,
              source_label=label, actor=actor)
        return ReservationOutcome.RESERVED
    db.session.refresh(budget)
    available = budget.amount - budget.consumed
    policy = budget.overrun_policy
    if _overrun_refused(budget, overrun_approved):
        raise BudgetExceeded(shortfall_message(available, amount, budget.currency))
    if policy == OverrunPolicy.ESCALATE and not overrun_approved:
        return ReservationOutcome.NEEDS_ESCALATION
    force_consume(budget, amount, EntryKind.RESERVE)
    _post(budget, EntryKind.RESERVE, amount, source_type=REQUISITION, source_id=req.id, source_label=label,
          actor=actor, overrun=True, note=shortfall_message(available, amount, budget.currency))
    audit.record(actor=actor, action="budget.overrun", obj=req,
                 summary={"budget": budget.name, "available": Money(available, budget.currency),
                          "amount": Money(amount, budget.currency)})
    db.session.flush()
    return ReservationOutcome.OVERRUN


def release_for(source_type: str, source_id: int, actor, *, note: str = "") -> Decimal:
    """Give back what a document still holds reserved (reject, cancel, return, close)."""
    entries = db.session.scalars(
        select(BudgetEntry).where(BudgetEntry.source_type == source_type, BudgetEntry.source_id == source_id,
                                  BudgetEntry.kind.in_([EntryKind.RESERVE, EntryKind.RELEASE]))
    ).all()
    by_budget: dict[int, Decimal] = {}
    labels: dict[int, str] = {}
    for e in entries:
        by_budget[e.budget_id] = by_budget.get(e.budget_id, Decimal("0")) + e.amount
        labels[e.budget_id] = e.source_label
    released = Decimal("0.00")
    for budget_id, open_amount in by_budget.items():
        if open_amount <= 0:
            continue
        budget = db.session.scalars(select(Budget).where(Budget.id == budget_id)).one()
        force_consume(budget, -open_amount, EntryKind.RELEASE)
        _post(budget, EntryKind.RELEASE, -open_amount, source_type=source_type, source_id=source_id,
              source_label=labels[budget_id], actor=actor, note=note)
        released += open_amount
    db.session.flush()
    return released


def commit_for(budget: Budget, *, from_source: tuple[str, int] | None, source_type: str, source_id: int,
               source_label: str, amount: Decimal, actor) -> None:
    """An order is issued: release its requisition's reservation and commit the order's amount.

    (Used by purchase orders in the sourcing issue.)
    """
    if from_source is not None:
        release_for(*from_source, actor, note=source_label)
    force_consume(budget, amount, EntryKind.COMMIT)
    _post(budget, EntryKind.COMMIT, amount, source_type=source_type, source_id=source_id,
          source_label=source_label, actor=actor)
    db.session.flush()


def take_over_reservation(budget: Budget, *, from_source: tuple[str, int] | None, release: Decimal,
                          source_type: str, source_id: int, source_label: str, amount: Decimal, actor,
                          refuse_overrun: bool, release_label: str = "") -> Msg | None:
    """An order takes over `release` of a requisition's reservation (`from_source`) and commits
    `amount` (the order's net for those lines): the difference is reserved or released to the cent.

    When the commitment is more than the release and does not fit in what the budget has left:
    with `refuse_overrun` (the block policy) BudgetExceeded, else posted as an overrun. The
    commitment is one guarded UPDATE like `try_reserve`, so concurrent orders never take more
    than the budget holds. Returns the shortfall message of an overrun, else None.
    """
    if from_source is not None and release > 0:
        force_consume(budget, -release, EntryKind.RELEASE)
        _post(budget, EntryKind.RELEASE, -release, source_type=from_source[0], source_id=from_source[1],
              source_label=release_label or source_label, actor=actor, note=source_label)
    return _commit(budget, amount, grows=amount > release, source_type=source_type, source_id=source_id,
                   source_label=source_label, actor=actor, refuse_overrun=refuse_overrun)


def _commit(budget: Budget, amount: Decimal, *, grows: bool, source_type: str, source_id: int,
            source_label: str, actor, refuse_overrun: bool) -> Msg | None:
    if amount == 0:
        return None
    if amount > 0 and grows:
        with db.session.no_autoflush:
            taken = db.session.execute(
                update(Budget)
                .where(Budget.id == budget.id, Budget.amount - Budget.consumed >= amount)
                .values(_counted(budget, EntryKind.COMMIT, amount))
                .execution_options(synchronize_session=False)
            ).rowcount == 1
        _stale(budget)
        if not taken:
            db.session.refresh(budget)
            shortfall = shortfall_message(budget.amount - budget.consumed, amount, budget.currency)
            if refuse_overrun:
                raise BudgetExceeded(shortfall)
            force_consume(budget, amount, EntryKind.COMMIT)
            _post(budget, EntryKind.COMMIT, amount, source_type=source_type, source_id=source_id,
                  source_label=source_label, actor=actor, overrun=True, note=shortfall)
            db.session.flush()
            return shortfall
    else:
        force_consume(budget, amount, EntryKind.COMMIT)
    _post(budget, EntryKind.COMMIT, amount, source_type=source_type, source_id=source_id,
          source_label=source_label, actor=actor)
    db.session.flush()
    return None


def adjust_commitment(budget: Budget, delta: Decimal, *, source_type: str, source_id: int, source_label: str,
                      actor, refuse_overrun: bool) -> Msg | None:
    """A revised order commits `delta` more (or gives back -`delta`) on `budget`: an increase
    that does not fit is refused under `refuse_overrun` (block), else posted as an overrun
    (its shortfall message returned)."""
    return _commit(budget, delta, grows=True, source_type=source_type, source_id=source_id,
                   source_label=source_label, actor=actor, refuse_overrun=refuse_overrun)


def commitments_of(source_type: str, source_id: int) -> dict[int, Decimal]:
    """budget id -> what a document (an order) holds committed there, from the ledger."""
    return {budget_id: amount for budget_id, amount in db.session.execute(
        select(BudgetEntry.budget_id, func.sum(BudgetEntry.amount))
        .where(BudgetEntry.source_type == source_type, BudgetEntry.source_id == source_id,
               BudgetEntry.kind == EntryKind.COMMIT)
        .group_by(BudgetEntry.budget_id)
    ).all() if amount}


def release_commitment(source_type: str, source_id: int, actor, *, source_label: str, note: str = "") -> Decimal:
    """Give back everything a document (a cancelled order) holds committed, budget by budget;
    returns the amount released."""
    released = Decimal("0.00")
    for budget_id, held in commitments_of(source_type, source_id).items():
        if held <= 0:
            continue
        budget = db.session.scalars(select(Budget).where(Budget.id == budget_id)).one()
        force_consume(budget, -held, EntryKind.COMMIT)
        _post(budget, EntryKind.COMMIT, -held, source_type=source_type, source_id=source_id,
              source_label=source_label, actor=actor, note=note)
        released += held
    db.session.flush()
    return released


def actual_for(budget: Budget, *, commitment: tuple[str, int, Decimal] | None, source_type: str, source_id: int,
               source_label: str, amount: Decimal, actor) -> None:
    """An invoice is approved: convert the order's commitment into an actual of the invoice amount."""
    if commitment is not None:
        c_type, c_id, c_amount = commitment
        force_consume(budget, -c_amount, EntryKind.COMMIT)
        _post(budget, EntryKind.COMMIT, -c_amount, source_type=c_type, source_id=c_id,
              source_label=source_label, actor=actor)
    force_consume(budget, amount, EntryKind.ACTUAL)
    _post(budget, EntryKind.ACTUAL, amount, source_type=source_type, source_id=source_id,
          source_label=source_label, actor=actor)
    db.session.flush()


def recount(budget_ids=None) -> None:
    """Set the counters of budgets (all of the current organisation's, or `budget_ids`) to their
    ledger's sums: for rows written without postings (a bulk load), and what the migration does."""
    def total(*kinds):
        return func.coalesce(
            select(func.sum(BudgetEntry.amount))
            .where(BudgetEntry.budget_id == Budget.id, BudgetEntry.kind.in_(kinds))
            .scalar_subquery(), 0)

    statement = update(Budget).values(
        reserved=total(EntryKind.RESERVE, EntryKind.RELEASE), committed=total(EntryKind.COMMIT),
        spent=total(EntryKind.ACTUAL),
        consumed=total(EntryKind.RESERVE, EntryKind.RELEASE, EntryKind.COMMIT, EntryKind.ACTUAL),
    ).execution_options(synchronize_session=False)
    if budget_ids is not None:
        statement = statement.where(Budget.id.in_(list(budget_ids)))
    db.session.execute(statement)
    db.session.expire_all()
