"""Budget rules through the services: creation, revision, reservations under each policy,
release, and no over-commitment under concurrency (SQLite and PostgreSQL)."""

import threading
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from portal.domain.budget import EntryKind, OverrunPolicy, PeriodKind
from portal.domain.requisition import RequisitionStatus
from portal.errors import BudgetExceeded, PermissionDenied, ValidationProblem
from portal.extensions import db
from portal.models import Budget, BudgetEntry, BudgetRevision, CostCenter, Requisition
from portal.models.base import utcnow
from portal.services import budgets
from portal.tenancy import TenantScope, bound
from tests.conftest import as_org

D = Decimal
YEAR = utcnow().year


@pytest.fixture
def acme_cc(world):
    with as_org(world.acme):
        cc = db.session.scalars(select(CostCenter).where(CostCenter.code == "BUD")).first()
        if cc is None:
            cc = CostCenter(organization_id=world.acme.id, code="BUD", name="Budget tests",
                            manager_id=world.user("approver@acme").id)
            db.session.add(cc)
            db.session.commit()
        return cc


def make_budget(world, cc, amount="100.00", policy=OverrunPolicy.BLOCK, currency="PLN"):
    with as_org(world.acme):
        budget = budgets.create_budget(
            world.user("admin@acme"), cost_center=cc, name="Test", period_kind=PeriodKind.YEAR,
            starts_on=date(YEAR, 1, 1), ends_on=date(YEAR, 12, 31), amount=D(amount), currency=currency,
            overrun_policy=policy,
        )
        db.session.commit()
        return budget


def make_requisitions(world, cc, count, net="10.00", currency="PLN"):
    ids = []
    with as_org(world.acme):
        for n in range(count):
            req = Requisition(
                organization_id=world.acme.id, number=f"REQ-T-{n:05d}", title=f"Test {n}",
                cost_center_id=cc.id, currency=currency, status=RequisitionStatus.PENDING,
                requester_id=world.user("buyer@acme").id, net_total=D(net), vat_total=D("0"), gross_total=D(net),
                submitted_at=utcnow(),
            )
            db.session.add(req)
            db.session.flush()
            ids.append(req.id)
        db.session.commit()
    return ids


def load(model, obj_id):
    return db.session.scalars(select(model).where(model.id == obj_id)).one()


def test_budget_create_refuses_bad_input_and_saves_nothing(world, acme_cc):
    admin = world.user("admin@acme")
    cases = [
        dict(amount=D("-1")),
        dict(starts_on=date(YEAR, 6, 1), ends_on=date(YEAR, 5, 31)),
        dict(amount=D("1.005")),
        dict(currency="XXX"),
        dict(cost_center=None),
    ]
    with as_org(world.acme):
        for case in cases:
            args = dict(cost_center=acme_cc, name="X", period_kind=PeriodKind.YEAR, starts_on=date(YEAR, 1, 1),
                        ends_on=date(YEAR, 12, 31), amount=D("100"), currency="PLN")
            args.update(case)
            with pytest.raises(ValidationProblem):
                budgets.create_budget(admin, **args)
            db.session.rollback()
        assert db.session.scalar(select(func.count(Budget.id))) == 0


def test_budget_overlapping_periods_for_one_cost_centre_are_refused(world, acme_cc):
    make_budget(world, acme_cc)
    with as_org(world.acme), pytest.raises(ValidationProblem, match="already has the budget"):
        budgets.create_budget(world.user("admin@acme"), cost_center=acme_cc, name="Q2", period_kind=PeriodKind.QUARTER,
                              starts_on=date(YEAR, 4, 1), ends_on=date(YEAR, 6, 30), amount=D("5"), currency="PLN")


def test_budget_only_admins_manage(world, acme_cc):
    with as_org(world.acme), pytest.raises(PermissionDenied):
        budgets.create_budget(world.user("buyer@acme"), cost_center=acme_cc, name="X", period_kind=PeriodKind.YEAR,
                              starts_on=date(YEAR, 1, 1), ends_on=date(YEAR, 12, 31), amount=D("5"), currency="PLN")


def test_budget_block_refuses_the_shortfall_and_posts_nothing(world, acme_cc):
    budget = make_budget(world, acme_cc, amount="25.00")
    ids = make_requisitions(world, acme_cc, 3)
    with as_org(world.acme):
        approver = world.user("approver@acme")
        for req_id in ids[:2]:
            assert budgets.reserve_for_requisition(load(Requisition, req_id), approver) == "reserved"
        db.session.commit()
        with pytest.raises(BudgetExceeded, match="5.00") as info:
            budgets.reserve_for_requisition(load(Requisition, ids[2]), approver)
        assert "short" in str(info.value.message)
        db.session.rollback()
        b = load(Budget, budget.id)
        assert budgets.balances_of(b).reserved == D("20.00")
        assert b.consumed == D("20.00")


def test_budget_warn_reserves_and_flags_the_overrun(world, acme_cc):
    budget = make_budget(world, acme_cc, amount="15.00", policy=OverrunPolicy.WARN)
    ids = make_requisitions(world, acme_cc, 2)
    with as_org(world.acme):
        approver = world.user("approver@acme")
        outcomes = [budgets.reserve_for_requisition(load(Requisition, i), approver) for i in ids]
        db.session.commit()
        assert outcomes == ["reserved", "overrun"]
        entries = db.session.scalars(select(BudgetEntry).order_by(BudgetEntry.id)).all()
        assert [e.overrun for e in entries] == [False, True]
        assert budgets.balances_of(load(Budget, budget.id)).available == D("-5.00")


def test_budget_escalate_asks_for_an_extra_approval_then_allows(world, acme_cc):
    make_budget(world, acme_cc, amount="5.00", policy=OverrunPolicy.ESCALATE)
    (req_id,) = make_requisitions(world, acme_cc, 1)
    with as_org(world.acme):
        approver = world.user("approver@acme")
        assert budgets.reserve_for_requisition(load(Requisition, req_id), approver) == "needs_escalation"
        assert db.session.scalar(select(func.count(BudgetEntry.id))) == 0
        outcome = budgets.reserve_for_requisition(load(Requisition, req_id), approver, overrun_approved=True)
        assert outcome == "overrun"


def test_budget_release_gives_back_the_reservation_and_a_second_release_does_nothing(world, acme_cc):
    budget = make_budget(world, acme_cc)
    (req_id,) = make_requisitions(world, acme_cc, 1)
    with as_org(world.acme):
        actor = world.user("admin@acme")
        budgets.reserve_for_requisition(load(Requisition, req_id), actor)
        assert budgets.release_for("Requisition", req_id, actor) == D("10.00")
        assert budgets.release_for("Requisition", req_id, actor) == D("0.00")
        db.session.commit()
        b = load(Budget, budget.id)
        assert budgets.balances_of(b).available == D("100.00") and b.consumed == D("0.00")
        kinds = db.session.scalars(select(BudgetEntry.kind).order_by(BudgetEntry.id)).all()
        assert kinds == [EntryKind.RESERVE, EntryKind.RELEASE]


def test_budget_currency_must_match(world, acme_cc):
    make_budget(world, acme_cc)
    (req_id,) = make_requisitions(world, acme_cc, 1, currency="EUR")
    with as_org(world.acme), pytest.raises(BudgetExceeded, match="EUR"):
        budgets.reserve_for_requisition(load(Requisition, req_id), world.user("admin@acme"))


def test_budget_revision_is_kept_and_cannot_go_below_use(world, acme_cc):
    budget = make_budget(world, acme_cc)
    ids = make_requisitions(world, acme_cc, 3)
    with as_org(world.acme):
        admin = world.user("admin@acme")
        for i in ids:
            budgets.reserve_for_requisition(load(Requisition, i), admin)
        with pytest.raises(ValidationProblem, match="below"):
            budgets.revise_budget(load(Budget, budget.id), admin, amount=D("29.99"), reason="cut")
        db.session.rollback()
        with pytest.raises(ValidationProblem, match="why"):
            budgets.revise_budget(load(Budget, budget.id), admin, amount=D("150"), reason=" ")
        db.session.rollback()
        budgets.revise_budget(load(Budget, budget.id), admin, amount=D("150.00"), reason="Extra project")
        db.session.commit()
        revisions = db.session.scalars(select(BudgetRevision).order_by(BudgetRevision.id)).all()
        assert [(r.old_amount, r.new_amount, r.reason) for r in revisions][-1] == (D("100.00"), D("150.00"),
                                                                                  "Extra project")


def test_budget_closed_takes_no_reservation(world, acme_cc):
    budget = make_budget(world, acme_cc)
    (req_id,) = make_requisitions(world, acme_cc, 1)
    with as_org(world.acme):
        admin = world.user("admin@acme")
        budgets.close_budget(load(Budget, budget.id), admin)
        db.session.commit()
        assert budgets.reserve_for_requisition(load(Requisition, req_id), admin) == "no_budget"


@pytest.mark.parametrize("threads", [20])
def test_budget_concurrent_reservations_never_over_commit(app, world, acme_cc, threads):
    """20 approvals of 10.00 at the same moment against a budget of 100.00: exactly ten succeed."""
    budget = make_budget(world, acme_cc, amount="100.00")
    ids = make_requisitions(world, acme_cc, threads)
    org_id = world.acme.id
    approver_id = world.user("approver@acme").id
    barrier = threading.Barrier(threads, timeout=30)
    results: list[str] = []
    lock = threading.Lock()

    def approve(req_id):
        try:
            _approve(req_id)
        except Exception as exc:  # noqa: BLE001 - reported through results
            with lock:
                results.append(f"crashed: {exc!r}")

    def _approve(req_id):
        # Wait before touching the database, so no thread holds a pooled connection while the
        # others queue for one; then all start at once.
        barrier.wait()
        with app.app_context(), bound(db.session, TenantScope(org_id)):
            from portal.models import User

            actor = load(User, approver_id)
            req = load(Requisition, req_id)
            try:
                budgets.reserve_for_requisition(req, actor)
                db.session.commit()
                outcome = "ok"
            except BudgetExceeded as exc:
                db.session.rollback()
                outcome = "refused" if "short" in str(exc.message) else f"odd: {exc.message}"
            finally:
                db.session.remove()
            with lock:
                results.append(outcome)

    workers = [threading.Thread(target=approve, args=(i,)) for i in ids]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert sorted(results) == ["ok"] * 10 + ["refused"] * 10
    db.session.expire_all()
    with as_org(world.acme):
        b = load(Budget, budget.id)
        bal = budgets.balances_of(b)
        assert bal.reserved == D("100.00") and bal.available == D("0.00")
        assert b.consumed == D("100.00")
