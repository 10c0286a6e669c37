"""Errors of the API as RFC 9457 problem details (`application/problem+json`).

Every refusal the API gives, from a missing token to a rule of the business, has the same shape:

    {"type": "https://portal.example/problems/validation", "title": "Invalid request",
     "status": 422, "detail": "...", "instance": "/api/v1/requisitions",
     "errors": [{"field": "lines.0.quantity", "message": "Not a valid number."}]}

`is_api_request()` tells the app-wide error handlers (portal/blueprints/error_pages.py,
portal/blueprints/params.py) to answer with a problem instead of an HTML page.
"""

from __future__ import annotations

import json

from flask import Response, request

API_PREFIX = "/api/v1"
PROBLEM_TYPE = "https://docs.portal.example/api/problems/"
MEDIA_TYPE = "application/problem+json"
# The one answer for a record that does not exist or is another organisation's (never telling which).
NOT_HERE = "There is nothing here, or it belongs to another organisation."

TITLES = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Authentication required"),
    403: ("forbidden", "Not allowed"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    409: ("conflict", "Conflict"),
    413: ("too-large", "Request body too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation", "Invalid request"),
    428: ("idempotency-key-required", "Idempotency-Key required"),
    429: ("rate-limited", "Too many requests"),
    500: ("server-error", "Internal server error"),
}


class ApiProblem(Exception):
    """Raise inside an API view to answer with a problem (nothing of the action is kept)."""

    def __init__(self, status: int, detail: str, *, errors: list[dict] | None = None,
                 kind: str | None = None, headers: dict | None = None):
        super().__init__(detail)
        self.status, self.detail, self.errors = status, detail, errors or []
        self.kind, self.headers = kind, headers or {}


def refused(exc, field: str | None) -> ApiProblem:
    """A service's ValidationProblem as a 422 problem naming the API's `field` (the caller maps
    the service's form-field names to the API's)."""
    return ApiProblem(422, exc.message, errors=[{"field": field, "message": exc.message}])


def is_api_request() -> bool:
    return request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/")


def problem(status: int, detail: str = "", *, errors: list[dict] | None = None,
            kind: str | None = None, headers: dict | None = None) -> Response:
    slug, title = TITLES.get(status, TITLES[500] if status >= 500 else TITLES[400])
    body = {"type": PROBLEM_TYPE + (kind or slug), "title": title, "status": status,
            "detail": detail or title, "instance": request.path}
    if errors:
        body["errors"] = errors
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=MEDIA_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def field_errors(messages, prefix: str = "") -> list[dict]:
    """Flatten marshmallow/webargs messages (`{"json": {"lines": {0: {"qty": ["..."]}}}}`)
    into `[{"field": "lines.0.qty", "message": "..."}]`; the request location is dropped."""
    found: list[dict] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            if not prefix and key in ("json", "query", "form", "files", "headers", "view_args"):
                found += field_errors(value, "")
                continue
            name = f"{prefix}.{key}" if prefix else str(key)
            found += field_errors(value, name)
    elif isinstance(messages, list | tuple):
        if all(isinstance(m, str) for m in messages):
            found += [{"field": prefix or None, "message": m} for m in messages]
        else:
            for value in messages:
                found += field_errors(value, prefix)
    else:
        found.append({"field": prefix or None, "message": str(messages)})
    return found


def from_exception(exc) -> Response:
    """The problem for any exception that reached the app's handlers during an API request."""
    from werkzeug.exceptions import HTTPException

    from portal.errors import DomainError, NotFound, PermissionDenied, ValidationProblem

    if isinstance(exc, ApiProblem):
        return problem(exc.status, exc.detail, errors=exc.errors, kind=exc.kind, headers=exc.headers)
    if isinstance(exc, NotFound):
        return problem(404, NOT_HERE)
    if isinstance(exc, PermissionDenied):
        return problem(403, exc.message)
    if isinstance(exc, ValidationProblem):
        field = getattr(exc, "field", None)
        return problem(422, exc.message, errors=[{"field": field, "message": exc.message}])
    if isinstance(exc, DomainError):  # a wrong state transition, a budget, a deadline
        return problem(exc.status_code, exc.message,
                       kind="invalid-transition" if exc.status_code == 409 else None)
    if isinstance(exc, HTTPException):
        data = getattr(exc, "data", None) or {}
        messages = data.get("messages")
        headers = {name: value for name, value in exc.get_headers()
                   if name.lower() in ("allow", "retry-after")}
        code = exc.code or 500
        if code == 429:
            headers.setdefault("Retry-After", str(_retry_after()))
            return problem(429, f"Rate limit of this token reached ({exc.description}); retry after "
                                f"{headers['Retry-After']} seconds.", headers=headers)
        if messages:
            return problem(code, "The request has invalid fields.", errors=field_errors(messages),
                           headers=headers)
        message = getattr(exc, "message", None)
        if message is not None and not isinstance(message, str):
            from portal.i18n import translate

            message = translate(message)
        detail = message or (exc.description if code != 500 else "")
        return problem(code, detail or "", headers=headers)
    return problem(500, "The error was logged. Nothing was saved.")


def _retry_after() -> int:
    """Seconds until the exhausted rate limit of this request resets (at least 1)."""
    import time

    from portal.extensions import limiter

    try:
        limit = limiter.current_limit
        return max(1, int(limit.reset_at - time.time())) if limit is not None else 60
    except Exception:  # noqa: BLE001 - the header is a courtesy; never fail the answer for it
        return 60
