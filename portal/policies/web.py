"""The edge's half of the policies: view decorators and `can(...)` in templates, both bound to
the signed-in user, so a hidden button and a refused POST never disagree."""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user

from portal.errors import NotFound
from portal.policies.core import can, check


def require(action: str):
    """View decorator: 403 unless the signed-in user may do `action` (no object)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not can(current_user, action):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def authorize(action: str, obj=None) -> None:
    """Inside a view, after loading `obj`: 404 for another company's object (the tenant filter
    normally gives that already), else 403 unless the signed-in user may do `action`."""
    refusal = check(current_user, action, obj)
    if refusal is not None:
        abort(404 if isinstance(refusal, NotFound) else 403)


def install(app) -> None:
    """Make `can(action, obj)` available in templates, bound to the current user."""

    @app.context_processor
    def inject_can():
        return {"can": lambda action, obj=None: can(current_user, action, obj)}
