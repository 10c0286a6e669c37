"""The SSRF guard for outgoing calls (webhook deliveries).

A webhook URL is typed by an organisation admin, so the portal must not become a way to reach
what only the server can reach: its own loopback, the private network behind it, the cloud
metadata service (169.254.169.254). Outside development:

- `check_url(url, allow_private=..., allow_http=...)` accepts https only (http when allowed), no
  user:password@, a host name and a sane port, resolves the host and refuses it when ANY of its
  addresses is loopback, private, link-local, multicast, reserved or unspecified (IPv4-mapped
  IPv6 forms included). It returns a `Target` with the vetted addresses; it raises `UnsafeTarget`
  (a ValidationProblem naming the field "url") otherwise.
- `post(target, body, headers, timeout=...)` connects to a VETTED ADDRESS, not to the name again
  (a second DNS answer could point elsewhere: DNS rebinding), sends the original Host header and,
  for https, checks the certificate against the host name (SNI). Redirects are never followed: a
  3xx is just an answer.

`Settings` says what is allowed (WEBHOOK_ALLOW_PRIVATE / WEBHOOK_ALLOW_HTTP /
WEBHOOK_TIMEOUT_SECONDS of the app's config); the app registers where they come from with
`use_settings(provider)` (services read no Flask config themselves); without a provider the
strict production settings apply.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from portal.domain.messages import N_, Msg
from portal.errors import ValidationProblem

MAX_URL = 2000


class UnsafeTarget(ValidationProblem):
    """A URL the portal will not call (scheme, credentials, or an address it must not reach)."""

    field = "url"


class Unresolvable(UnsafeTarget):
    """The host name does not resolve (now): refused when saving, retried when delivering."""


@dataclass(frozen=True)
class Settings:
    allow_private: bool = False
    allow_http: bool = False
    timeout: float = 5.0

    @classmethod
    def from_config(cls, config) -> Settings:
        return cls(bool(config.get("WEBHOOK_ALLOW_PRIVATE", False)),
                   bool(config.get("WEBHOOK_ALLOW_HTTP", False)),
                   float(config.get("WEBHOOK_TIMEOUT_SECONDS", 5)))


_provider: list[Callable[[], Settings]] = []


def use_settings(provider: Callable[[], Settings]) -> None:
    """Where `settings()` comes from (create_app registers the current app's config)."""
    _provider[:] = [provider]


def settings() -> Settings:
    if _provider:
        try:
            return _provider[0]()
        except RuntimeError:  # outside an application context
            pass
    return Settings()


@dataclass(frozen=True)
class Target:
    """A vetted URL: where to connect (one of `addresses`) and what to ask for."""

    url: str
    scheme: str
    host: str  # the host name as typed (lower case, no brackets), for Host and SNI
    port: int
    path: str  # path and query
    addresses: tuple[str, ...]

    @property
    def host_header(self) -> str:
        name = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return name if self.port == default else f"{name}:{self.port}"


def _refuse(text: str, **params) -> UnsafeTarget:
    return UnsafeTarget(Msg(text, params))


def is_forbidden(address: str) -> bool:
    """Whether an address is one a webhook may not reach outside development."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped or ip.sixtofour
        if mapped is not None and is_forbidden(str(mapped)):
            return True
        if ip.teredo is not None:
            return True
    return (ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_multicast
            or ip.is_reserved or ip.is_unspecified or not ip.is_global)


def _resolve(host: str, port: int) -> tuple[str, ...]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError) as exc:
        raise Unresolvable(Msg(N_("The host %(host)s could not be found."), {"host": host})) from exc
    seen: list[str] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = sockaddr[0]
        if address not in seen:
            seen.append(address)
    if not seen:
        raise Unresolvable(Msg(N_("The host %(host)s could not be found."), {"host": host}))
    return tuple(seen)


def parse(url: str, *, allow_http: bool) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of a URL the portal would call, or UnsafeTarget. No DNS."""
    url = (url or "").strip()
    if not url:
        raise _refuse(N_("Enter the endpoint's URL."))
    if len(url) > MAX_URL:
        raise _refuse(N_("The URL is too long."))
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise _refuse(N_("The URL may not contain spaces or control characters."))
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise _refuse(N_("Enter a valid URL (https://…).")) from exc
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise _refuse(N_("Enter a valid URL (https://…)."))
    if scheme == "http" and not allow_http:
        raise _refuse(N_("The URL must use https."))
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise _refuse(N_("The URL may not contain a user name or password."))
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise _refuse(N_("Enter a valid URL (https://…)."))
    if port is None:
        port = 443 if scheme == "https" else 80
    if not 0 < port < 65536:
        raise _refuse(N_("The URL's port is not valid."))
    if parts.fragment:
        raise _refuse(N_("The URL may not contain a fragment (#…)."))
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return scheme, host, port, path


def check_url(url: str, *, allow_private: bool | None = None, allow_http: bool | None = None,
              resolve: bool | None = None) -> Target:
    """Vet a URL the portal is about to save or call; returns the Target (its addresses resolved
    now) or raises UnsafeTarget. `None` flags: from `settings()`. `resolve`: look the host up
    (the default unless private addresses are allowed, when there is nothing to refuse; a
    delivery always resolves, to pin the address it connects to). An address literal is
    always checked."""
    current = settings()
    allow_private = current.allow_private if allow_private is None else allow_private
    allow_http = current.allow_http if allow_http is None else allow_http
    if resolve is None:
        resolve = not allow_private
    scheme, host, port, path = parse(url, allow_http=allow_http)
    literal = _literal(host)
    if not allow_private and (host == "localhost" or host.endswith((".localhost", ".local", ".internal"))):
        raise _refuse(N_("The URL points to a private or local address."))
    if literal is not None:
        addresses: tuple[str, ...] = (literal,)
    elif resolve:
        addresses = _resolve(host, port)
    else:
        addresses = ()
    if not allow_private and any(is_forbidden(a) for a in addresses):
        raise _refuse(N_("The URL points to a private or local address."))
    return Target(url=url.strip(), scheme=scheme, host=host, port=port, path=path, addresses=addresses)


def _literal(host: str) -> str | None:
    """The address when the host is an IP literal (also the short and decimal IPv4 forms that
    resolvers accept, e.g. 127.1 or 2130706433), else None."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    if host and all(part.isdigit() or part.lower().startswith("0x") for part in host.split(".")):
        try:
            return socket.inet_ntoa(socket.inet_aton(host))
        except OSError:
            return None
    return None


# ---------------------------------------------------------------- the pinned connection


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, address: str, port: int, timeout: float):
        super().__init__(address, port, timeout=timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to `address`, with the certificate checked against (and SNI sent for) `server_name`."""

    def __init__(self, address: str, port: int, server_name: str, timeout: float,
                 context: ssl.SSLContext | None = None):
        super().__init__(address, port, timeout=timeout, context=context or ssl.create_default_context())
        self._server_name = server_name

    def connect(self):
        sock = socket.create_connection((self.host, self.port), self.timeout, self.source_address)
        self.sock = self._context.wrap_socket(sock, server_hostname=self._server_name)


@dataclass(frozen=True)
class Answer:
    status: int
    body: str  # the first bytes of the answer, for the log


def post(target: Target, body: bytes, headers: dict[str, str], *, timeout: float,
         context: ssl.SSLContext | None = None) -> Answer:
    """POST `body` to the vetted target, connecting to its first address. Never follows a
    redirect. `timeout` bounds the whole exchange (connect, send, the answer's head and the
    first bytes of its body), not only each read: an endpoint that answers a byte at a time is
    cut off too. Raises OSError (refused, timed out: TimeoutError, TLS) for the caller to record."""
    if not target.addresses:
        raise OSError("no vetted address to connect to")
    address = target.addresses[0]
    if target.scheme == "https":
        connection: http.client.HTTPConnection = _PinnedHTTPSConnection(
            address, target.port, target.host, timeout, context)
    else:
        connection = _PinnedHTTPConnection(address, target.port, timeout)
    expired = threading.Event()

    def cut_off() -> None:
        expired.set()
        sock = connection.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    watchdog = threading.Timer(timeout, cut_off)
    watchdog.daemon = True
    watchdog.start()
    try:
        connection.putrequest("POST", target.path, skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", target.host_header)
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        text = response.read(2000).decode("utf-8", "replace")
        if expired.is_set():
            raise TimeoutError(f"no complete answer within {timeout:g} s")
        return Answer(response.status, text)
    except (OSError, http.client.HTTPException) as exc:
        if expired.is_set():
            raise TimeoutError(f"no complete answer within {timeout:g} s") from exc
        if isinstance(exc, OSError):
            raise
        raise OSError(f"{type(exc).__name__}: {exc}") from exc
    finally:
        watchdog.cancel()
        connection.close()
