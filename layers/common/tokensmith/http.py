"""The HTTP edge shared by every API function: the resolver factory, request parsing, responses,
and the one place where errors become RFC 9457 ``application/problem+json``."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, TypeVar

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from pydantic import BaseModel, ValidationError

from tokensmith import clock
from tokensmith.errors import (
    BadRequest,
    FieldError,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    TokensmithError,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
)
from tokensmith.models import READ_ONLY_FIELDS
from tokensmith.observability import logger
from tokensmith.service import Principal, RequestMeta
from tokensmith.settings import get_settings
from tokensmith.views import event_view, token_view

Model = TypeVar("Model", bound=BaseModel)
PROBLEM_BASE = "https://tokensmith.dev/problems/"
ALIASES = (("description", "comment"), ("owner", "owner_email"))
_UNAVAILABLE_CODES = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionInProgressException",
}
_COMMON_HEADERS = {"Cache-Control": "no-store"}


def create_app() -> APIGatewayHttpResolver:
    """A resolver whose every error, ours or the framework's, answers problem+json."""
    app = APIGatewayHttpResolver()

    @app.exception_handler(TokensmithError)
    def handle_domain_error(error: TokensmithError) -> Response:
        return problem_response(error, app)

    @app.exception_handler(Exception)
    def handle_unexpected(error: Exception) -> Response:
        if _is_unavailable(error):
            logger.warning("DynamoDB unavailable", extra={"error": type(error).__name__})
            unavailable = ServiceUnavailable("the token store is busy; retry shortly", headers={"Retry-After": "1"})
            return problem_response(unavailable, app)
        logger.exception("unhandled error")
        return problem_response(TokensmithError("an unexpected error occurred; it has been logged"), app)

    @app.not_found
    def handle_not_found(_: Exception) -> Response:
        return problem_response(NotFound("no such route"), app)

    return app


# --- requests ---------------------------------------------------------------------------------------


def principal_of(app: APIGatewayHttpResolver) -> Principal:
    """The caller as the authorizer described it in ``requestContext.authorizer.lambda``."""
    context = (app.current_event.raw_event.get("requestContext") or {}).get("authorizer") or {}
    claims = context.get("lambda") or {}
    if not claims.get("token_id") or not claims.get("organization_id"):
        raise Unauthorized("no verified token on this request")
    return Principal(
        token_id=claims["token_id"],
        organization_id=claims["organization_id"],
        owner=claims.get("owner") or None,
        scopes=frozenset(str(claims.get("scopes") or "").split()),
    )


def request_meta(app: APIGatewayHttpResolver) -> RequestMeta:
    http = (app.current_event.raw_event.get("requestContext") or {}).get("http") or {}
    return RequestMeta(
        ip=http.get("sourceIp"),
        user_agent=(http.get("userAgent") or None) and http["userAgent"][:512],
        if_match=_if_match(_header(app, "if-match")),
    )


def parse_body(app: APIGatewayHttpResolver, model: type[Model], required: bool = True) -> Model:
    """The JSON body as ``model``, or a 4xx naming what is wrong: size, type, encoding, syntax,
    unknown or read-only fields, field values."""
    event = app.current_event.raw_event
    raw = event.get("body") or ""
    if event.get("isBase64Encoded") and raw:
        try:
            data = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise BadRequest("the body is not valid base64") from None
    else:
        data = raw.encode("utf-8", "surrogatepass")
    if len(data) > get_settings().max_body_bytes:
        raise PayloadTooLarge(f"the body is {len(data)} bytes; the limit is {get_settings().max_body_bytes}")
    if not data.strip():
        if required:
            raise ValidationFailed("a JSON body is required", [FieldError("body", "required")])
        return model()
    content_type = (_header(app, "content-type") or "").split(";")[0].strip().lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise UnsupportedMediaType(f"send the body as application/json, not {content_type or 'no content type'!r}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadRequest(f"the body is not valid UTF-8 (byte {error.start})") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise BadRequest(
            f"the body is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}"
        ) from None
    if not isinstance(document, dict):
        raise ValidationFailed("the body must be a JSON object", [FieldError("body", "must be an object")])
    read_only = sorted(set(document) & (READ_ONLY_FIELDS - set(model.model_fields)))
    if read_only:
        raise ValidationFailed(
            f"read-only fields cannot be written: {', '.join(read_only)}",
            [FieldError(name, "read-only") for name in read_only],
        )
    for name, alias in ALIASES:
        if name in document and alias in document:
            raise ValidationFailed(
                f"give {name} or its alias {alias}, not both", [FieldError(alias, "duplicates " + name)]
            )
    try:
        return model.model_validate(document)
    except ValidationError as error:
        raise validation_failed(error) from None


def validation_failed(error: ValidationError) -> ValidationFailed:
    errors = []
    for item in error.errors(include_url=False, include_input=False):
        location = ".".join(str(part) for part in item["loc"]) or "body"
        message = "unknown field" if item["type"] == "extra_forbidden" else item["msg"]
        errors.append(FieldError(location, message))
    summary = "; ".join(f"{e.field}: {e.message}" for e in errors)
    return ValidationFailed(f"invalid request: {summary}", errors)


def query_params(app: APIGatewayHttpResolver, allowed: set[str]) -> dict[str, str]:
    params = dict(app.current_event.query_string_parameters or {})
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ValidationFailed(
            f"unknown query parameters: {', '.join(unknown)}",
            [FieldError(name, "unknown query parameter") for name in unknown],
        )
    return params


def limit_param(params: dict[str, str], default: int = 50, maximum: int = 100) -> int:
    raw = params.get("limit")
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise ValidationFailed(
            f"limit must be a whole number from 1 to {maximum}", [FieldError("limit", f"1..{maximum}")]
        )
    return int(raw)


def choice_param(params: dict[str, str], name: str, choices: tuple[str, ...]) -> str | None:
    value = params.get(name)
    if value is not None and value not in choices:
        raise ValidationFailed(
            f"{name} must be one of {', '.join(choices)}", [FieldError(name, "not an allowed value")]
        )
    return value


def text_param(params: dict[str, str], name: str, max_length: int) -> str | None:
    value = params.get(name)
    if value is not None and not 1 <= len(value) <= max_length:
        raise ValidationFailed(f"{name} must be 1 to {max_length} characters", [FieldError(name, "bad length")])
    return value


# --- responses --------------------------------------------------------------------------------------


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        headers={**_COMMON_HEADERS, **(headers or {})},
    )


def etag(item: dict[str, Any]) -> str:
    return f'"{item["version"]}"'


def token_response(item: dict[str, Any], status: int = 200) -> Response:
    return json_response(token_view(item, clock.epoch(clock.now())), status, {"ETag": etag(item)})


def secret_response(item: dict[str, Any], secret: str, status: int) -> Response:
    """Create and rotate: the only responses that ever carry a secret."""
    body = {"token": token_view(item, clock.epoch(clock.now())), "secret": secret}
    return json_response(body, status, {"ETag": etag(item), "Location": f"/v1/tokens/{item['id']}"})


def token_list_response(items: list[dict[str, Any]], next_cursor: str | None) -> Response:
    now = clock.epoch(clock.now())
    return json_response({"items": [token_view(i, now) for i in items], "next_cursor": next_cursor})


def event_list_response(items: list[dict[str, Any]], next_cursor: str | None) -> Response:
    return json_response({"items": [event_view(i) for i in items], "next_cursor": next_cursor})


def problem_response(error: TokensmithError, app: APIGatewayHttpResolver | None = None) -> Response:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + error.slug,
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
    }
    if app is not None and app.current_event is not None:
        body["instance"] = app.current_event.raw_event.get("rawPath")
    if error.errors:
        body["errors"] = [{"field": e.field, "message": e.message} for e in error.errors]
    return Response(
        status_code=error.status,
        content_type="application/problem+json",
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        headers={**_COMMON_HEADERS, **error.headers},
    )


# --- internals --------------------------------------------------------------------------------------


def _header(app: APIGatewayHttpResolver, name: str) -> str | None:
    headers = app.current_event.raw_event.get("headers") or {}
    return headers.get(name) or headers.get(name.title())


def _if_match(value: str | None) -> frozenset[int] | None:
    """``If-Match: "3"`` (or ``W/"3"``, or a list) → {3}; ``*`` or absent → no precondition. An
    entity tag that is not one of ours can never match: the request then fails with 412."""
    if value is None or value.strip() in ("", "*"):
        return None
    versions = set()
    for tag in value.split(","):
        tag = tag.strip().removeprefix("W/").strip('"')
        versions.add(int(tag) if tag.isdigit() else -1)
    return frozenset(versions)


def _is_unavailable(error: Exception) -> bool:
    response = getattr(error, "response", None)
    if isinstance(response, dict) and response.get("Error", {}).get("Code") in _UNAVAILABLE_CODES:
        return True
    try:
        from botocore.exceptions import ConnectionError as BotoConnectionError
        from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError
    except ImportError:  # pragma: no cover - botocore is always present in Lambda
        return False
    return isinstance(error, (BotoConnectionError, ConnectTimeoutError, ReadTimeoutError))
