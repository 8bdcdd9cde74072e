"""Webhook test helpers: a receiver (a real HTTP server on 127.0.0.1 that records every request and answers
statuses from a script; tests verify what it received with the reference ``standardwebhooks`` package), and
a pipeline that moves the moto stream's records and queued messages through the real functions."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import standardwebhooks

from tests.support import LambdaContext, load_function


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def verified(self, secret: str) -> dict:
        """The payload, if the reference verifier accepts the signature (else it raises)."""
        return standardwebhooks.Webhook(secret).verify(self.body, self.headers)


@dataclass
class Receiver:
    base_url: str
    received: list[Received] = field(default_factory=list)
    # path -> statuses to answer, in order; the last one repeats. Default 200.
    script: dict[str, list[int]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return self.base_url + path

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    def answer(self, path: str) -> int:
        with self.lock:
            statuses = self.script.get(path) or [200]
            return statuses.pop(0) if len(statuses) > 1 else statuses[0]


@contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with receiver.lock:
                receiver.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            status = receiver.answer(self.path)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver = Receiver(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class Pipeline:
    """Moves what is waiting along: new stream records to the publisher, queued messages to the delivery
    function (deleting those it did not report as failures), until nothing is left."""

    def __init__(self, table, world) -> None:
        self.table, self.world = table, world
        self.sqs = boto3.client("sqs", region_name="us-east-1")
        self.streams = boto3.client("dynamodbstreams", region_name="us-east-1")
        self.seen: set[str] = set()
        self.batch_results: list[dict] = []
        self.new_stream_records()  # what happened before the test's own story is not part of it

    def new_stream_records(self) -> list[dict]:
        arn = self.table.describe_table(TableName="tokensmith-test")["Table"]["LatestStreamArn"]
        records = []
        for shard in self.streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
            iterator = self.streams.get_shard_iterator(
                StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            for record in self.streams.get_records(ShardIterator=iterator)["Records"]:
                if record["dynamodb"]["SequenceNumber"] not in self.seen:
                    self.seen.add(record["dynamodb"]["SequenceNumber"])
                    record["eventSourceARN"] = arn
                    record["dynamodb"].pop("ApproximateCreationDateTime", None)
                    records.append(record)
        # What the event source mapping's filter lets through (template.yaml, PublishEventsFunction).
        return [
            r for r in records if r["eventName"] == "INSERT" and r["dynamodb"]["Keys"]["sk"]["S"].startswith("EVENT#")
        ]

    def publish(self, records: list[dict]) -> dict:
        return load_function("functions/publish_events").handler({"Records": records}, LambdaContext())

    def deliver_queued(self) -> int:
        messages = self.sqs.receive_message(QueueUrl=self.world.queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return 0
        result = deliver(messages)
        self.batch_results.append(result)
        failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
        for message in messages:
            if message["MessageId"] not in failed:
                self.sqs.delete_message(QueueUrl=self.world.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return len(messages)

    def run(self) -> None:
        records = self.new_stream_records()
        if records:
            assert self.publish(records) == {"batchItemFailures": []}
        for _ in range(100):
            if not self.deliver_queued():
                return
        raise AssertionError("the queue never drained")

    def dead_letters(self) -> list[dict]:
        messages = self.sqs.receive_message(QueueUrl=self.world.dead_letter_queue_url, MaxNumberOfMessages=10)
        return [json.loads(m["Body"]) for m in messages.get("Messages", [])]


def sqs_event(messages: list[dict]) -> dict:
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:webhooks",
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
    }


def deliver(messages: list[dict], remaining_millis: int = 60_000) -> dict:
    """The delivery function on an SQS batch, with the time its template Timeout (60 s) leaves."""
    context = LambdaContext(remaining_millis=remaining_millis)
    return load_function("functions/deliver_webhooks").handler(sqs_event(messages), context)


def ttl_purge_record(event_id: str = "1") -> dict:
    """A stream record of DynamoDB's TTL deleting a revoked token "t1" of acme, as Lambda receives it
    (a REMOVE by the service principal, with the token's old image: a digest the events must drop)."""
    from tokensmith.aws.dynamodb import to_item

    token = {"pk": "TOKEN#t1", "sk": "TOKEN", "id": "t1", "organization_id": "acme", "name": "old"}
    token |= {"status": "revoked", "scopes": [], "secret_digest": "ab" * 32, "version": 3}
    return {
        "eventID": event_id,
        "eventName": "REMOVE",
        "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"},
        "dynamodb": {
            "Keys": to_item({"pk": "TOKEN#t1", "sk": "TOKEN"}),
            "OldImage": to_item(token),
            "SequenceNumber": event_id,
        },
    }
