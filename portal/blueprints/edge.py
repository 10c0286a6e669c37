"""The HTTP edge: what every view does the same way.

- `unit_of_work()`: one user action is one transaction: commit once at the end, roll back on any
  exception (a `DomainError` included) before it reaches the error handler or the view's
  `except`. Views never call `commit()` or `rollback()` themselves (a test greps for it) and
  a successful response that leaves flushed but uncommitted writes behind fails in tests.
- `actor()`: the signed-in user object that services take as their explicit actor.
- `load_or_404(Model, id)`: a record through the tenant-scoped session, or 404.
- `show_problem(form, exc)`: a `ValidationProblem` next to its field, or on the form.
- `csv_response(filename, header, rows)`: a spreadsheet download for the reader's locale,
  safe to open in Excel; `scoped_rows(rows)` keeps a streamed download in the request's tenant
  scope.
- `safe_next()`, `page_size()`.

The htmx side (render a fragment, the success message as an `HX-Trigger`) is `portal.htmx`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from urllib.parse import urlsplit

from flask import Response, abort, current_app, flash, redirect, request, stream_with_context, url_for
from flask_babel import get_locale
from flask_login import current_user
from sqlalchemy import event, select

from portal import tenancy
from portal.domain import csvfile
from portal.domain.messages import Msg
from portal.errors import ValidationProblem
from portal.extensions import db
from portal.i18n import translate
from portal.policies import authorize

log = logging.getLogger(__name__)

# Excel and LibreOffice run a cell that starts with one of these as a formula (CSV injection):
# `=HYPERLINK(...)` in a requisition title would become a live link in the buyer's export.
FORMULA_START = csvfile.FORMULA_START

_PENDING = "edge.uncommitted_writes"
_READS_ONLY = "edge.reads_only"


# ---------------------------------------------------------------- the signed-in user


def actor():
    """The signed-in user (the object, not flask-login's proxy): the actor services expect."""
    return current_user._get_current_object()


# ---------------------------------------------------------------- one transaction per action


@contextmanager
def unit_of_work() -> Iterator[None]:
    """Run one user action: commit once when the block ends, roll back on any exception.

    The exception propagates after the rollback, so a `DomainError` reaches the view's
    `except` (to re-render its form) or the error handler with nothing written. In a GET that
    writes after all (a supplier's first look at an RFQ is recorded), the reads so far end and
    the unit of work runs in a transaction of its own (`reads_only`).
    """
    session = db.session()
    if session.info.pop(_READS_ONLY, False):
        session.rollback()  # gives back the autocommit connection; loaded objects reload
    try:
        yield
        for hook in _BEFORE_COMMIT:
            hook()
        db.session.commit()
    except BaseException:
        # A failed commit (a constraint the flush did not meet) is rolled back the same way.
        db.session.rollback()
        raise


_BEFORE_COMMIT: list[Callable[[], None]] = []


def before_commit(hook: Callable[[], None]) -> Callable[[], None]:
    """Run `hook` at the end of every unit of work, inside its transaction, before the commit
    (portal/blueprints/once.py writes the form's one-time token there)."""
    _BEFORE_COMMIT.append(hook)
    return hook


def reads_only() -> None:
    """The rest of this request only reads: on PostgreSQL its statements then run outside a
    transaction (autocommit), so the request costs no BEGIN and no ROLLBACK round trip, and
    the prepared lookups by key (`extensions.PREPARED`) outlive it (psycopg drops a
    connection's prepared statements at every ROLLBACK). Nothing else changes for a reader:
    under READ COMMITTED every statement took its own snapshot anyway. On the bench's 1M data
    (PostgreSQL, in one process, interleaved with the code before) an API list request took
    7-23 % less time; pages with several statements the same within noise. Any write the
    request then tries is refused (RuntimeError), on every database, so a read path that starts
    writing fails its tests instead of writing outside a unit of work (`unit_of_work()` in a
    GET runs in a transaction of its own). Called for every GET (`begin_request`) before its
    first statement; a request that already holds a transaction keeps it."""
    session = db.session()
    session.info[_READS_ONLY] = True
    if not session.in_transaction() and session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def in_transaction(view):
    """A GET view that reads in one transaction: a streamed CSV export whose rows come from a
    server-side cursor (`yield_per`), which PostgreSQL declares only inside a transaction.
    Put it right under the route decorator."""
    view.keeps_transaction = True
    return view


def begin_request(app) -> None:
    """Before a request's first statement (portal's `bind_request_scope`): a GET or HEAD reads
    only (`reads_only`), unless its view keeps a transaction (`in_transaction`)."""
    if request.method not in ("GET", "HEAD") or request.endpoint in (None, "static"):
        return
    if not getattr(app.view_functions.get(request.endpoint), "keeps_transaction", False):
        reads_only()


def _refuse_flush(session, _context, _instances) -> None:
    if session.info.get(_READS_ONLY):
        raise RuntimeError("a read-only request (edge.reads_only) tried to write")


def _refuse_write_statement(state) -> None:
    if (state.is_insert or state.is_update or state.is_delete) and state.session.info.get(_READS_ONLY):
        raise RuntimeError("a read-only request (edge.reads_only) tried to write")


def _flushed(session, _context) -> None:
    session.info[_PENDING] = True


def _ended(session) -> None:
    session.info.pop(_PENDING, None)


def init_app(app) -> None:
    """Notice writes a view flushed but never committed (a forgotten unit of work).

    Flask-SQLAlchemy rolls such writes back when the request ends, so the user would see a
    success message for something that was never saved: in tests that is an error.
    """
    # Session events attach to the session class, shared by every app: register them once.
    for name, listener in (("after_flush", _flushed), ("after_commit", _ended),
                           ("after_rollback", _ended), ("before_flush", _refuse_flush),
                           ("do_orm_execute", _refuse_write_statement)):
        if not event.contains(db.session, name, listener):
            event.listen(db.session, name, listener)

    @app.after_request
    def _refuse_uncommitted(response):
        if response.status_code < 400 and db.session.info.pop(_PENDING, False):
            db.session.rollback()
            message = "a successful response left uncommitted writes: use unit_of_work()"
            if app.testing:
                raise RuntimeError(message)
            log.error(message)
        return response

    @app.teardown_request
    def _forget(_exc):
        db.session.info.pop(_PENDING, None)
        db.session.info.pop(_READS_ONLY, None)


# ---------------------------------------------------------------- loading records


def load_or_404(model, ident, *options, **criteria):
    """The `model` row with id `ident` (and the extra column `criteria`, e.g. the parent's id)
    that the current organisation may see, or 404.

    The query goes through the tenant filter, so another organisation's row is a 404 exactly
    like a missing one. `options` are loader options (`joinedload(...)`).
    """
    query = select(model).where(model.id == ident).filter_by(**criteria)
    if options:
        query = query.options(*options)
    return or_404(db.session.scalars(query).first())


def or_404(found):
    """`found`, or 404 when a lookup returned None."""
    if found is None:
        abort(404)
    return found


# ---------------------------------------------------------------- forms


def message_text(message) -> str:
    """A domain message (a `Msg`, or text already in the user's language) as text to show."""
    return translate(message) if isinstance(message, Msg | dict) else str(message)


def show_problem(form, exc) -> None:
    """Show a `ValidationProblem` beside the field it names (`exc.field`), else on the form."""
    text = message_text(exc.message)
    target = getattr(form, getattr(exc, "field", None) or "", None)
    if target is not None and hasattr(target, "errors"):
        target.errors = [*target.errors, text]
    else:
        form.form_errors.append(text)


def form_action(form, action: Callable[[], object], done: Callable[[object], object]):
    """The POST half of a form page: when `form` is submitted and valid, run `action()` as one
    unit of work and answer `done(result)`. A `ValidationProblem` is shown on the form (nothing
    written) and None returned, as for a GET or an invalid form: the view then renders the form
    with `form_status()`."""
    if not form.validate_on_submit():
        return None
    try:
        with unit_of_work():
            result = action()
    except ValidationProblem as exc:
        show_problem(form, exc)
        return None
    return done(result)


def form_status() -> int:
    """200 for the empty form, 422 for one sent back with errors (htmx swaps 422 as set up)."""
    return 422 if request.method == "POST" else 200


def saved(message: str, target: str):
    """After a full-page action: the success message as a flash, then a redirect (PRG)."""
    flash(message, "success")
    return redirect(target)


def button_action(obj, permission: str, change: Callable, message: str, target: str, *,
                  refused_to: str | None = None):
    """A one-button POST on `obj` (deactivate, reactivate, …): check `permission` on it, run
    `change(obj, actor=...)` as one unit of work, flash `message` and go to `target`.

    A refusal (`DomainError`) goes to the error handler (a flash, back to the page it came
    from); with `refused_to`, a `ValidationProblem` is flashed and redirected there instead.
    """
    authorize(permission, obj)
    try:
        with unit_of_work():
            change(obj, actor=actor())
    except ValidationProblem as exc:
        if refused_to is None:
            raise
        flash(message_text(exc.message), "error")
        return redirect(refused_to)
    return saved(message, target)


# ---------------------------------------------------------------- navigation and paging


def safe_next(target: str | None, default_endpoint: str = "dashboard.index") -> str:
    """A local path to go to after an action; anything else goes to the default page."""
    if target:
        parts = urlsplit(target)
        local = not parts.scheme and not parts.netloc
        if local and target.startswith("/") and not target.startswith("//") and "\\" not in target:
            return target
    return url_for(default_endpoint)


def page_size() -> int:
    return current_app.config["PAGE_SIZE"]


# ---------------------------------------------------------------- CSV downloads


def csv_dialect(locale: str | None = None) -> tuple[str, str]:
    """(separator, decimal mark) for the reader: Polish Excel splits on `;` and reads `1,5`."""
    return csvfile.dialect_for(str(locale or get_locale() or "en"))


def csv_cell(value, decimal_mark: str = ".") -> str:
    """One cell as text (`csvfile.csv_cell`), messages in the reader's language."""
    return csvfile.csv_cell(value, decimal_mark, as_text=message_text)


def csv_response(filename: str, header: Sequence, rows: Iterable[Sequence], *,
                 locale: str | None = None, stream: bool = False, chunk: int = 200) -> Response:
    """A CSV download through the one writer (`csvfile.write_csv`): UTF-8 with a BOM (so Excel
    reads Polish letters), `;` and a decimal comma for a Polish reader, `,` and `.` otherwise,
    formula-safe cells, messages in the reader's language.

    `rows` may be any iterable; with `stream=True` it is consumed while the response is sent
    (in the request's context, so pass a generator that binds what it needs itself).
    """
    separator, decimal_mark = csv_dialect(locale)
    lines = csvfile.write_csv(header, rows, separator=separator, decimal_mark=decimal_mark,
                              as_text=message_text, chunk=chunk)
    return csv_file(filename, stream_with_context(lines) if stream else "".join(lines))


def scoped_rows(rows: Iterable) -> Iterator:
    """`rows` (a generator that queries) read while a streamed response is sent, in the tenant
    scope of the request that built it: Flask ends the request's binding when the view returns,
    before the stream runs. For `csv_response(..., stream=True)`."""
    scope = tenancy.current_scope(db.session)

    def generate():
        with tenancy.bound(db.session, scope):
            yield from rows

    return generate()


def csv_file(filename: str, body) -> Response:
    """A ready CSV text (a sample import file) as a download; a text without a BOM gets one."""
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    if isinstance(body, str) and not body.startswith("\ufeff"):
        body = "\ufeff" + body
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
