"""One-time submission tokens: a create form sent twice creates once.

A double click, a page re-sent after "back", a retried request: each would add a second
requisition, line, comment or invitation. So every create form carries a one-time token:

- `OnceForm`: the base class of every create form. Its hidden `submission_token` holds a fresh
  random token when the form is shown, and the same token when it comes back with errors (the
  action did not happen, so the token is still unused). Templates render it with the form's
  `hidden_tag()` or `form_tokens(form)` from `macros/forms.html` (`form_tokens(once=True)`
  for a one-button create form without a form class: duplicate).
- `@creates`: on the view that receives the POST. A token this user already used answers with
  the object it created (or where the first answer led) and a message, doing nothing. An
  unused one is written (`SubmissionToken`, unique per user) by `unit_of_work()` in the same
  transaction as the create: two requests racing with one token cannot both commit, and the
  loser answers like a repeat. A form posted without a token (an old page, a script) acts as
  before.

`tests/security/test_submission_tokens.py` walks the URL map: every create route is marked
`@creates`, and the page showing its form renders a fresh token inside that form;
`tests/web/test_submission_tokens.py` sends forms twice and at once.
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from functools import wraps

from flask import flash, g, has_request_context, make_response, redirect, request, url_for
from flask_babel import gettext as _
from flask_htmx import make_response as htmx_response
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from wtforms import HiddenField

from portal.blueprints.cache import fresh_each_time
from portal.blueprints.edge import actor, before_commit, unit_of_work
from portal.extensions import db, htmx
from portal.models import SubmissionToken
from portal.models.base import utcnow

FIELD = "submission_token"
_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,64}")
_PENDING = "once_submission_token"
# A used token only needs to outlive a page left open and sent again.
KEEP = timedelta(days=30)


def new_token() -> str:
    token = _token()
    if has_request_context():
        fresh_each_time(token, _token)  # a kept page shows a new one each time
    return token


def _token() -> str:
    return secrets.token_urlsafe(24)


class OnceForm(FlaskForm):
    """A form whose POST creates something: it carries a one-time submission token."""

    submission_token = HiddenField(default=new_token)


def creates(form_class: type[OnceForm] | None = None):
    """Mark a view whose POST creates something, from a `form_class` (an `OnceForm`) or, for a
    one-button form, from the token `form_tokens(once=True)` renders."""
    if form_class is not None and not issubclass(form_class, OnceForm):
        raise TypeError(f"{form_class.__name__} must derive from OnceForm to be a create form")

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            token = request.form.get(FIELD, "") if request.method == "POST" else ""
            if not _SHAPE.fullmatch(token) or not current_user.is_authenticated:
                return view(*args, **kwargs)
            used = _find(token)
            if used is not None:
                return _repeat(used)
            g.setdefault(_PENDING, token)
            try:
                response = make_response(view(*args, **kwargs))
            except IntegrityError:
                # Another request with this token committed first (unit_of_work has rolled
                # this one back whole): answer as a repeat.
                used = _find(token)
                if used is None:
                    raise
                return _repeat(used)
            finally:
                claimed = g.pop(_PENDING, None) is None
            if claimed and response.status_code < 400:
                _remember(token, _where(response))
            return response

        wrapper.creates = form_class or OnceForm
        return wrapper

    return decorate


@before_commit
def claim_pending() -> None:
    """Write the request's submission token into the transaction about to commit (called by
    `unit_of_work()`). Its unique key makes a second commit with the same token fail whole."""
    if not has_request_context():
        return
    token = g.pop(_PENDING, None)
    if token is None:
        return
    user = actor()
    db.session.execute(delete(SubmissionToken).where(
        SubmissionToken.user_id == user.id, SubmissionToken.created_at < utcnow() - KEEP))
    db.session.add(SubmissionToken(organization_id=user.organization_id, user_id=user.id,
                                   token=token))
    db.session.flush()


def create_views(app) -> dict[str, type[OnceForm]]:
    """endpoint -> the form class of each view marked `@creates`."""
    return {endpoint: view.creates for endpoint, view in app.view_functions.items()
            if getattr(view, "creates", None) is not None}


def init_app(app) -> None:
    """`new_submission_token()` in templates: a one-button create form's token."""
    app.add_template_global(new_token, "new_submission_token")


def _find(token: str) -> SubmissionToken | None:
    return db.session.scalars(select(SubmissionToken).where(
        SubmissionToken.user_id == current_user.id, SubmissionToken.token == token)).first()


def _where(response) -> str | None:
    """Where the first answer led: its redirect, else the page the form was on."""
    target = response.headers.get("HX-Redirect") or response.headers.get("Location")
    return (target or _form_page() or "")[:500] or None


def _form_page() -> str | None:
    """The page the form was sent from (htmx names it; a browser sends the referrer), if ours."""
    for page in (request.headers.get("HX-Current-URL"), request.referrer):
        if page and page.startswith(request.host_url):
            return page
    return None


def _remember(token: str, target: str | None) -> None:
    if not target:
        return
    with unit_of_work():
        db.session.execute(update(SubmissionToken).where(
            SubmissionToken.user_id == current_user.id, SubmissionToken.token == token,
        ).values(target=target).execution_options(synchronize_session=False))


def _repeat(used: SubmissionToken):
    """The answer to a form sent again: nothing done, a message, the first result."""
    message = _("This form was already sent: it was saved once, and not again.")
    target = used.target or _form_page() or url_for("dashboard.index")
    flash(message, "info")
    # htmx: the whole page goes there, the message with it (a fragment would have nowhere to go).
    return htmx_response(redirect=target) if htmx else redirect(target, 303)
