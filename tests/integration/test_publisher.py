"""The stream publisher: audit events and TTL purges become EventBridge events, per-record failures."""

import json

import boto3
import pytest

from tests.support import LambdaContext, load_function
from tests.webhooks import ttl_purge_record
from tokensmith.aws import clients
from tokensmith.settings import get_settings

BUS = "tokensmith-test-events"


@pytest.fixture
def bus(table, monkeypatch):
    """A real (moto) bus with a rule that copies every tokensmith event into a queue we can read."""
    events = boto3.client("events", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    events.create_event_bus(Name=BUS)
    queue_url = sqs.create_queue(QueueName="captured")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="all", EventBusName=BUS, EventPattern=json.dumps({"source": ["tokensmith"]}))
    events.put_targets(Rule="all", EventBusName=BUS, Targets=[{"Id": "q", "Arn": queue_arn}])
    monkeypatch.setenv("EVENT_BUS_NAME", BUS)
    get_settings.cache_clear()
    clients.client.cache_clear()

    def received():
        messages = []
        while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
            messages += [json.loads(m["Body"]) for m in batch]
            sqs.delete_message_batch(
                QueueUrl=queue_url, Entries=[{"Id": m["MessageId"], "ReceiptHandle": m["ReceiptHandle"]} for m in batch]
            )
        return messages

    yield received
    getattr(clients.client, "cache_clear", lambda: None)()  # a test may have replaced the factory


def stream_records(table):
    """Every record of the table's stream so far (moto keeps them), as Lambda receives them."""
    streams = boto3.client("dynamodbstreams", region_name="us-east-1")
    arn = table.describe_table(TableName="tokensmith-test")["Table"]["LatestStreamArn"]
    records = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")
        response = streams.get_records(ShardIterator=iterator["ShardIterator"])
        records += response["Records"]
    for record in records:
        record["eventSourceARN"] = arn
        record["dynamodb"].pop("ApproximateCreationDateTime", None)
    return records


def publish(records):
    return load_function("functions/publish_events").handler({"Records": records}, LambdaContext())


def test_every_change_of_a_lifecycle_is_published_without_secrets(api, acme, table, bus):
    created = api.post("/v1/tokens", secret=acme.secret, body={"name": "ci", "scopes": ["tokens:read"]})
    token_id, secret = created.body["token"]["id"], created.body["secret"]
    path = f"/v1/tokens/{token_id}"
    api.patch(path, secret=acme.secret, body={"description": "x"})
    api.post(f"{path}/disable", secret=acme.secret)
    api.post(f"{path}/enable", secret=acme.secret)
    rotated = api.post(f"{path}/rotate", secret=acme.secret, body={"grace_period_seconds": 60}).body["secret"]
    api.get("/v1/tokens/self", secret=rotated)  # a last-use write: not an event
    api.post(f"{path}/revoke", secret=acme.secret, body={"reason": "done"})
    api.delete(path, secret=acme.secret)

    result = publish(stream_records(table))
    published = [m for m in bus() if m["detail"]["data"].get("token_id") == token_id]

    assert result == {"batchItemFailures": []}
    assert [m["detail-type"] for m in published] == [
        "token.created",
        "token.updated",
        "token.disabled",
        "token.enabled",
        "token.rotated",
        "token.revoked",
        "token.deleted",
    ]
    for message in published:
        assert message["source"] == "tokensmith"
        assert set(message["detail"]) == {"type", "timestamp", "data"}
        text = json.dumps(message)
        assert secret not in text and rotated not in text and "digest" not in text


def test_a_ttl_purge_of_a_token_is_published_and_other_removals_are_not(table, bus):
    ttl = ttl_purge_record("1")
    by_hand = {**ttl, "eventID": "2", "userIdentity": None, "dynamodb": {**ttl["dynamodb"], "SequenceNumber": "2"}}

    assert publish([ttl, by_hand]) == {"batchItemFailures": []}
    [message] = bus()
    assert message["detail-type"] == "token.purged"
    assert message["detail"]["data"]["token"]["id"] == "t1" and "digest" not in json.dumps(message)


def test_one_failing_record_is_reported_alone(api, acme, table, bus, monkeypatch):
    for name in ("a", "b", "c"):
        api.post("/v1/tokens", secret=acme.secret, body={"name": name})
    records = [r for r in stream_records(table) if r["dynamodb"]["Keys"]["sk"]["S"].startswith("EVENT#")][-3:]
    failing = records[1]["dynamodb"]["SequenceNumber"]
    real = clients.client("events")

    class FlakyBus:
        def put_events(self, Entries):
            if '"name":{"from":null,"to":"b"}' in Entries[0]["Detail"]:
                return {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "boom"}]}
            return real.put_events(Entries=Entries)

    real_factory = clients.client
    monkeypatch.setattr(
        clients,
        "client",
        lambda service, endpoint_url=None: FlakyBus() if service == "events" else real_factory(service, endpoint_url),
    )

    assert publish(records) == {"batchItemFailures": [{"itemIdentifier": failing}]}
    assert len(bus()) == 2
