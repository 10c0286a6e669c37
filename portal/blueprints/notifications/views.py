"""In-app notifications: the list (unread first), opening one, marking all read, and the bell
in the top bar that htmx refreshes every minute."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from portal.blueprints.common import commit, page_size, safe_next
from portal.blueprints.notifications import bp
from portal.extensions import db
from portal.htmx import render
from portal.policies import can, require
from portal.services import notifications


def _actor():
    return current_user._get_current_object()


@bp.route("/")
@login_required
@require("notifications.view")
def index():
    page = db.paginate(
        notifications.notifications_query(_actor()),
        page=max(request.args.get("page", 1, type=int), 1), per_page=page_size(), error_out=False,
    )
    return render("notifications/index.html", page=page,
                  unread=notifications.unread_count(_actor()))


@bp.route("/badge")
def badge():
    """Just the bell and its count, polled by htmx (286 stops the polling once signed out)."""
    if not can(current_user, "notifications.view"):
        return "", 286
    return render("notifications/_badge.html", count=notifications.unread_count(_actor()))


@bp.route("/<int:notification_id>/open", methods=["POST"], endpoint="open")
@login_required
@require("notifications.view")
def open_notification(notification_id: int):
    note = notifications.open_notification(_actor(), notification_id)
    if note is None:
        abort(404)
    commit()
    return redirect(safe_next(note.link, "notifications.index"))


@bp.route("/read", methods=["POST"])
@login_required
@require("notifications.view")
def read_all():
    changed = notifications.mark_read(_actor())
    commit()
    if changed:
        flash(ngettext("%(num)s notification marked read.", "%(num)s notifications marked read.",
                       changed), "success")
    else:
        flash(_("Nothing unread."), "info")
    return redirect(url_for("notifications.index"))
