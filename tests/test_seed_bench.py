"""`flask seed-bench`: the benchmark world is consistent (every state, tasks that match each
state, a ledger that matches its budgets' counters, tenants kept apart, noise companies with
data), stored as the models store it (JSON, timestamps, exact amounts), leaves the schema's
indexes and foreign keys exactly as they were, and the portal's own services carry on from it
(numbering continues without a gap). No timings here: those live in bench/."""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter, defaultdict
from decimal import Decimal

from sqlalchemy import func, inspect, select, text

from portal.domain.requisition import RequisitionStatus as S
from portal.extensions import db
from portal.models import Category, CostCenter, Organization, Requisition
from portal.models.approval import ApprovalAssignment, ApprovalTask
from portal.models.audit import AuditEvent
from portal.models.budget import Budget, BudgetEntry
from portal.models.notification import Notification
from portal.models.requisition import RequisitionLine
from portal.services import budgets, requisitions
from portal.services.bench_load import Clock, fixed_text
from portal.services.bench_seed import LONG_TIMELINE_TITLE
from tests.conftest import as_system, login
from tests.kit import acme_kit, acting_for

APPROVED_LIKE = {S.APPROVED, S.SOURCING, S.ORDERED, S.CLOSED}


def _seed(app, n=200, noise=3):
    result = app.test_cli_runner().invoke(
        args=["seed-bench", "--requisitions", str(n), "--noise-companies", str(noise), "--batch-size", "70"])
    assert result.exit_code == 0, result.output
    assert f"Bench world ready: {n} requisitions" in result.output


def _schema() -> dict:
    inspector = inspect(db.engine)
    return {table: (sorted((i["name"], tuple(i["column_names"]), bool(i["unique"]))
                           for i in inspector.get_indexes(table)),
                    sorted((fk["name"], tuple(fk["constrained_columns"]), fk["referred_table"])
                           for fk in inspector.get_foreign_keys(table)),
                    sorted(str(c) for c in inspector.get_unique_constraints(table)))
            for table in inspector.get_table_names()}


def test_seed_bench_builds_every_state_with_matching_tasks(app, world):
    acme_kit(world, board=False)  # two steps: the CFO's from 10 000
    _seed(app)
    acme = world.acme
    with as_system():
        reqs = db.session.execute(select(Requisition.id, Requisition.status, Requisition.net_total).where(
            Requisition.organization_id == acme.id)).all()
        tasks = defaultdict(list)
        for req_id, status, decision, position in db.session.execute(
                select(ApprovalTask.requisition_id, ApprovalTask.status, ApprovalAssignment.decision,
                       ApprovalTask.position)
                .join(ApprovalAssignment, ApprovalAssignment.task_id == ApprovalTask.id)
                .where(ApprovalTask.organization_id == acme.id)):
            tasks[req_id].append((str(status), decision, position))
        lines = dict(db.session.execute(select(RequisitionLine.requisition_id, func.count()).where(
            RequisitionLine.organization_id == acme.id).group_by(RequisitionLine.requisition_id)).all())
        line_sums = dict(db.session.execute(select(RequisitionLine.requisition_id, func.sum(RequisitionLine.net))
                                            .group_by(RequisitionLine.requisition_id)).all())
        events = dict(db.session.execute(select(AuditEvent.object_id, func.count()).where(
            AuditEvent.object_type == "Requisition", AuditEvent.organization_id == acme.id)
            .group_by(AuditEvent.object_id)).all())
        notifications = db.session.scalar(select(func.count()).select_from(Notification).where(
            Notification.organization_id == acme.id))
    assert len(reqs) == 200
    assert {status for _, status, _ in reqs} == set(S)
    for req_id, status, net in reqs:
        assert 1 <= lines[req_id] <= 5
        assert line_sums[req_id] == net
        assert events[req_id] >= 1
        found = [t[:2] for t in tasks.get(req_id, [])]
        if status != S.DRAFT:
            assert sorted(t[2] for t in tasks[req_id]) == ([1, 2] if net >= Decimal("10000") else [1])
        if status == S.DRAFT:
            assert found == []
        elif status == S.PENDING:
            assert [t for t in found if t[0] == "pending"] == [("pending", None)]
            assert all(t == ("approved", "approve") for t in found if t[0] != "pending")
        elif status in APPROVED_LIKE:
            assert found and all(t == ("approved", "approve") for t in found)
        elif status == S.REJECTED:
            assert ("rejected", "reject") in found
        elif status == S.CANCELLED:
            assert found and all(t == ("cancelled", None) for t in found)
    assert notifications > 0


def test_seed_bench_open_assignments_carry_their_task_activation(app, world):
    _seed(app)
    if "activated_at" not in ApprovalAssignment.__table__.c:
        return  # the column arrives with the inbox keyset (migration f1a2b3c4d5e1)
    with as_system():
        rows = db.session.execute(select(
            ApprovalAssignment.decision, ApprovalAssignment.activated_at, ApprovalTask.status,
            ApprovalTask.activated_at).join(ApprovalTask, ApprovalTask.id == ApprovalAssignment.task_id)).all()
    assert any(own is not None for _, own, _, _ in rows)
    for decision, own, status, task_activated in rows:
        expected = task_activated if decision is None and status == "pending" else None
        assert own == expected


def test_seed_bench_ledger_matches_budget_counters_and_numbering_continues(app, world):
    _seed(app)
    acme = world.acme
    with as_system():
        found = db.session.scalars(select(Budget).where(Budget.organization_id == acme.id)).all()
        assert found
        before = {}
        for budget in found:
            sums = dict(db.session.execute(select(BudgetEntry.kind, func.sum(BudgetEntry.amount)).where(
                BudgetEntry.budget_id == budget.id).group_by(BudgetEntry.kind)).all())
            sums = {str(kind): Decimal(total) for kind, total in sums.items()}
            assert budget.reserved == sums.get("reserve", 0) + sums.get("release", 0)
            assert budget.committed == sums.get("commit", 0)
            assert budget.spent == sums.get("actual", 0)
            assert budget.consumed == sum(sums.values(), Decimal("0"))
            assert budget.amount >= budget.consumed
            before[budget.id] = (budget.reserved, budget.committed, budget.spent, budget.consumed)
        budgets.recount(list(before))
        assert {b.id: (b.reserved, b.committed, b.spent, b.consumed) for b in found} == before
        assert db.session.scalar(select(func.count()).select_from(BudgetEntry).where(
            BudgetEntry.organization_id == acme.id)) > 0
        db.session.rollback()
    buyer = world.user("buyer@acme")
    with acting_for(acme):
        cc = db.session.scalar(select(CostCenter).where(CostCenter.organization_id == acme.id))
        created = requisitions.create_requisition(buyer, title="After the bench", cost_center=cc)
        db.session.commit()
        numbers = db.session.scalars(select(Requisition.number).where(
            Requisition.organization_id == acme.id)).all()
    year = created.number.split("-")[1]
    assert sorted(int(n.rsplit("-", 1)[1]) for n in numbers if n.split("-")[1] == year) == list(
        range(1, len(numbers) + 1))
    assert created.number == f"REQ-{year}-{len(numbers):05d}"


def test_seed_bench_keeps_the_schema_and_stores_values_as_the_models_do(app, world):
    schema = _schema()
    _seed(app)
    assert _schema() == schema
    postgresql = db.engine.dialect.name == "postgresql"
    cast = "::text" if postgresql else ""
    with db.engine.connect() as conn:
        for table, column in (("notifications", "message"), ("notifications", "target"),
                              ("approval_tasks", "reason_params"), ("audit_events", "summary")):
            for (value,) in conn.execute(text(f"SELECT {column}{cast} FROM {table} "  # noqa: S608
                                              f"WHERE {column} IS NOT NULL ORDER BY id DESC LIMIT 300")):
                assert value == json.dumps(json.loads(value))
        if not postgresql:
            stamps = conn.execute(text("SELECT created_at, decided_at FROM requisitions ORDER BY id DESC LIMIT 50"))
            for created, decided in stamps:
                for stamp in (created, decided):
                    assert stamp is None or re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", stamp)
            assert conn.execute(text("SELECT count(*) FROM requisitions WHERE typeof(net_total) != 'integer'")
                                ).scalar() == 0
    with as_system():
        line = db.session.scalar(select(RequisitionLine).order_by(RequisitionLine.id.desc()).limit(1))
    assert line.net == (line.quantity * line.unit_price).quantize(Decimal("0.01"))
    assert line.gross == line.net + line.vat and line.vat_rate == Decimal("23.00")


def test_seed_bench_fills_noise_companies_and_keeps_tenants_apart(app, world, client):
    _seed(app)
    acme = world.acme
    with as_system():
        noise = db.session.scalars(select(Organization).where(Organization.name.like("Noise Company %"))).all()
        assert len(noise) == 3
        per_company = dict(db.session.execute(select(Requisition.organization_id, func.count()).group_by(
            Requisition.organization_id)).all())
        assert all(per_company.get(org.id) == 100 for org in noise)
        tasks = dict(db.session.execute(select(ApprovalTask.organization_id, func.count()).group_by(
            ApprovalTask.organization_id)).all())
        assert all(tasks.get(org.id, 0) > 0 for org in noise)
        noise_req = db.session.scalar(select(Requisition).where(Requisition.organization_id == noise[0].id))
        long_id = db.session.scalar(select(Requisition.id).where(Requisition.title == LONG_TIMELINE_TITLE))
        # Children carry their parent's company.
        for child, parent in ((RequisitionLine.requisition_id, RequisitionLine.organization_id),
                              (ApprovalTask.requisition_id, ApprovalTask.organization_id)):
            mixed = db.session.scalar(select(func.count()).select_from(child.class_).join(
                Requisition, Requisition.id == child).where(Requisition.organization_id != parent))
            assert mixed == 0
    with acting_for(acme):
        visible = Counter(db.session.scalars(select(Requisition.organization_id)))
    assert set(visible) == {acme.id}
    login(client, world.user("admin@acme"))
    assert client.get(f"/requisitions/{noise_req.id}").status_code == 404
    page = client.get(f"/requisitions/{long_id}")
    assert page.status_code == 200
    assert "Please revise." in page.get_data(as_text=True)
    assert client.get("/requisitions/all?status=pending").status_code == 200
    assert client.get("/requisitions/all?q=Furniture").status_code == 200
    with as_system():
        budget_id = db.session.scalar(select(Budget.id).where(Budget.organization_id == acme.id))
    for path in (f"/budgets/{budget_id}", "/admin/audit", "/"):
        assert client.get(path).status_code == 200, path
    login(client, world.user("approver@acme"))
    inbox = client.get("/approvals/")
    assert inbox.status_code == 200
    assert "REQ-" in inbox.get_data(as_text=True)


def test_bench_values_render_in_the_stored_forms():
    from datetime import UTC, datetime

    assert fixed_text(-1230, 2) == "-12.30"
    assert fixed_text(5, 4) == "0.0005"
    clock = Clock(datetime(2026, 1, 2, 8, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC), ".000000")
    moment = datetime(2026, 2, 28, 23, 59, 58, tzinfo=UTC)
    assert clock.at(int(moment.timestamp())) == "2026-02-28 23:59:58.000000"
    assert clock.date(int(moment.timestamp())) == "2026-02-28"


def _walk(client, path: str, hops: int = 30) -> int:
    """GET `path` and every next page after it (keyset cursors), each 200; returns the pages seen."""
    for seen in range(1, hops + 1):
        page = client.get(path)
        assert page.status_code == 200, path
        html = page.get_data(as_text=True)
        found = re.search(r'<a href="([^"]+)" rel="next"', html)
        if found is None:
            return seen
        path = found.group(1).replace("&amp;", "&")
    return hops


def test_seed_bench_builds_catalog_suppliers_invitations_and_budgets_in_proportion(app, world, client):
    from portal.domain.catalog import fold_for_search
    from portal.models import Item, SupplierLink
    from portal.models.user import Invitation

    n = 600
    acme, nordwind = world.acme, world.user("sales@nordwind").organization_id
    with as_system():
        demo_items = db.session.scalar(select(func.count()).select_from(Item))
        demo_suppliers = db.session.scalar(select(func.count()).select_from(Organization).where(
            Organization.kind == "supplier"))
    _seed(app, n=n)
    with as_system():
        items = db.session.scalars(select(Item)).all()
        bench_items = [i for i in items if re.fullmatch(r"[A-Z]+-[A-Z]+-\d{7}", i.sku)]
        assert len(items) == demo_items + n // 10 == demo_items + len(bench_items)
        categories = set(db.session.scalars(select(Category.id).where(Category.organization_id == acme.id)))
        for item in bench_items:
            assert item.organization_id == acme.id and item.category_id in categories
            assert item.list_price > 0 and item.currency == acme.currency
            assert item.name_search == fold_for_search(item.name)
        assert sum(not i.is_active for i in bench_items) == n // 10 // 4
        suppliers = db.session.scalars(select(Organization).where(Organization.kind == "supplier")).all()
        assert len(suppliers) == demo_suppliers + n // 100
        links = db.session.scalars(select(SupplierLink)).all()
        acme_links = {link.supplier_id: link for link in links if link.organization_id == acme.id}
        assert all(s.id in acme_links for s in suppliers if s.tax_id.startswith("9"))
        assert {str(link.status) for link in acme_links.values()} >= {"active"}
        customers = [link for link in links if link.supplier_id == nordwind]
        noise = {org.id for org in db.session.scalars(select(Organization).where(
            Organization.name.like("Noise Company %")))}
        assert noise <= {link.organization_id for link in customers}
        invitations = db.session.scalars(select(Invitation).where(Invitation.kind == "supplier")).all()
        assert len(invitations) == n // 100 and all(i.organization_id == acme.id for i in invitations)
        assert sum(i.accepted_at is None and i.revoked_at is None for i in invitations) == (n // 100 + 2) // 3
        monthly = db.session.scalars(select(Budget).where(Budget.period_kind == "month")).all()
        assert monthly and all(b.organization_id == acme.id for b in monthly)
        periods = defaultdict(list)
        for budget in monthly:
            assert budget.cost_center.organization_id == acme.id and budget.starts_on.day == 1
            periods[budget.cost_center_id].append((budget.starts_on, budget.ends_on))
        for spans in periods.values():
            spans.sort()
            assert len(spans) % 12 == 0
            assert all(end < start for (_, end), (start, _) in itertools.pairwise(spans))
        posted = db.session.scalar(select(func.count()).select_from(BudgetEntry).where(
            BudgetEntry.budget_id.in_([b.id for b in monthly])))
        assert posted > 0
    app.config["PAGE_SIZE"], size = 10, app.config["PAGE_SIZE"]
    try:
        login(client, world.user("buyer@acme"))
        assert _walk(client, "/catalog/") >= 3
        assert client.get("/catalog/?q=krzeslo").status_code == 200
        assert "BIU-KRZ-" in client.get("/catalog/?q=krzes%C5%82o&status=all").get_data(as_text=True)
        login(client, world.user("admin@acme"))
        for path in ("/catalog/?status=all", "/catalog/?status=inactive", "/suppliers/", "/suppliers/?status=blocked",
                     "/suppliers/invitations", "/budgets/", "/budgets/?status=all"):
            assert _walk(client, path) >= 1, path
        assert _walk(client, "/budgets/") >= 4
        login(client, world.user("approver@acme"))
        assert _walk(client, "/notifications/") >= 2
        login(client, world.user("sales@nordwind"))
        customers_page = client.get("/supplier/customers")
        assert "Noise Company 01" in customers_page.get_data(as_text=True)
        assert _walk(client, "/supplier/customers") >= 1
    finally:
        app.config["PAGE_SIZE"] = size
