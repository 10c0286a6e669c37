"""List answers kept in memory between two writes of the reader's organisation: the list
pages' content (`cached_page`) and the API's lists (`cached_list`).

A list is read far more often than what it shows changes: a buyer goes back to the orders
after each one, an ERP asks for the same API page every few minutes and mostly finds nothing
new. So a list's answer is kept in this process, keyed by everything that decides it:

- the endpoint and its query string, exactly as sent (and for a page, the host it was asked
  on and whether htmx asked for one block of it);
- who asks: the user (their roles are read by the policies) and, in the API, the token (its
  scopes);
- the version of the organisation's data (`badges.DATA`), read with who is asking at the start
  of the request, before any of the list: every transaction that writes a row the organisation
  reads bumps it before it commits, in the same transaction (a buyer's write to an order bumps
  its supplier too: services/badges.py, tenancy.organizations_written);
- the organisation's day (an invoice turns overdue at midnight where its reader is), and for a
  page the language and time zone it is written in.

What changes with the clock alone is kept no longer than it stays true: at most
`LIST_CACHE_SECONDS` (a countdown, a count of RFQs still open), and no later than the first
deadline of the rows shown (`until_next_deadline`: an RFQ's phase). Only a 200 is kept.

A page keeps its title and content block; the layout around them (the menu, its badges, the
messages) is rendered on every request. The page's CSRF token is kept as a placeholder and the
request's own is put back; each one-time submission token (`once`) is a new one every time.
An API answer carries a strong ETag (a hash of its body): a request whose `If-None-Match` names
it is answered `304 Not Modified` with no body.

The cache holds at most `LIST_CACHE_BYTES` of answers per process, least recently used first
out; 0 turns it off. After restoring the database from a backup, restart the workers: the
versions go back with the data.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections import OrderedDict
from datetime import datetime, timedelta
from threading import Lock
from typing import NamedTuple

from flask import Response, current_app, g, render_template, request
from flask_babel import get_locale, get_timezone
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from portal.blueprints.edge import actor
from portal.extensions import htmx
from portal.htmx import render
from portal.services import badges, clock


class _Entry(NamedTuple):
    body: bytes
    etag: str
    until: datetime | None
    fresh: tuple = ()  # what makes each one-time token of a kept page (fresh_each_time)


class ListCache:
    """Bodies by key, at most `limit` bytes of them, least recently used first out."""

    def __init__(self, limit: int):
        self.limit = limit
        self._entries: OrderedDict[tuple, _Entry] = OrderedDict()
        self._size = 0
        self._lock = Lock()

    def get(self, key: tuple, now: datetime) -> _Entry | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry.until is not None and now >= entry.until:
                self._drop(key)
                return None
            self._entries.move_to_end(key)
            return entry

    def put(self, key: tuple, entry: _Entry) -> None:
        if len(entry.body) > self.limit:
            return
        with self._lock:
            if key in self._entries:
                self._drop(key)
            self._entries[key] = entry
            self._size += len(entry.body)
            while self._size > self.limit:
                self._drop(next(iter(self._entries)))

    def _drop(self, key: tuple) -> None:
        self._size -= len(self._entries.pop(key).body)


def list_cache() -> ListCache | None:
    """This app's cache (None when LIST_CACHE_BYTES is 0)."""
    found = current_app.extensions.get("list_cache")
    if found is None:
        limit = int(current_app.config.get("LIST_CACHE_BYTES") or 0)
        if limit <= 0:
            return None
        found = current_app.extensions["list_cache"] = ListCache(limit)
    return found


def valid_until(moment: datetime | None) -> None:
    """The answer being worked out changes at `moment` without a write: keep it no longer."""
    if moment is None:
        return
    until = g.get("list_until")
    if until is None or moment < until:
        g.list_until = moment


def until_next_deadline(rows, now: datetime) -> None:
    """The rows' phases change when a deadline passes (RFQs): keep the answer no longer than
    the first one still ahead. `rows` are objects or dicts with a `deadline`."""
    deadlines = (row["deadline"] if isinstance(row, dict) else row.deadline for row in rows)
    valid_until(min((d for d in deadlines if d is not None and d > now), default=None))


def _start(now: datetime) -> None:
    """A new answer is worked out: kept at most LIST_CACHE_SECONDS (a countdown, a count of
    RFQs still open: what changes with the clock alone is never older than that)."""
    g.list_until = now + timedelta(seconds=int(current_app.config.get("LIST_CACHE_SECONDS", 60)))


def fresh_each_time(token: str, make) -> str:
    """`token` (a one-time submission token, see once.py) goes into the page being worked out:
    a kept page gets a new one from `make()` in its place on every request."""
    g.setdefault("list_fresh", []).append((token, make))
    return token


_FRESH = re.compile("\x02fresh(\\d+)\x02")


def _hold_fresh(text: str) -> tuple[str, tuple]:
    makers = []
    for index, (token, make) in enumerate(g.get("list_fresh", ())):
        text = text.replace(token, f"\x02fresh{index}\x02")
        makers.append(make)
    return text, tuple(makers)


def _renew_fresh(text: str, makers: tuple) -> str:
    if not makers:
        return text
    tokens = [make() for make in makers]
    return _FRESH.sub(lambda match: tokens[int(match[1])], text)


def not_kept() -> None:
    """The answer being worked out is not a plain 200 (a form's message): never keep it."""
    g.list_private = True


def _keep(now: datetime) -> bool:
    return g.list_until > now and not g.get("list_private")


def _data_key(org) -> tuple:
    """What every cached answer of `org`'s reader depends on: its data version and its day."""
    return badges.data_version(org.id), clock.today_for(org)


def _etag_matches(etag: str) -> bool:
    return etag in request.if_none_match


def _answer(entry: _Entry) -> Response:
    fresh = _etag_matches(entry.etag)
    response = Response(status=304) if fresh else Response(entry.body, mimetype="application/json")
    response.set_etag(entry.etag)
    return response


def cached_list(view):
    """Answer the list view from the cache while the caller's organisation's data is unchanged;
    placed under `requires`, so the token's scope is checked on every request."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        cache = list_cache()
        if cache is None or request.method != "GET":
            return view(*args, **kwargs)
        token, user = g.api_token, g.api_actor
        org = user.organization
        key = (request.endpoint, request.query_string, token.id, user.id, *_data_key(org))
        now = clock.now()
        entry = cache.get(key, now)
        if entry is not None:
            return _answer(entry)
        _start(now)
        response = view(*args, **kwargs)
        if response.status_code != 200 or response.direct_passthrough:
            return response
        body = response.get_data()
        entry = _Entry(body, hashlib.blake2b(body, digest_size=16).hexdigest(), g.list_until)
        if _keep(now):
            cache.put(key, entry)
        if _etag_matches(entry.etag):
            return _answer(entry)
        response.set_etag(entry.etag)
        return response

    doc = dict(getattr(wrapper, "_apidoc", None) or {})
    manual = dict(doc.get("manual_doc", {}))
    manual["responses"] = {**manual.get("responses", {}), "304": {
        "description": "Not Modified: the page is the one whose ETag the request sent in If-None-Match"}}
    doc["manual_doc"] = manual
    wrapper._apidoc = doc
    return wrapper


# A string no page contains: where the request's CSRF token goes back into a kept page.
_CSRF = "\x02csrf-token\x02"
# Where base.html's title and content blocks begin and end, in a page being kept (a plain
# string: Markup would escape what it is joined to).
_MARK = "\x01"


def cached_page(template: str, build, block: str | None = None) -> str:
    """A list page: `template` rendered with the context `build()` returns, or only its `block`
    for an htmx request (as `htmx.render`), its title and content from the cache while the
    reader's organisation's data is unchanged. `build` runs only when they are not."""
    cache = list_cache()
    part = block if block and htmx else None
    # Only a GET: a view called after a write in the same request reads the version from
    # before the write, so the cache would answer with the page the write just changed.
    if cache is None or request.method != "GET":
        return render(template, block=part, **build())
    user = actor()
    key = ("page", request.host_url, request.endpoint, part, request.query_string, user.id,
           *_data_key(user.organization), str(get_locale()), str(get_timezone()))
    now = clock.now()
    token = generate_csrf()
    entry = cache.get(key, now)
    if entry is None:
        _start(now)
        context = build()
        if part:
            kept = page = render(template, block=part, **context)
        else:
            # base.html marks where the title and the content begin and end.
            marked = render(template, **context, keep_mark=Markup(_MARK))  # noqa: S704 - a control character
            parts = marked.split(_MARK)
            if len(parts) != 5:  # a row holds the mark itself: this page is not kept
                return marked.replace(_MARK, "")
            head, title, middle, content, tail = parts
            kept, page = title + _MARK + content, head + title + middle + content + tail
        if _keep(now):
            held, makers = _hold_fresh(kept.replace(token, _CSRF))
            cache.put(key, _Entry(held.encode(), "", g.list_until, makers))
        return page
    kept = _renew_fresh(entry.body.decode(), entry.fresh).replace(_CSRF, token)
    if part:
        return kept
    title, content = kept.split(_MARK, 1)
    # Both rendered by the page's template, escaped as it escapes.
    return render_template("base.html", title=Markup(title), cached_content=Markup(content))  # noqa: S704
