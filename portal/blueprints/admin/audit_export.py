"""The audit log as CSV: the filtered log (object type, person, dates, as on the page), every
event of it, newest first, streamed.

The log can hold millions of events: it is read by key in chunks (each chunk's objects and the
ids among its changes named in one query per kind, as a page of the log), written and sent
chunk by chunk; nothing but the chunk at hand is held.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache

from flask import request
from flask_babel import get_timezone
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal.blueprints.admin import bp
from portal.blueprints.admin.forms import AuditFilterForm
from portal.blueprints.edge import csv_response, scoped_rows
from portal.blueprints.params import BadParameter
from portal.domain.messages import N_, Msg
from portal.labels import change_value, event_label, field_label, object_type_label, summary_text
from portal.policies import require
from portal.services import audit as audit_service
from portal.services import audit_log

EXPORT_CHUNK = 500


@bp.route("/audit/export")
@login_required
@require("audit.view")
def audit_export():
    """The filtered audit log as CSV. A filter that cannot be read is a 422 naming it (the page
    shows the whole log then; a download of the whole log by mistake helps nobody)."""
    org = current_user.organization
    form = AuditFilterForm(formdata=request.args).set_actors(audit_log.actors(org))
    if not form.validate():
        errors = "; ".join(f"{form[name].label.text}: {' '.join(map(str, found))}"
                           for name, found in form.errors.items())
        raise BadParameter(Msg(N_("The filter cannot be read: %(errors)s"), {"errors": errors}))
    chosen = audit_log.AuditFilter(object_type=form.object_type.data or None, actor_id=form.actor.data,
                                   date_from=form.date_from.data, date_to=form.date_to.data)
    filename, header, rows = audit_table(chosen)
    return csv_response(filename, header, scoped_rows(rows), stream=True)


def audit_table(filters: audit_log.AuditFilter):
    """(filename, header, rows) of the signed-in user's organisation's audit log as CSV, the
    rows a generator read by key in chunks: the page's export and GET /api/v1/exports/audit-log.
    Times are ISO 8601 in the reader's time zone, with its offset. More events than one
    download carries are refused (ValidationProblem) before anything is sent."""
    org = current_user.organization
    audit_log.check_export_size(org, filters)
    currency = org.currency
    tz = get_timezone()
    header = [_("Time"), _("Who"), _("On behalf of"), _("Action"), _("Object type"), _("Object"),
              _("Object ID"), _("Details")]
    system = _("System")
    # The organisation's people by id, once (the filter's list of the page); the tenant filter
    # names no one else on the page either.
    people = {user.id: user.full_name for user in audit_log.actors(org)}
    # The labels of this export's language, looked up once each (a log repeats a few dozen).
    action_label, kind_label = cache(event_label), cache(object_type_label)

    def generate():
        for events in audit_log.every_event(org, filters, chunk=EXPORT_CHUNK):
            names = audit_log.object_names(events, org)
            changes = {e.id: audit_service.changes_of(e) for e in events}
            refs = audit_log.reference_names(c for found in changes.values() for c in found)
            for e in events:
                kind = kind_label(e.object_type)
                yield [
                    e.created_at.astimezone(tz).isoformat(timespec="seconds"),
                    people.get(e.actor_id) or system,
                    people.get(e.on_behalf_of_id) or "",
                    action_label(e.action), kind,
                    _object(e, kind, names.get((e.object_type, e.object_id))), e.object_id,
                    _details(e, changes[e.id], refs, currency),
                ]

    return f"audit-log-{datetime.now(tz).date().isoformat()}.csv", header, generate()


def _object(event, kind: str, name: str | None) -> str:
    """The event's object as the page names it (`kind`: its type's label)."""
    if event.object_type == "ApprovalPolicy":
        version = (event.summary or {}).get("version")
        return _("Approval policy, version %(n)s", n=version) if version else kind
    return name or f"{kind} #{event.object_id}"


def _details(event, changes, refs: dict, currency: str) -> str:
    """What the page shows beside the event, in one cell: each change "field: before → after",
    the policy step, the comment."""

    def side(field: str, value) -> str:
        return refs.get((field, str(value))) or change_value(field, value, currency)

    parts = [f"{field_label(field)}: {side(field, before)} → {side(field, after)}"
             for field, before, after in changes]
    step = (event.summary or {}).get("step") if event.object_type == "ApprovalPolicy" else None
    if step:
        parts.append(_("Step “%(name)s”", name=summary_text(step)))
    if event.comment:
        parts.append(event.comment)
    return "; ".join(parts)
