"""Audit events: one keyword-only constructor, used by every service."""

from __future__ import annotations

from portal.extensions import db
from portal.models.audit import AuditEvent


def record(
    *,
    actor,
    action: str,
    obj,
    organization_id: int | None = None,
    supplier_id: int | None = None,
    summary: dict | None = None,
    comment: str = "",
    on_behalf_of=None,
) -> AuditEvent:
    """Append an event about `obj` done by `actor` (None for the system).

    The event belongs to the object's owning organisation (or `organization_id`), and to its
    supplier when the object is shared, so both parties read the same timeline.
    """
    org_id = organization_id or getattr(obj, "organization_id", None)
    if org_id is None and obj.__class__.__name__ == "Organization":
        org_id = obj.id
    event = AuditEvent(
        organization_id=org_id,
        supplier_id=supplier_id if supplier_id is not None else getattr(obj, "supplier_id", None),
        actor_id=actor.id if actor is not None else None,
        on_behalf_of_id=on_behalf_of.id if on_behalf_of is not None else None,
        action=action,
        object_type=obj.__class__.__name__,
        object_id=obj.id,
        summary=summary or {},
        comment=comment or "",
    )
    db.session.add(event)
    return event
