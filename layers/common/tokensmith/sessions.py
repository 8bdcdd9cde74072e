"""Console sessions: a token with the ``console`` scope exchanged for a cookie and a CSRF token.

The cookie ``__Host-tokensmith_session`` carries ``<token id>.<session secret>`` (256 random bits,
base64url). The table stores only the SHA-256 digest of the secret (``SESSION#<digest>``), so a
leaked table cannot sign anyone in. The token id in the cookie lets the authorizer read the session
and its token with one ``BatchGetItem``; the session item names its token too, and the two must
agree. The CSRF token is derived from the secret (HMAC-SHA256): nothing more to store, and it can be
handed again to a page of the same origin that lost it (``GET /v1/sessions/current``).

A session acts with the scopes and organization of its token, read on every request: it dies with
the token (disabled, revoked, expired, deleted, or no longer holding ``console``), after
``session_idle_seconds`` without a request (the deadline is pushed back at most once per
``session_refresh_seconds``, like ``last_used_at``) and ``session_lifetime_seconds`` after sign-in.

Like ``verification.py`` this module is on the authorizer's path (its cookie branch): no pydantic,
no Powertools, no boto3.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from tokensmith import clock, token_format
from tokensmith.errors import Forbidden, NotFound, Unauthorized
from tokensmith.repository import TokenRepository, audit_event_item, default_repository
from tokensmith.settings import Settings, get_settings
from tokensmith.verification import (
    EXPIRED,
    INSUFFICIENT_SCOPES,
    NOT_FOUND,
    VALID,
    digest_matches,
    grants,
    record_use,
    verify_secret,
)
from tokensmith.views import effective_status

COOKIE_NAME = "__Host-tokensmith_session"
CSRF_HEADER = "x-csrf-token"
CONSOLE_SCOPE = "console"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

NO_SESSION = "NO_SESSION"  # no such session, or a cookie that is not one of ours
SESSION_EXPIRED = "SESSION_EXPIRED"  # idle or absolute lifetime over
CSRF_MISMATCH = "CSRF_MISMATCH"  # an unsafe method without the session's X-CSRF-Token
TOKEN_UNUSABLE = "TOKEN_UNUSABLE"  # the token behind the session no longer works, or lost `console`

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


@dataclass(frozen=True, slots=True)
class SessionCheck:
    code: str
    token: dict[str, Any] | None = None
    session: dict[str, Any] | None = None

    @property
    def valid(self) -> bool:
        return self.code == VALID


def check_session(
    repository: TokenRepository,
    cookie: SessionCookie,
    method: str,
    csrf_header: str | None,
    now_epoch: int,
) -> SessionCheck:
    """The authorizer's cookie path: one ``BatchGetItem``, then the session's lifetimes, its token's
    lifecycle and scope, and the CSRF token on every unsafe method (constant-time)."""
    token, session = repository.get_token_and_session(cookie.token_id, cookie.digest)
    if session is None or session.get("token_id") != cookie.token_id:
        return SessionCheck(NO_SESSION)
    if now_epoch >= session["expires_epoch"] or now_epoch >= session["last_seen_epoch"] + session["idle_seconds"]:
        return SessionCheck(SESSION_EXPIRED)
    if token is None or effective_status(token, now_epoch) != "active":
        return SessionCheck(TOKEN_UNUSABLE)
    if not signed_in_with_a_live_secret(session, token, now_epoch):  # rotated out since the sign-in
        return SessionCheck(TOKEN_UNUSABLE)
    if not grants(token.get("scopes") or [], CONSOLE_SCOPE):
        return SessionCheck(TOKEN_UNUSABLE)
    if method.upper() not in SAFE_METHODS and not hmac.compare_digest(
        (csrf_header or "").encode("utf-8", "replace"), cookie.csrf_token.encode("ascii")
    ):
        return SessionCheck(CSRF_MISMATCH)
    return SessionCheck(VALID, token, session)


def signed_in_with_a_live_secret(session: dict[str, Any], token: dict[str, Any], now_epoch: int) -> bool:
    """The secret the session was opened with still verifies: it is the token's, or its previous one
    while the rotation grace lasts. Rotating a leaked secret thus also ends the sessions opened with it."""
    digest = session.get("token_digest")
    return bool(digest) and digest_matches(token, digest, now_epoch)


def touch_session(repository: TokenRepository, settings: Settings, session: dict[str, Any], now_epoch: int) -> bool:
    """Push the idle deadline back, at most once per ``session_refresh_seconds`` (the item just read
    tells whether it is due; the conditional update settles races). True when written."""
    if now_epoch - session["last_seen_epoch"] < settings.session_refresh_seconds:
        return False
    purge_at = min(now_epoch + session["idle_seconds"], session["expires_epoch"])
    stale_before = now_epoch - settings.session_refresh_seconds + 1
    return repository.touch_session(session["session_digest"], now_epoch, purge_at, stale_before)


# --- sign-in and sign-out (the session functions) ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SignedIn:
    token: dict[str, Any]
    session: dict[str, Any]
    cookie: SessionCookie


class SessionService:
    def __init__(self, repository: TokenRepository, settings: Settings) -> None:
        self.repository = repository
        self.settings = settings

    def sign_in(self, secret: str, ip: str | None, user_agent: str | None, now: datetime | None = None) -> SignedIn:
        """A new session for a live token that holds ``console`` (``admin`` implies it)."""
        now = now or clock.now()
        result = verify_secret(self.repository, self.settings, secret, clock.epoch(now), (CONSOLE_SCOPE,))
        if result.code == NOT_FOUND:
            raise Unauthorized("the token is not valid")
        if not result.valid and result.code != INSUFFICIENT_SCOPES:
            state = "expired" if result.code == EXPIRED else result.code.lower()
            raise Unauthorized(f"the token is {state}")
        if not result.valid:
            raise Forbidden(f"the token lacks the `{CONSOLE_SCOPE}` scope needed to open a console session")
        token = result.item
        assert token is not None
        try:
            record_use(self.repository, self.settings, token, now, ip, user_agent)
        except Exception:  # noqa: BLE001 - bookkeeping only, as in the authorizer
            pass
        cookie = new_cookie(token["id"])
        at = clock.epoch(now)
        lifetime = self.settings.session_lifetime_seconds
        idle = self.settings.session_idle_seconds
        session = {
            "session_digest": cookie.digest,
            "token_id": token["id"],
            "token_digest": token_format.digest(secret),  # the secret signed in with (never shown or logged)
            "organization_id": token["organization_id"],
            "created_at": clock.to_iso(now),
            "expires_at": clock.to_iso(now + timedelta(seconds=lifetime)),
            "expires_epoch": at + lifetime,
            "idle_seconds": idle,
            "last_seen_epoch": at,
            "purge_at": at + min(idle, lifetime),
            "ip": ip,
            "user_agent": user_agent,
        }
        self.repository.create_session(session, self._event(token, "session.created", now, ip, user_agent))
        return SignedIn(token, session, cookie)

    def current(self, cookie: SessionCookie | None, caller_token_id: str, now: datetime | None = None) -> SignedIn:
        """The session of this request and its token, checked as the authorizer checks it, and only
        when the request was authorized as that session's token: a bearer token with someone else's
        cookie spliced in learns nothing."""
        if cookie is None:
            raise NotFound("this request carries no console session (sign in with POST /v1/sessions)")
        if not hmac.compare_digest(cookie.token_id.encode(), caller_token_id.encode()):
            raise NotFound("this request's console session belongs to another token than its caller")
        check = check_session(self.repository, cookie, "GET", None, clock.epoch(now or clock.now()))
        if not check.valid:
            raise NotFound("the console session is over")
        return SignedIn(check.token, check.session, cookie)  # type: ignore[arg-type]

    def sign_out(
        self, cookie: SessionCookie | None, ip: str | None, user_agent: str | None, now: datetime | None = None
    ) -> None:
        """End the request's session (the authorizer has checked it), with a ``session.ended`` event."""
        if cookie is None:
            return
        now = now or clock.now()
        session = self.repository.get_session(cookie.digest)
        if session is None or session.get("token_id") != cookie.token_id:
            return
        token = {"id": session["token_id"], "organization_id": session["organization_id"]}
        self.repository.delete_session(cookie.digest, self._event(token, "session.ended", now, ip, user_agent))

    def _event(
        self, token: dict[str, Any], event_type: str, now: datetime, ip: str | None, user_agent: str | None
    ) -> dict[str, Any]:
        """A console sign-in or sign-out, in the token's audit trail (never the session id)."""
        purge_at = max(token.get("purge_at") or 0, clock.epoch(now) + self.settings.retention_days * 86400)
        actor = {"token_id": token["id"], "organization_id": token["organization_id"], "owner": token.get("owner")}
        return audit_event_item(
            token,
            event_type,
            clock.to_iso(now),
            actor,
            purge_at,
            ip=ip,
            user_agent=user_agent,
            changes={},  # the token did not change (TokenEvent.changes is an object, never null)
            details={"via": "console"},
        )

    def cookie_max_age(self) -> int:
        return self.settings.session_lifetime_seconds


@lru_cache(maxsize=1)
def session_service() -> SessionService:
    """The process-wide session service over the configured table."""
    return SessionService(default_repository(), get_settings())
