"""PATCH, PUT, disable/enable, revoke, rotate, delete: the rules and the ETags."""

import pytest


@pytest.fixture
def token(api, acme):
    created = api.post(
        "/v1/tokens",
        secret=acme.secret,
        body={"name": "deploy", "description": "ci", "icon": "🚀", "scopes": ["orders:read", "tokens:read"]},
    )
    assert created.status == 201
    return {**created.body["token"], "secret": created.body["secret"]}


def test_patch_leaves_omitted_and_null_fields_unchanged_and_replaces_lists(api, acme, token):
    response = api.patch(
        f"/v1/tokens/{token['id']}", secret=acme.secret, body={"name": None, "scopes": ["orders:read"]}
    )

    assert response.status == 200
    body = response.body
    assert body["name"] == "deploy" and body["description"] == "ci" and body["icon"] == "🚀"
    assert body["scopes"] == ["orders:read"]
    assert body["version"] == 2 and response.headers["etag"] == '"2"'
    assert body["audit"]["updated"]["by"] == f"token:{acme.token_id}"


def test_patch_accepts_comment_and_clears_with_an_empty_string(api, acme, token):
    renamed = api.patch(f"/v1/tokens/{token['id']}", secret=acme.secret, body={"comment": "nightly"})
    cleared = api.patch(f"/v1/tokens/{token['id']}", secret=acme.secret, body={"description": "", "icon": ""})

    assert renamed.body["description"] == "nightly"
    assert cleared.body["description"] is None and cleared.body["icon"] is None


def test_a_patch_that_changes_nothing_keeps_the_version(api, acme, token):
    response = api.patch(f"/v1/tokens/{token['id']}", secret=acme.secret, body={"name": "deploy"})

    assert response.status == 200 and response.body["version"] == 1


def test_if_match_with_a_stale_version_is_a_412(api, acme, token):
    path = f"/v1/tokens/{token['id']}"
    assert api.patch(path, secret=acme.secret, body={"description": "a"}, headers={"If-Match": '"1"'}).status == 200

    stale = api.patch(path, secret=acme.secret, body={"description": "b"}, headers={"If-Match": '"1"'})
    weak = api.patch(path, secret=acme.secret, body={"description": "b"}, headers={"If-Match": 'W/"2"'})
    current = api.patch(path, secret=acme.secret, body={"description": "c"}, headers={"If-Match": '"2"'})

    assert stale.status == 412 and stale.headers["etag"] == '"2"'
    assert weak.status == 412  # strong comparison (RFC 9110): a weak tag never matches If-Match
    assert current.status == 200 and current.body["description"] == "c"
    assert api.post(f"{path}/disable", secret=acme.secret, headers={"If-Match": '"2"'}).status == 412


def test_renaming_onto_a_live_name_conflicts_and_frees_the_old_name(api, acme, token):
    api.post("/v1/tokens", secret=acme.secret, body={"name": "other"})

    clash = api.patch(f"/v1/tokens/{token['id']}", secret=acme.secret, body={"name": "other"})
    moved = api.patch(f"/v1/tokens/{token['id']}", secret=acme.secret, body={"name": "renamed"})
    reuse = api.post("/v1/tokens", secret=acme.secret, body={"name": "deploy"})

    assert clash.status == 409
    assert moved.status == 200 and reuse.status == 201


def test_a_case_only_rename_keeps_the_name(api, acme, token):
    response = api.patch(f"/v1/tokens/{token['id']}", secret=acme.secret, body={"name": "Deploy"})

    assert response.status == 200 and response.body["name"] == "Deploy"
    assert api.post("/v1/tokens", secret=acme.secret, body={"name": "DEPLOY"}).status == 409


def test_patch_and_put_cannot_escalate_scopes(api, acme, token):
    path = f"/v1/tokens/{token['id']}"

    assert api.patch(path, secret=acme.secret, body={"scopes": ["admin"]}).status == 422
    assert api.put(path, secret=acme.secret, body={"name": "deploy", "scopes": ["orders:write"]}).status == 422


def test_put_replaces_every_editable_field(api, acme, token):
    response = api.put(f"/v1/tokens/{token['id']}", secret=acme.secret, body={"name": "renamed", "scopes": []})

    assert response.status == 200
    assert response.body["name"] == "renamed" and response.body["scopes"] == []
    assert response.body["description"] is None and response.body["icon"] is None
    assert response.body["expires_at"] == token["expires_at"]
    assert api.put(f"/v1/tokens/{token['id']}", secret=acme.secret, body={"name": "x"}).status == 422


def test_disable_and_enable_are_idempotent_and_reversible(api, acme, token):
    path = f"/v1/tokens/{token['id']}"

    first = api.post(f"{path}/disable", secret=acme.secret)
    again = api.post(f"{path}/disable", secret=acme.secret)
    refused = api.get("/v1/tokens/self", secret=token["secret"])
    enabled = api.post(f"{path}/enable", secret=acme.secret)

    assert first.status == again.status == 200
    assert first.body["status"] == "disabled" and first.body["active"] is False
    assert again.body["version"] == first.body["version"] == 2
    assert refused.status == 403
    assert enabled.body["status"] == "active" and enabled.body["version"] == 3
    assert api.get("/v1/tokens/self", secret=token["secret"]).status == 200


def test_revoke_is_terminal_and_frees_the_name(api, acme, token):
    path = f"/v1/tokens/{token['id']}"

    missing_reason = api.post(f"{path}/revoke", secret=acme.secret, body={})
    revoked = api.post(f"{path}/revoke", secret=acme.secret, body={"reason": "laptop stolen"})

    assert missing_reason.status == 422 and missing_reason.body["errors"][0]["field"] == "reason"
    assert revoked.status == 200 and revoked.body["status"] == "revoked"
    assert revoked.body["revoked_reason"] == "laptop stolen" and revoked.body["revoked_at"]
    for verb in ("enable", "disable", "rotate", "revoke"):
        body = {"reason": "again"} if verb == "revoke" else None
        assert api.post(f"{path}/{verb}", secret=acme.secret, body=body).status == 409, verb
    assert api.patch(path, secret=acme.secret, body={"description": "x"}).status == 409
    assert api.get("/v1/tokens/self", secret=token["secret"]).status == 403
    assert api.post("/v1/tokens", secret=acme.secret, body={"name": "deploy"}).status == 201


def test_rotate_with_grace_keeps_the_old_secret_working_for_a_while(api, acme, token, clock):
    path = f"/v1/tokens/{token['id']}"

    rotated = api.post(f"{path}/rotate", secret=acme.secret, body={"grace_period_seconds": 60})

    assert rotated.status == 200
    new_secret = rotated.body["secret"]
    assert new_secret != token["secret"] and rotated.body["token"]["start"] == new_secret[:12]
    assert api.get("/v1/tokens/self", secret=new_secret).status == 200
    assert api.get("/v1/tokens/self", secret=token["secret"]).status == 200
    clock.advance(61)
    assert api.get("/v1/tokens/self", secret=token["secret"]).status == 403
    assert api.get("/v1/tokens/self", secret=new_secret).status == 200


def test_rotate_without_grace_ends_the_old_secret_at_once(api, acme, token):
    rotated = api.post(f"/v1/tokens/{token['id']}/rotate", secret=acme.secret)

    assert rotated.status == 200
    assert api.get("/v1/tokens/self", secret=token["secret"]).status == 403
    assert api.get("/v1/tokens/self", secret=rotated.body["secret"]).status == 200


def test_rotate_cannot_hand_out_a_stronger_token(api, admin, acme):
    stronger = api.post(
        "/v1/tokens", secret=admin.secret, body={"name": "ops", "organization_id": "acme", "scopes": ["orders:write"]}
    ).body["token"]

    response = api.post(f"/v1/tokens/{stronger['id']}/rotate", secret=acme.secret)

    assert response.status == 403 and "orders:write" in response.body["detail"]


def test_delete_is_soft_hides_the_token_and_frees_the_name(api, acme, token):
    path = f"/v1/tokens/{token['id']}"

    deleted = api.delete(path, secret=acme.secret)

    assert deleted.status == 204 and deleted.raw == ""
    assert api.get(path, secret=acme.secret).status == 404
    assert api.delete(path, secret=acme.secret).status == 404
    assert token["id"] not in {t["id"] for t in api.get("/v1/tokens", secret=acme.secret).body["items"]}
    assert api.get("/v1/tokens/self", secret=token["secret"]).status == 403
    assert api.post("/v1/tokens", secret=acme.secret, body={"name": "deploy"}).status == 201
    events = api.get(f"{path}/events", secret=acme.secret).body["items"]
    assert [e["type"] for e in events] == ["token.deleted", "token.created"]


def test_past_expiry_is_expired_everywhere_before_any_sweep(api, acme, clock):
    from datetime import UTC, datetime, timedelta

    soon = (datetime.now(UTC) + timedelta(seconds=30)).isoformat()
    created = api.post(
        "/v1/tokens", secret=acme.secret, body={"name": "short", "expires_at": soon, "scopes": ["tokens:read"]}
    )
    path = f"/v1/tokens/{created.body['token']['id']}"
    clock.advance(31)

    fetched = api.get(path, secret=acme.secret)
    verify = api.post("/v1/tokens/verify", secret=acme.secret, body={"token": created.body["secret"]})

    assert fetched.body["status"] == "expired" and fetched.body["active"] is False
    no_usage = {"ratelimits": [], "credits": None, "meta": None}
    assert verify.body == {"valid": False, "code": "EXPIRED", "token": fetched.body, **no_usage}
    assert api.get("/v1/tokens/self", secret=created.body["secret"]).status == 403
    assert api.post(f"{path}/enable", secret=acme.secret).status == 409
    assert api.patch(path, secret=acme.secret, body={"expires_at": "2099-01-01T00:00:00Z"}).status == 409
    assert path.rsplit("/", 1)[1] in {
        t["id"] for t in api.get("/v1/tokens", secret=acme.secret, query={"status": "expired"}).body["items"]
    }
    # …and its name is free again
    assert api.post("/v1/tokens", secret=acme.secret, body={"name": "short"}).status == 201


def test_every_change_writes_one_audit_event(api, acme, token):
    path = f"/v1/tokens/{token['id']}"
    api.patch(path, secret=acme.secret, body={"description": "x"})
    api.post(f"{path}/disable", secret=acme.secret)
    api.post(f"{path}/disable", secret=acme.secret)  # idempotent: no event
    api.post(f"{path}/enable", secret=acme.secret)
    api.post(f"{path}/rotate", secret=acme.secret, body={"grace_period_seconds": 5})
    api.post(f"{path}/revoke", secret=acme.secret, body={"reason": "done"})

    events = api.get(f"{path}/events", secret=acme.secret).body

    types = [e["type"] for e in events["items"]]
    assert types == [
        "token.revoked",
        "token.rotated",
        "token.enabled",
        "token.disabled",
        "token.updated",
        "token.created",
    ]
    assert events["next_cursor"] is None
    updated = events["items"][4]
    assert updated["changes"] == {"description": {"from": "ci", "to": "x"}}
    assert updated["actor"] == {"token_id": acme.token_id, "organization_id": "acme", "owner": None}
    assert updated["ip"] == "203.0.113.7" and updated["user_agent"] == "pytest/1.0"
    assert events["items"][1]["details"] == {"grace_period_seconds": 5, "retire_on_first_use": False}
    assert events["items"][0]["reason"] == "done"


def test_events_page_with_a_cursor(api, acme, token):
    for n in range(4):
        api.patch(f"/v1/tokens/{token['id']}", secret=acme.secret, body={"description": f"v{n}"})

    first = api.get(f"/v1/tokens/{token['id']}/events", secret=acme.secret, query={"limit": "3"}).body
    second = api.get(
        f"/v1/tokens/{token['id']}/events", secret=acme.secret, query={"limit": "3", "cursor": first["next_cursor"]}
    ).body

    assert len(first["items"]) == 3 and first["next_cursor"]
    assert len(second["items"]) == 2 and second["next_cursor"] is None
    assert {e["id"] for e in first["items"]}.isdisjoint({e["id"] for e in second["items"]})
