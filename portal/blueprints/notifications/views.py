"""In-app notifications: the list (unread first), opening one, marking all read, and the bell
in the top bar that htmx refreshes every minute."""

from __future__ import annotations

from flask import flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import login_required

from portal.blueprints.badges import polled_badge
from portal.blueprints.cache import cached_page
from portal.blueprints.edge import actor, or_404, page_size, safe_next, unit_of_work
from portal.blueprints.notifications import bp
from portal.blueprints.params import cursor_arg
from portal.jobs.rendering import page_url, shown
from portal.policies import require
from portal.services import badges, notifications


@bp.route("/")
@login_required
@require("notifications.view")
def index():
    cursor, per_page = cursor_arg(), page_size()

    def build():
        page = notifications.notifications_page(actor(), cursor=cursor, per_page=per_page)
        # Rendered in the viewer's language: the rows hold message ids and parameters.
        return {"page": page, "notes": [shown(n) for n in page.items],
                "unread": notifications.unread_count(actor())}

    return cached_page("notifications/index.html", build)


@bp.route("/badge")
@polled_badge("notifications.view", "notifications/_badge.html", scope=badges.notifications_scope)
def badge(user) -> int:
    """Just the bell and its count, polled by htmx (286 stops the polling once signed out)."""
    return notifications.unread_count(user)


@bp.route("/<int:notification_id>/open", methods=["POST"], endpoint="open")
@login_required
@require("notifications.view")
def open_notification(notification_id: int):
    with unit_of_work():
        note = or_404(notifications.open_notification(actor(), notification_id))
    return redirect(safe_next(page_url(note.target), "notifications.index"))


@bp.route("/read", methods=["POST"])
@login_required
@require("notifications.view")
def read_all():
    with unit_of_work():
        changed = notifications.mark_read(actor())
    if changed:
        flash(ngettext("%(num)s notification marked read.", "%(num)s notifications marked read.",
                       changed), "success")
    else:
        flash(_("Nothing unread."), "info")
    return redirect(url_for("notifications.index"))
