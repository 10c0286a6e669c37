"""Purchase orders: issuing (numbers, terms, VAT, totals), the budget (reservation → commitment,
differences to the cent, block/warn), requisition moves, the supplier's answers, revisions and
cancel."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from portal.domain.budget import EntryKind, OverrunPolicy, PeriodKind
from portal.domain.requisition import RequisitionStatus
from portal.errors import BudgetExceeded, InvalidTransition, NotFound, PermissionDenied, ValidationProblem
from portal.extensions import db
from portal.models import AuditEvent, BudgetEntry, Notification, SupplierLink
from portal.models.base import utcnow
from portal.models.order import OrderSource, OrderStatus, PurchaseOrder, PurchaseOrderDocument
from portal.services import approvals, budgets
from portal.services.orders import actions, queries
from portal.services.orders.actions import LineChange
from portal.services.orders.issue import OrderLineInput, issue_order
from portal.tenancy import system
from tests.factories import make_link, make_org, make_requisition
from tests.kit import acme_kit, acting_for, approve_all, services

D = Decimal
YEAR = utcnow().year
TOMORROW = date.today() + timedelta(days=1)


@pytest.fixture(autouse=True)
def _quick_pdf(monkeypatch):
    """The PDF's own tests are tests/pdf: here a stored stand-in keeps the ledger tests quick."""
    from portal.services.orders import documents

    monkeypatch.setattr(documents, "render_order_pdf", lambda order: b"%PDF-1.7 " + order.number.encode())


@pytest.fixture
def kit(app, world):
    with services(app):
        kit = acme_kit(world, board=False)
        with acting_for(kit.org):
            yield kit


def budget(kit, amount, policy=OverrunPolicy.BLOCK):
    made = budgets.create_budget(kit.admin, cost_center=kit.cc_it, name="IT", period_kind=PeriodKind.YEAR,
                                 starts_on=date(YEAR, 1, 1), ends_on=date(YEAR, 12, 31), amount=D(amount),
                                 currency="PLN", overrun_policy=policy)
    db.session.flush()
    return made


def link(world, supplier="polbud") -> SupplierLink:
    with system(db.session):
        return db.session.scalars(select(SupplierLink).where(
            SupplierLink.organization_id == world.acme.id,
            SupplierLink.supplier_id == getattr(world, supplier).id)).one()


def approved(kit, lines):
    req = make_requisition(kit.buyer, cost_center=kit.cc_it, lines=lines)
    approvals.submit(req, kit.buyer)
    return approve_all(req)


def order_for(kit, world, req, prices, *, supplier="polbud", line_ids=None, **kwargs):
    lines = [ln for ln in req.lines if line_ids is None or ln.id in line_ids]
    lnk = supplier if isinstance(supplier, SupplierLink) else link(world, supplier)
    return issue_order(kit.buyer, link=lnk, source=OrderSource.RFQ, lines=[
        OrderLineInput(ln.description, ln.quantity, ln.unit, D(price), "0" if ln.vat_rate == 0 else "23",
                       requisition_line_id=ln.id)
        for ln, price in zip(lines, prices, strict=True)], **kwargs)


def ledger(budget_id):
    return [(e.kind, e.amount) for e in db.session.scalars(
        select(BudgetEntry).where(BudgetEntry.budget_id == budget_id).order_by(BudgetEntry.id))]


def events(obj, action):
    return db.session.scalars(select(AuditEvent).where(
        AuditEvent.object_type == type(obj).__name__, AuditEvent.object_id == obj.id,
        AuditEvent.action == action)).all()


# ---------------------------------------------------------------- issuing


def test_orders_issue_numbers_terms_currency_vat_and_totals(kit, world):
    lnk = link(world)
    order = issue_order(kit.buyer, link=lnk, source=OrderSource.RFQ, lines=[
        OrderLineInput("Papier", D("3"), "ream", D("0.0150"), "23"),
        OrderLineInput("Toner", D("2"), "pcs", D("100.00"), "8"),
        OrderLineInput("Usługa", D("1"), "pcs", D("7.00"), "zw"),
    ], freight=D("10.00"), delivery_date=TOMORROW, delivery_address="ul. Magazynowa 1")
    assert order.number.startswith(f"PO/{YEAR}/") and len(order.number.rsplit("/", 1)[1]) == 5
    assert order.status == OrderStatus.ISSUED and order.revision == 0
    assert order.currency == lnk.currency and order.payment_terms == lnk.payment_terms
    assert [(ln.net, ln.vat, ln.vat_rate) for ln in order.lines] == [
        (D("0.05"), D("0.01"), D("23")), (D("200.00"), D("16.00"), D("8")), (D("7.00"), D("0.00"), D("0"))]
    # 23 %: 0.05 + 10.00 freight = 10.05 -> 2.31; 8 %: 16.00; zw: 0.
    assert (order.net_total, order.vat_total, order.gross_total) == (D("217.05"), D("18.31"), D("235.36"))
    assert order.supplier_id == world.polbud.id and order.issued_by_id == kit.buyer.id
    assert events(order, "order.issued")
    doc = db.session.scalars(select(PurchaseOrderDocument).where(PurchaseOrderDocument.order_id == order.id)).one()
    assert doc.revision == 0 and doc.size > 0
    with system(db.session):
        told = db.session.scalars(select(Notification).where(
            Notification.organization_id == world.polbud.id)).all()
    assert told and all(n.target["endpoint"] == "supplier.order" for n in told)


def test_orders_numbers_are_gap_free_even_after_a_refusal(kit, world):
    budget(kit, "1100")
    first = order_for(kit, world, approved(kit, [("A", "1", "100", "0")]), ["100"])
    db.session.commit()
    req = approved(kit, [("B", "1", "900", "0")])
    with pytest.raises(BudgetExceeded):
        order_for(kit, world, req, ["2000"])
    db.session.rollback()
    second = order_for(kit, world, approved(kit, [("C", "1", "10", "0")]), ["10"])
    seq = int(first.number.rsplit("/", 1)[1])
    assert second.number == f"PO/{YEAR}/{seq + 1:05d}"


def test_orders_refuse_an_inactive_link_and_bad_lines(kit, world):
    blocked = make_link(world.acme, make_org("supplier"), status="blocked")
    with pytest.raises(InvalidTransition):
        issue_order(kit.buyer, link=blocked, source=OrderSource.RFQ,
                    lines=[OrderLineInput("X", D("1"), "pcs", D("1"), "23")])
    for bad in (OrderLineInput("X", D("0"), "pcs", D("1"), "23"), OrderLineInput("X", D("1"), "pcs", D("0"), "23"),
                OrderLineInput("", D("1"), "pcs", D("1"), "23"), OrderLineInput("X", D("1"), "pcs", D("1"), "9")):
        with pytest.raises(ValidationProblem):
            issue_order(kit.buyer, link=link(world), source=OrderSource.RFQ, lines=[bad])
    with pytest.raises(ValidationProblem):
        issue_order(kit.buyer, link=link(world), source=OrderSource.RFQ, lines=[])


def test_orders_an_approver_without_the_buyer_role_cannot_issue(kit, world):
    with pytest.raises(PermissionDenied):
        issue_order(kit.approver, link=link(world), source=OrderSource.RFQ,
                    lines=[OrderLineInput("X", D("1"), "pcs", D("1"), "23")])


# ---------------------------------------------------------------- budget


def test_orders_cheaper_order_commits_its_net_and_releases_the_rest(kit, world):
    b = budget(kit, "5000")
    req = approved(kit, [("Laptop", "1", "1000.00", "23")])
    assert budgets.balances_of(b).reserved == D("1000.00")
    order = order_for(kit, world, req, ["899.99"])
    balances = budgets.balances_of(b)
    assert (balances.reserved, balances.committed, balances.available) == (D("0.00"), D("899.99"), D("4100.01"))
    assert ledger(b.id) == [(EntryKind.RESERVE, D("1000.00")), (EntryKind.RELEASE, D("-1000.00")),
                            (EntryKind.COMMIT, D("899.99"))]
    assert order.committed == D("899.99") and order.budget_id == b.id
    assert req.status == RequisitionStatus.ORDERED
    assert len(events(req, "requisition.ordered")) == 1


def test_orders_dearer_order_takes_the_difference_when_the_budget_has_it(kit, world):
    b = budget(kit, "1100")
    req = approved(kit, [("Laptop", "1", "1000.00", "0")])
    order_for(kit, world, req, ["1100.00"])
    balances = budgets.balances_of(b)
    assert (balances.reserved, balances.committed, balances.available) == (D("0.00"), D("1100.00"), D("0.00"))


def test_orders_block_budget_refuses_the_difference_and_writes_nothing(kit, world):
    b = budget(kit, "1100")
    req = approved(kit, [("Laptop", "1", "1000.00", "0")])
    db.session.commit()
    before_orders = db.session.scalar(select(func.count(PurchaseOrder.id)))
    with pytest.raises(BudgetExceeded, match="100.01"):
        order_for(kit, world, req, ["1200.01"])
    db.session.rollback()
    assert db.session.scalar(select(func.count(PurchaseOrder.id))) == before_orders
    assert ledger(b.id) == [(EntryKind.RESERVE, D("1000.00"))]
    assert budgets.balances_of(b).reserved == D("1000.00")
    assert req.status == RequisitionStatus.APPROVED


def test_orders_warn_budget_records_the_overrun(kit, world):
    b = budget(kit, "1100", OverrunPolicy.WARN)
    req = approved(kit, [("Laptop", "1", "1000.00", "0")])
    order = order_for(kit, world, req, ["1300.00"])
    assert budgets.balances_of(b).available == D("-200.00")
    commit = db.session.scalars(select(BudgetEntry).where(BudgetEntry.kind == EntryKind.COMMIT)).one()
    assert commit.overrun and commit.amount == D("1300.00")
    assert events(req, "budget.overrun")
    assert order.committed == D("1300.00")


def test_orders_lines_of_one_requisition_on_two_orders_add_up_to_the_cent(kit, world):
    b = budget(kit, "10000")
    req = approved(kit, [("A", "1", "600.00", "0"), ("B", "1", "400.00", "0")])
    first_line, second_line = [ln.id for ln in req.lines]
    one = order_for(kit, world, req, ["500.00"], line_ids={first_line})
    assert req.status == RequisitionStatus.APPROVED
    assert budgets.balances_of(b).reserved == D("400.00")
    with pytest.raises(ValidationProblem, match="already on another order"):
        order_for(kit, world, req, ["1.00"], line_ids={first_line})
    other = make_link(world.acme, make_org("supplier"))
    two = order_for(kit, world, req, ["450.55"], supplier=other, line_ids={second_line})
    balances = budgets.balances_of(b)
    assert (balances.reserved, balances.committed) == (D("0.00"), D("950.55"))
    assert balances.available == D("10000") - D("950.55")
    assert (one.committed, two.committed) == (D("500.00"), D("450.55"))
    assert req.status == RequisitionStatus.ORDERED
    assert len(events(req, "requisition.ordered")) == 1
    with pytest.raises(InvalidTransition):
        order_for(kit, world, req, ["1.00"], line_ids={first_line})


def test_orders_in_another_currency_than_the_budget_are_refused(kit, world):
    budget(kit, "10000")
    req = approved(kit, [("A", "1", "100.00", "0")])
    with pytest.raises(BudgetExceeded, match="EUR"):
        order_for(kit, world, req, ["25.00"], supplier="nordwind")


def test_orders_without_a_budget_commit_nothing(kit, world):
    req = approved(kit, [("A", "1", "100.00", "0")])
    order = order_for(kit, world, req, ["90.00"])
    assert order.committed == D("0.00") and order.budget_id is None
    assert req.status == RequisitionStatus.ORDERED


# ---------------------------------------------------------------- cancel and revise


def test_orders_cancel_releases_the_commitment_exactly_and_reopens_the_requisition(kit, world):
    b = budget(kit, "5000")
    req = approved(kit, [("A", "1", "1000.00", "0")])
    order = order_for(kit, world, req, ["987.65"])
    with pytest.raises(ValidationProblem):
        actions.cancel(order, kit.buyer, reason=" ")
    actions.cancel(order, kit.buyer, reason="Project stopped")
    balances = budgets.balances_of(b)
    assert (balances.reserved, balances.committed, balances.available) == (D("0.00"), D("0.00"), D("5000.00"))
    assert order.status == OrderStatus.CANCELLED and order.committed == D("0.00")
    assert order.cancel_reason == "Project stopped"
    assert req.status == RequisitionStatus.APPROVED
    assert events(order, "order.cancelled") and events(req, "requisition.unordered")
    with pytest.raises(InvalidTransition):
        actions.cancel(order, kit.buyer, reason="again")
    again = order_for(kit, world, req, ["1000.00"])
    assert again.committed == D("1000.00") and budgets.balances_of(b).committed == D("1000.00")


def test_orders_revision_adjusts_the_commitment_and_asks_for_acknowledgement(kit, world):
    b = budget(kit, "1200")
    req = approved(kit, [("A", "2", "500.00", "0")])
    order = order_for(kit, world, req, ["500.00"])
    line = order.lines[0]
    with acting_for(world.polbud):
        actions.acknowledge(order, world.user("sales@polbud") if "sales@polbud.example" in world.users
                            else _supplier_user(world))
    assert order.status == OrderStatus.ACKNOWLEDGED
    actions.revise(order, kit.buyer, lines={line.id: LineChange(quantity=D("2"), unit_price=D("550.00"))},
                   delivery_date=TOMORROW)
    assert order.revision == 1 and order.status == OrderStatus.ISSUED
    assert order.net_total == D("1100.00") and order.committed == D("1100.00")
    assert budgets.balances_of(b).committed == D("1100.00")
    docs = db.session.scalars(select(PurchaseOrderDocument).where(PurchaseOrderDocument.order_id == order.id)
                              .order_by(PurchaseOrderDocument.revision)).all()
    assert [d.revision for d in docs] == [0, 1]
    fields = {c["field"] for c in actions.decode_changes(docs[1].changes)}
    assert fields == {"unit_price", "delivery_date"}
    actions.revise(order, kit.buyer, lines={line.id: LineChange(unit_price=D("450.00"))})
    assert budgets.balances_of(b).committed == D("900.00") and order.committed == D("900.00")
    db.session.commit()
    with pytest.raises(BudgetExceeded):
        actions.revise(order, kit.buyer, lines={line.id: LineChange(unit_price=D("700.00"))})
    db.session.rollback()
    assert budgets.balances_of(b).committed == D("900.00")
    with pytest.raises(ValidationProblem):
        actions.revise(order, kit.buyer, notes=order.notes)


def _supplier_user(world):
    return next(u for email, u in world.users.items() if email.endswith("@polbud.example"))


# ---------------------------------------------------------------- the supplier's answers


def test_orders_supplier_acknowledges_proposes_and_the_buyer_answers(kit, world):
    req = approved(kit, [("A", "1", "100.00", "0")])
    order = order_for(kit, world, req, ["100.00"], delivery_date=TOMORROW)
    seller = _supplier_user(world)
    later = TOMORROW + timedelta(days=7)
    with acting_for(world.polbud):
        with pytest.raises(ValidationProblem):
            actions.propose_date(order, seller, delivery_date=date.today() - timedelta(days=1))
        actions.propose_date(order, seller, delivery_date=later, note="Stock arrives next week")
    assert order.status == OrderStatus.ISSUED and order.proposed_delivery_date == later
    actions.refuse_proposal(order, kit.buyer, reason="We need it sooner")
    assert order.proposed_delivery_date is None and order.delivery_date == TOMORROW
    with pytest.raises(InvalidTransition):
        actions.accept_proposal(order, kit.buyer)
    with acting_for(world.polbud):
        actions.propose_date(order, seller, delivery_date=later)
    actions.accept_proposal(order, kit.buyer)
    assert order.delivery_date == later and order.revision == 1
    assert order.status == OrderStatus.ACKNOWLEDGED and order.acknowledged_revision == 1
    for action in ("order.date_proposed", "order.date_refused", "order.date_accepted"):
        assert events(order, action)


def test_orders_another_supplier_cannot_act_and_a_blocked_one_only_reads(kit, world):
    req = approved(kit, [("A", "1", "100.00", "0")])
    order = order_for(kit, world, req, ["100.00"])
    order_id = order.id
    db.session.commit()
    other = next(u for email, u in world.users.items() if email.endswith("@nordwind.example"))
    with pytest.raises(NotFound):
        actions.acknowledge(order, other)
    with acting_for(world.nordwind):
        assert queries.get_for_supplier(order_id, other) is None
    with system(db.session):
        db.session.get(SupplierLink, order.link_id).status = "blocked"
        db.session.commit()
    seller = _supplier_user(world)
    db.session.expire_all()
    with acting_for(world.polbud):
        mine = queries.get_for_supplier(order_id, seller)
        assert mine is not None
        with pytest.raises(PermissionDenied, match="blocked"):
            actions.acknowledge(mine, seller)
    db.session.rollback()


def test_orders_buyer_cannot_acknowledge_and_supplier_cannot_cancel(kit, world):
    req = approved(kit, [("A", "1", "100.00", "0")])
    order = order_for(kit, world, req, ["100.00"])
    with pytest.raises(PermissionDenied):
        actions.acknowledge(order, kit.buyer)
    with acting_for(world.polbud), pytest.raises(PermissionDenied):
        actions.cancel(order, _supplier_user(world), reason="no")


def test_orders_cancel_is_refused_after_a_delivery(kit, world):
    req = approved(kit, [("A", "1", "100.00", "0")])
    order = order_for(kit, world, req, ["100.00"])
    order.status = OrderStatus.PARTIALLY_RECEIVED
    with pytest.raises(InvalidTransition):
        actions.cancel(order, kit.buyer, reason="late")
    with pytest.raises(InvalidTransition):
        actions.revise(order, kit.buyer, notes="x")


def test_orders_lists_per_view(kit, world):
    req = approved(kit, [("A", "1", "100.00", "0"), ("B", "1", "50.00", "0")])
    first, second = [ln.id for ln in req.lines]
    one = order_for(kit, world, req, ["100.00"], line_ids={first}, delivery_date=TOMORROW)
    other = make_link(world.acme, make_org("supplier"))
    two = order_for(kit, world, req, ["50.00"], supplier=other, line_ids={second})
    with acting_for(world.polbud):
        actions.acknowledge(one, _supplier_user(world))
    ids = lambda page: [o.id for o in page.items]  # noqa: E731
    assert ids(queries.order_page(kit.buyer, view="all")) == [two.id, one.id]
    assert ids(queries.order_page(kit.buyer, view="to_acknowledge")) == [two.id]
    assert ids(queries.order_page(kit.buyer, view="to_receive")) == [one.id]
    assert ids(queries.order_page(kit.buyer, view="all", supplier_id=other.supplier_id)) == [two.id]
    assert ids(queries.order_page(kit.buyer, view="all", q=two.number[-5:])) == [two.id]
    assert ids(queries.order_page(kit.buyer, view="cancelled")) == []
    with acting_for(world.polbud):
        seller = _supplier_user(world)
        assert ids(queries.supplier_order_page(seller, view="open")) == [one.id]
        assert ids(queries.supplier_order_page(seller, view="to_acknowledge")) == []


# ---------------------------------------------------------------- concurrency


def _repeats():
    import os

    return 5 if os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql") else 1


@pytest.mark.parametrize("attempt", range(_repeats()))
def test_orders_concurrent_issues_never_over_commit_a_block_budget(app, kit, world, attempt):
    """Ten requisitions of 50.00 reserved on a budget of 1 000.00 (500.00 left), ordered at the
    same moment at 150.00 each: each needs 100.00 more, so exactly five orders are issued and
    five refused; the ledger adds up to the cent and the numbers have no gap."""
    import threading

    from portal.models import Budget, User
    from portal.tenancy import TenantScope, bound

    b = budget(kit, "1000.00")
    reqs = [approved(kit, [("A", "1", "50.00", "0")]) for _ in range(10)]
    lnk = link(world)
    db.session.commit()
    work = [(r.id, r.lines[0].id) for r in reqs]
    org_id, budget_id, buyer_id, link_id = kit.org.id, b.id, kit.buyer.id, lnk.id
    barrier = threading.Barrier(len(work), timeout=30)
    results, lock = [], threading.Lock()

    def order(req_id, line_id):
        barrier.wait()
        try:
            with app.app_context(), bound(db.session, TenantScope(org_id)):
                actor = db.session.scalars(select(User).where(User.id == buyer_id)).one()
                target = db.session.scalars(select(SupplierLink).where(SupplierLink.id == link_id)).one()
                try:
                    issue_order(actor, link=target, source=OrderSource.RFQ, lines=[
                        OrderLineInput("A", D("1"), "pcs", D("150.00"), "0", requisition_line_id=line_id)])
                    db.session.commit()
                    outcome = "issued"
                except BudgetExceeded:
                    db.session.rollback()
                    outcome = "refused"
                finally:
                    db.session.remove()
        except Exception as exc:  # noqa: BLE001 - reported through results
            outcome = f"crashed: {exc!r}"
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=order, args=w) for w in work]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results) == ["issued"] * 5 + ["refused"] * 5
    db.session.expire_all()
    stored = db.session.scalars(select(Budget).where(Budget.id == budget_id)).one()
    balances = budgets.balances_of(stored)
    assert (balances.committed, balances.reserved, balances.available) == (D("750.00"), D("250.00"), D("0.00"))
    numbers = sorted(int(n.rsplit("/", 1)[1]) for n in db.session.scalars(select(PurchaseOrder.number)))
    assert numbers == list(range(numbers[0], numbers[0] + 5))
