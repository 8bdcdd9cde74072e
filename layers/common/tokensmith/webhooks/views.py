"""What callers see of a webhook endpoint and of a delivery attempt: fixed allow-lists of fields, so
that the endpoint's (encrypted) signing secret can never leak by accident."""

from __future__ import annotations

from typing import Any

from tokensmith import table

WEBHOOK_FIELDS = (
    "id",
    "organization_id",
    "url",
    "description",
    "event_types",
    "enabled",
    "disabled_reason",
    "created_at",
    "modified_at",
    "version",
)
DELIVERY_FIELDS = (
    "webhook_id",
    "message_id",
    "event_type",
    "attempt",
    "attempted_at",
    "status_code",
    "latency_ms",
    "outcome",
    "error",
    "next_retry_at",
)


def webhook_view(item: dict[str, Any]) -> dict[str, Any]:
    """An endpoint as callers see it: never its signing secret."""
    view = {field: item.get(field) for field in WEBHOOK_FIELDS}
    view["event_types"] = list(item.get("event_types") or [])
    view["enabled"] = bool(item.get("enabled"))
    return view


def delivery_view(item: dict[str, Any]) -> dict[str, Any]:
    view = {field: item.get(field) for field in DELIVERY_FIELDS}
    view["id"] = table.delivery_id(item)
    return view
