"""GET /v1/tokens/{id}/usage over the gateway and moto: the current windows and the credits left, read
without spending; and the counters of a token never outlive it (their ``purge_at`` follows the token's,
a removed policy's counter goes in the same transaction)."""

from __future__ import annotations

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
