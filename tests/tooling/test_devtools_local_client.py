"""devtools.local_api.client: the gateway driven in process, without sockets, as the integration tests drive it.

The fake template and functions of test_devtools_local_api serve here too.
"""

from __future__ import annotations

import json
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest
import requests

from devtools.local_api.client import InProcessClient
from devtools.local_api.events import MAX_REQUEST_BYTES
from devtools.local_api.gateway import Gateway
from devtools.local_api.runtime import LambdaRuntime
from devtools.local_api.server import serve_in_thread
from tests.tooling.test_devtools_local_api import AUTHORIZER_SOURCE, ECHO_SOURCE, MISC_SOURCE, http_template


@pytest.fixture
def code_root(tmp_path: Path) -> Path:
    calls = tmp_path / "authorizer-calls.log"
    calls.touch()
    for folder, filename, source in [
        ("gate", "auth.py", AUTHORIZER_SOURCE.format(calls=str(calls))),
        ("echo", "app.py", ECHO_SOURCE),
        ("misc", "app.py", MISC_SOURCE),
    ]:
        (tmp_path / folder).mkdir()
        (tmp_path / folder / filename).write_text(textwrap.dedent(source), encoding="utf-8")
    return tmp_path


def authorizer_calls(code_root: Path) -> list[str]:
    return (code_root / "authorizer-calls.log").read_text().splitlines()


@pytest.fixture
def client(code_root: Path) -> InProcessClient:
    return InProcessClient(Gateway(http_template(), code_root, schedule_log=False), source_ip="198.51.100.4")


def test_building_a_gateway_and_its_client_starts_nothing_and_imports_nothing(code_root: Path) -> None:
    threads = threading.active_count()

    gateway = Gateway(http_template(), code_root, schedule_log=False)
    InProcessClient(gateway)

    assert threading.active_count() == threads
    assert gateway.events is None
    assert gateway.runtime.loader._by_name == {}  # noqa: SLF001


def test_the_function_gets_the_same_event_in_process_as_over_http(code_root: Path, client: InProcessClient) -> None:
    # Given the same request, once over HTTP and once in process
    headers = {"Authorization": "Bearer good", "X-Mixed-Case": "yes", "Cookie": "session=s1; theme=dark"}
    body = json.dumps({"hello": "world"})
    with serve_in_thread("http://127.0.0.1:9", template=http_template(), code_root=code_root) as server:
        over_http = requests.post(
            f"{server.base_url}/echo/a%20b?x=1&x=2",
            headers={**headers, "Content-Type": "application/json"},
            data=body,
            timeout=10,
        ).json()["event"]
    in_process = client.request(
        "POST",
        "/echo/a%20b?x=1&x=2",
        headers={**headers, "Content-Type": "application/json"},
        body=body,
        source_ip="127.0.0.1",
    ).json()["event"]

    # Then the events differ only where two requests must (ids, times, what the HTTP client adds)
    def comparable(event: dict[str, Any]) -> dict[str, Any]:
        context = {k: v for k, v in event["requestContext"].items() if k not in ("requestId", "time", "timeEpoch")}
        context.pop("domainName"), context.pop("domainPrefix")
        added = ("host", "x-amzn-trace-id", "x-forwarded-port", "content-length", "accept", "accept-encoding")
        added += ("connection", "user-agent")
        headers = {k: v for k, v in event["headers"].items() if k not in added}
        context["http"] = {k: v for k, v in context["http"].items() if k != "userAgent"}
        return {**event, "headers": headers, "requestContext": context}

    assert comparable(in_process) == comparable(over_http)
    assert in_process["pathParameters"] == {"id": "a b"}
    assert in_process["cookies"] == ["session=s1", "theme=dark"]
    assert in_process["headers"]["x-mixed-case"] == "yes"
    assert in_process["requestContext"]["authorizer"] == {"lambda": {"token_id": "t1", "scopes": "tokens:read"}}


def test_the_gateways_own_answers_come_back_in_process(code_root: Path, client: InProcessClient) -> None:
    assert client.request("POST", "/echo/1").status == 401  # no identity source: the authorizer is not called
    refused = client.request("POST", "/echo/1", headers={"Authorization": "Bearer bad"})
    assert (refused.status, refused.json()) == (403, {"message": "Forbidden"})
    missing = client.request("GET", "/nowhere", headers={"Authorization": "Bearer good"})
    assert (missing.status, missing.json()) == (404, {"message": "Not Found"})
    assert client.request("DELETE", "/public").status == 404  # a wrong method is a 404 too
    crashed = client.request("GET", "/crash")
    assert (crashed.status, crashed.json()) == (500, {"message": "Internal Server Error"})
    assert authorizer_calls(code_root) == ["Bearer bad"]


def test_a_body_over_the_quota_is_413_before_any_function_runs(code_root: Path, client: InProcessClient) -> None:
    too_large = b"x" * (MAX_REQUEST_BYTES + 1)

    response = client.request("POST", "/echo/1", headers={"Authorization": "Bearer good"}, body=too_large)

    assert (response.status, response.json()) == (413, {"message": "Request Entity Too Large"})
    assert authorizer_calls(code_root) == []


def test_an_authorizer_context_skips_the_authorizer(code_root: Path, client: InProcessClient) -> None:
    response = client.request("POST", "/echo/1", authorizer_context={"token_id": "t9", "scopes": "x"})

    assert response.status == 200
    assert response.json()["event"]["requestContext"]["authorizer"] == {"lambda": {"token_id": "t9", "scopes": "x"}}
    assert authorizer_calls(code_root) == []


def test_the_response_is_decoded_as_a_client_sees_it(client: InProcessClient) -> None:
    response = client.request("GET", "/public")

    assert response.headers["content-type"] == "application/json"
    assert response.headers["apigw-requestid"]
    assert "set-cookie" not in response.headers
    assert response.cookies == ["a=1", "b=2; Path=/"]
    assert client.request("HEAD", "/public").content == b""


def test_the_authorizers_own_answer(client: InProcessClient) -> None:
    answer = client.authorizer_answer("POST", "/echo/1", headers={"Authorization": "Bearer good"})

    assert answer == {"isAuthorized": True, "context": {"token_id": "t1", "scopes": "tokens:read"}}
    with pytest.raises(LookupError):
        client.authorizer_answer("POST", "/echo/1")  # no identity source


def test_a_runtime_is_one_warm_instance_and_runtimes_do_not_share_modules(code_root: Path) -> None:
    # Given two gateways over one runtime, and a third with a runtime of its own
    def client_over(runtime: LambdaRuntime) -> InProcessClient:
        return InProcessClient(Gateway(http_template(), code_root, schedule_log=False, runtime=runtime))

    shared = LambdaRuntime(code_root)
    first, second, isolated = client_over(shared), client_over(shared), client_over(LambdaRuntime(code_root))

    # When each calls the echo function (which counts its invocations in a module global)
    counts = [client.request("GET", "/public").json()["invocations"] for client in (first, second, isolated)]

    # Then the shared runtime imported the module once; the other runtime has its own copy
    assert counts == [1, 2, 1]
    assert shared.loader.module("echo/") is shared.loader.module("echo", "app")


def test_warm_imports_the_routes_and_the_authorizer(code_root: Path, client: InProcessClient) -> None:
    client.warm("GET /public")

    loaded = client.gateway.runtime.loader._by_name  # noqa: SLF001
    assert set(loaded) == {("echo/", "app"), ("gate/", "auth")}
    with pytest.raises(KeyError):
        client.warm("GET /nowhere")
