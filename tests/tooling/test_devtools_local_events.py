"""devtools.local_events: the template's buses, rules, queues and keys in moto, its event source
mappings read from the template, and their filters applied as Lambda applies them."""

from __future__ import annotations

import json
import uuid

import pytest

from devtools.local_events import aws_client, event_sources, matches, provision
from devtools.template import load_template

TEMPLATE = load_template()


def test_the_filter_patterns_of_the_template_match_as_lambda_would():
    queues = {"WebhookQueue": "q", "LeakedTokensQueue": "l", "OrganizationPolicyQueue": "o"}
    [publisher] = [s for s in event_sources(TEMPLATE, queues) if s.kind == "DynamoDB"]
    insert_event = {"eventName": "INSERT", "dynamodb": {"Keys": {"sk": {"S": "EVENT#2026-11-30T12:00:00Z#ab"}}}}
    insert_token = {"eventName": "INSERT", "dynamodb": {"Keys": {"sk": {"S": "TOKEN"}}}}
    modify_token = {"eventName": "MODIFY", "dynamodb": {"Keys": {"sk": {"S": "TOKEN"}}}}
    ttl = {
        "eventName": "REMOVE",
        "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"},
        "dynamodb": {"Keys": {"sk": {"S": "TOKEN"}}},
    }
    by_hand = {"eventName": "REMOVE", "dynamodb": {"Keys": {"sk": {"S": "TOKEN"}}}}
    webhook = {"eventName": "INSERT", "dynamodb": {"Keys": {"sk": {"S": "DELIVERY#x"}}}}

    def passes(record):
        return any(matches(pattern, record) for pattern in publisher.filters)

    assert passes(insert_event) and passes(ttl)
    assert not any(passes(r) for r in (insert_token, modify_token, by_hand, webhook))


def test_event_sources_come_from_the_template():
    queues = {
        "WebhookQueue": "http://queue",
        "LeakedTokensQueue": "http://leaks",
        "OrganizationPolicyQueue": "http://policies",
    }
    sources = {s.function_id: s for s in event_sources(TEMPLATE, queues)}
    assert set(sources) == {
        "PublishEventsFunction",
        "DeliverWebhooksFunction",
        "RevokeLeakedWorkerFunction",
        "PropagateOrgPolicyFunction",
    }
    assert sources["DeliverWebhooksFunction"].queue_url == "http://queue"
    assert sources["DeliverWebhooksFunction"].batch_size == 5
    assert sources["PublishEventsFunction"].max_retries == 10
    assert sources["RevokeLeakedWorkerFunction"].queue_url == "http://leaks"
    assert sources["RevokeLeakedWorkerFunction"].timeout_seconds == 90
    assert sources["PropagateOrgPolicyFunction"].queue_url == "http://policies"
    assert sources["PropagateOrgPolicyFunction"].batch_size == 1


def test_provision_creates_what_the_functions_refer_to(moto_endpoint):
    # moto's backends are process-wide: give this test's resources a stack of their own
    stack = f"t{uuid.uuid4().hex[:8]}"
    template = json.loads(json.dumps(TEMPLATE).replace("${AWS::StackName}-events", f"{stack}-events"))
    refs = provision(template, moto_endpoint, {})

    assert refs["TokensmithBus"] == f"{stack}-events"
    sqs = aws_client("sqs", moto_endpoint)
    attributes = sqs.get_queue_attributes(QueueUrl=refs["WebhookQueue"], AttributeNames=["All"])["Attributes"]
    assert json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"] == refs["WebhookDeadLetterQueue.Arn"]
    assert attributes["VisibilityTimeout"] == "360"
    kms = aws_client("kms", moto_endpoint)
    assert kms.describe_key(KeyId=refs["WebhookSecretsKey"])["KeyMetadata"]["Arn"] == refs["WebhookSecretsKey.Arn"]

    # the rule sends the bus's events into the webhook queue
    events = aws_client("events", moto_endpoint)
    events.put_events(
        Entries=[
            {
                "Source": "tokensmith",
                "DetailType": "token.created",
                "Detail": "{}",
                "EventBusName": refs["TokensmithBus"],
            }
        ]
    )
    messages = sqs.receive_message(QueueUrl=refs["WebhookQueue"], MaxNumberOfMessages=10).get("Messages", [])
    assert [json.loads(m["Body"])["detail-type"] for m in messages] == ["token.created"]


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ({"a": ["x"]}, {"a": "x"}, True),
        ({"a": ["x"]}, {"a": "y"}, False),
        ({"a": [{"prefix": "EV"}]}, {"a": "EVENT"}, True),
        ({"a": [{"prefix": "EV"}]}, {"a": 3}, False),
        ({"a": {"b": ["x"]}}, {"a": None}, False),
    ],
)
def test_matches(pattern, value, expected):
    assert matches(pattern, value) is expected
