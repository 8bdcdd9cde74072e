"""POST /v1/tokens/verify, the authorizer, and last-use bookkeeping."""

import pytest

from tests.integration.conftest import make_tenant


@pytest.fixture
def target(api, acme):
    created = api.post("/v1/tokens", secret=acme.secret, body={"name": "svc", "scopes": ["orders:read"]})
    return created.body["token"], created.body["secret"]


def verify(api, caller, secret, scopes=None):
    body = {"token": secret, **({"scopes": scopes} if scopes is not None else {})}
    return api.post("/v1/tokens/verify", secret=caller.secret, body=body)


NOT_FOUND = {"valid": False, "code": "NOT_FOUND", "token": None, "ratelimits": [], "credits": None, "meta": None}


def test_verify_codes(api, acme, target):
    token, secret = target
    tampered = secret[:-1] + ("A" if secret[-1] != "A" else "B")

    assert verify(api, acme, secret).body["code"] == "VALID"
    assert verify(api, acme, secret, ["orders:read"]).body["valid"] is True
    insufficient = verify(api, acme, secret, ["orders:read", "orders:write"]).body
    assert insufficient["code"] == "INSUFFICIENT_SCOPES" and insufficient["valid"] is False
    assert verify(api, acme, tampered).body == NOT_FOUND
    assert verify(api, acme, "tks_garbage").body["code"] == "NOT_FOUND"
    api.post(f"/v1/tokens/{token['id']}/disable", secret=acme.secret)
    assert verify(api, acme, secret).body["code"] == "DISABLED"
    api.post(f"/v1/tokens/{token['id']}/revoke", secret=acme.secret, body={"reason": "x"})
    assert verify(api, acme, secret).body["code"] == "REVOKED"
    api.delete(f"/v1/tokens/{token['id']}", secret=acme.secret)
    assert verify(api, acme, secret).body["code"] == "DELETED"


def test_verify_rejects_unknown_scopes_and_needs_the_verify_scope(api, admin, acme, target):
    _, secret = target
    reader = make_tenant(api, admin, "acme", scopes=["tokens:read"])

    assert verify(api, acme, secret, ["nope"]).status == 422
    assert verify(api, reader, secret).status == 403


def test_verify_does_not_reveal_other_organizations_tokens(api, globex, target):
    _, secret = target

    assert verify(api, globex, secret).body == NOT_FOUND


def test_verify_returns_the_token_without_its_secret(api, acme, target):
    token, secret = target

    response = verify(api, acme, secret)

    assert response.body["token"]["id"] == token["id"]
    assert secret not in response.raw and "digest" not in response.raw


@pytest.mark.parametrize(
    "header",
    ["", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "tks_notatoken", "Bearer tks_" + "0" * 71],
)
def test_the_authorizer_refuses_bad_credentials(api, header):
    response = api.get("/v1/tokens/self", headers={"Authorization": header} if header else {})

    # The Authorization header is the authorizer's identity source: without it API Gateway answers
    # 401 itself; credentials the authorizer refuses are its 403.
    assert response.status == (401 if not header else 403)


def test_last_use_is_written_once_a_minute_without_bumping_the_version(api, acme, target, clock, table, monkeypatch):
    token, secret = target
    from tokensmith.tokens.repository import TokenRepository

    writes = []
    real = TokenRepository.record_last_use

    def counting(self, *args, **kwargs):
        writes.append(args)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(TokenRepository, "record_last_use", counting)

    for _ in range(20):
        assert verify(api, acme, secret).body["valid"]
    first = api.get(f"/v1/tokens/{token['id']}", secret=acme.secret).body
    clock.advance(61)
    verify(api, acme, secret)
    later = api.get(f"/v1/tokens/{token['id']}", secret=acme.secret).body

    target_writes = [w for w in writes if w[0] == token["id"]]
    assert len(target_writes) == 2
    assert first["last_used_at"] and first["last_used_ip"] == "203.0.113.7"
    assert first["last_used_user_agent"] == "pytest/1.0"
    assert later["last_used_at"] > first["last_used_at"]
    assert later["version"] == first["version"] == 1


def test_a_secret_appears_in_exactly_one_response(api, acme):
    responses = []
    created = api.post("/v1/tokens", secret=acme.secret, body={"name": "once", "scopes": ["tokens:read"]})
    secret, token_id = created.body["secret"], created.body["token"]["id"]
    path = f"/v1/tokens/{token_id}"
    responses += [
        api.get(path, secret=acme.secret),
        api.get("/v1/tokens", secret=acme.secret),
        api.get("/v1/tokens/self", secret=secret),
        verify(api, acme, secret),
        api.patch(path, secret=acme.secret, body={"description": "x"}),
        api.post(f"{path}/disable", secret=acme.secret),
        api.post(f"{path}/enable", secret=acme.secret),
        api.get(f"{path}/events", secret=acme.secret),
    ]
    rotated = api.post(f"{path}/rotate", secret=acme.secret, body={"grace_period_seconds": 30})
    responses += [api.get(f"{path}/events", secret=acme.secret), api.get(path, secret=acme.secret)]

    assert secret in created.raw and rotated.body["secret"] in rotated.raw
    for response in responses:
        assert secret not in response.raw and rotated.body["secret"] not in response.raw
        assert "digest" not in response.raw
