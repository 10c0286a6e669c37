"""Comparison and award (portal.services.sourcing.award): the matrix from the stored quotes,
the award into one purchase order per winning supplier, and the budget ledger to the cent."""

from __future__ import annotations

import os
import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from portal.domain.award import AwardProblem
from portal.domain.requisition import RequisitionStatus
from portal.errors import BudgetExceeded, InvalidTransition, PermissionDenied
from portal.extensions import db
from portal.models import AuditEvent, Budget, BudgetEntry, Notification, Requisition, User
from portal.models.order import PurchaseOrder
from portal.models.rfq import InvitationStatus, Quote, QuoteStatus, Rfq, RfqAward, RfqInvitation, RfqStatus
from portal.services import budgets
from portal.services.sourcing import award as awarding
from portal.tenancy import TenantScope, bound, system
from tests.factories import acting_for
from tests.services.award_fixtures import build_rfq

D = Decimal
POSTGRES = os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql")


def _rfq(built):
    return db.session.scalars(select(Rfq).where(Rfq.id == built.rfq_id)).one()


def _matrix(world, built):
    with acting_for(world.acme):
        return awarding.comparison(_rfq(built))


# ---------------------------------------------------------------- the matrix


def test_comparison_matrix_from_the_submitted_quotes(world):
    built = build_rfq(world)
    m = _matrix(world, built)
    assert [c.supplier for c in m.columns] == ["Baltic Tools", "Polbud", "Nordwind Supplies"]
    nordwind, polbud = m.column(built.quotes["Nordwind Supplies"]), m.column(built.quotes["Polbud"])
    baltic = m.column(built.quotes["Baltic Tools"])
    # 500 × 0.39 + 500 × 0.33 + 1000 × 0.045 + 120 × 6.20 + 40 × 17.90 + 12 × 15.50
    assert nordwind.lines_total == D("195.00") + D("165.00") + D("45.00") + D("744.00") + D("716.00") + D("186.00")
    assert nordwind.grand_total == D("2051.00") + D("120.00")
    assert polbud.lines_total == D("205.00") + D("145.00") + D("48.00") + D("786.00") + D("656.00") + D("178.80")
    assert polbud.grand_total == D("2018.80") + D("35.00")
    assert baltic.partial and baltic.priced_lines == 4
    assert m.cheapest_complete == (polbud.quote_id,)
    best = [r.best_quote_ids for r in m.rows]
    assert best == [(baltic.quote_id,), (polbud.quote_id,), (nordwind.quote_id,),
                    (baltic.quote_id,), (polbud.quote_id,), (polbud.quote_id,)]


def test_comparison_never_shows_drafts(world):
    built = build_rfq(world)
    with system(db.session):
        db.session.get(Quote, built.quotes["Baltic Tools"]).status = QuoteStatus.DRAFT
        db.session.commit()
    m = _matrix(world, built)
    assert [c.supplier for c in m.columns] == ["Polbud", "Nordwind Supplies"]


def test_comparison_refused_while_sealed_and_unopened(world):
    built = build_rfq(world, sealed=True, opened=False)
    with acting_for(world.acme), pytest.raises(PermissionDenied):
        awarding.comparison(_rfq(built))
    with acting_for(world.acme):
        page = awarding.compare(_rfq(built))
    assert page.matrix is None and page.sealed and page.may_open


def test_comparison_budget_impact_of_the_best_prices(world):
    built = build_rfq(world)
    with acting_for(world.acme):
        page = awarding.compare(_rfq(built))
    impact = page.impact
    req_a, req_b = impact.rows
    # estimates: 500 × 0.42 + 500 × 0.31 + 1000 × 0.05 = 415.00; 120 × 6.80 + 40 × 18.50 + 12 × 16 = 1748.00
    assert (req_a.reserved, req_b.reserved) == (D("415.00"), D("1748.00"))
    # best prices: Baltic 190.00 (line 1), Polbud 145.00 (2), Nordwind 45.00 (3) on REQ A;
    # Baltic 714.00 (4), Polbud 656.00 (5) + 178.80 (6) on REQ B; each order's charges go with
    # its first requisition line (REQ A for all three): 80.00 + 35.00 + 120.00
    assert req_a.awarded == D("190.00") + D("145.00") + D("45.00") + D("80.00") + D("35.00") + D("120.00")
    assert req_b.awarded == D("714.00") + D("656.00") + D("178.80")
    assert impact.awarded == D("2163.80")
    assert impact.difference == impact.awarded - D("2163.00") == D("0.80")
    assert req_a.available_after == req_b.available_after == D("100000") - D("2163.80")


# ---------------------------------------------------------------- the award


def _award(world, built, choices, reasons=None, *, actor="buyer@acme"):
    with acting_for(world.acme):
        orders = awarding.award(_rfq(built), world.user(actor), choices=choices, reasons=reasons or {})
        db.session.commit()
        return [(o.id, o.number) for o in orders]


def test_award_per_line_issues_one_order_per_winning_supplier(world):
    built = build_rfq(world)
    q = built.quotes
    ids = built.line_ids
    choices = {ids[0]: q["Polbud"], ids[1]: q["Polbud"], ids[2]: q["Polbud"],
               ids[3]: q["Nordwind Supplies"], ids[4]: q["Nordwind Supplies"], ids[5]: q["Nordwind Supplies"]}
    reasons = {ids[0]: "One delivery for the fasteners", ids[2]: "One delivery for the fasteners",
               ids[3]: "Certified gloves", ids[4]: "Same box as the gloves",
               ids[5]: "Same box as the gloves"}
    orders = _award(world, built, choices, reasons)
    assert len(orders) == 2
    with system(db.session):
        stored = {o.supplier_id: o for o in db.session.scalars(select(PurchaseOrder).where(
            PurchaseOrder.rfq_id == built.rfq_id))}
        polbud = stored[built.suppliers["Polbud"]]
        nordwind = stored[built.suppliers["Nordwind Supplies"]]
        assert [ln.unit_price for ln in polbud.lines] == [D("0.41"), D("0.29"), D("0.048")]
        assert polbud.freight == D("35.00")
        assert polbud.net_total == D("205.00") + D("145.00") + D("48.00") + D("35.00")
        assert [ln.vat_code for ln in nordwind.lines] == ["23", "8", "23"]
        assert nordwind.net_total == D("744.00") + D("716.00") + D("186.00") + D("120.00")
        rfq = db.session.get(Rfq, built.rfq_id)
        assert rfq.status == RfqStatus.AWARDED and rfq.awarded_at is not None
        awards = db.session.scalars(select(RfqAward).where(RfqAward.rfq_id == rfq.id)
                                    .order_by(RfqAward.rfq_line_id)).all()
        assert [a.reason for a in awards] == [reasons.get(i, "") for i in ids]
        assert all(a.order_line_id is not None for a in awards)
        statuses = {q.supplier.name: q.status for q in db.session.scalars(
            select(Quote).where(Quote.rfq_id == rfq.id))}
        assert statuses == {"Polbud": QuoteStatus.AWARDED, "Nordwind Supplies": QuoteStatus.AWARDED,
                            "Baltic Tools": QuoteStatus.LOST}
        invitations = {i.id: i.status for i in db.session.scalars(
            select(RfqInvitation).where(RfqInvitation.rfq_id == rfq.id))}
        assert invitations[built.invitations["Baltic Tools"]] == InvitationStatus.LOST
        assert invitations[built.invitations["Polbud"]] == InvitationStatus.AWARDED
        reqs = db.session.scalars(select(Requisition).where(Requisition.id.in_(built.requisition_ids))).all()
        assert {r.status for r in reqs} == {RequisitionStatus.ORDERED}
        ordered_events = db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "requisition.ordered", AuditEvent.object_id.in_(built.requisition_ids)))
        assert ordered_events == 2
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "rfq.awarded", AuditEvent.object_id == rfq.id)) == 1


def test_award_budget_reservation_becomes_commitment_to_the_cent(world):
    built = build_rfq(world)
    with system(db.session):
        before = budgets.balances_of(db.session.get(Budget, built.budget_id))
    assert before.reserved == D("2163.00")
    q = built.quotes
    orders = _award(world, built, {i: q["Polbud"] for i in built.line_ids}, {
        built.line_ids[2]: "Whole lot", built.line_ids[0]: "Whole lot", built.line_ids[3]: "Whole lot"})
    assert len(orders) == 1
    db.session.expire_all()
    with system(db.session):
        after = budgets.balances_of(db.session.get(Budget, built.budget_id))
        order = db.session.get(PurchaseOrder, orders[0][0])
        assert after.reserved == D("0.00")
        assert after.committed == order.committed == D("2053.80")
        assert after.available == D("100000") - D("2053.80")
        held = db.session.scalar(select(func.sum(BudgetEntry.amount)).where(
            BudgetEntry.budget_id == built.budget_id))
        assert held == D("2053.80")


def test_award_reason_required_for_a_line_not_at_its_best_price(world):
    built = build_rfq(world)
    q = built.quotes
    with acting_for(world.acme), pytest.raises(AwardProblem) as refused:
        awarding.award(_rfq(built), world.user("buyer@acme"),
                       choices={i: q["Polbud"] for i in built.line_ids})
    assert set(refused.value.problems) == {built.line_ids[0], built.line_ids[2], built.line_ids[3]}
    db.session.rollback()
    with system(db.session):
        assert db.session.get(Rfq, built.rfq_id).status == RfqStatus.CLOSED
        assert db.session.scalar(select(func.count()).select_from(PurchaseOrder)) == 0


def test_award_twice_refused(world):
    built = build_rfq(world)
    choices = {i: built.quotes["Polbud"] for i in built.line_ids}
    reasons = dict.fromkeys(built.line_ids, "Whole lot")
    _award(world, built, choices, reasons)
    with acting_for(world.acme), pytest.raises(InvalidTransition, match="already been awarded"):
        awarding.award(_rfq(built), world.user("buyer@acme"), choices=choices, reasons=reasons)
    db.session.rollback()
    with system(db.session):
        assert db.session.scalar(select(func.count()).select_from(PurchaseOrder)) == 1


def test_award_sealed_unopened_refused(world):
    built = build_rfq(world, sealed=True, opened=False)
    with acting_for(world.acme), pytest.raises(InvalidTransition, match="Open the sealed quotes"):
        awarding.award(_rfq(built), world.user("buyer@acme"),
                       choices={i: built.quotes["Polbud"] for i in built.line_ids})


def test_award_before_the_deadline_refused(world):
    built = build_rfq(world, status="open", deadline_passed=False)
    with acting_for(world.acme), pytest.raises(InvalidTransition, match="still open"):
        awarding.award(_rfq(built), world.user("buyer@acme"),
                       choices={i: built.quotes["Polbud"] for i in built.line_ids})


def test_award_open_past_its_deadline_is_allowed(world):
    built = build_rfq(world, status="open")
    orders = _award(world, built, {i: built.quotes["Polbud"] for i in built.line_ids},
                    dict.fromkeys(built.line_ids, "Whole lot"))
    assert len(orders) == 1
    with system(db.session):
        rfq = db.session.get(Rfq, built.rfq_id)
        assert rfq.status == RfqStatus.AWARDED and rfq.closed_at is not None


def test_award_refused_for_an_approver(world):
    built = build_rfq(world)
    with acting_for(world.acme), pytest.raises(PermissionDenied):
        awarding.award(_rfq(built), world.user("approver@acme"),
                       choices={i: built.quotes["Polbud"] for i in built.line_ids})


def test_award_tells_winners_and_thanks_the_others_without_prices(world):
    built = build_rfq(world)
    q = built.quotes
    ids = built.line_ids
    _award(world, built, {ids[0]: q["Baltic Tools"], ids[1]: q["Polbud"], ids[2]: q["Nordwind Supplies"],
                          ids[3]: q["Baltic Tools"], ids[4]: q["Polbud"], ids[5]: q["Polbud"]})
    with system(db.session):
        notes = {}
        for n in db.session.scalars(select(Notification).join(User, User.id == Notification.user_id)):
            notes.setdefault(n.organization_id, []).append(n)
    (baltic,) = [n for n in notes[built.suppliers["Baltic Tools"]] if "won" in n.message["params"]]
    params = baltic.message["params"]
    assert (params["won"], params["lines"]) == (2, 6)
    assert params["order"].startswith("PO/")
    assert baltic.target["endpoint"] == "supplier.order"
    # everybody won here; a loser is thanked without names or prices (next test)


def test_award_whole_rfq_to_one_supplier_thanks_the_losers(world):
    built = build_rfq(world)
    q = built.quotes
    _award(world, built, {i: q["Polbud"] for i in built.line_ids},
           dict.fromkeys(built.line_ids, "One supplier for the lot"))
    with system(db.session):
        for name in ("Nordwind Supplies", "Baltic Tools"):
            notes = db.session.scalars(select(Notification).where(
                Notification.organization_id == built.suppliers[name])).all()
            assert notes, name
            for note in notes:
                text = str(note.message)
                assert "Thank you" in text
                assert "Polbud" not in text and "0.41" not in text and "2053" not in text


def test_award_budget_refusal_leaves_nothing_written(world):
    # a budget that holds the reservation (2 163.00) but not a dearer award under "block"
    built = build_rfq(world, budget_amount="2163.00")
    q = built.quotes
    choices = {i: q["Nordwind Supplies"] for i in built.line_ids}
    reasons = dict.fromkeys(built.line_ids, "Preferred")
    with acting_for(world.acme), pytest.raises(BudgetExceeded):
        awarding.award(_rfq(built), world.user("buyer@acme"), choices=choices, reasons=reasons)
    db.session.rollback()
    with system(db.session):
        assert db.session.get(Rfq, built.rfq_id).status == RfqStatus.CLOSED
        assert db.session.scalar(select(func.count()).select_from(PurchaseOrder)) == 0
        assert db.session.scalar(select(func.count()).select_from(RfqAward)) == 0
        assert budgets.balances_of(db.session.get(Budget, built.budget_id)).reserved == D("2163.00")


# ---------------------------------------------------------------- CSV


def test_comparison_csv_plain_decimals_and_formula_safe(world):
    built = build_rfq(world)
    with system(db.session):
        db.session.get(RfqInvitation, built.invitations["Polbud"])
        line = db.session.get(awarding.RfqLine, built.line_ids[0])
        line.description = "=HYPERLINK(\"http://x\")"
        db.session.commit()
    text = awarding.comparison_csv(_matrix(world, built))
    rows = text.lstrip("\ufeff").split("\r\n")
    assert rows[0].startswith("Line,Description,Quantity,Unit,Agreed unit price,Best unit price,")
    assert "Polbud: unit price" in rows[0]
    assert rows[1].split(",")[1].startswith("\"'=HYPERLINK") or "'=HYPERLINK" in rows[1]
    assert "0.41" in rows[1] and "205.00" in rows[1]
    assert any(r.startswith(",Grand total,") and "2053.80" in r for r in rows)


# ---------------------------------------------------------------- concurrency (PostgreSQL)


@pytest.mark.skipif(not POSTGRES, reason="row locking is a PostgreSQL concern (SQLite serialises writers)")
@pytest.mark.parametrize("attempt", range(3 if POSTGRES else 1))
def test_two_awards_against_one_budget_never_over_commit(app, world, attempt):
    """Two RFQs of the same cost centre awarded at the same moment against a block budget
    that holds one dearer award's increase but not both: exactly one goes through."""
    # Each RFQ reserves 2 163.00 (415.00 + 1 748.00); quoted above every estimate it costs
    # 445.00 + 1 798.00: 30.00 and 50.00 more. The budget holds both reservations and 120.00:
    # one award's increase (80.00), not two.
    dear = {"Nordwind Supplies": (["0.44", "0.33", "0.06", "7.00", "19.00", "16.50"], 10, "0", "0")}
    first = build_rfq(world, budget_amount="4446.00", prices=dear)
    second = build_rfq(world, prices=dear, title="Second RFQ")
    assert first.budget_id == second.budget_id
    budget_id = first.budget_id
    with system(db.session):
        held = budgets.balances_of(db.session.get(Budget, budget_id))
    assert (held.reserved, held.available) == (D("4326.00"), D("120.00"))
    org_id = world.acme.id
    buyer_id = world.user("buyer@acme").id
    work = []
    for built in (first, second):
        choices = {i: built.quotes["Nordwind Supplies"] for i in built.line_ids}
        work.append((built.rfq_id, choices, {}))
    barrier = threading.Barrier(len(work), timeout=30)
    results, lock = [], threading.Lock()

    def run(rfq_id, choices, reasons):
        barrier.wait()
        try:
            with app.app_context(), bound(db.session, TenantScope(org_id)):
                actor = db.session.scalars(select(User).where(User.id == buyer_id)).one()
                rfq = db.session.scalars(select(Rfq).where(Rfq.id == rfq_id)).one()
                try:
                    awarding.award(rfq, actor, choices=choices, reasons=reasons)
                    db.session.commit()
                    outcome = "awarded"
                except BudgetExceeded:
                    db.session.rollback()
                    outcome = "refused"
                finally:
                    db.session.remove()
        except Exception as exc:  # noqa: BLE001 - reported through results
            outcome = f"crashed: {exc!r}"
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run, args=w) for w in work]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    db.session.expire_all()
    with system(db.session):
        budget = db.session.get(Budget, budget_id)
        balances = budgets.balances_of(budget)
        ledger = db.session.scalar(select(func.sum(BudgetEntry.amount)).where(
            BudgetEntry.budget_id == budget_id))
        committed = db.session.scalar(select(func.coalesce(func.sum(PurchaseOrder.committed), 0)))
    assert sorted(results) == ["awarded", "refused"], results
    assert balances.available == D("40.00"), balances
    assert balances.reserved == D("2163.00") and balances.committed == D("2243.00")
    assert ledger == balances.consumed == budget.consumed
    assert balances.committed == committed


def test_comparison_shows_the_agreed_price_of_a_catalog_line(world):
    from datetime import date

    from portal.models import PriceAgreement, RfqLine
    from tests.factories import make_item

    built = build_rfq(world)
    item = make_item(world.acme, "AWD-BOLT", name="Bolt M8", price="0.50")
    with system(db.session):
        db.session.get(RfqLine, built.line_ids[0]).item_id = item.id
        db.session.add(PriceAgreement(
            organization_id=world.acme.id, supplier_id=built.suppliers["Polbud"],
            link_id=built.links["Polbud"], item_id=item.id, unit_price=D("0.36"), currency="PLN",
            tiers=[], valid_from=date(2026, 1, 1), created_by_id=built.admin_id))
        db.session.commit()
    m = _matrix(world, built)
    first = m.rows[0]
    assert first.line.agreed_price == D("0.36") and first.agreed_net == D("180.00")
    assert first.line.agreed_supplier == "Polbud"
    assert m.has_agreed_prices and m.rows[1].line.agreed_price is None
