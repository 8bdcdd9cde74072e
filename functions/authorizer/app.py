"""The HTTP API's Lambda REQUEST authorizer (payload 2.0, simple responses).

Verifies ``Authorization: Bearer <secret>`` with the same code as ``POST /v1/tokens/verify`` and
hands the functions ``{token_id, organization_id, owner, scopes}``. Fails closed: any error is a
refusal. The hot path: the checksum is checked before any I/O, then one strongly consistent
``GetItem``, plus a last-use write at most once a minute per token. It imports neither pydantic,
nor Powertools, nor boto3 (botocore is imported on first use), so it starts cold about as fast as a
bare botocore function.
"""

import traceback

from tokensmith import clock
from tokensmith.log_line import log
from tokensmith.repository import default_repository
from tokensmith.settings import get_settings
from tokensmith.verification import record_use, verify_secret

DENY = {"isAuthorized": False}


def bearer_secret(headers: dict | None) -> str | None:
    value = (headers or {}).get("authorization") or ""
    scheme, _, secret = value.strip().partition(" ")
    return secret.strip() if scheme.lower() == "bearer" and secret.strip() else None


def handler(event, context):
    settings = get_settings()
    request_id = getattr(context, "aws_request_id", None)
    secret = bearer_secret(event.get("headers"))
    if secret is None:
        log("INFO", "token refused", settings.log_level, code="NO_BEARER", request_id=request_id)
        return DENY
    try:
        repository = default_repository()
        now = clock.now()
        result = verify_secret(repository, settings, secret, clock.epoch(now))
        if not result.valid:
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
    http = (event.get("requestContext") or {}).get("http") or {}
    try:
        record_use(repository, settings, item, now, http.get("sourceIp"), http.get("userAgent"))
    except Exception as error:  # bookkeeping only: a verified token is not refused for it
        log("WARNING", "last use not recorded", settings.log_level, error=type(error).__name__, request_id=request_id)
    return {
        "isAuthorized": True,
        "context": {
            "token_id": item["id"],
            "organization_id": item["organization_id"],
            "owner": item.get("owner") or "",
            "scopes": " ".join(item.get("scopes") or []),
        },
    }
