"""What the README says about refusals, deleted tokens and ETags, tried against the local run, with the
README's own words: a sentence that stops being true fails here (issue 18: each of these was not)."""

from __future__ import annotations

import uuid

import pytest

from devtools.template import PROJECT_ROOT
from tests.e2e.conftest import Client

pytestmark = pytest.mark.e2e

README = (PROJECT_ROOT / "README.md").read_text()
FORBIDDEN = {"message": "Forbidden"}


def readme_row(route: str) -> str:
    return next(line for line in README.splitlines() if line.startswith(f"| `{route}` |"))


def org(admin: Client, scopes: list[str], owner: str | None = None) -> Client:
    body = {"name": f"readme-{uuid.uuid4().hex[:8]}", "organization_id": "readme", "scopes": scopes}
    created = admin.request("POST", "/v1/tokens", json={**body, **({"owner": owner} if owner else {})})
    assert created.status_code == 201, created.text
    return admin.as_(created.json()["secret"])


def test_the_current_session_without_a_cookie(admin, anonymous):
    """Item 7: the README said 404 without a session cookie; the route reads the cookie itself: 401."""
    row = readme_row("GET /v1/sessions/current")
    bare = anonymous.request("GET", "/v1/sessions/current")
    assert bare.status_code == 401 and bare.headers["Content-Type"] == "application/problem+json"
    assert "`401` without a session cookie" in row
    bearer_only = admin.request("GET", "/v1/sessions/current")
    assert bearer_only.status_code == 401, "a bearer token is no session"


def test_the_gateways_own_refusals_are_documented_with_their_shape(anonymous):
    """Item 10: not every error is a problem; the README says which are not, and their shape."""
    unknown = anonymous.request("GET", "/v1/no-such-route")
    assert (unknown.status_code, unknown.json()) == (404, {"message": "Not Found"})
    bare = anonymous.request("GET", "/v1/tokens")
    assert (bare.status_code, bare.json()) == (401, {"message": "Unauthorized"})
    refused = anonymous.request("GET", "/v1/tokens", headers={"Authorization": "Bearer tks_not_a_token"})
    assert (refused.status_code, refused.json()) == (403, FORBIDDEN)
    assert refused.headers["Content-Type"].startswith("application/json")
    for shape in (
        '`404 {"message": "Not Found"}`',
        '`403 {"message": "Forbidden"}`',
        '`401 {"message": "Unauthorized"}`',
    ):
        assert shape in README, shape


def test_a_deleted_token_is_gone_from_reads_and_final_for_changes(admin):
    """Item 8: the README (and the product spec: re-enabling or rotating a deleted token → 409) said 409;
    every route answered 404."""
    manager = org(admin, ["tokens:read", "tokens:write", "tokens:manage"])
    token = manager.request("POST", "/v1/tokens", json={"name": "to delete", "scopes": ["tokens:read"]}).json()
    path = f"/v1/tokens/{token['token']['id']}"
    assert manager.request("DELETE", path).status_code == 204

    assert manager.request("GET", path).status_code == 404
    assert manager.request("DELETE", path).status_code == 404
    changes = {
        "PATCH": manager.request("PATCH", path, json={"description": "x"}),
        "PUT": manager.request("PUT", path, json={"name": "again", "scopes": ["tokens:read"]}),
        "disable": manager.request("POST", f"{path}/disable"),
        "enable": manager.request("POST", f"{path}/enable"),
        "revoke": manager.request("POST", f"{path}/revoke", json={"reason": "x"}),
        "rotate": manager.request("POST", f"{path}/rotate", json={}),
        "admin": admin.request("PATCH", f"/v1/admin/tokens/{token['token']['id']}", json={"status": "active"}),
    }
    assert {name: response.status_code for name, response in changes.items()} == dict.fromkeys(changes, 409)
    assert "Enabling, disabling, rotating, revoking or editing a\nrevoked, expired or deleted token → `409`" in README


def test_a_deleted_tokens_trail_and_verification(admin):
    """Item 13: the trail stays for tokens:manage and admin only; /verify says DELETED without the token."""
    manager = org(admin, ["tokens:read", "tokens:write", "tokens:manage", "tokens:verify"])
    alice = org(admin, ["tokens:read", "tokens:write"], owner="alice@readme.example")
    token = alice.request("POST", "/v1/tokens", json={"name": "alice's", "scopes": ["tokens:read"]}).json()
    path = f"/v1/tokens/{token['token']['id']}"
    assert alice.request("DELETE", path).status_code == 204

    assert alice.request("GET", f"{path}/events").status_code == 404
    for caller in (manager, admin):
        events = caller.request("GET", f"{path}/events")
        assert events.status_code == 200 and events.json()["items"][0]["type"] == "token.deleted"
    verified = manager.request("POST", "/v1/tokens/verify", json={"token": token["secret"]})
    assert verified.json() == {
        "valid": False,
        "code": "DELETED",
        "token": None,
        "ratelimits": [],
        "credits": None,
        "meta": None,
    }
    assert "kept for `tokens:manage` and `admin`" in readme_row("DELETE /v1/tokens/{id}")


def test_which_responses_carry_an_etag(admin):
    """Item 9: "every response that carries a token carries its ETag" was not so for verify and sessions."""
    manager = org(admin, ["tokens:read", "tokens:write", "tokens:verify", "console"])
    created = manager.request("POST", "/v1/tokens", json={"name": "etag", "scopes": ["tokens:read"]})
    path = f"/v1/tokens/{created.json()['token']['id']}"
    for response in (created, manager.request("GET", path), manager.request("POST", f"{path}/rotate", json={})):
        assert response.headers["ETag"] == f'"{response.json().get("version") or response.json()["token"]["version"]}"'
    verified = manager.request("POST", "/v1/tokens/verify", json={"token": manager.secret})
    session = manager.request("POST", "/v1/sessions")
    assert verified.json()["token"] and session.json()["token"]
    assert "ETag" not in verified.headers and "ETag" not in session.headers
    assert "`POST /v1/tokens/verify` and the session routes, whose\nbodies only include a token, do not" in README


def test_json_bodies_end_with_a_newline_and_their_length_counts_it(admin, anonymous):
    """Item 17: the bodies ended without a newline; the gateway's own `{"message"}` stays as API Gateway sends it."""
    for response in (admin.request("GET", "/v1/tokens/self"), admin.request("GET", f"/v1/tokens/{uuid.uuid4()}")):
        assert response.content.endswith(b"}\n"), response.content
        assert int(response.headers["Content-Length"]) == len(response.content)
    assert anonymous.request("GET", "/v1/tokens").content == b'{"message":"Unauthorized"}'
