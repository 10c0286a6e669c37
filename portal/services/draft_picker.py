"""The drafts a catalog item can be added to straight from the catalog (issue 10, point 1).

One bounded query per page, whatever the page shows: the catalog list offers the same short
list on every row.
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import select

from portal.domain.requisition import RequisitionStatus
from portal.extensions import db
from portal.models import Requisition

PICKER_LIMIT = 5


class Draft(NamedTuple):
    id: int
    number: str
    title: str


def recent_drafts(actor, *, limit: int = PICKER_LIMIT) -> list[Draft]:
    """The actor's own draft requisitions, most recent first, at most `limit` of them
    (ix_requisitions_org_requester_created serves it)."""
    rows = db.session.execute(
        select(Requisition.id, Requisition.number, Requisition.title)
        .where(Requisition.organization_id == actor.organization_id,
               Requisition.requester_id == actor.id,
               Requisition.status == RequisitionStatus.DRAFT)
        .order_by(Requisition.created_at.desc(), Requisition.id.desc())
        .limit(limit)
    )
    return [Draft(*row) for row in rows]
