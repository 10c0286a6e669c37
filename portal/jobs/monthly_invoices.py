"""The monthly invoicing run (job "draft-monthly-invoices", `flask invoices draft-monthly`): for
every supplier organisation with links set to monthly invoicing, its consolidated drafts of a
month (portal/services/invoicing/monthly.py), each supplier in its own bound scope and its own
transaction: one failing supplier does not stop the others (logged, and reported at the end)."""

from __future__ import annotations

import logging
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.models import Organization, OrgKind
from portal.models.org import SupplierLink
from portal.services import clock
from portal.services.clock import today_for
from portal.services.invoicing.monthly import draft_supplier, last_month, monthly_links, parse_period
from portal.tenancy import bound, scope_for

log = logging.getLogger("portal.jobs.monthly_invoices")


def _run_supplier(org: Organization, links: list[SupplierLink], period: str, end: date) -> int | None:
    """One supplier's drafts in its own transaction; a run racing this one (IntegrityError on
    the unique month) is answered by trying again, which skips what the other run drafted.
    None when it failed (logged)."""
    org_id = org.id
    for attempt in range(2):
        try:
            drafted = draft_supplier(org, links, period, end)
            db.session.commit()
            return drafted
        except IntegrityError:
            db.session.rollback()
            if attempt == 0:
                org = db.session.get(Organization, org_id)
                links = monthly_links(org_id)
                continue
            log.exception("monthly invoices %s of supplier %s failed", period, org_id)
        except Exception:
            db.session.rollback()
            log.exception("monthly invoices %s of supplier %s failed", period, org_id)
            break
    return None


def draft_monthly(period: str | None = None, *, today: date | None = None) -> list[tuple[int, int]]:
    """Draft the monthly invoices of `period` ("2026-11"; None = last month) for every active
    link set to monthly invoicing. Returns (supplier id, drafts made) for each supplier that
    has such links, in id order; a second run for the same month makes none.

    Raises MonthlyRunError (nothing read or written) for a malformed month or one not over by
    `today` (the business clock's date in Warsaw by default); RuntimeError after the run when
    some supplier failed (the others are committed).
    """
    today = today or today_for(None, clock.now())
    period = (period or last_month(today)).strip()
    _start, end = parse_period(period, today=today)
    supplier_ids = db.session.scalars(
        select(Organization.id).where(Organization.kind == OrgKind.SUPPLIER).order_by(Organization.id)).all()
    results, failed = [], []
    for org_id in supplier_ids:
        org = db.session.get(Organization, org_id)
        with bound(db.session, scope_for(db.session, org)):
            links = monthly_links(org_id)
            if not links:
                continue
            drafted = _run_supplier(org, links, period, end)
        if drafted is None:
            failed.append(org_id)
            continue
        results.append((org_id, drafted))
    if failed:
        raise RuntimeError(f"monthly invoices {period} failed for suppliers {failed}")
    return results
