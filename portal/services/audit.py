"""Audit events: one keyword-only constructor, used by every service.

Actions come from the fixed set in `portal.domain.audit_events`. What an edit changed goes in
`changes` (`{field: (before, after)}`), stored as the summary's "changes" entry, the shape the
code lists already used; `changes_of` also reads the older before/after shapes.

The summary keeps typed values (Money, dates, nested `Msg`s) in their stored form
(`portal.domain.messages.encode_value`), so a timeline renders them in its reader's language
and formats; plain strings, numbers and lists of them are stored as they are.
"""

from __future__ import annotations

from portal.domain.audit_events import check_event
from portal.domain.messages import _TAG, decode_value, encode_value
from portal.extensions import db
from portal.models.audit import AuditEvent
from portal.services import webhook_events


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
    changes: dict | None = None,
) -> AuditEvent:
    """Append an event about `obj` done by `actor` (None for the system).

    The event belongs to the object's owning organisation (or `organization_id`), and to its
    supplier when the object is shared, so both parties read the same timeline. `changes`
    (`{field: (before, after)}`) is what an edit changed. Raises UnknownEvent for an action
    outside the fixed set.
    """
    check_event(action)
    summary = dict(summary or {})
    if changes:
        summary["changes"] = {key: [before, after] for key, (before, after) in changes.items()}
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
        summary={key: _encode(value) for key, value in summary.items()},
        comment=comment or "",
    )
    db.session.add(event)
    if action in webhook_events.ACTION_EVENTS:  # the event's webhooks, in the same transaction
        webhook_events.publish(action, obj, actor)
    return event


def changes_of(event: AuditEvent) -> list[tuple[str, object, object]]:
    """What the event's edit changed, as (field, before, after) with typed values.

    Reads the "changes" entry, and the shapes written before it existed: a profile update's
    `{field: [before, after]}`, a `before`/`after` pair of snapshots (roles, terms) and a
    budget revision's `from`/`to` amounts.
    """
    summary = event.summary or {}
    pairs = summary.get("changes")
    if pairs is None and event.action == "org.updated":
        pairs = summary
    if isinstance(pairs, dict):
        return [(field, _decode(pair[0]), _decode(pair[1])) for field, pair in pairs.items()
                if isinstance(pair, list) and len(pair) == 2]
    before, after = summary.get("before"), summary.get("after")
    if isinstance(before, dict) and isinstance(after, dict):
        keys = list(after) + [k for k in before if k not in after]
        return [(k, _decode(before.get(k)), _decode(after.get(k))) for k in keys
                if before.get(k) != after.get(k)]
    if event.action == "budget.revised" and "from" in summary:
        return [("amount", _decode(summary["from"]), _decode(summary.get("to")))]
    return []
