"""A local stand-in for the HTTP API: serves every route of template.yaml in-process, without Docker.

It behaves like API Gateway's HTTP API with Lambda proxy integrations (payload format 2.0) and a Lambda
REQUEST authorizer: the same route selection, event shape, 401/403/404/413/500 answers and response mapping.
All functions share this one process: they are imported from `<CodeUri>/<handler module>.py` on first use
and invoked one at a time (one warm "container" for the whole API), with the environment from the template.
The authorizer is called as the template's identity sources say: a request lacking one (absent or empty)
is a 401 `{"message":"Unauthorized"}` without a call (the template's is the Authorization header); with
none, every request of an authorized route calls it. Not emulated: authorizer result caching, throttling,
CORS, Lambda timeouts (only reported), per-function environment differences.

The template's scheduled functions (`Schedule`/`ScheduleV2` events) run through the same invoke, on their
rate once `gateway.scheduler.start()` is called (see devtools.local_scheduler), and on demand through
local-only routes that are not in the template and never shadow one of its routes:

    GET  /__local/schedules                         every schedule, its expression, last run and result
    GET  /__local/schedules/<FunctionId>[/<Event>]  one of them
    POST /__local/schedules/<FunctionId>[/<Event>]  run it once now: 200 {"function", "result"}

Given an OpenAPI document (`Gateway(openapi=...)`; `serve_in_thread` and `make run` give the one built from
the code by devtools.openapi), it also serves, under the same rule (a template route always wins):

    GET  /openapi.json                              the document, its `servers` naming this server
    GET  /docs                                      Swagger UI for it (also /docs?format=json: the document)
    GET  /docs/swagger-ui-bundle.min.js, /docs/swagger-ui.min.css
                                                    Swagger UI's assets, as Powertools ships them: no CDN
"""

from __future__ import annotations

import base64
import binascii
import copy
import importlib.util
import itertools
import json
import os
import secrets
import signal
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any, cast
from urllib.parse import parse_qsl, unquote, urlsplit

from devtools.local_aws import LOCAL_CREDENTIALS, REGION
from devtools.local_scheduler import LocalScheduler
from devtools.template import (
    DEFAULT_TEMPLATE,
    PSEUDO_PARAMETERS,
    AuthorizerSpec,
    HttpRoute,
    ScheduledFunction,
    TemplateError,
    default_authorizer,
    function_environment,
    function_properties,
    http_routes,
    load_template,
    resources_of_type,
    scheduled_functions,
)

ACCOUNT_ID = PSEUDO_PARAMETERS["AWS::AccountId"]
STACK_NAME = PSEUDO_PARAMETERS["AWS::StackName"]
API_ID = "localapi"
STAGE = "$default"
DEFAULT_PORT = 3000
MAX_REQUEST_BYTES = 10 * 1024 * 1024  # HTTP API's request payload quota: 10 MiB
# HTTP API hands these content types to Lambda as text; every other body (none given included) is base64.
TEXT_MEDIA_TYPES = frozenset({"application/json", "application/xml", "application/javascript"})
LOCAL_SCHEDULES_PATH = "/__local/schedules"  # local-only routes of the gateway (see the module's docstring)
OPENAPI_PATH = "/openapi.json"
DOCS_PATH = "/docs"
# Swagger UI's files as Powertools ships them (aws_lambda_powertools/event_handler/openapi/swagger_ui/).
SWAGGER_UI_ASSETS = {
    "swagger-ui-bundle.min.js": "text/javascript; charset=utf-8",
    "swagger-ui.min.css": "text/css; charset=utf-8",
}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# --- route selection ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RouteMatch:
    route: HttpRoute
    path_parameters: dict[str, str]


@dataclass(frozen=True)
class _CompiledRoute:
    route: HttpRoute
    segments: tuple[tuple[str, str], ...]  # ("static", text) | ("param", name) | ("greedy", name)

    @property
    def greedy(self) -> bool:
        return bool(self.segments) and self.segments[-1][0] == "greedy"


def _compile(route: HttpRoute) -> _CompiledRoute:
    segments: list[tuple[str, str]] = []
    parts = route.path.strip("/").split("/") if route.path.strip("/") else []
    for index, part in enumerate(parts):
        if part.startswith("{") and part.endswith("+}"):
            if index != len(parts) - 1:
                raise ValueError(f"{route.route_key}: a greedy path variable must be the last segment")
            segments.append(("greedy", part[1:-2]))
        elif part.startswith("{") and part.endswith("}"):
            segments.append(("param", part[1:-1]))
        else:
            segments.append(("static", part))
    return _CompiledRoute(route, tuple(segments))


_SEGMENT_RANK = {"static": 0, "param": 1, "greedy": 2}


class RouteTable:
    """Selects a route the way HTTP API does: exact paths (static segments before `{param}`), then greedy
    `{proxy+}` paths, then `$default`; a method-specific route before `ANY`; a wrong method is a 404."""

    def __init__(self, routes: list[HttpRoute]) -> None:
        self._default = [route for route in routes if route.path == "$default"]
        self._routes = [_compile(route) for route in routes if route.path != "$default"]

    def match(self, method: str, raw_path: str) -> RouteMatch | None:
        method = method.upper()
        raw_segments = raw_path.strip("/").split("/") if raw_path.strip("/") else []
        if raw_path.endswith("/") and raw_path != "/":
            raw_segments.append("")  # "/v1/tokens/" is not "/v1/tokens"
        candidates: list[tuple[tuple[Any, ...], RouteMatch]] = []
        for compiled in self._routes:
            if compiled.route.method not in (method, "ANY"):
                continue
            parameters = _match_segments(compiled, raw_segments)
            if parameters is None:
                continue
            rank = (
                compiled.greedy,
                tuple(_SEGMENT_RANK[kind] for kind, _ in compiled.segments),
                compiled.route.method == "ANY",
            )
            candidates.append((rank, RouteMatch(compiled.route, parameters)))
        if candidates:
            return min(candidates, key=lambda candidate: candidate[0])[1]
        for route in sorted(self._default, key=lambda route: route.method == "ANY"):
            if route.method in (method, "ANY"):
                return RouteMatch(route, {})
        return None


def _match_segments(compiled: _CompiledRoute, raw_segments: list[str]) -> dict[str, str] | None:
    parameters: dict[str, str] = {}
    segments = compiled.segments
    if compiled.greedy:
        if len(raw_segments) < len(segments):
            return None
    elif len(raw_segments) != len(segments):
        return None
    for index, (kind, text) in enumerate(segments):
        if kind == "greedy":
            rest = raw_segments[index:]
            if not any(rest):
                return None
            parameters[text] = unquote("/".join(rest))
            break
        raw = raw_segments[index]
        value = unquote(raw)
        if kind == "static":
            if value != text:
                return None
        elif not value:
            return None
        else:
            parameters[text] = value
    return parameters


# --- events --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IncomingRequest:
    """An HTTP request as the gateway received it."""

    method: str
    raw_path: str
    raw_query_string: str = ""
    headers: tuple[tuple[str, str], ...] = ()  # as received: original case, repeats kept
    body: bytes = b""
    source_ip: str = "127.0.0.1"
    protocol: str = "HTTP/1.1"

    def header(self, name: str) -> str | None:
        """The first value of a header, by case-insensitive name."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)


def event_headers(request: IncomingRequest) -> tuple[dict[str, str], list[str]]:
    """(headers, cookies) as HTTP API puts them into a 2.0 event: names lower-cased, repeats joined with
    ",", Cookie headers taken out of the headers and split into the cookies list."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        key = name.lower()
        if key == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
        elif key in headers:
            headers[key] = f"{headers[key]},{value}"
        else:
            headers[key] = value
    forwarded_for = headers.get("x-forwarded-for")
    headers["x-forwarded-for"] = f"{forwarded_for}, {request.source_ip}" if forwarded_for else request.source_ip
    headers.setdefault("x-forwarded-proto", "http")
    host = headers.get("host", "")
    if host.rpartition(":")[2].isdigit():
        headers.setdefault("x-forwarded-port", host.rpartition(":")[2])
    headers.setdefault("x-amzn-trace-id", f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}")
    return headers, cookies


def query_string_parameters(raw_query_string: str) -> dict[str, str]:
    """Decoded query parameters; a repeated key's values joined with "," (payload 2.0)."""
    parameters: dict[str, str] = {}
    for key, value in parse_qsl(raw_query_string, keep_blank_values=True):
        parameters[key] = f"{parameters[key]},{value}" if key in parameters else value
    return parameters


def event_body(body: bytes, content_type: str | None) -> tuple[str | None, bool]:
    """(body, isBase64Encoded): text for text media types that are valid UTF-8, else base64."""
    if not body:
        return None, False
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type.startswith("text/") or media_type in TEXT_MEDIA_TYPES:
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode("ascii"), True


def request_context(
    request: IncomingRequest, route_key: str, request_id: str, now: float, headers: dict[str, str]
) -> dict[str, Any]:
    """The requestContext of a 2.0 event (authorizer added later, by the gateway)."""
    domain_name = headers.get("host", "localhost").rsplit(":", 1)[0] or "localhost"
    moment = time.gmtime(now)
    return {
        "accountId": ACCOUNT_ID,
        "apiId": API_ID,
        "domainName": domain_name,
        "domainPrefix": domain_name.split(".", 1)[0],
        "http": {
            "method": request.method.upper(),
            "path": request.raw_path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": route_key,
        "stage": STAGE,
        "time": (
            f"{moment.tm_mday:02d}/{_MONTHS[moment.tm_mon - 1]}/{moment.tm_year}:"
            f"{moment.tm_hour:02d}:{moment.tm_min:02d}:{moment.tm_sec:02d} +0000"
        ),
        "timeEpoch": int(now * 1000),
    }


def build_http_event(
    request: IncomingRequest, match: RouteMatch, request_id: str | None = None, now: float | None = None
) -> dict[str, Any]:
    """The payload format 2.0 event API Gateway would send to the route's function."""
    request_id = request_id or str(uuid.uuid4())
    now = time.time() if now is None else now
    headers, cookies = event_headers(request)
    body, is_base64 = event_body(request.body, headers.get("content-type"))
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": match.route.route_key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query_string,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    query = query_string_parameters(request.raw_query_string)
    if query:
        event["queryStringParameters"] = query
    event["requestContext"] = request_context(request, match.route.route_key, request_id, now, headers)
    if match.path_parameters:
        event["pathParameters"] = dict(match.path_parameters)
    if body is not None:
        event["body"] = body
    event["isBase64Encoded"] = is_base64
    return event


def route_arn(request: IncomingRequest) -> str:
    return f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{API_ID}/{STAGE}/{request.method.upper()}{request.raw_path}"


def build_authorizer_event(
    request: IncomingRequest, function_event: dict[str, Any], identity_source: list[str]
) -> dict[str, Any]:
    """The REQUEST authorizer event (format 2.0) for a request whose function event is `function_event`."""
    event: dict[str, Any] = {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": route_arn(request),
        "identitySource": identity_source or None,  # none configured: null
        "routeKey": function_event["routeKey"],
        "rawPath": function_event["rawPath"],
        "rawQueryString": function_event["rawQueryString"],
    }
    for key in ("cookies", "headers", "queryStringParameters"):
        if key in function_event:
            event[key] = function_event[key]
    event["requestContext"] = function_event["requestContext"]
    if "pathParameters" in function_event:
        event["pathParameters"] = function_event["pathParameters"]
    return copy.deepcopy(event)  # the authorizer gets its own copy, as it would in AWS


# --- Lambda ------------------------------------------------------------------------------------------------


@dataclass
class LambdaContext:
    """What the Lambda runtime passes as `context`."""

    function_name: str
    memory_limit_in_mb: int
    timeout_seconds: float
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    identity: Any = None
    client_context: Any = None
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return time.strftime("%Y/%m/%d/[$LATEST]", time.gmtime()) + "local"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_seconds - (time.monotonic() - self.started)) * 1000))


@dataclass(frozen=True)
class LambdaFunction:
    """A function of the template, as the gateway invokes it."""

    function_id: str
    code_uri: str
    handler: str
    memory_mb: int = 128
    timeout_seconds: float = 3.0


class FunctionLoader:
    """Imports each handler module once, lazily, from `<code_root>/<CodeUri>/<module>.py`, under a unique name."""

    _module_numbers = itertools.count(1)

    def __init__(self, code_root: Path) -> None:
        self.code_root = code_root
        self._handlers: dict[tuple[str, str], Callable[[dict[str, Any], Any], Any]] = {}
        self._lock = threading.Lock()

    def handler(self, function: LambdaFunction) -> Callable[[dict[str, Any], Any], Any]:
        key = (function.code_uri, function.handler)
        with self._lock:
            if key not in self._handlers:
                self._handlers[key] = self._load(function)
            return self._handlers[key]

    def _load(self, function: LambdaFunction) -> Callable[[dict[str, Any], Any], Any]:
        module_path, _, attribute = function.handler.rpartition(".")
        if not module_path:
            raise ValueError(f"{function.function_id}: Handler {function.handler!r} is not <module>.<function>")
        source = self.code_root / function.code_uri / (module_path.replace(".", "/") + ".py")
        name = f"_local_lambda_{next(self._module_numbers)}_{function.function_id}"
        spec = importlib.util.spec_from_file_location(name, source)
        if spec is None or spec.loader is None:
            raise ImportError(f"{function.function_id}: cannot import {source}")
        module: ModuleType = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # pydantic and dataclasses look their module up by name
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
        handler = getattr(module, attribute, None)
        if not callable(handler):
            raise AttributeError(f"{function.function_id}: {source} has no function {attribute!r}")  # noqa: TRY004
        return cast(Callable[[dict[str, Any], Any], Any], handler)


class LambdaResponseError(ValueError):
    """The function answered something API Gateway cannot turn into an HTTP response."""


@dataclass
class GatewayResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def _message_response(status: int, message: str, request_id: str = "") -> GatewayResponse:
    headers = [("Content-Type", "application/json")]
    if request_id:
        headers.append(("apigw-requestid", request_id))
    return GatewayResponse(status, headers, json.dumps({"message": message}, separators=(",", ":")).encode())


def _json_response(status: int, body: Any, request_id: str = "", allow: str = "") -> GatewayResponse:
    return _content_response(status, "application/json", json.dumps(body).encode(), request_id, allow)


def _content_response(
    status: int, content_type: str, body: bytes, request_id: str = "", allow: str = ""
) -> GatewayResponse:
    headers = [("Content-Type", content_type)]
    if allow:
        headers.append(("Allow", allow))
    if request_id:
        headers.append(("apigw-requestid", request_id))
    return GatewayResponse(status, headers, body)


def swagger_ui_directory() -> Path:
    """Where Powertools keeps Swagger UI's files."""
    from aws_lambda_powertools.event_handler.openapi import swagger_ui

    return Path(swagger_ui.__file__).parent


def swagger_ui_html(title: str = "API documentation") -> str:
    """The Swagger UI page: it loads the document from /openapi.json and its assets from /docs/, nothing
    from elsewhere (no CDN, and `validatorUrl: null` so it does not send the document to swagger.io)."""
    from html import escape

    return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{escape(title)}</title>
  <link rel="stylesheet" type="text/css" href="{DOCS_PATH}/swagger-ui.min.css">
</head>
<body>
  <div id="swagger-ui">Loading ...</div>
  <script src="{DOCS_PATH}/swagger-ui-bundle.min.js"></script>
  <script>
    window.ui = SwaggerUIBundle({{
      url: "{OPENAPI_PATH}",
      dom_id: "#swagger-ui",
      deepLinking: true,
      docExpansion: "list",
      filter: true,
      persistAuthorization: true,
      showExtensions: true,
      showCommonExtensions: true,
      validatorUrl: null,
      presets: [SwaggerUIBundle.presets.apis],
      layout: "BaseLayout"
    }});
  </script>
</body>
</html>
"""


def map_lambda_response(result: Any) -> GatewayResponse:
    """Turn a function's return value into an HTTP response, as HTTP API does for payload format 2.0."""
    try:
        result = json.loads(json.dumps(result))  # what Lambda itself would serialise
    except (TypeError, ValueError) as error:
        raise LambdaResponseError(f"the function's result is not JSON-serialisable: {error}") from error
    if not isinstance(result, dict) or "statusCode" not in result:
        return GatewayResponse(200, [("Content-Type", "application/json")], json.dumps(result).encode())
    try:
        status = int(result["statusCode"])
    except (TypeError, ValueError) as error:
        raise LambdaResponseError(f"statusCode {result['statusCode']!r} is not a number") from error
    if not 100 <= status <= 599:
        raise LambdaResponseError(f"statusCode {status} is not an HTTP status")
    headers: list[tuple[str, str]] = []
    for name, value in (result.get("headers") or {}).items():
        headers.append((str(name), _header_value(value)))
    for name, values in (result.get("multiValueHeaders") or {}).items():
        for value in values if isinstance(values, list) else [values]:
            headers.append((str(name), _header_value(value)))
    for cookie in result.get("cookies") or []:
        headers.append(("Set-Cookie", str(cookie)))
    body = result.get("body")
    if body is None:
        payload = b""
    elif not isinstance(body, str):
        raise LambdaResponseError(f"body must be a string, not {type(body).__name__}")
    elif result.get("isBase64Encoded"):
        try:
            payload = base64.b64decode(body, validate=True)
        except binascii.Error as error:
            raise LambdaResponseError("isBase64Encoded is true but the body is not base64") from error
    else:
        payload = body.encode("utf-8")
    return GatewayResponse(status, headers, payload)


def _header_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class AuthorizerDecision:
    authorized: bool
    context: dict[str, Any]


def interpret_authorizer_response(result: Any, simple_responses: bool, arn: str) -> AuthorizerDecision:
    """Read an authorizer's answer: a simple `{isAuthorized, context}` or an IAM policy document."""
    if not isinstance(result, dict):
        raise LambdaResponseError(f"authorizer answered {type(result).__name__}, not an object")
    context = result.get("context") or {}
    if not isinstance(context, dict):
        raise LambdaResponseError("authorizer context must be an object")
    if simple_responses and "isAuthorized" in result:
        if not isinstance(result["isAuthorized"], bool):
            raise LambdaResponseError("isAuthorized must be true or false")
        return AuthorizerDecision(result["isAuthorized"], context)
    statements = (result.get("policyDocument") or {}).get("Statement")
    if not isinstance(statements, list):
        raise LambdaResponseError("authorizer answered neither isAuthorized nor a policyDocument")
    effects = set()
    for statement in statements:
        resources = statement.get("Resource", [])
        resources = resources if isinstance(resources, list) else [resources]
        if any(fnmatchcase(arn, str(resource)) for resource in resources):
            effects.add(statement.get("Effect"))
    return AuthorizerDecision("Allow" in effects and "Deny" not in effects, context)


# --- the gateway -----------------------------------------------------------------------------------------


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class Gateway:
    """Routes, authorizes and invokes; knows nothing about sockets (see `LocalApiServer`).

    `self.scheduler` holds the template's scheduled functions; its timers run only once started.
    `schedule_interval` (seconds) replaces every schedule's own interval.
    """

    _invoke_lock = threading.Lock()  # one invocation at a time: handlers share process-global state

    def __init__(
        self,
        template: dict[str, Any],
        code_root: Path,
        parameter_overrides: dict[str, str] | None = None,
        schedule_interval: float | None = None,
        schedule_log: bool = True,
        openapi: dict[str, Any] | Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        """`openapi`: the document to serve on /openapi.json and /docs, or a function that builds it (called
        once, on the first request for it); None: no such routes."""
        self._openapi = openapi
        self._openapi_lock = threading.Lock()
        self._assets: dict[str, bytes] = {}
        self.routes = http_routes(template)
        self.route_table = RouteTable(self.routes)
        self.loader = FunctionLoader(code_root)
        self.functions = {
            route.function_id: self._lambda_function(template, route.function_id, route.code_uri, route.handler)
            for route in self.routes
        }
        self.authorizer: AuthorizerSpec | None = None
        self.authorizer_function: LambdaFunction | None = None
        if any(route.authorized for route in self.routes):
            self.authorizer = default_authorizer(template)
            self.authorizer_function = self._lambda_function(
                template, self.authorizer.function_id, self.authorizer.code_uri, self.authorizer.handler
            )
        self.events: Any = None  # the EventSourcePump, once start_event_sources() is called
        self.scheduler = LocalScheduler(
            scheduled_functions(template, parameter_overrides),
            self.invoke_scheduled,
            interval_override=schedule_interval,
            log=schedule_log,
        )

    @staticmethod
    def _lambda_function(template: dict[str, Any], function_id: str, code_uri: str, handler: str) -> LambdaFunction:
        properties = function_properties(template, function_id)
        memory, timeout = properties.get("MemorySize", 128), properties.get("Timeout", 3)
        return LambdaFunction(
            function_id=function_id,
            code_uri=code_uri,
            handler=handler,
            memory_mb=int(memory) if isinstance(memory, (int, str)) and str(memory).isdigit() else 128,
            timeout_seconds=float(timeout) if isinstance(timeout, (int, float)) else 3.0,
        )

    def invoke(self, function: LambdaFunction, event: dict[str, Any]) -> Any:
        """Call a handler as Lambda would (exceptions propagate)."""
        handler = self.loader.handler(function)
        with self._invoke_lock:
            context = LambdaContext(
                function_name=f"{STACK_NAME}-{function.function_id}",
                memory_limit_in_mb=function.memory_mb,
                timeout_seconds=function.timeout_seconds,
            )
            started = context.started
            try:
                return handler(event, context)
            finally:
                elapsed = time.monotonic() - started
                if elapsed > function.timeout_seconds:
                    _log(
                        f"WARNING {function.function_id} ran {elapsed:.1f}s, longer than its Timeout of "
                        f"{function.timeout_seconds:g}s: Lambda would have stopped it"
                    )

    def start_event_sources(
        self,
        template: dict[str, Any],
        refs: dict[str, str],
        dynamodb_endpoint_url: str,
        aws_endpoint_url: str,
        table_name: str,
        log: bool = True,
    ) -> None:
        """Feed the template's DynamoDB-stream and SQS functions (devtools.local_events), through `invoke`."""
        from devtools.local_events import EventSourcePump, event_sources

        def invoke(source: Any, event: dict[str, Any]) -> Any:
            function = LambdaFunction(
                source.function_id, source.code_uri, source.handler, source.memory_mb, source.timeout_seconds
            )
            return self.invoke(function, event)

        self.events = EventSourcePump(
            event_sources(template, refs), invoke, dynamodb_endpoint_url, aws_endpoint_url, table_name, log=log
        )
        self.events.start()

    def stop_event_sources(self) -> None:
        if self.events is not None:
            self.events.stop()

    def invoke_scheduled(self, schedule: ScheduledFunction, event: Any) -> Any:
        """Call a scheduled function's handler with its scheduler event (same loader, same lock)."""
        function = LambdaFunction(
            function_id=schedule.function_id,
            code_uri=schedule.code_uri,
            handler=schedule.handler,
            memory_mb=schedule.memory_mb,
            timeout_seconds=schedule.timeout_seconds,
        )
        return self.invoke(function, event)

    def handle(self, request: IncomingRequest) -> GatewayResponse:
        request_id = str(uuid.uuid4())
        match = self.route_table.match(request.method, request.raw_path)
        if match is None or match.route.path == "$default":  # the template's own routes come first
            local = self._local_route(request, request_id)
            if local is not None:
                return local
        if match is None:
            return _message_response(404, "Not Found", request_id)
        event = build_http_event(request, match, request_id=request_id)
        if match.route.authorized:
            denied = self._authorize(request, event)
            if denied is not None:
                return denied
        function = self.functions[match.route.function_id]
        try:
            result = self.invoke(function, event)
            response = map_lambda_response(result)
        except Exception:  # noqa: BLE001 - Lambda errors become API Gateway's 500
            _log(f"ERROR {match.route.route_key} ({function.function_id}) failed:\n{traceback.format_exc()}")
            return _message_response(500, "Internal Server Error", request_id)
        response.headers.append(("apigw-requestid", request_id))
        return response

    def openapi_document(self, base_url: str | None = None) -> dict[str, Any] | None:
        """The OpenAPI document served on /openapi.json (None without one), its `servers` set to `base_url`."""
        if self._openapi is None:
            return None
        with self._openapi_lock:
            if callable(self._openapi):
                self._openapi = self._openapi()
            document = copy.deepcopy(self._openapi)
        if base_url:
            document["servers"] = [{"url": base_url, "description": "this local server (make run)"}]
        return document

    def _local_route(self, request: IncomingRequest, request_id: str) -> GatewayResponse | None:
        """The answer of a local-only route (schedules, OpenAPI document, Swagger UI), or None when the path
        is not one."""
        if self._openapi is not None:
            docs = self._docs_route(request, request_id)
            if docs is not None:
                return docs
        path = request.raw_path.rstrip("/")
        if path != LOCAL_SCHEDULES_PATH and not path.startswith(LOCAL_SCHEDULES_PATH + "/"):
            return None
        names = [unquote(part) for part in path[len(LOCAL_SCHEDULES_PATH) :].split("/") if part]
        method = request.method.upper()
        if not names:
            if method not in ("GET", "HEAD"):
                return _json_response(405, {"message": "Method Not Allowed"}, request_id, allow="GET")
            return _json_response(200, {"schedules": self.scheduler.describe()}, request_id)
        if len(names) > 2:
            return None
        entry = self.scheduler.find(*names)
        if entry is None:
            known = sorted({entry.function_id for entry in self.scheduler.entries})
            message = f"no scheduled function {'/'.join(names)}"
            return _json_response(404, {"message": message, "schedules": known}, request_id)
        if method in ("GET", "HEAD"):
            return _json_response(200, entry.describe(), request_id)
        if method != "POST":
            return _json_response(405, {"message": "Method Not Allowed"}, request_id, allow="GET, POST")
        run = self.scheduler.run(entry.function_id, entry.schedule.event_id, trigger="manual")
        if not run.ok:
            return _json_response(500, {"function": entry.function_id, **(run.error or {})}, request_id)
        return _json_response(200, {"function": entry.function_id, "result": run.result}, request_id)

    def _docs_route(self, request: IncomingRequest, request_id: str) -> GatewayResponse | None:
        """/openapi.json, /docs and Swagger UI's assets under /docs/; None for any other path."""
        path = request.raw_path
        asset = path.removeprefix(DOCS_PATH + "/") if path.startswith(DOCS_PATH + "/") else None
        if asset not in SWAGGER_UI_ASSETS:
            asset = None
            if path not in (OPENAPI_PATH, DOCS_PATH, DOCS_PATH + "/"):
                return None
        if request.method.upper() not in ("GET", "HEAD"):
            return _json_response(405, {"message": "Method Not Allowed"}, request_id, allow="GET, HEAD")
        if asset is not None:
            if asset not in self._assets:
                self._assets[asset] = (swagger_ui_directory() / asset).read_bytes()
            return _content_response(200, SWAGGER_UI_ASSETS[asset], self._assets[asset], request_id)
        query = dict(parse_qsl(request.raw_query_string))
        if path == OPENAPI_PATH or query.get("format") == "json":
            host = request.header("host")
            document = self.openapi_document(f"http://{host}" if host else None)
            return _content_response(200, "application/json", json.dumps(document).encode(), request_id)
        return _content_response(200, "text/html; charset=utf-8", swagger_ui_html().encode(), request_id)

    def _authorize(self, request: IncomingRequest, event: dict[str, Any]) -> GatewayResponse | None:
        """None when the request may go on (with requestContext.authorizer set), else the refusal.

        As API Gateway does: a request lacking any of the authorizer's identity sources (a header, a query
        parameter) is answered 401 without calling the authorizer; an authorizer without identity sources
        is called for every request."""
        assert self.authorizer is not None and self.authorizer_function is not None
        request_id = event["requestContext"]["requestId"]
        identity: list[str] = []
        query = event.get("queryStringParameters") or {}
        for source in self.authorizer.identity_sources:
            if source.startswith("$request.header."):
                value = request.header(source.removeprefix("$request.header."))
            elif source.startswith("$request.querystring."):
                value = query.get(source.removeprefix("$request.querystring."))
            else:  # $context.* and $stageVariables.*: always there locally
                continue
            if not value:
                return _message_response(401, "Unauthorized", request_id)
            identity.append(value)
        authorizer_event = build_authorizer_event(request, event, identity)
        try:
            result = self.invoke(self.authorizer_function, authorizer_event)
            decision = interpret_authorizer_response(
                result, self.authorizer.simple_responses, authorizer_event["routeArn"]
            )
        except Exception:  # noqa: BLE001
            _log(f"ERROR authorizer {self.authorizer.function_id} failed:\n{traceback.format_exc()}")
            return _message_response(500, "Internal Server Error", request_id)
        if not decision.authorized:
            return _message_response(403, "Forbidden", request_id)
        event["requestContext"]["authorizer"] = {"lambda": decision.context}
        return None


# --- HTTP ----------------------------------------------------------------------------------------------


class _RequestTooLarge(Exception):
    pass


class _BadRequest(Exception):
    pass


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "tokensmith-local-api"
    gateway: Gateway
    access_log: bool = True

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def __getattr__(self, name: str) -> Any:
        # Any other method (TRACE, QUERY, ...) goes through route selection too, and so gets API Gateway's
        # 404 {"message": "Not Found"}, not http.server's HTML 501.
        if name.startswith("do_") and name[3:].isalpha():
            return self._serve
        raise AttributeError(name)

    def _serve(self) -> None:
        try:
            body = self._read_body()
        except _RequestTooLarge:
            self.close_connection = True
            self._send(_message_response(413, "Request Entity Too Large"))
            return
        except _BadRequest:
            self.close_connection = True
            self._send(_message_response(400, "Bad Request"))
            return
        target = urlsplit(self.path)
        request = IncomingRequest(
            method=self.command,
            raw_path=target.path or "/",
            raw_query_string=target.query,
            headers=tuple((name, value) for name, value in self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
            protocol=self.request_version,
        )
        self._send(self.gateway.handle(request))

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length_header = self.headers.get("Content-Length")
        if not length_header:
            return b""
        try:
            length = int(length_header)
        except ValueError:
            raise _BadRequest from None
        if length < 0:
            raise _BadRequest
        if length > MAX_REQUEST_BYTES:
            self._discard(length)
            raise _RequestTooLarge
        return self.rfile.read(length)

    def _discard(self, length: int) -> None:
        """Read and drop a too-large body (up to a bound), so the client gets to read our 413."""
        remaining = min(length, 4 * MAX_REQUEST_BYTES)
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 1 << 16))
            if not chunk:
                return
            remaining -= len(chunk)

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            size_line = self.rfile.readline(1024).split(b";", 1)[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                raise _BadRequest from None
            if size == 0:
                while self.rfile.readline(1024).strip():  # trailers
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_REQUEST_BYTES:
                raise _RequestTooLarge
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)  # the CRLF after each chunk

    def _send(self, response: GatewayResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def version_string(self) -> str:
        return self.server_version

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if self.access_log:
            _log(f"{self.client_address[0]} {self.command} {self.path} -> {code}")

    def log_message(self, format: str, *args: Any) -> None:  # http.server's signature
        if self.access_log:
            _log(f"{self.client_address[0]} {format % args}")


class LocalApiServer:
    """A ThreadingHTTPServer for a Gateway, run in a daemon thread."""

    def __init__(
        self, gateway: Gateway, host: str = "127.0.0.1", port: int = DEFAULT_PORT, access_log: bool = True
    ) -> None:
        handler = type("BoundRequestHandler", (_RequestHandler,), {"gateway": gateway, "access_log": access_log})
        self.gateway = gateway
        self.host = host
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def scheduler(self) -> LocalScheduler:
        return self.gateway.scheduler

    def run_schedule(self, function_id: str, event_id: str | None = None) -> Any:
        """Run a scheduled function once, now, in this thread: what its handler returned, or its exception
        raised; KeyError when the template has no such schedule."""
        run = self.gateway.scheduler.run(function_id, event_id, trigger="manual")
        if run.exception is not None:
            raise run.exception
        return run.result

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, name="local-api", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self.httpd.server_close()


# --- environment and entry points ------------------------------------------------------------------------

# Never let a local run reach a real AWS account with the developer's own credentials.
_REMOVED_VARIABLES = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")


def local_environment(
    template: dict[str, Any],
    endpoint_url: str,
    table_name: str,
    parameter_overrides: dict[str, str] | None = None,
    refs: dict[str, str] | None = None,
    table_logical_id: str = "TokensTable",
    aws_endpoint_url: str | None = None,
) -> dict[str, str]:
    """The variables every handler sees: the template's Globals, every function's own variables that
    resolve (all functions share this one process), the local endpoints and dummy credentials.
    `aws_endpoint_url` (AWS_ENDPOINT_URL) sends every other AWS client (EventBridge, SQS, KMS) to moto."""
    from devtools.local_events import LOCAL_PARAMETER_OVERRIDES

    tables = list(resources_of_type(template, "AWS::DynamoDB::Table"))
    if table_logical_id not in tables and len(tables) == 1:
        table_logical_id = tables[0]  # a template with one table: that one
    table_arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{table_name}"
    all_refs = {table_logical_id: table_name, f"{table_logical_id}.Arn": table_arn, **(refs or {})}
    overrides = {**LOCAL_PARAMETER_OVERRIDES, **(parameter_overrides or {})}
    environment = function_environment(template, overrides, all_refs)
    for function_id in resources_of_type(template, "AWS::Serverless::Function"):
        own = (function_properties(template, function_id).get("Environment") or {}).get("Variables") or {}
        for name in own:
            if name in environment:
                continue
            try:
                environment.update(
                    {name: function_environment(template, overrides, all_refs, function_id=function_id)[name]}
                )
            except TemplateError:
                continue  # names a resource this local run did not create
    environment.setdefault("POWERTOOLS_SERVICE_NAME", "tokensmith")
    environment.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Tokensmith")
    environment.update(
        {
            "TABLE_NAME": table_name,
            "DYNAMODB_ENDPOINT_URL": endpoint_url,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            **LOCAL_CREDENTIALS,
            "AWS_SAM_LOCAL": "true",
            "POWERTOOLS_TRACE_DISABLED": "true",
        }
    )
    if aws_endpoint_url:
        environment["AWS_ENDPOINT_URL"] = aws_endpoint_url
    return environment


@contextmanager
def applied_environment(environment: dict[str, str]) -> Iterator[None]:
    """Set `environment` into os.environ (dropping real AWS profile/session variables); restore on exit."""
    saved = dict(os.environ)
    for name in _REMOVED_VARIABLES:
        os.environ.pop(name, None)
    os.environ.update(environment)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextmanager
def serve_in_thread(
    endpoint_url: str,
    table_name: str = "tokensmith-local",
    template: dict[str, Any] | None = None,
    code_root: Path | None = None,
    parameter_overrides: dict[str, str] | None = None,
    refs: dict[str, str] | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    access_log: bool = False,
    schedules: bool = False,
    schedule_interval: float | None = None,
    openapi: dict[str, Any] | Callable[[], dict[str, Any]] | None = None,
    aws_endpoint_url: str | None = None,
    event_sources: bool = False,
) -> Iterator[LocalApiServer]:
    """For tests: serve `template` (default: template.yaml) on a free port; yield the server (`.base_url`).

    `code_root` is where CodeUri paths start (default: the project root). os.environ is restored on exit.
    Scheduled functions run only when asked: `server.run_schedule("Id")`, `POST /__local/schedules/Id`, or,
    with `schedules=True`, on their interval (`schedule_interval` seconds, if given), stopped on exit.
    `openapi` is the document of /openapi.json and /docs (see `Gateway`); with the default template, the
    default is devtools.openapi's, built from the code on the first request for it.
    `aws_endpoint_url`: a moto server in which the template's buses, rules, queues and keys are created
    (devtools.local_events) and to which every other AWS client goes; with `event_sources`, the table's
    stream and the queues also feed their functions (`server.gateway.events`), as in `make run`.
    """
    if template is None:
        template = load_template(DEFAULT_TEMPLATE)
        code_root = code_root or DEFAULT_TEMPLATE.parent
        if openapi is None:
            from devtools.openapi import build_document

            openapi = build_document
    code_root = code_root or DEFAULT_TEMPLATE.parent
    if aws_endpoint_url:
        from devtools.local_events import provision

        refs = provision(template, aws_endpoint_url, refs or {}, parameter_overrides)
    environment = local_environment(
        template, endpoint_url, table_name, parameter_overrides, refs, aws_endpoint_url=aws_endpoint_url
    )
    with applied_environment(environment):
        gateway = Gateway(
            template,
            code_root,
            parameter_overrides,
            schedule_interval=schedule_interval,
            openapi=openapi,
        )
        server = LocalApiServer(gateway, host=host, port=port, access_log=access_log)
        server.start()
        try:
            if schedules:
                gateway.scheduler.start()
            if event_sources and aws_endpoint_url:
                gateway.start_event_sources(template, refs or {}, endpoint_url, aws_endpoint_url, table_name)
            yield server
        finally:
            gateway.stop_event_sources()
            gateway.scheduler.stop()
            server.stop()


def wait_for_stop_signal() -> None:
    """Block the main thread until SIGINT (Ctrl-C) or SIGTERM arrives."""
    stop = threading.Event()

    def request_stop(signum: int, frame: Any) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
