"""What the code lists (catalog items and categories, cost centres) share: the active flag, and
recording what an edit changed, each with its audit event."""

from __future__ import annotations

from portal.domain.messages import Msg
from portal.errors import InvalidTransition
from portal.extensions import db
from portal.services import audit


def change_active(obj, active: bool, *, actor, kind: str, already: Msg | None = None) -> None:
    """Set `obj.is_active` and record `<kind>.deactivated` / `<kind>.reactivated`.

    With `already`, a row that already has that state is refused with it (InvalidTransition);
    without, nothing happens to it.
    """
    if obj.is_active == active:
        if already is not None:
            raise InvalidTransition(already)
        return
    obj.is_active = active
    audit.record(actor=actor, action=f"{kind}.{'reactivated' if active else 'deactivated'}",
                 obj=obj)
    db.session.flush()


def record_changes(obj, values: dict, *, actor, action: str) -> dict:
    """Set `values` on `obj` and record `action` with what changed (`{field: [before, after]}`),
    when anything did. Returns the changes."""
    changes = {key: [getattr(obj, key), value] for key, value in values.items()
               if getattr(obj, key) != value}
    for key, value in values.items():
        setattr(obj, key, value)
    if changes:
        audit.record(actor=actor, action=action, obj=obj, summary={"changes": changes})
    db.session.flush()
    return changes
