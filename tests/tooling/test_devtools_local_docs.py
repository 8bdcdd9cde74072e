"""The local gateway's /openapi.json and /docs (Swagger UI, from Powertools' own files), and `make run`'s
banner for them."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import requests

from devtools import run
from devtools.local_api.docs import swagger_ui_directory
from devtools.local_api.events import IncomingRequest
from devtools.local_api.gateway import Gateway
from devtools.local_api.server import LocalApiServer, serve_in_thread
from devtools.openapi import build_document, documented_routes
from devtools.template import PROJECT_ROOT


@pytest.fixture(scope="module")
def served(moto_endpoint: str) -> Iterator[LocalApiServer]:
    """The real template, as the e2e tests and `make run` serve it (no table needed for these routes)."""
    with serve_in_thread(moto_endpoint, table_name="tokensmith-docs") as server:
        yield server


def test_openapi_json_is_the_document_built_from_the_code_with_this_server(served: LocalApiServer) -> None:
    response = requests.get(f"{served.base_url}/openapi.json", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    document = response.json()
    assert document["servers"] == [{"url": served.base_url, "description": "this local server (make run)"}]
    assert document == {**build_document(), "servers": document["servers"]}


def test_openapi_json_lists_every_template_route(served: LocalApiServer) -> None:
    paths = requests.get(f"{served.base_url}/openapi.json", timeout=10).json()["paths"]
    routes = documented_routes()  # every API route; the console's HTML page is not an operation
    assert routes
    for route in routes:
        assert route.method.lower() in paths.get(route.path, {}), route.route_key
    documented = {(method.upper(), path) for path, item in paths.items() for method in item}
    assert documented == {(route.method, route.path) for route in routes}


def test_servers_entry_names_the_host_the_client_used(served: LocalApiServer) -> None:
    response = requests.get(f"http://localhost:{served.port}/openapi.json", timeout=10)
    assert response.json()["servers"][0]["url"] == f"http://localhost:{served.port}"


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.references: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.references += [value or "" for name, value in attrs if name in ("src", "href")]


def test_docs_is_swagger_ui_from_local_assets_only(served: LocalApiServer) -> None:
    response = requests.get(f"{served.base_url}/docs", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    html = response.text
    parser = _References()
    parser.feed(html)
    assert sorted(parser.references) == ["/docs/swagger-ui-bundle.min.js", "/docs/swagger-ui.min.css"]
    assert 'url: "/openapi.json"' in html
    assert "validatorUrl: null" in html  # Swagger UI would otherwise send the document to swagger.io
    assert not re.search(r"https?:|//[a-z]", html, re.IGNORECASE), "the page must load nothing from elsewhere"
    assert requests.get(f"{served.base_url}/docs/", timeout=10).text == html


@pytest.mark.parametrize(
    ("asset", "content_type"),
    [
        ("swagger-ui-bundle.min.js", "text/javascript; charset=utf-8"),
        ("swagger-ui.min.css", "text/css; charset=utf-8"),
    ],
)
def test_swagger_ui_assets_are_powertools_own_files(served: LocalApiServer, asset: str, content_type: str) -> None:
    response = requests.get(f"{served.base_url}/docs/{asset}", timeout=30)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == content_type
    assert response.content == (swagger_ui_directory() / asset).read_bytes()


def test_docs_format_json_is_the_document_too(served: LocalApiServer) -> None:
    response = requests.get(f"{served.base_url}/docs?format=json", timeout=10)
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == requests.get(f"{served.base_url}/openapi.json", timeout=10).json()


@pytest.mark.parametrize("path", ["/openapi.json", "/docs", "/docs/swagger-ui.min.css"])
def test_docs_routes_answer_head_and_refuse_other_methods(served: LocalApiServer, path: str) -> None:
    head = requests.head(f"{served.base_url}{path}", timeout=10)
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["Content-Length"]) > 0
    post = requests.post(f"{served.base_url}{path}", timeout=10)
    assert post.status_code == 405
    assert post.headers["Allow"] == "GET, HEAD"
    assert post.json() == {"message": "Method Not Allowed"}


@pytest.mark.parametrize("path", ["/docs/other.js", "/docs/swagger_ui/html.py", "/docsx", "/openapi.yaml"])
def test_other_paths_near_the_docs_are_not_found(served: LocalApiServer, path: str) -> None:
    response = requests.get(f"{served.base_url}{path}", timeout=10)
    assert response.status_code == 404
    assert response.json() == {"message": "Not Found"}


@pytest.mark.parametrize("method", ["TRACE", "QUERY", "PROPFIND"])
def test_any_other_method_is_api_gateways_404_not_a_501(served: LocalApiServer, method: str) -> None:
    response = requests.request(method, f"{served.base_url}/v1/tokens/self", timeout=10)
    assert response.status_code == 404
    assert response.json() == {"message": "Not Found"}


# --- the Gateway on its own: fake templates ------------------------------------------------------------------


def _template(method: str, path: str) -> dict[str, Any]:
    return {
        "Resources": {
            "Api": {"Type": "AWS::Serverless::HttpApi", "Properties": {}},
            "DocsFunction": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "CodeUri": "docs/",
                    "Handler": "app.handler",
                    "Events": {
                        "Api": {
                            "Type": "HttpApi",
                            "Properties": {"ApiId": {"Ref": "Api"}, "Method": method, "Path": path},
                        }
                    },
                },
            },
        }
    }


HANDLER = """
def handler(event, context):
    return {"statusCode": 200, "headers": {"content-type": "text/plain"}, "body": "from the template"}
"""


@pytest.fixture
def code_root(tmp_path: Path) -> Path:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "app.py").write_text(textwrap.dedent(HANDLER))
    return tmp_path


def _get(gateway: Gateway, path: str, query: str = "") -> tuple[int, dict[str, str], bytes]:
    response = gateway.handle(
        IncomingRequest("GET", path, query, headers=(("Host", "127.0.0.1:4321"),), source_ip="127.0.0.1")
    )
    return response.status, dict(response.headers), response.body


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/docs"), ("GET", "/openapi.json"), ("ANY", "/{proxy+}"), ("ANY", "$default")],
)
def test_a_template_route_always_wins(code_root: Path, method: str, path: str) -> None:
    """Any route of the template that matches the path, greedy ones too; only `$default`, the catch-all, comes
    after the local routes, as for /__local/schedules."""
    gateway = Gateway(_template(method, path), code_root, openapi={"openapi": "3.1.0", "paths": {}}, schedule_log=False)
    for local in ("/docs", "/openapi.json"):
        status, _, body = _get(gateway, local)
        if path in (local, "/{proxy+}"):
            assert (status, body) == (200, b"from the template"), local
        else:
            assert status == 200 and body != b"from the template", local
    if path == "$default":
        assert _get(gateway, "/anything/else")[2] == b"from the template"


def test_without_a_document_there_are_no_docs_routes(code_root: Path) -> None:
    gateway = Gateway(_template("GET", "/elsewhere"), code_root, schedule_log=False)
    for path in ("/docs", "/openapi.json", "/docs/swagger-ui.min.css"):
        status, _, body = _get(gateway, path)
        assert (status, json.loads(body)) == (404, {"message": "Not Found"}), path


def test_a_document_function_is_called_once_on_first_use(code_root: Path) -> None:
    calls: list[int] = []

    def build() -> dict[str, Any]:
        calls.append(1)
        return {"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {}, "servers": [{"url": "/"}]}

    gateway = Gateway(_template("GET", "/elsewhere"), code_root, openapi=build, schedule_log=False)
    assert calls == []
    for _ in range(3):
        status, headers, body = _get(gateway, "/openapi.json")
        assert status == 200 and headers["Content-Type"] == "application/json"
        assert json.loads(body)["servers"] == [
            {"url": "http://127.0.0.1:4321", "description": "this local server (make run)"}
        ]
    assert calls == [1]
    assert gateway.openapi_document()["servers"] == [{"url": "/"}]  # type: ignore[index]  # the original, untouched


# --- make run ----------------------------------------------------------------------------------------------------


def test_banner_names_the_docs_and_the_document() -> None:
    banner = run.usage_banner("http://127.0.0.1:4321", Path("admin-token"), "embedded moto")
    assert "API docs (Swagger UI): http://127.0.0.1:4321/docs " in banner
    assert "OpenAPI document: http://127.0.0.1:4321/openapi.json" in banner
    without = run.usage_banner("http://127.0.0.1:4321", Path("admin-token"), "embedded moto", docs=False)
    assert "/docs" not in without and "openapi.json" not in without


def test_a_document_that_cannot_be_built_is_a_warning_not_a_crash(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken() -> dict[str, Any]:
        raise ImportError("no module named functions.nowhere")

    monkeypatch.setattr("devtools.openapi.build_document", broken)
    assert run._openapi_document() is None
    assert "warning: no /docs: the OpenAPI document cannot be built (ImportError: no module named" in (
        capsys.readouterr().err
    )


def test_make_run_serves_the_docs_it_prints(tmp_path: Path) -> None:
    """`python -m devtools.run`, for real (its bootstrap too): the banner's /docs URL answers Swagger UI."""
    process = subprocess.Popen(
        [sys.executable, "-m", "devtools.run", "--port", "0", "--admin-token-file", str(tmp_path / "admin-token")],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()  # type: ignore[union-attr]
    try:
        output = ""
        deadline = time.monotonic() + 60
        while "Ctrl-C stops" not in output:
            try:
                output += lines.get(timeout=0.5)
            except queue.Empty:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"no banner; stdout:\n{output}\nexit code: {process.poll()}")
        docs = re.search(r"API docs \(Swagger UI\): (http://127\.0\.0\.1:\d+)/docs ", output)
        assert docs, output
        base_url = docs.group(1)
        assert f"OpenAPI document: {base_url}/openapi.json" in output
        page = requests.get(f"{base_url}/docs", timeout=10)
        assert page.status_code == 200 and "SwaggerUIBundle" in page.text
        document = requests.get(f"{base_url}/openapi.json", timeout=10).json()
        assert document["servers"][0]["url"] == base_url
        assert set(document["paths"]) == {route.path for route in documented_routes()}
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    stderr = process.stderr.read()  # type: ignore[union-attr]
    assert process.returncode == 0, stderr
    assert "warning: no /docs" not in stderr
