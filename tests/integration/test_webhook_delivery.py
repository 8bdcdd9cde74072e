"""Webhook delivery, through the same plumbing as template.yaml (in moto): the table's stream → the
publisher → the bus → the rule → the queue → ``deliver_webhooks`` → a real HTTP receiver on 127.0.0.1,
which checks every signature with the reference ``standardwebhooks`` verifier."""

import json
import time
import uuid

import pytest
import standardwebhooks.webhooks

from tests.conftest import FAKE_DNS, clear_singletons
from tests.integration.conftest import make_tenant
from tests.webhooks import Pipeline, deliver, ttl_purge_record, webhook_receiver
from tokensmith import clock
from tokensmith.settings import Settings
from tokensmith.webhooks import delivery, egress
from tokensmith.webhooks.delivery import WebhookDeliverer
from tokensmith.webhooks.repository import WebhookRepository


@pytest.fixture
def loopback(webhook_world, monkeypatch):
    monkeypatch.setenv("WEBHOOK_ALLOW_LOOPBACK", "true")
    clear_singletons()
    return webhook_world


@pytest.fixture
def receiver():
    with webhook_receiver() as running:
        yield running


@pytest.fixture
def pipeline(table, loopback, acme_hooks):
    return Pipeline(table, loopback)


@pytest.fixture
def acme_hooks(api, admin, loopback):
    return make_tenant(
        api, admin, "acme", ["webhooks:read", "webhooks:write", "tokens:read", "tokens:write"], name="acme hooks"
    )


def register(api, tenant, url, **body):
    response = api.post("/v1/webhooks", secret=tenant.secret, body={"url": url, **body})
    assert response.status == 201, response.body
    return response.body["webhook"]["id"], response.body["secret"]


def deliveries(api, tenant, webhook_id):
    response = api.get(f"/v1/webhooks/{webhook_id}/deliveries", secret=tenant.secret)
    assert response.status == 200
    return list(reversed(response.body["items"]))  # oldest first


def test_a_lifecycle_arrives_signed_once_per_change_without_secrets(api, acme_hooks, pipeline, receiver, capfd):
    # Given an endpoint for every event type
    webhook_id, whsec = register(api, acme_hooks, receiver.url("/all"))
    # When a token lives its life
    created = api.post("/v1/tokens", secret=acme_hooks.secret, body={"name": "ci", "scopes": ["tokens:read"]})
    token_id, token_secret = created.body["token"]["id"], created.body["secret"]
    path = f"/v1/tokens/{token_id}"
    api.patch(path, secret=acme_hooks.secret, body={"description": "x"})
    api.post(f"{path}/disable", secret=acme_hooks.secret)
    api.post(f"{path}/enable", secret=acme_hooks.secret)
    rotated = api.post(f"{path}/rotate", secret=acme_hooks.secret, body={"grace_period_seconds": 60}).body["secret"]
    api.get("/v1/tokens/self", secret=rotated)  # a last use: no event
    api.post(f"{path}/revoke", secret=acme_hooks.secret, body={"reason": "done"})
    api.delete(path, secret=acme_hooks.secret)
    pipeline.run()

    # Then each change arrived once, signed per Standard Webhooks, as {type, timestamp, data}
    payloads = [r.verified(whsec) for r in receiver.at("/all")]
    about_token = [p for p in payloads if p["data"]["token_id"] == token_id]
    assert [p["type"] for p in about_token] == [
        "token.created",
        "token.updated",
        "token.disabled",
        "token.enabled",
        "token.rotated",
        "token.revoked",
        "token.deleted",
    ]
    for payload in about_token:
        assert set(payload) == {"type", "timestamp", "data"} and payload["data"]["organization_id"] == "acme"
    ids = [r.headers["webhook-id"] for r in receiver.at("/all")]
    assert len(set(ids)) == len(ids) and all(i.startswith("msg_") for i in ids)
    # And nothing carries a secret: no token secret, no signing secret, no digest, in any payload or log
    everything = b"".join(r.body for r in receiver.received).decode() + "".join(capfd.readouterr())
    for secret in (token_secret, rotated, whsec, whsec.removeprefix("whsec_")):
        assert secret not in everything
    assert "digest" not in everything and "ciphertext" not in everything
    # And the delivery log says so
    log = deliveries(api, acme_hooks, webhook_id)
    assert {e["outcome"] for e in log} == {"delivered"} and all(e["status_code"] == 200 for e in log)
    assert all(e["attempt"] == 1 and e["next_retry_at"] is None and e["latency_ms"] >= 0 for e in log)


def test_only_subscribed_types_of_the_own_organization_arrive(api, admin, acme_hooks, pipeline, receiver):
    register(api, acme_hooks, receiver.url("/revocations"), event_types=["token.revoked"])
    globex = make_tenant(api, admin, "globex", ["webhooks:write", "tokens:write"], name="globex hooks")
    register(api, globex, receiver.url("/globex"))
    token_id = api.post("/v1/tokens", secret=acme_hooks.secret, body={"name": "t"}).body["token"]["id"]
    api.post(f"/v1/tokens/{token_id}/revoke", secret=acme_hooks.secret, body={"reason": "r"})
    pipeline.run()

    assert [json.loads(r.body)["type"] for r in receiver.at("/revocations")] == ["token.revoked"]
    assert all(json.loads(r.body)["data"]["organization_id"] == "globex" for r in receiver.at("/globex"))


def test_failures_are_retried_with_the_same_id_until_delivered(api, acme_hooks, pipeline, receiver):
    webhook_id, whsec = register(api, acme_hooks, receiver.url("/flaky"), event_types=["token.created"])
    receiver.script["/flaky"] = [500, 503, 200]
    api.post("/v1/tokens", secret=acme_hooks.secret, body={"name": "t"})
    pipeline.run()

    attempts = receiver.at("/flaky")
    assert len(attempts) == 3 and len({a.headers["webhook-id"] for a in attempts}) == 1
    assert all(a.verified(whsec)["type"] == "token.created" for a in attempts)
    log = deliveries(api, acme_hooks, webhook_id)
    assert [(e["attempt"], e["status_code"], e["outcome"]) for e in log] == [
        (1, 500, "retrying"),
        (2, 503, "retrying"),
        (3, 200, "delivered"),
    ]
    assert log[0]["next_retry_at"] and log[2]["next_retry_at"] is None


def test_after_the_last_attempt_the_delivery_is_dead_lettered(api, acme_hooks, pipeline, receiver, monkeypatch):
    monkeypatch.setenv("WEBHOOK_RETRY_DELAYS", "0,0")
    clear_singletons()
    webhook_id, _ = register(api, acme_hooks, receiver.url("/down"), event_types=["token.created"])
    receiver.script["/down"] = [500]
    api.post("/v1/tokens", secret=acme_hooks.secret, body={"name": "t"})
    pipeline.run()

    assert len(receiver.at("/down")) == 3
    [dead] = pipeline.dead_letters()
    assert dead["webhook_id"] == webhook_id and dead["attempt"] == 3 and dead["last_status_code"] == 500
    assert dead["event"]["type"] == "token.created" and "whsec" not in json.dumps(dead)
    assert [e["outcome"] for e in deliveries(api, acme_hooks, webhook_id)] == ["retrying", "retrying", "failed"]


def test_410_gone_disables_the_endpoint(api, acme_hooks, pipeline, receiver):
    webhook_id, _ = register(api, acme_hooks, receiver.url("/gone"))
    receiver.script["/gone"] = [410]
    token_id = api.post("/v1/tokens", secret=acme_hooks.secret, body={"name": "t"}).body["token"]["id"]
    pipeline.run()
    api.post(f"/v1/tokens/{token_id}/disable", secret=acme_hooks.secret)
    pipeline.run()

    assert len(receiver.at("/gone")) == 1  # no retry, and nothing after
    endpoint = api.get(f"/v1/webhooks/{webhook_id}", secret=acme_hooks.secret).body
    assert endpoint["enabled"] is False and "410" in endpoint["disabled_reason"] and endpoint["version"] == 2
    assert [e["outcome"] for e in deliveries(api, acme_hooks, webhook_id)] == ["gone"]
    assert pipeline.dead_letters() == []


def test_a_failing_receiver_never_makes_a_healthy_one_receive_twice(api, acme_hooks, pipeline, receiver):
    register(api, acme_hooks, receiver.url("/healthy"))
    register(api, acme_hooks, receiver.url("/sick"))
    receiver.script["/sick"] = [500, 500, 500, 200]
    api.post("/v1/tokens", secret=acme_hooks.secret, body={"name": "t"})
    pipeline.run()

    assert len(receiver.at("/healthy")) == 1
    assert len(receiver.at("/sick")) == 4


def test_dns_rebinding_at_delivery_is_refused_without_connecting(api, acme_hooks, pipeline, monkeypatch):
    webhook_id, _ = register(api, acme_hooks, "https://hooks.example.com/hook", event_types=["token.created"])
    monkeypatch.setitem(FAKE_DNS, "hooks.example.com", ["127.0.0.1"])  # the name now points inside
    monkeypatch.setenv("WEBHOOK_RETRY_DELAYS", "0")
    clear_singletons()
    connections = []
    monkeypatch.setattr(egress, "post", lambda *args, **kwargs: connections.append(args))
    api.post("/v1/tokens", secret=acme_hooks.secret, body={"name": "t"})
    pipeline.run()

    assert connections == []
    log = deliveries(api, acme_hooks, webhook_id)
    assert [e["outcome"] for e in log] == ["retrying", "failed"]
    assert log[0]["status_code"] is None and "non-public" in log[0]["error"]


def test_post_connects_to_the_checked_address_not_to_a_new_lookup(receiver, monkeypatch):
    monkeypatch.setitem(FAKE_DNS, "hooks.example.com", ["10.9.9.9"])  # a later answer would be refused
    port = int(receiver.base_url.rsplit(":", 1)[1])
    target = egress.Target("http", "hooks.example.com", port, "/pinned", "127.0.0.1")

    answer = egress.post(target, {"content-type": "application/json"}, b"{}", timeout=5)

    assert answer.status == 200
    [request] = receiver.at("/pinned")
    assert request.headers["host"] == f"hooks.example.com:{port}"


def test_a_ttl_purge_is_delivered_as_token_purged(api, acme_hooks, pipeline, receiver):
    webhook_id, whsec = register(api, acme_hooks, receiver.url("/purged"), event_types=["token.purged"])
    record = ttl_purge_record()
    assert pipeline.publish([record]) == {"batchItemFailures": []}
    pipeline.run()

    [purged] = receiver.at("/purged")
    payload = purged.verified(whsec)
    assert payload["type"] == "token.purged" and payload["data"]["token"]["id"] == "t1"
    assert "digest" not in purged.body.decode()


def test_batch_failures_are_reported_per_record(api, acme_hooks, pipeline, receiver, monkeypatch):
    webhook_id, _ = register(api, acme_hooks, receiver.url("/batch"))
    sqs = pipeline.sqs
    detail = {"type": "token.created", "timestamp": "2026-11-30T12:00:00Z", "data": {"organization_id": "acme"}}
    due_now = {"webhook_id": webhook_id, "message_id": "msg_1", "event": detail, "attempt": 1, "due_at": 0}
    later = {**due_now, "message_id": "msg_2", "due_at": 4_000_000_000}
    for job in (due_now, later):
        sqs.send_message(QueueUrl=pipeline.world.queue_url, MessageBody=json.dumps(job))
    messages = sqs.receive_message(QueueUrl=pipeline.world.queue_url, MaxNumberOfMessages=10)["Messages"]
    later_id = next(m["MessageId"] for m in messages if "msg_2" in m["Body"])

    result = deliver(messages)

    # the job that is not due yet comes back alone, hidden until it is (at most SQS's 12 hours)
    assert result == {"batchItemFailures": [{"itemIdentifier": later_id}]}
    assert [json.loads(r.body)["type"] for r in receiver.at("/batch")] == ["token.created"]


def test_a_fan_out_that_sqs_refuses_fails_only_its_own_record(api, acme_hooks, receiver, loopback, monkeypatch):
    register(api, acme_hooks, receiver.url("/fan"))
    events = []
    for organization in ("acme", "globex"):
        detail = {
            "type": "token.created",
            "timestamp": "2026-11-30T12:00:00Z",
            "data": {"organization_id": organization},
        }
        events.append(
            {
                "MessageId": str(uuid.uuid4()),
                "ReceiptHandle": "r",
                "Body": json.dumps({"detail-type": "token.created", "source": "tokensmith", "detail": detail}),
            }
        )

    class RefusingSqs:
        def send_message_batch(self, QueueUrl, Entries):
            return {"Successful": [], "Failed": [{"Id": e["Id"], "Code": "x", "SenderFault": False} for e in Entries]}

    monkeypatch.setattr(WebhookDeliverer, "sqs", property(lambda self: RefusingSqs()))
    result = deliver(events)

    # acme has an endpoint (its jobs were refused); globex has none, so nothing could fail
    assert result == {"batchItemFailures": [{"itemIdentifier": events[0]["MessageId"]}]}


class RecordingSqs:
    def __init__(self):
        self.sent, self.visibility = [], []

    def send_message(self, **kwargs):
        self.sent.append(kwargs)

    def change_message_visibility(self, **kwargs):
        self.visibility.append(kwargs)


def test_the_default_schedule_spans_more_than_a_day_within_sqs_limits(table, loopback, monkeypatch):
    # Given the default schedule and an endpoint that never answers
    settings = Settings(
        table_name="tokensmith-test",
        webhook_queue_url="q",
        webhook_dead_letter_queue_url="dlq",
        webhook_allow_loopback=True,
    )
    repository = WebhookRepository("tokensmith-test")
    sqs = RecordingSqs()
    deliverer = WebhookDeliverer(repository, settings, sqs=sqs, jitter=lambda: 0.5)  # 0.5: no jitter
    endpoint = {"id": "w1", "organization_id": "acme", "url": "http://127.0.0.1:9/", "enabled": True}
    endpoint |= {"event_types": ["token.created"], "secret_ciphertext": "x"}
    monkeypatch.setattr(repository, "get_webhook", lambda _: endpoint)
    monkeypatch.setattr(delivery.signing_keys, "decrypt", lambda *a: "whsec_" + "A" * 44)
    monkeypatch.setattr(egress, "post", lambda *a: egress.Answer(None, 1, "ConnectionRefusedError"))
    job = {"webhook_id": "w1", "message_id": "m", "event": {"type": "token.created", "timestamp": "t", "data": {}}}
    job |= {"attempt": 1, "due_at": 0}

    # When every attempt fails
    delays = []
    while True:
        deliverer.attempt(job)
        message = sqs.sent[-1]
        if message["QueueUrl"] == "dlq":
            break
        job = json.loads(message["MessageBody"])
        delays.append((message["DelaySeconds"], job["due_at"] - int(time.time())))
        job["due_at"] = 0

    # Then: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h; SQS delays capped at 15 minutes; 8 attempts, > 1 day
    assert [d for d, _ in delays] == [5, 300, 900, 900, 900, 900, 900]
    waits = [w for _, w in delays]
    assert [round(w, -1) for w in waits] == [0, 300, 1800, 7200, 18000, 36000, 36000]
    assert sum(waits) > 86_400 and job["attempt"] == 8
    # And a job that arrives before its time is hidden for the rest of it, at most 12 hours at once
    with pytest.raises(delivery.NotDueYet):
        deliverer.attempt({**job, "due_at": int(time.time()) + 36_000}, receipt_handle="rh")
    with pytest.raises(delivery.NotDueYet):
        deliverer.attempt({**job, "due_at": int(time.time()) + 90_000}, receipt_handle="rh")
    assert [round(v["VisibilityTimeout"], -2) for v in sqs.visibility] == [36_000, 43_200]


def test_jitter_stays_within_a_fifth_of_each_delay(table, loopback):
    settings = Settings(table_name="t", webhook_queue_url="q", webhook_retry_delays=(1000,))
    for jitter, expected in ((0.0, 800), (1.0, 1200)):
        sqs = RecordingSqs()
        deliverer = WebhookDeliverer(WebhookRepository("t"), settings, sqs=sqs, jitter=lambda j=jitter: j)
        endpoint = {"id": "w", "organization_id": "o"}
        job = {"webhook_id": "w", "message_id": "m", "event": {"type": "token.created"}, "attempt": 1}
        deliverer._failed(job, endpoint, clock.now(), egress.Answer(500, 1))
        assert sqs.sent[0]["DelaySeconds"] == min(expected, 900)


def test_a_rotation_signs_with_both_secrets_during_its_grace_period(api, acme_hooks, pipeline, receiver):
    webhook_id, old = register(api, acme_hooks, receiver.url("/rotating"), event_types=["token.created"])
    path = f"/v1/webhooks/{webhook_id}/rotate-secret"
    new = api.post(path, secret=acme_hooks.secret, body={"grace_period_seconds": 3600}).body["secret"]
    api.post("/v1/tokens", secret=acme_hooks.secret, body={"name": "during the grace period"})
    pipeline.run()
    newest = api.post(path, secret=acme_hooks.secret, body={"grace_period_seconds": 0}).body["secret"]
    api.post("/v1/tokens", secret=acme_hooks.secret, body={"name": "after a rotation without grace"})
    pipeline.run()

    during, after = receiver.at("/rotating")
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert during.verified(old)["type"] == during.verified(new)["type"] == "token.created"
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    after.verified(newest)
    for stale in (old, new):
        with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
            after.verified(stale)
    assert api.post(path, secret=acme_hooks.secret, body={"grace_period_seconds": 604801}).status == 422


def test_a_job_that_cannot_finish_before_the_function_times_out_goes_back_untouched(
    api, acme_hooks, receiver, loopback, pipeline
):
    # Given a due job, and an invocation with less time left than an attempt may take
    webhook_id, _ = register(api, acme_hooks, receiver.url("/late"))
    detail = {"type": "token.created", "timestamp": "2026-11-30T12:00:00Z", "data": {"organization_id": "acme"}}
    job = {"webhook_id": webhook_id, "message_id": "msg_late", "event": detail, "attempt": 1, "due_at": 0}
    pipeline.sqs.send_message(QueueUrl=pipeline.world.queue_url, MessageBody=json.dumps(job))
    messages = pipeline.sqs.receive_message(QueueUrl=pipeline.world.queue_url, MaxNumberOfMessages=10)["Messages"]

    # When the delivery function gets it with 12 s left (a 10 s attempt needs 15)
    result = deliver(messages, remaining_millis=12_000)

    # Then the record is a batch item failure (SQS brings it back), nothing was posted or logged
    assert result == {"batchItemFailures": [{"itemIdentifier": messages[0]["MessageId"]}]}
    assert receiver.at("/late") == []
    assert api.get(f"/v1/webhooks/{webhook_id}/deliveries", secret=acme_hooks.secret).body["items"] == []
