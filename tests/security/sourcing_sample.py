"""Sourcing objects of the security suites' sample world (tests/security/conftest.py), built
through the services: per buyer an open sealed RFQ (its line, a file, a question, an answered
question, quotes with a file and a revision), a draft RFQ (its line) for the routes that change
a draft, an order to Nordwind with its stored PDF, an order partly received (its receipt), and
an approved requisition whose every line has a price agreement (ordering from agreements).

Who is invited where (tests/security/routes.py names the parties):
- Acme: Nordwind and Polbud, both quote; Polbud's question is the answered one.
- Globex: Nordwind, which quotes.

Text shared by some organisations only carries a mark of its own (`Sample.shared`: mark ->
the organisations that may read it): an RFQ's title is read by the buyer and the invited
suppliers, a quote's reference and notes by the buyer and that supplier, an order's notes by
the buyer and its supplier. Everyone else must never see it.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from portal.extensions import db
from portal.models import ApprovalTask, SupplierLink
from portal.models.base import utcnow
from portal.models.order import OrderSource
from portal.services import approvals, requisitions
from portal.services.clock import today_for
from portal.services.orders import direct
from portal.services.orders.documents import latest_document
from portal.services.orders.issue import OrderLineInput, issue_order
from portal.services.orders.receiving import ReceiptLineInput, record_receipt
from portal.services.sourcing import quotes, rfqs
from portal.services.sourcing.quote_checks import QuoteLineInput
from portal.tenancy import bound, scope_for

# The suppliers each buyer's sample RFQ is addressed to; the first one's quote, question and
# orders are the sample objects the URLs name.
RFQ_SUPPLIERS = {"acme": ("nordwind", "polbud"), "globex": ("nordwind",)}
QUOTE_SUPPLIER = {"acme": "nordwind", "globex": "nordwind"}
ORDER_SUPPLIER = {"acme": "nordwind", "globex": "nordwind"}
# Prices each supplier quotes (distinctive, so a leak of one is found by its digits).
PRICES = {"nordwind": Decimal("7777.77"), "polbud": Decimal("8888.88")}


def mark(kind: str, *keys: str) -> str:
    """A mark for text that only `keys` share (never containing another mark)."""
    return f"{kind}Mark" + "".join(k.capitalize() for k in keys) + "77"


def _link(buyer_id: int, supplier_id: int) -> SupplierLink:
    return db.session.scalars(select(SupplierLink).where(
        SupplierLink.organization_id == buyer_id, SupplierLink.supplier_id == supplier_id)).one()


def build_sourcing(sample, key: str, orgs: dict, people: dict, *, add, share) -> None:
    """The sourcing samples of buyer `key` (`add(kind, key, id)`, `share(mark, readers)`)."""
    org = orgs[key]
    buyer = people[f"buyer@{key}.example"]
    approver = people[f"approver@{key}.example"]
    invited = RFQ_SUPPLIERS[key]
    now = utcnow()
    rfq_mark = mark("Rfq", key)
    share(rfq_mark, {key, *invited})
    with bound(db.session, scope_for(db.session, org)):
        rfq = rfqs.create_rfq(buyer, title=f"Tender {rfq_mark}", description=f"Scope {rfq_mark}")
        line = rfqs.add_line(rfq, buyer, description=f"Bearing {rfq_mark}", quantity=Decimal(10))
        for supplier in invited:
            rfqs.invite(rfq, buyer, _link(org.id, orgs[supplier].id))
        rfq_file = rfqs.add_attachment(rfq, buyer, filename=f"spec-{rfq_mark}.txt",
                                       content_type="text/plain", data=b"drawing")
        rfqs.publish(rfq, buyer, deadline=now + timedelta(days=7), now=now)
        add("rfq", key, rfq.id)
        add("rfq_line", key, line.id)
        add("rfq_file", key, rfq_file.id)

        draft = rfqs.create_rfq(buyer, title=f"Draft tender {mark('Draft', key)}")
        share(mark("Draft", key), {key})
        draft_line = rfqs.add_line(draft, buyer, description="Gasket", quantity=Decimal(3))
        add("rfq_draft", key, draft.id)
        add("rfq_draft_line", key, draft_line.id)
        db.session.flush()
        rfq_id, line_id = rfq.id, line.id

    for supplier in invited:
        supplier_org = orgs[supplier]
        seller = people[f"sales@{supplier}.example"]
        quote_mark = mark("Quote", key, supplier)
        share(quote_mark, {key, supplier})
        with bound(db.session, scope_for(db.session, supplier_org)):
            invitation = quotes.invitation_for(rfq_id, supplier_id=supplier_org.id)
            quote = quotes.start_quote(invitation, seller, now=now)
            quotes.add_attachment(quote, seller, filename=f"offer-{quote_mark}.txt",
                                  content_type="text/plain", data=b"offer", now=now)
            quotes.revise(quote, seller, now=now, supplier_reference=f"Ref{quote_mark}",
                          notes=f"Notes {quote_mark}", valid_until=now.date() + timedelta(days=30),
                          lines={line_id: QuoteLineInput(unit_price=PRICES[supplier],
                                                         lead_time_days=12)})
            question_mark = mark("Question", key, supplier)
            share(question_mark, {key, supplier})
            question = quotes.ask_question(invitation.rfq, seller, now=now,
                                           body=f"Question {question_mark}")
            db.session.flush()
            if supplier == QUOTE_SUPPLIER[key]:
                add("quote", key, quote.id)
                add("quote_file", key, quote.attachments[0].id)
                add("quote_revision", key, quote.revisions[-1].id)
                add("question", key, question.id)
            else:
                add("answered_question", key, question.id)

    with bound(db.session, scope_for(db.session, org)):
        answered = sample.ids.get("answered_question", {}).get(key)
        if answered is not None:
            from portal.models import RfqQuestion

            clarification_mark = mark("Clarification", key)
            share(clarification_mark, {key, *invited})
            rfqs.answer_question(db.session.get(RfqQuestion, answered), buyer,
                                 answer=f"Answer {clarification_mark}",
                                 question_text=f"Asked {clarification_mark}", now=now)

        supplier = ORDER_SUPPLIER[key]
        order_mark = mark("Order", key, supplier)
        share(order_mark, {key, supplier})
        link = _link(org.id, orgs[supplier].id)

        def order(label: str):
            return issue_order(buyer, link=link, source=OrderSource.AGREEMENT, lines=[
                OrderLineInput(description=f"{label} {order_mark}", quantity=Decimal(4), unit="pcs",
                               unit_price=Decimal("12.50"), vat_code="23")],
                notes=f"Notes {order_mark}", delivery_date=now.date() + timedelta(days=14), now=now)

        issued = order("Valve")
        add("order", key, issued.id)
        add("document", key, latest_document(issued).id)
        received = order("Pump")
        receipt = record_receipt(received, buyer, received_on=today_for(org, now),
                                 note=f"Delivery {order_mark}", now=now,
                                 lines={received.lines[0].id: ReceiptLineInput(Decimal(1))})
        add("received_order", key, received.id)
        add("receipt", key, receipt.id)

        # An approved requisition every line of which has a price agreement (in the company's
        # currency, valid today, with a supplier still active).
        from portal.models import CostCenter, LinkStatus, PriceAgreement

        today = now.date()
        agreement = db.session.scalars(
            select(PriceAgreement).join(SupplierLink, SupplierLink.id == PriceAgreement.link_id)
            .where(PriceAgreement.organization_id == org.id, PriceAgreement.currency == org.currency,
                   PriceAgreement.valid_from <= today, SupplierLink.status == LinkStatus.ACTIVE,
                   PriceAgreement.valid_to.is_(None) | (PriceAgreement.valid_to > today))
            .order_by(PriceAgreement.id)).first()
        covered = requisitions.create_requisition(
            buyer, title=f"Covered {mark('Covered', key)}",
            cost_center=db.session.get(CostCenter, sample.ids["cost_center"][key]))
        share(mark("Covered", key), {key})
        requisitions.add_line(covered, buyer, item=agreement.item, quantity=Decimal(1),
                              unit_price=Decimal("1"), vat_rate=Decimal("23"))
        approvals.submit(covered, buyer)
        task = db.session.scalars(
            select(ApprovalTask).where(ApprovalTask.requisition_id == covered.id)).one()
        approvals.decide(task, approver, "approve")
        db.session.flush()
        assert str(covered.status) == "approved", covered.status
        assert direct.agreement_coverage(covered).complete, "the covered requisition lacks agreements"
        add("covered_requisition", key, covered.id)
        db.session.flush()

    # An open price-list proposal from the order supplier (routes name it with the orders:
    # ORDER_SUPPLIER is its party), for an item the buyer agreed a price
    # for (its note is read by the buyer and that supplier only).
    from portal.services import price_proposals, suppliers

    supplier_org = orgs[supplier]
    proposal_mark = mark("Proposal", key, supplier)
    share(proposal_mark, {key, supplier})
    seller = people[f"sales@{supplier}.example"]
    sku, currency = agreement.item.sku, agreement.currency
    with bound(db.session, scope_for(db.session, supplier_org)):
        own_link = suppliers.get_customer_link(seller, link.id)
        row = f"{sku},1.2345,{currency},{(today + timedelta(days=60)).isoformat()},,,5"
        proposal = price_proposals.propose(
            own_link, seller, filename="prices.csv", note=f"Note {proposal_mark}",
            data=f"sku,unit_price,currency,valid_from,valid_to,supplier_part_number,lead_time_days\r\n{row}\r\n".encode())
        add("price_proposal", key, proposal.id)
        db.session.flush()
