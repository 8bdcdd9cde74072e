"""Test helpers over devtools' local gateway (devtools.local_api), driven in process, without sockets:
:class:`InProcessApi` sends a request through the gateway's route selection, 2.0 event, authorizer call
and response mapping to the real function handlers; :func:`http_event` is the event the gateway would
build; :func:`load_function` the module the gateway runs (each one imported once per test process)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlencode

from devtools.local_api import runtime
from devtools.local_api.client import ClientResponse, InProcessClient
from devtools.local_api.events import build_http_event
from devtools.local_api.gateway import Gateway
from devtools.template import load_template

ROOT = Path(__file__).resolve().parent.parent
SOURCE_IP = "203.0.113.7"
USER_AGENT = "pytest/1.0"


@lru_cache(maxsize=1)
def template() -> dict[str, Any]:
    return load_template(str(ROOT / "template.yaml"))


@lru_cache(maxsize=1)
def shared_runtime() -> runtime.LambdaRuntime:
    """One warm instance of every function for the whole test process: each module is imported once."""
    return runtime.LambdaRuntime(ROOT)


@lru_cache(maxsize=1)
def shared_gateway() -> Gateway:
    """The gateway of template.yaml over the shared runtime; it starts nothing (no server, no timer).
    Throttling off: these suites send many requests in a row (revoke-leaked's burst is 5); the
    throttles themselves are tested in tests/integration/test_throttling.py."""
    return Gateway(template(), ROOT, schedule_log=False, runtime=shared_runtime(), throttling=False)


def load_function(code_uri: str) -> ModuleType:
    """``<code_uri>/app.py``: the very module the gateway invokes for that function."""
    return shared_runtime().loader.module(code_uri)


class LambdaContext(runtime.LambdaContext):
    """The gateway's Lambda context, with the defaults these tests call handlers with."""

    def __init__(self, function_name: str = "test-function", remaining_millis: int = 10_000) -> None:
        super().__init__(function_name, memory_limit_in_mb=256, timeout_seconds=remaining_millis / 1000)


@dataclass(frozen=True)
class Request:
    """What a test asks for, in the words of :meth:`InProcessApi.request`, as the client sends it."""

    method: str
    path: str
    secret: str | None = None
    body: Any = None
    headers: dict[str, str] | None = None
    query: dict[str, str] | None = None
    raw_body: bytes | str | None = None
    cookies: list[str] | None = None

    @property
    def target(self) -> str:
        return f"{self.path}?{urlencode(self.query)}" if self.query else self.path

    def header_pairs(self) -> list[tuple[str, str]]:
        """The headers as a client sends them: a User-Agent, JSON's Content-Type for ``body``, the bearer
        secret, the cookies in one Cookie header; the test's own headers win."""
        headers = dict(self.headers or {})
        given = {name.lower() for name in headers}
        pairs = [(name, value) for name, value in headers.items()]
        if "user-agent" not in given:
            pairs.append(("User-Agent", USER_AGENT))
        if self.body is not None and self.raw_body is None and "content-type" not in given:
            pairs.append(("Content-Type", "application/json"))
        if self.secret is not None:
            pairs = [(name, value) for name, value in pairs if name.lower() != "authorization"]
            pairs.append(("Authorization", f"Bearer {self.secret}"))
        if self.cookies:
            pairs.append(("Cookie", "; ".join(self.cookies)))
        return pairs

    def payload(self) -> bytes | str:
        if self.raw_body is not None:
            return self.raw_body
        return b"" if self.body is None else json.dumps(self.body)


def http_event(
    method: str,
    path: str,
    route_key: str | None = None,
    path_parameters: dict[str, str] | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    raw_body: bytes | str | None = None,
    source_ip: str = SOURCE_IP,
    cookies: list[str] | None = None,
) -> dict[str, Any]:
    """The payload 2.0 event the gateway builds for this request (before its authorizer runs).
    ``route_key`` and ``path_parameters``, when given, must be what the gateway's routing finds."""
    client = InProcessClient(shared_gateway(), source_ip=source_ip)
    ask = Request(method, path, None, body, headers, query, raw_body, cookies)
    request = client.incoming(method, ask.target, ask.header_pairs(), ask.payload())
    match = shared_gateway().route_table.match(request.method, request.raw_path)
    if match is None:
        raise LookupError(f"no route for {method} {path}")
    if route_key is not None and route_key != match.route.route_key:
        raise ValueError(f"{method} {path} is routed to {match.route.route_key!r}, not {route_key!r}")
    if path_parameters is not None and path_parameters != match.path_parameters:
        raise ValueError(f"{method} {path} has the path parameters {match.path_parameters}, not {path_parameters}")
    return build_http_event(request, match)


@dataclass
class ApiResponse:
    status: int
    headers: dict[str, str]
    body: Any
    raw: str
    cookies: list[str] = field(default_factory=list)

    @property
    def json(self) -> Any:
        return self.body

    @classmethod
    def of(cls, response: ClientResponse) -> ApiResponse:
        raw = response.text
        try:
            decoded = json.loads(raw) if raw else None
        except ValueError:  # the console's pages
            decoded = raw
        return cls(response.status, response.headers, decoded, raw, response.cookies)


class InProcessApi:
    """template.yaml's API through devtools' gateway, in process: its routing (a wrong path or method is
    its 404), its event, its authorizer call (401, 403 ``{"message": "Forbidden"}``), the real function,
    its response mapping (500 for a function that raises, 413 past 10 MiB).

    Every instance shares one gateway and one runtime (each function module imported once per process);
    ``gateway``: another one (``tests.attack.IsolatedApi``: module copies of its own)."""

    def __init__(self, gateway: Gateway | None = None) -> None:
        self.gateway = gateway or shared_gateway()
        self.client = InProcessClient(self.gateway, source_ip=SOURCE_IP)

    def request(
        self,
        method: str,
        path: str,
        secret: str | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
        raw_body: bytes | str | None = None,
        source_ip: str = SOURCE_IP,
        claims: dict[str, str] | None = None,
        cookies: list[str] | None = None,
    ) -> ApiResponse:
        """``claims``: skip the authorizer and hand the function this authorizer context.
        ``cookies``: ``["name=value", ...]``, as the browser's Cookie header."""
        ask = Request(method, path, secret, body, headers, query, raw_body, cookies)
        response = self.client.request(
            method, ask.target, ask.header_pairs(), ask.payload(), source_ip=source_ip, authorizer_context=claims
        )
        return ApiResponse.of(response)

    def get(self, path: str, **kwargs: Any) -> ApiResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> ApiResponse:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> ApiResponse:
        return self.request("PATCH", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> ApiResponse:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> ApiResponse:
        return self.request("DELETE", path, **kwargs)
