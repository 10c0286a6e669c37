"""What a request's address and text may hold: one set of converters for every view.

- URL arguments: `<int:...>` is `BoundedInt` app-wide (installed by `init_app` before any
  blueprint registers a route): ASCII digits up to the largest id a database column holds, so
  `/requisitions/99999999999999999999` is a 404, not a PostgreSQL "integer out of range".
- Query parameters: `id_arg`, `int_arg`, `year_arg`, `text_arg`, `cursor_arg` (a keyset list's
  page, `portal.services.paging`; every list pages by cursor, and an old `?page=` is ignored). A
  value that cannot be read answers 422 with a message naming the parameter (`BadParameter`), on
  every page the same way. A filter *form* read from the query string (dates, amounts, selects) is a
  form: its fields are `portal.blueprints.fields`' (`DayField`, `MoneyField`, selects with
  `coerce=coerce_id`), and their errors show beside them, as on every form.
- Text: a NUL byte or another C0 control character (but tab, newline, carriage return) in any
  query parameter, form field, URL argument or upload name is refused before a view runs
  (422): PostgreSQL cannot store NUL, and nobody types the others.

Numbers are read the way a person types them in the portal: ASCII digits only. Python's `int()`
also takes "١٢٣" and "1_000"; a query string never means those.
"""

from __future__ import annotations

import re

from flask import request
from werkzeug.exceptions import UnprocessableEntity
from werkzeug.routing import IntegerConverter

from portal.domain.messages import N_, Msg
from portal.services.paging import BadCursor

# PostgreSQL INTEGER (our primary keys) ends at 2^31 − 1.
MAX_ID = 2**31 - 1
MAX_TEXT = 100
YEARS = (2000, 2100)

_DIGITS = re.compile(r"[0-9]{1,10}")
_CURSOR = re.compile(r"[A-Za-z0-9_-]+")
MAX_CURSOR = 600
_CURSOR_MESSAGE = Msg(N_(
    "This page link cannot be read (it may have been cut short). Go back to the first page of "
    "the list."))
# C0 controls but \t, \n and \r (a textarea sends \r\n), which PostgreSQL stores and people type.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


class BoundedInt(IntegerConverter):
    """`<int:...>` with ASCII digits (werkzeug's `\\d` takes any script's digits) and no more
    than MAX_ID, so an out-of-range id is a 404 like a missing one."""

    regex = r"[0-9]+"

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


class BadParameter(UnprocessableEntity):
    """A query parameter or submitted text the portal cannot read: a 422 with `message` (a
    `Msg`, written in the viewer's language when the answer is rendered)."""

    def __init__(self, message: Msg):
        super().__init__()
        self.message = message


def _raw(name: str, args) -> str | None:
    value = (request.args if args is None else args).get(name)
    if value is None or not value.strip():
        return None
    return value.strip()


def int_arg(name: str, *, low: int = 0, high: int = MAX_ID, default: int | None = None,
            args=None, message=None) -> int | None:
    """The whole number `name` from `low` to `high`; `default` when absent or empty."""
    raw = _raw(name, args)
    if raw is None:
        return default
    if _DIGITS.fullmatch(raw) and low <= int(raw) <= high:
        return int(raw)
    raise BadParameter(message or Msg(N_(
        "The address has a value that cannot be read: “%(name)s” must be a whole number "
        "from %(low)s to %(high)s."), {"name": name, "low": low, "high": high}))


def id_arg(name: str, *, args=None) -> int | None:
    """An object id (None when absent): whether it names an object the viewer may see is the
    view's lookup (`load_or_404`)."""
    return int_arg(name, low=1, high=MAX_ID, args=args)


def year_arg(name: str = "year", *, args=None) -> int | None:
    """A calendar year within YEARS (None when absent)."""
    low, high = YEARS
    return int_arg(name, low=low, high=high, args=args, message=Msg(N_(
        "The year must be a whole number from %(low)s to %(high)s."), {"low": low, "high": high}))


def text_arg(name: str, *, max_length: int = MAX_TEXT, args=None) -> str:
    """A search text, trimmed and cut to `max_length` characters ("" when absent); control
    characters were refused before the view ran."""
    return (_raw(name, args) or "")[:max_length]


def cursor_arg(name: str = "cursor", *, args=None) -> str | None:
    """A list's page cursor (`portal.services.paging.keyset`), None when absent. Whether it is
    one the list gave out is checked when the page is read: `BadCursor` answers 422 like this."""
    raw = _raw(name, args)
    if raw is None:
        return None
    if len(raw) > MAX_CURSOR or not _CURSOR.fullmatch(raw):
        raise BadParameter(_CURSOR_MESSAGE)
    return raw


def coerce_id(value) -> int | None:
    """A select's or hidden field's value as an object id (the `coerce` of every id field):
    "" is no choice; anything but ASCII digits up to MAX_ID is a ValueError, which WTForms
    shows beside the field ("Not a valid choice") instead of a database overflow."""
    if value in (None, "", "None"):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        number = int(value)
    else:
        raise ValueError(value)
    if not 0 <= number <= MAX_ID:
        raise ValueError(value)
    return number


# ---------------------------------------------------------------- the app-wide checks


def has_control_characters(text: str) -> bool:
    return bool(CONTROL.search(text))


def _submitted_text():
    yield from request.args.values()
    yield from (request.view_args or {}).values()
    if request.method in ("POST", "PUT", "PATCH") and request.mimetype in (
        "application/x-www-form-urlencoded", "multipart/form-data",
    ):
        yield from request.form.values()
        for upload in request.files.values():
            yield upload.filename or ""


def refuse_control_characters() -> None:
    """Before every view: text with NUL or another control character is a 422."""
    for value in _submitted_text():
        if isinstance(value, str) and CONTROL.search(value):
            raise BadParameter(Msg(N_(
                "What you sent contains control characters (such as a NUL byte) that cannot be "
                "stored. Remove them and try again.")))


def init_app(app) -> None:
    """Install the bounded `<int:...>` converter (before any route is added), the control
    character check and the 422 answer."""
    app.url_map.converters["int"] = BoundedInt
    app.before_request(refuse_control_characters)

    @app.errorhandler(BadCursor)
    def bad_cursor(_exc: BadCursor):
        return bad_parameter(BadParameter(_CURSOR_MESSAGE))

    @app.errorhandler(BadParameter)
    def bad_parameter(exc: BadParameter):
        from flask_babel import gettext as _

        from portal.blueprints.problems import from_exception, is_api_request

        if is_api_request():
            return from_exception(exc)

        from portal.extensions import htmx
        from portal.htmx import render
        from portal.i18n import translate

        # Raised before a view writes anything (before_request, or a parser at the top of a
        # view): no transaction to roll back.
        message = translate(exc.message)
        if htmx:
            response = app.make_response(
                (render("partials/flash.html", messages=[("error", message)]), 422))
            response.headers["HX-Retarget"] = "#flash"
            response.headers["HX-Reswap"] = "innerHTML show:window:top"
            return response
        return render("errors/error.html", code=422, title=_("Check what you sent"),
                      message=message), 422
