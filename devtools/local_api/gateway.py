"""The gateway: routes a request, builds its event, calls the authorizer and the function, maps the answer.
It knows nothing about sockets: `devtools.local_api.server` serves it over HTTP."""

from __future__ import annotations

import traceback
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from devtools.local_api.authorizer import LambdaAuthorizer
from devtools.local_api.docs import DocsRoutes
from devtools.local_api.events import MAX_REQUEST_BYTES, IncomingRequest, build_http_event
from devtools.local_api.responses import GatewayResponse, map_lambda_response, message_response
from devtools.local_api.routing import RouteTable
from devtools.local_api.runtime import LambdaFunction, LambdaRuntime, log
from devtools.local_api.schedules import schedules_route
from devtools.local_api.throttling import RouteThrottling
from devtools.local_scheduler import LocalScheduler
from devtools.template import (
    ScheduledFunction,
    default_authorizer,
    http_routes,
    route_throttles,
    scheduled_functions,
)


class Gateway:
    """Routes, authorizes and invokes; knows nothing about sockets (see `LocalApiServer`, and
    `InProcessClient` for requests from this process).

    `self.scheduler` holds the template's scheduled functions; its timers run only once started.
    `schedule_interval` (seconds) replaces every schedule's own interval. Constructing a gateway starts
    nothing: no server, no timer, no event source (`start_event_sources`), no import of a function.
    """

    def __init__(
        self,
        template: dict[str, Any],
        code_root: Path,
        parameter_overrides: dict[str, str] | None = None,
        schedule_interval: float | None = None,
        schedule_log: bool = True,
        openapi: dict[str, Any] | Callable[[], dict[str, Any]] | None = None,
        runtime: LambdaRuntime | None = None,
        throttling: bool | RouteThrottling = True,
    ) -> None:
        """`openapi`: the document to serve on /openapi.json and /docs, or a function that builds it (called
        once, on the first request for it); None: no such routes. `runtime`: the functions' modules and
        invocation lock, to share them between gateways (default: a runtime of its own). `throttling`: the
        template's route throttles applied (429), as API Gateway does; False: none (for tests that send
        many requests at once); or a RouteThrottling of the caller's (its own clock)."""
        self.docs = DocsRoutes(openapi) if openapi is not None else None
        self.routes = http_routes(template)
        self.route_table = RouteTable(self.routes)
        self.runtime = runtime or LambdaRuntime(code_root)
        if throttling is True:
            throttling = RouteThrottling(route_throttles(template, parameter_overrides))
        self.throttling = throttling or None
        self.functions = {
            route.function_id: LambdaFunction.of(template, route.function_id, route.code_uri, route.handler)
            for route in self.routes
        }
        self.authorizer: LambdaAuthorizer | None = None
        if any(route.authorized for route in self.routes):
            spec = default_authorizer(template)
            function = LambdaFunction.of(template, spec.function_id, spec.code_uri, spec.handler)
            self.authorizer = LambdaAuthorizer(spec, function, self.invoke)
        self.events: Any = None  # the EventSourcePump, once start_event_sources() is called
        self.scheduler = LocalScheduler(
            scheduled_functions(template, parameter_overrides),
            self.invoke_scheduled,
            interval_override=schedule_interval,
            log=schedule_log,
        )

    def invoke(self, function: LambdaFunction, event: dict[str, Any]) -> Any:
        """Call a handler as Lambda would (exceptions propagate)."""
        return self.runtime.invoke(function, event)

    def invoke_route(self, function: LambdaFunction, event: dict[str, Any]) -> Any:
        """Call a route's function, once its request is authorized (a subclass may surround it: a test
        injecting faults past the authorizer)."""
        return self.invoke(function, event)

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

    def handle(self, request: IncomingRequest, authorizer_context: dict[str, Any] | None = None) -> GatewayResponse:
        """The response to `request`. `authorizer_context`: for tests, the context an authorizer has granted;
        an authorized route then skips its authorizer and gets this context."""
        request_id = str(uuid.uuid4())
        if len(request.body) > MAX_REQUEST_BYTES:
            return message_response(413, "Request Entity Too Large", request_id)
        match = self.route_table.match(request.method, request.raw_path)
        if match is None or match.route.path == "$default":  # the template's own routes come first
            local = self._local_route(request, request_id)
            if local is not None:
                return local
        if match is None:
            return message_response(404, "Not Found", request_id)
        if self.throttling is not None and not self.throttling.admit(match.route.route_key):
            return message_response(429, "Too Many Requests", request_id)  # before the authorizer, as in AWS
        event = build_http_event(request, match, request_id=request_id)
        if match.route.authorized and authorizer_context is not None:
            event["requestContext"]["authorizer"] = {"lambda": dict(authorizer_context)}
        elif match.route.authorized:
            assert self.authorizer is not None
            denied = self.authorizer.authorize(request, event)
            if denied is not None:
                return denied
        function = self.functions[match.route.function_id]
        try:
            result = self.invoke_route(function, event)
            response = map_lambda_response(result)
        except Exception:  # noqa: BLE001 - Lambda errors become API Gateway's 500
            log(f"ERROR {match.route.route_key} ({function.function_id}) failed:\n{traceback.format_exc()}")
            return message_response(500, "Internal Server Error", request_id)
        response.headers.append(("apigw-requestid", request_id))
        return response

    def openapi_document(self, base_url: str | None = None) -> dict[str, Any] | None:
        """The OpenAPI document served on /openapi.json (None without one), its `servers` set to `base_url`."""
        return self.docs.document(base_url) if self.docs is not None else None

    def _local_route(self, request: IncomingRequest, request_id: str) -> GatewayResponse | None:
        """The answer of a local-only route (schedules, OpenAPI document, Swagger UI), or None when the path
        is not one."""
        if self.docs is not None:
            docs = self.docs.answer(request, request_id)
            if docs is not None:
                return docs
        return schedules_route(self.scheduler, request, request_id)
