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

import pytest
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
from portal.services.bench_rows import COLUMNS
from portal.services.bench_seed import LONG_TIMELINE_TITLE
from tests.conftest import as_system, login
from tests.kit import acme_kit, acting_for

APPROVED_LIKE = {S.APPROVED, S.SOURCING, S.ORDERED, S.CLOSED}
SOURCING_TABLES = ("price_agreements", "rfqs", "rfq_lines", "rfq_invitations", "quotes", "quote_lines",
                   "quote_revisions", "rfq_awards", "purchase_orders", "purchase_order_lines", "goods_receipts",
                   "goods_receipt_lines")


@pytest.fixture(autouse=True)
def _forget_statistics(app):
    """seed-bench ends with ANALYZE: on SQLite its statistics (sqlite_stat1) would outlive this
    test's rows and steer the plans of later tests (tests/test_list_plans.py sorted a temporary
    B-tree after this file had run)."""
    yield
    if db.engine.dialect.name != "sqlite":
        return
    with db.engine.begin() as conn:
        for (table,) in conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE name LIKE 'sqlite_stat%' AND type = 'table'").all():
            conn.exec_driver_sql(f"DELETE FROM {table}")  # noqa: S608 - SQLite's own statistics tables
    db.engine.dispose()  # connections read the statistics when they open


def _seed(app, n=200, noise=3, documents=0):
    result = app.test_cli_runner().invoke(
        args=["seed-bench", "--requisitions", str(n), "--noise-companies", str(noise), "--batch-size", "70",
              "--documents", str(documents)])
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
    # Every table the generator loads has its indexes dropped during the load and rebuilt from
    # the database's own definitions: the sourcing tables are among them.
    assert set(SOURCING_TABLES) <= set(COLUMNS) and set(SOURCING_TABLES) <= set(schema)
    for table, index in (("rfqs", "ix_rfqs_org_status_deadline"),
                         ("purchase_orders", "ix_purchase_orders_org_status_delivery"),
                         ("rfq_invitations", "ix_rfq_invitations_supplier_status_created"),
                         ("price_agreements", "ix_price_agreements_org_from")):
        assert index in {name for name, _, _ in schema[table][0]}, table
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
            for table, column in (("purchase_orders", "gross_total"), ("purchase_order_lines", "unit_price"),
                                  ("quote_lines", "net"), ("rfq_lines", "quantity"), ("price_agreements", "unit_price"),
                                  ("goods_receipt_lines", "quantity")):
                assert conn.execute(text(f"SELECT count(*) FROM {table} "  # noqa: S608
                                         f"WHERE typeof({column}) != 'integer'")).scalar() == 0, table
            for table, column in (("purchase_orders", "issued_at"), ("rfqs", "deadline"), ("quotes", "submitted_at")):
                for (stamp,) in conn.execute(text(f"SELECT {column} FROM {table} LIMIT 50")):  # noqa: S608
                    assert stamp is None or re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", stamp)
        for table, column in (("purchase_orders", "payment_terms"), ("price_agreements", "tiers"),
                              ("quote_revisions", "snapshot")):
            for (value,) in conn.execute(text(f"SELECT {column}{cast} FROM {table} LIMIT 50")):  # noqa: S608
                assert value == json.dumps(json.loads(value))
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


# ---------------------------------------------------------------- sourcing (issue 10)


def test_rfq_states_take_their_exact_shares_of_every_hundred():
    from portal.services.bench_sourcing import RFQ_BUCKETS, RFQ_SHARES, STRIDE

    for first in (0, 100, 37):
        seen = Counter(RFQ_BUCKETS[n * STRIDE % 100] for n in range(first, first + 100))
        assert seen == dict(RFQ_SHARES)


def _by_id(model) -> dict:
    return {row.id: row for row in db.session.scalars(select(model))}


def test_seed_bench_builds_sourcing_in_proportion_and_consistent_with_requisitions(app, world, client):
    """RFQs (N/20) in every state, invitations to linked suppliers (Nordwind on many), quotes and
    awards, orders (N/10) with receipts by state, price agreements (N/100); every requisition's
    state agrees with the RFQs and orders naming it; numbering carries on after the last number."""
    from portal.domain.orders import format_number as po_number
    from portal.models import PriceAgreement, SupplierLink
    from portal.models.order import GoodsReceipt, GoodsReceiptLine, PurchaseOrder, PurchaseOrderLine
    from portal.models.rfq import Quote, QuoteLine, QuoteRevision, Rfq, RfqAward, RfqInvitation, RfqLine
    from portal.money import round_money
    from portal.services import numbering

    n = 1200
    acme, nordwind = world.acme, world.user("sales@nordwind").organization_id
    _seed(app, n=n)
    with as_system():
        links = _by_id(SupplierLink)
        reqs = {r.id: r for r in db.session.scalars(select(Requisition).where(
            Requisition.organization_id == acme.id))}
        req_of_line = dict(db.session.execute(select(RequisitionLine.id, RequisitionLine.requisition_id).where(
            RequisitionLine.organization_id == acme.id)).all())
        rfqs, invitations, quotes = _by_id(Rfq), _by_id(RfqInvitation), _by_id(Quote)
        rfq_lines, quote_lines, awards = _by_id(RfqLine), _by_id(QuoteLine), _by_id(RfqAward)
        orders, order_lines = _by_id(PurchaseOrder), _by_id(PurchaseOrderLine)
        receipts, receipt_lines = _by_id(GoodsReceipt), _by_id(GoodsReceiptLine)
        agreements = _by_id(PriceAgreement)
        revisions = {r.quote_id: r for r in db.session.scalars(select(QuoteRevision))}
        year = int(next(iter(rfqs.values())).number.split("-")[1])
        counters = {kind: numbering.peek_last(acme.id, kind, year) for kind in ("RFQ", "PO")}

    # Proportions: an RFQ per 20 requisitions, an order per 10 (a few more to leave none out).
    assert n // 20 <= len(rfqs) <= n // 20 + 3
    assert n // 10 <= len(orders) <= n // 10 + 3
    assert all(r.organization_id == acme.id for r in (*rfqs.values(), *orders.values()))
    states = Counter(str(r.status) for r in rfqs.values())
    for state, share in (("draft", 6), ("open", 15), ("closed", 15), ("awarded", 55), ("cancelled", 9)):
        assert abs(states[state] / len(rfqs) - share / 100) <= 0.05, states
    assert {str(o.status) for o in orders.values()} == {
        "issued", "acknowledged", "partially_received", "received", "cancelled"}
    assert {str(o.source) for o in orders.values()} == {"rfq", "agreement"}

    # Numbers: unique, without gaps, and the counters continue after the last one.
    rfq_numbers = sorted(int(r.number.rsplit("-", 1)[1]) for r in rfqs.values())
    assert rfq_numbers == list(range(1, len(rfqs) + 1)) and counters["RFQ"] == len(rfqs)
    assert sorted(o.number for o in orders.values()) == sorted(po_number(year, k) for k in range(1, len(orders) + 1))
    assert counters["PO"] == len(orders)
    with acting_for(acme):
        assert numbering.next_sequence(acme.id, "PO", year) == len(orders) + 1
        db.session.rollback()

    # Tenant columns: every invitation, quote and order names a supplier linked to the buyer.
    per_rfq = Counter(i.rfq_id for i in invitations.values())
    assert set(per_rfq) == set(rfqs) and set(per_rfq.values()) <= {2, 3}
    for doc in (*invitations.values(), *orders.values()):
        link = links[doc.link_id]
        assert (doc.organization_id, doc.supplier_id) == (link.organization_id, link.supplier_id) == (
            acme.id, doc.supplier_id)
        assert str(link.status) == "active"
    for quote in quotes.values():
        invitation = invitations[quote.invitation_id]
        assert (quote.organization_id, quote.supplier_id, quote.rfq_id) == (
            acme.id, invitation.supplier_id, invitation.rfq_id)
    assert sum(i.supplier_id == nordwind for i in invitations.values()) >= len(rfqs) * 0.35
    assert sum(o.supplier_id == nordwind for o in orders.values()) >= len(orders) * 0.2

    # Quotes: ~70 % of the invitations of RFQs that took answers, a few drafts; a line per RFQ line.
    answering = [i for i in invitations.values() if str(rfqs[i.rfq_id].status) in ("open", "closed", "awarded")]
    quoted = [q for q in quotes.values() if q.invitation_id in {i.id for i in answering}]
    assert len(quoted) == len(quotes) and 0.55 <= len(quotes) / len(answering) <= 0.85
    assert 0 < sum(str(q.status) == "draft" for q in quotes.values()) <= len(quotes) * 0.15
    lines_of = defaultdict(set)
    for line in rfq_lines.values():
        lines_of[line.rfq_id].add(line.id)
    assert all(len(ids) >= 2 for ids in lines_of.values())
    quoted_lines = defaultdict(set)
    for line in quote_lines.values():
        quoted_lines[line.quote_id].add(line.rfq_line_id)
    for quote in quotes.values():
        assert quoted_lines[quote.id] == lines_of[quote.rfq_id]
        revision = revisions.get(quote.id)
        if str(quote.status) == "draft":
            assert revision is None and quote.revision == 0 and quote.submitted_at is None
        else:  # the submitted revision, as services.sourcing.quotes keeps it
            assert (revision.number, quote.revision, revision.submitted_at) == (1, 1, quote.submitted_at)
            assert Decimal(revision.snapshot["net_total"]) == revision.net_total == quote.net_total
            assert {line["rfq_line_id"] for line in revision.snapshot["lines"]} == lines_of[quote.rfq_id]
        expected = "awarded" if str(rfqs[quote.rfq_id].status) == "awarded" else None
        if expected:
            assert str(quote.status) in ("awarded", "lost")
            assert str(invitations[quote.invitation_id].status) == str(quote.status)
        elif str(quote.status) == "submitted":
            assert str(invitations[quote.invitation_id].status) == "quoted"
    # Awards: every line of an awarded RFQ, to a submitted quote, on an order line of that quote's order.
    for rfq in rfqs.values():
        won = [a for a in awards.values() if a.rfq_id == rfq.id]
        if str(rfq.status) != "awarded":
            assert not won
            continue
        assert rfq.awarded_at and (not rfq.sealed or rfq.opened_at)
        assert {a.rfq_line_id for a in won} == lines_of[rfq.id]
        for award in won:
            assert str(quotes[award.quote_id].status) == "awarded"
            order = orders[order_lines[award.order_line_id].order_id]
            assert (order.rfq_id, order.quote_id, order.supplier_id) == (rfq.id, award.quote_id,
                                                                      quotes[award.quote_id].supplier_id)
    open_rfqs = [r for r in rfqs.values() if str(r.status) == "open"]
    now = max(r.updated_at for r in rfqs.values())
    assert open_rfqs and all(r.deadline > now for r in open_rfqs)

    # Requisitions agree with the RFQs and orders that name their lines.
    on_rfq = {"draft": {S.SOURCING}, "open": {S.SOURCING}, "closed": {S.SOURCING},
              "awarded": {S.ORDERED, S.CLOSED}, "cancelled": {S.APPROVED}}
    sourced = set()
    typed = [line for line in rfq_lines.values() if line.requisition_line_id is None]
    assert len(typed) <= len(rfq_lines) * 0.05  # only to make up two lines
    for line in rfq_lines.values():
        if line.requisition_line_id is None:
            continue
        req = reqs[req_of_line[line.requisition_line_id]]
        assert req.status in on_rfq[str(rfqs[line.rfq_id].status)], (rfqs[line.rfq_id].status, req.status)
        if str(rfqs[line.rfq_id].status) in ("draft", "open", "closed"):
            sourced.add(req.id)
    assert sourced == {r.id for r in reqs.values() if r.status == S.SOURCING}
    on_order = {"received": {S.CLOSED}, "cancelled": {S.APPROVED},
                "issued": {S.ORDERED}, "acknowledged": {S.ORDERED}, "partially_received": {S.ORDERED}}
    ordered = set()
    per_order = Counter(line.order_id for line in order_lines.values())
    assert all(1 <= k <= 6 for k in per_order.values()) and sum(per_order.values()) / len(per_order) >= 3
    for line in order_lines.values():
        order = orders[line.order_id]
        if line.requisition_line_id is None:  # typed on its RFQ
            assert order.rfq_id is not None and rfq_lines[line.rfq_line_id].requisition_line_id is None
            continue
        req = reqs[req_of_line[line.requisition_line_id]]
        assert req.status in on_order[str(order.status)], (order.status, req.status)
        if str(order.status) != "cancelled":
            ordered.add(req.id)
        complete = line.received_quantity == line.quantity
        assert complete == (str(order.status) == "received")
    assert ordered == {r.id for r in reqs.values() if r.status in (S.ORDERED, S.CLOSED)}

    # Orders add up; receipts match the received quantities.
    received = defaultdict(Decimal)
    for line in receipt_lines.values():
        received[line.order_line_id] += line.quantity - line.rejected_quantity
        assert receipts[line.receipt_id].order_id == order_lines[line.order_line_id].order_id
    for order in orders.values():
        mine = [line for line in order_lines.values() if line.order_id == order.id]
        assert order.net_total == sum(line.net for line in mine)
        assert order.gross_total == order.net_total + order.vat_total == sum(line.gross for line in mine)
        for line in mine:
            assert line.net == round_money(line.quantity * line.unit_price)
            assert line.vat == round_money(line.net * line.vat_rate / 100)
            assert received[line.id] == line.received_quantity
        assert (order.acknowledged_at is not None) == (str(order.status) in (
            "acknowledged", "partially_received", "received"))
        assert order.committed == (0 if str(order.status) == "cancelled" else order.net_total)

    # Price agreements: N/100 of Acme's, never two on one link and item, valid, expired and future.
    bench_agreements = [a for a in agreements.values() if a.supplier_part_number.startswith("SP-")]
    assert len(bench_agreements) == n // 100
    assert len({(a.link_id, a.item_id) for a in bench_agreements}) == len(bench_agreements)
    today = now.date()
    assert any(a.valid_to and a.valid_to < today for a in bench_agreements)
    assert any(a.valid_from > today for a in bench_agreements)
    assert any(a.valid_from <= today and (a.valid_to is None or a.valid_to >= today) for a in bench_agreements)
    for agreement in bench_agreements:
        link = links[agreement.link_id]
        assert (agreement.organization_id, agreement.supplier_id) == (link.organization_id, link.supplier_id)
        assert agreement.currency == link.currency

    # The pages of the bench answer, the lists page on (keyset), the lookups find what they need.
    from bench.__main__ import COMPANY, LOOKUPS, PAGES, ROLES

    found = {}
    with db.engine.connect() as conn:
        for key, (pattern, query) in LOOKUPS.items():
            value = conn.execute(text(query), {"company": COMPANY, "supplier": ROLES["supplier"]}).scalar()
            found[key] = value and pattern.format(value)
    assert found["@compare"], "a decided RFQ with three quotes"
    login(client, world.user("sales@nordwind"))
    mine = next(q for q in quotes.values() if q.supplier_id == nordwind and str(q.status) == "submitted")
    for path in (f"/supplier/rfqs/{mine.rfq_id}", f"/supplier/rfqs/{mine.rfq_id}/quote",
                 f"/supplier/rfqs/{mine.rfq_id}/quote/revisions/{revisions[mine.id].id}"):
        assert client.get(path).status_code == 200, path
    users = {"admin": world.user("admin@acme"), "buyer": world.user("buyer@acme"),
             "supplier": world.user("sales@nordwind")}
    app.config["PAGE_SIZE"], size = 10, app.config["PAGE_SIZE"]
    try:
        for name, role, path, kind in PAGES[PAGES.index(next(p for p in PAGES if p[2] == "/agreements/")):]:
            if role not in users:  # the API lists: tests/api (and bench/__main__.py api_tokens)
                continue
            login(client, users[role])
            path = found.get(path, path)
            if path is None:  # a PDF: only when seeded with documents (test_seed_bench_stores_the_downloaded_pdfs)
                continue
            if kind == "list":  # the whole lists run to several pages of 10
                assert _walk(client, path) >= (2 if path in ("/rfqs/", "/orders/", "/agreements/") else 1), name
            else:
                assert client.get(path).status_code == 200, name
    finally:
        app.config["PAGE_SIZE"] = size


def test_seed_bench_stores_the_pdfs_the_bench_downloads(app, world, client):
    from portal.models.order import PurchaseOrder, PurchaseOrderDocument

    pytest.importorskip("portal.services.orders.documents")
    _seed(app, n=200, documents=1)
    with as_system():
        document = db.session.scalar(select(PurchaseOrderDocument))
        order = db.session.get(PurchaseOrder, document.order_id)
        assert order.supplier_id == world.user("sales@nordwind").organization_id
        assert db.session.scalar(select(func.count()).select_from(PurchaseOrderDocument)) == 1
        stored = document.data
    login(client, world.user("buyer@acme"))
    response = client.get(f"/orders/{order.id}/pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert response.data == stored
