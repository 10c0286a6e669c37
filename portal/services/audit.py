"""Audit events: one keyword-only constructor, used by every service.

The summary keeps typed values (Money, dates, nested `Msg`s) in their stored form
(`portal.domain.messages.encode_value`), so a timeline renders them in its reader's language
and formats; plain strings, numbers and lists of them are stored as they are.
"""

from __future__ import annotations

from portal.domain.messages import _TAG, decode_value, encode_value
from portal.extensions import db
from portal.models.audit import AuditEvent


def _encode(value):
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    if isinstance(value, dict):  # before/after snapshots, stored terms
        return {key: _encode(v) for key, v in value.items()}
    return encode_value(value)


def _decode(value):
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict) and _TAG not in value:
        return {key: _decode(v) for key, v in value.items()}
    return decode_value(value)


def summary_of(event: AuditEvent) -> dict:
    """The event's summary with its typed values back (Money, dates, Msg)."""
    return {key: _decode(value) for key, value in (event.summary or {}).items()}


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
        summary={key: _encode(value) for key, value in (summary or {}).items()},
        comment=comment or "",
    )
    db.session.add(event)
    return event
