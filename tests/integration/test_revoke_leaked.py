"""POST /v1/tokens/revoke-leaked: anyone who finds secrets in the wild can get them revoked."""

import json


def create(api, tenant, name):
    created = api.post("/v1/tokens", secret=tenant.secret, body={"name": name})
    return created.body["token"], created.body["secret"]


def test_real_secrets_are_revoked_and_the_answer_does_not_say_which(api, acme, globex):
    token, secret = create(api, acme, "leaked")
    theirs, their_secret = create(api, globex, "also-leaked")
    safe, _ = create(api, acme, "safe")
    tampered = secret[:-1] + ("A" if secret[-1] != "A" else "B")

    # When someone reports secrets, without any token of their own
    reported = api.post("/v1/tokens/revoke-leaked", body={"tokens": [secret, their_secret, tampered, "hello"]})
    only_junk = api.post("/v1/tokens/revoke-leaked", body={"tokens": [tampered, "hello", "tks_x", "y"]})

    # Then both answers are alike, and only the real tokens are revoked, with the reason "leaked"
    assert reported.status == only_junk.status == 202
    assert reported.body == only_junk.body == {"received": 4}
    for item, tenant in ((token, acme), (theirs, globex)):
        revoked = api.get(f"/v1/tokens/{item['id']}", secret=tenant.secret).body
        assert revoked["status"] == "revoked" and revoked["revoked_reason"] == "leaked"
        event = api.get(f"/v1/tokens/{item['id']}/events", secret=tenant.secret).body["items"][0]
        assert event["type"] == "token.revoked" and event["actor"] == {"system": "tokensmith"}
    assert api.get(f"/v1/tokens/{safe['id']}", secret=acme.secret).body["status"] == "active"


def test_a_rotated_out_secret_still_in_grace_revokes_the_token(api, acme):
    token, old_secret = create(api, acme, "rotated")
    new_secret = api.post(f"/v1/tokens/{token['id']}/rotate", secret=acme.secret, body={"grace_period_seconds": 600})
    new_secret = new_secret.body["secret"]

    api.post("/v1/tokens/revoke-leaked", body={"tokens": [old_secret]})

    assert api.get("/v1/tokens/self", secret=new_secret).status == 403
    assert api.get(f"/v1/tokens/{token['id']}", secret=acme.secret).body["revoked_reason"] == "leaked"


def test_reporting_again_or_reporting_an_ended_token_changes_nothing(api, acme):
    token, secret = create(api, acme, "twice")
    api.post(f"/v1/tokens/{token['id']}/revoke", secret=acme.secret, body={"reason": "rotated away"})

    again = api.post("/v1/tokens/revoke-leaked", body={"tokens": [secret, secret]})

    assert again.status == 202
    assert api.get(f"/v1/tokens/{token['id']}", secret=acme.secret).body["revoked_reason"] == "rotated away"


def test_bounds(api):
    too_many = api.post("/v1/tokens/revoke-leaked", body={"tokens": ["x"] * 1001})
    empty = api.post("/v1/tokens/revoke-leaked", body={"tokens": []})
    huge = json.dumps({"tokens": ["x" * 500] * 1000 + ["y" * 500] * 400})
    too_big = api.post("/v1/tokens/revoke-leaked", raw_body=huge, headers={"content-type": "application/json"})
    thousand = api.post("/v1/tokens/revoke-leaked", body={"tokens": [f"tks_{n:071d}" for n in range(1000)]})

    assert too_many.status == 422 and empty.status == 422
    assert too_big.status == 413
    assert thousand.status == 202 and thousand.body == {"received": 1000}
