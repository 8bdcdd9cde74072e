"""``tokensmith.http.router``: the functions' own dispatcher answers as Powertools' resolver did (the
same payload 2.0 dict for the same route and answer), binds Powertools' ``Body``/``Query`` markers
as well as ours, and no API function imports Powertools' event handler (its cold start)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any

import pytest
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler import Response as PowertoolsResponse
from aws_lambda_powertools.event_handler.openapi.params import Body as PowertoolsBody
from aws_lambda_powertools.event_handler.openapi.params import Query as PowertoolsQuery

from devtools.openapi import powertools_router
from devtools.template import http_routes, load_template
from tokensmith.http.app import create_app, create_router
from tokensmith.http.router import Response
from tokensmith.tokens.models import CreateTokenRequest

ROOT = Path(__file__).resolve().parents[2]


def routes(response: type) -> Any:
    """The same routes, answering our ``Response`` or Powertools' (which its resolver needs)."""
    router = create_router()

    @router.get("/v1/things/<thing_id>/parts/<part>")
    def read_part(thing_id: str, part: str):
        return response(200, "application/json", json.dumps({"thing": thing_id, "part": part}), {"ETag": '"3"'})

    @router.delete("/v1/things/<thing_id>")
    def forget(thing_id: str):
        headers = {"Cache-Control": "no-store", "Vary": ["Cookie", "Authorization"], "X-Gone": None}
        return response(status_code=204, headers=headers, cookies=["a=; Max-Age=0; Path=/"])

    @router.get("/v1/plain")
    def plain():
        return {"plain": True}

    @router.post("/v1/created")
    def created():
        return {"made": 1}, 201

    return router


app = create_app(routes(Response))
reference = APIGatewayHttpResolver()
reference.include_router(powertools_router(routes(PowertoolsResponse)))


def event(method: str, path: str, stage: str = "$default") -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {},
        "requestContext": {"http": {"method": method, "path": path, "sourceIp": "203.0.113.7"}, "stage": stage},
    }


@pytest.mark.parametrize(
    ("method", "path", "stage"),
    [
        ("GET", "/v1/things/4f1d/parts/a%20b", "$default"),  # path parameters as sent, percent-encoded
        ("GET", "/prod/v1/things/x/parts/y", "prod"),  # a named stage's prefix is not part of the route
        ("DELETE", "/v1/things/abc", "$default"),  # no body, headers of lists and None, cookies
        ("GET", "/v1/plain", "$default"),  # a dict: JSON
        ("POST", "/v1/created", "$default"),  # (dict, status)
    ],
)
def test_answers_as_powertools_resolver(method, path, stage):
    # Given the same routes on our dispatcher and on Powertools' resolver, When one request comes,
    # Then both answer the same payload 2.0 dict (bodies compared as JSON: Powertools' serializer spaces differ)
    ours, theirs = app.resolve(event(method, path, stage), None), reference.resolve(event(method, path, stage), None)
    assert ours["statusCode"] == theirs["statusCode"]
    assert ours["headers"] == theirs["headers"] and ours["cookies"] == theirs["cookies"]
    assert ours["isBase64Encoded"] is theirs["isBase64Encoded"] is False
    if theirs["body"] is None:
        assert ours["body"] is None
    else:
        assert json.loads(ours["body"]) == json.loads(theirs["body"])


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/things/x"), ("POST", "/v1/things/x/parts/y"), ("GET", "/v1/things/x/parts/y/z"), ("GET", "")],
)
def test_anything_else_is_a_404_problem(method, path):
    answer = app.resolve(event(method, path), None)
    body = json.loads(answer["body"])
    assert (answer["statusCode"], answer["headers"]["Content-Type"]) == (404, "application/problem+json")
    assert body["detail"] == "no such route" and body["instance"] == path


def test_the_routes_router_holds_the_request_being_answered():
    # Given a route that reads its request from its router, When it is answered, Then it read this one
    seen = create_router()

    @seen.get("/v1/seen")
    def look():
        return {"path": seen.current_event.raw_event["rawPath"], "query": seen.current_event.query_string_parameters}

    answer = create_app(seen).resolve({**event("GET", "/v1/seen"), "queryStringParameters": {"a": "1"}}, None)
    assert json.loads(answer["body"]) == {"path": "/v1/seen", "query": {"a": "1"}}


def test_powertools_markers_and_response_still_work():
    """A function written with Powertools' ``Body``, ``Query`` and ``Response`` (as they all were) is
    bound and answered the same, only slower to start."""
    old = create_router()

    @old.post("/v1/old")
    def make(body: Annotated[CreateTokenRequest, PowertoolsBody()], limit: Annotated[int, PowertoolsQuery(le=5)] = 1):
        return PowertoolsResponse(201, "application/json", json.dumps({"name": body.name, "limit": limit}))

    request = {
        **event("POST", "/v1/old"),
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"name": "ci", "scopes": ["tokens:read"]}),
    }
    made = create_app(old).resolve({**request, "queryStringParameters": {"limit": "3"}}, None)
    assert (made["statusCode"], json.loads(made["body"])) == (201, {"name": "ci", "limit": 3})
    refused = create_app(old).resolve({**request, "queryStringParameters": {"limit": "6"}}, None)
    assert refused["statusCode"] == 422 and json.loads(refused["body"])["errors"][0]["field"] == "limit"


def test_no_api_function_imports_powertools_event_handler():
    """Importing it costs about a fifth of a function's cold start (docs/performance.md). A function
    that imports ``Body``/``Query`` from ``aws_lambda_powertools.event_handler.openapi.params`` or
    ``Response`` from ``aws_lambda_powertools.event_handler`` still works: import them from
    ``tokensmith.http.params`` and ``tokensmith.http.router`` instead (the same names)."""
    folders = sorted({route.code_uri.rstrip("/") for route in http_routes(load_template(str(ROOT / "template.yaml")))})
    probe = """
import importlib.util, json, sys
sys.path.insert(0, sys.argv[1] + "/layers/common")
culprits = []
for folder in json.loads(sys.argv[2]):
    spec = importlib.util.spec_from_file_location("app_" + folder.replace("/", "_"), f"{sys.argv[1]}/{folder}/app.py")
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
    if "aws_lambda_powertools.event_handler" in sys.modules and not culprits:
        culprits.append(folder)
print(json.dumps(culprits))
"""
    result = subprocess.run(
        [sys.executable, "-c", probe, str(ROOT), json.dumps(folders)], capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout) == []


def test_a_route_without_a_body_or_query_imports_no_pydantic():
    """pydantic is about a fifth of a function's cold start (docs/performance.md): a route with no
    ``Body()`` and no ``Query()`` parameter never needs it. Its answers' models are named in
    ``operation(...)`` as text and imported only for the OpenAPI document; the services import their
    request models for type checking only. Imported, then answering a request (here one without a
    verified caller: a 401 problem, through the dispatcher, the binding and the problem mapping)."""
    folders = sorted(
        {
            route.code_uri.rstrip("/")
            for route in http_routes(load_template(str(ROOT / "template.yaml")))
            if "api_entrypoint" in (text := (ROOT / route.code_uri / "app.py").read_text())
            and "Body()" not in text
            and "Query(" not in text
            and "raw_body(" not in text
        }
    )
    probe = """
import importlib.util, json, sys
sys.path.insert(0, sys.argv[1] + "/layers/common")
class Context:
    function_name, memory_limit_in_mb, aws_request_id = "test", 128, "00000000-0000-4000-8000-000000000000"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test"
found = {}
for folder, path, method in json.loads(sys.argv[2]):
    spec = importlib.util.spec_from_file_location("app_" + folder.replace("/", "_"), f"{sys.argv[1]}/{folder}/app.py")
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)
    event = {"version": "2.0", "rawPath": path, "headers": {}, "requestContext": {"http": {"method": method}}}
    answer = app.handler(event, Context())
    heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("pydantic", "pydantic_core"))
    found[folder] = [answer["statusCode"], heavy[:3]]
print(json.dumps(found))
"""
    routes = {
        route.code_uri.rstrip("/"): (route.path.replace("{", "").replace("}", ""), route.method)
        for route in http_routes(load_template(str(ROOT / "template.yaml")))
    }
    subjects = [(folder, *routes[folder]) for folder in folders]
    result = subprocess.run(
        [sys.executable, "-c", probe, str(ROOT), json.dumps(subjects)], capture_output=True, text=True, check=True
    )
    found = json.loads(result.stdout)

    assert len(found) >= 10  # the reads, deletes, enable and disable, sessions and webhooks
    assert {folder: answer for folder, answer in found.items() if answer != [401, []]} == {}
