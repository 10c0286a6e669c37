"""Many requisitions at once for the list tests (plans, query counts, deep pages): bulk
inserted rows, not one service call each."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import insert

from portal.domain.requisition import RequisitionStatus
from portal.extensions import db
from portal.models import Requisition
from tests.conftest import as_system

STATUSES = list(RequisitionStatus)


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
