"""Test helpers: a moto table built from template.yaml, HTTP API v2.0 events, and an in-process
client that routes requests to the real function handlers (through the real authorizer)."""

from __future__ import annotations

import base64
import importlib.util
import json
import re
import sys
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from devtools.template import HttpRoute, default_authorizer, http_routes, load_template

ROOT = Path(__file__).resolve().parent.parent
_modules: dict[str, Any] = {}


def load_function(code_uri: str) -> Any:
    """Import ``<code_uri>/app.py`` once, under a module name of its own."""
    path = ROOT / code_uri / "app.py"
    name = "fn_" + Path(code_uri).name
    if name not in _modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        _modules[name] = module
    return _modules[name]


@dataclass
class LambdaContext:
    function_name: str = "test-function"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/test-function"
    log_stream_name: str = "stream"
    remaining_millis: int = 10_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_millis


def http_event(
    method: str,
    path: str,
    route_key: str,
    path_parameters: dict[str, str] | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    raw_body: bytes | str | None = None,
    source_ip: str = "203.0.113.7",
    user_agent: str = "pytest/1.0",
    cookies: list[str] | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API payload 2.0 event, header names lower-cased as the real service does
    (and Cookie headers in ``cookies``, as payload 2.0 has them)."""
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    headers.setdefault("user-agent", user_agent)
    is_base64 = False
    if raw_body is not None:
        if isinstance(raw_body, bytes):
            try:
                text = raw_body.decode("utf-8")
            except UnicodeDecodeError:
                text, is_base64 = base64.b64encode(raw_body).decode(), True
        else:
            text = raw_body
    elif body is not None:
        text = json.dumps(body)
        headers.setdefault("content-type", "application/json")
    else:
        text = None
    query_string = "&".join(f"{k}={v}" for k, v in (query or {}).items())
    return {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query_string,
        **({"cookies": list(cookies)} if cookies else {}),
        "headers": headers,
        "queryStringParameters": query or None,
        "pathParameters": path_parameters or None,
        "body": text,
        "isBase64Encoded": is_base64,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": "local.execute-api.us-east-1.amazonaws.com",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": user_agent,
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route_key,
            "stage": "$default",
            "time": "22/Nov/2026:14:00:00 +0000",
            "timeEpoch": 1795874400000,
        },
    }


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


@lru_cache(maxsize=1)
def identity_sources() -> tuple[str, ...]:
    """The authorizer's identity sources, from template.yaml (none: it is called for every request)."""
    return default_authorizer(load_template(str(ROOT / "template.yaml"))).identity_sources


@lru_cache(maxsize=1)
def route_table() -> tuple[tuple[HttpRoute, re.Pattern[str]], ...]:
    """The template's routes as API Gateway matches them: static segments beat ``{param}``."""
    table = []
    for route in http_routes(load_template(str(ROOT / "template.yaml"))):
        pattern = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", route.path) + "$")
        static = sum(1 for part in route.path.split("/") if part and not part.startswith("{"))
        table.append((static, route, pattern))
    table.sort(key=lambda entry: -entry[0])
    return tuple((route, pattern) for _, route, pattern in table)


class InProcessApi:
    """Routes a request like the HTTP API would (template routes, static beats {param}), runs the
    real authorizer, then the real function, and decodes the answer. Subclasses choose how a
    function's module is loaded (``load``) and what surrounds its call (``invoke``)."""

    def __init__(self) -> None:
        self.routes = route_table()
        self.authorizer = self.load("functions/authorizer")

    def load(self, code_uri: str) -> Any:
        return load_function(code_uri)

    def invoke(self, code_uri: str, event: dict[str, Any]) -> dict[str, Any]:
        return self.load(code_uri).handler(event, LambdaContext())

    def request(
        self,
        method: str,
        path: str,
        secret: str | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
        raw_body: bytes | str | None = None,
        source_ip: str = "203.0.113.7",
        claims: dict[str, str] | None = None,
        cookies: list[str] | None = None,
    ) -> ApiResponse:
        """``claims``: skip the authorizer and hand the function this authorizer context.
        ``cookies``: ``["name=value", ...]``, as the browser's Cookie header."""
        headers = dict(headers or {})
        if secret is not None:
            headers["Authorization"] = f"Bearer {secret}"
        for route, pattern in self.routes:
            match = pattern.match(path)
            if match and route.method.upper() == method.upper():
                break
        else:
            return ApiResponse(404, {}, {"message": "Not Found"}, "")
        route_key = f"{route.method.upper()} {route.path}"
        event = http_event(
            method, path, route_key, match.groupdict(), body, headers, query, raw_body, source_ip, cookies=cookies
        )
        if route.authorized and claims is not None:
            event["requestContext"]["authorizer"] = {"lambda": claims}
        elif route.authorized:
            identity = []
            for source in identity_sources():  # API Gateway answers 401 when one is missing
                value = event["headers"].get(source.removeprefix("$request.header.").lower())
                if not value:
                    return ApiResponse(401, {}, {"message": "Unauthorized"}, "")
                identity.append(value)
            verdict = self.authorizer.handler(
                {**event, "type": "REQUEST", "identitySource": identity or None}, LambdaContext()
            )
            if not verdict.get("isAuthorized"):
                return ApiResponse(403, {}, {"message": "Forbidden"}, "")
            event["requestContext"]["authorizer"] = {"lambda": verdict["context"]}
        result = self.invoke(route.code_uri, event)
        raw = result.get("body") or ""
        response_headers = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
        try:
            decoded = json.loads(raw) if raw else None
        except ValueError:  # the console's pages
            decoded = raw
        return ApiResponse(result["statusCode"], response_headers, decoded, raw, list(result.get("cookies") or []))

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
