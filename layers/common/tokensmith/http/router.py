"""The dispatcher of every API function: its route, declared as on a Powertools router
(``@router.post(path, **operation(...))``), answered without importing Powertools' event handler.

An API function serves one route. Importing Powertools' ``APIGatewayHttpResolver`` (its event handler
package, OpenAPI validation machinery, event data classes and ``asyncio``) cost about a fifth of each
function's cold start; the little of it the functions use is here: match the method and path
(Powertools' own pattern for ``<name>`` segments), bind the path parameters, the JSON body and the
query parameters from the route's signature (``tokensmith.http.binding``), and build the payload 2.0
answer as Powertools builds it for an HTTP API. Every error answers problem+json
(``tokensmith.http.problems``). Powertools' router is still what describes the routes in the OpenAPI
document: ``devtools/openapi.py`` turns each :class:`Router` into one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from tokensmith.errors import NotFound, TokensmithError

# Powertools' rule for a dynamic segment (api_gateway._NAMED_GROUP_BOUNDARY_PATTERN): the same
# characters, so a path matches here exactly when it matched there.
_DYNAMIC_SEGMENT = re.compile(r"(<\w+>)")
_SEGMENT_VALUE = r"(?P\1[-._~()'!*:@,;=+&$%<> \[\]{}|^\\w]+)"  # a replacement template: \\w is \w

Handler = Callable[..., Any]


class Response:
    """An answer with its status, content type, body, headers and cookies (``Set-Cookie`` values), as
    Powertools' ``Response``: a ``content_type`` becomes the ``Content-Type`` header unless the
    headers name one."""

    def __init__(
        self,
        status_code: int,
        content_type: str | None = None,
        body: str | None = None,
        headers: Mapping[str, str | list[str]] | None = None,
        cookies: list[str] | None = None,
    ) -> None:
        self.status_code = status_code
        self.body = body
        self.headers: dict[str, str | list[str]] = dict(headers) if headers else {}
        self.cookies: list[Any] = list(cookies or [])
        if content_type:
            self.headers.setdefault("Content-Type", content_type)


class HttpRequest:
    """The event being answered, read as Powertools' ``APIGatewayProxyEventV2`` reads it (what the
    functions use of it: ``raw_event`` and ``query_string_parameters``)."""

    def __init__(self, event: dict[str, Any]) -> None:
        self.raw_event = event

    @property
    def query_string_parameters(self) -> dict[str, str]:
        return self.raw_event.get("queryStringParameters") or {}

    @property
    def http_method(self) -> str:
        return str(((self.raw_event.get("requestContext") or {}).get("http") or {}).get("method") or "").upper()

    @property
    def path(self) -> str:
        """``rawPath`` without a named stage's prefix, as Powertools routes it."""
        raw_path = str(self.raw_event.get("rawPath") or "")
        stage = (self.raw_event.get("requestContext") or {}).get("stage")
        return raw_path[len("/" + stage) :] if stage and stage != "$default" else raw_path


class Route:
    """One route: its method, its path (``/v1/tokens/<token_id>``), its function and the keyword
    arguments it was declared with (the OpenAPI description, ``openapi_extensions``)."""

    def __init__(self, method: str, path: str, func: Handler, options: dict[str, Any]) -> None:
        self.method, self.path, self.func, self.options = method.upper(), path, func, options
        self.rule = re.compile(f"^{_DYNAMIC_SEGMENT.sub(_SEGMENT_VALUE, path)}$")

    @property
    def openapi_extensions(self) -> dict[str, Any]:
        return self.options.get("openapi_extensions") or {}


class Router:
    """Where a function declares its route; ``current_event`` is the request being answered once its
    :class:`Resolver` runs (what ``principal_of(router)`` and the like read)."""

    def __init__(self) -> None:
        self.routes: list[Route] = []
        self.current_event: HttpRequest | None = None

    def route(self, rule: str, method: str, **options: Any) -> Callable[[Handler], Handler]:
        def register(func: Handler) -> Handler:
            self.routes.append(Route(method, rule, func, options))
            return func

        return register

    def get(self, rule: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route(rule, "GET", **options)

    def post(self, rule: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route(rule, "POST", **options)

    def put(self, rule: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route(rule, "PUT", **options)

    def patch(self, rule: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route(rule, "PATCH", **options)

    def delete(self, rule: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route(rule, "DELETE", **options)


class Resolver(Router):
    """A function's routes and their answers: ``resolve(event, context)`` is the Lambda handler's work."""

    def __init__(self, *routers: Router) -> None:
        super().__init__()
        self._routers = [self, *routers]

    def include_router(self, router: Router) -> None:
        self._routers.append(router)

    @property
    def all_routes(self) -> list[Route]:
        return [route for router in self._routers for route in router.routes]

    def resolve(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        from tokensmith.http.problems import as_problem, problem_response

        request = HttpRequest(event)
        for router in self._routers:
            router.current_event = request
        try:
            response = self._answer(request)
        except TokensmithError as error:
            response = problem_response(error, self)
        except Exception as error:  # anything else: logged, and a 500 problem (a 503 for DynamoDB busy)
            response = problem_response(as_problem(error), self)
        return payload(response)

    def _answer(self, request: HttpRequest) -> Any:
        from tokensmith.http.binding import bound_arguments

        method, path = request.http_method, request.path
        for route in self.all_routes:
            match = route.rule.match(path) if route.method == method else None
            if match is not None:
                arguments = bound_arguments(self, route, match.groupdict())
                return route.func(**arguments)
        raise NotFound("no such route")


def payload(result: Any) -> dict[str, Any]:
    """What API Gateway's HTTP API expects of the function (payload format 2.0), as Powertools' resolver
    builds it: a route's ``Response`` (ours or Powertools'), or a dict (or ``(dict, status)``) as JSON."""
    if not hasattr(result, "status_code"):
        body, status = result if isinstance(result, tuple) and len(result) == 2 else (result, 200)
        result = Response(status, "application/json", json.dumps(body, separators=(",", ":"), default=str))
    headers: dict[str, str] = {}
    for name, value in result.headers.items():
        if value is not None:  # Powertools omits a header set to None, and joins a list's values
            headers[name] = value if isinstance(value, str) else ", ".join(value)
    return {
        "statusCode": int(result.status_code),
        "body": result.body,
        "isBase64Encoded": False,
        "headers": headers,
        "cookies": [str(cookie) for cookie in result.cookies],
    }
