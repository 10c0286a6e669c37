"""Domain errors.

Services and domain code raise a `DomainError` carrying a `Msg` (a message id and typed
parameters, never translated text: a service knows nothing of the viewer's language). The
handler in `portal/blueprints/error_pages.py` rolls the transaction back and renders the
message with `portal.i18n.translate` in the viewer's language, as a flash (full page) or a
flash fragment (htmx).
"""

from __future__ import annotations

from portal.domain.messages import Msg


class DomainError(Exception):
    """A rule of the business refused the action; `msg` says why, `message` in the viewer's words."""

    status_code = 409

    def __init__(self, message: Msg | str):
        # A plain string is a message id without parameters (or text already rendered at an edge).
        self.msg = message if isinstance(message, Msg) else Msg(str(message))
        # English, unformatted: what logs, tracebacks and `pytest.raises(match=...)` see.
        super().__init__(str(self.msg))

    @property
    def message(self) -> str:
        """The message rendered for whoever is looking: in a request the viewer's language and
        formats; outside an application (a script, a unit test) plain English."""
        from flask import has_app_context

        if not has_app_context():
            return str(self.msg)
        from portal.i18n import translate

        return translate(self.msg)


class InvalidTransition(DomainError):
    """The document's state does not allow this action."""


class PermissionDenied(DomainError):
    """The actor lacks the role or relation the action needs."""

    status_code = 403


class NotFound(DomainError):
    """No such record in the current organisation (answers 404, never 403)."""

    status_code = 404


class ValidationProblem(DomainError):
    """Input that passed the form but breaks a rule (duplicate email, last admin, ...)."""

    status_code = 422


class BudgetExceeded(DomainError):
    """The action would take a budget over what it holds."""


class TenantViolation(RuntimeError):
    """A write into another organisation's data: a programming error, never a user error."""
