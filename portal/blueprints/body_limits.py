"""Request bodies are capped on the bytes actually read, whatever the headers say.

Werkzeug checks a body against `Content-Length`; a chunked request has none, and for it
Werkzeug's own stream stops quietly at MAX_CONTENT_LENGTH, so a longer body would be cut and
still processed (and a url-encoded form is never held to MAX_FORM_MEMORY_SIZE at all). Here
every request body is read through `CappedStream`, which answers 413 as soon as one byte more
than the cap arrives: url-encoded forms are capped at MAX_FORM_MEMORY_SIZE (they are read
whole into memory), every other body at MAX_CONTENT_LENGTH.
"""

from __future__ import annotations

import io
import typing as t

from flask import Flask, Request, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import cached_property
from werkzeug.wsgi import get_input_stream

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class CappedStream(io.RawIOBase):
    """A read-only view of `stream` that raises 413 once more than `cap` bytes came from it."""

    def __init__(self, stream: t.IO[bytes], cap: int) -> None:
        self._stream = stream
        self._read = 0
        self.cap = cap

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        # Ask for one byte past the cap: that byte arriving is what tells "too large" from "done".
        wanted = min(len(buffer), self.cap + 1 - self._read)
        data = self._stream.read(wanted) if wanted > 0 else b""
        self._read += len(data)
        if self._read > self.cap:
            raise RequestEntityTooLarge()
        buffer[: len(data)] = data
        return len(data)


class CappedRequest(Request):
    """Flask's request, its body stream capped by `body_cap()` on what is actually read."""

    def body_cap(self) -> int | None:
        if self.mimetype == "application/x-www-form-urlencoded":
            return current_app.config["MAX_FORM_MEMORY_SIZE"]
        return self.max_content_length

    @cached_property
    def stream(self) -> t.IO[bytes]:
        if self.shallow:
            raise RuntimeError("This request was created with 'shallow=True'; its body is not read.")
        cap = self.body_cap()
        length = self.content_length
        if cap is None or length is not None or "wsgi.input_terminated" not in self.environ:
            # A declared length: refused at once when above the cap, else read up to it. No
            # length and a server that does not end the stream: Werkzeug reads nothing.
            if cap is not None and length is not None and length > cap:
                raise RequestEntityTooLarge()
            return get_input_stream(self.environ, max_content_length=self.max_content_length)
        return CappedStream(self.environ["wsgi.input"], cap)

    def _get_file_stream(self, *args, **kwargs) -> t.IO[bytes]:
        file = super()._get_file_stream(*args, **kwargs)
        self.__dict__.setdefault("_upload_files", []).append(file)
        return file

    def _load_form_data(self) -> None:
        try:
            super()._load_form_data()
        except RequestEntityTooLarge:
            # Werkzeug leaves the temporary file of an upload it stopped reading open.
            for file in self.__dict__.get("_upload_files", ()):
                file.close()
            raise


def install(app: Flask) -> None:
    """Read every request body through `CappedRequest`; parse forms before anything else runs,
    so an oversized one is a 413 before CSRF protection or a view sees part of it."""
    app.request_class = CappedRequest

    @app.before_request
    def read_forms_first():
        if request.mimetype in FORM_TYPES:
            request.form  # noqa: B018 - parsing is the point: it raises 413 past the cap
