"""1,000 real secrets in one call to POST /v1/tokens/revoke-leaked all end revoked.

On DynamoDB Local: moto copies every table for each transaction, so 2,000 of them (1,000 creates, 1,000
revocations) take minutes there. SQS is moto's server (the local run's), reached over HTTP by the
functions' own client (``AWS_ENDPOINT_URL_SQS``); the test plays the queue's event source mapping."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest

from devtools.embedded_dynamodb import embedded_dynamodb
from tests.conftest import clear_singletons
from tests.support import InProcessApi, LambdaContext, load_function
from tests.webhooks import sqs_event

pytestmark = pytest.mark.dynamodb_local

REPORTED = 1000  # the route's maximum


@pytest.fixture
def world(ddb_local_table, dynamodb_local_endpoint, monkeypatch):
    """The handlers pointed at a fresh DynamoDB Local table and a leak queue in moto's server."""
    _, table_name = ddb_local_table
    with embedded_dynamodb() as sqs_endpoint:
        sqs = boto3.client(
            "sqs", endpoint_url=sqs_endpoint, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
        )
        queue_url = sqs.create_queue(QueueName="leaked-tokens-scale")["QueueUrl"]
        monkeypatch.setenv("TABLE_NAME", table_name)
        monkeypatch.setenv("DYNAMODB_ENDPOINT_URL", dynamodb_local_endpoint)
        monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", sqs_endpoint)
        monkeypatch.setenv("LEAKED_TOKENS_QUEUE_URL", queue_url)
        clear_singletons()
        yield sqs, queue_url
        sqs.delete_queue(QueueUrl=queue_url)


def test_a_thousand_real_secrets_in_one_call_are_all_revoked(world):
    sqs, queue_url = world
    from tokensmith.tokens.service import token_service

    # Given 1,000 live tokens
    service = token_service()
    with ThreadPoolExecutor(max_workers=4) as pool:
        minted = list(
            pool.map(lambda n: service.bootstrap_admin("acme", f"leaked-{n}", scopes=("tokens:read",)), range(REPORTED))
        )

    # When all their secrets are reported in one call
    answer = InProcessApi().post("/v1/tokens/revoke-leaked", body={"tokens": [secret for _, secret in minted]})

    # Then it answered 202 having queued 10 messages of 100 (id, digest) pairs, nothing revoked yet
    assert answer.status == 202 and answer.body == {"received": REPORTED}
    messages = []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        messages.extend(batch)
    assert sorted(len(json.loads(m["Body"])["leaks"]) for m in messages) == [100] * 10
    ids = [item["id"] for item, _ in minted]
    assert {item["status"] for item in service.repository.get_tokens(ids)} == {"active"}

    # And once the worker has had the messages, five to an invocation (its mapping's BatchSize), all are revoked
    worker = load_function("functions/revoke_leaked_worker")
    for start in range(0, len(messages), 5):
        batch = messages[start : start + 5]
        assert worker.handler(sqs_event(batch), LambdaContext(remaining_millis=90_000)) == {"batchItemFailures": []}
    items = service.repository.get_tokens(ids)
    assert len(items) == REPORTED
    assert {(item["status"], item["revoked_reason"]) for item in items} == {("revoked", "leaked")}
