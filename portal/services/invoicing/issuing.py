"""Issuing invoices and credit notes (the supplier's side).

Issuing a draft, in the caller's one transaction (a failure anywhere rolls everything back,
the number included: no gap):
- the draft's row is locked and read again (a double click issues once), then its orders' rows
  in id order (a receipt or another issue racing this one is seen);
- lines re-checked (quantities, prices, VAT codes, each from a live order of this buyer to this
  supplier, none twice);
- reverse charge decided from the parties' countries and the buyer's VAT ID (every line `oo`,
  no VAT); an `oo` line where it does not apply is refused;
- three-way match per line (`portal.domain.invoicing.match_line`): the problem stored on the
  line (JSON of a `Msg`; read it with `match_problem_of`) and the invoice `matched` or
  `mismatched` — a mismatched invoice IS issued, flagged for the buyer;
- an invoice with an exempt (`zw`) line states the legal basis of the exemption (art. 106e
  ust. 1 pkt 19: `exemption_basis_kind` and `exemption_basis`, chosen on the draft); refused
  without one, cleared on an invoice without `zw` lines;
- a foreign currency from a Polish seller needs the PLN exchange rate of a day before the issue
  date (art. 31a; VAT in PLN stored), split payment decided (annex 15, > 15 000 PLN gross);
- the seller's IBAN is required (company profile);
- number FV/<year>/<seq> through `numbering.next_sequence` (per supplier, year, kind), issue
  date today in the supplier's time zone, due date and discount window from the terms, sale
  date (default: the last receipt of the lines), both parties frozen in `parties`;
- the stored documents (PDF, and KSeF XML for a Polish seller: helper C's `store_documents`),
  audit "invoice.issued", the buyer's approvers and admins told.

A credit note (KOR/<year>/<seq>) corrects an issued, unsettled invoice, whole or per line,
never more than remains uncredited per line nor more than the invoice still owes; its lines and
totals are positive and reduce the original (`credited_total`, status via `settle_status`).
The last credit note of a VAT code takes exactly the VAT that remains of it, so a whole
correction always brings the invoice to zero.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select

from portal.domain import exemption
from portal.domain import invoicing as rules
from portal.domain import orders as order_rules
from portal.domain.bank import InvalidIban, normalize_iban
from portal.domain.messages import N_, Link, Msg
from portal.domain.taxid import InvalidTaxId, normalize_tax_id
from portal.domain.vat import line_net, line_vat
from portal.extensions import db
from portal.models.invoice import Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, MatchStatus
from portal.models.order import GoodsReceipt, GoodsReceiptLine, PurchaseOrder, PurchaseOrderLine
from portal.models.org import Organization
from portal.money import Money, round_money
from portal.policies import enforce
from portal.services import audit, clock
from portal.services.clock import today_for
from portal.services.invoicing.drafting import lock_draft, order_lines_of, problem, set_totals
from portal.services.invoicing.invoiceable import credit_vat, credited_lines, quantities
from portal.services.locks import lock_row
from portal.services.notifications import notify_organization
from portal.services.numbering import next_sequence

ZERO = Decimal(0)
REVERSE_CHARGE = "oo"
# Who on the buyer's side hears of a new invoice or credit note: those who approve and pay.
BUYER_ROLES = ("admin", "approver")


@dataclass
class CreditLineInput:
    """One line of a credit note: how much of an invoice line to credit.

    `unit_price` None = the invoice line's unit price (goods returned / not delivered: the
    quantity becomes invoiceable again); a lower price = a price correction of `quantity` units
    (credits quantity × unit_price; the quantity stays invoiced)."""

    invoice_line_id: int
    quantity: Decimal
    unit_price: Decimal | None = None


@dataclass
class CreditableLine:
    """An invoice line with what credit notes took of it and what remains to credit."""

    line: InvoiceLine
    credited_quantity: Decimal  # credited at the line's own price (returned)
    credited_net: Decimal
    remaining_quantity: Decimal
    remaining_net: Decimal
    price_corrected: bool  # some credit of it was a price correction


# ---------------------------------------------------------------- match


def stored_problem(msg: Msg | None) -> str:
    return "" if msg is None else json.dumps(msg.to_json(), ensure_ascii=False)


def match_problem_of(line: InvoiceLine) -> Msg | None:
    """The stored match problem of a line as a Msg (rendered in the reader's language), or None."""
    raw = (line.match_problem or "").strip()
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return Msg(raw)
    return Msg.from_json(data)


def _match(invoice: Invoice, order_lines: dict[int, PurchaseOrderLine]) -> dict[int, Msg | None]:
    """{order line id: why the invoice line does not match, or None}: received, received minus
    invoiced before (other invoices, issued), price within the link's tolerance."""
    before = quantities(order_lines, exclude_invoice_id=invoice.id)
    tolerance = invoice.link.price_tolerance
    result = {}
    for line in invoice.lines:
        order_line = order_lines[line.order_line_id]
        result[line.order_line_id] = rules.match_line(
            quantity=Decimal(line.quantity), unit_price=Decimal(line.unit_price),
            order_unit_price=Decimal(order_line.unit_price),
            received=Decimal(order_line.received_quantity or 0),
            invoiced_before=before.get(order_line.id, (ZERO, ZERO))[0], tolerance_percent=tolerance)
    return result


def match_problems(invoice: Invoice) -> dict[int, Msg | None]:
    """A preview of the three-way match of a draft (or the stored result of an issued invoice):
    {invoice line id: problem or None}."""
    if invoice.status != InvoiceStatus.DRAFT:
        return {line.id: match_problem_of(line) for line in invoice.lines}
    ids = [line.order_line_id for line in invoice.lines if line.order_line_id is not None]
    order_lines = {ol.id: ol for ol in db.session.scalars(
        select(PurchaseOrderLine).where(PurchaseOrderLine.id.in_(ids)))}
    if set(ids) - set(order_lines):
        return {line.id: None for line in invoice.lines}
    found = _match(invoice, order_lines)
    return {line.id: found.get(line.order_line_id) for line in invoice.lines}


# ---------------------------------------------------------------- issuing helpers


def _vat_id_valid(org: Organization) -> bool:
    try:
        normalize_tax_id(org.tax_id, org.country)
    except InvalidTaxId:
        return False
    return bool(org.tax_id)


def party(org: Organization, *, bank: bool = False) -> dict:
    """An organisation as printed on an invoice (frozen at issue)."""
    data = {"name": org.name, "legal_name": org.legal_name, "tax_id": org.tax_id,
            "address_line": org.address_line, "postal_code": org.postal_code, "city": org.city,
            "country": org.country}
    if bank:
        data.update(iban=org.iban or "", bank=org.bank_name or "")
    return data


def _lock_orders(order_ids) -> None:
    for order_id in sorted({i for i in order_ids if i is not None}):
        order = db.session.get(PurchaseOrder, order_id)
        if order is not None:
            lock_row(order)


def _last_receipt(order_line_ids) -> date | None:
    return db.session.scalar(
        select(func.max(GoodsReceipt.received_on))
        .join(GoodsReceiptLine, GoodsReceiptLine.receipt_id == GoodsReceipt.id)
        .where(GoodsReceiptLine.order_line_id.in_(list(order_line_ids)),
               GoodsReceiptLine.quantity > GoodsReceiptLine.rejected_quantity))


def _store_documents(invoice: Invoice) -> None:
    """Render and store the documents (helper C's service; skipped while it does not exist)."""
    try:
        from portal.services.invoicing import documents
    except ImportError:
        return
    store = getattr(documents, "store_documents", None)
    if store is not None:
        store(invoice)


def _check_lines(invoice: Invoice) -> dict[int, PurchaseOrderLine]:
    if not invoice.lines:
        raise problem(Msg(N_("An invoice needs at least one line.")), "lines")
    ids = [line.order_line_id for line in invoice.lines]
    if None in ids:
        raise problem(Msg(N_("Every line must come from an order.")), "lines")
    if len(set(ids)) != len(ids):
        raise problem(Msg(N_("An order line appears twice on this invoice.")), "lines")
    order_lines = order_lines_of(invoice, ids)
    for line in invoice.lines:
        found = order_rules.line_problem(line.quantity, line.unit_price, line.description, line.vat_code)
        if found is not None:
            raise problem(found, "lines")
    return order_lines


def _tax(invoice: Invoice, seller: Organization, buyer: Organization) -> None:
    """Reverse charge: every line `oo` (no VAT) when it applies; `oo` refused when it does not."""
    applies = rules.reverse_charge_applies(seller_country=seller.country, buyer_country=buyer.country,
                                           buyer_vat_id_valid=_vat_id_valid(buyer))
    invoice.reverse_charge = applies
    if not applies and any(line.vat_code == REVERSE_CHARGE for line in invoice.lines):
        raise problem(Msg(N_("Reverse charge (oo) applies only to a buyer with a valid VAT ID in another EU "
                             "country: choose the line's VAT rate.")), "lines")
    for line in invoice.lines:
        code = REVERSE_CHARGE if applies else line.vat_code
        amounts = order_rules.line_amounts(Decimal(line.quantity), Decimal(line.unit_price), code, invoice.currency)
        line.vat_code, line.vat_rate = code, amounts.rate
        line.net, line.vat, line.gross = amounts.net, amounts.vat, amounts.gross
    set_totals(invoice)


def _exemption(invoice: Invoice) -> None:
    """An exempt (`zw`) line needs the basis of its exemption (art. 106e ust. 1 pkt 19): refused
    without a valid one, naming the draft's field; an invoice without `zw` lines keeps none."""
    required = exemption.has_exempt_lines(line.vat_code for line in invoice.lines)
    kind, text = invoice.exemption_basis_kind, invoice.exemption_basis
    if required:
        found = exemption.basis_problem(kind, text, required=True)
        if found is not None:
            raise problem(*found)
    invoice.exemption_basis_kind, invoice.exemption_basis = (
        exemption.stored_basis(kind, text) if required else (None, ""))


def _currency(invoice: Invoice, seller: Organization, today: date) -> Decimal:
    """The exchange rate rules; returns the gross in PLN (for split payment)."""
    if invoice.currency == "PLN":
        invoice.exchange_rate = invoice.exchange_rate_date = invoice.vat_total_pln = None
        return invoice.gross_total
    rate = invoice.exchange_rate
    if rate is None:
        if seller.country == "PL" and invoice.vat_total > 0:
            raise problem(Msg(N_("Enter the exchange rate (PLN for 1 %(currency)s) of the last working day "
                                 "before the issue date: the VAT must also be shown in PLN."),
                              {"currency": invoice.currency}), "exchange_rate")
        invoice.exchange_rate_date = invoice.vat_total_pln = None
        return ZERO
    rate_date = invoice.exchange_rate_date or today - timedelta(days=1)
    if rate_date >= today:
        raise problem(Msg(N_("The exchange rate must be of a day before the issue date (%(today)s)."),
                          {"today": today}), "exchange_rate_date")
    invoice.exchange_rate_date = rate_date
    invoice.vat_total_pln = rules.vat_in_pln(invoice.vat_total, rate)
    return round_money(invoice.gross_total * rate, "PLN")


def _terms(invoice: Invoice, today: date) -> None:
    terms = invoice.payment_terms
    invoice.due_date = terms.schedule(today, invoice.gross_total, invoice.currency)[-1].due_on
    early = terms.early_payment(today, invoice.gross_total, invoice.currency)
    invoice.discount_until = early.pay_by if early else None
    invoice.discount_amount = early.discount if early else None


def _tell_buyer(document: Invoice, text: str, **params) -> None:
    notify_organization(document.organization_id, text, roles=BUYER_ROLES, kind=f"invoice.{document.kind}",
                        link=Link("invoices.detail", {"invoice_id": document.id}), **params)


# ---------------------------------------------------------------- issue


def issue_invoice(invoice: Invoice, actor, *, today: date | None = None) -> Invoice:
    """Issue a draft: checks, match, tax, number, dates, parties, documents (module docstring).

    Raises InvalidTransition / PermissionDenied ("supplier_invoices.issue": not a draft any more,
    another company's, a blocked link) and ValidationProblem (no IBAN, no exchange rate, bad
    lines, reverse charge where it does not apply, an exempt line without the legal basis of
    its exemption): nothing is written then, no number taken.
    """
    lock_draft(invoice, actor, "supplier_invoices.issue")
    seller, buyer = invoice.supplier, invoice.buyer
    order_lines = _check_lines(invoice)
    _lock_orders(ol.order_id for ol in order_lines.values())
    # Received quantities as committed by now (under the orders' locks).
    db.session.scalars(select(PurchaseOrderLine).where(PurchaseOrderLine.id.in_(list(order_lines)))
                       .execution_options(populate_existing=True)).all()
    now = clock.now()
    today = today or today_for(seller, now)
    if not (seller.iban or "").strip():
        raise problem(Msg(N_("Add your company's bank account (IBAN) in the company profile before issuing "
                             "invoices: it is printed on every invoice.")), "iban")
    try:
        iban = normalize_iban(seller.iban)
    except InvalidIban:
        raise problem(Msg(N_("Your company's bank account (IBAN) is not valid: correct it in the company "
                             "profile before issuing invoices.")), "iban") from None
    _tax(invoice, seller, buyer)
    _exemption(invoice)
    gross_pln = _currency(invoice, seller, today)

    found = _match(invoice, order_lines)
    for line in invoice.lines:
        line.match_problem = stored_problem(found[line.order_line_id])
    invoice.match_status = MatchStatus.MISMATCHED if any(found.values()) else MatchStatus.MATCHED
    invoice.split_payment = rules.split_payment_required(
        seller_country=seller.country, gross_pln=gross_pln, annex15=invoice.annex15)

    sequence = next_sequence(invoice.supplier_id, rules.SEQUENCE_KINDS[rules.InvoiceKind.INVOICE], today.year)
    invoice.number = rules.format_number(InvoiceKind.INVOICE, today.year, sequence)
    invoice.issue_date = today
    _terms(invoice, today)
    invoice.sale_date = invoice.sale_date or _last_receipt(order_lines) or today
    invoice.parties = {"seller": {**party(seller, bank=True), "iban": iban}, "buyer": party(buyer)}
    invoice.bank_account = iban
    invoice.status = InvoiceStatus.ISSUED
    invoice.issued_at, invoice.issued_by_id = now, actor.id
    db.session.flush()
    _store_documents(invoice)
    audit.record(actor=actor, action="invoice.issued", obj=invoice, summary={
        "number": invoice.number, "buyer": buyer.name, "gross": Money(invoice.gross_total, invoice.currency),
        "due_date": invoice.due_date, "match": str(invoice.match_status)})
    _tell_buyer(invoice, N_("%(supplier)s issued invoice %(number)s for %(gross)s, due %(due)s."),
                supplier=seller.name, number=invoice.number, gross=Money(invoice.gross_total, invoice.currency),
                due=invoice.due_date)
    db.session.flush()
    return invoice


# ---------------------------------------------------------------- credit notes


def creditable_lines(original: Invoice) -> list[CreditableLine]:
    """Per line of `original` (position order): what credit notes took and what remains."""
    credited = defaultdict(list)
    for line in credited_lines(original.id):
        credited[line.corrects_line_id].append(line)
    result = []
    for line in original.lines:
        taken = credited.get(line.id, [])
        full = sum((c.quantity for c in taken if c.unit_price == line.unit_price), ZERO)
        net = sum((c.net for c in taken), ZERO)
        result.append(CreditableLine(
            line, full, net, max(Decimal(line.quantity) - full, ZERO), max(Decimal(line.net) - net, ZERO),
            any(c.unit_price != line.unit_price for c in taken)))
    return result


def _unit_price_for(net: Decimal, quantity: Decimal) -> Decimal:
    return (net / quantity).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


Chosen = list[tuple[InvoiceLine, Decimal, Decimal, Decimal]]


def _chosen(original: Invoice, lines: list[CreditLineInput] | None) -> Chosen:
    """(invoice line, quantity, unit price, net) of each line to credit, checked."""
    creditable = {c.line.id: c for c in creditable_lines(original)}
    chosen = []
    if lines is None:
        for c in creditable.values():
            if c.remaining_net <= 0:
                continue
            line = c.line
            if c.price_corrected or c.remaining_quantity <= 0:
                quantity = Decimal(line.quantity)
                chosen.append((line, quantity, _unit_price_for(c.remaining_net, quantity), c.remaining_net))
            else:
                chosen.append((line, c.remaining_quantity, Decimal(line.unit_price), c.remaining_net))
        if not chosen:
            raise problem(Msg(N_("Everything on this invoice has been credited already.")), "lines")
        return chosen
    lines = list(lines)
    if not lines:
        raise problem(Msg(N_("Choose at least one line to credit.")), "lines")
    if len({data.invoice_line_id for data in lines}) != len(lines):
        raise problem(Msg(N_("A line appears twice on this credit note.")), "lines")
    for index, data in enumerate(lines):
        prefix = f"lines-{index}-"
        c = creditable.get(int(data.invoice_line_id))
        if c is None:
            raise problem(Msg(N_("Only lines of the corrected invoice can be credited.")), "lines")
        line = c.line
        quantity = Decimal(data.quantity) if data.quantity is not None else ZERO
        if not quantity.is_finite() or quantity <= 0:
            raise problem(Msg(N_("A quantity must be more than zero.")), prefix + "quantity")
        price = Decimal(line.unit_price) if data.unit_price is None else Decimal(data.unit_price)
        if not price.is_finite() or price <= 0:
            raise problem(Msg(N_("A unit price must be more than zero.")), prefix + "unit_price")
        if price > line.unit_price:
            raise problem(Msg(N_("A credit cannot be more than the invoiced unit price %(price)s."),
                              {"price": Money(line.unit_price, original.currency)}), prefix + "unit_price")
        if price == line.unit_price:
            if quantity > c.remaining_quantity:
                raise problem(Msg(N_("Line %(position)s: at most %(quantity)s is left to credit."),
                                  {"position": line.position, "quantity": c.remaining_quantity}), prefix + "quantity")
            exact = quantity == c.remaining_quantity and not c.price_corrected
            net = c.remaining_net if exact else line_net(quantity, price, original.currency)
        else:
            if quantity > line.quantity:
                raise problem(Msg(N_("Line %(position)s: at most %(quantity)s was invoiced."),
                                  {"position": line.position, "quantity": line.quantity}), prefix + "quantity")
            net = line_net(quantity, price, original.currency)
        if net > c.remaining_net:
            raise problem(Msg(N_("Line %(position)s: at most %(amount)s is left to credit."),
                              {"position": line.position, "amount": Money(c.remaining_net, original.currency)}),
                          prefix + "quantity")
        chosen.append((line, quantity, price, net))
    return chosen


def issue_credit_note(original: Invoice, actor, *, reason: str,
                      lines: list[CreditLineInput] | None = None) -> Invoice:
    """Correct an issued invoice with a credit note: whole (`lines` None: everything that
    remains) or per line. Returns the credit note (issued, numbered KOR/<year>/<seq>).

    Raises InvalidTransition / PermissionDenied ("supplier_invoices.credit": a draft, a settled
    invoice, a credit note, another company's, a blocked link) and ValidationProblem (no reason,
    a line of another invoice, a quantity or price not above zero, more than remains to credit
    on a line, more than the invoice still owes). Records "invoice.credited" on both.
    """
    enforce(actor, "supplier_invoices.credit", original)
    lock_row(original)
    db.session.refresh(original)
    enforce(actor, "supplier_invoices.credit", original)
    reason = (reason or "").strip()
    if not reason:
        raise problem(Msg(N_("Say why the invoice is corrected: the reason is printed on the credit note.")),
                      "reason")
    currency = original.currency
    chosen = _chosen(original, lines)
    vat_by_code = credit_vat(original, ((line.vat_code, net) for line, _q, _p, net in chosen))
    net_total = sum((net for _l, _q, _p, net in chosen), round_money(ZERO, currency))
    vat_total = sum(vat_by_code.values(), round_money(ZERO, currency))
    gross_total = net_total + vat_total
    due = original.amount_due
    if gross_total > due:
        raise problem(Msg(N_("This credit note (%(gross)s) is more than the invoice still owes (%(due)s)."),
                          {"gross": Money(gross_total, currency), "due": Money(due, currency)}), "lines")

    exempt = exemption.has_exempt_lines(line.vat_code for line, _q, _p, _n in chosen)
    now = clock.now()
    today = today_for(original.supplier, now)
    sequence = next_sequence(original.supplier_id, rules.SEQUENCE_KINDS[rules.InvoiceKind.CREDIT_NOTE], today.year)
    note = Invoice(
        organization_id=original.organization_id, supplier_id=original.supplier_id, link_id=original.link_id,
        kind=InvoiceKind.CREDIT_NOTE, status=InvoiceStatus.ISSUED,
        number=rules.format_number(InvoiceKind.CREDIT_NOTE, today.year, sequence),
        language=original.language, currency=currency, payment_terms=original.payment_terms,
        issue_date=today, sale_date=original.sale_date, corrects_id=original.id, correction_reason=reason[:2000],
        reverse_charge=original.reverse_charge, annex15=original.annex15, split_payment=original.split_payment,
        # The exemption basis of the invoice, for its exempt lines the note corrects.
        exemption_basis_kind=original.exemption_basis_kind if exempt else None,
        exemption_basis=(original.exemption_basis or "") if exempt else "",
        exchange_rate=original.exchange_rate, exchange_rate_date=original.exchange_rate_date,
        vat_total_pln=(rules.vat_in_pln(vat_total, original.exchange_rate)
                       if original.exchange_rate is not None else None),
        net_total=net_total, vat_total=vat_total, gross_total=gross_total,
        parties=original.parties, bank_account=original.bank_account, notes="",
        created_by_id=actor.id, issued_at=now, issued_by_id=actor.id,
    )
    for position, (line, quantity, price, net) in enumerate(chosen, start=1):
        vat = line_vat(net, line.vat_code, currency)
        note.lines.append(InvoiceLine(
            position=position, order_id=line.order_id, order_line_id=line.order_line_id,
            corrects_line_id=line.id, description=line.description, quantity=quantity, unit=line.unit,
            unit_price=price, vat_code=line.vat_code, vat_rate=line.vat_rate, net=net, vat=vat, gross=net + vat))
    db.session.add(note)
    original.credited_total = Decimal(original.credited_total or 0) + gross_total
    original.status = rules.settle_status(
        status=original.status, gross=original.gross_total, credited=original.credited_total,
        paid=original.paid_total, discount=original.discount_taken)
    db.session.flush()
    _store_documents(note)
    money = Money(gross_total, currency)
    audit.record(actor=actor, action="invoice.credited", obj=original, comment=reason,
                 summary={"number": original.number, "credit_note": note.number, "gross": money,
                          "status": str(original.status)})
    audit.record(actor=actor, action="invoice.credited", obj=note, comment=reason,
                 summary={"number": note.number, "corrects": original.number, "gross": money})
    _tell_buyer(note, N_("%(supplier)s issued credit note %(number)s for %(gross)s correcting invoice %(invoice)s."),
                supplier=original.supplier.name, number=note.number, gross=money, invoice=original.number)
    db.session.flush()
    return note
