"""``tokensmith.http.binding``: a route's JSON body and query parameters, parsed with our 4xx rules
(size, content type, encoding, syntax, unknown and read-only fields, aliases, values), driven
through ``create_app`` with a router of its own and payload 2.0 events built here. No table, no
gateway: the cases that need a token or a table stay in ``tests/integration/test_errors.py``."""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any, Literal

import pytest

from tokensmith.http.app import create_app, create_router
from tokensmith.http.binding import MAX_BODY_EXTENSION
from tokensmith.http.params import Body, Query
from tokensmith.tokens.models import AdminUpdateTokenRequest, CreateTokenRequest, RotateTokenRequest

router = create_router()


@router.post("/tokens")
def create(body: Annotated[CreateTokenRequest, Body()]):
    return body.model_dump(mode="json")


@router.post("/rotate")
def rotate(body: Annotated[RotateTokenRequest, Body()] = None):
    return {"grace_period_seconds": body.grace_period_seconds if body else None}


@router.patch("/admin")
def admin(body: Annotated[AdminUpdateTokenRequest, Body()]):
    return body.model_dump(mode="json", exclude_none=True)


@router.post("/small", openapi_extensions={MAX_BODY_EXTENSION: 64})
def small(body: Annotated[CreateTokenRequest, Body()]):
    return {"name": body.name}


@router.get("/tokens")
def listing(
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    status: Annotated[Literal["active", "disabled", "revoked", "expired"] | None, Query()] = None,
):
    return {"limit": limit, "status": status}


app = create_app(router)
JSON = {"content-type": "application/json"}


class Answer:
    def __init__(self, result: dict[str, Any]) -> None:
        self.status = result["statusCode"]
        self.content_type = result["headers"]["Content-Type"]
        self.body = json.loads(result["body"]) if result.get("body") else None


def call(
    method: str,
    path: str,
    raw: str | bytes | None = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    encoded: bool = False,
) -> Answer:
    """A payload 2.0 event of ``method path`` through the app. A ``bytes`` body is sent base64-encoded,
    as API Gateway sends a body that is not UTF-8; ``encoded`` marks a text body as base64 already."""
    if isinstance(raw, bytes):
        raw, encoded = base64.b64encode(raw).decode(), True
    event = {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": "&".join(f"{k}={v}" for k, v in (query or {}).items()),
        "headers": dict(headers or {}),
        "queryStringParameters": query,
        "body": raw,
        "isBase64Encoded": encoded,
        "requestContext": {"http": {"method": method, "path": path, "sourceIp": "203.0.113.7"}, "stage": "$default"},
    }
    return Answer(app.resolve(event, None))


def post_json(path: str, document: Any) -> Answer:
    return call("POST", path, json.dumps(document), JSON)


def problem(answer: Answer, status: int) -> dict[str, Any]:
    """The problem+json body of ``answer``, which must have ``status``."""
    assert (answer.status, answer.content_type) == (status, "application/problem+json"), answer.body
    assert answer.body["status"] == status and answer.body["detail"] and answer.body["type"].startswith("https://")
    return answer.body


def fields(answer: Answer) -> set[str]:
    return {e["field"] for e in problem(answer, 422)["errors"]}


# --- the body as bytes -----------------------------------------------------------------------------


def test_malformed_json_is_a_400_saying_where():
    # When the body is cut short, Then it is a 400 naming the place
    assert "not valid JSON" in problem(call("POST", "/tokens", '{"name": ', JSON), 400)["detail"]


def test_a_body_that_is_not_utf8_is_a_400():
    # When the body has bytes that are not UTF-8 (so the gateway base64-encodes it), Then it is a 400
    assert "UTF-8" in problem(call("POST", "/tokens", b'{"name": "\xff\xfe"}', JSON), 400)["detail"]


def test_a_base64_body_that_is_not_base64_is_a_400():
    # When the event says base64 but the body is not, Then it is a 400
    assert "base64" in problem(call("POST", "/tokens", "not base64!", JSON, encoded=True), 400)["detail"]


def test_a_base64_encoded_json_body_is_read():
    # When the gateway base64-encodes a valid body, Then it is read as JSON
    answer = call("POST", "/tokens", base64.b64encode(b'{"name": "encoded"}').decode(), JSON, encoded=True)
    assert answer.status == 200 and answer.body["name"] == "encoded"


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain", None])
def test_a_body_that_is_not_declared_json_is_a_415(content_type):
    # When the body comes as form data, text, or without a content type, Then it is a 415
    headers = {"content-type": content_type} if content_type else {}
    problem(call("POST", "/tokens", '{"name": "x"}', headers), 415)


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/merge-patch+json"])
def test_json_with_parameters_or_a_json_suffix_is_accepted(content_type):
    # When the content type is JSON with a charset, or a +json type, Then the body is read
    assert call("POST", "/tokens", '{"name": "x"}', {"content-type": content_type}).status == 200


def test_a_body_over_16_kib_is_a_413():
    # When the body is larger than MaxBodyBytes (16 KiB), Then it is a 413
    problem(post_json("/tokens", {"name": "x", "description": "a" * 17000}), 413)


def test_a_route_may_set_a_smaller_body_limit():
    # When a 100-byte body reaches a route limited to 64 bytes, Then it is a 413 naming the limit
    assert "64" in problem(post_json("/small", {"name": "x" * 80}), 413)["detail"]


# --- the document ----------------------------------------------------------------------------------


def test_a_missing_required_body_is_a_422_on_body():
    # When a route that needs a body gets none, Then it is a 422 on "body"
    assert fields(call("POST", "/tokens")) == {"body"}


def test_a_missing_optional_body_is_the_models_defaults():
    # When a route whose body is optional gets none, Then it runs with the defaults (no grace period)
    answer = call("POST", "/rotate")
    assert answer.status == 200 and answer.body == {"grace_period_seconds": 0}


@pytest.mark.parametrize("document", ["[]", '"x"', "42", "null"])
def test_a_body_that_is_not_an_object_is_a_422(document):
    # When the JSON body is not an object, Then it is a 422 on "body"
    assert fields(call("POST", "/tokens", document, JSON)) == {"body"}


def test_read_only_fields_are_refused_by_name():
    # When the body writes id and status, Then it is a 422 naming both as read-only
    body = problem(post_json("/tokens", {"name": "x", "status": "active", "id": "y"}), 422)
    assert body["errors"] == [{"field": "id", "message": "read-only"}, {"field": "status", "message": "read-only"}]


def test_a_read_only_field_that_the_model_declares_is_not_refused():
    # When the admin route's body sets status (read-only elsewhere), Then it is read
    assert call("PATCH", "/admin", '{"status": "disabled"}', JSON).body == {"status": "disabled"}


def test_unknown_fields_are_refused_by_name():
    # When the body has a field no model has, Then it is a 422 "unknown field" on it
    assert problem(post_json("/tokens", {"name": "x", "colour": "red"}), 422)["errors"] == [
        {"field": "colour", "message": "unknown field"}
    ]


@pytest.mark.parametrize("name, alias", [("description", "comment"), ("owner", "owner_email")])
def test_an_alias_reads_as_its_field(name, alias):
    # When the body uses the alias, Then the field has its value
    assert post_json("/tokens", {"name": "x", alias: "a@example.com"}).body[name] == "a@example.com"


@pytest.mark.parametrize("name, alias", [("description", "comment"), ("owner", "owner_email")])
def test_a_field_and_its_alias_together_are_refused(name, alias):
    # When the body gives both, Then it is a 422 on the alias
    assert fields(post_json("/tokens", {"name": "x", name: "a@example.com", alias: "b@example.com"})) == {alias}


# --- field values ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "document, field",
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 257}, "name"),
        ({"name": "ok", "scopes": ["tokens:read"] * 2}, "scopes"),
        ({"name": "ok", "scopes": ["x" * 65]}, "scopes.0"),
        ({"name": "ok", "scopes": ["tokens:read"] * 65}, "scopes"),
        ({"name": "ok", "owner": "a#b"}, "owner"),
        ({"name": 7}, "name"),
        ({"name": "ok", "revoked": "yes"}, "revoked"),
        ({"name": "ok", "expires_at": "2031-01-01T00:00:00"}, "expires_at"),
    ],
)
def test_field_errors_name_the_field(document, field):
    # When a field's value is not acceptable, Then the 422 names that field
    assert field in fields(post_json("/tokens", document))


@pytest.mark.parametrize("name", [" padded", "padded ", "tab\tinside", "\u00a0nbsp"])
def test_text_is_refused_not_stripped_and_the_error_says_why(name):
    # When a name has outer whitespace or a control character, Then it is refused, in words
    assert problem(post_json("/tokens", {"name": name}), 422)["errors"] == [
        {"field": "name", "message": "must be printable text that neither starts nor ends with whitespace"}
    ]


def test_inner_spaces_and_unicode_are_fine():
    # When a name has inner spaces and non-ASCII letters, Then it is kept as sent
    assert post_json("/tokens", {"name": "deploy bot ✓ für CI"}).body["name"] == "deploy bot ✓ für CI"


def test_an_integral_float_is_an_integer():
    # When a number of seconds is sent as 60.0, Then it is the integer 60
    assert post_json("/rotate", {"grace_period_seconds": 60.0}).body == {"grace_period_seconds": 60}


@pytest.mark.parametrize("value", [60.5, True, "60"])
def test_other_numbers_are_not_integers(value):
    # When a number of seconds is 60.5, true or "60", Then it is a 422 on the field
    assert fields(post_json("/rotate", {"grace_period_seconds": value})) == {"grace_period_seconds"}


# --- query parameters ------------------------------------------------------------------------------


def test_an_unknown_query_parameter_is_refused_by_name():
    # When the query has a parameter the route does not declare, Then it is a 422 naming it
    body = problem(call("GET", "/tokens", query={"sort": "name"}), 422)
    assert body["errors"] == [{"field": "sort", "message": "unknown query parameter"}]
    assert "invalid query" in body["detail"]


@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten"])
def test_a_limit_out_of_range_is_a_422(limit):
    # When limit is out of 1..100 or not a number, Then it is a 422 on limit
    assert fields(call("GET", "/tokens", query={"limit": limit})) == {"limit"}


def test_an_unknown_status_is_a_422():
    # When status is not one of the statuses, Then it is a 422 on status
    assert fields(call("GET", "/tokens", query={"status": "sleeping"})) == {"status"}


def test_declared_query_parameters_are_bound():
    # When the query has valid parameters, Then the route gets them as typed values
    assert call("GET", "/tokens", query={"limit": "10", "status": "active"}).body == {"limit": 10, "status": "active"}
