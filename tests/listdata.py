"""Many requisitions at once for the list tests (plans, query counts, deep pages): bulk
inserted rows, not one service call each; and what the plan tests read of a page: the
statements it sends, their SQLite plans, its next page."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from html import unescape

from sqlalchemy import event, insert

from portal.domain.requisition import RequisitionStatus
from portal.extensions import db
from portal.models import Requisition
from tests.conftest import as_system

STATUSES = list(RequisitionStatus)


# ---------------------------------------------------------------- what a page sends


def captured_selects(client, url: str, *fragments: str) -> list[tuple[str, tuple]]:
    """GET `url` (asserting a 200) and return the SELECT statements it sent whose text holds one
    of `fragments` ("FROM requisitions", "JOIN approval_assignments"), with their parameters."""
    sent = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and any(f in statement for f in fragments):
            sent.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        response = client.get(url)
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    assert response.status_code == 200, url
    return sent


def plan(statement: str, parameters) -> list[str]:
    """SQLite's EXPLAIN QUERY PLAN of a statement, one step per item."""
    with db.engine.connect() as conn:
        return [row[3] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)]


def next_page(html: str) -> str | None:
    """The URL of the page's "next" link (keyset cursor), or None on the last page."""
    found = re.search(r'<a href="([^"]+)" rel="next"', html)
    return unescape(found.group(1)) if found else None


def bulk_requisitions(org, requesters, cost_centers, count: int, *, start: int = 0,
                      title: str = "Zakup") -> None:
    """`count` requisitions of `org` spread over the requesters, cost centres, states, dates,
    amounts and "needed by" dates (every fifth without), numbered REQ-2020-… from `start`."""
    base = datetime(2025, 1, 1, 8, tzinfo=UTC)
    rows = []
    for i in range(start, start + count):
        gross = Decimal(100 + (i * 37) % 5000)
        rows.append({
            "organization_id": org.id,
            "number": f"REQ-2020-{i:05d}",
            "title": f"{title} {i}",
            "justification": "",
            "cost_center_id": cost_centers[i % len(cost_centers)].id,
            "currency": "PLN",
            "status": STATUSES[i % len(STATUSES)],
            "requester_id": requesters[i % len(requesters)].id,
            "net_total": gross, "vat_total": Decimal(0), "gross_total": gross,
            "needed_by": None if i % 5 == 0 else date(2025, 6, 1) + timedelta(days=i % 90),
            "created_at": base + timedelta(minutes=i // 2),  # pairs share a time: ties by id
            "updated_at": base,
        })
    with as_system():
        db.session.execute(insert(Requisition), rows)
        db.session.commit()


# ---------------------------------------------------------------- the other keyset lists


def _bulk(model, rows: list[dict]) -> None:
    with as_system():
        db.session.execute(insert(model), rows)
        db.session.commit()


def bulk_items(org, categories, count: int, *, start: int = 0) -> None:
    """`count` catalog items of `org` (SKU BULK-…), every fourth inactive, spread over
    `categories` and none."""
    from portal.models import Item

    choices = [None, *[c.id for c in categories]]
    _bulk(Item, [{
        "organization_id": org.id, "sku": f"BULK-{i:05d}", "name": f"Bulk item {i}",
        "name_search": f"bulk item {i}", "unit": "pcs", "currency": "PLN",
        "category_id": choices[i % len(choices)], "list_price": Decimal(10 + i % 90),
        "default_vat_rate": Decimal(23), "is_active": i % 4 != 0,
    } for i in range(start, start + count)])


def bulk_notifications(org, user, count: int, *, start: int = 0, unread_every: int = 3) -> None:
    """`count` notifications of `user`, one a minute, every `unread_every`-th unread (0: none)."""
    from portal.models import Notification

    base = datetime(2025, 1, 1, 8, tzinfo=UTC)
    _bulk(Notification, [{
        "organization_id": org.id, "user_id": user.id, "kind": "test",
        "message": {"id": "Note %(n)s", "params": {"n": i}},
        "created_at": base + timedelta(minutes=i),
        "read_at": None if unread_every and i % unread_every == 0 else base + timedelta(minutes=i + 1),
    } for i in range(start, start + count)])


def _bulk_companies(kind: str, count: int, start: int) -> list[int]:
    from portal.models import Organization

    rows = [{"name": f"Bulk {kind} {i:05d}", "legal_name": f"Bulk {kind} {i:05d} Sp. z o.o.",
             "kind": kind, "tax_id": f"BULK{kind[0].upper()}{i:05d}", "country": "PL",
             "currency": "PLN"} for i in range(start, start + count)]
    with as_system():
        ids = list(db.session.scalars(insert(Organization).returning(Organization.id), rows))
        db.session.commit()
    return ids


def bulk_suppliers(org, count: int, *, start: int = 0) -> None:
    """`count` new supplier companies linked to the buyer `org`: active, every fifth blocked,
    every seventh only invited."""
    from portal.models import LinkStatus, SupplierLink

    ids = _bulk_companies("supplier", count, start)
    _bulk(SupplierLink, [{
        "organization_id": org.id, "supplier_id": sid, "currency": "PLN",
        "status": LinkStatus.BLOCKED if i % 5 == 0 else LinkStatus.INVITED if i % 7 == 0 else LinkStatus.ACTIVE,
    } for i, sid in enumerate(ids, start)])


def bulk_customers(supplier, count: int, *, start: int = 0) -> None:
    """`count` new buying companies with an active (every fifth blocked) link to `supplier`."""
    from portal.models import LinkStatus, SupplierLink

    ids = _bulk_companies("buyer", count, start)
    _bulk(SupplierLink, [{
        "organization_id": bid, "supplier_id": supplier.id, "currency": "PLN",
        "status": LinkStatus.BLOCKED if i % 5 == 0 else LinkStatus.ACTIVE,
    } for i, bid in enumerate(ids, start)])


def bulk_supplier_invitations(org, inviter, count: int, *, start: int = 0) -> None:
    """`count` supplier invitations of `org`: every third still open, the others accepted or
    revoked."""
    from portal.models import Invitation

    base = datetime(2025, 1, 1, 8, tzinfo=UTC)
    _bulk(Invitation, [{
        "organization_id": org.id, "kind": "supplier", "email": f"bulk{i}@supplier.example",
        "company_name": f"Bulk supplier {i}", "currency": "PLN", "token_hash": f"bulk-{org.id}-{i:060d}"[-64:],
        "invited_by_id": inviter.id, "created_at": base + timedelta(minutes=i),
        "expires_at": base + timedelta(days=7, minutes=i),
        "accepted_at": base + timedelta(days=1) if i % 3 == 1 else None,
        "revoked_at": base + timedelta(days=1) if i % 3 == 2 else None,
    } for i in range(start, start + count)])


def bulk_budgets(org, cost_centers, count: int, *, start: int = 0) -> None:
    """`count` monthly budgets of `org`, month after month back from 2026 over `cost_centers`,
    those before 2025 closed."""
    from portal.models import Budget

    rows = []
    for i in range(start, start + count):
        months = i // len(cost_centers)
        year, month = 2026 - months // 12, 12 - months % 12
        first = date(year, month, 1)
        last = (date(year + month // 12, month % 12 + 1, 1)) - timedelta(days=1)
        rows.append({
            "organization_id": org.id, "cost_center_id": cost_centers[i % len(cost_centers)].id,
            "name": f"Bulk {i}", "period_kind": "month", "starts_on": first, "ends_on": last,
            "amount": Decimal(10000), "currency": "PLN",
            "status": "closed" if year < 2025 else "open",
        })
    _bulk(Budget, rows)
