"""The HTTP API's Lambda REQUEST authorizer (payload 2.0, simple responses).

Its identity source is the ``Authorization`` header: API Gateway answers a request without one 401
and never calls it. ``Authorization: Bearer <secret>`` is verified with the same code as
``POST /v1/tokens/verify``; the functions get ``{token_id, organization_id, owner, scopes}`` and the
usage policies' outcome (``code``, ``retry_after``, ``ratelimits``, ``credits``, ``meta``:
``tokens.usage.context_fields``). A token over a rate limit or out of credits is let through with
``code`` RATE_LIMITED or USAGE_EXCEEDED (a Lambda authorizer can only allow or deny, and a deny is a
403): Tokensmith's own routes then answer 429, and an API of yours behind this authorizer must check
``code`` (README). A caller outside the token's (or its organization's) ``allowed_cidrs`` is denied.
The policies are applied on every verification, a token served from the instance's positive cache
included. The console sends ``Authorization: Session <csrf token>`` beside its session cookie instead
(``tokensmith.sessions``, imported only then): the CSRF token must be the cookie's, on every method,
the session's token must still be live and hold ``console``, and the request must come from within
its allowlists (console traffic is not counted against rate limits or credits: it is people managing
tokens, not the API being used). Any other scheme is refused. Fails
closed: any error is a refusal. The hot path (bearer): the
checksum is checked before any I/O, then one strongly consistent ``GetItem``, plus a last-use write
at most once a minute per token, and a write when the source IP is of a network the token was not
used from (``tokens/networks.py``: ``token.new_location``; a token whose organization says
``on_new_location: disable`` is disabled by it, and this request denied); a secret this instance
has seen refused is refused without a read
(``tokens/verification_cache.py``). It imports neither pydantic,
nor Powertools, nor boto3 (botocore is imported on first use), so it starts cold about as fast as a
bare botocore function.
"""

import traceback

import tokensmith.startup  # first: the garbage collector waits while the function starts
from tokensmith import clock
from tokensmith.log_line import log
from tokensmith.settings import get_settings
from tokensmith.tokens.counters import default_counters
from tokensmith.tokens.repository import default_repository
from tokensmith.tokens.usage import IP_NOT_ALLOWED, OVER_LIMIT_CODES, context_fields, ip_allowed
from tokensmith.tokens.verification import apply_policies, record_use, record_verified_use, verify_secret
from tokensmith.tokens.verification_cache import instance_verification_cache

DENY = {"isAuthorized": False}


def authorization(headers: dict | None) -> tuple[str, str]:
    """(scheme lower-cased, credentials) of the ``Authorization`` header; empty strings when absent."""
    scheme, _, credentials = ((headers or {}).get("authorization") or "").strip().partition(" ")
    return scheme.lower(), credentials.strip()


def handler(event, context):
    try:
        return authorize(event, context)
    finally:
        tokensmith.startup.started()  # the first invocation: the garbage collector resumes (tokensmith.startup)


def authorize(event, context):
    settings = get_settings()
    request_id = getattr(context, "aws_request_id", None)
    scheme, secret = authorization(event.get("headers"))
    if scheme == "session" and secret:
        return authorize_session(event, secret, settings, request_id)
    if scheme != "bearer" or not secret:
        log("INFO", "token refused", settings.log_level, code="NO_CREDENTIALS", request_id=request_id)
        return DENY
    try:
        repository = default_repository()
        now = clock.now()
        http = (event.get("requestContext") or {}).get("http") or {}
        result = verify_secret(repository, settings, secret, clock.epoch(now), cache=instance_verification_cache())
        # Counted on every verification, a cached token's included: limits and credits are never cached.
        result = apply_policies(default_counters(), settings, result, http.get("sourceIp"), 1, now)
        if not result.valid and result.code not in OVER_LIMIT_CODES:
            log("INFO", "token refused", settings.log_level, code=result.code, request_id=request_id)
            return DENY
    except Exception as error:
        log(
            "ERROR",
            "authorizer failed; refusing",
            settings.log_level,
            error=type(error).__name__,
            traceback=traceback.format_exc(limit=8),
            request_id=request_id,
        )
        return DENY
    item = result.item
    client = (http.get("sourceIp"), http.get("userAgent"))

    def not_recorded(kind: str, error: Exception) -> None:  # bookkeeping only: a verified token is not refused for it
        log(
            "WARNING",
            f"{kind.replace('_', ' ')} not recorded",
            settings.log_level,
            error=type(error).__name__,
            request_id=request_id,
        )

    # the last use, and a network the token was not used from: token.new_location, and the disable its
    # organization's policy may ask (tokens/networks.py)
    if record_verified_use(repository, settings, result, now, client, client, not_recorded):
        log("INFO", "token refused", settings.log_level, code="DISABLED", request_id=request_id)
        return DENY
    if not result.valid:
        log("INFO", "token over its limit", settings.log_level, code=result.code, request_id=request_id)
    return allow(item, result.usage, clock.epoch(now))


def allow(item: dict, usage=None, now_epoch: int = 0) -> dict:
    return {
        "isAuthorized": True,
        "context": {
            "token_id": item["id"],
            "organization_id": item["organization_id"],
            "owner": item.get("owner") or "",
            "scopes": " ".join(item.get("scopes") or []),
            **context_fields(usage, item.get("meta"), now_epoch),
        },
    }


def authorize_session(event: dict, csrf_token: str, settings, request_id: str | None) -> dict:
    """The console's cookie with ``Authorization: Session <csrf token>``: the CSRF token checked
    against the cookie before any I/O (every method), one BatchGetItem (session + token), then the
    idle deadline and the token's last use, each written at most once a minute. Never logs the
    cookie, the session id or the CSRF token."""
    from tokensmith.sessions import check as sessions
    from tokensmith.sessions.cookies import cookie_from_event, csrf_matches
    from tokensmith.sessions.repository import default_session_repository

    cookie = cookie_from_event(event.get("cookies"))
    if cookie is None:
        log("INFO", "session refused", settings.log_level, code=sessions.NO_SESSION, request_id=request_id)
        return DENY
    if not csrf_matches(cookie, csrf_token):
        log("INFO", "session refused", settings.log_level, code=sessions.CSRF_MISMATCH, request_id=request_id)
        return DENY
    http = (event.get("requestContext") or {}).get("http") or {}
    try:
        repository = default_session_repository()
        now = clock.now()
        check = sessions.check_session(repository, cookie, clock.epoch(now))
        token, session = check.token, check.session
        if not check.valid or token is None or session is None:
            log("INFO", "session refused", settings.log_level, code=check.code, request_id=request_id)
            return DENY
        if not ip_allowed(token, http.get("sourceIp")):  # a session never widens its token's allowlist
            log("INFO", "session refused", settings.log_level, code=IP_NOT_ALLOWED, request_id=request_id)
            return DENY
    except Exception as error:
        log(
            "ERROR",
            "authorizer failed; refusing",
            settings.log_level,
            error=type(error).__name__,
            traceback=traceback.format_exc(limit=8),
            request_id=request_id,
        )
        return DENY
    try:
        sessions.touch_session(repository, settings, session, clock.epoch(now))
        record_use(repository, settings, token, now, http.get("sourceIp"), http.get("userAgent"))
    except Exception as error:  # bookkeeping only
        log(
            "WARNING", "session use not recorded", settings.log_level, error=type(error).__name__, request_id=request_id
        )
    return allow(token)
