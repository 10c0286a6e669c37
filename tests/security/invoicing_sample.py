"""Invoicing objects of the security suites' sample world (tests/security/conftest.py), built
through the services: per buyer, from its order supplier (Nordwind, `INVOICE_SUPPLIER`):

- an order of 6 units, 5 received, invoiced twice (2 units each): `invoice` (issued, awaiting
  the buyer; its stored PDF is `invoice_document`) and `paid_invoice` (approved, partly paid:
  `payment`); the fifth unit stays open for the supplier's New invoice form;
- `credit_note`: a credit note correcting one unit of `invoice`;
- `invoice_draft`: a draft from the partly received sample order (sourcing_sample), which the
  buyer never sees (its notes carry a mark only the supplier reads).

Marks: the issued invoices' notes are read by the buyer and Nordwind only; Polbud and every
other organisation must never see them; the draft's notes by Nordwind only.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from portal.extensions import db
from portal.models import Organization, SupplierLink
from portal.models.base import utcnow
from portal.models.order import OrderSource, PurchaseOrder
from portal.services.clock import today_for
from portal.services.orders.issue import OrderLineInput, issue_order
from portal.services.orders.receiving import ReceiptLineInput, record_receipt
from portal.tenancy import bound, scope_for, system
from tests.security.sourcing_sample import mark

# The supplier whose invoices each buyer's sample holds (the order supplier of sourcing_sample).
INVOICE_SUPPLIER = {"acme": "nordwind", "globex": "nordwind"}
# Valid bank accounts for suppliers that issue in the sample (issuing needs one).
IBANS = {"nordwind": ("DE89370400440532013000", "Commerzbank")}


def _link(buyer_id: int, supplier_id: int) -> SupplierLink:
    return db.session.scalars(select(SupplierLink).where(
        SupplierLink.organization_id == buyer_id, SupplierLink.supplier_id == supplier_id)).one()


def _lines(invoice, quantities: list[Decimal] | None = None):
    from portal.services.invoicing.drafting import DraftLineInput

    return [DraftLineInput(order_line_id=line.order_line_id,
                           quantity=quantities[i] if quantities else line.quantity,
                           unit_price=line.unit_price, vat_code=line.vat_code,
                           description=line.description)
            for i, line in enumerate(invoice.lines)]


def _edit(invoice, seller, *, notes: str, quantities: list[Decimal] | None = None):
    from portal.services.invoicing.drafting import update_draft

    return update_draft(invoice, seller, lines=_lines(invoice, quantities), language=invoice.language,
                        notes=notes, sale_date=invoice.sale_date, annex15=False,
                        exchange_rate=invoice.exchange_rate, exchange_rate_date=invoice.exchange_rate_date)


def build_invoicing(sample, key: str, orgs: dict, people: dict, *, add, share) -> None:
    """The invoicing samples of buyer `key` (`add(kind, key, id)`, `share(mark, readers)`)."""
    from portal.services.invoicing.buyer import approve_invoice, record_payment
    from portal.services.invoicing.documents import document
    from portal.services.invoicing.drafting import draft_from_orders
    from portal.services.invoicing.issuing import CreditLineInput, issue_credit_note, issue_invoice

    org = orgs[key]
    supplier = INVOICE_SUPPLIER[key]
    supplier_org = orgs[supplier]
    buyer = people[f"buyer@{key}.example"]
    admin = people[f"admin@{key}.example"]
    seller = people[f"sales@{supplier}.example"]
    now = utcnow()
    order_mark = mark("Order", key, supplier)
    invoice_mark = mark("Invoice", key, supplier)
    draft_mark = mark("InvoiceDraft", key, supplier)
    share(invoice_mark, {key, supplier})
    share(draft_mark, {supplier})

    with system(db.session):
        supplier_row = db.session.get(Organization, supplier_org.id)
        if not supplier_row.iban:
            supplier_row.iban, supplier_row.bank_name = IBANS[supplier]
        db.session.flush()

    with bound(db.session, scope_for(db.session, org)):
        link = _link(org.id, supplier_org.id)
        order = issue_order(buyer, link=link, source=OrderSource.AGREEMENT, lines=[
            OrderLineInput(description=f"Filter {order_mark}", quantity=Decimal(6), unit="pcs",
                           unit_price=Decimal("12.50"), vat_code="23")],
            notes=f"Notes {order_mark}", delivery_date=now.date() + timedelta(days=14), now=now)
        record_receipt(order, buyer, received_on=today_for(org, now), note=f"Delivery {order_mark}",
                       now=now, lines={order.lines[0].id: ReceiptLineInput(Decimal(5))})
        add("invoiced_order", key, order.id)
        order_id = order.id
        received_id = sample.ids["received_order"][key]
        db.session.flush()

    with bound(db.session, scope_for(db.session, supplier_org)):
        link = db.session.get(SupplierLink, link.id)
        first = draft_from_orders(link, [order_id], seller)
        _edit(first, seller, notes=f"Invoice {invoice_mark}", quantities=[Decimal(2)])
        issue_invoice(first, seller)
        second = draft_from_orders(link, [order_id], seller)
        _edit(second, seller, notes=f"Invoice {invoice_mark}", quantities=[Decimal(2)])
        issue_invoice(second, seller)
        draft = draft_from_orders(link, [received_id], seller)
        _edit(draft, seller, notes=f"Draft {draft_mark}")
        db.session.flush()
        add("invoice", key, first.id)
        add("paid_invoice", key, second.id)
        add("invoice_draft", key, draft.id)
        pdf = document(first, "pdf")
        assert pdf is not None, "issuing should store the invoice's PDF"
        add("invoice_document", key, pdf.id)
        credit = issue_credit_note(first, seller, reason=f"Damaged {invoice_mark}", lines=[
            CreditLineInput(invoice_line_id=first.lines[0].id, quantity=Decimal(1))])
        db.session.flush()
        add("credit_note", key, credit.id)
        first_id, second_id = first.id, second.id

    with bound(db.session, scope_for(db.session, org)):
        from portal.models import Invoice

        second = db.session.get(Invoice, second_id)
        approve_invoice(second, admin)
        payment = record_payment(second, admin, paid_on=today_for(org, now),
                                 amount=Decimal("10.00"), reference=f"Transfer {invoice_mark}")
        db.session.flush()
        add("payment", key, payment.id)
        assert db.session.get(Invoice, first_id) is not None
        assert db.session.scalar(select(PurchaseOrder.id).where(PurchaseOrder.id == order_id))
