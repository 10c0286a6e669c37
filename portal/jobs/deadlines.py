"""The RFQ deadline job: every buying organisation's open RFQs whose response deadline has
passed are recorded as closed (as of their deadline), each organisation in its own bound scope
and its own transaction. Quoting stops at the deadline anyway (the services check the clock);
this makes the status, the lists and the dashboards say so without waiting for a buyer."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select

from portal.extensions import db
from portal.models import Organization, OrgKind
from portal.tenancy import bound, scope_for

log = logging.getLogger("portal.jobs.deadlines")


def close_expired_rfqs(*, now: datetime | None = None) -> list[tuple[int, int]]:
    """Close the RFQs past their deadline in every buying organisation. Idempotent: a closed RFQ
    is not open any more, so a second run closes nothing. Returns (organisation id, closed)."""
    from portal.services.sourcing.rfqs import expire_deadlines

    org_ids = db.session.scalars(
        select(Organization.id).where(Organization.kind == OrgKind.BUYER).order_by(Organization.id)
    ).all()
    results, failed = [], []
    for org_id in org_ids:
        org = db.session.get(Organization, org_id)
        with bound(db.session, scope_for(db.session, org)):
            try:
                closed = expire_deadlines(now=now)
                db.session.commit()
            except Exception:
                db.session.rollback()
                log.exception("closing expired RFQs of organisation %s failed", org_id)
                failed.append(org_id)
                continue
        results.append((org_id, closed))
    if failed:
        raise RuntimeError(f"closing expired RFQs failed for organisations {failed}")
    return results
