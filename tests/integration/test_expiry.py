"""The scheduled sweep: expired stamps, expiring-soon notices, and the sparse due index."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.support import LambdaContext, load_function

DAY = 86400


def sweep():
    return load_function("functions/expire_tokens").handler({"source": "aws.scheduler"}, LambdaContext())


def create(api, tenant, name, **fields):
    response = api.post("/v1/tokens", secret=tenant.secret, body={"name": name, **fields})
    assert response.status == 201, response.body
    return response.body["token"], response.body["secret"]


def in_seconds(seconds):
    return (datetime.now(UTC) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def events(api, tenant, token_id):
    return [e for e in api.get(f"/v1/tokens/{token_id}/events", secret=tenant.secret).body["items"]]


def due_index_ids(table):
    items = table.scan(TableName="tokensmith-test", IndexName="due")["Items"]
    return {i["id"]["S"] for i in items}


def test_a_token_verifies_until_its_expiry_and_is_stamped_by_the_next_sweep(api, acme, clock, table):
    token, secret = create(api, acme, "short", expires_at=in_seconds(60), scopes=["tokens:read"])
    assert sweep()["expired"] == 0
    assert api.get("/v1/tokens/self", secret=secret).status == 200

    clock.advance(61)
    # expired at once, before any sweep
    assert api.post("/v1/tokens/verify", secret=acme.secret, body={"token": secret}).body["code"] == "EXPIRED"
    assert api.get(f"/v1/tokens/{token['id']}", secret=acme.secret).body["status"] == "expired"

    report = sweep()

    assert report["expired"] == 1 and report["complete"] is True and report["max_lag_seconds"] >= 1
    stored = api.get(f"/v1/tokens/{token['id']}", secret=acme.secret).body
    assert stored["status"] == "expired" and stored["version"] == token["version"] + 1
    assert stored["audit"]["updated"]["by"] == "system"
    expired = events(api, acme, token["id"])[0]
    assert expired["type"] == "token.expired" and expired["actor"] == {"system": "tokensmith"}
    assert expired["changes"] == {"status": {"from": "active", "to": "expired"}}
    assert token["id"] not in due_index_ids(table)
    assert sweep()["expired"] == 0  # nothing left to do


def test_expiring_soon_notices_come_once_per_threshold(api, acme, clock):
    token, _ = create(api, acme, "month", expires_at=in_seconds(10 * DAY))

    assert sweep()["notices"] == 0
    clock.advance(3 * DAY + 60)  # 7 days left
    assert sweep()["notices"] == 1
    assert sweep()["notices"] == 0  # once, even when run again
    clock.advance(6 * DAY)  # 1 day left
    assert sweep()["notices"] == 1
    clock.advance(DAY)
    assert sweep()["expired"] == 1

    types = [e["type"] for e in events(api, acme, token["id"])]
    assert types == ["token.expired", "token.expiring", "token.expiring", "token.created"]
    notices = [e for e in events(api, acme, token["id"]) if e["type"] == "token.expiring"]
    assert [n["details"]["days_before"] for n in notices] == [1, 7]
    assert notices[0]["details"]["expires_at"] == token["expires_at"]


def test_a_token_created_close_to_expiry_gets_one_notice(api, acme):
    token, _ = create(api, acme, "hours", expires_at=in_seconds(6 * 3600))

    assert sweep()["notices"] == 1

    notice = events(api, acme, token["id"])[0]
    assert notice["type"] == "token.expiring" and notice["details"]["days_before"] == 1


def test_extending_a_token_moves_its_wake_up_and_earns_new_notices(api, acme, clock):
    token, _ = create(api, acme, "ext", expires_at=in_seconds(2 * DAY))
    assert sweep()["notices"] == 1

    api.patch(f"/v1/tokens/{token['id']}", secret=acme.secret, body={"expires_at": in_seconds(20 * DAY)})
    clock.advance(2 * DAY + 1)

    report = sweep()
    assert (report["expired"], report["notices"]) == (0, 0)
    clock.advance(11 * DAY)
    assert sweep()["notices"] == 1
    assert api.get(f"/v1/tokens/{token['id']}", secret=acme.secret).body["status"] == "active"


def test_terminal_tokens_leave_the_due_index_and_disabled_ones_stay(api, acme, table):
    revoked, _ = create(api, acme, "r")
    deleted, _ = create(api, acme, "d")
    disabled, _ = create(api, acme, "x")
    api.post(f"/v1/tokens/{revoked['id']}/revoke", secret=acme.secret, body={"reason": "x"})
    api.delete(f"/v1/tokens/{deleted['id']}", secret=acme.secret)
    api.post(f"/v1/tokens/{disabled['id']}/disable", secret=acme.secret)

    ids = due_index_ids(table)

    assert revoked["id"] not in ids and deleted["id"] not in ids
    assert disabled["id"] in ids


def test_a_disabled_token_is_stamped_expired_too(api, acme, clock):
    token, _ = create(api, acme, "dis", expires_at=in_seconds(30))
    api.post(f"/v1/tokens/{token['id']}/disable", secret=acme.secret)
    clock.advance(31)

    assert sweep()["expired"] == 1
    assert events(api, acme, token["id"])[0]["changes"]["status"] == {"from": "disabled", "to": "expired"}


def test_the_sweep_never_scans(api, acme, clock, monkeypatch):
    from tokensmith.aws.clients import client as aws_client

    create(api, acme, "s", expires_at=in_seconds(30))
    clock.advance(31)
    client = aws_client("dynamodb", None)
    calls = []
    monkeypatch.setattr(client, "scan", lambda **kw: calls.append(kw) or pytest.fail("scan"))

    assert sweep()["expired"] == 1
    assert calls == []


def test_purge_at_is_end_of_life_plus_retention(api, acme, clock, table):
    token, _ = create(api, acme, "p", expires_at=in_seconds(30))
    clock.advance(31)
    sweep()

    key = {"pk": {"S": f"TOKEN#{token['id']}"}, "sk": {"S": "TOKEN"}}
    item = table.get_item(TableName="tokensmith-test", Key=key)["Item"]
    # the end of life is expires_at (not the later stamp), so the token goes with its earlier events
    assert int(item["purge_at"]["N"]) == int(item["expires_epoch"]["N"]) + 90 * DAY
