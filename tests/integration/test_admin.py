"""PATCH /v1/admin/tokens/{id}: the admin override."""

from datetime import UTC, datetime, timedelta

import pytest


def future(days=30):
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def token(api, acme):
    created = api.post("/v1/tokens", secret=acme.secret, body={"name": "svc", "owner": "alice@example.com"})
    return created.body["token"], created.body["secret"]


def test_only_admins_may_use_the_admin_route(api, acme, token):
    response = api.patch(f"/v1/admin/tokens/{token[0]['id']}", secret=acme.secret, body={"status": "disabled"})

    assert response.status == 403


def test_admin_transfers_ownership_with_the_owner_email_alias(api, admin, acme, token):
    response = api.patch(
        f"/v1/admin/tokens/{token[0]['id']}", secret=admin.secret, body={"owner_email": "bob@example.com"}
    )

    assert response.status == 200 and response.body["owner"] == "bob@example.com"
    # the name moved with the owner: alice may use it again, bob may not
    assert api.post("/v1/tokens", secret=acme.secret, body={"name": "svc", "owner": "alice@example.com"}).status == 201
    assert api.post("/v1/tokens", secret=acme.secret, body={"name": "svc", "owner": "bob@example.com"}).status == 409


def test_admin_expires_and_restores_a_token(api, admin, token):
    path = f"/v1/admin/tokens/{token[0]['id']}"

    expired = api.patch(path, secret=admin.secret, body={"status": "expired"})
    assert expired.status == 200 and expired.body["status"] == "expired"
    assert api.get("/v1/tokens/self", secret=token[1]).status == 403
    assert api.post(f"/v1/tokens/{token[0]['id']}/enable", secret=admin.secret).status == 409

    # its expires_at is still ahead, so the admin may bring it straight back
    back = api.patch(path, secret=admin.secret, body={"status": "active"})
    assert back.status == 200 and back.body["status"] == "active"
    assert api.get("/v1/tokens/self", secret=token[1]).status == 200


def test_a_token_past_its_expiry_comes_back_only_with_a_future_expiry(api, admin, acme, clock):
    soon = (datetime.now(UTC) + timedelta(seconds=10)).isoformat()
    created = api.post("/v1/tokens", secret=acme.secret, body={"name": "short", "expires_at": soon}).body
    path = f"/v1/admin/tokens/{created['token']['id']}"
    clock.advance(11)

    without = api.patch(path, secret=admin.secret, body={"status": "active"})
    past = api.patch(path, secret=admin.secret, body={"status": "active", "expires_at": "2001-01-01T00:00:00Z"})
    beyond = api.patch(path, secret=admin.secret, body={"status": "active", "expires_at": future(400)})
    back = api.patch(path, secret=admin.secret, body={"status": "active", "expires_at": future()})

    assert without.status == 422 and without.body["errors"][0]["field"] == "expires_at"
    assert past.status == 422 and beyond.status == 422
    assert back.status == 200 and back.body["status"] == "active" and back.body["active"] is True
    assert api.get("/v1/tokens/self", secret=created["secret"]).status == 200


def test_restoring_a_token_whose_name_was_taken_conflicts(api, admin, acme):
    first = api.post("/v1/tokens", secret=acme.secret, body={"name": "dup"}).body["token"]
    api.patch(f"/v1/admin/tokens/{first['id']}", secret=admin.secret, body={"status": "expired"})
    assert api.post("/v1/tokens", secret=acme.secret, body={"name": "dup"}).status == 201

    restore = api.patch(f"/v1/admin/tokens/{first['id']}", secret=admin.secret, body={"status": "active"})

    assert restore.status == 409 and restore.body["errors"][0]["field"] == "name"


def test_admin_revoke_with_reason_is_final(api, admin, token):
    path = f"/v1/admin/tokens/{token[0]['id']}"

    revoked = api.patch(path, secret=admin.secret, body={"revoked": True, "revoked_reason": "abuse"})

    assert revoked.body["status"] == "revoked" and revoked.body["revoked_reason"] == "abuse"
    assert api.patch(path, secret=admin.secret, body={"status": "active", "expires_at": future()}).status == 409


def test_admin_body_rules(api, admin, token):
    path = f"/v1/admin/tokens/{token[0]['id']}"

    assert api.patch(path, secret=admin.secret, body={}).status == 422
    assert api.patch(path, secret=admin.secret, body={"revoked_reason": "x"}).status == 422
    assert api.patch(path, secret=admin.secret, body={"status": "deleted"}).status == 422
    assert api.patch(path, secret=admin.secret, body={"status": "revoked", "revoked": False}).status == 422


def test_admin_sees_every_organization(api, admin, token):
    assert api.get(f"/v1/tokens/{token[0]['id']}", secret=admin.secret).status == 200
