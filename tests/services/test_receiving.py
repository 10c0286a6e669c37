"""Recording goods receipts (portal/services/orders/receiving.py): partial and several receipts,
rejections with a reason, over-receipt refused with nothing written, who may receive, the order's
status, the audit trail, the supplier told, and the requisition closed when all is received."""

from datetime import date, timedelta
from decimal import Decimal as D

import pytest

from portal.errors import InvalidTransition, PermissionDenied
from portal.extensions import db
from portal.models import AuditEvent, Requisition
from portal.models.order import GoodsReceipt, OrderStatus, PurchaseOrder, PurchaseOrderLine
from portal.services.orders.receiving import (
    ReceiptLineInput,
    ReceiptProblem,
    receipts_of,
    record_receipt,
)
from tests.factories import acting_for, company_today
from tests.kit import count, load, notes
from tests.services.receiving_fixtures import make_order

TODAY = company_today()


@pytest.fixture
def made(world):
    return make_order(world)


def _receive(world, made, entries, *, who="buyer@acme", received_on=TODAY, note=""):
    with acting_for(world.acme):
        order = db.session.get(PurchaseOrder, made.order_id)
        receipt = record_receipt(order, world.user(who), received_on=received_on, note=note, lines={
            made.line_ids[i]: entry for i, entry in entries.items()})
        db.session.commit()
        return receipt.id


def _lines(made):
    return [load(PurchaseOrderLine, line_id) for line_id in made.line_ids]


def test_receiving_a_partial_delivery_keeps_the_order_open(world, made):
    receipt_id = _receive(world, made, {0: ReceiptLineInput(D("4"))}, note="Dostawa 1/2")
    first, second = _lines(made)
    assert (first.received_quantity, second.received_quantity) == (D("4"), D("0"))
    order = load(PurchaseOrder, made.order_id)
    assert order.status == OrderStatus.PARTIALLY_RECEIVED
    receipt = load(GoodsReceipt, receipt_id)
    assert receipt.note == "Dostawa 1/2" and receipt.received_by_id == world.user("buyer@acme").id
    with acting_for(world.acme):
        assert [(line.order_line_id, line.quantity) for line in receipt.lines] == [
            (made.line_ids[0], D("4"))]
    assert load(Requisition, made.requisition_id).status == "ordered"


def test_receiving_several_receipts_complete_the_order_and_close_the_requisition(world, made):
    _receive(world, made, {0: ReceiptLineInput(D("4"))})
    _receive(world, made, {0: ReceiptLineInput(D("6")), 1: ReceiptLineInput(D("5"))})
    assert load(PurchaseOrder, made.order_id).status == OrderStatus.RECEIVED
    assert load(Requisition, made.requisition_id).status == "closed"
    assert count(GoodsReceipt, GoodsReceipt.order_id == made.order_id) == 2
    closed = count(AuditEvent, AuditEvent.action == "requisition.closed",
                   AuditEvent.object_id == made.requisition_id)
    assert closed == 1


def test_receiving_a_rejection_keeps_the_quantity_open_and_tells_the_supplier_why(world, made):
    _receive(world, made, {1: ReceiptLineInput(D("5"), D("2"), "Uszkodzone opakowania")})
    first, second = _lines(made)
    assert (second.received_quantity, second.rejected_quantity) == (D("3"), D("2"))
    assert load(PurchaseOrder, made.order_id).status == OrderStatus.PARTIALLY_RECEIVED
    told = notes(world.user("sales@polbud"))
    texts = [n.text for n in told]
    # Polbud's user reads Polish.
    assert any(made.number in t and "zarejestrował(a) dostawę" in t for t in texts)
    assert any("odrzucił(a) część dostawy" in t and "Uszkodzone opakowania" in t for t in texts)
    assert {n.link for n in told if n.kind.startswith("order.")} == {f"/supplier/orders/{made.order_id}"}
    # the rest still arrives later: 2 open on the line, not more
    with pytest.raises(ReceiptProblem):
        _receive(world, made, {1: ReceiptLineInput(D("3"))})
    _receive(world, made, {1: ReceiptLineInput(D("2"))})
    assert _lines(made)[1].received_quantity == D("5")


def test_receiving_more_than_ordered_is_refused_and_nothing_is_written(world, made):
    _receive(world, made, {0: ReceiptLineInput(D("8"))})
    with pytest.raises(ReceiptProblem) as refused:
        _receive(world, made, {0: ReceiptLineInput(D("3")), 1: ReceiptLineInput(D("1"))})
    [problem] = refused.value.problems
    assert problem.line_id == made.line_ids[0] and problem.field == "quantity"
    assert problem.msg.params["open"] == D("2")
    db.session.rollback()
    assert count(GoodsReceipt, GoodsReceipt.order_id == made.order_id) == 1
    assert [line.received_quantity for line in _lines(made)] == [D("8"), D("0")]


def test_receiving_an_audit_event_summarises_the_receipt(world, made):
    _receive(world, made, {0: ReceiptLineInput(D("4"), D("1"), "Mokre")}, note="Kurier DPD")
    db.session.expire_all()
    with acting_for(world.acme):
        [event] = db.session.scalars(
            db.select(AuditEvent).where(AuditEvent.action == "order.received",
                                        AuditEvent.object_id == made.order_id)).all()
    assert event.comment == "Kurier DPD" and event.supplier_id == world.polbud.id
    assert event.summary["lines"] == 1 and event.summary["number"] == made.number


def test_receiving_a_future_date_or_a_date_before_the_order_is_refused(world, made):
    with pytest.raises(ReceiptProblem) as refused:
        _receive(world, made, {0: ReceiptLineInput(D("1"))}, received_on=TODAY + timedelta(days=2))
    assert refused.value.problems[0].field == "received_on"
    db.session.rollback()
    with pytest.raises(ReceiptProblem):
        _receive(world, made, {0: ReceiptLineInput(D("1"))}, received_on=TODAY - timedelta(days=30))


def test_receiving_needs_a_buyer_or_admin_of_the_company(world, made):
    with pytest.raises(PermissionDenied):
        _receive(world, made, {0: ReceiptLineInput(D("1"))}, who="approver@acme")
    db.session.rollback()
    assert _receive(world, made, {0: ReceiptLineInput(D("1"))}, who="admin@acme")


@pytest.mark.parametrize("status", [OrderStatus.CANCELLED, OrderStatus.CLOSED, OrderStatus.RECEIVED])
def test_receiving_on_a_finished_order_is_refused_with_a_message(world, status):
    made = make_order(world, status=status)
    with pytest.raises(InvalidTransition):
        _receive(world, made, {0: ReceiptLineInput(D("1"))})


def test_receiving_an_issued_order_not_yet_acknowledged_is_allowed(world):
    made = make_order(world, status=OrderStatus.ISSUED)
    _receive(world, made, {0: ReceiptLineInput(D("10")), 1: ReceiptLineInput(D("5"))})
    assert load(PurchaseOrder, made.order_id).status == OrderStatus.RECEIVED


def test_receiving_a_requisition_waits_for_all_its_orders(world, made):
    """A requisition ordered from two suppliers closes only when both orders are received."""
    other = make_order(world, supplier=world.nordwind, lines=(("Kabel", "2", "10.00"),))
    with acting_for(world.acme):
        line = db.session.get(PurchaseOrderLine, other.line_ids[0])
        req = db.session.get(Requisition, made.requisition_id)
        line.requisition_line_id = req.lines[0].id
        db.session.commit()
    _receive(world, made, {0: ReceiptLineInput(D("10")), 1: ReceiptLineInput(D("5"))})
    assert load(Requisition, made.requisition_id).status == "ordered"
    with acting_for(world.acme):
        order = db.session.get(PurchaseOrder, other.order_id)
        record_receipt(order, world.user("buyer@acme"), received_on=TODAY, note="",
                       lines={other.line_ids[0]: ReceiptLineInput(D("2"))})
        db.session.commit()
    assert load(Requisition, made.requisition_id).status == "closed"


def test_receiving_history_reads_newest_first(world, made):
    _receive(world, made, {0: ReceiptLineInput(D("1"))}, received_on=TODAY - timedelta(days=1))
    second = _receive(world, made, {0: ReceiptLineInput(D("2"))})
    with acting_for(world.acme):
        order = db.session.get(PurchaseOrder, made.order_id)
        assert [r.id for r in receipts_of(order)][0] == second


def test_receiving_after_a_real_issue_closes_the_requisition_and_keeps_the_commitment(world, monkeypatch):
    """The whole path through helper D's `issue_order`: an approved requisition, its order
    acknowledged, received in two deliveries; the requisition closes; the budget's commitment
    stays (it turns into actual spend only with the invoice)."""
    from portal.domain.budget import OverrunPolicy, PeriodKind
    from portal.models import Budget
    from portal.models.order import OrderSource
    from portal.services import approvals, budgets
    from portal.services.orders import actions, documents
    from portal.services.orders.issue import OrderLineInput, issue_order
    from tests.factories import make_requisition
    from tests.kit import acme_kit, approve_all, services
    from tests.services.receiving_fixtures import link_to

    monkeypatch.setattr(documents, "render_order_pdf", lambda order: b"%PDF-1.7 " + order.number.encode())
    with services(None):
        kit = acme_kit(world, board=False)
    with acting_for(world.acme):
        budget = budgets.create_budget(kit.admin, cost_center=kit.cc_it, name="IT", period_kind=PeriodKind.YEAR,
                                       starts_on=date(TODAY.year, 1, 1), ends_on=date(TODAY.year, 12, 31),
                                       amount=D("100000"), currency="PLN", overrun_policy=OverrunPolicy.BLOCK)
        req = make_requisition(kit.buyer, cost_center=kit.cc_it, lines=[("Monitor 27", "4", "1000", "23")])
        approvals.submit(req, kit.buyer)
        approve_all(req)
        line = req.lines[0]
        order = issue_order(kit.buyer, link=link_to(world.acme, world.polbud), source=OrderSource.RFQ,
                            lines=[OrderLineInput(line.description, line.quantity, line.unit, D("950"), "23",
                                                  requisition_line_id=line.id)])
        db.session.commit()
        order_id, req_id, budget_id = order.id, req.id, budget.id
        committed = db.session.get(Budget, budget_id).committed
    with acting_for(world.polbud):
        actions.acknowledge(db.session.get(PurchaseOrder, order_id), world.user("sales@polbud"))
        db.session.commit()
    assert load(Requisition, req_id).status == "ordered"
    with acting_for(world.acme):
        order = db.session.get(PurchaseOrder, order_id)
        line_id = order.lines[0].id
        record_receipt(order, kit.buyer, received_on=TODAY, note="", lines={line_id: ReceiptLineInput(D("1"))})
        db.session.commit()
        assert load(Requisition, req_id).status == "ordered"
        order = db.session.get(PurchaseOrder, order_id)
        record_receipt(order, kit.buyer, received_on=TODAY, note="",
                       lines={line_id: ReceiptLineInput(D("4"), D("1"), "Pęknięta matryca")})
        db.session.commit()
    assert load(PurchaseOrder, order_id).status == OrderStatus.RECEIVED
    assert load(Requisition, req_id).status == "closed"
    assert committed > 0 and load(Budget, budget_id).committed == committed


def _repeats():
    import os

    return 5 if os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql") else 1


@pytest.mark.parametrize("attempt", range(_repeats()))
def test_receiving_concurrent_receipts_never_over_receive(app, world, attempt):
    """Four people record the same delivery of 4 (10 ordered) at the same moment: the order
    locks, so two receipts are kept and two refused as over-receipts; the line adds up."""
    import threading

    from portal.models import User
    from portal.tenancy import TenantScope, bound

    made = make_order(world, lines=(("Papier", "10", "20.00"),))
    org_id, buyer_id = world.acme.id, world.user("buyer@acme").id
    barrier = threading.Barrier(4, timeout=30)
    results, lock = [], threading.Lock()

    def receive():
        barrier.wait()
        try:
            with app.app_context(), bound(db.session, TenantScope(org_id)):
                actor = db.session.scalars(db.select(User).where(User.id == buyer_id)).one()
                order = db.session.get(PurchaseOrder, made.order_id)
                try:
                    record_receipt(order, actor, received_on=TODAY, note="",
                                   lines={made.line_ids[0]: ReceiptLineInput(D("4"))})
                    db.session.commit()
                    outcome = "kept"
                except ReceiptProblem:
                    db.session.rollback()
                    outcome = "refused"
                finally:
                    db.session.remove()
        except Exception as exc:  # noqa: BLE001 - reported through results
            outcome = f"crashed: {exc!r}"
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=receive) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results) == ["kept"] * 2 + ["refused"] * 2
    assert load(PurchaseOrderLine, made.line_ids[0]).received_quantity == D("8")
    assert count(GoodsReceipt, GoodsReceipt.order_id == made.order_id) == 2
