"""The authorizer's cookie path: is this request's console session alive, and may it do this?

A session acts with the scopes and organization of its token, read on every request: it dies with
the token (disabled, revoked, expired, deleted, or no longer holding ``console``), when the secret it
was opened with stops verifying (rotated out), after ``session_idle_seconds`` without a request (the
deadline is pushed back at most once per ``session_refresh_seconds``, like ``last_used_at``) and
``session_lifetime_seconds`` after sign-in. Like ``tokens/verification.py`` this module is on the
authorizer's path: no pydantic, no Powertools, no boto3.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tokensmith.auth import CONSOLE, grants
from tokensmith.sessions.cookies import SessionCookie
from tokensmith.sessions.repository import SessionRepository
from tokensmith.settings import Settings
from tokensmith.tokens.lifecycle import effective_status
from tokensmith.tokens.verification import VALID, digest_matches

NO_SESSION = "NO_SESSION"  # no such session, or a cookie that is not one of ours
SESSION_EXPIRED = "SESSION_EXPIRED"  # idle or absolute lifetime over
CSRF_MISMATCH = "CSRF_MISMATCH"  # Authorization: Session <csrf token> is not the cookie's CSRF token
TOKEN_UNUSABLE = "TOKEN_UNUSABLE"  # the token behind the session no longer works, or lost `console`


@dataclass(frozen=True, slots=True)
class SessionCheck:
    code: str
    token: dict[str, Any] | None = None
    session: dict[str, Any] | None = None

    @property
    def valid(self) -> bool:
        return self.code == VALID


def check_session(
    repository: SessionRepository,
    cookie: SessionCookie,
    now_epoch: int,
) -> SessionCheck:
    """Is the cookie's session alive: one ``BatchGetItem``, then the session's lifetimes, its token's
    lifecycle and scope. The CSRF token is the caller's to check first (``cookies.csrf_matches``: the
    authorizer on every request; ``GET /v1/sessions/current``, which hands it out, does not)."""
    token, session = repository.get_token_and_session(cookie.token_id, cookie.digest)
    if session is None or session.get("token_id") != cookie.token_id:
        return SessionCheck(NO_SESSION)
    if now_epoch >= session["expires_epoch"] or now_epoch >= session["last_seen_epoch"] + session["idle_seconds"]:
        return SessionCheck(SESSION_EXPIRED)
    if token is None or effective_status(token, now_epoch) != "active":
        return SessionCheck(TOKEN_UNUSABLE)
    if not signed_in_with_a_live_secret(session, token, now_epoch):  # rotated out since the sign-in
        return SessionCheck(TOKEN_UNUSABLE)
    if token.get("disabled_at") and session.get("created_at", "") <= token["disabled_at"]:
        return SessionCheck(TOKEN_UNUSABLE)  # disabled since the sign-in: a re-enable does not bring it back
    if not grants(token.get("scopes") or [], CONSOLE):
        return SessionCheck(TOKEN_UNUSABLE)
    return SessionCheck(VALID, token, session)


def signed_in_with_a_live_secret(session: dict[str, Any], token: dict[str, Any], now_epoch: int) -> bool:
    """The secret the session was opened with still verifies: it is the token's, or its previous one
    while the rotation grace lasts. Rotating a leaked secret thus also ends the sessions opened with it."""
    digest = session.get("token_digest")
    return isinstance(digest, str) and bool(digest) and digest_matches(token, digest, now_epoch)


def touch_session(repository: SessionRepository, settings: Settings, session: dict[str, Any], now_epoch: int) -> bool:
    """Push the idle deadline back, at most once per ``session_refresh_seconds`` (the item just read
    tells whether it is due; the conditional update settles races). True when written."""
    if now_epoch - session["last_seen_epoch"] < settings.session_refresh_seconds:
        return False
    purge_at = min(now_epoch + session["idle_seconds"], session["expires_epoch"])
    stale_before = now_epoch - settings.session_refresh_seconds + 1
    return repository.touch_session(session["session_digest"], now_epoch, purge_at, stale_before)
