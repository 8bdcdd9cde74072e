"""The plain path of a hot route: no resolver.

A hot route (``POST /v1/tokens/verify``) answers its ordinary requests without the resolver's
routing, middleware and pydantic validation, which cost several times the route's own work. Each
helper answers None for anything out of the ordinary; the route then hands the event to its
resolver, which applies every check and answers every error exactly as for any other route. The
answers below are what the resolver builds for an HTTP API (payload 2.0); a test compares the two.
"""

from __future__ import annotations

import json
from typing import Any

from tokensmith.http.problems import COMMON_HEADERS, as_problem, json_text, problem_body
from tokensmith.http.request import event_header
from tokensmith.settings import get_settings


def plain_json_object(event: dict[str, Any], max_bytes: int | None = None) -> dict[str, Any] | None:
    """The body as a JSON object, when it is a plain one: not base64, within the size limit, sent as
    JSON, valid UTF-8 and JSON. None otherwise (the resolver then says what is wrong)."""
    raw = event.get("body")
    if not raw or event.get("isBase64Encoded") or not isinstance(raw, str):
        return None
    content_type = (event_header(event, "content-type") or "").split(";")[0].strip().lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        return None
    try:
        data = raw.encode("utf-8")
        if len(data) > (max_bytes or get_settings().max_body_bytes):
            return None
        document = json.loads(raw)
    except (UnicodeError, ValueError, RecursionError):  # RecursionError: absurdly nested JSON
        return None
    return document if isinstance(document, dict) else None


def json_answer(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """What :func:`json_response` becomes once the resolver has built it for an HTTP API."""
    return _answer(status, "application/json", json_text(body), headers)


def error_answer(error: Exception, event: dict[str, Any]) -> dict[str, Any]:
    """What the resolver's exception handlers answer for ``error``, built without the resolver."""
    problem = as_problem(error)
    return _answer(problem.status, "application/problem+json", problem_body(problem, event), problem.headers)


def _answer(status: int, content_type: str, body: str, headers: dict[str, str] | None) -> dict[str, Any]:
    return {
        "statusCode": status,
        "body": body,
        "isBase64Encoded": False,
        "headers": {**COMMON_HEADERS, **(headers or {}), "Content-Type": content_type},
        "cookies": [],
    }
