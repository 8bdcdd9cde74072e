"""Malformed input against every route of template.yaml, over HTTP against the local gateway (issue 13:
a client's mistake is a 4xx, never a 5xx, and never an ERROR log line with a traceback).

One test per case × credentials (an admin's bearer token, which reaches every route's function, or
none); each sends the case to every route it applies to: bodies and headers to every route, odd ids
to every route with an id, odd limits and bad cursors to every route with those query parameters.
The server runs in this process (``devtools.local_api.serve_in_thread``), so its log lines are
captured here: Python logging (Powertools' Logger) with ``caplog``, and what the authorizer and the
gateway write to stdout/stderr with ``capsys``.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from devtools.template import http_routes, load_template
from tests.attack import Operation, operations, unique_name
from tests.conftest import clear_singletons

pytestmark = pytest.mark.e2e

TEMPLATE_ROUTES = http_routes(load_template())
ROUTES = [f"{route.method} {route.path}" for route in TEMPLATE_ROUTES]
_DOCUMENTED = {op.key: op for op in operations()}
# every route of the template; those the OpenAPI document leaves out (the console's pages) bare
OPERATIONS = sorted(
    (_DOCUMENTED.get(key) or Operation(route, {}, {}) for key, route in zip(ROUTES, TEMPLATE_ROUTES, strict=True)),
    # terminal changes last, so that the routes before them still reach a live target
    key=lambda op: (op.method == "DELETE", op.route.path.endswith("/revoke")),
)
DEEP = 5_000
HUGE = "9" * 5_000
KIB16 = 16 * 1024
NESTED_CURSOR = "[" * 1_500 + "]" * 1_500  # past json's recursion limit, within the cursor's 4,096 characters
NOT_JSON = base64.urlsafe_b64encode(b"\xff\xfe{not json").decode()


def b64(document: Any) -> str:
    return b64_text(json.dumps(document))


def b64_text(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@dataclass(frozen=True)
class Request:
    path_id: str | None = None  # replaces the route's {id}; None: a real one
    params: dict[str, str] | None = None
    headers: dict[str, str] | None = None
    data: str | None = None


@dataclass(frozen=True)
class Case:
    name: str
    applies: Callable[[Operation], bool]
    request: Callable[[Operation, dict[str, str]], Request]  # (route, real cursors of each listing)


def every(_: Operation) -> bool:
    return True


def with_id(op: Operation) -> bool:
    return "{" in op.route.path


def url(op: Operation, value: str) -> str:
    if op.route.path == "$default":  # the API's catch-all: a path no other route matches
        return f"/no-such-route/{value}"
    return re.sub(r"\{[^}]+\}", value, op.route.path)


def with_query(name: str) -> Callable[[Operation], bool]:
    return lambda op: name in op.query_parameters


def a_field(op: Operation, integer: bool = False) -> str:
    """A field of the route's body (an integer one if asked and there is one), else an unknown one."""
    properties = (op.body_schema or {}).get("properties", {})
    if integer:
        for name, schema in properties.items():
            if "integer" in json.dumps(op.resolve(schema)):
                return name
    return next(iter(properties), "x")


def body(data: str) -> Callable[[Operation, dict[str, str]], Request]:
    return lambda op, cursors: Request(data=data, headers={"Content-Type": "application/json"})


def header(name: str, value: str) -> Callable[[Operation, dict[str, str]], Request]:
    return lambda op, cursors: Request(headers={name: value})


def path_id(value: str) -> Callable[[Operation, dict[str, str]], Request]:
    return lambda op, cursors: Request(path_id=value)


def query(name: str, value: str) -> Callable[[Operation, dict[str, str]], Request]:
    return lambda op, cursors: Request(params={name: value})


def anothers_cursor(op: Operation, cursors: dict[str, str]) -> Request:
    """The cursor of another listing (the tokens' for every other listing, the events' for the tokens')."""
    other = "GET /v1/tokens/{token_id}/events" if op.key == "GET /v1/tokens" else "GET /v1/tokens"
    return Request(params={"cursor": cursors[other]})


CASES = [
    # bodies (within the 16 KiB limit), to every route
    Case("JSON nested 5,000 deep", every, body("[" * DEEP + "]" * DEEP)),
    Case(
        "a field nested 5,000 deep", every, lambda op, c: body(f'{{"{a_field(op)}": {"[" * DEEP}{"]" * DEEP}}}')(op, c)
    ),
    Case("a 5,000-digit number", every, body(HUGE)),
    Case("a 5,000-digit number in a field", every, lambda op, c: body(f'{{"{a_field(op, True)}": {HUGE}}}')(op, c)),
    Case(
        "a 5,000-digit float in a field",
        every,
        lambda op, c: body(f'{{"{a_field(op, True)}": {HUGE}.5e{HUGE}}}')(op, c),
    ),
    Case("unicode digits in a field", every, lambda op, c: body(f'{{"{a_field(op, True)}": "²٣"}}')(op, c)),
    # ids
    Case("id ²", with_id, path_id("²")),
    Case("id ٣", with_id, path_id("٣")),
    Case("id of 5,000 digits", with_id, path_id(HUGE)),
    # limits
    Case("limit ²", with_query("limit"), query("limit", "²")),
    Case("limit ٣", with_query("limit"), query("limit", "٣")),
    Case("limit of 5,000 digits", with_query("limit"), query("limit", HUGE)),
    # cursors
    Case("cursor not base64", with_query("cursor"), query("cursor", "!!not*base64~~")),
    Case("cursor: base64 of no JSON", with_query("cursor"), query("cursor", NOT_JSON)),
    Case("cursor: base64 of a list", with_query("cursor"), query("cursor", b64([1, 2]))),
    Case("cursor: base64 of a number", with_query("cursor"), query("cursor", b64(10**300))),
    Case("cursor: base64 of JSON nested 1,500 deep", with_query("cursor"), query("cursor", b64_text(NESTED_CURSOR))),
    Case("cursor: an object missing key fields", with_query("cursor"), query("cursor", b64({"pk": "TOKEN#x"}))),
    Case("cursor: key fields not strings", with_query("cursor"), query("cursor", b64({"pk": 1, "sk": None}))),
    Case("cursor: another listing's", with_query("cursor"), anothers_cursor),
    # If-Match, to every route
    Case('If-Match W/"1"', every, header("If-Match", 'W/"1"')),
    Case('If-Match "1 (unterminated)', every, header("If-Match", '"1')),
    Case("If-Match of 5,000 digits", every, header("If-Match", f'"{HUGE}"')),
    Case('If-Match "²"', every, header("If-Match", '"²"')),
    Case("If-Match ٣ (unquoted)", every, header("If-Match", "٣")),
    # 16 KiB headers, to every route
    Case("a 16 KiB header", every, header("X-Filler", "a" * KIB16)),
    Case("a 16 KiB cookie", every, header("Cookie", "ts_session=" + "a" * KIB16)),
]
CREDENTIALS = ["with credentials", "without credentials"]
MATRIX = [(case, who) for case in CASES for who in CREDENTIALS]


def route_cases(case: Case) -> list[Operation]:
    return [op for op in OPERATIONS if case.applies(op)]


@dataclass
class Targets:
    base_url: str
    admin: str
    cursors: dict[str, str]

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """A seeding request by the admin, retried when load alone refused it (the gateway's
        fail-closed 403, or a 503: the embedded DynamoDB answered too slowly)."""
        headers = {"Authorization": f"Bearer {self.admin}", **kwargs.pop("headers", {})}
        for _ in range(5):
            response = requests.request(method, self.base_url + path, headers=headers, timeout=30, **kwargs)
            gateway = response.status_code == 403 and response.text.strip() == '{"message":"Forbidden"}'
            if not (gateway or response.status_code == 503):
                return response
            time.sleep(0.5)
        return response

    def fresh(self) -> dict[str, str]:
        """A token and a webhook of their own for one test (its change routes may well succeed)."""
        token = self.call("POST", "/v1/tokens", json={"name": unique_name("malformed"), "scopes": ["tokens:read"]})
        hook = self.call("POST", "/v1/webhooks", json={"url": f"http://127.0.0.1:9/{unique_name('malformed')}"})
        assert token.status_code == 201 and hook.status_code == 201, (token.text, hook.text)
        return {"token_id": token.json()["token"]["id"], "webhook_id": hook.json()["webhook"]["id"]}


@pytest.fixture(autouse=True)
def _fresh_singletons():
    """Speed only, as in test_owasp.py: one server with one environment for the whole module (the
    singletons are dropped once, in ``targets``, when this module's server has started)."""
    yield


@pytest.fixture(scope="module")
def targets(server) -> Iterator[Targets]:
    running, admin = server
    clear_singletons()  # an earlier module (test_owasp.py keeps them too) left clients of its own server
    world = Targets(running.base_url, admin, {})
    first = world.fresh()
    world.fresh()
    path = f"/v1/tokens/{first['token_id']}"
    assert world.call("PATCH", path, json={"description": "a second event"}).status_code == 200
    for listing, url in (("GET /v1/tokens", "/v1/tokens"), ("GET /v1/tokens/{token_id}/events", f"{path}/events")):
        page = world.call("GET", url, params={"limit": "1"})
        assert page.status_code == 200 and page.json()["next_cursor"], page.text
        world.cursors[listing] = page.json()["next_cursor"]
    yield world
    clear_singletons()  # nor leave this server's clients to the next module


def error_lines(caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> list[str]:
    """Every line logged at ERROR or above since the last call (Python logging, and the JSON lines and
    gateway messages written to stdout/stderr), and every traceback."""
    found = [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    out, err = capsys.readouterr()
    for line in (out + err).splitlines():
        compact = line.replace(" ", "")
        if '"level":"ERROR"' in compact or '"level":"CRITICAL"' in compact or line.startswith(("ERROR", "Traceback")):
            found.append(line[:500])
    caplog.clear()
    return found


@pytest.mark.parametrize(("case", "who"), MATRIX, ids=[f"{c.name}-{w}" for c, w in MATRIX])
def test_malformed_input_is_never_a_5xx_nor_an_error_log_line(targets, case, who, caplog, capsys):
    caplog.set_level(logging.INFO)
    ids = targets.fresh() if who == "with credentials" else {"token_id": "x", "webhook_id": "x"}
    error_lines(caplog, capsys)  # what seeding logged is not this case's
    answers: dict[str, int] = {}
    for op in route_cases(case):
        request = case.request(op, targets.cursors)
        real = ids["webhook_id"] if op.route.path.startswith("/v1/webhooks") else ids["token_id"]
        # header values as the UTF-8 bytes a client would send (http.client would refuse "٣" as text)
        headers: dict[str, str | bytes] = {k: v.encode() for k, v in (request.headers or {}).items()}
        if who == "with credentials":
            headers["Authorization"] = f"Bearer {targets.admin}"
        response = requests.request(
            "POST" if op.method == "ANY" else op.method,
            targets.base_url + url(op, request.path_id if request.path_id is not None else real),
            params=request.params,
            headers=headers,
            data=request.data.encode() if request.data is not None else None,
            timeout=30,
        )
        answers[op.key] = response.status_code
        assert response.status_code < 500, f"{op} → {response.status_code}: {response.text[:500]}"

    assert answers, "the case applies to no route"
    logged = error_lines(caplog, capsys)
    assert not logged, f"ERROR lines for {case.name} ({who}), answers {answers}: {logged}"


def test_the_capture_sees_the_servers_lines(targets, caplog, capsys):
    """The check above is only as good as its capture: an authorizer's refusal (stdout, INFO) and
    a line of the functions' Powertools Logger are both seen here."""
    from tokensmith.observability import logger

    caplog.set_level(logging.INFO)
    requests.get(targets.base_url + "/v1/tokens", timeout=30)
    logger.error("a probe of the capture")
    lines = error_lines(caplog, capsys)
    assert any("a probe of the capture" in line for line in lines)
    # a bad bearer token reaches the authorizer (none at all is the gateway's own 401)
    requests.get(targets.base_url + "/v1/tokens", headers={"Authorization": "Bearer nope"}, timeout=30)
    out, _ = capsys.readouterr()
    assert "token refused" in out


def test_every_route_of_the_template_is_fuzzed():
    fuzzed = {op.key for case in CASES for op in route_cases(case)}
    assert fuzzed == set(ROUTES)
    sent = sum(len(route_cases(case)) for case in CASES) * len(CREDENTIALS)
    print(f"malformed input: {len(CASES)} cases × {len(CREDENTIALS)} = {len(MATRIX)} tests, {sent} requests")
