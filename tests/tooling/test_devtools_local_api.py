"""devtools.local_api: route selection, HTTP API 2.0 events, the authorizer flow and response mapping.

The HTTP tests serve a small fake template whose handlers are written into tmp_path, not the real app.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from devtools.local_api.authorizer import interpret_authorizer_response
from devtools.local_api.events import MAX_REQUEST_BYTES, IncomingRequest, build_authorizer_event, build_http_event
from devtools.local_api.responses import LambdaResponseError, map_lambda_response
from devtools.local_api.routing import RouteMatch, RouteTable
from devtools.local_api.server import LocalApiServer, serve_in_thread
from devtools.template import HttpRoute


def route(method: str, path: str, function_id: str = "") -> HttpRoute:
    return HttpRoute(method, path, function_id or f"{method} {path}", "code/", "app.handler", True)


# --- route selection ----------------------------------------------------------------------------------------

ROUTES = [
    route("GET", "/v1/tokens/{token_id}"),
    route("GET", "/v1/tokens/self"),
    route("POST", "/v1/tokens/{token_id}/rotate"),
    route("ANY", "/v1/things"),
    route("GET", "/v1/things"),
    route("GET", "/files/{proxy+}"),
    route("GET", "/files/special/{name}"),
]


@pytest.mark.parametrize("routes", [ROUTES, list(reversed(ROUTES))], ids=["declared", "reversed"])
@pytest.mark.parametrize(
    ("method", "path", "route_key", "parameters"),
    [
        ("GET", "/v1/tokens/self", "GET /v1/tokens/self", {}),  # a static segment beats {id}
        ("GET", "/v1/tokens/abc", "GET /v1/tokens/{token_id}", {"token_id": "abc"}),
        ("GET", "/v1/tokens/a%20b%2Fc", "GET /v1/tokens/{token_id}", {"token_id": "a b/c"}),  # decoded, one segment
        ("POST", "/v1/tokens/abc/rotate", "POST /v1/tokens/{token_id}/rotate", {"token_id": "abc"}),
        ("GET", "/v1/things", "GET /v1/things", {}),  # the method's own route beats ANY
        ("DELETE", "/v1/things", "ANY /v1/things", {}),
        ("GET", "/files/special/x", "GET /files/special/{name}", {"name": "x"}),  # exact beats greedy
        ("GET", "/files/a/b/c", "GET /files/{proxy+}", {"proxy": "a/b/c"}),
    ],
)
def test_route_selection(
    routes: list[HttpRoute], method: str, path: str, route_key: str, parameters: dict[str, str]
) -> None:
    match = RouteTable(routes).match(method, path)
    assert match is not None
    assert (match.route.route_key, match.path_parameters) == (route_key, parameters)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/tokens/self"),  # the path exists, the method does not: 404 as in HTTP API
        ("GET", "/v1/unknown"),
        ("GET", "/v1/tokens/"),  # an empty {id}
        ("GET", "/v1/tokens/abc/extra"),
        ("GET", "/files"),  # a greedy variable needs at least one segment
    ],
)
def test_no_route(method: str, path: str) -> None:
    assert RouteTable(ROUTES).match(method, path) is None


def test_default_route_catches_the_rest() -> None:
    table = RouteTable([route("GET", "/a"), route("ANY", "$default")])
    match = table.match("POST", "/anything/else")
    assert match is not None and match.route.route_key == "$default"


# --- events ----------------------------------------------------------------------------------------------------


def a_request(**overrides: Any) -> IncomingRequest:
    values: dict[str, Any] = {
        "method": "POST",
        "raw_path": "/v1/tokens/t%201/rotate",
        "raw_query_string": "tag=a&tag=b&q=x%20y&empty=",
        "headers": (
            ("Host", "127.0.0.1:3000"),
            ("User-Agent", "curl/8.0"),
            ("X-Custom", "one"),
            ("x-custom", "two"),
            ("Cookie", "session=s1; csrf=c2"),
            ("Content-Type", "application/json"),
        ),
        "body": b'{"grace_period_seconds": 0}',
        "source_ip": "127.0.0.9",
    }
    values.update(overrides)
    return IncomingRequest(**values)


MATCH = RouteMatch(route("POST", "/v1/tokens/{token_id}/rotate"), {"token_id": "t 1"})


def test_event_has_the_payload_2_0_shape() -> None:
    now = 1_795_874_400.123
    event = build_http_event(a_request(), MATCH, request_id="req-1", now=now)

    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /v1/tokens/{token_id}/rotate"
    assert event["rawPath"] == "/v1/tokens/t%201/rotate"  # raw, as sent
    assert event["rawQueryString"] == "tag=a&tag=b&q=x%20y&empty="
    assert event["pathParameters"] == {"token_id": "t 1"}  # decoded
    assert event["queryStringParameters"] == {"tag": "a,b", "q": "x y", "empty": ""}
    assert event["cookies"] == ["session=s1", "csrf=c2"]
    assert event["body"] == '{"grace_period_seconds": 0}'
    assert event["isBase64Encoded"] is False
    assert "stageVariables" not in event
    headers = event["headers"]
    assert all(name == name.lower() for name in headers)
    assert headers["x-custom"] == "one,two"
    assert "cookie" not in headers
    assert headers["user-agent"] == "curl/8.0"
    assert headers["x-forwarded-for"] == "127.0.0.9"
    assert event["requestContext"] == {
        "accountId": "123456789012",
        "apiId": "localapi",
        "domainName": "127.0.0.1",
        "domainPrefix": "127",
        "http": {
            "method": "POST",
            "path": "/v1/tokens/t%201/rotate",
            "protocol": "HTTP/1.1",
            "sourceIp": "127.0.0.9",
            "userAgent": "curl/8.0",
        },
        "requestId": "req-1",
        "routeKey": "POST /v1/tokens/{token_id}/rotate",
        "stage": "$default",
        "time": "28/Nov/2026:14:00:00 +0000",
        "timeEpoch": 1_795_874_400_123,
    }


def test_event_without_query_cookies_or_body_leaves_those_keys_out() -> None:
    event = build_http_event(
        a_request(method="GET", raw_query_string="", headers=(("Host", "localhost"),), body=b""),
        RouteMatch(route("GET", "/x"), {}),
    )
    assert not {"cookies", "queryStringParameters", "pathParameters", "body"} & set(event)
    assert event["isBase64Encoded"] is False
    uuid.UUID(event["requestContext"]["requestId"])  # a fresh uuid
    assert re.fullmatch(r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000", event["requestContext"]["time"])
    assert abs(event["requestContext"]["timeEpoch"] / 1000 - time.time()) < 5


@pytest.mark.parametrize(
    ("content_type", "body", "base64_encoded"),
    [
        ("application/json", b'{"a": "\xc3\xa9"}', False),
        ("text/plain; charset=utf-8", b"hello", False),
        ("application/json", b"\xff\xfe not utf-8", True),
        ("application/octet-stream", b"hello", True),
        ("application/x-www-form-urlencoded", b"a=1", True),  # HTTP API base64-encodes forms too
        (None, b"no content type", True),
    ],
)
def test_body_is_base64_for_binary_types_and_invalid_utf8(
    content_type: str | None, body: bytes, base64_encoded: bool
) -> None:
    headers = (("Content-Type", content_type),) if content_type else ()
    event = build_http_event(a_request(headers=headers, body=body), MATCH)
    assert event["isBase64Encoded"] is base64_encoded
    decoded = base64.b64decode(event["body"]) if base64_encoded else event["body"].encode()
    assert decoded == body


def test_authorizer_event_is_a_2_0_request_event() -> None:
    request = a_request(headers=(("Authorization", "Bearer abc"), ("Host", "h")))
    function_event = build_http_event(request, MATCH, request_id="r")
    event = build_authorizer_event(request, function_event, ["Bearer abc"])
    assert event["version"] == "2.0"
    assert event["type"] == "REQUEST"
    assert (
        event["routeArn"] == "arn:aws:execute-api:us-east-1:123456789012:localapi/$default/POST/v1/tokens/t%201/rotate"
    )
    assert event["identitySource"] == ["Bearer abc"]
    assert event["headers"]["authorization"] == "Bearer abc"
    assert event["pathParameters"] == {"token_id": "t 1"}
    assert event["queryStringParameters"] == function_event["queryStringParameters"]
    assert event["requestContext"]["requestId"] == "r"
    assert "body" not in event


# --- responses ---------------------------------------------------------------------------------------------------


def test_structured_response_with_cookies_and_multi_value_headers() -> None:
    response = map_lambda_response(
        {
            "statusCode": 201,
            "headers": {"Content-Type": "application/json", "ETag": '"3"'},
            "multiValueHeaders": {"X-Many": ["a", "b"]},
            "cookies": ["a=1; HttpOnly", "b=2"],
            "body": '{"ok": true}',
        }
    )
    assert response.status == 201
    assert response.body == b'{"ok": true}'
    assert ("ETag", '"3"') in response.headers
    assert [value for name, value in response.headers if name == "X-Many"] == ["a", "b"]
    assert [value for name, value in response.headers if name == "Set-Cookie"] == ["a=1; HttpOnly", "b=2"]


def test_base64_response_body_is_decoded() -> None:
    response = map_lambda_response(
        {"statusCode": 200, "body": base64.b64encode(b"\x00\xff").decode(), "isBase64Encoded": True}
    )
    assert response.body == b"\x00\xff"


@pytest.mark.parametrize("result", [["a", 1], {"message": "no statusCode"}, "text", None])
def test_anything_but_a_structured_response_is_200_json(result: Any) -> None:
    response = map_lambda_response(result)
    assert response.status == 200
    assert ("Content-Type", "application/json") in response.headers
    assert json.loads(response.body) == result


@pytest.mark.parametrize(
    "result",
    [
        {"statusCode": 200, "body": {"not": "a string"}},
        {"statusCode": "abc"},
        {"statusCode": 200, "body": "%%%", "isBase64Encoded": True},
        {"statusCode": 200, "body": object()},
    ],
)
def test_malformed_responses_are_errors(result: Any) -> None:
    with pytest.raises(LambdaResponseError):
        map_lambda_response(result)


def test_iam_policy_authorizer_responses() -> None:
    arn = "arn:aws:execute-api:us-east-1:123456789012:localapi/$default/GET/x"

    def policy(effect: str, resource: str) -> dict[str, Any]:
        statement = {"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}
        return {
            "principalId": "u",
            "policyDocument": {"Version": "2012-10-17", "Statement": [statement]},
            "context": {"k": "v"},
        }

    allowed = interpret_authorizer_response(policy("Allow", "arn:aws:execute-api:*"), simple_responses=False, arn=arn)
    assert (allowed.authorized, allowed.context) == (True, {"k": "v"})
    assert not interpret_authorizer_response(policy("Deny", "*"), simple_responses=False, arn=arn).authorized
    assert not interpret_authorizer_response(policy("Allow", "arn:other"), simple_responses=False, arn=arn).authorized


# --- over HTTP, with fake functions ----------------------------------------------------------------------------------

AUTHORIZER_SOURCE = """
from pathlib import Path

CALLS = Path({calls!r})

def check(event, context):
    with CALLS.open("a") as log:
        log.write(event["identitySource"][0] + "\\n")
    token = event["identitySource"][0]
    if token == "Bearer boom":
        raise RuntimeError("authorizer crashed")
    if token == "Bearer good":
        return {{"isAuthorized": True, "context": {{"token_id": "t1", "scopes": "tokens:read"}}}}
    return {{"isAuthorized": False}}
"""

ECHO_SOURCE = """
import base64, json, os

INVOCATIONS = 0

def handler(event, context):
    global INVOCATIONS
    INVOCATIONS += 1
    body = {
        "event": event,
        "invocations": INVOCATIONS,
        "context": {
            "function_name": context.function_name,
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "aws_request_id": context.aws_request_id,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "remaining_ms": context.get_remaining_time_in_millis(),
        },
        "env": {name: os.environ.get(name) for name in
                ("TABLE_NAME", "DYNAMODB_ENDPOINT_URL", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID",
                 "AWS_SESSION_TOKEN", "GREETING", "POWERTOOLS_METRICS_NAMESPACE")},
    }
    return {"statusCode": 200, "headers": {"content-type": "application/json"},
            "cookies": ["a=1", "b=2; Path=/"], "body": json.dumps(body)}
"""

MISC_SOURCE = """
def crash(event, context):
    raise ValueError("handler bug")

def plain(event, context):
    return ["not", "structured"]
"""


def http_template() -> dict[str, Any]:
    def function(code_uri: str, handler: str, method: str, path: str, public: bool = False) -> dict[str, Any]:
        properties: dict[str, Any] = {"ApiId": {"Ref": "Api"}, "Method": method, "Path": path}
        if public:
            properties["Auth"] = {"Authorizer": "NONE"}
        return {
            "Type": "AWS::Serverless::Function",
            "Properties": {
                "CodeUri": code_uri,
                "Handler": handler,
                "Events": {"Api": {"Type": "HttpApi", "Properties": properties}},
            },
        }

    return {
        "Parameters": {"Greeting": {"Type": "String", "Default": "hello"}},
        "Globals": {
            "Function": {
                "Handler": "app.handler",
                "Timeout": 7,
                "MemorySize": 512,
                "Environment": {"Variables": {"TABLE_NAME": {"Ref": "Table"}, "GREETING": {"Ref": "Greeting"}}},
            }
        },
        "Resources": {
            "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {}},
            "Api": {
                "Type": "AWS::Serverless::HttpApi",
                "Properties": {
                    "Auth": {
                        "DefaultAuthorizer": "Gate",
                        "Authorizers": {
                            "Gate": {
                                "FunctionArn": {"Fn::GetAtt": ["GateFunction", "Arn"]},
                                "EnableSimpleResponses": True,
                                "Identity": {"Headers": ["Authorization"]},
                            }
                        },
                    }
                },
            },
            "GateFunction": {
                "Type": "AWS::Serverless::Function",
                "Properties": {"CodeUri": "gate/", "Handler": "auth.check"},
            },
            "EchoFunction": function("echo/", "app.handler", "POST", "/echo/{id}"),
            "PublicEchoFunction": function("echo/", "app.handler", "GET", "/public", public=True),
            "CrashFunction": function("misc/", "app.crash", "GET", "/crash", public=True),
            "PlainFunction": function("misc/", "app.plain", "GET", "/plain", public=True),
        },
    }


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalApiServer, Path]]:
    code_root = tmp_path_factory.mktemp("functions")
    calls = code_root / "authorizer-calls.log"
    calls.touch()
    for folder, filename, source in [
        ("gate", "auth.py", AUTHORIZER_SOURCE.format(calls=str(calls))),
        ("echo", "app.py", ECHO_SOURCE),
        ("misc", "app.py", MISC_SOURCE),
    ]:
        (code_root / folder).mkdir()
        (code_root / folder / filename).write_text(textwrap.dedent(source), encoding="utf-8")
    with serve_in_thread(
        "http://127.0.0.1:9", table_name="local-table", template=http_template(), code_root=code_root
    ) as server:
        yield server, calls


def authorizer_calls(calls: Path) -> list[str]:
    return calls.read_text().splitlines()


def test_without_authorization_header_401_and_the_authorizer_is_not_called(
    api: tuple[LocalApiServer, Path],
) -> None:
    server, calls = api
    before = authorizer_calls(calls)
    response = requests.post(f"{server.base_url}/echo/1", timeout=10)
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}
    assert authorizer_calls(calls) == before


def test_empty_authorization_header_is_401(api: tuple[LocalApiServer, Path]) -> None:
    server, calls = api
    before = authorizer_calls(calls)
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request("POST", "/echo/1", headers={"Authorization": ""})
    response = connection.getresponse()
    assert (response.status, json.loads(response.read())) == (401, {"message": "Unauthorized"})
    connection.close()
    assert authorizer_calls(calls) == before


def test_refused_token_is_403(api: tuple[LocalApiServer, Path]) -> None:
    server, calls = api
    response = requests.post(f"{server.base_url}/echo/1", headers={"Authorization": "Bearer bad"}, timeout=10)
    assert response.status_code == 403
    assert response.json() == {"message": "Forbidden"}
    assert authorizer_calls(calls)[-1] == "Bearer bad"


def test_authorizer_crash_is_500(api: tuple[LocalApiServer, Path], capfd: pytest.CaptureFixture[str]) -> None:
    server, _ = api
    response = requests.post(f"{server.base_url}/echo/1", headers={"Authorization": "Bearer boom"}, timeout=10)
    assert response.status_code == 500
    assert response.json() == {"message": "Internal Server Error"}
    assert "authorizer crashed" in capfd.readouterr().err


def test_authorized_request_reaches_the_function_with_the_authorizer_context(
    api: tuple[LocalApiServer, Path],
) -> None:
    server, _ = api
    # Given a token the authorizer accepts, cookies, a repeated query key and mixed-case headers
    response = requests.post(
        f"{server.base_url}/echo/abc?x=1&x=2",
        headers={"Authorization": "Bearer good", "X-Mixed-Case": "yes", "Cookie": "session=s1; theme=dark"},
        json={"hello": "world"},
        timeout=10,
    )
    # Then the function ran and answered with its own status, headers and cookies
    assert response.status_code == 200
    assert response.raw.headers.getlist("Set-Cookie") == ["a=1", "b=2; Path=/"]
    assert response.headers["apigw-requestid"]
    echoed = response.json()
    event = echoed["event"]
    assert event["requestContext"]["authorizer"] == {"lambda": {"token_id": "t1", "scopes": "tokens:read"}}
    assert event["routeKey"] == "POST /echo/{id}"
    assert event["pathParameters"] == {"id": "abc"}
    assert event["queryStringParameters"] == {"x": "1,2"}
    assert event["cookies"] == ["session=s1", "theme=dark"]
    assert event["headers"]["x-mixed-case"] == "yes"
    assert event["headers"]["authorization"] == "Bearer good"
    assert "cookie" not in event["headers"]
    assert json.loads(event["body"]) == {"hello": "world"}
    assert event["requestContext"]["requestId"] == response.headers["apigw-requestid"]
    # And the Lambda context is a plausible one
    context = echoed["context"]
    assert context["function_name"] == "tokensmith-local-EchoFunction"
    assert context["invoked_function_arn"].endswith(":function:tokensmith-local-EchoFunction")
    assert context["memory_limit_in_mb"] == 512
    assert 0 < context["remaining_ms"] <= 7000
    assert context["function_version"] == "$LATEST"
    assert context["log_group_name"] == "/aws/lambda/tokensmith-local-EchoFunction"
    uuid.UUID(context["aws_request_id"])
    # And the environment comes from the template plus the local endpoint, never a real session
    assert echoed["env"] == {
        "TABLE_NAME": "local-table",
        "DYNAMODB_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SESSION_TOKEN": None,
        "GREETING": "hello",
        "POWERTOOLS_METRICS_NAMESPACE": "Tokensmith",
    }


def test_public_route_needs_no_authorization_and_modules_load_once(api: tuple[LocalApiServer, Path]) -> None:
    server, _ = api
    first = requests.get(f"{server.base_url}/public", timeout=10).json()
    second = requests.get(f"{server.base_url}/public", timeout=10).json()
    assert "authorizer" not in first["event"]["requestContext"]
    assert second["invocations"] == first["invocations"] + 1  # module state survives: imported once


def test_binary_body_arrives_base64_encoded(api: tuple[LocalApiServer, Path]) -> None:
    server, _ = api
    payload = b"\x00\xff\xfe binary"
    response = requests.post(
        f"{server.base_url}/echo/1",
        headers={"Authorization": "Bearer good", "Content-Type": "application/octet-stream"},
        data=payload,
        timeout=10,
    )
    event = response.json()["event"]
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == payload


def test_handler_exception_is_500_with_the_traceback_on_stderr(
    api: tuple[LocalApiServer, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    server, _ = api
    response = requests.get(f"{server.base_url}/crash", timeout=10)
    assert response.status_code == 500
    assert response.json() == {"message": "Internal Server Error"}
    err = capfd.readouterr().err
    assert "Traceback" in err and "ValueError: handler bug" in err


def test_unstructured_result_is_200_json(api: tuple[LocalApiServer, Path]) -> None:
    server, _ = api
    response = requests.get(f"{server.base_url}/plain", timeout=10)
    assert (response.status_code, response.json()) == (200, ["not", "structured"])
    assert response.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize(("method", "path"), [("GET", "/nowhere"), ("GET", "/echo/1"), ("DELETE", "/public")])
def test_unknown_path_or_method_is_404(api: tuple[LocalApiServer, Path], method: str, path: str) -> None:
    server, _ = api
    response = requests.request(
        method, f"{server.base_url}{path}", headers={"Authorization": "Bearer good"}, timeout=10
    )
    assert response.status_code == 404
    assert response.json() == {"message": "Not Found"}


def test_body_over_10_mib_is_413(api: tuple[LocalApiServer, Path]) -> None:
    server, _ = api
    response = requests.post(
        f"{server.base_url}/public",
        data=b"x" * (MAX_REQUEST_BYTES + 1),
        headers={"Content-Type": "text/plain"},
        timeout=30,
    )
    assert response.status_code == 413
    assert response.json() == {"message": "Request Entity Too Large"}


def test_chunked_body_is_read(api: tuple[LocalApiServer, Path]) -> None:
    server, _ = api
    response = requests.post(
        f"{server.base_url}/echo/1",
        headers={"Authorization": "Bearer good", "Content-Type": "text/plain"},
        data=iter([b"hello ", b"chunked ", b"world"]),  # a generator makes requests send chunks
        timeout=10,
    )
    assert response.json()["event"]["body"] == "hello chunked world"


def test_serve_in_thread_restores_the_environment(tmp_path: Path) -> None:
    template = http_template()
    (tmp_path / "gate").mkdir()
    (tmp_path / "gate" / "auth.py").write_text("def check(event, context):\n    return {'isAuthorized': False}\n")
    before = dict(os.environ)
    with serve_in_thread("http://127.0.0.1:9", template=template, code_root=tmp_path) as server:
        assert os.environ["DYNAMODB_ENDPOINT_URL"] == "http://127.0.0.1:9"
        port = server.port
    assert dict(os.environ) == before
    with pytest.raises(requests.ConnectionError):  # and the server is gone
        requests.get(f"http://127.0.0.1:{port}/public", timeout=2)


# --- an authorizer without identity sources (what template.yaml declares) --------------------------------------

OPEN_AUTHORIZER_SOURCE = """
import json
from pathlib import Path

CALLS = Path({calls!r})

def check(event, context):
    with CALLS.open("a") as log:
        seen = {{"identitySource": event.get("identitySource"), "cookies": event.get("cookies")}}
        log.write(json.dumps(seen) + "\\n")
    return {{"isAuthorized": "session=ok" in (event.get("cookies") or []), "context": {{"token_id": "t1"}}}}
"""


def test_without_identity_sources_every_request_reaches_the_authorizer(tmp_path: Path) -> None:
    # Given an authorizer whose Identity lists no source (only ReauthorizeEvery), as SAM writes it
    template = http_template()
    gate = template["Resources"]["Api"]["Properties"]["Auth"]["Authorizers"]["Gate"]
    gate["Identity"] = {"ReauthorizeEvery": 0}
    calls = tmp_path / "calls.log"
    calls.touch()
    for folder, filename, source in [
        ("gate", "auth.py", OPEN_AUTHORIZER_SOURCE.format(calls=str(calls))),
        ("echo", "app.py", ECHO_SOURCE),
        ("misc", "app.py", MISC_SOURCE),
    ]:
        (tmp_path / folder).mkdir()
        (tmp_path / folder / filename).write_text(textwrap.dedent(source), encoding="utf-8")
    with serve_in_thread("http://127.0.0.1:9", template=template, code_root=tmp_path) as server:
        # When requests come without any Authorization header, with and without the right cookie
        refused = requests.post(f"{server.base_url}/echo/1", timeout=10)
        allowed = requests.post(f"{server.base_url}/echo/1", headers={"Cookie": "session=ok"}, timeout=10)

    # Then both reach the authorizer (no 401 from the gateway), which decides: 403, then 200
    assert (refused.status_code, refused.json()) == (403, {"message": "Forbidden"})
    assert allowed.status_code == 200
    seen = [json.loads(line) for line in calls.read_text().splitlines()]
    assert seen == [{"identitySource": None, "cookies": None}, {"identitySource": None, "cookies": ["session=ok"]}]
