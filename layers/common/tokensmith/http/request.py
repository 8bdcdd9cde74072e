"""What a function reads of its request besides the body: the caller the authorizer verified, the
client's address and user agent, ``If-Match``, the console's session cookie, a bearer secret."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, Protocol

from tokensmith.auth import Principal, RequestMeta
from tokensmith.errors import BadRequest, RateLimited, Unauthorized, UsageExceeded
from tokensmith.tokens.usage import RATE_LIMITED, USAGE_EXCEEDED, limit_headers

if TYPE_CHECKING:
    from tokensmith.sessions.cookies import SessionCookie


class Routing(Protocol):
    """What a route reads its request from: its function's resolver, or the router it was declared on
    (which holds the resolver's current event once the route runs)."""

    @property
    def current_event(self) -> Any: ...


def principal_of(app: Routing) -> Principal:
    """The caller as the authorizer described it in ``requestContext.authorizer.lambda``."""
    return principal_from_event(app.current_event.raw_event)


def principal_from_event(event: dict[str, Any]) -> Principal:
    context = (event.get("requestContext") or {}).get("authorizer") or {}
    claims = context.get("lambda") or {}
    if not claims.get("token_id") or not claims.get("organization_id"):
        raise Unauthorized("no verified token on this request")
    if claims.get("code") in (RATE_LIMITED, USAGE_EXCEEDED):
        raise over_limit(claims)
    return Principal(
        token_id=claims["token_id"],
        organization_id=claims["organization_id"],
        owner=claims.get("owner") or None,
        scopes=frozenset(str(claims.get("scopes") or "").split()),
    )


def over_limit(claims: dict[str, Any]) -> RateLimited | UsageExceeded:
    """The 429 of a caller the authorizer found over a rate limit or out of credits: it let the
    request through (an authorizer can only allow or deny, and deny is a 403) with the outcome in
    its context; every route of ours then answers 429 from here."""
    windows = json.loads(claims.get("ratelimits") or "[]")
    headers = limit_headers(claims.get("retry_after") or None, windows)
    if claims["code"] == RATE_LIMITED:
        refused = windows[-1]["name"] if windows else "?"  # evaluation stops at the window that refused
        return RateLimited(f"the calling token is over its rate limit {refused!r}; retry later", headers=headers)
    return UsageExceeded("the calling token has no credits left", headers=headers)


def request_meta(app: Routing) -> RequestMeta:
    return request_meta_from_event(app.current_event.raw_event)


def request_meta_from_event(event: dict[str, Any]) -> RequestMeta:
    http = (event.get("requestContext") or {}).get("http") or {}
    return RequestMeta(
        ip=http.get("sourceIp"),
        user_agent=(http.get("userAgent") or None) and http["userAgent"][:512],
        if_match=_if_match(event_header(event, "if-match")),
    )


def session_cookie_of(app: Routing) -> SessionCookie | None:
    """The console session cookie of this request, if it carries one."""
    from tokensmith.sessions.cookies import cookie_from_event  # the session routes' (cold start of the others)

    return cookie_from_event(app.current_event.raw_event.get("cookies"))


def bearer_of(app: Routing) -> str | None:
    """The secret of ``Authorization: Bearer <secret>``, if any."""
    scheme, _, secret = (header(app, "authorization") or "").strip().partition(" ")
    return secret.strip() if scheme.lower() == "bearer" and secret.strip() else None


def header(app: Routing, name: str) -> str | None:
    return event_header(app.current_event.raw_event, name)


def event_header(event: dict[str, Any], name: str) -> str | None:
    headers = event.get("headers") or {}
    return headers.get(name) or headers.get(name.title())


_ENTITY_TAG = re.compile(r'\s*(W/)?"([\x21\x23-\x7e\x80-\xff]*)"\s*')  # RFC 9110 entity-tag
_VERSION = re.compile(r"[0-9]{1,15}")
NEVER = -1  # a version no item has: an entity tag that is not one of ours


def _if_match(value: str | None) -> frozenset[int] | None:
    """``If-Match: "3"`` (or a list of tags) → {3}; ``*`` or absent → no precondition. Comparison is
    strong (RFC 9110): a weak tag (``W/"3"``) never matches, nor does a tag that is not one of ours;
    the request then fails with 412. Anything that is not a list of entity tags is a 400."""
    if value is None or value.strip() in ("", "*"):
        return None
    versions = set()
    for part in value.split(","):
        tag = _ENTITY_TAG.fullmatch(part)
        if tag is None:
            raise BadRequest('If-Match must be * or a list of entity tags such as "3"')
        weak, opaque = tag.groups()
        versions.add(int(opaque) if not weak and _VERSION.fullmatch(opaque) else NEVER)
    return frozenset(versions)
