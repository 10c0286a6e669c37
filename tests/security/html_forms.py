"""The POST forms of a rendered page, with the values a person would send (the fuzz suite's
valid baseline: one field at a time is then replaced by a nasty value)."""

from __future__ import annotations

from datetime import date, timedelta
from html.parser import HTMLParser

from werkzeug.datastructures import MultiDict

FILL = "Fuzz {n}"  # an empty field's plausible value, made unique per request by fresh()


def _filler(kind: str, a: dict) -> str:
    """What a person would type into an empty field, so a form gets past its required fields
    and the nasty value in the one field under test reaches the service and the database."""
    if kind == "hidden":
        return ""
    if kind == "email":
        return "fuzz{n}@example.com"
    if kind == "date":
        return (date.today() + timedelta(days=30)).isoformat()  # noqa: DTZ011
    if kind == "number" or a.get("inputmode") in ("numeric", "decimal"):
        return "1"
    if kind == "password":
        return "Fuzz-password-{n}-2026"
    return FILL


_COUNTER = iter(range(10**9))


def fresh(base: MultiDict) -> MultiDict:
    """`base` with its filled-in values made unique (a second "new" with the same code would be
    refused as a duplicate before reaching the field under test)."""
    n = next(_COUNTER)
    return MultiDict([(k, v.replace("{n}", str(n)) if isinstance(v, str) else v)
                      for k, v in base.items(multi=True)])


class PostForms(HTMLParser):
    """Each <form method=post>: its action and its fields with the values the page gives."""

    def __init__(self):
        super().__init__()
        self.forms: list[tuple[str, MultiDict, set[str]]] = []
        self._form = None
        self._select = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "get").lower() == "post":
            self._form = (a.get("action") or "", MultiDict(), set())
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag == "option" and self._select:
            # The selected option, else the first real one (a required select's placeholder
            # is empty).
            value = a.get("value", "")
            if "selected" in a or (value and self._form[1].get(self._select) is None):
                self._form[1][self._select] = value
        elif "name" not in a:
            return
        elif tag == "input":
            kind = (a.get("type") or "text").lower()
            if kind == "file":
                self._form[2].add(a["name"])
            elif kind in ("checkbox", "radio"):
                if "checked" in a or a["name"] not in self._form[1]:
                    self._form[1].setlist(a["name"], [a.get("value", "on")])
            elif kind not in ("submit", "button", "reset", "image"):
                self._form[1][a["name"]] = a.get("value") or _filler(kind, a)
        elif tag == "select":
            self._select = a["name"]
            self._form[1].setdefault(a["name"], None)
        elif tag == "textarea":
            self._textarea = a["name"]
            self._form[1][a["name"]] = "" if "required" not in a else FILL

    def handle_data(self, data):
        if self._textarea and self._form is not None:
            self._form[1][self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            if self._form is not None and self._form[1].get(self._select) is None:
                self._form[1][self._select] = ""
            self._select = None
        elif tag == "textarea":
            self._textarea = None
