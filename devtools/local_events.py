"""The local run's event plumbing, read from template.yaml: stream → publisher → bus → rule → queue → delivery.

`provision()` creates the template's EventBridge buses and rules, SQS queues (with their redrive policies)
and KMS keys in a moto server (the embedded DynamoDB's, or one of its own next to DynamoDB Local), and
returns the values `!Ref`/`!GetAtt` give for them, so the functions' environment resolves as in AWS. Moto's
EventBridge then delivers the rule's matches into the queue by itself.

`EventSourcePump` plays Lambda's event source mappings, for every function of the template with a
`DynamoDB` or `SQS` event or an `AWS::Lambda::EventSourceMapping`: it polls the table's stream (moto
and DynamoDB Local both keep one) and the queues, applies the mapping's `FilterCriteria`, and invokes the
function with the records in Lambda's shape, through the gateway's invoke (one invocation at a time, as
every local function). Failures are handled as the mappings say: a stream record reported in
`batchItemFailures` is retried (up to `MaximumRetryAttempts`), an SQS message so reported is left for its
visibility timeout, every other message is deleted.

Not emulated: batching windows, bisecting, on-failure destinations, shard splits, concurrency.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from devtools import local_aws
from devtools.local_aws import REGION
from devtools.template import (
    PSEUDO_PARAMETERS,
    SERVERLESS_FUNCTION,
    TemplateError,
    _Resolver,
    function_properties,
    resources_of_type,
)

STACK_NAME = PSEUDO_PARAMETERS["AWS::StackName"]
# What the local run changes of the template's defaults: webhooks to http://127.0.0.1 are allowed,
# retries come after seconds instead of hours (about 9 minutes for all 8 attempts), and an organization
# may have 1,000 endpoints instead of 10 (the e2e suites register hundreds in one organization of one run).
LOCAL_PARAMETER_OVERRIDES = {
    "AllowLoopbackWebhooks": "true",
    "WebhookRetryDelays": "1,5,10,30,60,120,300",
    "MaxWebhookEndpoints": "1000",
}
ACCOUNT_ID = PSEUDO_PARAMETERS["AWS::AccountId"]


aws_client = local_aws.client


# --- resources -------------------------------------------------------------------------------------------


def provision(
    template: dict[str, Any],
    endpoint_url: str,
    refs: dict[str, str],
    parameter_overrides: dict[str, str] | None = None,
) -> dict[str, str]:
    """Create the template's buses, queues, keys and rules in the moto server at `endpoint_url`; return
    `refs` plus what `!Ref X` and `!GetAtt X.Arn` give for each of them."""
    refs = dict(refs)
    resolver = _Resolver(template, parameter_overrides or {}, refs)
    buses = resources_of_type(template, "AWS::Events::EventBus")
    queues = resources_of_type(template, "AWS::SQS::Queue")
    keys = resources_of_type(template, "AWS::KMS::Key")
    rules = resources_of_type(template, "AWS::Events::Rule")
    if buses or rules:
        events = aws_client("events", endpoint_url)
        for logical_id, resource in buses.items():
            name = resolver.resolve(
                (resource.get("Properties") or {}).get("Name", f"{STACK_NAME}-{logical_id}"), logical_id
            )
            events.create_event_bus(Name=name)
            refs[logical_id] = name
            refs[f"{logical_id}.Arn"] = f"arn:aws:events:{REGION}:{ACCOUNT_ID}:event-bus/{name}"
    if queues:
        sqs = aws_client("sqs", endpoint_url)
        for logical_id in queues:  # first every queue, so that redrive policies can name any of them
            url = sqs.create_queue(QueueName=f"{STACK_NAME}-{logical_id}")["QueueUrl"]
            refs[logical_id] = url
            refs[f"{logical_id}.Arn"] = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{STACK_NAME}-{logical_id}"
            refs[f"{logical_id}.QueueName"] = f"{STACK_NAME}-{logical_id}"
        for logical_id, resource in queues.items():
            properties = resource.get("Properties") or {}
            attributes = {}
            if "VisibilityTimeout" in properties:
                attributes["VisibilityTimeout"] = resolver.resolve(properties["VisibilityTimeout"], logical_id)
            if "RedrivePolicy" in properties:
                policy = properties["RedrivePolicy"]
                attributes["RedrivePolicy"] = json.dumps(
                    {
                        "deadLetterTargetArn": resolver.resolve(policy["deadLetterTargetArn"], logical_id),
                        "maxReceiveCount": int(resolver.resolve(policy["maxReceiveCount"], logical_id)),
                    }
                )
            if attributes:
                sqs.set_queue_attributes(QueueUrl=refs[logical_id], Attributes=attributes)
    if keys:
        kms = aws_client("kms", endpoint_url)
        for logical_id in keys:
            metadata = kms.create_key(Description=f"{STACK_NAME} {logical_id}")["KeyMetadata"]
            refs[logical_id] = metadata["KeyId"]
            refs[f"{logical_id}.Arn"] = metadata["Arn"]
    for logical_id, resource in rules.items():
        properties = resource.get("Properties") or {}
        bus = resolver.resolve(properties.get("EventBusName", "default"), logical_id)
        name = f"{STACK_NAME}-{logical_id}"
        events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(properties["EventPattern"]))
        targets = [
            {"Id": resolver.resolve(target["Id"], logical_id), "Arn": resolver.resolve(target["Arn"], logical_id)}
            for target in properties.get("Targets") or []
        ]
        if targets:
            events.put_targets(Rule=name, EventBusName=bus, Targets=targets)
        refs[logical_id] = name
        refs[f"{logical_id}.Arn"] = f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{bus}/{name}"
    return refs


# --- event source mappings --------------------------------------------------------------------------------


@dataclass
class EventSource:
    """One `DynamoDB` or `SQS` event of one function."""

    function_id: str
    code_uri: str
    handler: str
    kind: str  # "DynamoDB" | "SQS"
    source: str  # the resolved stream or queue ARN (for SQS also the URL, in `queue_url`)
    batch_size: int
    filters: list[dict[str, Any]] = field(default_factory=list)
    max_retries: int = 3
    timeout_seconds: float = 3.0
    memory_mb: int = 128
    queue_url: str | None = None


def event_sources(template: dict[str, Any], refs: dict[str, str]) -> list[EventSource]:
    """Every DynamoDB and SQS event source of every function, with `!GetAtt` resolved through `refs`: a
    function's `DynamoDB`/`SQS` events, and the `AWS::Lambda::EventSourceMapping` resources written out
    (the template writes them out, so that SAM attaches no AWS-managed policy with a wildcard resource)."""
    resolver = _Resolver(template, {}, refs)
    sources = []
    for function_id in resources_of_type(template, SERVERLESS_FUNCTION):
        properties = function_properties(template, function_id)
        for event_id, event in (properties.get("Events") or {}).items():
            kind = (event or {}).get("Type")
            if kind not in ("DynamoDB", "SQS"):
                continue
            event_properties = event.get("Properties") or {}
            raw = event_properties["Stream" if kind == "DynamoDB" else "Queue"]
            sources.append(
                _event_source(
                    resolver,
                    refs,
                    function_id,
                    properties,
                    kind,
                    raw,
                    event_properties,
                    where=f"{function_id}.Events.{event_id}",
                )
            )
    resources = template.get("Resources") or {}
    for logical_id, mapping in resources_of_type(template, EVENT_SOURCE_MAPPING).items():
        mapping_properties = mapping.get("Properties") or {}
        target = _target(mapping_properties.get("FunctionName"))
        raw = mapping_properties.get("EventSourceArn")
        source_type = (resources.get(_target(raw) or "") or {}).get("Type")
        kind = {"AWS::DynamoDB::Table": "DynamoDB", "AWS::SQS::Queue": "SQS"}.get(str(source_type))
        if target is None or kind is None:
            raise TemplateError(
                f"{logical_id}: FunctionName must be !Ref <Function>, EventSourceArn a table's stream or a queue"
            )
        properties = function_properties(template, target)
        sources.append(
            _event_source(resolver, refs, target, properties, kind, raw, mapping_properties, where=logical_id)
        )
    return sources


EVENT_SOURCE_MAPPING = "AWS::Lambda::EventSourceMapping"


def _target(value: Any) -> str | None:
    """The logical id of `!Ref X` or `!GetAtt X.Attr`."""
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"])
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return str(value["Fn::GetAtt"][0])
    return None


def _event_source(
    resolver: _Resolver,
    refs: dict[str, str],
    function_id: str,
    properties: dict[str, Any],
    kind: str,
    raw: Any,
    event_properties: dict[str, Any],
    where: str,
) -> EventSource:
    target = raw.get("Fn::GetAtt", [None])[0] if isinstance(raw, dict) else None
    filters = [
        json.loads(resolver.resolve(f["Pattern"], where))
        for f in (event_properties.get("FilterCriteria") or {}).get("Filters") or []
    ]
    source = EventSource(
        function_id=function_id,
        code_uri=str(properties["CodeUri"]),
        handler=str(properties["Handler"]),
        kind=kind,
        source=target or "",
        batch_size=int(event_properties.get("BatchSize", 100 if kind == "DynamoDB" else 10)),
        filters=filters,
        max_retries=int(event_properties.get("MaximumRetryAttempts", 3)),
        timeout_seconds=float(properties.get("Timeout", 3)),
        memory_mb=int(properties.get("MemorySize", 128)),
    )
    if kind == "SQS":
        if target not in refs:
            raise TemplateError(f"{where}: the queue {target!r} was not provisioned")
        source.queue_url = refs[target]
    return source


def matches(pattern: Any, value: Any) -> bool:
    """An event filter pattern (the subset Lambda filters use here: nested objects, lists of literal
    values, `{"prefix": ...}`) against a record."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(matches(p, value.get(k)) for k, p in pattern.items())
    if isinstance(pattern, list):
        for option in pattern:
            if isinstance(option, dict) and "prefix" in option:
                if isinstance(value, str) and value.startswith(option["prefix"]):
                    return True
            elif option == value:
                return True
        return False
    return pattern == value


Invoke = Callable[[EventSource, dict[str, Any]], Any]


class EventSourcePump:
    """Polls the streams and queues of `sources` every `interval` seconds in a daemon thread."""

    def __init__(
        self,
        sources: list[EventSource],
        invoke: Invoke,
        dynamodb_endpoint_url: str,
        aws_endpoint_url: str,
        table_name: str,
        interval: float = 0.2,
        log: bool = True,
    ) -> None:
        self.sources = sources
        self.invoke = invoke
        self.interval = interval
        self.log = log
        self._dynamodb_endpoint_url = dynamodb_endpoint_url
        self._aws_endpoint_url = aws_endpoint_url
        self._table_name = table_name
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._iterators: dict[str, str] = {}  # shard id -> next iterator
        self._retries: dict[str, int] = {}  # sequence number -> attempts so far
        self._pending: list[dict[str, Any]] = []  # stream records to hand to the functions again
        self.invocations = 0

    def start(self) -> None:
        if not self.sources:
            return
        self._sqs = aws_client("sqs", self._aws_endpoint_url)
        self._streams = aws_client("dynamodbstreams", self._dynamodb_endpoint_url)
        self._dynamodb = aws_client("dynamodb", self._dynamodb_endpoint_url)
        self._thread = threading.Thread(target=self._run, name="local-event-sources", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.poll_once()
            except Exception:  # noqa: BLE001 - keep pumping; say what went wrong
                self._say(f"ERROR local event sources:\n{traceback.format_exc()}")
                busy = False
            if not busy:
                self._stop.wait(self.interval)

    def poll_once(self) -> bool:
        """One round over every source; True when something was handed to a function."""
        busy = False
        stream_sources = [s for s in self.sources if s.kind == "DynamoDB"]
        if stream_sources:
            records = self._pending + self._read_stream()
            self._pending = []
            if records:
                for source in stream_sources:
                    busy |= self._feed_stream(source, records)
        for source in self.sources:
            if source.kind == "SQS":
                busy |= self._feed_queue(source)
        return busy

    # --- streams ---

    def _read_stream(self) -> list[dict[str, Any]]:
        table = self._dynamodb.describe_table(TableName=self._table_name)["Table"]
        arn = table.get("LatestStreamArn")
        if not arn:
            return []
        records = []
        shards = self._streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
        for shard in shards:
            shard_id = shard["ShardId"]
            iterator = (
                self._iterators.get(shard_id)
                or self._streams.get_shard_iterator(StreamArn=arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON")[
                    "ShardIterator"
                ]
            )
            response = self._streams.get_records(ShardIterator=iterator, Limit=1000)
            if response.get("NextShardIterator"):
                self._iterators[shard_id] = response["NextShardIterator"]
            for record in response.get("Records", []):
                record = json.loads(json.dumps(record, default=_epoch))
                record.update(eventSourceARN=arn, eventSource="aws:dynamodb", awsRegion=REGION)
                records.append(record)
        return records

    def _feed_stream(self, source: EventSource, records: list[dict[str, Any]]) -> bool:
        chosen = [r for r in records if not source.filters or any(matches(p, r) for p in source.filters)]
        busy = False
        for start in range(0, len(chosen), source.batch_size):
            batch = chosen[start : start + source.batch_size]
            failed = self._invoke(source, {"Records": batch})
            busy = True
            if failed is None:  # the whole invocation failed
                failed = {r["dynamodb"]["SequenceNumber"] for r in batch}
            for record in batch:
                number = record["dynamodb"]["SequenceNumber"]
                if number in failed:
                    self._retries[number] = self._retries.get(number, 0) + 1
                    if self._retries[number] <= source.max_retries:
                        self._pending.append(record)
                    else:
                        self._say(f"WARNING {source.function_id}: stream record {number} dropped after retries")
        return busy

    # --- queues ---

    def _feed_queue(self, source: EventSource) -> bool:
        response = self._sqs.receive_message(
            QueueUrl=source.queue_url,
            MaxNumberOfMessages=min(source.batch_size, 10),
            AttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        if not messages:
            return False
        records = [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{str(source.queue_url).rsplit('/', 1)[-1]}",
                "awsRegion": REGION,
            }
            for m in messages
        ]
        failed = self._invoke(source, {"Records": records})
        for message in messages:
            if failed is not None and message["MessageId"] not in failed:
                self._sqs.delete_message(QueueUrl=source.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return True

    # --- both ---

    def _invoke(self, source: EventSource, event: dict[str, Any]) -> set[str] | None:
        """The identifiers the function reported as failed, or None when it raised."""
        self.invocations += 1
        try:
            result = self.invoke(source, event)
        except Exception:  # noqa: BLE001 - as Lambda: the whole batch failed
            self._say(f"ERROR {source.function_id} failed:\n{traceback.format_exc()}")
            return None
        failures = (result.get("batchItemFailures") or []) if isinstance(result, dict) else []
        return {str(f.get("itemIdentifier")) for f in failures}

    def _say(self, message: str) -> None:
        if self.log:
            print(message, file=sys.stderr, flush=True)


def _epoch(value: Any) -> Any:
    if hasattr(value, "timestamp"):
        return int(value.timestamp())
    raise TypeError(type(value).__name__)


def wait_until(condition: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Poll `condition` until it is truthy (returned) or `timeout` seconds pass (TimeoutError)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError("the condition did not become true in time")
        time.sleep(interval)
