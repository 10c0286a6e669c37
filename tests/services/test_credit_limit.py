"""The supplier's credit limit: the exposure (unpaid invoices + open orders not yet invoiced),
the check when an order is issued (directly, from agreements, by an award), the admin's
override with a reason."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from portal.errors import PermissionDenied
from portal.extensions import db
from portal.models import AuditEvent, Item, SupplierLink
from portal.models.invoice import Invoice, InvoiceKind, InvoiceLine, InvoiceStatus
from portal.models.order import OrderSource, OrderStatus, PurchaseOrder
from portal.services.invoicing import credit as invoicing_credit
from portal.services.orders import credit
from portal.services.orders.credit import CreditLimitExceeded, check_credit, exposure
from portal.services.orders.issue import OrderLineInput, issue_order
from portal.tenancy import system
from tests.kit import acme_kit, acting_for, services

D = Decimal
S = InvoiceStatus


@pytest.fixture(autouse=True)
def _quick_pdf(monkeypatch):
    from portal.services.orders import documents

    monkeypatch.setattr(documents, "render_order_pdf", lambda order: b"%PDF-1.7 " + order.number.encode())


@pytest.fixture
def kit(app, world):
    with services(app):
        kit = acme_kit(world, board=False)
        with acting_for(kit.org):
            yield kit


def link_to(world, supplier="polbud", *, limit: str | None = None) -> SupplierLink:
    with system(db.session):
        found = db.session.scalars(select(SupplierLink).where(
            SupplierLink.organization_id == world.acme.id,
            SupplierLink.supplier_id == getattr(world, supplier).id)).one()
        found.credit_limit = D(limit) if limit is not None else None
        db.session.flush()
    return found


def order(kit, link, gross_23: str, *, actor=None, **kwargs) -> PurchaseOrder:
    """An order of one line whose gross is `gross_23` (net × 1.23, to the cent)."""
    net = (D(gross_23) / D("1.23")).quantize(D("0.01"))
    assert (net * D("1.23")).quantize(D("0.01")) == D(gross_23), "pick a gross a 23 % net makes"
    return issue_order(actor or kit.buyer, link=link, source=OrderSource.RFQ,
                       lines=[OrderLineInput("Cement", D(1), "pcs", net, "23")], **kwargs)


def invoice(world, link, gross: str, *, status=S.ISSUED, paid="0", credited="0", discount="0",
            kind=InvoiceKind.INVOICE, currency=None, for_order: PurchaseOrder | None = None,
            line_gross: str | None = None) -> Invoice:
    """An invoice row of the link's supplier (as the issuing service leaves it)."""
    supplier = world.polbud if link.supplier_id == world.polbud.id else world.nordwind
    someone = next(u for u in world.users.values() if u.organization_id == supplier.id)
    gross = D(gross)
    with system(db.session):
        serial = db.session.scalar(select(func.count(Invoice.id))) + 1
        row = Invoice(
            organization_id=link.organization_id, supplier_id=link.supplier_id, link_id=link.id, kind=kind,
            number=None if status == S.DRAFT else f"FV/2026/{serial:06d}",
            status=status, currency=currency or link.currency, issue_date=date(2026, 11, 2),
            due_date=date(2026, 12, 2), net_total=gross, vat_total=D(0), gross_total=gross,
            credited_total=D(credited), paid_total=D(paid), discount_taken=D(discount),
            created_by_id=someone.id)
        row.lines.append(InvoiceLine(
            position=1, description="Cement", quantity=D(1), unit="pcs", unit_price=gross, vat_code="23",
            vat_rate=D(23), net=gross, vat=D(0), gross=D(line_gross or gross),
            order_id=for_order.id if for_order is not None else None,
            order_line_id=for_order.lines[0].id if for_order is not None else None))
        db.session.add(row)
        db.session.flush()
    return row


def overrides(order_id: int) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "order.credit_override", AuditEvent.object_id == order_id)))


# ---------------------------------------------------------------- exposure


def test_exposure_is_zero_with_nothing_open(kit, world):
    link = link_to(world, limit="1000")
    assert exposure(link) == D("0.00")
    assert invoicing_credit.exposure is exposure  # the invoicing side names the same function


def test_exposure_counts_what_is_still_due_on_open_invoices(kit, world):
    link = link_to(world)
    invoice(world, link, "1000.00")                                    # 1000 due
    invoice(world, link, "500.00", status=S.PARTIALLY_PAID, paid="200")  # 300 due
    invoice(world, link, "400.00", status=S.APPROVED, credited="100")    # 300 due
    invoice(world, link, "250.00", status=S.DISPUTED)                  # 250 due
    # Not counted: drafts, settled invoices, credit notes, another currency.
    invoice(world, link, "9000.00", status=S.DRAFT)
    invoice(world, link, "9000.00", status=S.PAID, paid="9000")
    invoice(world, link, "9000.00", status=S.CREDITED, credited="9000")
    invoice(world, link, "9000.00", kind=InvoiceKind.CREDIT_NOTE)
    invoice(world, link, "9000.00", currency="EUR")
    assert credit.unpaid_invoices(link) == D("1850.00")
    assert exposure(link) == D("1850.00")


def test_exposure_counts_open_orders_not_yet_invoiced(kit, world):
    link = link_to(world)
    first = order(kit, link, "1230.00")
    second = order(kit, link, "615.00")
    cancelled = order(kit, link, "246.00")
    closed = order(kit, link, "123.00")
    with system(db.session):
        cancelled.status = OrderStatus.CANCELLED
        closed.status = OrderStatus.CLOSED
        second.status = OrderStatus.RECEIVED  # delivered, not invoiced: still owed
        db.session.flush()
    assert credit.uninvoiced_orders(link) == D("1845.00")
    # Part of the first order invoiced: the invoice counts (as unpaid), the order only for the rest.
    invoice(world, link, "1000.00", for_order=first)
    assert credit.uninvoiced_orders(link) == D("845.00")
    assert exposure(link) == D("1845.00")
    # A draft invoice covers nothing yet; an over-invoiced order never counts below zero.
    invoice(world, link, "9999.00", status=S.DRAFT, for_order=second)
    assert credit.uninvoiced_orders(link) == D("845.00")
    invoice(world, link, "700.00", for_order=second)
    assert credit.uninvoiced_orders(link) == D("230.00")
    assert exposure(link) == D("1930.00")


def test_exposure_is_per_link(kit, world):
    polbud = link_to(world)
    nordwind = link_to(world, "nordwind")
    invoice(world, polbud, "1000.00")
    assert exposure(nordwind) == D("0.00")


# ---------------------------------------------------------------- the check


def test_check_passes_without_a_limit_or_within_it(kit, world):
    assert check_credit(link_to(world), D("1e9"), actor=kit.buyer) is None
    link = link_to(world, limit="1000")
    invoice(world, link, "400.00")
    assert check_credit(link, D("600.00"), actor=kit.buyer) is None  # exactly the limit: allowed
    assert check_credit(link, D("9999"), actor=kit.buyer, currency="EUR") is None  # not comparable


def test_check_refuses_over_the_limit_naming_limit_exposure_and_order(kit, world):
    link = link_to(world, limit="1000")
    invoice(world, link, "400.00")
    with pytest.raises(CreditLimitExceeded) as refused:
        check_credit(link, D("600.01"), actor=kit.buyer, override_reason="urgent")  # not an admin
    exc = refused.value
    assert (exc.limit, exc.exposure, exc.adding, exc.currency) == (D("1000"), D("400.00"), D("600.01"), "PLN")
    assert exc.can_override is False and exc.status_code == 409
    params = exc.msg.params
    assert (params["limit"].amount, params["exposure"].amount, params["adding"].amount, params["total"].amount) == (
        D("1000"), D("400.00"), D("600.01"), D("1000.01"))
    assert params["supplier"] == "Polbud"
    assert "credit limit" in exc.msg.text


def test_an_admin_overrides_with_a_reason_only(kit, world):
    link = link_to(world, limit="100")
    for blank in (None, "", "   "):
        with pytest.raises(CreditLimitExceeded) as refused:
            check_credit(link, D("200"), actor=kit.admin, override_reason=blank)
        assert refused.value.can_override is True
    decision = check_credit(link, D("200"), actor=kit.admin, override_reason="  Plant stoppage  ")
    assert (decision.reason, decision.limit, decision.exposure, decision.adding) == (
        "Plant stoppage", D("100"), D("0.00"), D("200"))


# ---------------------------------------------------------------- issuing orders


def test_an_order_over_the_limit_is_refused_and_nothing_written(kit, world):
    link = link_to(world, limit="1000")
    order(kit, link, "615.00")
    db.session.commit()
    before = db.session.scalar(select(func.count(PurchaseOrder.id)))
    with pytest.raises(CreditLimitExceeded) as refused:
        order(kit, link, "492.00")
    assert refused.value.exposure == D("615.00") and refused.value.adding == D("492.00")
    db.session.rollback()
    assert db.session.scalar(select(func.count(PurchaseOrder.id))) == before
    # Within the limit the next order goes, and its number follows without a gap.
    made = order(kit, link, "246.00")
    assert made.credit_override_reason == "" and made.credit_override_by_id is None


def test_a_buyers_reason_does_not_override(kit, world):
    link = link_to(world, limit="100")
    with pytest.raises(CreditLimitExceeded):
        order(kit, link, "123.00", credit_override_reason="I insist")


def test_an_admin_issues_over_the_limit_with_a_reason_kept_and_audited(kit, world):
    link = link_to(world, limit="100")
    made = order(kit, link, "123.00", actor=kit.admin, credit_override_reason="Line down: cement needed today")
    assert made.status == OrderStatus.ISSUED
    assert made.credit_override_reason == "Line down: cement needed today"
    assert made.credit_override_by_id == kit.admin.id
    (event,) = overrides(made.id)
    assert event.comment == "Line down: cement needed today"
    assert event.actor_id == kit.admin.id and event.supplier_id == world.polbud.id
    assert event.summary["number"] == made.number
    # An order within the limit needs no reason and keeps none.
    link = link_to(world, limit="100000")
    calm = order(kit, link, "123.00", actor=kit.admin, credit_override_reason="not needed")
    assert calm.credit_override_reason == "" and overrides(calm.id) == []


def test_the_override_needs_the_admin_role_even_when_asked_directly(kit, world):
    assert credit.can(kit.buyer, "orders.credit_override", link_to(world)) is False
    assert credit.can(kit.admin, "orders.credit_override", link_to(world)) is True
    with pytest.raises(PermissionDenied):
        from portal.policies import enforce

        enforce(kit.buyer, "orders.credit_override")


def test_a_revision_that_raises_the_order_over_the_limit_needs_the_admins_reason(kit, world):
    from portal.services.orders.actions import LineChange, revise

    link = link_to(world, limit="1000")
    made = order(kit, link, "615.00")
    line_id = made.lines[0].id
    db.session.commit()
    with pytest.raises(CreditLimitExceeded) as refused:
        revise(made, kit.buyer, lines={line_id: LineChange(quantity=D(2))})  # 615 more: 1230 > 1000
    assert (refused.value.exposure, refused.value.adding) == (D("615.00"), D("615.00"))
    db.session.rollback()
    # A cheaper revision, or one changing no amount, needs nothing.
    made = db.session.get(PurchaseOrder, made.id)
    revise(made, kit.buyer, notes="Ring before delivery")
    revise(made, kit.buyer, lines={line_id: LineChange(unit_price=D("400.00"))})
    assert made.gross_total == D("492.00") and made.credit_override_reason == ""
    db.session.commit()
    revised = revise(made, kit.admin, lines={line_id: LineChange(quantity=D(3))},
                     credit_override_reason="Second line stopped")
    assert revised.gross_total == D("1476.00")
    assert revised.credit_override_reason == "Second line stopped" and overrides(made.id)


def _laptop_requisition(kit, world, price="5000"):
    from portal.services import agreements, approvals, requisitions
    from portal.services.agreements import AgreementFields
    from tests.kit import approve_all

    agreements.create_agreement(kit.admin, AgreementFields(
        unit_price=D(price), currency="PLN", valid_from=date.today() - timedelta(days=10), valid_to=None,
        tiers=[], supplier_part_number="LAP-14", lead_time_days=None, link_id=link_to(world).id,
        item_sku="T-LAPTOP"))
    laptop = db.session.scalars(select(Item).where(Item.sku == "T-LAPTOP")).one()
    req = requisitions.create_requisition(kit.buyer, title="Laptop", cost_center=kit.cc_it)
    requisitions.add_line(req, kit.buyer, item=laptop, quantity=D(1))
    approvals.submit(req, kit.buyer)
    return approve_all(req)


def test_orders_from_agreements_respect_the_limit_and_the_admins_reason(kit, world):
    from portal.services.orders.direct import orders_from_agreements

    req = _laptop_requisition(kit, world)
    link_to(world, limit="1000")
    db.session.commit()
    with pytest.raises(CreditLimitExceeded) as refused:
        orders_from_agreements(req, kit.buyer)
    assert refused.value.adding == D("6150.00")
    db.session.rollback()
    (made,) = orders_from_agreements(req, kit.admin, credit_override_reason="Project deadline")
    assert made.credit_override_reason == "Project deadline" and overrides(made.id)


def test_the_award_respects_the_limit_and_the_admins_reason(world):
    from portal.domain import award as award_rules
    from portal.models.rfq import Rfq
    from portal.services.sourcing import award as awarding
    from tests.services.award_fixtures import build_rfq

    built = build_rfq(world)
    polbud = built.quotes["Polbud"]
    with acting_for(world.acme):
        link = link_to(world, limit="10")
        db.session.commit()
        rfq = db.session.get(Rfq, built.rfq_id)
        matrix = awarding.comparison(rfq)
        choices = award_rules.whole_award(matrix, polbud)
        reasons = award_rules.whole_reasons(matrix, polbud, "One delivery")
        with pytest.raises(CreditLimitExceeded) as refused:
            awarding.award(rfq, world.user("buyer@acme"), choices=choices, reasons=reasons)
        assert refused.value.limit == D("10") and refused.value.supplier == "Polbud"
        db.session.rollback()
        assert db.session.get(Rfq, built.rfq_id).status == "closed"
        (made,) = awarding.award(db.session.get(Rfq, built.rfq_id), world.user("admin@acme"), choices=choices,
                                 reasons=reasons, credit_override_reason="Shutdown next week")
        assert made.link_id == link.id
        assert made.credit_override_reason == "Shutdown next week" and overrides(made.id)


def test_exposure_reads_two_aggregates_whatever_the_number_of_orders(kit, world):
    from tests.kit import count_queries

    link = link_to(world, limit="1000000")
    for _ in range(5):
        order(kit, link, "123.00")
    with count_queries() as counted:
        exposure(link)
    assert len(counted) == 2


def test_dates_do_not_matter_to_the_exposure(kit, world):
    link = link_to(world)
    row = invoice(world, link, "100.00")
    with system(db.session):
        row.due_date = date.today() - timedelta(days=400)
        db.session.flush()
    assert exposure(link) == D("100.00")
