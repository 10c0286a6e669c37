"""The payment reminders job: every buying organisation's open invoices due soon, due today or
overdue (portal/services/invoicing/reminders.py), each organisation in its own bound scope and
its own transaction."""

from __future__ import annotations

import logging
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.models import Organization, OrgKind
from portal.tenancy import bound, scope_for

log = logging.getLogger("portal.jobs.payment_reminders")


def send_payment_reminders(*, today: date | None = None) -> int:
    """Send today's payment reminders in every buying organisation (`today`: each buyer's own
    date when None). One transaction per organisation (a failure in one leaves the others done
    and is raised at the end). Idempotent: never twice for the same invoice and day. Returns
    how many invoices were reminded."""
    from portal.services.invoicing.reminders import remind_payments

    # Organisations are not tenant-owned: listing them needs no scope.
    org_ids = db.session.scalars(
        select(Organization.id).where(Organization.kind == OrgKind.BUYER).order_by(Organization.id)
    ).all()
    sent, failed = 0, []
    for org_id in org_ids:
        org = db.session.get(Organization, org_id)
        with bound(db.session, scope_for(db.session, org)):
            try:
                count = remind_payments(org, today=today)
                db.session.commit()
            except IntegrityError:
                # Another run sent this organisation's reminders of the day first (the unique
                # invoice and day): nothing is left to send, nothing was sent twice.
                db.session.rollback()
                log.info("payment reminders of organisation %s were sent by another run", org_id)
                continue
            except Exception:
                db.session.rollback()
                log.exception("payment reminders of organisation %s failed", org_id)
                failed.append(org_id)
                continue
        sent += count
    if failed:
        raise RuntimeError(f"payment reminders failed for organisations {failed} (the others were sent)")
    return sent
