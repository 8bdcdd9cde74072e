"""A token's life: which statuses are live, the status a caller sees, and when DynamoDB may purge it.

``active`` ⇄ ``disabled``; either → ``revoked`` (final), ``expired`` (the sweep, or an admin), or
``deleted`` (final). Past ``expires_at`` a live token is ``expired`` to every reader at once, before
the sweep stamps it. Plain code: the authorizer's hot path uses it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tokensmith import audit, clock
from tokensmith.settings import Settings

LIVE_STATUSES = ("active", "disabled")


def effective_status(item: dict[str, Any], now_epoch: int) -> str:
    """``expired`` as soon as ``expires_at`` has passed, even before the sweep stamps it."""
    status: str = item["status"]
    expires = item.get("expires_epoch")
    if status in LIVE_STATUSES and expires is not None and expires <= now_epoch:
        return "expired"
    return status


def is_live(item: dict[str, Any], now_epoch: int) -> bool:
    return effective_status(item, now_epoch) in LIVE_STATUSES


def purge_at(settings: Settings, item: dict[str, Any], now: datetime) -> int | None:
    """When DynamoDB may delete the token: the end of its life + retention. A live token ends at its
    expiry (none: no end in sight, no ``purge_at``); a terminal one keeps the ``purge_at`` it got
    when its life ended, else from now."""
    expires = item.get("expires_epoch")
    if item["status"] in LIVE_STATUSES:
        return audit.purge_after(settings, expires) if expires is not None else None
    return item.get("purge_at") or audit.purge_after(settings, clock.epoch(now))
