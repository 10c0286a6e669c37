"""The benchmark world (`flask seed-bench --requisitions N`): the demo's Acme multiplied to N
requisitions in every state, with lines, approval tasks and assignments, audit events,
notifications and budget ledger entries; in proportion to N its catalog (N/10 items), supplier
companies with links (N/100, each active one with a person who quotes), supplier invitations
(N/100), price agreements (N/100), RFQs (N/20) and purchase orders (N/10) with everything they
hold (services.bench_sourcing), and cost centres with monthly budgets; plus small noise
companies, each a customer of the demo supplier Nordwind. The PDFs of a few orders (the ones
the bench downloads) are rendered and stored; the others have none.

A deliberate system-level bulk load, built for 1 000 000 requisitions in minutes: rows are plain
tuples already in their stored form, with ids assigned here (children name their parents without
RETURNING), written `batch_size` requisitions at a time through services.bench_load (COPY on
PostgreSQL, executemany on SQLite, secondary indexes built once at the end). It bypasses the
tenancy flush guard, which refuses bulk INSERTs through the ORM, and writes every row with the
right `organization_id` itself. Deterministic for a given N (a seeded random generator), and
every row is consistent with its requisition's state, so the portal's pages and services work on
the result as on real data.
"""

from __future__ import annotations

import itertools
import json
import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, insert, select, text, update

from portal.domain.catalog import fold_for_search
from portal.domain.terms import PaymentTerms
from portal.extensions import db
from portal.models import Organization, SupplierLink, User
from portal.models.approval import ApprovalAssignment, ApprovalStep
from portal.models.budget import Budget
from portal.models.catalog import Category, CostCenter
from portal.models.invoice_totals import rebuild as rebuild_invoice_totals
from portal.models.policy_version import ApprovalPolicyVersion
from portal.models.requisition import DocumentCounter
from portal.models.user import UserRole
from portal.services.bench_invoicing import Invoicing
from portal.services.bench_load import Clock, Loader
from portal.services.bench_rows import COLUMNS, DAY, LONG_TIMELINE_TITLE, REQUESTER, SOURCED, Company, Partners
from portal.services.bench_sourcing import PO_KIND, RFQ_KIND, Sourcing

__all__ = ["LONG_TIMELINE_TITLE", "refresh_statistics", "seed_bench"]
ID_TABLES = [name for name in dict.fromkeys(["organizations", "users", "cost_centers", "budgets", *COLUMNS])
             if "id" in db.metadata.tables[name].c]
# Per requisition of the large company: catalog items, supplier companies, supplier invitations,
# price agreements (RFQs and orders: services.bench_sourcing).
ITEMS_PER_REQUISITION, SUPPLIERS_PER_REQUISITION, INVITATIONS_PER_REQUISITION = 0.1, 0.01, 0.01
AGREEMENTS_PER_REQUISITION = 0.01
# Orders whose PDF is rendered and stored (the bench downloads them; rendering all would take hours).
STORED_DOCUMENTS = 3
# Cost centres with monthly budgets besides the demo's (which have a yearly one each).
REQUISITIONS_PER_COST_CENTRE, MIN_COST_CENTRES, MAX_COST_CENTRES = 20000, 4, 50
BENCH_COST_CENTRES = ["Linia produkcyjna", "Magazyn", "Utrzymanie ruchu", "Dział sprzedaży", "Laboratorium",
                      "Oddział"]
NORDWIND = "sales@nordwind.example"
DAY_DELTA = timedelta(days=1)
TERMS = [PaymentTerms.net(30), PaymentTerms.net(45), PaymentTerms.net(60), PaymentTerms.end_of_month(30),
         PaymentTerms.early_discount(Decimal("2"), 10, 30)]


def _columns() -> dict[str, tuple[str, ...]]:
    """COLUMNS, with the assignments' `activated_at` where the schema has it; refuses a schema
    with a required column this loader would leave empty."""
    columns = dict(COLUMNS)
    if "activated_at" in ApprovalAssignment.__table__.c:
        columns["approval_assignments"] += ("activated_at",)
    for name, names in columns.items():
        missing = [c.name for c in db.metadata.tables[name].c
                   if c.name not in names and not c.nullable and c.server_default is None]
        if missing:
            raise RuntimeError(f"seed-bench does not fill {name}.{', '.join(missing)}")
    return columns


def seed_bench(requisitions: int, *, noise_companies: int = 20, noise_requisitions: int = 100,
               batch_size: int = 20000, seed: int = 2026, documents: int = STORED_DOCUMENTS) -> dict:
    """Add `requisitions` requisitions to the demo's Acme (seeding the demo first when it is
    missing) and `noise_companies` small companies, in batches of `batch_size` requisitions;
    the PDFs of `documents` of its orders are rendered and stored.
    Call inside `system(db.session)`; the caller commits. Returns what was written."""
    from portal.services.demo import seed_demo

    acme = db.session.scalar(select(Organization).where(Organization.name == "Acme Manufacturing"))
    if acme is None:
        seed_demo()
        db.session.flush()
        acme = db.session.scalar(select(Organization).where(Organization.name == "Acme Manufacturing"))
    conn = db.session.connection()
    columns = _columns()
    ids = {name: itertools.count((conn.execute(select(func.max(db.metadata.tables[name].c.id))).scalar() or 0) + 1)
           for name in ID_TABLES}
    now_dt = datetime.now(UTC).replace(microsecond=0)
    start_dt = datetime(now_dt.year, 1, 2, 8, tzinfo=UTC)
    if now_dt - start_dt < timedelta(days=60):  # early January: spread over last year too
        start_dt = start_dt.replace(year=now_dt.year - 1)
    now, start = int(now_dt.timestamp()), int(start_dt.timestamp())
    span = now - DAY - start
    load = Loader(conn, list(COLUMNS))
    clock = Clock(start_dt, now_dt + timedelta(days=500), load.timestamp_suffix)
    rng = random.Random(seed)
    written = dict.fromkeys(columns, 0)

    def flush(out: dict) -> None:
        for name, rows in out.items():
            load.write(name, columns[name], rows)
            written[name] += len(rows)
            rows.clear()

    with_activation = "activated_at" in columns["approval_assignments"]
    acme_world = _acme_world(conn, acme, ids, requisitions, start_dt)
    company = Company(load, clock, ids, rng, now=now, with_activation=with_activation, **acme_world)
    year = now_dt.year
    # The partners first: the sourcing of each batch of requisitions names their links and users.
    partners = Partners(load, clock, ids, random.Random(seed + 1), org=acme.id, currency=acme.currency,
                        admin=_user_id(conn, "admin@acme.example"), categories=_categories(acme.id),
                        fold=fold_for_search, terms=[json.dumps(t.to_json()) for t in TERMS], since=start, now=now)
    nordwind = conn.execute(select(User.organization_id).where(User.email == NORDWIND)).scalar()
    partners.links, partners.nordwind = _demo_links(acme.id, nordwind)
    partners.agreements = int(requisitions * AGREEMENTS_PER_REQUISITION)
    out = {name: [] for name in columns}
    for share, make in ((SUPPLIERS_PER_REQUISITION, partners.supplier),
                        (INVITATIONS_PER_REQUISITION, partners.invitation), (ITEMS_PER_REQUISITION, partners.item),
                        (AGREEMENTS_PER_REQUISITION, partners.agreement)):
        for n in range(int(requisitions * share)):
            make(out, n)
            if (n + 1) % batch_size == 0:
                flush(out)
        flush(out)
    company.candidates = {state: [] for state in SOURCED}
    sourcing = Sourcing(load, clock, ids, random.Random(seed + 2), org=acme.id, currency=acme.currency,
                        buyers=acme_world["requesters"], links=partners.links, nordwind=partners.nordwind,
                        since=start, now=now, year=year, rfq_last=_counter(conn, acme.id, year, RFQ_KIND),
                        po_last=_counter(conn, acme.id, year, PO_KIND))
    sourcing.invoicing = Invoicing(load, clock, ids, random.Random(seed + 3), org=acme.id,
                                   admin=_user_id(conn, "admin@acme.example"), now=now, year=year,
                                   counter=lambda supplier, kind: _counter(conn, supplier, year, kind))
    counter = _counter(conn, acme.id, year)
    long_timeline = None
    for i in range(requisitions):
        counter += 1
        last = i == requisitions - 1
        req_id = company.requisition(out, f"REQ-{year}-{counter:05d}", start + span * i // requisitions,
                                     title=LONG_TIMELINE_TITLE if last else None)
        if last:
            long_timeline = req_id
            company.long_timeline(out, req_id, out["requisitions"][-1][REQUESTER], now - 20 * DAY)
        if (i + 1) % batch_size == 0 or last:
            sourcing.add(out, company.candidates, (i + 1) - sourcing.seen)
            if last:
                sourcing.finish(out)
            flush(out)
    flush(out)
    _set_counter(conn, acme.id, year, counter)
    rfq_last, po_last = sourcing.numbers()
    _set_counter(conn, acme.id, year, rfq_last, RFQ_KIND)
    _set_counter(conn, acme.id, year, po_last, PO_KIND)
    for (supplier, kind), last in sourcing.invoicing.numbers().items():
        _set_counter(conn, supplier, year, last, kind)
    for n in range(noise_companies):
        noise = Company(load, clock, ids, rng, now=now, with_activation=with_activation,
                        **_noise_world(conn, ids, n, start_dt, nordwind))
        for i in range(noise_requisitions):
            noise.requisition(out, f"REQ-{year}-{i + 1:05d}", start + span * i // max(noise_requisitions, 1))
        flush(out)
        _set_counter(conn, noise.org, year, noise_requisitions)
    load.finish()
    _settle_budgets(conn, company.ledger)
    _bump_badges(conn)
    _fix_sequences(conn)
    # The stored aging and statement figures of the invoices written above without the session.
    rebuild_invoice_totals(conn)
    documents = _store_documents(acme.id, nordwind, documents)
    return {"organization_id": acme.id, "requisitions": requisitions, "rows": written,
            "long_timeline_id": long_timeline, "documents": documents}


def _user_id(conn, email: str) -> int | None:
    return conn.execute(select(User.id).where(User.email == email)).scalar()


def _categories(org_id: int) -> dict[str, int]:
    return dict(db.session.execute(select(Category.code, Category.id).where(
        Category.organization_id == org_id, Category.is_active.is_(True))).all())


def _acme_world(conn, acme, ids: dict, requisitions: int, start: datetime) -> dict:
    users = {u.email: u for u in db.session.scalars(select(User).where(User.organization_id == acme.id))}
    buyer = users["buyer@acme.example"]
    requesters = [buyer.id, users["buyer2@acme.example"].id]
    ut = User.__table__
    existing = conn.execute(select(func.count()).select_from(ut).where(ut.c.email.like("bench-buyer-%@acme.example"))
                            ).scalar()
    for n in range(existing, 18):
        uid = next(ids["users"])
        conn.execute(insert(ut).values(
            id=uid, organization_id=acme.id, email=f"bench-buyer-{n + 1:02d}@acme.example",
            full_name=f"Bench Buyer {n + 1:02d}", password_hash=buyer.password_hash, is_active=True, locale="pl",
            session_version=1, approval_limit=None, created_at=datetime(2026, 1, 1, tzinfo=UTC)))
        conn.execute(insert(UserRole.__table__).values(user_id=uid, role="buyer"))
    requesters += list(conn.execute(select(ut.c.id).where(ut.c.email.like("bench-buyer-%@acme.example"))).scalars())
    steps = {s.position: s for s in db.session.scalars(select(ApprovalStep).join(ApprovalStep.policy).where(
        ApprovalStep.organization_id == acme.id))}
    version = db.session.scalar(select(func.max(ApprovalPolicyVersion.id)).where(
        ApprovalPolicyVersion.organization_id == acme.id))
    approver = users["approver@acme.example"].id
    _ensure_budgets(conn, acme, ids, [cc.id for cc in db.session.scalars(select(CostCenter).where(
        CostCenter.organization_id == acme.id, CostCenter.is_active.is_(True)))])
    _bench_cost_centres(conn, acme, ids, approver, start, count=min(max(
        requisitions // REQUISITIONS_PER_COST_CENTRE, MIN_COST_CENTRES), MAX_COST_CENTRES))
    ccs, bench = [], []
    for cc in db.session.scalars(select(CostCenter).where(
            CostCenter.organization_id == acme.id, CostCenter.is_active.is_(True)).order_by(CostCenter.id)):
        (bench if cc.code.startswith("B-") else ccs).append((cc.id, cc.manager_id or approver))
    # The demo's cost centres keep about half the requisitions: their yearly budgets stay the
    # long ledgers the budget detail is measured on; the monthly ones share the other half.
    ccs = ccs * max(len(bench) // max(len(ccs), 1), 1) + bench
    bt = Budget.__table__
    budgets: dict = {}
    for cc, budget, kind, starts_on in conn.execute(select(
            bt.c.cost_center_id, bt.c.id, bt.c.period_kind, bt.c.starts_on).where(bt.c.organization_id == acme.id)):
        if kind == "month":
            budgets.setdefault(cc, {})[starts_on.isoformat()[:7]] = budget
        else:
            budgets[cc] = budget
    return {"org": acme.id, "currency": acme.currency, "requesters": requesters, "ccs": ccs, "budgets": budgets,
            "version": version, "cfo": users["cfo@acme.example"].id, "step1": steps.get(1), "step2": steps.get(2),
            "names": {u.id: u.full_name for u in users.values()}}


def _bench_cost_centres(conn, acme, ids: dict, manager: int, start: datetime, count: int) -> None:
    """`count` cost centres beside the demo's (those missing), each with a budget per month of
    the years the requisitions span: periods that never overlap, as services.budgets requires."""
    ct, bt = CostCenter.__table__, Budget.__table__
    have = conn.execute(select(func.count()).select_from(ct).where(
        ct.c.organization_id == acme.id, ct.c.code.like("B-%"))).scalar()
    months = [date(year, month, 1) for year in range(start.year, datetime.now(UTC).year + 1)
              for month in range(1, 13)]
    for n in range(have, count):
        cc_id = next(ids["cost_centers"])
        name = f"{BENCH_COST_CENTRES[n % len(BENCH_COST_CENTRES)]} {n // len(BENCH_COST_CENTRES) + 1}"
        conn.execute(insert(ct).values(id=cc_id, organization_id=acme.id, code=f"B-{n + 1:03d}", name=name,
                                       manager_id=manager, is_active=True, created_at=start))
        conn.execute(insert(bt), [dict(
            id=next(ids["budgets"]), organization_id=acme.id, cost_center_id=cc_id, name=f"{name} {first:%Y-%m}",
            period_kind="month", starts_on=first, ends_on=(first + timedelta(days=31)).replace(day=1) - DAY_DELTA,
            amount=Decimal("50000"), consumed=Decimal("0"), reserved=Decimal("0"), committed=Decimal("0"),
            spent=Decimal("0"), currency=acme.currency, overrun_policy="block", status="open",
            created_at=datetime(first.year, first.month, 1, tzinfo=UTC) - timedelta(days=10)) for first in months])


def _noise_world(conn, ids: dict, n: int, start: datetime, supplier: int | None) -> dict:
    """A small company (three people, one cost centre, no budget), a customer of `supplier`
    (every fifth link blocked), and what its requisitions need."""
    org_id = next(ids["organizations"])
    conn.execute(insert(Organization.__table__).values(
        id=org_id, name=f"Noise Company {n + 1:02d}", legal_name=f"Noise Company {n + 1:02d} Sp. z o.o.",
        kind="buyer", tax_id=f"BENCH{n + 1:05d}", address_line="", postal_code="", city="", country="PL",
        currency="PLN", locale="pl", created_at=start))
    people = []
    for role in ("admin", "buyer", "approver"):
        uid = next(ids["users"])
        people.append(uid)
        conn.execute(insert(User.__table__).values(
            id=uid, organization_id=org_id, email=f"{role}@noise{n + 1:02d}.example",
            full_name=f"Noise {role.title()} {n + 1:02d}", password_hash="!",  # noqa: S106 - never signs in
            is_active=True, locale="pl", session_version=1, approval_limit=None, created_at=start))
        conn.execute(insert(UserRole.__table__).values(user_id=uid, role=role))
    cc_id = next(ids["cost_centers"])
    conn.execute(insert(CostCenter.__table__).values(
        id=cc_id, organization_id=org_id, code="GEN", name="General", manager_id=people[2], is_active=True,
        created_at=start))
    if supplier is not None:
        conn.execute(insert(SupplierLink.__table__).values(
            id=next(ids["supplier_links"]), organization_id=org_id, supplier_id=supplier,
            status="blocked" if n % 5 == 4 else "active", payment_terms=TERMS[n % len(TERMS)], currency="PLN",
            credit_limit=None, invited_by_id=people[0], created_at=start))
    return {"org": org_id, "currency": "PLN", "requesters": [people[1]], "ccs": [(cc_id, people[2])],
            "budgets": {}, "version": None, "cfo": people[2], "step1": None, "step2": None, "names": {}}


def _ensure_budgets(conn, acme, ids: dict, cost_centers: list[int]) -> None:
    """A budget for this year on every cost centre that has none (the demo without documents)."""
    bt = Budget.__table__
    year = datetime.now(UTC).year
    have = set(conn.execute(select(bt.c.cost_center_id).where(bt.c.organization_id == acme.id)).scalars())
    for cc in cost_centers:
        if cc not in have:
            conn.execute(insert(bt).values(
                id=next(ids["budgets"]), organization_id=acme.id, cost_center_id=cc, name=f"Bench {year}",
                period_kind="year",
                starts_on=date(year, 1, 1), ends_on=date(year, 12, 31),
                amount=Decimal("1000000"), consumed=Decimal("0"), currency=acme.currency,
                overrun_policy="block", status="open", created_at=datetime(year, 1, 1, tzinfo=UTC)))


def _counter(conn, org_id: int, year: int, kind: str = "REQ") -> int:
    t = DocumentCounter.__table__
    return conn.execute(select(t.c.last).where(t.c.organization_id == org_id, t.c.kind == kind,
                                               t.c.year == year)).scalar() or 0


def _set_counter(conn, org_id: int, year: int, last: int, kind: str = "REQ") -> None:
    """Numbering (services.numbering) carries on after `last` of `kind`, gap-free."""
    if not last:
        return
    t = DocumentCounter.__table__
    done = conn.execute(update(t).where(t.c.organization_id == org_id, t.c.kind == kind, t.c.year == year)
                        .values(last=last)).rowcount
    if not done:
        conn.execute(insert(t).values(organization_id=org_id, kind=kind, year=year, last=last))


def _demo_links(org_id: int, nordwind: int | None) -> tuple[list[tuple], tuple | None]:
    """The company's active links as bench_sourcing takes them (link, supplier, currency,
    stored payment terms, a user of the supplier or None), and Nordwind's among them."""
    found, nordwind_link = [], None
    for link in db.session.scalars(select(SupplierLink).where(
            SupplierLink.organization_id == org_id, SupplierLink.status == "active").order_by(SupplierLink.id)):
        user = db.session.scalar(select(func.min(User.id)).where(User.organization_id == link.supplier_id))
        row = (link.id, link.supplier_id, link.currency, json.dumps(link.payment_terms.to_json()), user)
        found.append(row)
        if link.supplier_id == nordwind:
            nordwind_link = row
    return found, nordwind_link


def _store_documents(org_id: int, nordwind: int | None, count: int) -> list[int]:
    """Render and store the PDF of the first few open orders (Nordwind's first), which the
    bench downloads; the others have none (rendering a PDF per order would take hours at 1M).
    Needs portal.services.orders.documents (the PDF module); without it nothing is stored."""
    if count <= 0:
        return []
    try:
        from portal.services.orders import documents
    except ImportError:
        return []
    import logging

    from portal.models.order import PurchaseOrder

    logging.getLogger("weasyprint").setLevel(logging.WARNING)  # its progress, per step and page

    buyer = db.session.scalar(select(User).where(User.email == "buyer@acme.example"))
    chosen = db.session.scalars(select(PurchaseOrder).where(
        PurchaseOrder.organization_id == org_id, PurchaseOrder.status.in_(("issued", "acknowledged")))
        .order_by((PurchaseOrder.supplier_id == nordwind).desc(), PurchaseOrder.id).limit(count)).all()
    for order in chosen:
        documents.store_document(order, buyer)
    db.session.flush()
    return [order.id for order in chosen]


def _settle_budgets(conn, ledger: dict[int, list[int]]) -> None:
    """Add what was posted (in cents: [reserved, committed] per budget) to each budget's counters,
    as services.budgets.posting would have; amounts grow so that new reservations still fit."""
    b = Budget.__table__
    cent = Decimal("0.01")
    for budget_id, (reserved, committed) in ledger.items():
        row = conn.execute(select(b.c.amount, b.c.consumed, b.c.reserved, b.c.committed)
                           .where(b.c.id == budget_id)).one()
        consumed = row.consumed + (reserved + committed) * cent
        conn.execute(update(b).where(b.c.id == budget_id).values(
            consumed=consumed, reserved=row.reserved + reserved * cent, committed=row.committed + committed * cent,
            amount=max(row.amount, consumed * 2 + Decimal("1000000"))))


def _bump_badges(conn) -> None:
    """Whatever a badge counted has changed: every cached badge is stale."""
    table = db.metadata.tables.get("badge_versions")
    if table is not None:
        conn.execute(update(table).values(version=table.c.version + 1))


def refresh_statistics(conn) -> None:
    """Have the planner look at what was just loaded (run after the commit). Without fresh
    statistics PostgreSQL believes the bulk-loaded tables are nearly empty and picks nested
    loops: the inbox count took 97 s at 100 000 requisitions, 0.1 s after ANALYZE. SQLite
    gets `sqlite_stat1` the same way."""
    conn.exec_driver_sql("ANALYZE")


def _fix_sequences(conn) -> None:
    if conn.dialect.name != "postgresql":
        return
    for name in ID_TABLES:
        conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "  # noqa: S608
                          f"(SELECT coalesce(max(id), 1) FROM {name}))"))
