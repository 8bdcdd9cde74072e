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
from tokensmith.sessions import SessionCookie, SignedIn, cookie_from_event
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
    401: "Not authenticated: no verified caller on the request, or a sign-in token that is not valid",
    403: (
        "The authorizer refused the request (API Gateway): no credentials, a token or console session that is "
        "not valid, or a session request without its X-CSRF-Token; or the token lacks the scope this route needs"
    ),
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
        return problem_response(unexpected_problem(error), app)

    @app.not_found
    def handle_not_found(_: Exception) -> Response:
        return problem_response(NotFound("no such route"), app)

    return app


# --- requests ---------------------------------------------------------------------------------------


def unexpected_problem(error: Exception) -> TokensmithError:
    """What an exception that is not a domain error answers (logged here): a 503 when DynamoDB is
    busy or unreachable, else a 500."""
    if _is_unavailable(error):
        logger.warning("DynamoDB unavailable", extra={"error": type(error).__name__})
        return ServiceUnavailable("the token store is busy; retry shortly", headers={"Retry-After": "1"})
    logger.exception("unhandled error")
    return TokensmithError("an unexpected error occurred; it has been logged")


def principal_of(app: APIGatewayHttpResolver) -> Principal:
    """The caller as the authorizer described it in ``requestContext.authorizer.lambda``."""
    return principal_from_event(app.current_event.raw_event)


def principal_from_event(event: dict[str, Any]) -> Principal:
    context = (event.get("requestContext") or {}).get("authorizer") or {}
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
    return request_meta_from_event(app.current_event.raw_event)


def request_meta_from_event(event: dict[str, Any]) -> RequestMeta:
    http = (event.get("requestContext") or {}).get("http") or {}
    return RequestMeta(
        ip=http.get("sourceIp"),
        user_agent=(http.get("userAgent") or None) and http["userAgent"][:512],
        if_match=_if_match(_event_header(event, "if-match")),
    )


def session_cookie_of(app: APIGatewayHttpResolver) -> SessionCookie | None:
    """The console session cookie of this request, if it carries one."""
    return cookie_from_event(app.current_event.raw_event.get("cookies"))


def bearer_of(app: APIGatewayHttpResolver) -> str | None:
    """The secret of ``Authorization: Bearer <secret>``, if any."""
    scheme, _, secret = (_header(app, "authorization") or "").strip().partition(" ")
    return secret.strip() if scheme.lower() == "bearer" and secret.strip() else None


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
                # Annotated[(a, *m)], not Annotated.__class_getitem__: Python 3.13 (Lambda's) has no such method
                constrained = Annotated[(annotation, *marker.metadata)] if marker.metadata else annotation
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


def session_response(signed_in: SignedIn, status: int = 200, cookies: list[str] | None = None) -> Response:
    """Sign-in and the current session: the CSRF token, the session's limits, its token, and what the
    console needs to create tokens (the scope catalog, the lifetime ceiling). Never the cookie's value
    in the body: that travels only in ``Set-Cookie``."""
    settings = get_settings()
    body = {
        "csrf_token": signed_in.cookie.csrf_token,
        "expires_at": signed_in.session["expires_at"],
        "idle_timeout_seconds": signed_in.session["idle_seconds"],
        "token": token_view(signed_in.token, clock.epoch(clock.now())),
        "scope_catalog": sorted(settings.scope_catalog),
        "max_token_lifetime_days": settings.max_token_lifetime_days,
    }
    response = json_response(body, status)
    response.cookies = list(cookies or [])  # Powertools puts them into the payload 2.0 `cookies`
    return response


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
    raw_event = app.current_event.raw_event if app is not None and app.current_event is not None else None
    return Response(
        status_code=error.status,
        content_type="application/problem+json",
        body=_problem_body(error, raw_event),
        headers={**_COMMON_HEADERS, **error.headers},
    )


def _problem_body(error: TokensmithError, raw_event: dict[str, Any] | None) -> str:
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
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


# --- the plain path: no resolver ----------------------------------------------------------------------
# A hot route (POST /v1/tokens/verify) answers its ordinary requests without the resolver's routing,
# middleware and pydantic validation, which cost several times the route's own work. Each helper
# answers None for anything out of the ordinary; the route then hands the event to its resolver,
# which applies every check and answers every error exactly as for any other route. The answers
# below are what the resolver builds for an HTTP API (payload 2.0); a test compares the two.


def plain_json_object(event: dict[str, Any], max_bytes: int | None = None) -> dict[str, Any] | None:
    """The body as a JSON object, when it is a plain one: not base64, within the size limit, sent as
    JSON, valid UTF-8 and JSON. None otherwise (the resolver then says what is wrong)."""
    raw = event.get("body")
    if not raw or event.get("isBase64Encoded") or not isinstance(raw, str):
        return None
    content_type = (_event_header(event, "content-type") or "").split(";")[0].strip().lower()
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
    return _answer(status, "application/json", json.dumps(body, ensure_ascii=False, separators=(",", ":")), headers)


def error_answer(error: Exception, event: dict[str, Any]) -> dict[str, Any]:
    """What the resolver's exception handlers answer for ``error``, built without the resolver."""
    problem = error if isinstance(error, TokensmithError) else unexpected_problem(error)
    return _answer(problem.status, "application/problem+json", _problem_body(problem, event), problem.headers)


def _answer(status: int, content_type: str, body: str, headers: dict[str, str] | None) -> dict[str, Any]:
    return {
        "statusCode": status,
        "body": body,
        "isBase64Encoded": False,
        "headers": {**_COMMON_HEADERS, **(headers or {}), "Content-Type": content_type},
        "cookies": [],
    }


# --- internals --------------------------------------------------------------------------------------


def _header(app: APIGatewayHttpResolver, name: str) -> str | None:
    return _event_header(app.current_event.raw_event, name)


def _event_header(event: dict[str, Any], name: str) -> str | None:
    headers = event.get("headers") or {}
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
