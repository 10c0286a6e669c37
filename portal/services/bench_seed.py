"""The benchmark world (`flask seed-bench --requisitions N`): the demo's Acme multiplied to N
requisitions in every state, with lines, approval tasks and assignments, audit events,
notifications and budget ledger entries, plus small noise companies.

Rows are written with SQLAlchemy Core `insert()` in executemany batches on the session's
connection, with ids assigned here (so children name their parents without RETURNING). This is
a deliberate system-level bulk load: it bypasses the tenancy flush guard, which refuses bulk
INSERTs through the ORM, and writes every row with the right `organization_id` itself.
Deterministic for a given N (a seeded random generator), and every row is consistent with its
requisition's state, so the portal's pages and services work on the result as on real data.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, insert, select, text, update

from portal.domain.requisition import RequisitionStatus as S
from portal.extensions import db
from portal.models import Organization, User
from portal.models.approval import ApprovalAssignment, ApprovalStep, ApprovalTask
from portal.models.audit import AuditEvent
from portal.models.budget import Budget, BudgetEntry
from portal.models.catalog import CostCenter
from portal.models.notification import Notification
from portal.models.policy_version import ApprovalPolicyVersion
from portal.models.requisition import DocumentCounter, Requisition, RequisitionLine
from portal.models.user import UserRole

BENCH_TITLE = "Bench"
LONG_TIMELINE_TITLE = "Bench: long timeline"
LONG_TIMELINE_EVENTS = 200
# Share of each state among the large company's requisitions (sums to 1).
STATES = [
    (S.DRAFT, 0.08), (S.PENDING, 0.12), (S.APPROVED, 0.20), (S.REJECTED, 0.06),
    (S.CANCELLED, 0.06), (S.SOURCING, 0.08), (S.ORDERED, 0.15), (S.CLOSED, 0.25),
]
APPROVED_LIKE = frozenset({S.APPROVED, S.SOURCING, S.ORDERED, S.CLOSED})
CFO_THRESHOLD = Decimal("10000")
ITEMS = [
    ("Copy paper A4, ream", "ream", "18.50"), ("Ballpoint pens, pack of 50", "pack", "12.90"),
    ("Laptop 14\"", "pcs", "4200.00"), ("Monitor 27\"", "pcs", "1150.00"),
    ("Safety gloves, pair", "pair", "9.80"), ("Pallet wrap film", "roll", "34.00"),
    ("Office chair", "pcs", "890.00"), ("Bearing 6204-2RS", "pcs", "21.40"),
    ("Coffee beans 1 kg", "kg", "79.00"), ("Cable ties, pack of 100", "pack", "14.20"),
]
TITLES = [
    "Office supplies", "IT equipment", "Production materials", "Warehouse consumables",
    "Kitchen supplies", "Spare parts", "Safety equipment", "Furniture",
]
MSG_REQUESTED = "%(number)s \u201c%(title)s\u201d (%(amount)s) awaits your approval: %(step)s"
MSG_APPROVED = "%(number)s \u201c%(title)s\u201d is approved."
MSG_REJECTED = "%(number)s was rejected by %(name)s: %(comment)s"
REASON_EVERY = "Rule \u201c%(step)s\u201d applies to every requisition"
REASON_AMOUNT = "Rule \u201c%(step)s\u201d: amount %(amount)s \u2265 %(threshold)s"
TABLES = [Organization, User, UserRole, CostCenter, Requisition, RequisitionLine, ApprovalTask,
          ApprovalAssignment, AuditEvent, Notification, BudgetEntry]


def _money(value: Decimal, currency: str) -> dict:
    return {"$t": "money", "v": f"{value:.2f}", "c": currency}


class _Ids:
    """The next free id of each table (this loader is the only writer while it runs)."""

    def __init__(self, conn):
        self.next = {m: (conn.execute(select(func.max(m.__table__.c.id))).scalar() or 0) + 1
                     for m in TABLES if m is not UserRole}

    def take(self, model) -> int:
        value = self.next[model]
        self.next[model] = value + 1
        return value


class _Batches:
    """Rows per table, flushed with one executemany INSERT per table every `size` rows."""

    def __init__(self, conn, size: int):
        self.conn, self.size, self.rows = conn, size, {}
        self.written: dict[str, int] = {}

    def add(self, model, row: dict) -> None:
        rows = self.rows.setdefault(model, [])
        rows.append(row)
        if len(rows) >= self.size:
            self.flush()

    def flush(self) -> None:
        # Parents first: the order of TABLES is the foreign-key order.
        for model in TABLES:
            rows = self.rows.get(model)
            if rows:
                _insert_many(self.conn, model.__table__, rows)
                self.written[model.__tablename__] = self.written.get(model.__tablename__, 0) + len(rows)
                rows.clear()


def _insert_many(conn, table, rows: list[dict]) -> None:
    """`INSERT … VALUES` executemany on the driver, with each column's bind processing done here
    once per distinct value (amounts, enums and codes repeat) instead of once per cell."""
    dialect = conn.dialect
    keys = list(rows[0])
    compiled = insert(table).compile(dialect=dialect, column_keys=keys)
    if set(compiled.binds) != set(keys):
        conn.execute(insert(table), rows)
        return
    procs = [(key, table.c[key].type._cached_bind_processor(dialect), {}) for key in keys]
    converted = []
    for row in rows:
        out = {}
        for key, proc, memo in procs:
            value = row[key]
            if proc is not None and value is not None:
                if isinstance(value, (Decimal, str, int)):
                    hit = memo.get(value, memo)
                    if hit is memo:
                        hit = memo[value] = proc(value)
                    value = hit
                else:
                    value = proc(value)
            out[key] = value
        converted.append(out)
    if compiled.positional:
        order = compiled.positiontup
        conn.exec_driver_sql(str(compiled), [tuple(r[k] for k in order) for r in converted])
    else:
        conn.exec_driver_sql(str(compiled), converted)


def seed_bench(requisitions: int, *, noise_companies: int = 20, noise_requisitions: int = 100,
               batch_size: int = 5000, seed: int = 2026) -> dict:
    """Add `requisitions` requisitions to the demo's Acme (seeding the demo first when it is
    missing) and `noise_companies` small companies. Call inside `system(db.session)`; the
    caller commits. Returns what was written."""
    from portal.services.demo import seed_demo

    acme = db.session.scalar(select(Organization).where(Organization.name == "Acme Manufacturing"))
    if acme is None:
        seed_demo()
        db.session.flush()
        acme = db.session.scalar(select(Organization).where(Organization.name == "Acme Manufacturing"))
    conn = db.session.connection()
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA cache_size = -262144")  # 256 MiB: the indexes stay in memory
    rng = random.Random(seed)
    ids = _Ids(conn)
    out = _Batches(conn, batch_size)
    world = _acme_world(conn, acme, ids, out)
    now = datetime.now(UTC).replace(microsecond=0)
    start = datetime(now.year, 1, 2, 8, tzinfo=UTC)
    span = (now - timedelta(days=1) - start).total_seconds()
    counter = _counter(conn, acme.id, now.year)
    long_timeline = None
    for i in range(requisitions):
        created = start + timedelta(seconds=span * i / max(requisitions, 1))
        counter += 1
        req_id = _requisition(world, ids, out, rng, number=f"REQ-{now.year}-{counter:05d}", created=created)
        if i == requisitions - 1:
            long_timeline = req_id
    out.flush()
    if long_timeline is not None:
        _long_timeline(world, ids, out, long_timeline, now)
    _set_counter(conn, acme.id, now.year, counter)
    for n in range(noise_companies):
        _noise_company(conn, ids, out, rng, n, noise_requisitions, start, span, now.year, world)
    out.flush()
    _settle_budgets(conn, acme.id)
    _bump_badges(conn)
    _fix_sequences(conn)
    return {"organization_id": acme.id, "requisitions": requisitions, "rows": dict(out.written),
            "long_timeline_id": long_timeline}


def _acme_world(conn, acme, ids: _Ids, out: _Batches) -> dict:
    users = {u.email: u for u in db.session.scalars(select(User).where(User.organization_id == acme.id))}
    buyer = users["buyer@acme.example"]
    requesters = [buyer.id, users["buyer2@acme.example"].id]
    existing = conn.execute(select(func.count()).select_from(User.__table__).where(
        User.__table__.c.email.like("bench-buyer-%@acme.example"))).scalar()
    for n in range(existing, 18):
        uid = ids.take(User)
        out.add(User, {"id": uid, "organization_id": acme.id, "email": f"bench-buyer-{n + 1:02d}@acme.example",
                       "full_name": f"Bench Buyer {n + 1:02d}", "password_hash": buyer.password_hash,
                       "is_active": True, "locale": "pl", "session_version": 1, "approval_limit": None,
                       "created_at": datetime(2026, 1, 1, tzinfo=UTC)})
        out.add(UserRole, {"user_id": uid, "role": "buyer"})
    out.flush()
    requesters += list(conn.execute(select(User.__table__.c.id).where(
        User.__table__.c.email.like("bench-buyer-%@acme.example"))).scalars())
    steps = {s.position: s for s in db.session.scalars(select(ApprovalStep).join(ApprovalStep.policy).where(
        ApprovalStep.organization_id == acme.id))}
    version = db.session.scalar(select(func.max(ApprovalPolicyVersion.id)).where(
        ApprovalPolicyVersion.organization_id == acme.id))
    ccs = [(cc.id, cc.manager_id or users["approver@acme.example"].id) for cc in db.session.scalars(
        select(CostCenter).where(CostCenter.organization_id == acme.id, CostCenter.is_active.is_(True)))]
    bt = Budget.__table__
    _ensure_budgets(conn, acme, [cc for cc, _ in ccs])
    budgets = dict(conn.execute(select(bt.c.cost_center_id, bt.c.id).where(bt.c.organization_id == acme.id)).all())
    names = {u.id: u.full_name for u in users.values()}
    return {"org": acme.id, "currency": acme.currency, "requesters": requesters, "ccs": ccs,
            "budgets": budgets, "version": version, "cfo": users["cfo@acme.example"].id,
            "step1": steps.get(1), "step2": steps.get(2), "names": names}


def _ensure_budgets(conn, acme, cost_centers: list[int]) -> None:
    """A budget for this year on every cost centre that has none (the demo without documents)."""
    bt = Budget.__table__
    year = datetime.now(UTC).year
    have = set(conn.execute(select(bt.c.cost_center_id).where(bt.c.organization_id == acme.id)).scalars())
    for cc in cost_centers:
        if cc not in have:
            conn.execute(insert(bt).values(
                organization_id=acme.id, cost_center_id=cc, name=f"Bench {year}", period_kind="year",
                starts_on=date(year, 1, 1), ends_on=date(year, 12, 31),
                amount=Decimal("1000000"), consumed=Decimal("0"), currency=acme.currency,
                overrun_policy="block", status="open", created_at=datetime(year, 1, 1, tzinfo=UTC)))


def _counter(conn, org_id: int, year: int) -> int:
    t = DocumentCounter.__table__
    return conn.execute(select(t.c.last).where(t.c.organization_id == org_id, t.c.kind == "REQ",
                                               t.c.year == year)).scalar() or 0


def _set_counter(conn, org_id: int, year: int, last: int) -> None:
    t = DocumentCounter.__table__
    done = conn.execute(update(t).where(t.c.organization_id == org_id, t.c.kind == "REQ", t.c.year == year)
                        .values(last=last)).rowcount
    if not done:
        conn.execute(insert(t).values(organization_id=org_id, kind="REQ", year=year, last=last))


def _pick_state(rng: random.Random):
    roll, acc = rng.random(), 0.0
    for state, share in STATES:
        acc += share
        if roll < acc:
            return state
    return S.CLOSED


def _lines(ids: _Ids, rng: random.Random, org_id: int, req_id: int) -> tuple:
    net_total = vat_total = Decimal("0")
    rows = []
    for position in range(1, rng.randint(1, 5) + 1):
        description, unit, price = ITEMS[rng.randrange(len(ITEMS))]
        quantity = Decimal(rng.randint(1, 40))
        unit_price = Decimal(price)
        net = (quantity * unit_price).quantize(Decimal("0.01"))
        vat = (net * Decimal("0.23")).quantize(Decimal("0.01"))
        net_total += net
        vat_total += vat
        rows.append({
            "id": ids.take(RequisitionLine), "organization_id": org_id, "requisition_id": req_id,
            "position": position, "item_id": None, "description": description, "quantity": quantity,
            "unit": unit, "unit_price": unit_price, "vat_rate": Decimal("23"), "suggested_supplier_id": None,
            "net": net, "vat": vat, "gross": net + vat})
    return net_total, vat_total, rows


def _event(ids, out, org_id, actor, action, req_id, at, summary=None, comment=""):
    out.add(AuditEvent, {"id": ids.take(AuditEvent), "organization_id": org_id, "supplier_id": None,
                         "actor_id": actor, "on_behalf_of_id": None, "action": action,
                         "object_type": "Requisition", "object_id": req_id, "summary": summary or {},
                         "comment": comment, "created_at": at})


def _notify(ids, out, org_id, user_id, kind, msg_id, params, req_id, at, read):
    out.add(Notification, {"id": ids.take(Notification), "organization_id": org_id, "user_id": user_id,
                           "message": {"id": msg_id, "params": params}, "kind": kind,
                           "target": {"endpoint": "requisitions.detail", "params": {"requisition_id": req_id}},
                           "read_at": at if read else None, "created_at": at})


def _requisition(w: dict, ids: _Ids, out: _Batches, rng: random.Random, *, number: str, created: datetime,
                 state=None) -> int:
    org, cur = w["org"], w["currency"]
    state = state or _pick_state(rng)
    req_id = ids.take(Requisition)
    requester = w["requesters"][rng.randrange(len(w["requesters"]))]
    cc_id, manager = w["ccs"][rng.randrange(len(w["ccs"]))]
    title = f"{TITLES[rng.randrange(len(TITLES))]} {number[-5:]}"
    submitted = created + timedelta(hours=1) if state != S.DRAFT else None
    decided = created + timedelta(days=1) if state not in (S.DRAFT, S.PENDING) else None
    net, vat, lines = _lines(ids, rng, org, req_id)
    gross = net + vat
    out.add(Requisition, {
        "id": req_id, "organization_id": org, "number": number, "title": title, "justification": "",
        "needed_by": (created + timedelta(days=30)).date(), "cost_center_id": cc_id, "category_id": None,
        "currency": cur, "status": state.value, "requester_id": requester, "net_total": net,
        "vat_total": vat, "gross_total": gross, "approval_round": 0 if state == S.DRAFT else 1,
        "policy_version_id": None if state == S.DRAFT else w["version"], "submitted_at": submitted,
        "decided_at": decided, "updated_at": decided or submitted or created, "created_at": created})
    for line in lines:
        out.add(RequisitionLine, line)
    _event(ids, out, org, requester, "requisition.created", req_id, created, {"number": number})
    if state == S.DRAFT:
        return req_id
    _event(ids, out, org, requester, "requisition.submitted", req_id, submitted,
           {"round": 1, "gross": _money(gross, cur)})
    steps = [(w["step1"], manager, REASON_EVERY, {"step": w["step1"].name if w["step1"] else "Manager"})]
    if w["step2"] is not None and net >= CFO_THRESHOLD:
        steps.append((w["step2"], w["cfo"], REASON_AMOUNT, {
            "step": w["step2"].name, "amount": _money(net, cur), "threshold": _money(CFO_THRESHOLD, cur)}))
    recent = created > datetime.now(UTC) - timedelta(days=14)
    for position, (step, approver, reason, params) in enumerate(steps, start=1):
        task_status, decision = _task_state(state, position, len(steps))
        task_id = ids.take(ApprovalTask)
        task_at = submitted + timedelta(minutes=position)
        done_at = (decided or task_at + timedelta(hours=2)) if decision else None
        out.add(ApprovalTask, {
            "id": task_id, "organization_id": org, "requisition_id": req_id, "round": 1, "position": position,
            "step_id": step.id if step else None, "name": params["step"], "kind": "step", "reason": reason,
            "reason_params": params, "quorum": "any", "required": 1, "status": task_status,
            "activated_at": task_at if task_status != "waiting" else None, "decided_at": done_at,
            "reminded_at": None, "escalated_at": None, "created_at": submitted})
        out.add(ApprovalAssignment, {
            "id": ids.take(ApprovalAssignment), "organization_id": org, "task_id": task_id, "user_id": approver,
            "decision": decision, "decided_by_id": approver if decision else None, "decided_at": done_at,
            "comment": "", "escalated": False})
        _notify(ids, out, org, approver, "approval.requested", MSG_REQUESTED, {
                "number": number, "title": title, "amount": _money(gross, cur), "step": params["step"]},
                req_id, task_at, read=not (task_status == "pending" and recent))
        if decision:
            _event(ids, out, org, approver, f"approval.{'approved' if decision == 'approve' else 'rejected'}",
                   req_id, done_at, {"step": params["step"], "round": 1})
    if state in APPROVED_LIKE:
        _event(ids, out, org, steps[-1][1], "requisition.approved", req_id, decided)
        _notify(ids, out, org, requester, "requisition.approved", MSG_APPROVED,
                {"number": number, "title": title}, req_id, decided, read=not recent)
        _ledger(w, ids, out, req_id, number, cc_id, net, state, decided, steps[-1][1])
    elif state == S.REJECTED:
        _event(ids, out, org, manager, "requisition.rejected", req_id, decided, comment="Not this quarter.")
        _notify(ids, out, org, requester, "requisition.rejected", MSG_REJECTED, {
            "number": number, "name": w["names"].get(manager, ""), "comment": "Not this quarter."},
            req_id, decided, read=not recent)
    elif state == S.CANCELLED:
        _event(ids, out, org, requester, "requisition.cancelled", req_id, decided)
    return req_id


def _task_state(state, position: int, count: int) -> tuple[str, str | None]:
    """(task status, assignment decision) of step `position` of `count` for a requisition state."""
    if state in APPROVED_LIKE:
        return "approved", "approve"
    if state == S.PENDING:
        return ("approved", "approve") if position < count else ("pending", None)
    if state == S.REJECTED:
        return ("approved", "approve") if position < count else ("rejected", "reject")
    return "cancelled", None  # cancelled while pending


def _ledger(w, ids, out, req_id, number, cc_id, net, state, at, actor) -> None:
    budget = w["budgets"].get(cc_id)
    if budget is None:
        return
    kinds = [("reserve", net)]
    if state in (S.ORDERED, S.CLOSED):
        kinds += [("release", -net), ("commit", net)]
    for n, (kind, amount) in enumerate(kinds):
        out.add(BudgetEntry, {
            "id": ids.take(BudgetEntry), "organization_id": w["org"], "budget_id": budget, "kind": kind,
            "amount": amount, "source_type": "Requisition", "source_id": req_id, "source_label": number,
            "overrun": False, "note": "", "note_params": None, "actor_id": actor,
            "created_at": at + timedelta(minutes=n)})


def _long_timeline(w, ids, out, req_id, now) -> None:
    """One requisition with a long history (returned and submitted again many times)."""
    conn = out.conn
    t = Requisition.__table__
    conn.execute(update(t).where(t.c.id == req_id).values(title=LONG_TIMELINE_TITLE))
    requester = conn.execute(select(t.c.requester_id).where(t.c.id == req_id)).scalar()
    at = now - timedelta(days=20)
    for n in range(LONG_TIMELINE_EVENTS):
        action = "requisition.returned" if n % 2 else "requisition.submitted"
        _event(ids, out, w["org"], requester, action, req_id, at + timedelta(minutes=5 * n),
               {"round": n // 2 + 1} if n % 2 == 0 else {}, comment="" if n % 2 == 0 else "Please revise.")
    out.flush()


def _noise_company(conn, ids, out, rng, n, count, start, span, year, acme_world) -> None:
    org_id = ids.take(Organization)
    out.add(Organization, {
        "id": org_id, "name": f"Noise Company {n + 1:02d}", "legal_name": f"Noise Company {n + 1:02d} Sp. z o.o.",
        "kind": "buyer", "tax_id": f"BENCH{n + 1:05d}", "address_line": "", "postal_code": "", "city": "",
        "country": "PL", "currency": "PLN", "locale": "pl", "created_at": start})
    people = []
    for role in ("admin", "buyer", "approver"):
        uid = ids.take(User)
        people.append(uid)
        out.add(User, {"id": uid, "organization_id": org_id, "email": f"{role}@noise{n + 1:02d}.example",
                       "full_name": f"Noise {role.title()} {n + 1:02d}", "password_hash": "!", "is_active": True,
                       "locale": "pl", "session_version": 1, "approval_limit": None, "created_at": start})
        out.add(UserRole, {"user_id": uid, "role": role})
    cc_id = ids.take(CostCenter)
    out.add(CostCenter, {"id": cc_id, "organization_id": org_id, "code": "GEN", "name": "General",
                         "manager_id": people[2], "is_active": True, "created_at": start})
    w = {"org": org_id, "currency": "PLN", "requesters": [people[1]], "ccs": [(cc_id, people[2])], "budgets": {},
         "version": None, "cfo": people[2], "step1": None, "step2": None, "names": {}}
    for i in range(count):
        created = start + timedelta(seconds=span * i / max(count, 1))
        state = _pick_state(rng)
        _requisition(w, ids, out, rng, number=f"REQ-{year}-{i + 1:05d}", created=created, state=state)
    out.flush()
    _set_counter(conn, org_id, year, count)


def _settle_budgets(conn, org_id: int) -> None:
    """`consumed` (and each bucket the budget row keeps) is the sum of the ledger; amounts grow so
    that new reservations still fit."""
    b, e = Budget.__table__, BudgetEntry.__table__
    buckets = {"reserved": ("reserve", "release"), "committed": ("commit",), "spent": ("actual",)}
    for budget_id, amount in conn.execute(select(b.c.id, b.c.amount).where(b.c.organization_id == org_id)).all():
        sums = {kind: Decimal(total) for kind, total in conn.execute(
            select(e.c.kind, func.sum(e.c.amount)).where(e.c.budget_id == budget_id).group_by(e.c.kind)).all()}
        consumed = sum(sums.values(), Decimal("0"))
        values = {"consumed": consumed, "amount": max(Decimal(amount), consumed * 2 + Decimal("1000000"))}
        for column, kinds in buckets.items():
            if column in b.c:
                values[column] = sum((sums.get(k, Decimal("0")) for k in kinds), Decimal("0"))
        conn.execute(update(b).where(b.c.id == budget_id).values(**values))


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
    for model in TABLES:
        name = model.__tablename__
        if name == "user_roles":
            continue
        conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "  # noqa: S608
                          f"(SELECT coalesce(max(id), 1) FROM {name}))"))

