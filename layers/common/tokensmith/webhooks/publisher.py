"""The outbox publisher: the table's stream → EventBridge.

Every audit event item (an ``INSERT`` of ``sk = EVENT#…``) becomes one EventBridge event on the
product's bus, ``source = tokensmith``, ``detail-type`` = the event's type (``token.created`` …
``token.deleted``), and ``detail = {type, timestamp, data}``, the shape webhooks deliver. A token
item that DynamoDB's TTL deletes (a ``REMOVE`` by the service principal ``dynamodb.amazonaws.com``)
becomes ``token.purged``. The Lambda event source mapping filters the stream to exactly these two
kinds of records, so last-use updates and token modifications never invoke the function.

No event carries a secret or a digest: ``data`` is built from the allow-lists of ``tokens/views.py``.
Every type it emits is in ``webhooks/event_types.py``.
"""

from __future__ import annotations

import json
from typing import Any

from tokensmith import table
from tokensmith.aws import clients
from tokensmith.aws.dynamodb import from_item
from tokensmith.tokens.views import event_view, token_view

SOURCE = "tokensmith"


class PublishFailed(RuntimeError):
    """EventBridge did not accept the entry; the record is reported as a batch item failure."""


def is_ttl_removal(record: dict[str, Any]) -> bool:
    identity = record.get("userIdentity") or {}
    return (
        record.get("eventName") == "REMOVE"
        and identity.get("type") == "Service"
        and identity.get("principalId") == "dynamodb.amazonaws.com"
    )


def detail_of(record: dict[str, Any]) -> dict[str, Any] | None:
    """``{type, timestamp, data}`` for a stream record, or None for a record that is not an event."""
    change = record.get("dynamodb") or {}
    if record.get("eventName") == "INSERT":
        item = from_item(change.get("NewImage") or {})
        if not table.is_event_item(item):
            return None
        view = event_view(item)
        return {"type": view["type"], "timestamp": view["occurred_at"], "data": view}
    if is_ttl_removal(record):
        item = from_item(change.get("OldImage") or {})
        if not table.is_token_item(item):
            return None
        when = change.get("ApproximateCreationDateTime")
        timestamp = _iso(when) if when else item.get("modified_at")
        token = token_view(item, 0)
        token["status"], token["active"] = item.get("status"), False
        return {"type": "token.purged", "timestamp": timestamp, "data": {"token_id": item["id"], "token": token}}
    return None


def entry_of(detail: dict[str, Any], bus_name: str) -> dict[str, Any]:
    """No ``Resources``: EventBridge documents them as ARNs and a token has none; rules that want one
    token match ``detail.data.token_id``."""
    return {
        "Source": SOURCE,
        "DetailType": detail["type"],
        "Detail": json.dumps(detail, separators=(",", ":"), default=str),
        "EventBusName": bus_name,
    }


def publish(record: dict[str, Any], bus_name: str, client: Any = None) -> dict[str, Any] | None:
    """Publish one stream record; returns the detail published (None when there was nothing to do)."""
    detail = detail_of(record)
    if detail is None:
        return None
    response = (client or clients.client("events")).put_events(Entries=[entry_of(detail, bus_name)])
    if response.get("FailedEntryCount"):
        failure = response["Entries"][0]
        raise PublishFailed(f"{failure.get('ErrorCode')}: {failure.get('ErrorMessage')}")
    return detail


def _iso(epoch: float | int) -> str:
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(float(epoch)))
