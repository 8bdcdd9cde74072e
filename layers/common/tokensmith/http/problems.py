"""The one place where errors become RFC 9457 ``application/problem+json``: domain errors as they
are, the repositories' conditions translated (DynamoDB busy → 503 with ``Retry-After``, a foreign
cursor → 422), anything else a logged 500."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from tokensmith.aws.dynamodb import InvalidCursor, is_throttling
from tokensmith.errors import FieldError, ServiceUnavailable, TokensmithError, ValidationFailed
from tokensmith.http.router import Response
from tokensmith.observability import logger

if TYPE_CHECKING:
    from tokensmith.http.request import Routing

PROBLEM_BASE = "https://tokensmith.dev/problems/"
COMMON_HEADERS = {"Cache-Control": "no-store"}


def as_problem(error: Exception) -> TokensmithError:
    """What ``error`` answers: a domain error as it is; a repository condition or a DynamoDB error
    translated (logged at WARNING: not our bug); anything else a 500, logged with its traceback."""
    if isinstance(error, TokensmithError):
        return error
    if isinstance(error, InvalidCursor):
        return ValidationFailed("the cursor is not one this listing produced", [FieldError("cursor", "invalid cursor")])
    if _is_unavailable(error):
        logger.warning("DynamoDB unavailable", extra={"error": type(error).__name__})
        return ServiceUnavailable("the token store is busy; retry shortly", headers={"Retry-After": "1"})
    logger.exception("unhandled error")
    return TokensmithError("an unexpected error occurred; it has been logged")


def problem_response(error: TokensmithError, app: Routing | None = None) -> Response:
    raw_event = app.current_event.raw_event if app is not None and app.current_event is not None else None
    return Response(
        status_code=error.status,
        content_type="application/problem+json",
        body=problem_body(error, raw_event),
        headers={**COMMON_HEADERS, **error.headers},
    )


def problem_body(error: TokensmithError, raw_event: dict[str, Any] | None) -> str:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + error.slug,
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
    }
    if raw_event is not None:
        body["instance"] = raw_event.get("rawPath")
    if error.errors:
        body["errors"] = [{"field": e.field, "message": e.message} for e in error.errors]
    return json_text(body)


def json_text(body: Any) -> str:
    """Every JSON body the functions answer: compact, UTF-8, and ending with a newline, so that `curl`
    leaves the prompt on a line of its own. Safe: an ETag is the item's version, never a digest of
    the body, and API Gateway (as the local gateway) counts Content-Length from the body as sent."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")) + "\n"


def _is_unavailable(error: Exception) -> bool:
    if is_throttling(error):
        return True
    try:
        from botocore.exceptions import ConnectionError as BotoConnectionError
        from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError
    except ImportError:  # pragma: no cover - botocore is always present in Lambda
        return False
    return isinstance(error, (BotoConnectionError, ConnectTimeoutError, ReadTimeoutError))
