from __future__ import annotations

from dataclasses import dataclass

import boto3
import pytest
from moto import mock_aws

from devtools.template import create_table, load_template
from tests.support import ROOT, InProcessApi
from tokensmith.bootstrap import create_admin_token


@dataclass
class Tenant:
    organization_id: str
    token_id: str
    secret: str


@pytest.fixture
def table():
    """A moto table built from template.yaml: the schema under test is the schema deployed."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client, load_template(str(ROOT / "template.yaml")), "tokensmith-test")
        yield client


@pytest.fixture
def api(table) -> InProcessApi:
    return InProcessApi()


@pytest.fixture
def admin(table) -> Tenant:
    token_id, secret = create_admin_token("tokensmith-test", organization_id="platform", name="test-admin")
    return Tenant("platform", token_id, secret)


def make_tenant(
    api: InProcessApi, admin: Tenant, organization_id: str, scopes: list[str] | None = None, name: str | None = None
) -> Tenant:
    response = api.post(
        "/v1/tokens",
        secret=admin.secret,
        body={
            "name": name or f"{organization_id}-{'-'.join(scopes or ['manager'])}",
            "organization_id": organization_id,
            "scopes": scopes or ["tokens:read", "tokens:write", "tokens:manage", "tokens:verify", "orders:read"],
        },
    )
    assert response.status == 201, response.body
    return Tenant(organization_id, response.body["token"]["id"], response.body["secret"])


@pytest.fixture
def acme(api, admin) -> Tenant:
    return make_tenant(api, admin, "acme")


@pytest.fixture
def globex(api, admin) -> Tenant:
    return make_tenant(api, admin, "globex")


class TimeMachine:
    """Moves tokensmith's clock (and only tokensmith's) forward."""

    def __init__(self) -> None:
        import time

        self._real = time
        self.offset = 0.0

    def time(self) -> float:
        return self._real.time() + self.offset

    def time_ns(self) -> int:
        return self._real.time_ns() + int(self.offset * 1e9)

    def sleep(self, seconds: float) -> None:
        self._real.sleep(seconds)

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def clock(monkeypatch) -> TimeMachine:
    import tokensmith.clock

    machine = TimeMachine()
    monkeypatch.setattr(tokensmith.clock, "time", machine)
    return machine


@dataclass
class WebhookWorld:
    """The webhook plumbing of template.yaml in moto: the KMS key, the bus, the rule, the queue and its
    dead-letter queue; the functions' environment points at them."""

    key_id: str
    queue_url: str
    dead_letter_queue_url: str
    bus: str


@pytest.fixture
def webhook_world(table, monkeypatch) -> WebhookWorld:
    import json

    from tests.conftest import clear_singletons

    kms = boto3.client("kms", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    events = boto3.client("events", region_name="us-east-1")
    key_id = kms.create_key(Description="webhook secrets")["KeyMetadata"]["KeyId"]
    dead_letters = sqs.create_queue(QueueName="webhooks-dlq")["QueueUrl"]
    queue = sqs.create_queue(QueueName="webhooks")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = "tokensmith-test-events"
    events.create_event_bus(Name=bus)
    events.put_rule(Name="webhooks", EventBusName=bus, EventPattern=json.dumps({"source": ["tokensmith"]}))
    events.put_targets(Rule="webhooks", EventBusName=bus, Targets=[{"Id": "q", "Arn": queue_arn}])
    for name, value in {
        "WEBHOOK_KEY_ID": key_id,
        "WEBHOOK_QUEUE_URL": queue,
        "WEBHOOK_DEAD_LETTER_QUEUE_URL": dead_letters,
        "WEBHOOK_RETRY_DELAYS": "0,0,0,0,0,0,0",
        "EVENT_BUS_NAME": bus,
    }.items():
        monkeypatch.setenv(name, value)
    clear_singletons()
    return WebhookWorld(key_id, queue, dead_letters, bus)


@dataclass
class WorkerQueue:
    """A queue of template.yaml and its worker in moto (LeakedTokensQueue, OrganizationPolicyQueue); the
    functions' environment points at it. ``run_worker`` plays the event source mapping."""

    queue_url: str
    dead_letter_queue_url: str
    sqs: object
    function: str = "functions/revoke_leaked_worker"
    remaining_millis: int = 90_000  # what the worker's template Timeout leaves

    def messages(self) -> list[dict]:
        """Every message waiting (received and made visible again: the queue is left as it was)."""
        found: dict[str, dict] = {}
        for _ in range(20):
            batch = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0)
            for message in batch.get("Messages", []):
                found[message["MessageId"]] = message
            if not batch.get("Messages"):
                break
        return list(found.values())

    def run_worker(self, batch_size: int = 5, redeliver: bool = False) -> list[dict]:
        """Hand every waiting message to the worker function, ``batch_size`` at a time (its
        mapping's BatchSize), deleting those it did not report as failed; the failed ones are visible
        again afterwards, as SQS hands them back. ``redeliver``: delete none (a worker that died after
        its work), so that every message comes again. Returns the function's answers."""
        from tests.support import LambdaContext, load_function
        from tests.webhooks import sqs_event

        answers, back = [], []
        for _ in range(200):
            received = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=batch_size)
            messages = received.get("Messages", [])
            if not messages:
                break
            answer = load_function(self.function).handler(
                sqs_event(messages), LambdaContext(remaining_millis=self.remaining_millis)
            )
            answers.append(answer)
            failed = {f["itemIdentifier"] for f in answer["batchItemFailures"]}
            for message in messages:
                if redeliver or message["MessageId"] in failed:
                    back.append(message["ReceiptHandle"])
                else:
                    self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        else:
            raise AssertionError(f"the queue of {self.function} never drained")
        for handle in back:
            self.sqs.change_message_visibility(QueueUrl=self.queue_url, ReceiptHandle=handle, VisibilityTimeout=0)
        return answers


@pytest.fixture
def leak_queue(table, monkeypatch) -> WorkerQueue:
    from tests.conftest import clear_singletons

    sqs = boto3.client("sqs", region_name="us-east-1")
    dead_letters = sqs.create_queue(QueueName="leaked-tokens-dlq")["QueueUrl"]
    queue = sqs.create_queue(QueueName="leaked-tokens")["QueueUrl"]
    monkeypatch.setenv("LEAKED_TOKENS_QUEUE_URL", queue)
    clear_singletons()
    return WorkerQueue(queue, dead_letters, sqs)


@pytest.fixture
def organization_policy_queue(table, monkeypatch) -> WorkerQueue:
    """OrganizationPolicyQueue of template.yaml in moto, for PUT /v1/organizations/{id}/policy and its worker;
    the re-check pass is not delayed (moto would hold it back: its delay is a unit test's)."""
    from tests.conftest import clear_singletons
    from tokensmith.organizations import propagation

    sqs = boto3.client("sqs", region_name="us-east-1")
    dead_letters = sqs.create_queue(QueueName="organization-policy-dlq")["QueueUrl"]
    queue = sqs.create_queue(QueueName="organization-policy")["QueueUrl"]
    monkeypatch.setenv("ORGANIZATION_POLICY_QUEUE_URL", queue)
    monkeypatch.setattr(propagation, "SETTLE_SECONDS", 0)
    clear_singletons()
    return WorkerQueue(queue, dead_letters, sqs, "functions/propagate_org_policy", 60_000)
