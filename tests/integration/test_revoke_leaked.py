"""POST /v1/tokens/revoke-leaked: anyone who finds secrets in the wild can get them revoked.

The route queues (token id, digest) pairs and answers 202 at once, the same whatever was sent;
functions/revoke_leaked_worker revokes from the queue (``leak_queue.run_worker`` plays the mapping)."""

import json

import pytest

from tests.attack import unknown_secret
from tokensmith.tokens import format as token_format


@pytest.fixture
def api(api, leak_queue):
    """The API with the leak queue of template.yaml in place (the route queues every report there)."""
    return api


def create(api, tenant, name):
    created = api.post("/v1/tokens", secret=tenant.secret, body={"name": name})
    return created.body["token"], created.body["secret"]


def tampered(secret: str) -> str:
    """One character changed: the checksum fails."""
    return secret[:-1] + ("A" if secret[-1] != "A" else "B")


def queued_leaks(leak_queue) -> list[list[str]]:
    return [pair for message in leak_queue.messages() for pair in json.loads(message["Body"])["leaks"]]


def status_of(api, tenant, token) -> dict:
    return api.get(f"/v1/tokens/{token['id']}", secret=tenant.secret).body


# --- the route: one answer for every input --------------------------------------------------------------


def test_the_answer_is_the_same_for_real_forged_garbage_and_mixed_reports(api, acme):
    # Given a real live secret, a well-formed secret of no token, and strings that fail the checksum
    _, real = create(api, acme, "leaked")
    forged = unknown_secret()

    # When each kind is reported, three strings at a time
    answers = [
        api.post("/v1/tokens/revoke-leaked", body={"tokens": tokens})
        for tokens in (
            [real, real, real],
            [forged, unknown_secret(), unknown_secret()],
            ["hello", tampered(real), "tks_x"],
            [real, forged, "hello"],
        )
    ]

    # Then every answer is 202 with the same body and the same headers
    assert {a.status for a in answers} == {202}
    assert {a.raw for a in answers} == {json.dumps({"received": 3}, separators=(",", ":")) + "\n"}
    assert len({tuple(sorted(a.headers.items())) for a in answers}) == 1


def test_every_answer_waits_for_the_same_floor(api, monkeypatch):
    # Given the deployed floor under the answer's time (the suites run without one)
    import time

    from tests.conftest import clear_singletons

    monkeypatch.setenv("LEAK_REPORT_ANSWER_MS", "250")
    clear_singletons()

    # When junk, one forged secret and 1,000 of them are reported
    seconds = []
    for tokens in (["junk"], [unknown_secret()], [unknown_secret() for _ in range(1000)]):
        started = time.monotonic()
        assert api.post("/v1/tokens/revoke-leaked", body={"tokens": tokens}).status == 202
        seconds.append(time.monotonic() - started)

    # Then none answers sooner than the floor (the times themselves: make bench BENCH=leaked)
    assert min(seconds) >= 0.25, seconds


def test_only_well_formed_secrets_are_queued_as_id_and_digest_never_the_secret(api, acme, leak_queue):
    # Given a real secret and a forged one (both pass the checksum), and two that do not
    token, real = create(api, acme, "leaked")
    forged = unknown_secret()

    # When they are reported (the real one twice)
    answer = api.post("/v1/tokens/revoke-leaked", body={"tokens": [real, forged, tampered(real), "hello", real]})

    # Then one message holds one (id, SHA-256) pair per distinct well-formed secret, and no secret
    assert answer.status == 202 and answer.body == {"received": 5}
    [message] = leak_queue.messages()
    assert json.loads(message["Body"])["leaks"] == [
        [token["id"], token_format.digest(real)],
        [token_format.parse(forged, "tks"), token_format.digest(forged)],
    ]
    for secret in (real, forged, tampered(real)):
        assert secret not in message["Body"] and secret[4:20] not in message["Body"]

    # And nothing was done while the caller waited: the token is still active until the worker runs
    assert status_of(api, acme, token)["status"] == "active"


def test_a_report_with_nothing_well_formed_queues_nothing(api, leak_queue):
    # When only strings that fail the checksum are reported
    answer = api.post("/v1/tokens/revoke-leaked", body={"tokens": ["hello", "tks_x", tampered(unknown_secret())]})

    # Then the answer is the usual one, and the queue stays empty
    assert answer.status == 202 and answer.body == {"received": 3}
    assert leak_queue.messages() == []


def test_bounds(api):
    too_many = api.post("/v1/tokens/revoke-leaked", body={"tokens": ["x"] * 1001})
    empty = api.post("/v1/tokens/revoke-leaked", body={"tokens": []})
    huge = json.dumps({"tokens": ["x" * 500] * 1000 + ["y" * 500] * 400})
    too_big = api.post("/v1/tokens/revoke-leaked", raw_body=huge, headers={"content-type": "application/json"})
    thousand = api.post("/v1/tokens/revoke-leaked", body={"tokens": [f"tks_{n:071d}" for n in range(1000)]})

    assert too_many.status == 422 and empty.status == 422
    assert too_big.status == 413
    assert thousand.status == 202 and thousand.body == {"received": 1000}


# --- the worker: revoke what is real and live -----------------------------------------------------------


def test_the_worker_revokes_real_live_tokens_with_reason_leaked_as_the_system(api, acme, globex, leak_queue):
    # Given tokens of two organizations reported, one disabled, and a token nobody reported
    token, secret = create(api, acme, "leaked")
    theirs, their_secret = create(api, globex, "also-leaked")
    disabled, disabled_secret = create(api, acme, "disabled-leaked")
    api.post(f"/v1/tokens/{disabled['id']}/disable", secret=acme.secret)
    safe, _ = create(api, acme, "safe")
    api.post("/v1/tokens/revoke-leaked", body={"tokens": [secret, their_secret, disabled_secret, unknown_secret()]})

    # When the worker runs
    [answer] = leak_queue.run_worker()

    # Then the reported tokens are revoked, with the reason "leaked", by the system, from the reporter's address
    assert answer == {"batchItemFailures": []}
    for item, tenant in ((token, acme), (theirs, globex), (disabled, acme)):
        revoked = status_of(api, tenant, item)
        assert revoked["status"] == "revoked" and revoked["revoked_reason"] == "leaked"
        event = api.get(f"/v1/tokens/{item['id']}/events", secret=tenant.secret).body["items"][0]
        assert event["type"] == "token.revoked" and event["actor"] == {"system": "tokensmith"}
        assert event["ip"] == "203.0.113.7" and event["reason"] == "leaked"
    assert api.get("/v1/tokens/self", secret=secret).status == 403
    assert status_of(api, acme, safe)["status"] == "active"


def test_a_rotated_out_secret_still_in_grace_revokes_the_token(api, acme, leak_queue):
    # Given a token rotated with a grace period: its old secret still works
    token, old_secret = create(api, acme, "rotated")
    rotated = api.post(f"/v1/tokens/{token['id']}/rotate", secret=acme.secret, body={"grace_period_seconds": 600})
    new_secret = rotated.body["secret"]

    # When the old secret is reported and the worker runs
    api.post("/v1/tokens/revoke-leaked", body={"tokens": [old_secret]})
    leak_queue.run_worker()

    # Then the token is revoked: the new secret stops working too
    assert api.get("/v1/tokens/self", secret=new_secret).status == 403
    assert status_of(api, acme, token)["revoked_reason"] == "leaked"


def test_a_rotated_out_secret_past_its_grace_revokes_nothing(api, acme, leak_queue):
    # Given a token rotated without grace: its old secret opens nothing any more
    token, old_secret = create(api, acme, "rotated-away")
    new_secret = api.post(f"/v1/tokens/{token['id']}/rotate", secret=acme.secret, body={"grace_period_seconds": 0})

    # When the old secret is reported and the worker runs
    api.post("/v1/tokens/revoke-leaked", body={"tokens": [old_secret]})
    assert leak_queue.run_worker() == [{"batchItemFailures": []}]

    # Then the token lives on, with its new secret
    assert status_of(api, acme, token)["status"] == "active"
    assert api.get("/v1/tokens/self", secret=new_secret.body["secret"]).status == 200


def test_reporting_an_ended_token_changes_nothing(api, acme, leak_queue):
    # Given a token revoked for another reason
    token, secret = create(api, acme, "twice")
    api.post(f"/v1/tokens/{token['id']}/revoke", secret=acme.secret, body={"reason": "rotated away"})
    version = status_of(api, acme, token)["version"]

    # When its secret is reported and the worker runs
    again = api.post("/v1/tokens/revoke-leaked", body={"tokens": [secret, secret]})
    leak_queue.run_worker()

    # Then the token keeps its reason and its version
    assert again.status == 202
    assert status_of(api, acme, token)["revoked_reason"] == "rotated away"
    assert status_of(api, acme, token)["version"] == version


def test_a_redelivered_message_revokes_nothing_twice(api, acme, leak_queue):
    # Given a report whose message the worker handled, but SQS delivers again (the delete was lost)
    token, secret = create(api, acme, "redelivered")
    api.post("/v1/tokens/revoke-leaked", body={"tokens": [secret]})
    leak_queue.run_worker(redeliver=True)
    after_first = status_of(api, acme, token)

    # When the worker gets the same message again
    [answer] = leak_queue.run_worker()

    # Then it succeeds and changes nothing: one revocation, one event
    assert answer == {"batchItemFailures": []}
    assert status_of(api, acme, token) == after_first and after_first["status"] == "revoked"
    events = api.get(f"/v1/tokens/{token['id']}/events", secret=acme.secret).body["items"]
    assert [e["type"] for e in events].count("token.revoked") == 1
    assert leak_queue.messages() == []


def test_a_message_that_fails_comes_back_alone(api, acme, leak_queue):
    # Given a report, and beside it a message this code never wrote
    token, secret = create(api, acme, "beside-junk")
    api.post("/v1/tokens/revoke-leaked", body={"tokens": [secret]})
    leak_queue.sqs.send_message(QueueUrl=leak_queue.queue_url, MessageBody='{"leaks": "not pairs"}')

    # When the worker gets both in one batch
    [answer] = leak_queue.run_worker(batch_size=10)

    # Then only the foreign message is reported failed (SQS hands it back, then to the DLQ); the report is done
    [failure] = answer["batchItemFailures"]
    [left] = leak_queue.messages()
    assert failure["itemIdentifier"] == left["MessageId"] and "not pairs" in left["Body"]
    assert status_of(api, acme, token)["status"] == "revoked"


def test_a_token_that_keeps_changing_sends_the_message_back_and_is_revoked_on_redelivery(
    api, acme, leak_queue, monkeypatch
):
    # Given a report, and a worker whose every write loses a race the first time round
    from tokensmith.aws.dynamodb import VersionConflict
    from tokensmith.tokens.repository import TokenRepository

    token, secret = create(api, acme, "contended")
    api.post("/v1/tokens/revoke-leaked", body={"tokens": [secret]})
    real_update = TokenRepository.update_token

    def always_lose(self, change, event):
        raise VersionConflict()

    monkeypatch.setattr(TokenRepository, "update_token", always_lose)
    monkeypatch.setattr("tokensmith.tokens.changes.time.sleep", lambda _: None)

    # When the worker runs: the message comes back; and again once the races are over
    [first] = leak_queue.run_worker(redeliver=True)
    monkeypatch.setattr(TokenRepository, "update_token", real_update)
    [second] = leak_queue.run_worker()

    # Then the first run reported the message failed, and the second revoked the token
    assert len(first["batchItemFailures"]) == 1
    assert second == {"batchItemFailures": []}
    assert status_of(api, acme, token)["revoked_reason"] == "leaked"


def test_a_report_over_several_messages_revokes_in_each(api, acme, leak_queue):
    # Given two real secrets among 101 forged ones: 103 well-formed secrets, two messages
    first, first_secret = create(api, acme, "first")
    last, last_secret = create(api, acme, "last")
    reported = [first_secret, *(unknown_secret() for _ in range(101)), last_secret]

    # When they are reported in one call, and the worker runs
    answer = api.post("/v1/tokens/revoke-leaked", body={"tokens": reported})
    sizes = sorted(len(json.loads(m["Body"])["leaks"]) for m in leak_queue.messages())
    answers = leak_queue.run_worker()

    # Then 100 pairs went in one message, 3 in the other, and the real tokens of both are revoked
    # (1,000 real secrets in one call: tests/dynamodb_local/test_revoke_leaked_at_scale.py)
    assert answer.body == {"received": 103} and sizes == [3, 100]
    assert all(a == {"batchItemFailures": []} for a in answers)
    assert status_of(api, acme, first)["revoked_reason"] == status_of(api, acme, last)["revoked_reason"] == "leaked"
