"""Drafting invoices (the supplier's side): a draft from received order lines, editing it,
deleting it.

A draft is the supplier's alone (the buyer never sees it: policy and queries). Its lines
reference order lines of ONE buyer's orders to this supplier (one link); a new draft takes each
line's open quantity (accepted minus invoiced minus drafted) at the order's price and VAT code.
Its currency is the orders' currency (the link's, or the agreement's an order was issued in);
its terms the order's when there is one order, else the link's; its language the buyer's.

Nothing here numbers or freezes anything: `issuing.issue_invoice` re-checks the lines, runs the
three-way match and numbers the invoice. The match is not enforced on a draft (a mismatched
invoice is issued flagged, and only a buyer admin approves it with a reason); the draft page
previews it with `issuing.match_problems`.

Services never commit; errors: ValidationProblem (with `.field`), and the policies' refusals.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm.exc import ObjectDeletedError

from portal.domain import exemption
from portal.domain import orders as order_rules
from portal.domain.messages import N_, Msg
from portal.domain.terms import PaymentTerms
from portal.domain.vat import totals_by_code
from portal.errors import NotFound, ValidationProblem
from portal.extensions import db
from portal.models.invoice import Invoice, InvoiceKind, InvoiceLine, InvoiceStatus
from portal.models.order import OrderStatus, PurchaseOrder, PurchaseOrderLine
from portal.models.org import Organization, SupplierLink
from portal.money import Money
from portal.policies import enforce
from portal.services import audit
from portal.services.invoicing.invoiceable import OpenLine, open_lines
from portal.services.locks import lock_row

ZERO = Decimal(0)
# Lines on one invoice at most (a consolidated month of deliveries may be long).
MAX_LINES = 1000
LANGUAGES = ("pl", "en")
QUANTITY_PLACES = 3  # NUMERIC(12, 3)
PRICE_PLACES = 4  # NUMERIC(18, 4)


@dataclass
class DraftLineInput:
    """One line of a draft as the edit form sends it."""

    order_line_id: int
    quantity: Decimal
    unit_price: Decimal
    vat_code: str
    description: str | None = None  # None or blank = the order line's description


def problem(msg: Msg, field: str | None = None) -> ValidationProblem:
    exc = ValidationProblem(msg)
    exc.field = field
    return exc


def language_of(org: Organization) -> str:
    """The language documents for `org` are printed in: Polish for a Polish reader, else English."""
    return "pl" if str(org.locale or "").lower().startswith("pl") else "en"


# ---------------------------------------------------------------- lines and totals


def fill_line(line: InvoiceLine, *, order_line: PurchaseOrderLine, quantity: Decimal, unit_price: Decimal,
              vat_code: str, description: str, currency: str) -> InvoiceLine:
    """Set an invoice line's fields and amounts (net half-up, its VAT at the code's rate)."""
    amounts = order_rules.line_amounts(quantity, unit_price, vat_code, currency)
    line.order_id, line.order_line_id = order_line.order_id, order_line.id
    line.description = (description or order_line.description).strip()[:300]
    line.quantity, line.unit, line.unit_price = quantity, order_line.unit or "pcs", unit_price
    line.vat_code, line.vat_rate = str(vat_code), amounts.rate
    line.net, line.vat, line.gross = amounts.net, amounts.vat, amounts.gross
    line.match_problem = ""
    return line


def set_totals(invoice: Invoice) -> None:
    """The invoice's totals the invoice way (art. 106e ust. 11): VAT per code from summed nets."""
    summary = totals_by_code(((ln.vat_code, ln.net) for ln in invoice.lines), invoice.currency)
    invoice.net_total, invoice.vat_total, invoice.gross_total = summary.net, summary.vat, summary.gross


def vat_summary(invoice: Invoice):
    """The per-code rows and totals of an invoice (for its pages)."""
    return totals_by_code(((ln.vat_code, ln.net) for ln in invoice.lines), invoice.currency)


def new_draft(link: SupplierLink, *, created_by_id: int, currency: str, payment_terms: PaymentTerms,
              lines: list[OpenLine], period: str | None = None, flush: bool = True) -> Invoice:
    """A draft over `link` with each open line's open quantity at the order's price and VAT
    code, and the supplier's usual exemption basis (company profile) for its `zw` lines (added
    to the session; flushed unless `flush` is False: the monthly run flushes its drafts
    together)."""
    supplier = link.supplier
    basis_kind, basis = exemption.stored_basis(supplier.exemption_basis_kind, supplier.exemption_basis)
    invoice = Invoice(
        organization_id=link.organization_id, supplier_id=link.supplier_id, link_id=link.id,
        kind=InvoiceKind.INVOICE, status=InvoiceStatus.DRAFT, language=language_of(link.buyer),
        currency=currency, payment_terms=payment_terms, period=period, created_by_id=created_by_id,
        net_total=ZERO, vat_total=ZERO, gross_total=ZERO, exemption_basis_kind=basis_kind, exemption_basis=basis,
    )
    for position, open_line in enumerate(lines, start=1):
        order_line = open_line.order_line
        invoice.lines.append(fill_line(
            InvoiceLine(position=position), order_line=order_line, quantity=open_line.open_quantity,
            unit_price=order_line.unit_price, vat_code=order_line.vat_code,
            description=order_line.description, currency=currency))
    set_totals(invoice)
    db.session.add(invoice)
    if flush:
        db.session.flush()
    return invoice


# ---------------------------------------------------------------- drafting


def _orders_of(link: SupplierLink, order_ids: list[int]) -> list[PurchaseOrder]:
    """The link's orders by id (through the tenant filter); ValidationProblem for any other."""
    orders = list(db.session.scalars(
        select(PurchaseOrder).where(PurchaseOrder.id.in_(order_ids)).order_by(PurchaseOrder.id)))
    if len(orders) != len(order_ids) or any(
            o.organization_id != link.organization_id or o.supplier_id != link.supplier_id for o in orders):
        raise problem(Msg(N_("Only orders of %(buyer)s to your company can be invoiced together."),
                          {"buyer": link.buyer.name}), "orders")
    cancelled = [o.number for o in orders if o.status == OrderStatus.CANCELLED]
    if cancelled:
        raise problem(Msg(N_("Order %(number)s was cancelled: it cannot be invoiced."),
                          {"number": cancelled[0]}), "orders")
    return orders


def _currency_of(link: SupplierLink, orders: list[PurchaseOrder]) -> str:
    currencies = sorted({o.currency for o in orders})
    if len(currencies) > 1:
        raise problem(Msg(N_("These orders are in different currencies (%(currencies)s): invoice them separately."),
                          {"currencies": ", ".join(currencies)}), "orders")
    return currencies[0] if currencies else link.currency


def draft_from_orders(link: SupplierLink, order_ids: Iterable[int], actor) -> Invoice:
    """A draft invoice of what was received and not yet invoiced on the link's orders.

    One order: "invoice what was received" (its terms); several: a consolidated invoice (the
    link's terms). Raises ValidationProblem when no order is chosen, an order is not the link's
    (another buyer's or supplier's) or cancelled, the orders are in different currencies, or
    nothing received is left to invoice; PermissionDenied / InvalidTransition from
    "supplier_invoices.draft" (the supplier's people, an active link). Records "invoice.drafted".
    """
    enforce(actor, "supplier_invoices.draft", link)
    ids = list(dict.fromkeys(int(i) for i in order_ids))
    if not ids:
        raise problem(Msg(N_("Choose at least one order to invoice.")), "orders")
    orders = _orders_of(link, ids)
    currency = _currency_of(link, orders)
    terms = orders[0].payment_terms if len(orders) == 1 else link.payment_terms
    lines = [line for line in open_lines(ids) if line.open_quantity > 0]
    if not lines:
        raise problem(Msg(N_("Nothing received on these orders is left to invoice.")), "orders")
    if len(lines) > MAX_LINES:
        raise problem(Msg(N_("An invoice holds at most %(num)s lines: choose fewer orders."),
                          {"num": MAX_LINES}), "orders")
    invoice = new_draft(link, created_by_id=actor.id, currency=currency, payment_terms=terms, lines=lines)
    draft_event(actor=actor, action="invoice.drafted", invoice=invoice, summary={
        "orders": ", ".join(o.number for o in orders), "lines": len(invoice.lines),
        "gross": Money(invoice.gross_total, currency)})
    db.session.flush()
    return invoice


# ---------------------------------------------------------------- editing


def draft_event(*, actor, action: str, invoice: Invoice, **details):
    """Record an event of a draft as the supplier's alone: the buyer sees neither a draft nor
    its history (the events from issue on are shared, so both read the same timeline)."""
    return audit.record(actor=actor, action=action, obj=invoice, organization_id=invoice.supplier_id, **details)


def _places(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 99


def _decimal(value, field: str) -> Decimal:
    if isinstance(value, float):
        raise TypeError("money is never a float")
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (ArithmeticError, ValueError):
        raise problem(Msg(N_("Enter a number.")), field) from None
    if not number.is_finite():
        raise problem(Msg(N_("Enter a number.")), field)
    return number


def _check_line(index: int, data: DraftLineInput, order_line: PurchaseOrderLine) -> tuple[Decimal, Decimal, str]:
    """The line's quantity, unit price and description, or ValidationProblem naming its field."""
    prefix = f"lines-{index}-"
    quantity = _decimal(data.quantity, prefix + "quantity")
    unit_price = _decimal(data.unit_price, prefix + "unit_price")
    description = (data.description or "").strip() or order_line.description
    found = order_rules.line_problem(quantity, unit_price, description, data.vat_code)
    if found is not None:
        field = ("quantity" if "quantity" in found.text else "unit_price" if "price" in found.text
                 else "vat_code" if "VAT" in found.text else "description")
        raise problem(found, prefix + field)
    if _places(quantity) > QUANTITY_PLACES:
        raise problem(Msg(N_("A quantity has at most %(num)s decimal places."), {"num": QUANTITY_PLACES}),
                      prefix + "quantity")
    if _places(unit_price) > PRICE_PLACES:
        raise problem(Msg(N_("A unit price has at most %(num)s decimal places."), {"num": PRICE_PLACES}),
                      prefix + "unit_price")
    return quantity, unit_price, description


def order_lines_of(invoice: Invoice, ids: list[int]) -> dict[int, PurchaseOrderLine]:
    found = {line.id: line for line in db.session.scalars(
        select(PurchaseOrderLine)
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.order_id)
        .where(PurchaseOrderLine.id.in_(ids), PurchaseOrder.organization_id == invoice.organization_id,
               PurchaseOrder.supplier_id == invoice.supplier_id,
               PurchaseOrder.status != OrderStatus.CANCELLED))}
    if set(ids) - set(found):
        raise problem(Msg(N_("Every line must come from an order of %(buyer)s to your company that is not cancelled."),
                          {"buyer": invoice.buyer.name}), "lines")
    return found


def _exchange(invoice: Invoice, rate, rate_date: date | None) -> tuple[Decimal | None, date | None]:
    if invoice.currency == "PLN":
        return None, None
    if rate is None or (isinstance(rate, str) and not rate.strip()):
        return None, rate_date
    rate = _decimal(rate, "exchange_rate")
    if rate <= 0:
        raise problem(Msg(N_("The exchange rate must be more than zero.")), "exchange_rate")
    if _places(rate) > 6:
        raise problem(Msg(N_("An exchange rate has at most %(num)s decimal places."), {"num": 6}),
                      "exchange_rate")
    return rate, rate_date


def lock_draft(invoice: Invoice, actor, action: str) -> None:
    """Hold the invoice's row and read it again, then ask the policy: a concurrent issue, edit
    or delete committed meanwhile is seen (the second one refused with the usual message)."""
    enforce(actor, action, invoice)
    lock_row(invoice)
    try:
        db.session.refresh(invoice)
    except (ObjectDeletedError, InvalidRequestError):
        raise NotFound(Msg(N_("This draft was deleted meanwhile."))) from None
    enforce(actor, action, invoice)


def _exemption_basis(invoice: Invoice, lines: list[DraftLineInput], kind: str | None,
                     text: str | None) -> tuple[str | None, str]:
    """The draft's exemption basis as it will be kept: the one sent (None: the draft's own),
    required and checked when a line is exempt (`zw`), not kept when malformed without one."""
    kind = invoice.exemption_basis_kind if kind is None else kind
    text = invoice.exemption_basis if text is None else text
    required = exemption.has_exempt_lines(str(data.vat_code) for data in lines)
    found = exemption.basis_problem(kind, text, required=required)
    if found is not None and required:
        raise problem(*found)
    return exemption.stored_basis(kind, text)


def update_draft(invoice: Invoice, actor, *, lines: list[DraftLineInput], language: str, notes: str,
                 sale_date: date | None, annex15: bool, exchange_rate: Decimal | None,
                 exchange_rate_date: date | None, exemption_basis_kind: str | None = None,
                 exemption_basis: str | None = None) -> Invoice:
    """Replace a draft's lines and header fields; totals again.

    Lines are matched to the draft's existing lines by order line (kept, with their ids),
    removed when missing and added when new. Raises ValidationProblem (nothing changed) for no
    line, too many, an order line twice, a line of another buyer's or supplier's order or of a
    cancelled order, a quantity or price not above zero (or with too many decimals), an
    unknown VAT code, an unknown language, a bad exchange rate, or (with an exempt `zw` line)
    a missing or malformed legal basis of the exemption (`exemption_basis_kind`,
    `exemption_basis`: None keeps the draft's; portal.domain.exemption); InvalidTransition for
    an issued invoice ("supplier_invoices.edit"). Records "invoice.updated" with what changed.
    """
    lock_draft(invoice, actor, "supplier_invoices.edit")
    language = (language or "").strip().lower()
    if language not in LANGUAGES:
        raise problem(Msg(N_("Choose Polish or English.")), "language")
    lines = list(lines)
    if not lines:
        raise problem(Msg(N_("An invoice needs at least one line.")), "lines")
    if len(lines) > MAX_LINES:
        raise problem(Msg(N_("An invoice holds at most %(num)s lines."), {"num": MAX_LINES}), "lines")
    ids = [int(data.order_line_id) for data in lines]
    if len(set(ids)) != len(ids):
        raise problem(Msg(N_("An order line appears twice on this invoice.")), "lines")
    order_lines = order_lines_of(invoice, ids)
    checked = [_check_line(i, data, order_lines[data.order_line_id]) for i, data in enumerate(lines)]
    rate, rate_date = _exchange(invoice, exchange_rate, exchange_rate_date)
    basis_kind, basis = _exemption_basis(invoice, lines, exemption_basis_kind, exemption_basis)

    before = {"lines": len(invoice.lines), "gross": Money(invoice.gross_total, invoice.currency),
              "language": invoice.language, "sale_date": invoice.sale_date, "annex15": invoice.annex15,
              "exchange_rate": invoice.exchange_rate, "notes": invoice.notes,
              "exemption_basis": invoice.exemption_basis or ""}
    existing = {line.order_line_id: line for line in invoice.lines}
    kept = []
    for position, (data, (quantity, unit_price, description)) in enumerate(zip(lines, checked, strict=True), 1):
        line = existing.pop(data.order_line_id, None) or InvoiceLine()
        line.position = position
        fill_line(line, order_line=order_lines[data.order_line_id], quantity=quantity, unit_price=unit_price,
                  vat_code=str(data.vat_code), description=description, currency=invoice.currency)
        kept.append(line)
    invoice.lines[:] = kept
    invoice.language = language
    invoice.notes = (notes or "").strip()[:4000]
    invoice.sale_date = sale_date
    invoice.annex15 = bool(annex15)
    invoice.exchange_rate, invoice.exchange_rate_date = rate, rate_date
    invoice.exemption_basis_kind, invoice.exemption_basis = basis_kind, basis
    set_totals(invoice)
    after = {"lines": len(invoice.lines), "gross": Money(invoice.gross_total, invoice.currency),
             "language": invoice.language, "sale_date": invoice.sale_date, "annex15": invoice.annex15,
             "exchange_rate": invoice.exchange_rate, "notes": invoice.notes,
             "exemption_basis": invoice.exemption_basis or ""}
    changes = {key: (before[key], after[key]) for key in before if before[key] != after[key]}
    db.session.flush()
    draft_event(actor=actor, action="invoice.updated", invoice=invoice, changes=changes or None,
                 summary={"lines": len(invoice.lines)})
    db.session.flush()
    return invoice


def delete_draft(invoice: Invoice, actor) -> None:
    """Delete a draft (never an issued invoice: InvalidTransition). Records "invoice.deleted".
    A monthly draft deleted is drafted again by the next run for its month."""
    lock_draft(invoice, actor, "supplier_invoices.edit")
    draft_event(actor=actor, action="invoice.deleted", invoice=invoice, summary={
        "lines": len(invoice.lines), "gross": Money(invoice.gross_total, invoice.currency),
        "period": invoice.period or ""})
    db.session.delete(invoice)
    db.session.flush()
