"""The console's session cookie and CSRF token.

The cookie ``__Host-tokensmith_session`` carries ``<token id>.<session secret>`` (256 random bits,
base64url). The table stores only the SHA-256 digest of the secret, so a leaked table cannot sign
anyone in. The token id in the cookie lets the authorizer read the session and its token with one
``BatchGetItem``. The CSRF token is derived from the secret (HMAC-SHA256): nothing more to store,
and it can be handed again to a page of the same origin that lost it (``GET /v1/sessions/current``).
The console sends it on every request as ``Authorization: Session <csrf token>``, beside the cookie:
the ``Authorization`` header is thus the authorizer's identity source for bearer tokens and sessions
alike (API Gateway answers a request without it 401 itself). Plain code: the authorizer's cookie
path uses it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

COOKIE_NAME = "__Host-tokensmith_session"

_COOKIE_VALUE = re.compile(r"^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([A-Za-z0-9_-]{43})$")
_CSRF_CONTEXT = b"tokensmith console csrf v1"


@dataclass(frozen=True, slots=True)
class SessionCookie:
    token_id: str
    secret: str = ""

    def __repr__(self) -> str:  # never print the secret
        return f"SessionCookie(token_id={self.token_id!r})"

    @property
    def value(self) -> str:
        return f"{self.token_id}.{self.secret}"

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.secret.encode("ascii")).hexdigest()

    @property
    def csrf_token(self) -> str:
        mac = hmac.new(self.secret.encode("ascii"), _CSRF_CONTEXT, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode("ascii").rstrip("=")


def new_cookie(token_id: str) -> SessionCookie:
    return SessionCookie(token_id, secrets.token_urlsafe(32))


def csrf_matches(cookie: SessionCookie, presented: str | None) -> bool:
    """The presented CSRF token is this cookie's (constant-time)."""
    return hmac.compare_digest((presented or "").encode("utf-8", "replace"), cookie.csrf_token.encode("ascii"))


def cookie_from_event(cookies: list[str] | None) -> SessionCookie | None:
    """Our cookie among a payload 2.0 event's ``cookies`` (``["name=value", ...]``), if well formed."""
    prefix = COOKIE_NAME + "="
    for cookie in cookies or ():
        cookie = cookie.strip()
        if cookie.startswith(prefix):
            match = _COOKIE_VALUE.match(cookie[len(prefix) :].strip().strip('"'))
            if match:
                return SessionCookie(match.group(1), match.group(2))
    return None


def set_cookie(cookie: SessionCookie, max_age: int) -> str:
    """The Set-Cookie value: host-only (``__Host-``), HTTPS only, invisible to scripts, never sent by
    another site."""
    return f"{COOKIE_NAME}={cookie.value}; Path=/; Max-Age={max_age}; Secure; HttpOnly; SameSite=Strict"


def expired_cookie() -> str:
    return f"{COOKIE_NAME}=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Strict"
