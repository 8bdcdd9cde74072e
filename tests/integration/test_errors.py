"""Bad input gets a clear 4xx problem+json, never a 500: the cases that need a token or the table.
Body and query parsing (JSON, UTF-8, base64, content type, size, fields, query parameters) are unit
tests of the binding: tests/unit/test_http_binding.py."""

import json


def problem(response, status):
    assert response.status == status, response.body
    assert response.headers["content-type"] == "application/problem+json"
    body = response.body
    assert body["status"] == status and body["title"] and body["detail"] and body["type"].startswith("https://")
    return body


def test_an_unknown_token_id_is_a_404_problem(api, acme):
    problem(api.get("/v1/tokens/00000000-0000-4000-8000-000000000000", secret=acme.secret), 404)
    problem(api.get("/v1/tokens/not-a-uuid", secret=acme.secret), 404)
    for operation, body in (("rotate", {}), ("disable", None), ("enable", None), ("revoke", {"reason": "r"})):
        problem(api.post(f"/v1/tokens/not-a-uuid/{operation}", secret=acme.secret, body=body), 404)


def test_a_cursor_that_is_not_one_is_a_422(api, acme):
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
