"""Request bodies are capped on the bytes actually read, not on what `Content-Length` claims.

A chunked request (`Transfer-Encoding: chunked`, as curl sends a body it streams) has no
`Content-Length`; gunicorn passes it on with `wsgi.input_terminated`, as the test client does
here with `environ_overrides`. Url-encoded forms are capped at MAX_FORM_MEMORY_SIZE, every
other body at MAX_CONTENT_LENGTH; above the cap the answer is the portal's 413 page, and the
request is never processed with a cut body.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from http.client import HTTPConnection

import pytest
from flask import request
from sqlalchemy import func, select

from portal import create_app
from portal.extensions import db
from portal.models import Comment
from portal.services import passwords
from tests.conftest import login
from tests.kit import make_draft, make_shop

FORM = "application/x-www-form-urlencoded"
# Werkzeug's multipart parser buffers 64 KiB at a time, itself held to MAX_FORM_MEMORY_SIZE.
LARGEST_FORM, LARGEST_BODY = 96 * 1024, 256 * 1024
# The test client would send a Content-Length; a chunked request's environ has none.
CHUNKED = {"wsgi.input_terminated": True, "CONTENT_LENGTH": ""}


def _chunked(client, url, body: bytes, content_type: str):
    """POST `body` the way a chunked request reaches the app: a stream, no Content-Length."""
    return client.post(url, input_stream=io.BytesIO(body), content_type=content_type,
                       headers={"Transfer-Encoding": "chunked"}, environ_overrides=CHUNKED)


def _is_portal_413(response) -> None:
    assert response.status_code == 413
    assert 'class="error-page"' in response.text
    assert '<p class="error-code">413</p>' in response.text


def _comments() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(Comment.id)).execution_options(all_tenants=True))


@pytest.fixture
def draft_url(app, world):
    shop = make_shop(world)
    req_id = make_draft(app, shop.buyer, shop.cc_it)
    return shop, f"/requisitions/{req_id}/comments"


def test_body_limits_chunked_form_within_the_cap_is_read_whole(app, client, draft_url):
    shop, url = draft_url
    login(client, shop.buyer)
    response = _chunked(client, url, b"body=" + b"a" * 3000, FORM)
    assert response.status_code == 302
    assert _comments() == 1


def test_body_limits_chunked_form_above_the_form_cap_is_refused_with_413(app, client, draft_url):
    shop, url = draft_url
    login(client, shop.buyer)
    body = b"body=" + b"a" * app.config["MAX_FORM_MEMORY_SIZE"]
    assert len(body) < app.config["MAX_CONTENT_LENGTH"]  # only the form cap is passed
    _is_portal_413(_chunked(client, url, body, FORM))
    assert _comments() == 0


def test_body_limits_declared_form_above_the_form_cap_is_refused_with_413(app, client, draft_url):
    shop, url = draft_url
    login(client, shop.buyer)
    body = b"body=" + b"a" * app.config["MAX_FORM_MEMORY_SIZE"]
    _is_portal_413(client.post(url, data=body, content_type=FORM))
    assert _comments() == 0


@pytest.fixture
def echo_app(app):
    """A bare portal app with one route that reads the body the way each content type is read."""
    bare = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "WTF_CSRF_ENABLED": False,
                       "ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 8, "ARGON2_PARALLELISM": 1,
                       "MAX_CONTENT_LENGTH": LARGEST_BODY, "MAX_FORM_MEMORY_SIZE": LARGEST_FORM})

    @bare.post("/__echo")
    def echo():
        if request.mimetype == "multipart/form-data":
            return str(sum(len(f.read()) for f in request.files.values()))
        if request.mimetype == FORM:
            return str(len(request.form.get("x", "")))
        return str(len(request.get_data()))

    yield bare
    # create_app configures the (process-wide) password hasher: give the test app its own back.
    passwords.configure(app.config["ARGON2_TIME_COST"], app.config["ARGON2_MEMORY_COST"],
                        app.config["ARGON2_PARALLELISM"])


def _multipart(size: int) -> tuple[bytes, str]:
    boundary = "----portal-test"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.bin\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + b"a" * size + (
        f"\r\n--{boundary}--\r\n").encode()
    return body, f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize("content_type", ["application/octet-stream", "application/json",
                                          "text/plain", "multipart/form-data", FORM])
def test_body_limits_every_content_type_is_capped_on_the_bytes_read(echo_app, content_type):
    client = echo_app.test_client()
    cap = LARGEST_FORM if content_type == FORM else LARGEST_BODY
    for size, expected in ((cap // 2, 200), (cap + 1, 413), (cap * 4, 413)):
        if content_type == "multipart/form-data":
            body, sent_type = _multipart(size)
            body = body if expected == 413 else _multipart(size - 200)[0]
        elif content_type == FORM:
            body, sent_type = b"x=" + b"a" * (size - 2), content_type
        else:
            body, sent_type = b"a" * size, content_type
        response = _chunked(client, "/__echo", body, sent_type)
        assert response.status_code == expected, (content_type, size, response.status_code)
        if expected == 200:  # read whole, not cut at the cap
            assert int(response.text) >= len(body) - 300
        else:
            assert 'class="error-page"' in response.text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _chunked_post(port: int, path: str, body: bytes, content_type: str) -> int:
    connection = HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", path, body=iter([body[i:i + 65536]
                                                    for i in range(0, len(body), 65536)]),
                           headers={"Content-Type": content_type}, encode_chunked=True)
        return connection.getresponse().status
    except (ConnectionResetError, BrokenPipeError):
        return -1  # gunicorn may close the socket after answering early
    finally:
        connection.close()


@pytest.mark.skipif(shutil.which("gunicorn") is None and not os.path.exists(
    os.path.join(os.path.dirname(sys.executable), "gunicorn")), reason="gunicorn is not installed")
def test_body_limits_hold_behind_gunicorn(tmp_path):
    """The served portal (gunicorn sets `wsgi.input_terminated`) refuses a chunked body over
    the form cap with 413 before CSRF or the view sees a cut form."""
    port = _free_port()
    env = {**os.environ, "PORTAL_ENV": "development", "DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
           "SECRET_KEY": "x" * 40, "MAX_FORM_MEMORY_SIZE": "2048"}
    log = tmp_path / "access.log"
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}",
         "--access-logfile", str(log), "--no-control-socket", "portal:create_app()"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        # A small chunked form is read whole: it reaches CSRF protection (400: no token).
        assert _chunked_post(port, "/login", b"email=a&password=b", FORM) == 400
        assert _chunked_post(port, "/login", b"email=" + b"a" * 3000, FORM) == 413
        # 5 MB: answered 413 while the client still sends; it may see the socket closed instead.
        assert _chunked_post(port, "/login", b"email=" + b"a" * (5 * 1024 * 1024), FORM) in (413, -1)
    finally:
        server.terminate()
        server.wait(timeout=10)
    answered = re.findall(r'"POST /login HTTP/1.1" (\d{3})', log.read_text())
    assert answered == ["400", "413", "413"]  # what the server sent, whatever the client saw
