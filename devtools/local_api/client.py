"""Requests to a Gateway from this process, without sockets: what tests use to drive the local API.

The request goes through everything `LocalApiServer` hands it to (route selection, the 2.0 event, the
authorizer, the function, the response mapping, the gateway's own 401/403/404/413/500 answers); only the
HTTP parsing is left out. Nothing is started: no server, no scheduler timer, no event source.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from devtools.local_api.events import IncomingRequest, build_http_event
from devtools.local_api.gateway import Gateway
from devtools.local_api.responses import GatewayResponse

Headers = Mapping[str, str] | Iterable[tuple[str, str]]


@dataclass
class ClientResponse:
    """A gateway's response, decoded: header names lower-cased (repeats joined with ","), the
    `Set-Cookie` headers in `cookies`, the body as bytes and as text."""

    status: int
    headers: dict[str, str]
    content: bytes
    cookies: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, response: GatewayResponse) -> ClientResponse:
        headers: dict[str, str] = {}
        cookies: list[str] = []
        for name, value in response.headers:
            key = name.lower()
            if key == "set-cookie":
                cookies.append(value)
            else:
                headers[key] = f"{headers[key]},{value}" if key in headers else value
        return cls(response.status, headers, response.body, cookies)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.content)


class InProcessClient:
    """Sends requests to `gateway.handle`, as its HTTP server would: `client.request("GET", "/v1/x?a=1")`."""

    def __init__(self, gateway: Gateway, source_ip: str = "127.0.0.1") -> None:
        self.gateway = gateway
        self.source_ip = source_ip

    def incoming(
        self, method: str, target: str, headers: Headers = (), body: bytes | str = b"", source_ip: str | None = None
    ) -> IncomingRequest:
        """The request as the server would hand it to the gateway; `target` is the path and query."""
        parts = urlsplit(target)
        pairs = tuple(headers.items() if isinstance(headers, Mapping) else headers)
        return IncomingRequest(
            method=method.upper(),
            raw_path=parts.path or "/",
            raw_query_string=parts.query,
            headers=tuple((str(name), str(value)) for name, value in pairs),
            body=body.encode("utf-8") if isinstance(body, str) else bytes(body),
            source_ip=source_ip or self.source_ip,
        )

    def request(
        self,
        method: str,
        target: str,
        headers: Headers = (),
        body: bytes | str = b"",
        source_ip: str | None = None,
        authorizer_context: dict[str, Any] | None = None,
    ) -> ClientResponse:
        """`authorizer_context`: skip the route's authorizer and hand the function this context."""
        request = self.incoming(method, target, headers, body, source_ip)
        response = ClientResponse.of(self.gateway.handle(request, authorizer_context=authorizer_context))
        if request.method == "HEAD":
            response.content = b""  # as the server sends it
        return response

    def authorizer_answer(self, method: str, target: str, headers: Headers = (), source_ip: str | None = None) -> Any:
        """What the authorizer answers for this request, as it answered it (its decision is not applied)."""
        request = self.incoming(method, target, headers, source_ip=source_ip)
        match = self.gateway.route_table.match(request.method, request.raw_path)
        if match is None or self.gateway.authorizer is None:
            raise LookupError(f"no authorized route for {request.method} {request.raw_path}")
        return self.gateway.authorizer.call(request, build_http_event(request, match))

    def warm(self, *route_keys: str) -> None:
        """Import the functions of these routes ("GET /v1/things/{id}"; default: every route) and the
        authorizer now, as warm instances."""
        routes = [route for route in self.gateway.routes if not route_keys or route.route_key in route_keys]
        missing = set(route_keys) - {route.route_key for route in routes}
        if missing:
            raise KeyError(f"no such route: {', '.join(sorted(missing))}")
        functions = [self.gateway.functions[route.function_id] for route in routes]
        if self.gateway.authorizer is not None:
            functions.append(self.gateway.authorizer.function)
        for function in functions:
            self.gateway.runtime.loader.handler(function)
