"""Rotate with ``retire_on_first_use`` through the API (moto): the request's rules, the first use of the
new secret through the authorizer and through ``POST /v1/tokens/verify``, the audit trail, and the
``token.rotation_completed`` webhook (tokens/rotation.py)."""

import pytest

from tests.integration.test_webhook_delivery import acme_hooks, loopback, pipeline, receiver, register  # noqa: F401


@pytest.fixture
def token(api, acme):
    created = api.post("/v1/tokens", secret=acme.secret, body={"name": "deploy", "scopes": ["tokens:read"]})
    assert created.status == 201
    return {**created.body["token"], "secret": created.body["secret"]}


def rotate(api, tenant, token_id, **body):
    response = api.post(f"/v1/tokens/{token_id}/rotate", secret=tenant.secret, body=body)
    assert response.status == 200, response.body
    return response.body["secret"]


def event_types(api, tenant, token_id):
    response = api.get(f"/v1/tokens/{token_id}/events", secret=tenant.secret, query={"limit": "50"})
    return [e["type"] for e in reversed(response.body["items"])]


def test_the_first_use_of_the_new_secret_through_the_authorizer_retires_the_old_one(api, acme, token):
    new = rotate(api, acme, token["id"], grace_period_seconds=3600, retire_on_first_use=True)
    # The old secret works while the new one has not been used
    assert api.get("/v1/tokens/self", secret=token["secret"]).status == 200

    assert api.get("/v1/tokens/self", secret=new).status == 200

    assert api.get("/v1/tokens/self", secret=token["secret"]).status == 403
    assert api.get("/v1/tokens/self", secret=new).status == 200
    assert event_types(api, acme, token["id"]) == ["token.created", "token.rotated", "token.rotation_completed"]


def test_the_first_use_through_verify_retires_the_old_one_and_bumps_the_version(api, acme, token):
    new = rotate(api, acme, token["id"], grace_period_seconds=3600, retire_on_first_use=True)

    first = api.post("/v1/tokens/verify", secret=acme.secret, body={"token": new})
    old = api.post("/v1/tokens/verify", secret=acme.secret, body={"token": token["secret"]})

    assert first.body["code"] == "VALID" and old.body["code"] == "NOT_FOUND"
    read = api.get(f"/v1/tokens/{token['id']}", secret=acme.secret)
    assert read.body["version"] == 3 and read.headers["etag"] == '"3"'
    assert read.body["audit"]["updated"]["by"] == "system"


def test_the_rotation_completed_event_says_which_grace_it_cut_short(api, acme, token):
    rotated = api.post(
        f"/v1/tokens/{token['id']}/rotate",
        secret=acme.secret,
        body={"grace_period_seconds": 3600, "retire_on_first_use": True},
    )
    api.get("/v1/tokens/self", secret=rotated.body["secret"])

    events = api.get(f"/v1/tokens/{token['id']}/events", secret=acme.secret).body["items"]
    completed, rotated_event = events[0], events[1]
    assert rotated_event["details"] == {"grace_period_seconds": 3600, "retire_on_first_use": True}
    assert completed["type"] == "token.rotation_completed" and completed["actor"] == {"system": "tokensmith"}
    assert completed["details"]["rotated_at"] == rotated.body["token"]["modified_at"]
    assert set(completed["details"]) == {"rotated_at", "grace_was_until"}


def test_a_plain_grace_is_not_ended_by_the_new_secret(api, acme, token):
    new = rotate(api, acme, token["id"], grace_period_seconds=3600)

    assert api.get("/v1/tokens/self", secret=new).status == 200
    assert api.get("/v1/tokens/self", secret=token["secret"]).status == 200
    assert "token.rotation_completed" not in event_types(api, acme, token["id"])


def test_without_a_grace_period_the_flag_is_a_422_naming_it(api, acme, token):
    response = api.post(f"/v1/tokens/{token['id']}/rotate", secret=acme.secret, body={"retire_on_first_use": True})

    assert response.status == 422
    assert [e["field"] for e in response.body["errors"]] == ["retire_on_first_use"]
    assert api.get("/v1/tokens/self", secret=token["secret"]).status == 200  # nothing rotated


@pytest.mark.parametrize("method", ["put", "admin"])
def test_a_replace_or_the_admin_override_cannot_set_the_flag(api, admin, acme, token, method):
    if method == "put":
        response = api.put(
            f"/v1/tokens/{token['id']}", secret=acme.secret, body={"name": "deploy", "retire_on_first_use": True}
        )
    else:
        response = api.patch(f"/v1/admin/tokens/{token['id']}", secret=admin.secret, body={"retire_on_first_use": True})

    assert response.status == 422 and "retire_on_first_use" in str(response.body)


def test_a_second_rotation_replaces_the_flag(api, acme, token):
    first = rotate(api, acme, token["id"], grace_period_seconds=3600, retire_on_first_use=True)
    second = rotate(api, acme, token["id"], grace_period_seconds=3600)

    assert api.get("/v1/tokens/self", secret=second).status == 200
    assert api.get("/v1/tokens/self", secret=first).status == 200  # the second rotation's grace, not retired


def test_the_rotation_completed_webhook_is_delivered_and_verifies(api, acme_hooks, receiver, pipeline):  # noqa: F811
    # Given an endpoint subscribed to token.rotation_completed only
    _, whsec = register(api, acme_hooks, receiver.url("/rotation"), event_types=["token.rotation_completed"])
    created = api.post("/v1/tokens", secret=acme_hooks.secret, body={"name": "ci", "scopes": ["tokens:read"]})
    token_id = created.body["token"]["id"]

    # When the token is rotated to retire on first use, and the new secret is used twice
    new = rotate(api, acme_hooks, token_id, grace_period_seconds=600, retire_on_first_use=True)
    api.get("/v1/tokens/self", secret=new)
    api.get("/v1/tokens/self", secret=new)
    pipeline.run()

    # Then exactly one delivery, signed per Standard Webhooks, with the event
    (payload,) = [r.verified(whsec) for r in receiver.at("/rotation")]
    assert payload["type"] == "token.rotation_completed" and payload["data"]["token_id"] == token_id
    assert new not in str(payload) and "digest" not in str(payload)
