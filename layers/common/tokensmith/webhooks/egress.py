"""Outbound HTTP to webhook receivers (and the fetch of GitHub's secret scanning keys), safe against SSRF.

A receiver URL must be ``https`` and its host must resolve only to public addresses: no private,
loopback, link-local (the instance metadata service at 169.254.169.254 included), shared, reserved,
multicast or unspecified address, in IPv4 or IPv6 (IPv4-mapped and 6to4/Teredo forms are unwrapped
and judged as the IPv4 address they carry). The check runs at registration and again at every
delivery, and the delivery connects to exactly the address it has just checked (the ``Host`` header
and TLS SNI/certificate check use the name): a DNS answer that changes between the check and the
connection (DNS rebinding) cannot redirect the request. Redirects are never followed.

``allow_loopback`` (the local run only, setting ``WEBHOOK_ALLOW_LOOPBACK``) additionally accepts
``http``/``https`` URLs whose host is a loopback address (``127.0.0.1``, ``[::1]``, ``localhost``).
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048
USER_AGENT = "Tokensmith-Webhooks/1"
_LOOPBACK_NAMES = ("localhost", "localhost.")


class UnsafeUrl(ValueError):
    """The URL is not one we may send a webhook to; the message says why (safe to show the caller)."""


@dataclass(frozen=True, slots=True)
class Target:
    """A checked URL and the address it resolved to, which is the one to connect to."""

    scheme: str
    host: str
    port: int
    path: str  # path and query, as sent on the request line
    address: str


@dataclass(frozen=True, slots=True)
class Answer:
    status: int | None  # None: no HTTP answer (connection refused, timeout, TLS failure)
    latency_ms: int
    error: str | None = None


def resolve_host(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (tests replace this function: no DNS in the test suite)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            return is_public(str(embedded))
        if ip in ipaddress.ip_network("64:ff9b::/96"):  # NAT64: the IPv4 address is in the low bits
            return is_public(str(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)))
        if ip.is_site_local:  # fec0::/10, deprecated but not "reserved" to the ipaddress module
            return False
    return bool(
        ip.is_global
        and not ip.is_private
        and not ip.is_loopback
        and not ip.is_link_local
        and not ip.is_multicast
        and not ip.is_reserved
        and not ip.is_unspecified
    )


def check_url(url: str, allow_loopback: bool = False) -> Target:
    """The URL as a :class:`Target`, or :class:`UnsafeUrl`."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeUrl(f"must be at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeUrl("is not a valid URL") from None
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host:
        raise UnsafeUrl("must be an https:// URL")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("must not carry credentials")
    if parts.fragment:
        raise UnsafeUrl("must not have a #fragment")
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        raise UnsafeUrl("must not contain spaces or control characters")
    port = port or (443 if parts.scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    loopback_host = host in _LOOPBACK_NAMES or _is_loopback_literal(host)
    if allow_loopback and loopback_host:
        address = "127.0.0.1" if host in _LOOPBACK_NAMES else host
        return Target(parts.scheme, host, port, path, address)
    if parts.scheme != "https":
        raise UnsafeUrl("must be an https:// URL")
    try:
        addresses = resolve_host(host, port)
    except (OSError, UnicodeError):
        raise UnsafeUrl(f"the host {host!r} does not resolve") from None
    if not addresses:
        raise UnsafeUrl(f"the host {host!r} does not resolve")
    refused = [a for a in addresses if not is_public(a)]
    if refused:
        raise UnsafeUrl(f"the host {host!r} resolves to a non-public address")  # which one is not said
    return Target(parts.scheme, host, port, path, addresses[0])


def post(target: Target, headers: dict[str, str], body: bytes, timeout: float) -> Answer:
    """POST ``body`` to the checked address of ``target``; never follows redirects. ``timeout`` bounds
    the whole attempt, not each socket operation: a receiver that trickles its answer a byte at a
    time is cut off when the time is up (a watchdog shuts the socket down)."""
    answer, _ = exchange("POST", target, headers, body, timeout, 64 * 1024)  # the answer is not ours to keep
    return answer


def get(target: Target, headers: dict[str, str], timeout: float, max_bytes: int) -> tuple[Answer, bytes]:
    """GET the checked address of ``target``, as :func:`post` does: pinned address, no redirects, one
    deadline for the whole attempt. Answers at most ``max_bytes`` + 1 bytes of the body (one more than
    allowed tells the caller it was too long)."""
    return exchange("GET", target, headers, None, timeout, max_bytes + 1)


def exchange(
    method: str, target: Target, headers: dict[str, str], body: bytes | None, timeout: float, max_bytes: int
) -> tuple[Answer, bytes]:
    started = time.monotonic()
    connection: http.client.HTTPConnection
    if target.scheme == "https":
        connection = _PinnedHTTPSConnection(target, timeout)
    else:
        connection = _PinnedHTTPConnection(target, timeout)
    expired = threading.Event()

    def cut_off() -> None:
        expired.set()
        sock = connection.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    watchdog = threading.Timer(timeout, cut_off)
    watchdog.daemon = True
    watchdog.start()
    try:
        connection.request(method, target.path, body=body, headers={"User-Agent": USER_AGENT, **headers})
        response = connection.getresponse()
        data = response.read(max_bytes)  # read what the caller may keep, then hang up
        if expired.is_set():
            return Answer(None, _since(started), "DeadlineExceeded"), b""
        return Answer(response.status, _since(started)), data
    except (OSError, ValueError, http.client.HTTPException) as error:
        return Answer(None, _since(started), "DeadlineExceeded" if expired.is_set() else type(error).__name__), b""
    finally:
        watchdog.cancel()
        connection.close()


def _since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _is_loopback_literal(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """Connects to the checked address; SNI, the certificate check and ``Host`` use the name."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout, context=ssl.create_default_context())
        self._address = target.address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]
