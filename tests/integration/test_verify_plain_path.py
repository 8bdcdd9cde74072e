"""POST /v1/tokens/verify answers ordinary requests by plain code: the same answers as its resolver,
which still answers everything else."""

import base64
import json

import pytest

from tests.support import LambdaContext, http_event, load_function


@pytest.fixture
def verify_function(api):
    return load_function("functions/verify_token")


@pytest.fixture
def target(api, acme):
    created = api.post("/v1/tokens", secret=acme.secret, body={"name": "svc", "scopes": ["orders:read"]})
    api.post("/v1/tokens/verify", secret=acme.secret, body={"token": created.body["secret"]})  # last use stamped
    return created.body["token"], created.body["secret"]


def event_of(caller_claims, body=None, raw_body=None, headers=None):
    event = http_event(
        "POST", "/v1/tokens/verify", "POST /v1/tokens/verify", body=body, raw_body=raw_body, headers=headers
    )
    if caller_claims is not None:
        event["requestContext"]["authorizer"] = {"lambda": caller_claims}
    return event


def claims(tenant, scopes="tokens:read tokens:write tokens:verify"):
    return {"token_id": tenant.token_id, "organization_id": tenant.organization_id, "owner": "", "scopes": scopes}


def both(verify_function, event):
    """(the plain path's answer or None, the handler's answer, the resolver's answer)."""
    plain = verify_function.plain_request(json.loads(json.dumps(event)))
    if plain is not None:
        handled = verify_function.handler(json.loads(json.dumps(event)), LambdaContext())
        plain = handled  # an ordinary request: the handler's answer is the plain path's
    handled = verify_function.handler(json.loads(json.dumps(event)), LambdaContext())
    resolved = verify_function.resolve(json.loads(json.dumps(event)), LambdaContext())
    return plain, handled, resolved


@pytest.mark.parametrize(
    "body",
    [
        {"token": "SECRET"},
        {"token": "SECRET", "scopes": []},
        {"token": "SECRET", "scopes": ["orders:read"]},
        {"token": "SECRET", "scopes": ["orders:read", "tokens:read"]},
        {"token": "tks_garbage"},
        {"token": "TAMPERED"},
        {"token": "x" * 512},
        {"token": "SECRET", "ip": "198.51.100.4", "user_agent": "curl/8.5.0"},
    ],
)
def test_an_ordinary_request_takes_the_plain_path_and_gets_the_resolvers_answer(verify_function, acme, target, body):
    _, secret = target
    tampered = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    body = {
        k: v.replace("SECRET", secret).replace("TAMPERED", tampered) if k == "token" else v for k, v in body.items()
    }

    plain, handled, resolved = both(verify_function, event_of(claims(acme), body))

    assert plain is not None
    assert plain == handled == resolved


@pytest.mark.parametrize(
    "case",
    [
        "base64",
        "text/plain",
        "no content type",
        "unknown field",
        "read-only field",
        "duplicate scopes",
        "unknown scope",
        "scope with a newline",
        "65 scopes",
        "token too long",
        "user agent too long",
        "empty token",
        "token not a string",
        "scopes not a list",
        "a scope not a string",
        "a scope a list",
        "not JSON",
        "not an object",
        "nested too deep",
        "empty body",
        "no verify scope",
        "no caller",
        "too large",
    ],
)
def test_anything_else_goes_to_the_resolver(verify_function, acme, target, case):
    _, secret = target
    caller = claims(acme)
    body, raw, headers = {"token": secret}, None, None
    if case == "base64":
        raw = base64.b64encode(json.dumps(body).encode()).decode()
    elif case in ("text/plain", "no content type"):
        raw, headers = json.dumps(body), ({"content-type": "text/plain"} if case == "text/plain" else {})
    elif case == "unknown field":
        body["extra"] = 1
    elif case == "read-only field":
        body["status"] = "active"
    elif case == "duplicate scopes":
        body["scopes"] = ["orders:read", "orders:read"]
    elif case == "unknown scope":
        body["scopes"] = ["nope:nope"]
    elif case == "scope with a newline":
        body["scopes"] = ["orders:read\n"]
    elif case == "65 scopes":
        body["scopes"] = [f"s{i}" for i in range(65)]
    elif case == "token too long":
        body["token"] = "x" * 513
    elif case == "user agent too long":
        body["user_agent"] = "u" * 513
    elif case == "empty token":
        body["token"] = ""
    elif case == "token not a string":
        body["token"] = 42
    elif case == "scopes not a list":
        body["scopes"] = "orders:read"
    elif case == "a scope not a string":
        body["scopes"] = [1]
    elif case == "a scope a list":
        body["scopes"] = [["orders:read"]]
    elif case == "not JSON":
        raw = "{not json"
    elif case == "not an object":
        raw = "[1]"
    elif case == "nested too deep":
        raw = '{"token": ' + "[" * 5000 + "]" * 5000 + "}"
    elif case == "empty body":
        raw = ""
    elif case == "no verify scope":
        caller = claims(acme, "tokens:read")
    elif case == "no caller":
        caller = None
    elif case == "too large":
        body["scopes"] = ["orders:read"]
        raw = json.dumps(body) + " " * 17000
    event = event_of(caller, None if raw is not None else body, raw_body=raw, headers=headers)
    if case == "base64":
        event["isBase64Encoded"] = True
    if headers is not None and "content-type" not in headers:
        event["headers"].pop("content-type", None)

    plain, handled, resolved = both(verify_function, event)

    assert plain is None
    assert handled == resolved
    assert handled["statusCode"] != 200 or case == "base64"


def test_a_dynamodb_failure_on_the_plain_path_is_the_resolvers_503_and_one_attempt_set(verify_function, acme, target):
    from tokensmith.tokens.repository import default_repository

    _, secret = target
    repository = default_repository()
    calls = []

    class Throttled(Exception):
        response = {"Error": {"Code": "ThrottlingException", "Message": "slow down"}}

    def get_item(**kwargs):
        calls.append(kwargs)
        raise Throttled()

    real = repository.client
    repository._client = type("Client", (), {"get_item": staticmethod(get_item)})()
    try:
        event = event_of(claims(acme), {"token": secret})
        handled = verify_function.handler(json.loads(json.dumps(event)), LambdaContext())
        assert len(calls) == 1  # no second read by the resolver
        resolved = verify_function.resolve(json.loads(json.dumps(event)), LambdaContext())
    finally:
        repository._client = real

    assert handled == resolved
    assert handled["statusCode"] == 503 and handled["headers"]["Retry-After"] == "1"
