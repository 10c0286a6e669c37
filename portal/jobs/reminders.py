"""The approval reminders job: every buying organisation, each in its own bound scope and
its own transaction."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select

from portal.extensions import db
from portal.models import Organization, OrgKind
from portal.tenancy import bound, scope_for

log = logging.getLogger("portal.jobs.reminders")


def send_reminders(*, now: datetime | None = None) -> list[tuple[int, dict]]:
    """Remind and escalate waiting approval steps in every buying organisation.

    One transaction per organisation (a failure in one leaves the others done, and is raised
    at the end). Idempotent: the service records each reminder, so a second run in the same
    period sends nothing. Returns (organisation id, {"reminded": n, "escalated": m}) pairs.
    """
    from portal.services.approvals import send_reminders as remind_organization

    # Organisations are not tenant-owned: listing them needs no scope.
    org_ids = db.session.scalars(
        select(Organization.id).where(Organization.kind == OrgKind.BUYER).order_by(Organization.id)
    ).all()
    results, failed = [], []
    for org_id in org_ids:
        org = db.session.get(Organization, org_id)
        with bound(db.session, scope_for(db.session, org)):
            try:
                counts = remind_organization(org_id, now=now)
                db.session.commit()
            except Exception:
                db.session.rollback()
                log.exception("reminders for organisation %s failed", org_id)
                failed.append(org_id)
                continue
        results.append((org_id, counts))
    if failed:
        raise RuntimeError(f"reminders failed for organisations {failed} (the others were sent)")
    return results
