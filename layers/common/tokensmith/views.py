"""What callers see of a token and of an audit event: a fixed allow-list of fields, so that a new
internal attribute (a digest, a key) can never leak by accident. Plain code, no pydantic: the
verify path uses it too."""

from __future__ import annotations

from typing import Any

LIVE_STATUSES = ("active", "disabled")

TOKEN_FIELDS = (
    "id",
    "organization_id",
    "owner",
    "name",
    "description",
    "icon",
    "scopes",
    "status",
    "active",
    "start",
    "created_at",
    "modified_at",
    "expires_at",
    "last_used_at",
    "last_used_ip",
    "last_used_user_agent",
    "created_ip",
    "user_agent",
    "revoked_at",
    "revoked_reason",
    "audit",
    "version",
)
EVENT_FIELDS = (
    "id",
    "type",
    "token_id",
    "organization_id",
    "occurred_at",
    "actor",
    "ip",
    "user_agent",
    "changes",
    "reason",
    "details",
)


def effective_status(item: dict[str, Any], now_epoch: int) -> str:
    """``expired`` as soon as ``expires_at`` has passed, even before the sweep stamps it."""
    status = item["status"]
    expires = item.get("expires_epoch")
    if status in LIVE_STATUSES and expires is not None and expires <= now_epoch:
        return "expired"
    return status


def token_view(item: dict[str, Any], now_epoch: int) -> dict[str, Any]:
    status = effective_status(item, now_epoch)
    view = {field: item.get(field) for field in TOKEN_FIELDS}
    view["status"] = status
    view["active"] = status == "active"
    view["scopes"] = list(item.get("scopes") or [])
    return view


def event_view(item: dict[str, Any]) -> dict[str, Any]:
    view = {field: item.get(field) for field in EVENT_FIELDS}
    view["id"] = item["sk"].removeprefix("EVENT#")
    return view


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
    """An endpoint as callers see it: never its (encrypted) signing secret."""
    view = {field: item.get(field) for field in WEBHOOK_FIELDS}
    view["event_types"] = list(item.get("event_types") or [])
    view["enabled"] = bool(item.get("enabled"))
    return view


def delivery_view(item: dict[str, Any]) -> dict[str, Any]:
    view = {field: item.get(field) for field in DELIVERY_FIELDS}
    view["id"] = item["sk"].removeprefix("DELIVERY#")
    return view
