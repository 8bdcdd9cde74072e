"""The HTTP API's Lambda REQUEST authorizer (payload 2.0, simple responses).

Verifies ``Authorization: Bearer <secret>`` with the same code as ``POST /v1/tokens/verify`` and
hands the functions ``{token_id, organization_id, owner, scopes}``. Fails closed: any error is a
refusal. Kept free of pydantic and the event handler so that it starts cold fast; one strongly
consistent GetItem per call, plus a last-use write at most once a minute per token.
"""

from tokensmith import clock
from tokensmith.observability import logger
from tokensmith.repository import default_repository
from tokensmith.settings import get_settings
from tokensmith.verification import record_use, verify_secret

DENY = {"isAuthorized": False}


def bearer_secret(headers: dict) -> str | None:
    value = (headers or {}).get("authorization") or ""
    scheme, _, secret = value.strip().partition(" ")
    return secret.strip() if scheme.lower() == "bearer" and secret.strip() else None


def handler(event, context):
    secret = bearer_secret(event.get("headers"))
    if secret is None:
        return DENY
    try:
        settings = get_settings()
        repository = default_repository()
        now = clock.now()
        result = verify_secret(repository, settings, secret, clock.epoch(now))
        if not result.valid:
            logger.info("token refused", extra={"code": result.code})
            return DENY
        item = result.item
        http = (event.get("requestContext") or {}).get("http") or {}
        record_use(repository, settings, item, now, http.get("sourceIp"), http.get("userAgent"))
    except Exception:
        logger.exception("authorizer failed; refusing")
        return DENY
    return {
        "isAuthorized": True,
        "context": {
            "token_id": item["id"],
            "organization_id": item["organization_id"],
            "owner": item.get("owner") or "",
            "scopes": " ".join(item.get("scopes") or []),
        },
    }
