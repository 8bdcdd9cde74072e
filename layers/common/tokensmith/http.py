"""The HTTP edge shared by every API function: the resolver factory, request parsing, responses,
and the one place where errors become RFC 9457 ``application/problem+json``."""

from __future__ import annotations

import base64
import binascii
import inspect
import json
from collections.abc import Callable
from functools import lru_cache
from typing import Annotated, Any, TypeVar, get_args, get_origin, get_type_hints

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, ConfigDict, ValidationError, create_model

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
from tokensmith.models import (
    PATTERN_MESSAGES,
    READ_ONLY_FIELDS,
    GatewayError,
    Problem,
    Token,
    TokenWithSecret,
    Webhook,
    WebhookWithSecret,
)
from tokensmith.observability import logger
from tokensmith.repository import StoreUnavailable
from tokensmith.service import Principal, RequestMeta
from tokensmith.settings import get_settings
from tokensmith.views import delivery_view, event_view, token_view, webhook_view

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


MAX_BODY_EXTENSION = "x-max-body-bytes"
_PROBLEMS = {
    400: "Malformed request: invalid JSON, invalid UTF-8 or base64",
    401: "No Authorization header (answered by API Gateway)",
    403: "The authorizer refused the token (API Gateway), or the token lacks the scope this route needs",
    404: "No such token or webhook (or it belongs to another organization)",
    409: "Conflicts with the token's state or another token's name, or with a concurrent change",
    412: "If-Match names a version that is no longer current",
    413: "The body is larger than the route allows",
    415: "The body is not JSON",
    422: "A field, query parameter or scope is not acceptable",
    429: "Throttled by API Gateway",
    503: "DynamoDB is throttling or unavailable; retry after Retry-After seconds",
}


def create_router() -> APIGatewayHttpRouter:
    """Each function declares its route on a router; ``devtools.openapi`` includes every function's
    router into one resolver to build the one OpenAPI document."""
    return APIGatewayHttpRouter()


def operation(
    success: int,
    model: type[BaseModel] | None,
    problems: tuple[int, ...],
    scope: str | None,
    description: str,
    public: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    """Route keyword arguments for the OpenAPI document: the success answer (with its ``ETag`` when
    it is a token), the problem answers, API Gateway's own answers, the scope, and the security
    requirement (none for a ``public`` route)."""
    summary = description.strip().splitlines()[0]
    success_response: dict[str, Any] = {"description": summary}
    # No model: no body (204); an empty content map, else Powertools documents a JSON body.
    success_response["content"] = {"application/json": {"model": model}} if model is not None else {}
    if model in (Token, TokenWithSecret, Webhook, WebhookWithSecret):
        subject = "webhook" if model in (Webhook, WebhookWithSecret) else "token"
        success_response["headers"] = {
            "ETag": {"description": f"The {subject}'s version", "schema": {"type": "string"}}
        }
    problem = {"application/problem+json": {"model": Problem}}
    gateway = {"application/json": {"model": GatewayError}}
    statuses = {*problems, 429, 503} | (set() if public else {401, 403})
    responses: dict[int, Any] = {success: success_response}
    for status in sorted(statuses):
        content = gateway if status == 429 else {**problem, **gateway} if status in (401, 403) else problem
        responses[status] = {"description": _PROBLEMS[status], "content": content}
    needs = "Needs no token." if public else f"Needs the `{scope}` scope." if scope else "Needs any valid token."
    return {
        "summary": summary,
        "description": f"{description.strip()}\n\n{needs}",
        "responses": responses,
        "security": [] if public else [{"bearerAuth": []}],
        "tags": ["admin" if scope == "admin" else "webhooks" if (scope or "").startswith("webhooks") else "tokens"],
        **extra,
    }


def create_app(router: APIGatewayHttpRouter | None = None) -> APIGatewayHttpResolver:
    """A resolver whose every error, ours or the framework's, answers problem+json, and whose
    routes get their JSON body and query parameters bound (and checked) from their signature."""
    app = APIGatewayHttpResolver()
    app.use([bind_request])
    if router is not None:
        app.include_router(router)

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


def bind_request(app: APIGatewayHttpResolver, next_middleware: Callable[..., Any]) -> Any:
    """Middleware: give the route its ``Body()`` parameter (parsed by :func:`parse_body`) and its
    ``Query()`` parameters (unknown ones refused), declared in its signature as in Powertools'
    own validation, but with our 4xx rules: size, content type, encoding, read-only fields."""
    route = app.context.get("_route")
    if route is not None:
        binding = _binding_of(route.func)
        arguments = dict(app.context.get("_route_args") or {})
        if binding.body_name:
            max_bytes = (route.openapi_extensions or {}).get(MAX_BODY_EXTENSION)
            arguments[binding.body_name] = parse_body(app, binding.body_model, binding.body_required, max_bytes)
        if binding.query_model is not None:
            arguments.update(_parse_query(app, binding.query_model))
        app.append_context(_route_args=arguments)
    return next_middleware(app)


class _Binding:
    def __init__(self, body_name: str | None, body_model: Any, body_required: bool, query_model: Any) -> None:
        self.body_name, self.body_model, self.body_required, self.query_model = (
            body_name,
            body_model,
            body_required,
            query_model,
        )


@lru_cache(maxsize=64)
def _binding_of(func: Callable[..., Any]) -> _Binding:
    hints = get_type_hints(func, include_extras=True)
    body_name, body_model, body_required, query_fields = None, None, True, {}
    for name, parameter in inspect.signature(func).parameters.items():
        hint = hints.get(name)
        if get_origin(hint) is not Annotated:
            continue
        annotation, *markers = get_args(hint)
        for marker in markers:
            if isinstance(marker, Body):
                body_name, body_model = name, annotation
                body_required = parameter.default is inspect.Parameter.empty
            elif isinstance(marker, Query):
                default = ... if parameter.default is inspect.Parameter.empty else parameter.default
                constrained = (
                    Annotated.__class_getitem__((annotation, *marker.metadata)) if marker.metadata else annotation
                )
                query_fields[name] = (constrained, default)
    query_model = None
    if query_fields:
        config = ConfigDict(extra="forbid")
        query_model = create_model(f"{func.__name__}_query", __config__=config, **query_fields)
    return _Binding(body_name, body_model, body_required, query_model)


def _parse_query(app: APIGatewayHttpResolver, model: type[BaseModel]) -> dict[str, Any]:
    params = dict(app.current_event.query_string_parameters or {})
    try:
        return model.model_validate(params).model_dump()
    except ValidationError as error:
        failed = validation_failed(error, unknown="unknown query parameter")
        raise ValidationFailed(failed.detail.replace("invalid request", "invalid query"), failed.errors) from None


def parse_body(
    app: APIGatewayHttpResolver, model: type[Model], required: bool = True, max_bytes: int | None = None
) -> Model:
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
    limit = max_bytes or get_settings().max_body_bytes
    if len(data) > limit:
        raise PayloadTooLarge(f"the body is {len(data)} bytes; the limit is {limit}")
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


def validation_failed(error: ValidationError, unknown: str = "unknown field") -> ValidationFailed:
    errors = []
    for item in error.errors(include_url=False, include_input=False):
        location = ".".join(str(part) for part in item["loc"]) or "body"
        message = unknown if item["type"] == "extra_forbidden" else item["msg"]
        if item["type"] == "string_pattern_mismatch":
            message = PATTERN_MESSAGES.get(item["ctx"]["pattern"], message)
        errors.append(FieldError(location, message))
    summary = "; ".join(f"{e.field}: {e.message}" for e in errors)
    return ValidationFailed(f"invalid request: {summary}", errors)


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


def webhook_response(item: dict[str, Any], status: int = 200) -> Response:
    return json_response(webhook_view(item), status, {"ETag": etag(item)})


def webhook_secret_response(item: dict[str, Any], secret: str, status: int) -> Response:
    """Create and rotate-secret: the only responses that ever carry a signing secret."""
    headers = {"ETag": etag(item), "Location": f"/v1/webhooks/{item['id']}"}
    return json_response({"webhook": webhook_view(item), "secret": secret}, status, headers)


def webhook_list_response(items: list[dict[str, Any]], next_cursor: str | None) -> Response:
    return json_response({"items": [webhook_view(i) for i in items], "next_cursor": next_cursor})


def delivery_list_response(items: list[dict[str, Any]], next_cursor: str | None) -> Response:
    return json_response({"items": [delivery_view(i) for i in items], "next_cursor": next_cursor})


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
    if isinstance(error, StoreUnavailable):
        return True
    response = getattr(error, "response", None)
    if isinstance(response, dict) and response.get("Error", {}).get("Code") in _UNAVAILABLE_CODES:
        return True
    try:
        from botocore.exceptions import ConnectionError as BotoConnectionError
        from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError
    except ImportError:  # pragma: no cover - botocore is always present in Lambda
        return False
    return isinstance(error, (BotoConnectionError, ConnectTimeoutError, ReadTimeoutError))
