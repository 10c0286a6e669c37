"""The buyer's decisions on an invoice it received: approve it for payment, dispute it, record
payments (with the early-payment discount).

Approving posts the invoice to the budgets: per order, its net becomes an `actual` of the
order's budget, converting that much of the order's commitment; once an order is wholly
invoiced by approved invoices, what is left of its commitment is released. A mismatched
invoice (a line over what was received, or off the order price beyond the tolerance) is
approved only by an admin with a written reason (audit `invoice.match_overridden`).

A payment is recorded on an approved or partly paid invoice: more than zero, never more than
is due, not in the future; the early-payment discount is taken only within its window and only
by a payment that settles the rest. The invoice's status follows `settle_status`.

Every action checks its rule (`portal.policies.invoices`), writes the invoice, records its
audit event and tells the supplier. Services never commit.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import aliased, joinedload, selectinload

from portal.domain import invoicing as rules
from portal.domain.bank import format_iban
from portal.domain.messages import N_, Link, Msg
from portal.domain.vat import VatSummary, totals_by_code
from portal.errors import ValidationProblem
from portal.extensions import db
from portal.models.audit import AuditEvent
from portal.models.budget import Budget
from portal.models.invoice import Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, MatchStatus, Payment
from portal.models.order import PurchaseOrder
from portal.models.org import SupplierLink
from portal.money import Money, round_money
from portal.policies import enforce
from portal.services import audit, clock
from portal.services.budgets.posting import actual_for, commitments_of, release_commitment
from portal.services.clock import today_for
from portal.services.notifications import notify_organization
from portal.services.orders.issue import ORDER

INVOICE = "Invoice"  # the ledger's source type of an approved invoice's actual
MAX_REASON = 2000
MAX_REFERENCE = 100
ZERO = Decimal("0.00")
# Invoices whose lines count as invoiced for an order's commitment (approved ones).
APPROVED = (InvoiceStatus.APPROVED, InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.PAID)
OPEN = (InvoiceStatus.ISSUED, InvoiceStatus.DISPUTED, InvoiceStatus.APPROVED, InvoiceStatus.PARTIALLY_PAID)


def _problem(msg: Msg, field: str | None = None) -> ValidationProblem:
    exc = ValidationProblem(msg)
    exc.field = field
    return exc


def _text(value: str | None, field: str, *, message: str | None, limit: int = MAX_REASON) -> str:
    value = (value or "").strip()
    if message is not None and not value:
        raise _problem(Msg(message), field)
    if len(value) > limit:
        raise _problem(Msg(N_("Keep it under %(num)d characters."), {"num": limit}), field)
    return value


def _tell_supplier(invoice: Invoice, text: str, **params) -> None:
    notify_organization(invoice.supplier_id, text, link=Link("supplier.invoice", {"invoice_id": invoice.id}),
                        buyer=invoice.buyer.name, number=invoice.number, **params)


def today_of(invoice: Invoice, now: datetime | None = None) -> date:
    """Today where the buyer is (overdue and payment dates are the payer's days)."""
    return today_of_org(invoice.buyer, now)


def today_of_org(org, now: datetime | None = None) -> date:
    return today_for(org, now)


# ---------------------------------------------------------------- reading


def get_for_buyer(invoice_id: int) -> Invoice | None:
    """An invoice or credit note addressed to the current (buying) company; never a draft."""
    return db.session.scalars(
        select(Invoice).where(Invoice.id == invoice_id, Invoice.status != InvoiceStatus.DRAFT)
        .options(selectinload(Invoice.lines), selectinload(Invoice.payments))
    ).first()


def invoice_events(invoice: Invoice) -> list[AuditEvent]:
    """The invoice's audit trail, oldest first (bounded)."""
    return list(db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.object_type == "Invoice", AuditEvent.object_id == invoice.id)
        .options(joinedload(AuditEvent.actor), joinedload(AuditEvent.on_behalf_of))
        .order_by(AuditEvent.created_at, AuditEvent.id).limit(200)
    ).unique())


def match_problems(invoice: Invoice) -> dict[int, Msg]:
    """invoice line id -> why it does not match (only the lines that do not)."""
    from portal.services.invoicing.issuing import match_problem_of

    return {ln.id: problem for ln in invoice.lines if (problem := match_problem_of(ln)) is not None}


def vat_summary(invoice: Invoice) -> VatSummary:
    """The invoice's VAT per code, the invoice way (art. 106e ust. 11), from its lines."""
    return totals_by_code(((ln.vat_code, ln.net) for ln in invoice.lines), invoice.currency)


PARTY_FIELDS = ("name", "legal_name", "tax_id", "address_line", "postal_code", "city", "country", "iban", "bank")


def parties(invoice: Invoice) -> tuple[dict, dict]:
    """(seller, buyer) as printed on the invoice: the snapshot frozen at issue."""
    stored = invoice.parties or {}
    blank = dict.fromkeys(PARTY_FIELDS, "")
    seller = blank | (stored.get("seller")
                      or {"name": invoice.supplier.name, "legal_name": invoice.supplier.legal_name})
    if not seller.get("iban"):
        seller["iban"] = invoice.bank_account or ""
    seller["iban"] = format_iban(seller["iban"]) if seller["iban"] else ""
    buyer = blank | (stored.get("buyer") or {"name": invoice.buyer.name, "legal_name": invoice.buyer.legal_name})
    return seller, buyer


def links_by_supplier(supplier_ids: set[int]) -> dict[int, int]:
    """supplier id -> the current company's link to it (statement links of the aging); one query."""
    if not supplier_ids:
        return {}
    return dict(db.session.execute(select(SupplierLink.supplier_id, SupplierLink.id).where(
        SupplierLink.supplier_id.in_(sorted(supplier_ids)))).all())


def invoiced_quantities(order_line_ids, statuses=None) -> dict[int, Decimal]:
    """order line id -> quantity invoiced by issued invoices (of `statuses`, default all but
    drafts) less the credit notes of those invoices' lines."""
    ids = list(order_line_ids)
    if not ids:
        return {}
    wanted = statuses or [s for s in InvoiceStatus if s != InvoiceStatus.DRAFT]
    result: dict[int, Decimal] = {}
    for oid, qty in db.session.execute(
            select(InvoiceLine.order_line_id, func.sum(InvoiceLine.quantity))
            .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
            .where(InvoiceLine.order_line_id.in_(ids), Invoice.kind == InvoiceKind.INVOICE,
                   Invoice.status.in_(wanted))
            .group_by(InvoiceLine.order_line_id)):
        result[oid] = Decimal(qty or 0)
    corrected = aliased(InvoiceLine)
    original = aliased(Invoice)
    for oid, qty in db.session.execute(
            select(corrected.order_line_id, func.sum(InvoiceLine.quantity))
            .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
            .join(corrected, corrected.id == InvoiceLine.corrects_line_id)
            .join(original, original.id == corrected.invoice_id)
            .where(corrected.order_line_id.in_(ids), Invoice.kind == InvoiceKind.CREDIT_NOTE,
                   Invoice.status != InvoiceStatus.DRAFT, original.status.in_(wanted))
            .group_by(corrected.order_line_id)):
        result[oid] = result.get(oid, Decimal(0)) - Decimal(qty or 0)
    return result


def discount_open(invoice: Invoice, today: date | None = None) -> bool:
    """The early-payment discount can still be taken (today within its window, nothing taken)."""
    return bool(invoice.discount_amount and invoice.discount_until and not invoice.discount_taken
                and (today or today_of(invoice)) <= invoice.discount_until
                and invoice.status in (InvoiceStatus.APPROVED, InvoiceStatus.PARTIALLY_PAID,
                                       InvoiceStatus.ISSUED, InvoiceStatus.DISPUTED))


# ---------------------------------------------------------------- approve


def approve_invoice(invoice: Invoice, actor, *, override_reason: str | None = None,
                    now: datetime | None = None) -> Invoice:
    """Approve an issued (or disputed) invoice for payment.

    A mismatched invoice needs an admin and a written reason (ValidationProblem on
    `override_reason` without one). Posts the actuals to the budgets and releases what remains
    of a wholly invoiced order's commitment; audit `invoice.approved`; the supplier is told."""
    enforce(actor, "invoices.approve", invoice)
    if invoice.match_status == MatchStatus.MISMATCHED:
        enforce(actor, "invoices.override_match", invoice)
        reason = _text(override_reason, "override_reason",
                       message=N_("Say why you approve an invoice that does not match its orders and receipts."))
        invoice.match_status = MatchStatus.OVERRIDDEN
        invoice.match_override_reason = reason
        invoice.match_override_by_id = actor.id
        problems = [ln.match_problem for ln in invoice.lines if ln.match_problem]
        audit.record(actor=actor, action="invoice.match_overridden", obj=invoice, comment=reason,
                     summary={"number": invoice.number, "problems": len(problems)})
    invoice.status = InvoiceStatus.APPROVED
    invoice.approved_at = now or clock.now()
    invoice.approved_by_id = actor.id
    db.session.flush()
    posted = _post_actuals(invoice, actor)
    audit.record(actor=actor, action="invoice.approved", obj=invoice,
                 summary={"number": invoice.number, "supplier": invoice.supplier.name,
                          "amount": Money(invoice.gross_total, invoice.currency),
                          "actual": Money(posted, invoice.currency)})
    _tell_supplier(invoice, N_("%(buyer)s approved invoice %(number)s for payment."))
    return invoice


def _net_by_order(invoice: Invoice) -> dict[int, Decimal]:
    """order id -> the invoice's net for that order, less credit notes issued so far."""
    by_order: dict[int, Decimal] = {}
    for ln in invoice.lines:
        if ln.order_id is not None:
            by_order[ln.order_id] = by_order.get(ln.order_id, ZERO) + ln.net
    credited = db.session.execute(
        select(InvoiceLine.order_id, func.sum(InvoiceLine.net))
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(Invoice.corrects_id == invoice.id, Invoice.status != InvoiceStatus.DRAFT,
               InvoiceLine.order_id.is_not(None))
        .group_by(InvoiceLine.order_id)).all()
    for order_id, net in credited:
        if order_id in by_order:
            by_order[order_id] -= Decimal(net or 0)
    return by_order


def _post_actuals(invoice: Invoice, actor) -> Decimal:
    """Per order with a budget: the invoice's net becomes an actual, converting as much of the
    order's commitment; a wholly invoiced order gives back what it still holds. Returns the
    actual posted."""
    by_order = _net_by_order(invoice)
    if not by_order:
        return ZERO
    posted = ZERO
    orders = db.session.scalars(select(PurchaseOrder).where(PurchaseOrder.id.in_(list(by_order)))
                                .options(selectinload(PurchaseOrder.lines)).order_by(PurchaseOrder.id)).all()
    for order in orders:
        amount = by_order[order.id]
        held = commitments_of(ORDER, order.id)
        budget_id = order.budget_id if order.budget_id in held or not held else max(held, key=held.get)
        if budget_id is None or amount <= 0:
            continue
        budget = order.budget if order.budget_id == budget_id else db.session.get(Budget, budget_id)
        convert = min(held.get(budget_id, ZERO), amount)
        actual_for(budget, commitment=(ORDER, order.id, convert) if convert > 0 else None,
                   source_type=INVOICE, source_id=invoice.id, source_label=invoice.number, amount=amount,
                   actor=actor)
        order.committed = max(order.committed - convert, ZERO)
        posted += amount
        if _wholly_invoiced(order):
            release_commitment(ORDER, order.id, actor, source_label=order.number, note=invoice.number)
            order.committed = ZERO
    db.session.flush()
    return posted


def _wholly_invoiced(order: PurchaseOrder) -> bool:
    """Every line of the order is invoiced by approved invoices: all it ordered, or (delivery
    finished) all it received."""
    invoiced = invoiced_quantities([ln.id for ln in order.lines], APPROVED)
    finished = str(order.status) in ("received", "closed")
    for ln in order.lines:
        due = ln.received_quantity if finished else ln.quantity
        if invoiced.get(ln.id, Decimal(0)) < due:
            return False
    return True


# ---------------------------------------------------------------- dispute


def dispute_invoice(invoice: Invoice, actor, *, reason: str, now: datetime | None = None) -> Invoice:
    """Dispute an issued invoice, saying why (the supplier reads it and may issue a credit note)."""
    enforce(actor, "invoices.dispute", invoice)
    reason = _text(reason, "reason", message=N_("Say what is wrong with the invoice."))
    invoice.status = InvoiceStatus.DISPUTED
    invoice.disputed_at = now or clock.now()
    invoice.disputed_by_id = actor.id
    invoice.dispute_reason = reason
    audit.record(actor=actor, action="invoice.disputed", obj=invoice, comment=reason,
                 summary={"number": invoice.number, "supplier": invoice.supplier.name})
    _tell_supplier(invoice, N_("%(buyer)s disputes invoice %(number)s: %(reason)s"), reason=reason)
    return invoice


# ---------------------------------------------------------------- payments


def record_payment(invoice: Invoice, actor, *, paid_on: date | None, amount: Decimal | None,
                   reference: str = "", take_discount: bool = False, today: date | None = None) -> Payment:
    """Record a payment of an approved or partly paid invoice (ValidationProblem on the field
    that is wrong); with `take_discount`, the early-payment discount settles the rest."""
    enforce(actor, "invoices.pay", invoice)
    today = today or today_of(invoice)
    if paid_on is None:
        raise _problem(Msg(N_("Enter the day it was paid.")), "paid_on")
    if paid_on > today:
        raise _problem(Msg(N_("A payment cannot be dated in the future.")), "paid_on")
    if invoice.issue_date is not None and paid_on < invoice.issue_date:
        raise _problem(Msg(N_("The invoice was issued on %(date)s: a payment cannot be earlier."),
                           {"date": invoice.issue_date}), "paid_on")
    if amount is None or amount <= 0:
        raise _problem(Msg(N_("Enter an amount greater than zero.")), "amount")
    if round_money(amount, invoice.currency) != amount:
        raise _problem(Msg(N_("Enter the amount to the cent.")), "amount")
    reference = _text(reference, "reference", message=None, limit=MAX_REFERENCE)
    due = invoice.amount_due
    discount = ZERO
    if take_discount:
        if not invoice.discount_amount or invoice.discount_until is None or invoice.discount_taken:
            raise _problem(Msg(N_("This invoice has no early-payment discount to take.")), "take_discount")
        if paid_on > invoice.discount_until:
            raise _problem(Msg(N_("The early-payment discount could be taken until %(date)s."),
                               {"date": invoice.discount_until}), "take_discount")
        discount = min(invoice.discount_amount, due)
        if amount != due - discount:
            raise _problem(Msg(N_("With the discount, pay exactly %(amount)s: the rest of the invoice."),
                               {"amount": Money(due - discount, invoice.currency)}), "amount")
    elif amount > due:
        raise _problem(Msg(N_("Only %(amount)s is left to pay on this invoice."),
                           {"amount": Money(due, invoice.currency)}), "amount")
    payment = Payment(paid_on=paid_on, amount=amount, discount=discount, reference=reference,
                      recorded_by_id=actor.id)
    invoice.payments.append(payment)
    invoice.paid_total += amount
    invoice.discount_taken += discount
    invoice.status = InvoiceStatus(rules.settle_status(
        status=invoice.status, gross=invoice.gross_total, credited=invoice.credited_total,
        paid=invoice.paid_total, discount=invoice.discount_taken))
    money = Money(amount, invoice.currency)
    audit.record(actor=actor, action="invoice.payment_recorded", obj=invoice,
                 summary={"number": invoice.number, "amount": money, "date": paid_on, "reference": reference,
                          "discount": Money(discount, invoice.currency)})
    if invoice.status == InvoiceStatus.PAID:
        invoice.paid_on = paid_on
        audit.record(actor=actor, action="invoice.paid", obj=invoice,
                     summary={"number": invoice.number, "date": paid_on})
        _tell_supplier(invoice, N_("%(buyer)s paid invoice %(number)s in full (%(amount)s on %(date)s)."),
                       amount=money, date=paid_on)
    else:
        _tell_supplier(invoice, N_("%(buyer)s paid %(amount)s of invoice %(number)s on %(date)s."),
                       amount=money, date=paid_on)
    db.session.flush()
    return payment
