"""Bad input gets a clear 4xx problem+json, never a 500."""

import json

import pytest


def problem(response, status):
    assert response.status == status, response.body
    assert response.headers["content-type"] == "application/problem+json"
    body = response.body
    assert body["status"] == status and body["title"] and body["detail"] and body["type"].startswith("https://")
    return body


def test_malformed_json_is_a_400(api, acme):
    body = problem(
        api.post("/v1/tokens", secret=acme.secret, raw_body='{"name": ', headers={"content-type": "application/json"}),
        400,
    )
    assert "not valid JSON" in body["detail"]


def test_non_utf8_is_a_400(api, acme):
    body = problem(
        api.post(
            "/v1/tokens",
            secret=acme.secret,
            raw_body=b'{"name": "\xff\xfe"}',
            headers={"content-type": "application/json"},
        ),
        400,
    )
    assert "UTF-8" in body["detail"]


def test_a_wrong_content_type_is_a_415(api, acme):
    problem(
        api.post(
            "/v1/tokens",
            secret=acme.secret,
            raw_body="name=x",
            headers={"content-type": "application/x-www-form-urlencoded"},
        ),
        415,
    )


def test_a_body_over_16_kib_is_a_413(api, acme):
    big = json.dumps({"name": "x", "description": "a" * 17000})
    problem(api.post("/v1/tokens", secret=acme.secret, raw_body=big, headers={"content-type": "application/json"}), 413)


def test_a_missing_body_is_a_422(api, acme):
    body = problem(api.post("/v1/tokens", secret=acme.secret), 422)
    assert body["errors"][0]["field"] == "body"


@pytest.mark.parametrize("document", ["[]", '"x"', "42", "null"])
def test_a_body_that_is_not_an_object_is_a_422(api, acme, document):
    problem(
        api.post("/v1/tokens", secret=acme.secret, raw_body=document, headers={"content-type": "application/json"}), 422
    )


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 257}, "name"),
        ({"name": "ok", "scopes": ["tokens:read"] * 2}, "scopes"),
        ({"name": "ok", "scopes": ["x" * 65]}, "scopes.0"),
        ({"name": "ok", "scopes": ["tokens:read"] * 65}, "scopes"),
        ({"name": "ok", "owner": "a#b"}, "owner"),
        ({"name": 7}, "name"),
        ({"name": "ok", "revoked": "yes"}, "revoked"),
    ],
)
def test_field_errors_name_the_field(api, acme, body, field):
    errors = problem(api.post("/v1/tokens", secret=acme.secret, body=body), 422)["errors"]
    assert field in {e["field"] for e in errors}


@pytest.mark.parametrize("name", [" padded", "padded ", "tab\tinside", "\u00a0nbsp"])
def test_text_is_refused_not_stripped_and_the_error_says_why(api, acme, name):
    (error,) = problem(api.post("/v1/tokens", secret=acme.secret, body={"name": name}), 422)["errors"]
    assert error == {"field": "name", "message": "must be printable text that neither starts nor ends with whitespace"}


def test_inner_spaces_and_unicode_are_fine(api, acme):
    response = api.post("/v1/tokens", secret=acme.secret, body={"name": "deploy bot ✓ für CI"})
    assert response.status == 201, response.body
    assert response.body["token"]["name"] == "deploy bot ✓ für CI"


def test_an_integral_float_is_an_integer_and_other_numbers_are_not(api, acme):
    token_id = api.post("/v1/tokens", secret=acme.secret, body={"name": "r"}).body["token"]["id"]
    assert (
        api.post(f"/v1/tokens/{token_id}/rotate", secret=acme.secret, body={"grace_period_seconds": 60.0}).status == 200
    )
    for value in (60.5, True, "60"):
        body = {"grace_period_seconds": value}
        problem(api.post(f"/v1/tokens/{token_id}/rotate", secret=acme.secret, body=body), 422)


def test_an_unknown_token_id_is_a_404_problem(api, acme):
    problem(api.get("/v1/tokens/00000000-0000-4000-8000-000000000000", secret=acme.secret), 404)
    problem(api.get("/v1/tokens/not-a-uuid", secret=acme.secret), 404)
    for operation, body in (("rotate", {}), ("disable", None), ("enable", None), ("revoke", {"reason": "r"})):
        problem(api.post(f"/v1/tokens/not-a-uuid/{operation}", secret=acme.secret, body=body), 404)


def test_unknown_query_parameters_and_bad_limits_are_422(api, acme):
    assert (
        problem(api.get("/v1/tokens", secret=acme.secret, query={"sort": "name"}), 422)["errors"][0]["field"] == "sort"
    )
    for limit in ("0", "101", "-1", "ten"):
        problem(api.get("/v1/tokens", secret=acme.secret, query={"limit": limit}), 422)
    problem(api.get("/v1/tokens", secret=acme.secret, query={"status": "sleeping"}), 422)
    problem(api.get("/v1/tokens", secret=acme.secret, query={"cursor": "%%%"}), 422)


def test_dynamodb_throttling_is_a_503_with_retry_after(api, acme, monkeypatch):
    from botocore.exceptions import ClientError

    from tokensmith.tokens.repository import TokenRepository

    def throttled(self, token_id):
        raise ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}, "GetItem"
        )

    token_id = acme.token_id
    secret = acme.secret
    assert api.get(f"/v1/tokens/{token_id}", secret=secret).status == 200
    monkeypatch.setattr(TokenRepository, "get_token", throttled)

    # The authorizer fails closed…
    assert api.get(f"/v1/tokens/{token_id}", secret=secret).status == 403


def test_a_function_answers_503_when_dynamodb_throttles(acme, monkeypatch):
    from botocore.exceptions import ClientError

    from tests.support import LambdaContext, http_event, load_function
    from tokensmith.tokens.repository import TokenRepository

    def throttled(self, token_id):
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "GetItem")

    monkeypatch.setattr(TokenRepository, "get_token", throttled)
    event = http_event("GET", f"/v1/tokens/{acme.token_id}", "GET /v1/tokens/{token_id}", {"token_id": acme.token_id})
    event["requestContext"]["authorizer"] = {
        "lambda": {"token_id": acme.token_id, "organization_id": "acme", "owner": "", "scopes": "tokens:read"}
    }

    result = load_function("functions/get_token").handler(event, LambdaContext())

    assert result["statusCode"] == 503
    assert result["headers"]["Retry-After"] == "1"
    assert json.loads(result["body"])["status"] == 503
