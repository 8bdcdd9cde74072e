"""GET /v1/tokens/{id}/usage over the gateway and moto: the current windows and the credits left, read
without spending; and the counters of a token never outlive it (their ``purge_at`` follows the token's,
a removed policy's counter goes in the same transaction)."""

from __future__ import annotations

from tests.integration.conftest import make_tenant
from tokensmith import table as keys

MINUTE = {"name": "minute", "limit": 100, "duration_seconds": 60}


def create(api, caller, **body):
    response = api.post("/v1/tokens", secret=caller.secret, body={"name": "metered", **body})
    assert response.status == 201, response.body
    return response.body["token"], response.body["secret"]


def credits_counter(table, token_id):
    key = keys.credits_key(token_id)
    item = table.get_item(TableName="tokensmith-test", Key={k: {"S": v} for k, v in key.items()}).get("Item")
    return item and {name: next(iter(value.values())) for name, value in item.items()}


def test_usage_answers_the_windows_and_credits_left_and_spends_nothing(api, acme):
    token, secret = create(api, acme, ratelimits=[MINUTE], credits={"remaining": 10})
    for _ in range(2):
        assert api.post("/v1/tokens/verify", secret=acme.secret, body={"token": secret}).body["valid"]

    first = api.get(f"/v1/tokens/{token['id']}/usage", secret=acme.secret)
    second = api.get(f"/v1/tokens/{token['id']}/usage", secret=acme.secret)

    assert first.status == 200 and first.body == second.body
    [window] = first.body["ratelimits"]
    assert (window["name"], window["limit"], window["remaining"]) == ("minute", 100, 98)
    assert window["reset_at"].endswith(":00Z")
    assert first.body["credits"] == {"remaining": 8, "refill": None, "period_ends_at": None}


def test_usage_of_another_organizations_token_is_not_found(api, acme, globex):
    token, _ = create(api, acme, credits={"remaining": 10})

    assert api.get(f"/v1/tokens/{token['id']}/usage", secret=globex.secret).status == 404


def token_item(table, token_id):
    key = keys.token_key(token_id)
    item = table.get_item(TableName="tokensmith-test", Key={k: {"S": v} for k, v in key.items()})["Item"]
    return {name: next(iter(value.values())) for name, value in item.items()}


def test_the_credits_counter_is_purged_with_its_token_and_a_revocation_moves_both(api, acme, table):
    token, _ = create(api, acme, credits={"remaining": 10})
    assert credits_counter(table, token["id"])["purge_at"] == token_item(table, token["id"])["purge_at"]

    api.post(f"/v1/tokens/{token['id']}/revoke", secret=acme.secret, body={"reason": "done"})

    revoked = token_item(table, token["id"])
    assert credits_counter(table, token["id"])["purge_at"] == revoked["purge_at"]


def test_rate_windows_carry_their_own_purge(api, acme, table):
    _, secret = create(api, acme, ratelimits=[MINUTE])
    api.post("/v1/tokens/verify", secret=acme.secret, body={"token": secret})

    [window] = table.scan(
        TableName="tokensmith-test",
        FilterExpression="begins_with(pk, :rate)",
        ExpressionAttributeValues={":rate": {"S": "RATE#"}},
    )["Items"]
    assert int(window["purge_at"]["N"]) == int(window["sk"]["S"]) + 2 * 60


def test_credits_null_makes_a_token_unlimited_and_deletes_its_counter_in_the_same_write(api, acme, table):
    token, secret = create(api, acme, credits={"remaining": 1})
    api.post("/v1/tokens/verify", secret=acme.secret, body={"token": secret})

    changed = api.patch(f"/v1/tokens/{token['id']}", secret=acme.secret, body={"credits": None, "ratelimits": None})

    assert changed.status == 200 and changed.body["credits"] is None
    assert credits_counter(table, token["id"]) is None
    answers = [api.post("/v1/tokens/verify", secret=acme.secret, body={"token": secret}).body for _ in range(2)]
    assert [(a["code"], a["credits"]) for a in answers] == [("VALID", None)] * 2


def test_an_owner_without_tokens_manage_cannot_remove_credits(api, admin, acme, table):
    owner = make_tenant(api, admin, "acme", scopes=["tokens:read", "tokens:write"], name="owner")
    token, _ = create(api, acme, credits={"remaining": 5})

    refused = api.patch(f"/v1/tokens/{token['id']}", secret=owner.secret, body={"credits": None})

    assert refused.status == 403 and "tokens:manage" in refused.body["detail"]
    assert credits_counter(table, token["id"])["remaining"] == "5"
