"""The HTTP error pages: a `DomainError` becomes a flash (full page) or a flash fragment (htmx)
after the transaction is rolled back; 400/403/404/405/413/429/500 get the error page.

The edge's half of `portal/errors.py` (which holds only the error classes, so services, policies
and tenancy can raise them without depending on templates).
"""

from __future__ import annotations

from portal.errors import DomainError


def register_error_handlers(app) -> None:
    from flask import flash, redirect, request, url_for
    from flask_babel import gettext as _

    from portal.blueprints.problems import ApiProblem, from_exception, is_api_request
    from portal.extensions import db, htmx
    from portal.htmx import render

    def page(template: str, code: int, title: str, message: str):
        db.session.rollback()
        return render(template, code=code, title=title, message=message), code

    @app.errorhandler(ApiProblem)
    def api_problem(exc: ApiProblem):
        db.session.rollback()  # nothing of a refused API request is kept
        return from_exception(exc)

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        db.session.rollback()
        if is_api_request():
            return from_exception(exc)
        if exc.status_code in (403, 404):
            return handle_http(exc.status_code)
        if htmx:
            response = app.make_response(
                (render("partials/flash.html", messages=[("error", exc.message)]), exc.status_code)
            )
            response.headers["HX-Retarget"] = "#flash"
            response.headers["HX-Reswap"] = "innerHTML show:window:top"
            return response
        flash(exc.message, "error")
        target = request.referrer
        if not target or not target.startswith(request.host_url):
            target = url_for("dashboard.index")
        return redirect(target)

    def handle_http(code: int):
        # First: choosing the language reads the signed-in user, which needs a usable session
        # (after a failed flush the old transaction must be rolled back before any query).
        db.session.rollback()
        titles = {
            400: (_("Bad request"), _("The request could not be understood. Please try again.")),
            403: (_("Not allowed"), _("Your role does not allow this. Ask your company admin.")),
            404: (_("Not found"), _("There is nothing here, or it belongs to another company.")),
            405: (_("Not allowed"), _("This action cannot be done this way.")),
            413: (_("Too large"), _("What you sent is larger than the portal accepts.")),
            429: (_("Too many attempts"), _("Please wait a few minutes and try again.")),
            500: (_("Something went wrong"), _("The error was logged. Nothing was saved.")),
        }
        title, message = titles.get(code, titles[500])
        return page("errors/error.html", code, title, message)

    def http_error(exc, code: int):
        if is_api_request():
            db.session.rollback()
            return from_exception(exc)
        body, status = handle_http(code)
        # Keep what the protocol asks of the error: Allow on a 405, Retry-After on a 429.
        kept = [(name, value) for name, value in exc.get_headers()
                if name.lower() in ("allow", "retry-after")] if hasattr(exc, "get_headers") else []
        return body, status, kept

    for code in (400, 403, 404, 405, 413, 429, 500):
        app.register_error_handler(code, lambda exc, code=code: http_error(exc, code))
