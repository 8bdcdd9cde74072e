"""docs/openapi.json is generated from the code and must not drift from it; it covers every route."""

import json

from devtools.openapi import DOCUMENT, build_document, documented_routes, render


def test_the_committed_document_matches_the_code():
    assert DOCUMENT.read_text() == render(build_document()), "docs/openapi.json is stale: run `make openapi`"


def test_every_template_route_is_documented_with_problem_answers():
    document = json.loads(DOCUMENT.read_text())
    for route in documented_routes():
        operation = document["paths"][route.path][route.method.lower()]
        responses = operation["responses"]
        assert any(status.startswith("2") for status in responses), route
        for status, response in responses.items():
            if status.startswith(("4", "5")) and status != "429":
                assert "application/problem+json" in response["content"], (route, status)
        assert operation.get("security", []) == ([{"bearerAuth": []}] if route.authorized else []), route


def test_request_bodies_refuse_unknown_fields():
    schemas = json.loads(DOCUMENT.read_text())["components"]["schemas"]
    for name, schema in schemas.items():
        if name.endswith("Request"):
            assert schema.get("additionalProperties") is False, name
