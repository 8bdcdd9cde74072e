"""Console sign-in and sign-out: a token with the ``console`` scope exchanged for a session cookie
and a CSRF token (``sessions/cookies.py``), checked on every request by the authorizer
(``sessions/check.py``). Sign-in and sign-out are ``session.created`` / ``session.ended`` events in
the token's audit trail.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from tokensmith import audit, clock
from tokensmith.auth import CONSOLE
from tokensmith.errors import Forbidden, Unauthorized
from tokensmith.sessions.check import check_session
from tokensmith.sessions.cookies import SessionCookie, new_cookie
from tokensmith.sessions.repository import SessionRepository, default_session_repository
from tokensmith.settings import Settings, get_settings
from tokensmith.tokens import format as token_format
from tokensmith.tokens.lifecycle import LIVE_STATUSES
from tokensmith.tokens.usage import IP_NOT_ALLOWED, ip_allowed
from tokensmith.tokens.verification import INSUFFICIENT_SCOPES, Verification, record_use, verify_secret


def refused() -> Unauthorized:
    """The one answer of every sign-in that cannot open a session (also when a token lacks `console`)."""
    return Unauthorized("the token cannot open a console session")


@dataclass(frozen=True, slots=True)
class SignedIn:
    token: dict[str, Any]
    session: dict[str, Any]
    cookie: SessionCookie


class SessionService:
    def __init__(self, repository: SessionRepository, settings: Settings) -> None:
        self.repository = repository
        self.settings = settings

    def sign_in(self, secret: str, ip: str | None, user_agent: str | None, now: datetime | None = None) -> SignedIn:
        """A new session for a live token that holds ``console`` (``admin`` implies it).

        Sign-in needs no credentials, so it is no oracle: every secret that cannot open a session
        (malformed, unknown, wrong, disabled, revoked, expired, deleted, lacking ``console``) gets
        one and the same :func:`refused`. An attempt with a live secret (its token active or
        disabled) is a use (``last_used_*``, throttled as everywhere) and an audit event: a
        ``session.refused`` one when it cannot open a session, so a stolen secret tried here shows
        in its token's trail."""
        now = now or clock.now()
        result = verify_secret(self.repository, self.settings, secret, clock.epoch(now), (CONSOLE,))
        token = result.item
        if token is None or token["status"] not in LIVE_STATUSES:
            raise refused()
        try:
            record_use(self.repository, self.settings, token, now, ip, user_agent)
        except Exception:  # noqa: BLE001 - bookkeeping only, as in the authorizer
            pass
        if result.valid and not ip_allowed(token, ip):  # a session never widens the token's allowlist
            result = Verification(IP_NOT_ALLOWED, token)
        if not result.valid:
            reason = {INSUFFICIENT_SCOPES: f"lacks the {CONSOLE!r} scope"}.get(result.code, result.code.lower())
            event = self._event(token, "session.refused", now, ip, user_agent, {"via": "console", "reason": reason})
            self.repository.put_event(event)
            raise refused()
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

    def current(self, cookie: SessionCookie | None, now: datetime | None = None, ip: str | None = None) -> SignedIn:
        """The session of this request's cookie and its token, checked as the authorizer checks a
        session (``GET /v1/sessions/current`` has no authorizer: a reloaded page has its cookie but not
        yet the CSRF token it needs for the authorizer). The answer holds the CSRF token: only a page of
        this origin can read it (no CORS), and the cookie (``SameSite=Strict``) comes from no other site.
        Without a cookie, with a dead one, or from an address the token's allowlist (or its
        organization's) refuses: 401, as the authorizer refuses such a session everywhere else."""
        if cookie is None:
            raise Unauthorized("this request carries no console session (sign in with POST /v1/sessions)")
        check = check_session(self.repository, cookie, clock.epoch(now or clock.now()))
        if not check.valid:
            raise Unauthorized("the console session is over (sign in again with POST /v1/sessions)")
        if not ip_allowed(check.token, ip):  # type: ignore[arg-type]
            raise Unauthorized("this session's token may not be used from this address")
        return SignedIn(check.token, check.session, cookie)  # type: ignore[arg-type]

    def sign_out(
        self,
        cookie: SessionCookie | None,
        caller_token_id: str,
        ip: str | None,
        user_agent: str | None,
        now: datetime | None = None,
    ) -> None:
        """End the request's own session, with a ``session.ended`` event. Only the session of the
        request's cookie, and only when the request was authorized as that session's token: a bearer
        token of another token sent beside someone's cookie ends nothing (403)."""
        if cookie is None:
            return
        if not hmac.compare_digest(cookie.token_id.encode(), caller_token_id.encode()):
            raise Forbidden("the request's console session belongs to another token than its credentials")
        now = now or clock.now()
        token, session = self.repository.get_token_and_session(cookie.token_id, cookie.digest)
        if session is None or session.get("token_id") != cookie.token_id:
            return
        # The actor is the token as it is now (as for every other event), owner included.
        subject = token or {"id": session["token_id"], "organization_id": session["organization_id"]}
        self.repository.delete_session(cookie.digest, self._event(subject, "session.ended", now, ip, user_agent))

    def _event(
        self,
        token: dict[str, Any],
        event_type: str,
        now: datetime,
        ip: str | None,
        user_agent: str | None,
        details: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A console sign-in or sign-out, in the token's audit trail (never the session id)."""
        actor = {"token_id": token["id"], "organization_id": token["organization_id"], "owner": token.get("owner")}
        return audit.audit_event(
            token,
            event_type,
            now,
            actor,
            audit.event_purge_at(self.settings, token, now),
            ip=ip,
            user_agent=user_agent,
            changes={},  # the token did not change (TokenEvent.changes is an object, never null)
            details=details or {"via": "console"},
        )

    def cookie_max_age(self) -> int:
        return self.settings.session_lifetime_seconds


@lru_cache(maxsize=1)
def session_service() -> SessionService:
    """The process-wide session service over the configured table."""
    return SessionService(default_session_repository(), get_settings())
