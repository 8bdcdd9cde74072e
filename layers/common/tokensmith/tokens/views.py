"""What callers see of a token and of an audit event: a fixed allow-list of fields, so that a new
internal attribute (a digest, a key) can never leak by accident. Plain code, no pydantic: the
verify path uses it too."""

from __future__ import annotations

import json
from typing import Any

from tokensmith import table
from tokensmith.tokens.lifecycle import effective_status
from tokensmith.tokens.networks import networks_view

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
    "disabled_by",
    "ratelimits",
    "credits",
    "allowed_cidrs",
    "meta",
    "audit",
    "version",
    "networks",
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


def token_view(item: dict[str, Any], now_epoch: int) -> dict[str, Any]:
    status = effective_status(item, now_epoch)
    view = {field: item.get(field) for field in TOKEN_FIELDS}
    view["status"] = status
    view["active"] = status == "active"
    view["scopes"] = list(item.get("scopes") or [])
    view["meta"] = stored_meta(item)
    view["networks"] = networks_view(item)
    return view


def stored_meta(item: dict[str, Any]) -> dict[str, Any] | None:
    """A token's ``meta``, stored as its JSON text."""
    text = item.get("meta")
    return json.loads(text) if text else None


def event_view(item: dict[str, Any]) -> dict[str, Any]:
    view = {field: item.get(field) for field in EVENT_FIELDS}
    view["id"] = table.event_id(item)
    return view
