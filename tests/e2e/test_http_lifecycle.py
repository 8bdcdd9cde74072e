"""The whole lifecycle over HTTP, with the admin token and with two tenants' tokens."""

import uuid

import pytest

pytestmark = pytest.mark.e2e


def tenant(admin, organization_id):
    created = admin.request(
        "POST",
        "/v1/tokens",
        json={
            "name": f"manager-{uuid.uuid4().hex[:8]}",
            "organization_id": organization_id,
            "scopes": ["tokens:read", "tokens:write", "tokens:verify"],
        },
    )
    assert created.status_code == 201, created.text
    return admin.as_(created.json()["secret"]), created.json()["token"]


def test_without_a_token_401_with_a_bad_one_403(anonymous):
    # the Authorization header is the authorizer's identity source: without it, API Gateway's own 401
    missing = anonymous.request("GET", "/v1/tokens")
    assert (missing.status_code, missing.json()) == (401, {"message": "Unauthorized"})
    assert anonymous.request("GET", "/v1/tokens", headers={"Authorization": "Bearer nope"}).status_code == 403
    assert anonymous.request("GET", "/nowhere", headers={"Authorization": "Bearer nope"}).status_code == 404


def test_the_whole_lifecycle_of_a_tenant_token(admin):
    org = f"acme-{uuid.uuid4().hex[:6]}"
    acme, _ = tenant(admin, org)

    # create: the secret once
    created = acme.request("POST", "/v1/tokens", json={"name": "ci", "scopes": ["tokens:read"], "comment": "from CI"})
    assert created.status_code == 201 and created.headers["ETag"] == '"1"'
    token, secret = created.json()["token"], created.json()["secret"]
    path = f"/v1/tokens/{token['id']}"
    ci = acme.as_(secret)
    assert token["description"] == "from CI" and token["created_ip"] == "127.0.0.1"

    # the new token works, and sees itself
    me = ci.request("GET", "/v1/tokens/self")
    assert me.status_code == 200 and me.json()["id"] == token["id"]
    assert ci.request("POST", "/v1/tokens", json={"name": "x"}).status_code == 403  # no tokens:write

    # list, get, patch with If-Match, put
    assert token["id"] in [t["id"] for t in acme.request("GET", "/v1/tokens").json()["items"]]
    fetched = acme.request("GET", path)
    assert fetched.headers["ETag"] == '"1"' and secret not in fetched.text
    patched = acme.request(
        "PATCH", path, json={"description": "nightly"}, headers={"If-Match": fetched.headers["ETag"]}
    )
    assert patched.status_code == 200 and patched.json()["version"] == 2
    assert acme.request("PATCH", path, json={"description": "x"}, headers={"If-Match": '"1"'}).status_code == 412
    replaced = acme.request("PUT", path, json={"name": "ci-2", "scopes": ["tokens:read"]})
    assert replaced.json()["name"] == "ci-2" and replaced.json()["description"] is None

    # disable / enable
    assert acme.request("POST", f"{path}/disable").json()["status"] == "disabled"
    assert ci.request("GET", "/v1/tokens/self").status_code == 403
    assert acme.request("POST", f"{path}/enable").json()["status"] == "active"

    # verify
    verified = acme.request("POST", "/v1/tokens/verify", json={"token": secret, "scopes": ["tokens:read"]})
    assert verified.json()["valid"] is True and verified.json()["code"] == "VALID"

    # rotate with grace: both secrets work for now
    rotated = acme.request("POST", f"{path}/rotate", json={"grace_period_seconds": 300})
    assert rotated.status_code == 200
    new_secret = rotated.json()["secret"]
    assert acme.as_(new_secret).request("GET", "/v1/tokens/self").status_code == 200
    assert ci.request("GET", "/v1/tokens/self").status_code == 200

    # revoke: terminal, both secrets dead
    revoked = acme.request("POST", f"{path}/revoke", json={"reason": "rotated out"})
    assert revoked.json()["status"] == "revoked"
    assert acme.as_(new_secret).request("GET", "/v1/tokens/self").status_code == 403
    assert ci.request("GET", "/v1/tokens/self").status_code == 403
    assert acme.request("POST", f"{path}/enable").status_code == 409

    # delete: gone
    assert acme.request("DELETE", path).status_code == 204
    assert acme.request("GET", path).status_code == 404
    gone = acme.request("POST", "/v1/tokens/verify", json={"token": new_secret})
    assert gone.json() == {
        "valid": False,
        "code": "DELETED",
        "token": None,
        "ratelimits": [],
        "credits": None,
        "meta": None,
    }
    assert acme.request("POST", f"{path}/enable").status_code == 409  # deleted is final

    # the audit trail tells the story, to those who manage the organization (acme lacks tokens:manage)
    assert acme.request("GET", f"{path}/events").status_code == 404
    events = admin.request("GET", f"{path}/events").json()["items"]
    assert [e["type"] for e in events] == [
        "token.deleted",
        "token.revoked",
        "token.rotated",
        "token.enabled",
        "token.disabled",
        "token.updated",
        "token.updated",
        "token.created",
    ]
    assert all(e["ip"] == "127.0.0.1" for e in events)
    for response in (fetched, patched, replaced, verified, revoked):
        assert secret not in response.text and new_secret not in response.text and "digest" not in response.text


def test_two_tenants_never_see_each_other(admin):
    acme, acme_token = tenant(admin, f"acme-{uuid.uuid4().hex[:6]}")
    globex, globex_token = tenant(admin, f"globex-{uuid.uuid4().hex[:6]}")
    theirs = globex.request("POST", "/v1/tokens", json={"name": "theirs"}).json()
    path = f"/v1/tokens/{theirs['token']['id']}"

    assert acme.request("GET", path).status_code == 404
    assert acme.request("PATCH", path, json={"description": "x"}).status_code == 404
    assert acme.request("POST", f"{path}/revoke", json={"reason": "x"}).status_code == 404
    assert acme.request("DELETE", path).status_code == 404
    assert acme.request("GET", f"{path}/events").status_code == 404
    assert acme.request("POST", "/v1/tokens/verify", json={"token": theirs["secret"]}).json()["code"] == "NOT_FOUND"
    assert {t["organization_id"] for t in acme.request("GET", "/v1/tokens").json()["items"]} == {
        acme_token["organization_id"]
    }
    assert (
        acme.request("GET", "/v1/tokens", params={"organization_id": globex_token["organization_id"]}).status_code
        == 404
    )
    # the admin sees both, and may act on either
    assert admin.request("GET", path).status_code == 200
    overridden = admin.request("PATCH", f"/v1/admin/tokens/{theirs['token']['id']}", json={"status": "disabled"})
    assert overridden.status_code == 200 and overridden.json()["status"] == "disabled"
    assert (
        acme.request("PATCH", f"/v1/admin/tokens/{theirs['token']['id']}", json={"status": "active"}).status_code == 403
    )


def test_bad_input_over_http_gets_problem_json(admin):
    acme, _ = tenant(admin, f"acme-{uuid.uuid4().hex[:6]}")

    malformed = acme.request("POST", "/v1/tokens", data=b'{"name":', headers={"Content-Type": "application/json"})
    binary = acme.request("POST", "/v1/tokens", data=b"\xff\xfe\x00", headers={"Content-Type": "application/json"})
    form = acme.request(
        "POST", "/v1/tokens", data=b"name=x", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    huge = acme.request("POST", "/v1/tokens", json={"name": "x", "description": "y" * 20000})

    assert [r.status_code for r in (malformed, binary, form, huge)] == [400, 400, 415, 413]
    for response in (malformed, binary, form, huge):
        assert response.headers["Content-Type"] == "application/problem+json"
        assert response.json()["detail"]


def test_the_gateway_throttles_revoke_leaked_as_the_template_says(anonymous):
    """make run applies the template's route throttles: revoke-leaked's burst is 5 (at 1 a second), so
    of eight reports sent at once some are refused as API Gateway refuses them."""
    from tests.attack import run_threads

    # When eight reports arrive at once
    answers = run_threads(
        [lambda: anonymous.request("POST", "/v1/tokens/revoke-leaked", json={"tokens": ["tks_x"]}) for _ in range(8)]
    )

    # Then no more than the burst (and what a second refills) goes through; the rest are 429s
    statuses = sorted(answer.status_code for answer in answers)
    assert set(statuses) == {202, 429} and statuses.count(202) >= 5, statuses
    refused = next(answer for answer in answers if answer.status_code == 429)
    assert refused.json() == {"message": "Too Many Requests"}
